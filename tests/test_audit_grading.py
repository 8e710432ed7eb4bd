"""Grading with the audit: every line one severity (pass, FAIL, convention, limit, not
supported), reuse checked op by op before anything is drawn, intermittent failures said to be
so, edges and reflected operators named; a class at once with a verdict a target, JSON, an
HTML page, Gradescope's results.json and a Dask cluster."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from microbp.audit import TargetError, audit, load, properties
from microbp.audit.grading import Graded, expand, grade_all, gradescope
from microbp.audit.search import INTERMITTENT
from microbp.cli import main

ENGINES = Path(__file__).parent / "audit_engines"
CLOSURES = ENGINES / "closures.py"
PLANTED = ENGINES / "planted.py"
INTERNALS = re.compile(r"Program\(|Instruction\(|Discrepancy\(|Flaky|Hypothesis")


def printed_by(snippet: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(snippet, "<snippet>", "exec"), {"__name__": "__snippet__"})
    return out.getvalue().splitlines()[-1]


# ---- reuse, op by op ----


@pytest.mark.parametrize("seed", range(10))
def test_an_op_whose_grad_overwrites_is_caught_at_every_seed(seed):
    engine = load(f"{CLOSURES}:PowOverwrites")
    result = properties.shared_nodes(engine, 3, seed, None, {"pow", "add", "mul", "neg"})
    assert result.status == "fail"
    example = result.counterexample
    assert example is not None and example.ops <= 3 and "**" in example.snippet
    assert float(printed_by(example.snippet)) == example.engine != example.right


def test_the_same_engine_with_adding_grads_passes_every_reuse_pattern():
    engine = load(f"{CLOSURES}:Value")
    result = properties.shared_nodes(engine, 3, 0, None, {"pow", "add", "mul", "neg", "exp"})
    assert result.status == "pass"


# ---- intermittent failures ----


def test_a_breadth_first_backward_is_reported_as_intermittent_with_a_snippet():
    report = audit(f"{CLOSURES}:BreadthFirst", examples=30, only=["shared_nodes"])
    result = report["shared_nodes"]
    assert result.status == "fail"
    assert re.search(rf"fails \d+ of 10 runs: {re.escape(INTERMITTENT)}", result.detail)
    assert result.counterexample is not None
    assert "from closures import BreadthFirst" in result.counterexample.snippet
    assert not INTERNALS.search(result.detail + result.counterexample.snippet)


# ---- other planted bugs ----


def test_equality_and_hash_by_value_fail_the_ops_whose_operands_can_be_equal():
    report = audit(f"{CLOSURES}:EqualByValue", examples=30, only=["op:sub", "op:mul"])
    sub = report["op:sub"]
    assert sub.status == "fail" and sub.counterexample is not None
    assert float(printed_by(sub.counterexample.snippet)) == sub.counterexample.engine


def test_tanh_overflowing_past_355_fails_the_extreme_inputs_line_only():
    report = audit(f"{PLANTED}:OverflowingTanh", examples=10, only=["op:tanh", "extreme_inputs"])
    assert report["op:tanh"].status == "pass"
    extreme = report["extreme_inputs"]
    assert extreme.status == "fail"
    assert "x.tanh() at x = 356.0: raises OverflowError" in extreme.detail
    assert "x.sigmoid()" not in extreme.detail and "x.exp()" not in extreme.detail
    assert extreme.counterexample is not None
    with pytest.raises(OverflowError):
        printed_by(extreme.counterexample.snippet)


def test_a_missing_rmul_is_named_and_fails_the_reflected_line():
    only = ["op:mul_number", "op:number_mul", "op:pow_value", "reflected"]
    report = audit(f"{PLANTED}:NoRmul", examples=5, only=only)
    said = "`2 * x` raises TypeError: no `__rmul__`"
    assert (report["op:number_mul"].status, report["op:number_mul"].detail) == (
        "not supported",
        said,
    )
    assert (report["reflected"].status, report["reflected"].detail) == ("fail", said)


def test_the_reflected_line_passes_an_engine_with_every_reflected_operator():
    only = ["op:add_number", "op:number_add", "op:pow_value", "reflected"]
    assert audit(f"{ENGINES / 'reference.py'}:Value", examples=5, only=only).ok


def test_an_engine_with_backwards_gets_a_hint_at_the_adapter(tmp_path):
    (tmp_path / "plural.py").write_text(
        "class Value:\n"
        "    def __init__(self, data):\n"
        "        self.data, self.grad = data, 0.0\n\n"
        "    def backwards(self):\n"
        "        self.grad = 1.0\n"
    )
    with pytest.raises(TargetError, match=r"it has \.backwards\(\): name a function returning"):
        audit(f"{tmp_path / 'plural.py'}:Value")


# ---- severities and the exit status ----


def test_a_correct_engine_that_replaces_grads_has_conventions_and_fails_only_when_strict(
    capsys,
):
    lines = "op:add,op:mul,op:exp,second_backward_leaves,second_backward_interior"
    argv = ["audit", f"{CLOSURES}:Value", "--examples", "5", "--only", lines]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("convention (") == 2
    assert "replaces every grad with a fresh pass's" in out
    assert main([*argv, "--strict"]) == 1
    assert "2 lines fail" in capsys.readouterr().out


# ---- a class at once ----


def write_class(root: Path) -> None:
    """Three students' folders in ``root``: a correct engine, one without __rmul__, one that
    crashes."""
    bodies = {
        "ada": "from reference import Value\n",
        "bob": "from planted import NoRmul as Value\n",
        "cy": "from planted import SegfaultingSigmoid as Value\n",
    }
    for name, body in bodies.items():
        (root / name).mkdir()
        (root / name / "engine.py").write_text(
            f"import sys\nsys.path.insert(0, {str(ENGINES)!r})\n{body}"
        )


@pytest.fixture(scope="module")
def submissions(tmp_path_factory):
    root = tmp_path_factory.mktemp("submissions")
    write_class(root)
    return root


#: The lines the class's tests run: where the planted bugs show, and a few that pass.
CLASS_LINES = "op:add,op:mul_number,op:number_mul,op:sigmoid,shared_nodes,reflected"


def test_a_glob_names_every_submission_in_order_and_keeps_plain_targets(submissions):
    found = expand([f"{submissions}/*/engine.py:Value", "micrograd.engine:Value"])
    assert found == [
        *(f"{submissions}/{n}/engine.py:Value" for n in ("ada", "bob", "cy")),
        "micrograd.engine:Value",
    ]


@pytest.fixture(scope="module")
def class_json(submissions):
    """The command's --json over the class and one target that is no engine, two at a time."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(
            [
                "audit",
                f"{submissions}/*/engine.py:Value",
                "nowhere_at_all:Value",
                "--examples",
                "5",
                "--jobs",
                "2",
                "--json",
                "--only",
                CLASS_LINES,
            ]
        )
    return status, json.loads(out.getvalue())


