"""`microbp audit`: the table, the counterexamples, --json, --svg, and exit status 0, 1 or 2."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import pytest

from microbp.audit import OPS
from microbp.audit.properties import TITLES
from microbp.cli import main

ENGINES = Path(__file__).parent / "audit_engines"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(autouse=True)
def scratch(tmp_path, monkeypatch):
    """Run in an empty folder, which must stay empty unless asked for pictures."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "120")
    return tmp_path


def test_bare_microbp_lists_audit(capsys):
    status, out, _ = run(capsys)
    assert status == 0 and "\n    audit " in out


def test_an_engine_that_passes_everything_exits_0(capsys, scratch):
    status, out, err = run(capsys, "audit", "microbp.engine:Value", "--examples", "20")
    assert (status, err) == (0, "")
    assert out.startswith("audit of microbp.engine:Value: 20 examples a property, seed 0\n")
    assert out.count("pass (") == len(OPS) + len(TITLES)
    assert out.rstrip().endswith("everything the engine supports passes")
    assert not list(scratch.iterdir()), "no .hypothesis folder or anything else left behind"


def test_micrograd_exits_1_with_its_missing_ops_failures_and_runnable_snippets(capsys):
    status, out, err = run(capsys, "audit", "micrograd.engine:Value", "--examples", "20")
    assert (status, err) == (1, "")
    assert out.count("not supported") == 6 + 1  # six rows and the summary line
    leaves = re.search(
        r"FAIL 2nd backward\(\): leaves: x1\.grad: this engine (\S+), right (\S+)", out
    )
    assert leaves and float(leaves[1]) != float(leaves[2])
    assert "convention 2nd backward(): interior: each backward() sets the root's grad" in out
    assert "limit deep chains: fine 100 deep; 1,000 deep" in out
    block = out.split("as Python using the engine:\n\n", 1)[1]
    snippet = re.split(r"\n\n(?=FAIL |convention |limit |\d+ of \d+ ops)", block)[0]
    assert snippet.startswith("from micrograd.engine import Value\n")
    engine_number = float(snippet.rpartition("# this engine: ")[2].partition(",")[0])
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(snippet, {})
    assert float(printed.getvalue().split()[-1]) == engine_number
    assert "conventions and limits (not failures without --strict): 2nd backward(): interior" in out
    assert out.rstrip().endswith("2 lines fail")


def test_json_is_one_document_with_every_property(capsys):
    status, out, _ = run(capsys, "audit", "micrograd.engine:Value", "--examples", "20", "--json")
    assert status == 1
    document = json.loads(out)
    assert (document["ok"], document["strict"], len(document["targets"])) == (False, False, 1)
    report = document["targets"][0]
    assert report["target"] == "micrograd.engine:Value" and report["ok"] is False
    assert (report["examples"], report["seed"]) == (20, 0)
    keys = [p["key"] for p in report["properties"]]
    assert keys == [f"op:{op}" for op in OPS] + list(TITLES)
    chains = next(p for p in report["properties"] if p["key"] == "deep_chains")
    assert chains["status"] == "limit" and "RecursionError" in chains["counterexample"]["error"]


@pytest.mark.dot
def test_svg_draws_each_failing_example_in_the_folder_it_makes(capsys, scratch):
    target = f"{ENGINES / 'planted.py'}:DivisionSign"
    lines = ["--only", "op:add,op:div,op:number_div"]
    status, out, _ = run(capsys, "audit", target, "--examples", "30", "--svg", "pictures", *lines)
    assert status == 1
    drawn = sorted(p.name for p in (scratch / "pictures").iterdir())
    assert drawn == ["op-div.svg", "op-number_div.svg"]
    assert "picture: pictures/op-div.svg" in out


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["audit", "micrograd"], "is not module:Name"),
        (["audit", "nowhere_at_all:Value"], "cannot import nowhere_at_all"),
        (["audit", "fractions:Fraction"], "does not look like an engine"),
        (["audit", "microbp.engine:Value", "--examples", "0"], "must be at least 1"),
        (["audit", "microbp.engine:Value", "--svg", "no/such/folder"], "does not exist"),
        (["audit"], "the following arguments are required: TARGET"),
        (["audit", "microbp.engine:Value", "--jobs", "0"], "must be at least 1"),
        (["audit", "microbp.engine:Value", "--time-limit", "-1"], "positive number of seconds"),
        (["audit", "microbp.engine:Value", "--report", "no/such/dir/r.html"], "does not exist"),
    ],
)
def test_a_bad_argument_is_one_line_on_stderr_and_exit_status_2(argv, says, capsys, scratch):
    status, out, err = run(capsys, *argv)
    assert (status, out) == (2, "")
    assert err.count("\n") == 1 and says in err and "Traceback" not in err
    assert not list(scratch.iterdir())


def test_svg_to_a_file_is_refused(capsys, scratch):
    (scratch / "taken").write_text("")
    status, _, err = run(capsys, "audit", "microbp.engine:Value", "--svg", "taken")
    assert status == 2 and "is a file, not a folder" in err


def test_on_a_terminal_a_spinner_names_each_property_as_it_runs(monkeypatch):
    from rich.console import Console

    from microbp.cli import output

    monkeypatch.setenv("TERM", "xterm-256color")  # the terminal this test sets up for itself
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=100, highlight=False)
    monkeypatch.setattr(output, "console", lambda: terminal)
    assert (
        main(["audit", "microbp.engine:Value", "--examples", "5", "--only", "op:mul,op:exp"]) == 0
    )
    shown = screen.getvalue()
    assert "auditing microbp.engine:Value" in shown and "\x1b[" in shown
    assert "everything the engine supports passes" in shown


def test_a_module_in_the_current_folder_is_found(capsys, scratch, monkeypatch):
    import sys

    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(scratch))])
    (scratch / "my_own_engine.py").write_text("from micrograd.engine import Value\n")
    argv = ["audit", "my_own_engine:Value", "--examples", "5", "--only", "second_backward_leaves"]
    status, out, err = run(capsys, *argv)
    assert status == 1 and not err
    assert out.startswith("audit of my_own_engine:Value")


@pytest.mark.parametrize(
    ("target", "says"),
    [
        ("sys:exit", "calling it to get an adapter raised SystemExit"),
        ("builtins:int", "reading .data, .grad and .backward of int(1.5) raised AttributeError"),
    ],
)
def test_a_target_that_exits_or_is_no_value_class_is_a_usage_error_in_one_line(
    target, says, capsys
):
    status = main(["audit", target])
    out, err = capsys.readouterr()
    assert status == 2 and not out
    assert says in err and err.count("\n") == 1
