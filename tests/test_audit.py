"""The audit holds an engine to microbp's properties: microbp and correct engines pass, micrograd
fails where it really differs, and every planted bug is caught by the property that should catch
it, with a small counterexample that runs and shows the engine's wrong number."""

from __future__ import annotations

import contextlib
import io
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from microbp.audit import (
    OPS,
    Instruction,
    Program,
    PropertyResult,
    TargetError,
    audit,
    load,
    properties,
)
from microbp.audit.checks import Convention, Failed, check_second_backward, reference
from microbp.audit.program import from_expression
from microbp.audit.runner import lines
from microbp.strategies import expression_dags

ENGINES = Path(__file__).parent / "audit_engines"
MICROGRAD = "micrograd.engine:Value"
MICROGRAD_LACKS = ["x ** y", "x.exp()", "x.log()", "x.tanh()", "x.sigmoid()", "x.softplus()"]


def engine_file(name: str) -> str:
    return f"{ENGINES / name}"


@pytest.fixture(scope="module")
def micrograd_report():
    return audit(MICROGRAD, examples=30)


def statuses(report) -> dict[str, str]:
    return {r.key: r.status for r in report.results}


def printed_by(snippet: str) -> str:
    """What a counterexample's snippet prints when run: its last line."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(snippet, "<snippet>", "exec"), {"__name__": "__snippet__"})
    return out.getvalue().splitlines()[-1]


# ---- microbp and correct engines pass ----


def test_microbp_audits_itself_clean_through_the_value_class_path():
    report = audit("microbp.engine:Value", examples=20)
    assert report.ok
    assert set(statuses(report).values()) == {"pass"}, statuses(report)
    assert [r.key for r in report.results] == [key for key, _ in lines()]
    assert len(report.results) == len(OPS) + len(properties.TITLES)


@pytest.mark.parametrize(
    ("target", "lacks"),
    [
        ("reference.py:Value", []),
        ("functional.py:make_adapter", ["x.sigmoid()"]),
        ("functional.py:Adapter", ["x.sigmoid()"]),
    ],
)
def test_correct_reference_engines_pass_everything_they_support(target, lacks):
    every = [key for key, _ in lines()]
    if not target.startswith("reference"):  # the adapters' chains: the reference's code
        every.remove("deep_chains")
    report = audit(engine_file(target), examples=20, only=every)
    assert report.ok, [(r.key, r.detail) for r in report.failures]
    assert report.unsupported == lacks
    assert "skipped" not in statuses(report).values()


# ---- micrograd 0.1.0 ----


def test_micrograd_lacks_the_ops_it_has_no_method_or_value_power_for(micrograd_report):
    assert micrograd_report.unsupported == MICROGRAD_LACKS
    lacking = {"pow_value", "exp", "log", "tanh", "sigmoid", "softplus"}
    assert properties.supported_ops(load(MICROGRAD)) == frozenset(OPS) - lacking
    assert "int/float powers" in micrograd_report["op:pow_value"].detail
    assert "has no method exp()" in micrograd_report["op:exp"].detail


def test_micrograd_backward_reaches_its_limit_at_a_chain_depth_near_the_recursion_limit(
    micrograd_report,
):
    chains = micrograd_report["deep_chains"]
    assert chains.status == "limit"
    assert "RecursionError" in chains.detail
    limit = sys.getrecursionlimit()
    first_past_limit = min(d for d in properties.CHAIN_DEPTHS if d >= limit)
    assert f"{first_past_limit:,} deep: backward() raises RecursionError" in chains.detail
    assert chains.counterexample is not None and chains.counterexample.ops == first_past_limit


def test_micrograd_leaves_after_a_second_backward_fail_and_its_root_is_a_convention(
    micrograd_report,
):
    # a = Value(2.); c = (a*a)*(a*a); c.backward(); c.backward() leaves a.grad 96, not 64
    c = Program(
        (Instruction("leaf", number=2.0), Instruction("mul", (0, 0)), Instruction("mul", (1, 1)))
    )
    with pytest.raises(Failed) as found:
        check_second_backward(load(MICROGRAD), c, leaves=True)
    assert (found.value.discrepancy.engine, found.value.discrepancy.right) == (96.0, 64.0)
    with pytest.raises(Convention) as convention:  # the root at 1: set, not added
        check_second_backward(load(MICROGRAD), c, leaves=False)
    assert "sets the root's grad to 1" in convention.value.discrepancy.convention
    leaves = micrograd_report["second_backward_leaves"]
    assert leaves.status == "fail" and leaves.counterexample is not None
    assert leaves.counterexample.ops <= 2
    interior = micrograd_report["second_backward_interior"]
    assert interior.status == "convention" and "micrograd's convention" in interior.detail
    assert interior.counterexample is not None and interior.counterexample.ops <= 2
    assert (interior.counterexample.engine, interior.counterexample.right) == (1.0, 2.0)


def test_micrograd_fails_only_its_leaves_after_two_passes_and_x_to_the_0_at_0(micrograd_report):
    failing = {r.key for r in micrograd_report.failures}
    assert failing == {"second_backward_leaves", "extreme_inputs"}
    assert (
        "x ** 0 at x = 0.0: raises ZeroDivisionError" in micrograd_report["extreme_inputs"].detail
    )
    for key in ("shared_nodes", "network", "sgd_step", "reflected"):
        assert micrograd_report[key].status == "pass"
    assert not micrograd_report.passes(strict=False)
    strict = {r.key for r in micrograd_report.failing(strict=True)}
    assert strict == failing | {"second_backward_interior", "deep_chains"}


def test_micrograd_counterexamples_run_and_print_the_engines_number(micrograd_report):
    for result in micrograd_report.failing(strict=True):
        example = result.counterexample
        assert example is not None
        if example.error.startswith("RecursionError"):
            with pytest.raises(RecursionError):
                printed_by(example.snippet)
        elif example.error.startswith("ZeroDivisionError"):
            with pytest.raises(ZeroDivisionError):
                printed_by(example.snippet)
        else:
            assert float(printed_by(example.snippet)) == example.engine


# ---- planted bugs ----


@pytest.mark.parametrize(
    ("engine", "caught_by"),
    [
        ("WrongTanh", "op:tanh"),
        ("Overwrites", "shared_nodes"),
        ("DivisionSign", "op:div"),
        ("ParentsFirst", "shared_nodes"),
    ],
)
def test_each_planted_bug_is_caught_by_its_property_with_at_most_three_ops(engine, caught_by):
    every_op = [f"op:{op}" for op in OPS]
    report = audit(engine_file(f"planted.py:{engine}"), examples=50, only=[*every_op, caught_by])
    result = report[caught_by]
    assert result.status == "fail"
    example = result.counterexample
    assert example is not None and example.ops <= 3
    assert float(printed_by(example.snippet)) == example.engine
    assert example.engine != pytest.approx(example.right)
    # the ops it does right still pass: each failure is reported where it belongs
    ops_failing = {r.key for r in report.failures if r.key.startswith("op:")}
    assert ops_failing <= {"op:tanh", "op:div", "op:number_div"}


@pytest.mark.parametrize("engine", ["FrozenData", "StaleProducts"])
def test_an_sgd_step_the_engine_does_not_take_is_caught_by_the_sgd_line(engine):
    loaded = load(engine_file(f"planted.py:{engine}"))
    assert properties.network(loaded).status == "pass"
    result = properties.sgd_step(loaded)
    assert result.status == "fail"
    example = result.counterexample
    assert example is not None and "lr = " in example.snippet
    assert float(printed_by(example.snippet)) == example.engine != example.right


def test_a_second_backward_is_judged_apart_from_wrong_derivatives():
    report = audit(
        engine_file("planted.py:Overwrites"),
        only=["second_backward_leaves", "second_backward_interior"],
    )
    assert report["second_backward_leaves"].status == "pass"
    assert report["second_backward_interior"].status == "pass"


def test_an_adapters_counterexample_calls_the_adapter():
    report = audit(engine_file("functional.py:make_buggy_adapter"), examples=20, only=["op:exp"])
    example = report["op:exp"].counterexample
    assert example is not None
    assert "engine = make_buggy_adapter()" in example.snippet
    assert "engine.apply('exp', x1)" in example.snippet
    assert float(printed_by(example.snippet)) == example.engine


# ---- threads ----


def test_the_audit_works_from_a_thread_other_than_the_main_one():
    found: list[PropertyResult] = []
    worker = threading.Thread(
        target=lambda: found.append(properties.op_property(load(MICROGRAD), "mul", 10))
    )
    worker.start()
    worker.join()
    assert found[0].status == "pass"


# ---- targets ----


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("micrograd", "is not module:Name"),
        ("no_such_module_here:Value", "cannot import no_such_module_here"),
        ("micrograd.engine:Nope", "has no attribute 'Nope'"),
        ("fractions:Fraction", "does not look like an engine's value class"),
        ("json:dumps", "calling it to get an adapter raised TypeError"),
        ("math:pi", "neither a value class nor a function"),
        ("no/such/file.py:Value", "there is no file"),
    ],
)
def test_a_target_that_is_no_engine_is_refused_in_one_line(target, message):
    with pytest.raises(TargetError, match=message) as refused:
        load(target)
    assert "\n" not in str(refused.value)


def test_a_value_class_itself_is_a_target():
    from micrograd.engine import Value

    engine = load(Value)
    assert engine.spec == MICROGRAD and engine.operators


@pytest.mark.parametrize(
    ("options", "message"),
    [({"examples": 0}, "examples"), ({"seed": -1}, "seed"), ({"time_limit": 0}, "time_limit")],
)
def test_bad_audit_options_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        audit(MICROGRAD, **options)


# ---- programs ----


@given(expression_dags())
def test_a_compiled_expression_computes_what_the_expression_does(dag):
    _, root = dag.build()
    program = from_expression(dag)
    assert reference(program).data[-1] == pytest.approx(root.data, rel=1e-12, abs=1e-12)


@given(expression_dags(), st.data())
def test_every_smaller_program_is_a_valid_program_with_fewer_nodes(dag, data):
    program = from_expression(dag)
    smaller = list(program.smaller())
    if smaller:
        candidate = data.draw(st.sampled_from(smaller))
        assert len(candidate) < len(program)
        assert {i.op for i in candidate.instructions} <= {i.op for i in program.instructions}


@pytest.mark.parametrize(
    ("instructions", "message"),
    [
        ((), "at least one"),
        ((Instruction("leaf"),), "a leaf has a number"),
        ((Instruction("leaf", number=1.0), Instruction("cube", (0,))), "unknown op 'cube'"),
        ((Instruction("leaf", number=1.0), Instruction("mul", (0,))), "mul takes operands"),
        ((Instruction("leaf", number=1.0), Instruction("neg", (1,))), "earlier nodes"),
    ],
)
def test_a_malformed_program_is_refused(instructions, message):
    with pytest.raises(ValueError, match=message):
        Program(instructions)


# ---- pictures ----


@pytest.mark.dot
def test_a_failing_example_is_drawn_with_the_wrong_grads_beside_the_right_ones(tmp_path):
    report = audit(engine_file("planted.py:DivisionSign"), svg_dir=tmp_path, only=["op:div"])
    example = report["op:div"].counterexample
    assert example is not None and example.svg == str(tmp_path / "op-div.svg")
    svg = Path(example.svg).read_text()
    assert "this engine: grad 1" in svg and "grad &#45;1" in svg  # dot writes − as &#45;
    assert "#d62728" in svg  # microbp.graph's highlight colour
    assert not list(tmp_path.glob(".*.tmp"))


# ---- PyTorch, through the adapter the docs show ----


def test_the_docs_pytorch_adapter_audits_clean(tmp_path):
    pytest.importorskip("torch")
    page = (Path(__file__).parent.parent / "docs" / "audit.md").read_text()
    source = page.split("```py\n", 1)[1].split("```", 1)[0]
    (tmp_path / "torch_scalars.py").write_text(source)
    report = audit(f"{tmp_path / 'torch_scalars.py'}:make_adapter", examples=30)
    assert report.ok, [(r.key, r.detail) for r in report.failures]
    assert report.unsupported == []


def test_the_json_form_carries_an_engines_nan_as_a_string():
    import json

    from microbp.audit import Counterexample, Report

    nan = Counterexample("print(1)", "x1", "grad", float("nan"), 2.0, "", 1)
    report = Report("e:V", (PropertyResult("op:mul", "x * y", "fail", 1, "", nan),), 1, 0)
    document = json.loads(json.dumps(report.as_dict(), allow_nan=False))
    assert document["properties"][0]["counterexample"]["engine"] == "nan"
    assert document["properties"][0]["counterexample"]["right"] == 2.0
