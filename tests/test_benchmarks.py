"""The benchmark suite: micrograd's added ops are right, both engines do the same work, it runs."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("micrograd")
BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import micrograd_adapter as mg  # noqa: E402
import run  # noqa: E402
from measure import GC_MODES, Step, repeat  # noqa: E402
from micrograd.engine import Value as MgValue  # noqa: E402
from workloads import ENGINES, WORKLOADS  # noqa: E402

moderate = st.floats(-5.0, 5.0, allow_nan=False)


def central_difference(f, x: float, h: float = 1e-6) -> float:
    return (f(x + h) - f(x - h)) / (2 * h)


@pytest.mark.parametrize(
    ("op", "reference", "domain"),
    [
        (mg.exp, math.exp, moderate),
        (mg.tanh, math.tanh, moderate),
        (mg.sigmoid, lambda x: 1 / (1 + math.exp(-x)), moderate),
        (mg.log, math.log, st.floats(0.05, 50.0)),
    ],
    ids=["exp", "tanh", "sigmoid", "log"],
)
@given(data=st.data())
def test_micrograd_adapter_ops_match_math_and_central_differences(op, reference, domain, data):
    x = data.draw(domain)
    v = MgValue(x)
    out = op(v)
    out.grad = 1.0
    out._backward()
    assert out.data == pytest.approx(reference(x), rel=1e-12, abs=1e-15)
    assert v.grad == pytest.approx(central_difference(reference, x), rel=1e-5, abs=1e-7)


@given(st.lists(moderate, min_size=1, max_size=40))
def test_balanced_sum_is_the_sum_and_passes_one_to_every_term(xs):
    terms = [MgValue(x) for x in xs]
    total = mg.balanced_sum(terms)
    total.backward()
    assert total.data == pytest.approx(math.fsum(xs), abs=1e-9)
    assert all(t.grad == 1 for t in terms)
    assert mg.graph_size(total) == 2 * len(xs) - 1  # n leaves, n − 1 binary + nodes


def test_balanced_sum_survives_where_micrograds_recursive_backward_fails_on_a_chain():
    terms = [MgValue(1.0) for _ in range(5000)]
    with pytest.raises(RecursionError):
        sum(terms).backward()
    mg.balanced_sum(terms).backward()


@pytest.mark.parametrize("name", list(WORKLOADS))
def test_both_engines_compute_the_same_loss_and_gradients(name):
    workload = WORKLOADS[name]
    size = workload.quick_sizes[0]
    fingerprints = []
    for engine in ENGINES:
        step = workload.prepare[engine](size)
        step.reset()
        fingerprints.append(step.fingerprint(step.run()))
    ours, theirs = fingerprints
    assert len(ours) > 1
    assert run.fingerprints_agree(ours, theirs)


def test_a_step_is_timed_after_reset_and_read_after_the_last_run():
    calls = []
    step = Step(
        reset=lambda: calls.append("reset"),
        run=lambda: calls.append("run") or len(calls),
        fingerprint=lambda result: [float(result)],
    )
    times, fingerprint = repeat(step, "gc_off", min_reps=3, max_reps=3, budget=0.0)
    assert len(times) == 3 and all(t >= 0 for t in times)
    assert calls == ["reset", "run"] * 4  # a warm-up, then three timed runs
    assert fingerprint == [8.0]


def test_engines_that_disagree_stop_the_run():
    figures = {"error": None, **{m: {"median": 1.0} for m in GC_MODES}}
    reports = {
        "microbp": {"sizes": [{**figures, "size": 1, "fingerprint": [1.0, 2.0]}]},
        "micrograd": {"sizes": [{**figures, "size": 1, "fingerprint": [1.0, 2.5]}]},
    }
    for engine in ENGINES:
        reports[engine].update(peak_rss=0, rss_at_start=0)
    with pytest.raises(SystemExit, match="differ"):
        run.combine("mlp", reports)


def test_quick_run_reports_every_workload_both_gc_states_and_the_chain_micrograd_cannot_do(
    tmp_path, capsys
):
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "run.py"), "--quick", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(done.stdout)
    assert [r["workload"] for r in report["results"]] == list(WORKLOADS)
    for result in report["results"]:
        for row in result["rows"]:
            if "ratio" in row:
                assert set(row["ratio"]) == set(GC_MODES)
                assert all(r > 0 for r in row["ratio"].values())
    chain = next(r for r in report["results"] if r["workload"] == "chain")
    deepest = chain["rows"][-1]
    assert deepest["size"] == 1000
    assert deepest["microbp"]["error"] is None
    assert deepest["micrograd"]["error"].startswith("RecursionError")
    wide = next(r for r in report["results"] if r["workload"] == "wide")
    assert all(m["bytes_per_node"] > 0 and m["nodes"] > 0 for m in wide["memory"].values())
    saved = tmp_path / "run.json"
    saved.write_text(done.stdout)
    assert run.main(["--render", str(saved)]) == 0
    shown = capsys.readouterr().out
    assert "| chain | 10³ |" in shown and "RecursionError" in shown and "bytes / node" in shown
