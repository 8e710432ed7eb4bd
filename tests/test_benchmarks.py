"""The benchmark suite: micrograd's added ops are right, the engines do the same work, it runs."""

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("micrograd")
# benchmarks/ is on the import path through pytest's `pythonpath` setting (pyproject.toml).
import micrograd_adapter as mg
import run
import worker
import workloads
from measure import GC_MODES, Step, repeat
from micrograd.engine import Value as MgValue
from workloads import ENGINES, WORKLOADS, Workload

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"

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


def fingerprint(workload: Workload, engine: str, size: int) -> list[float]:
    step = workload.prepare[engine](size)
    step.reset()
    return step.fingerprint(step.run())


@pytest.mark.parametrize("name", list(WORKLOADS))
def test_every_engine_of_a_workload_computes_the_same_loss_and_gradients(name):
    workload = WORKLOADS[name]
    size = workload.quick_sizes[0]
    first, *others = [fingerprint(workload, e, size) for e in workload.engines]
    assert len(first) > 1 and others
    for other in others:
        assert run.fingerprints_agree(first, other)


@pytest.mark.parametrize("name", list(workloads.LOSSES))
def test_the_loss_whose_backward_instructions_counts_is_the_microbp_steps_own(name):
    forward, params = workloads.LOSSES[name](WORKLOADS[name].quick_sizes[0])
    L = forward()
    L.backward()
    counted = [L.data, *(p.grad for p in params)]
    assert counted == fingerprint(WORKLOADS[name], "microbp", WORKLOADS[name].quick_sizes[0])


def test_mlp_and_train_run_on_microbps_engines_and_micrograd_train_batch_beside_numpy():
    assert ENGINES == ("microbp", "microbp-tape", "micrograd", "numpy", "torch")
    with_torch = ("torch",) if workloads._torch_installed() else ()
    for name, workload in WORKLOADS.items():
        if name in ("mlp", "train"):
            assert workload.engines == ("microbp", "microbp-tape", "micrograd")
        elif name == "train_batch":
            assert workload.engines == ("microbp", "microbp-tape", "numpy", *with_torch)
        else:
            assert workload.engines == ("microbp", "micrograd")


def test_train_batch_by_hand_reaches_the_tapes_losses_and_weights_at_every_batch_size(
    monkeypatch,
):
    monkeypatch.setitem(workloads.BATCH_RUNS, 16, (50, 2))
    train_batch = WORKLOADS["train_batch"]
    n_params = sum((n_in + 1) * n_out for n_in, n_out in [(2, 16), (16, 16), (16, 2)])
    for batch, epochs in ((10, 1), (16, 2)):
        tape, *others = (fingerprint(train_batch, e, batch) for e in train_batch.engines)
        assert len(tape) == epochs + n_params
        for other in others:
            assert run.fingerprints_agree(tape, other)


def test_the_tapes_mlp_fingerprint_is_the_loss_and_every_parameter_grad_micrograd_gets():
    mlp = WORKLOADS["mlp"]
    n_params = sum((n_in + 1) * n_out for n_in, n_out in zip([2, 16, 16], [16, 16, 1]))
    tape, theirs = (fingerprint(mlp, e, 8) for e in ("microbp-tape", "micrograd"))
    assert len(tape) == len(theirs) == 1 + n_params
    assert any(g != 0.0 for g in tape[1:])
    assert run.fingerprints_agree(tape, theirs)


def test_train_engines_agree_on_the_loss_and_the_weights_after_an_epoch_of_sgd():
    train = WORKLOADS["train"]
    fingerprints = [fingerprint(train, e, 50) for e in train.engines]
    initial = [p.data for p in workloads._train_data(50)[0].parameters()]
    loss, *weights = fingerprints[0]
    assert len(weights) == len(initial) and weights != initial and 0.0 < loss < 1.0
    for other in fingerprints[1:]:
        assert run.fingerprints_agree(fingerprints[0], other)


