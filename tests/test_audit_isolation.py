"""Each engine runs in a child process of its own: a crash, an exit, endless output, a hang or
unbounded memory fails the line that was running, pinned on its example, and the audit goes
on; properties run on the stack an ordinary script has; the same seed gives the same report
whatever the calling process imported."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from microbp.audit import audit

ENGINES = Path(__file__).parent / "audit_engines"
#: Lines on either side of each planted crash: they must run, and pass.
AROUND = ["op:add", "op:relu"]


def planted(name: str) -> str:
    return f"{ENGINES / 'planted.py'}:{name}"


@pytest.mark.parametrize(
    ("engine", "key", "says", "snippet_line", "output"),
    [
        ("SegfaultingSigmoid", "op:sigmoid", "the interpreter crashed (SIGSEGV)", ".sigmoid()", ""),
        ("ExitingLog", "op:log", "the process exited with status 3", ".log()", ""),
        ("PrintingExp", "op:exp", "bytes of output without end", ".exp()", "exp exp exp"),
    ],
)
def test_a_crash_fails_the_line_that_was_running_with_the_example_and_the_audit_goes_on(
    engine, key, says, snippet_line, output
):
    report = audit(planted(engine), examples=5, only=[key, *AROUND])
    result = report[key]
    assert result.status == "fail" and says in result.detail
    example = result.counterexample
    assert example is not None and says in example.error
    assert f"from planted import {engine}\n" in example.snippet
    assert snippet_line in example.snippet
    assert example.snippet.splitlines()[-1].startswith("# the audit's child process running this")
    assert says in example.snippet.splitlines()[-1]
    assert output in example.note  # the end of what the engine wrote, if anything
    assert [report[k].status for k in AROUND] == ["pass", "pass"]  # a new child carried on


def test_sys_exit_in_an_op_is_a_failure_of_that_op_with_its_snippet():
    report = audit(planted("SysExitRelu"), examples=3, only=["op:relu", *AROUND])
    relu = report["op:relu"]
    assert (relu.status, relu.detail) == ("fail", "raises SystemExit: 4")
    assert relu.counterexample is not None
    assert relu.counterexample.snippet.endswith(".relu()  # raises SystemExit: 4")
    assert report["op:add"].status == "pass"


def test_unbounded_memory_is_a_memory_error_of_its_op_inside_the_bound():
    report = audit(planted("GreedyTanh"), examples=3, memory_limit=1024**3, only=["op:tanh"])
    result = report["op:tanh"]
    assert result.status == "fail" and result.detail == "raises MemoryError"
    assert result.counterexample is not None and ".tanh()" in result.counterexample.snippet


def test_a_hang_fails_its_line_after_the_time_limit_and_the_next_line_runs():
    report = audit(planted("SleepingExp"), examples=3, time_limit=10, only=["op:exp", *AROUND])
    assert report["op:exp"].status == "fail"
    assert report["op:exp"].detail.startswith("no result within 10 s")
    assert [report[k].status for k in AROUND] == ["pass", "pass"]


def test_a_recursive_walk_that_needs_a_large_stack_is_a_limit_not_a_pass():
    report = audit(f"{ENGINES / 'recursive.py'}:RecursiveOrder", only=["deep_chains"])
    chains = report["deep_chains"]
    assert chains.status == "limit"
    # 3.10 and 3.11 recurse on the C stack until it runs out (a crash at 100,000 deep); 3.12
    # and 3.13 stop the walk with a RecursionError (at 1,000 and 10,000 deep), though the
    # engine raised the limit.
    failing = re.search(
        r"([\d,]+) deep: "
        r"(?:the interpreter crashed \(SIGSEGV\)|backward\(\) raises RecursionError)",
        chains.detail,
    )
    assert failing is not None, chains.detail
    depth = int(failing[1].replace(",", ""))
    assert chains.counterexample is not None
    assert f"range({depth})" in chains.counterexample.snippet


def test_the_audits_process_never_imports_the_engine():
    script = (
        "import sys\nfrom microbp.audit import audit\n"
        f"report = audit({planted('NoRmul')!r}, examples=3, only=['op:mul'])\n"
        "print(report['op:mul'].status, 'planted' in sys.modules, 'reference' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.stdout.split() == ["pass", "False", "False"]


def test_the_child_runs_in_a_fresh_folder_and_leaves_nothing_behind(tmp_path, monkeypatch):
    engine = tmp_path / "writer.py"
    engine.write_text(
        "import os\n"
        f"import sys\nsys.path.insert(0, {str(ENGINES)!r})\n"
        "from reference import Value as Base\n\n"
        "class Value(Base):\n"
        "    def exp(self):\n"
        "        open('litter.txt', 'w').write(os.getcwd())\n"
        "        return super().exp()\n"
    )
    monkeypatch.chdir(tmp_path)
    assert audit("writer.py:Value", examples=3, only=["op:exp"])["op:exp"].status == "pass"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["writer.py"]


REPORT_SCRIPT = """
import json, sys
sys.path.insert(0, {folder!r})
if sys.argv[1] == "extra":
    import constants_here, fractions, decimal, microbp.tape, microbp.training
from microbp.audit import audit
report = audit("micrograd.engine:Value", examples=15, seed=3)
print(json.dumps(report.as_dict()))
"""


def test_the_same_seed_gives_the_same_report_whatever_else_the_process_imported(tmp_path):
    (tmp_path / "constants_here.py").write_text(
        "ODD = (0.318309886, -2.5e-7, 7.389056, 1e-300, 123456.789)\n"
    )
    script = REPORT_SCRIPT.format(folder=str(tmp_path))
    documents = []
    for extra in ("plain", "extra"):
        done = subprocess.run(
            [sys.executable, "-c", script, extra],
            capture_output=True,
            text=True,
            check=True,
            cwd=tmp_path,
            env={**os.environ, "PYTHONHASHSEED": "17" if extra == "extra" else "0"},
        )
        documents.append(json.loads(done.stdout))
    assert documents[0] == documents[1]
    command = subprocess.run(
        [
            sys.executable,
            "-m",
            "microbp",
            "audit",
            "micrograd.engine:Value",
            "--examples",
            "15",
            "--seed",
            "3",
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert command.returncode == 1
    assert json.loads(command.stdout)["targets"] == [documents[0]]
    failing = [p for p in documents[0]["properties"] if p["counterexample"]]
    assert failing, "the comparison covers counterexamples"


def test_an_interrupt_ends_every_child_and_starts_no_more():
    import threading

    from microbp.audit import isolation
    from microbp.audit.grading import grade_all

    first, second = planted("SleepingExp"), f"{ENGINES}/./planted.py:SleepingExp"
    first_started = threading.Event()

    def on_start(target: str, title: str) -> None:
        if target == first:
            first_started.set()
        elif first_started.wait(60):  # the second target's thread, the first one hanging
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        grade_all([first, second], 2, on_start, examples=3, time_limit=600, only=["op:exp"])
    assert not isolation._running  # every child ended (else this would have waited 10 min)
    assert audit(planted("NoRmul"), examples=3, only=["op:mul"]).ok  # and audits run again