def test_several_targets_give_one_report_each_in_order_and_exit_1(class_json, submissions):
    status, document = class_json
    assert status == 1 and document["ok"] is False
    targets = document["targets"]
    assert [t["target"] for t in targets] == [
        *(f"{submissions}/{n}/engine.py:Value" for n in ("ada", "bob", "cy")),
        "nowhere_at_all:Value",
    ]
    verdicts = [t["ok"] for t in targets]
    assert verdicts == [True, False, False, False]
    assert "cannot import nowhere_at_all" in targets[3]["refused"]
    crashed = {p["key"]: p for p in targets[2]["properties"]}["op:sigmoid"]
    assert crashed["status"] == "fail" and "SIGSEGV" in crashed["detail"]


def test_the_summary_table_has_a_row_a_target_with_its_first_failure(submissions, capsys):
    argv = ["audit", f"{submissions}/*/engine.py:Value", "--examples", "5", "--only", CLASS_LINES]
    status = main(argv)
    out = capsys.readouterr().out
    assert status == 1 and "Traceback" not in out
    assert re.search(r"ada/engine\.py:Value\s+pass", out)
    assert re.search(r"bob/engine\.py:Value\s+FAIL.*2 \+ x … 2 \*\* x", out)
    assert "1 of 3 pass" in out


GRADESCOPE_STATUSES = {"passed", "failed"}