def test_train_times_fewer_epochs_on_slow_engines_scales_them_and_checks_the_same_epochs(
    monkeypatch,
):
    monkeypatch.setitem(workloads.TRAIN_EPOCHS, 50, 3)
    monkeypatch.setattr(workloads, "SCALED_EPOCHS", {"microbp": 1, "micrograd": 1})
    train = WORKLOADS["train"]
    steps = {e: train.prepare[e](50) for e in train.engines}
    assert {e: (s.scale, s.note) for e, s in steps.items()} == {
        "microbp": (3, "1 epoch ×3"),
        "microbp-tape": (1, None),
        "micrograd": (3, "1 epoch ×3"),
    }
    histories = {}
    for engine, step in steps.items():
        step.reset()
        histories[engine] = step.run()
    assert {e: len(h) for e, h in histories.items()} == {
        "microbp": 1,
        "microbp-tape": 3,
        "micrograd": 1,
    }
    prints = {e: steps[e].fingerprint(h) for e, h in histories.items()}
    assert all(len(fp) == len(prints["microbp"]) for fp in prints.values())
    assert run.fingerprints_agree(prints["microbp"], prints["microbp-tape"])  # its 1-epoch rerun
    assert run.fingerprints_agree(prints["microbp"], prints["micrograd"])


def test_a_scaled_step_reports_its_times_as_measured_and_its_figures_scaled():
    step = Step(lambda: None, lambda: 0.0, lambda _: [1.0], scale=50, note="2 epochs ×50")
    fake = Workload("fake", "a step that does nothing", (1,), (1,), {"microbp": lambda _: step})
    figures = worker.measure_size(fake, "microbp", 1, "quick")
    assert (figures["scale"], figures["note"]) == (50, "2 epochs ×50")
    for mode in GC_MODES:
        timed: Any = figures[mode]
        (measured,) = timed["times"]
        assert timed["median"] == pytest.approx(50 * measured)


def test_a_workload_refuses_an_engine_it_does_not_have():
    with pytest.raises(ValueError, match="unknown engines"):
        Workload("fake", "", (1,), (1,), {"jax": lambda _: None})  # type: ignore[dict-item,return-value]
    with pytest.raises(SystemExit):
        worker.main(["chain", "microbp-tape"])


def test_a_step_is_timed_after_reset_and_read_after_the_last_run():
    calls: list[str] = []
    step = Step(
        reset=lambda: calls.append("reset"),
        run=lambda: calls.append("run") or len(calls),  # type: ignore[func-returns-value]
        fingerprint=lambda result: [float(result)],
    )
    times, fingerprint = repeat(step, "gc_off", min_reps=3, max_reps=3, budget=0.0)
    assert len(times) == 3 and all(t >= 0 for t in times)
    assert calls == ["reset", "run"] * 4  # a warm-up, then three timed runs
    assert fingerprint == [8.0]


def reports(medians: dict[str, float], fingerprints: dict[str, list[float]], size=64) -> dict:
    """Worker reports of one size whose every GC state has the given median."""
    return {
        engine: {
            "sizes": [
                {
                    "size": size,
                    "error": None,
                    "fingerprint": fingerprints[engine],
                    **{mode: {"median": median, "min": median, "max": median} for mode in GC_MODES},
                }
            ],
            "peak_rss": 0,
            "rss_at_start": 0,
        }
        for engine, median in medians.items()
    }


@pytest.mark.parametrize("odd_one", ENGINES)
def test_engines_that_disagree_stop_the_run_naming_them(odd_one):
    fingerprints = {e: [1.0, 2.5] if e == odd_one else [1.0, 2.0] for e in ENGINES}
    with pytest.raises(SystemExit, match="differ in their losses") as stopped:
        run.combine("mlp", reports(dict.fromkeys(ENGINES, 1.0), fingerprints))
    assert f" {odd_one} " in str(stopped.value)


def test_ratios_are_slower_over_faster_and_the_tape_targets_are_checked_at_64_samples():
    medians = {"microbp": 0.010, "microbp-tape": 0.002, "micrograd": 0.5}
    result = run.combine("mlp", reports(medians, {e: [1.0] for e in ENGINES}))
    (row,) = result["rows"]
    assert {name: r["gc_on"] for name, r in row["ratio"].items()} == pytest.approx(
        {
            "micrograd / microbp": 50.0,
            "micrograd / microbp-tape": 250.0,
            "microbp / microbp-tape": 5.0,
        }
    )
    assert [(t["target"], t["measured"], t["met"]) for t in run.targets([result])] == [
        ("mlp 64: micrograd / microbp ≥ 30× (GC on)", "50.0×", True),
        ("mlp 64: micrograd / microbp-tape ≥ 300× (GC on)", "250.0×", False),
        ("mlp 64: microbp / microbp-tape ≥ 10× (GC on)", "5.00×", False),
    ]
    one_sample = run.combine("mlp", reports(medians, {e: [1.0] for e in ENGINES}, size=1))
    assert run.targets([one_sample]) == []  # the targets are for 64 samples


def test_the_table_marks_scaled_figures_and_engines_a_workload_lacks():
    train = reports({"microbp": 50.0, "micrograd": 500.0}, {e: [1.0] for e in ENGINES})
    train["microbp"]["sizes"][0]["note"] = "2 epochs ×50"
    meta = {
        "targets": [],
        "date": "today",
        "command": "run.py",
        "machine": dict.fromkeys(["cpu", "implementation", "python", "system", "microbp"], "x")
        | {"micrograd": "0.1.0"},
    }
    shown = run.table([run.combine("train", train)], meta)
    assert (
        "| train | 64 | 50 s (50 s–50 s), 2 epochs ×50 | — | 500 s (500 s–500 s) | — | — "
        "| 10.0× | — | — | — | — |" in shown
    )


def test_the_tape_is_held_to_at_most_2x_and_1_5x_hand_written_numpy_and_under_pytorch():
    medians = {"microbp-tape": 0.019, "numpy": 0.010, "torch": 0.020}
    engines = {e: [1.0] for e in medians}
    result, at_1000 = (
        run.combine("train_batch", reports(medians, engines, size=size)) for size in (16, 1000)
    )
    result["rows"] += at_1000["rows"]
    assert [(t["target"], t["measured"], t["met"]) for t in run.targets([result])] == [
        ("train_batch 16: torch / microbp-tape ≥ 1× (GC on)", "1.05×", True),
        ("train_batch 1000: torch / microbp-tape ≥ 1× (GC on)", "1.05×", True),
        ("train_batch 16: microbp-tape / numpy ≤ 2× (GC on)", "1.90×", True),
        ("train_batch 1000: microbp-tape / numpy ≤ 1.5× (GC on)", "1.90×", False),
    ]


def test_quick_run_has_every_workload_gc_state_and_tape_ratio_and_the_chain_micrograd_cannot_do(
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
        assert result["engines"] == list(WORKLOADS[result["workload"]].engines)
        for row in result["rows"]:
            for ratio in row["ratio"].values():
                assert set(ratio) == set(GC_MODES)
                assert all(r > 0 for r in ratio.values())
    for name in ("mlp", "train", "train_batch"):
        rows = next(r for r in report["results"] if r["workload"] == name)["rows"]
        assert [row["size"] for row in rows] == list(WORKLOADS[name].quick_sizes)
        engines = WORKLOADS[name].engines
        for row in rows:
            assert set(row["ratio"]) == {
                run.ratio_name(slower, faster)
                for slower, faster in run.RATIOS
                if slower in engines and faster in engines
            }
            assert row["microbp-tape"]["error"] is None
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
    assert (
        "| mlp | 1 |" in shown
        and "| mlp | 8 |" in shown
        and "| train | 50 |" in shown
        and "| train_batch | 10 |" in shown
        and "microbp-tape / numpy" in shown
    )


def test_layer_floor_times_the_phases_and_floors_on_the_graph_it_describes():
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "layer_floor.py"), "--size", "4", "--reps", "3"],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = done.stdout.splitlines()
    # 4 affine nodes of 1 + 4 + 4 parents, 4 tanh nodes, one sum of 4: 44 edges
    assert lines[0] == "layer 4: 9 nodes with parents, 24 leaves, 44 edges"
    rows = [line.split(" | ") for line in lines if line.startswith("| ") and "µs" in line]
    assert [r[0].strip("| ").strip() for r in rows] == [
        "microbp: one step",
        "forward: the graph of Σ tanh(a)",
        "backward",
        "of which the walk (topological_order)",
        "floor: each edge once",
        "floor: the forward arithmetic",
        "floor: one multiply-add per edge",
        "floor: one grad per leaf",
        "floor: one multiply-add per edge into .grad",
        "micrograd: one step (own process)",
    ]
    assert all(float(r[1].removesuffix(" µs")) >= 0 for r in rows)
    assert lines[-3].startswith("micrograd / microbp: ")
    assert lines[-2].startswith("micrograd / floors, each pass summed apart")
    assert lines[-1].startswith("micrograd / floors, adding into .grad") and lines[-1].endswith("×")