def test_gradescope_results_follow_its_schema_a_test_a_line(submissions, tmp_path, capsys):
    path = tmp_path / "results.json"
    target = f"{submissions / 'bob' / 'engine.py'}:Value"
    argv = ["audit", target, "--examples", "5", "--gradescope", str(path), "--only", CLASS_LINES]
    assert main(argv) == 1
    results = json.loads(path.read_text())
    assert isinstance(results["score"], float) and isinstance(results["output"], str)
    for test in results["tests"]:
        assert set(test) == {"name", "score", "max_score", "status", "output"}
        assert isinstance(test["name"], str) and isinstance(test["output"], str)
        assert test["status"] in GRADESCOPE_STATUSES
        assert 0.0 <= test["score"] <= test["max_score"] <= 1.0
    assert results["score"] == sum(t["score"] for t in results["tests"])
    reflected = next(t for t in results["tests"] if t["name"] == "2 + x … 2 ** x")
    assert (reflected["status"], reflected["score"], reflected["max_score"]) == ("failed", 0, 1)
    capsys.readouterr()
    status = main(["audit", target, target, "--gradescope", str(path)])
    assert status == 2 and "--gradescope takes one target" in capsys.readouterr().err


def test_gradescope_scores_conventions_as_passed_unless_strict():
    from microbp.audit import PropertyResult, Report

    lines = (
        PropertyResult("a", "a", "pass", 1),
        PropertyResult("b", "b", "convention", 1, "root set"),
        PropertyResult("c", "c", "not supported", 0, "no exp"),
    )
    graded = Graded("t", Report("t", lines, 1, 0))
    lenient, strict = gradescope(graded, strict=False), gradescope(graded, strict=True)
    assert [t["score"] for t in lenient["tests"]] == [1, 1, 0]
    assert [t["max_score"] for t in lenient["tests"]] == [1, 1, 0]
    assert [t["score"] for t in strict["tests"]] == [1, 0, 0]
    assert [t["max_score"] for t in strict["tests"]] == [1, 1, 1]


@pytest.mark.browser
@pytest.mark.dot
def test_the_html_report_opens_offline_with_no_console_error(submissions, tmp_path, capsys):
    from playwright.sync_api import sync_playwright
    from test_explorer import CHROMIUM, CHROMIUM_ARGS

    page_path = tmp_path / "class.html"
    wrong_division = f"{PLANTED}:DivisionSign"  # a wrong derivative: a picture to draw
    argv = ["audit", f"{submissions}/*/engine.py:Value", wrong_division, "--examples", "5"]
    status = main([*argv, "--report", str(page_path), "--only", f"{CLASS_LINES},op:div"])
    assert status == 1
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = chromium.new_page()
        errors: list[str] = []
        requests: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(page_path.as_uri())
        rows = page.locator("table").first.locator("tr").count()
        heading = page.locator("h1").inner_text()
        snippets = page.locator("pre").all_inner_texts()
        pictures = page.locator("section svg").count()
        chromium.close()
    assert errors == [] and requests == [page_path.as_uri()]
    assert rows == 1 + 4 and heading == "microbp audit: 1 of 4 pass"
    assert any("no `__rmul__`" in s or "SIGSEGV" in s for s in snippets)
    assert pictures >= 1  # drawn for the page, inlined, their folder gone
    assert sorted(p.name for p in tmp_path.iterdir()) == ["class.html"]


def test_a_dask_cluster_gives_the_verdicts_of_the_local_pool(submissions):
    distributed = pytest.importorskip("distributed")
    targets = expand([f"{submissions}/*/engine.py:Value"])
    options: dict[str, Any] = {"examples": 5, "only": CLASS_LINES.split(",")}
    local = grade_all(targets, jobs=2, **options)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        remote = grade_all(targets, jobs=2, scheduler=cluster.scheduler_address, **options)
    assert [g.as_dict() for g in remote] == [g.as_dict() for g in local]
    assert [g.passes(strict=False) for g in local] == [True, False, False]


# ---- the docs' screenshot ----


def make_docs_screenshot() -> None:
    """Write docs/img/audit-report.png: the page of a class of three (a correct engine, one
    without __rmul__, one that crashes): ``PYTHONPATH=tests python tests/test_audit_grading.py``."""
    import tempfile

    from playwright.sync_api import sync_playwright
    from test_explorer import CHROMIUM, CHROMIUM_ARGS

    screenshot = Path(__file__).parent.parent / "docs" / "img" / "audit-report.png"
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        write_class(root)
        page_path = root / "class.html"
        main(["audit", f"{root}/*/engine.py:Value", "--examples", "20", "--report", str(page_path)])
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = chromium.new_page(viewport={"width": 1100, "height": 900})
            page.goto(page_path.as_uri())
            page.screenshot(path=str(screenshot))
            chromium.close()
    print(f"wrote {screenshot}")


if __name__ == "__main__":
    make_docs_screenshot()
