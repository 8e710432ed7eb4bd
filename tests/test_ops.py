"""The op table: the one vocabulary of ops, which every part of microbp knows in full, and
softplus, the op added through it, against HIPS autograd and mpmath."""

from __future__ import annotations

import copy
import math
import pickle

import autograd.numpy as anp
import mpmath
import numpy as np
import pytest
from autograd import grad
from hypothesis import given
from hypothesis import strategies as st

from microbp import drawing, ops
from microbp.audit import ops as audit_ops
from microbp.audit import program
from microbp.engine import Value, topological_order
from microbp.ops import OPS, SOFTPLUS, op_named, power
from microbp.strategies import (
    BINARY_OPS,
    ENGINE_OPS,
    NARY_OPS,
    UNARY_OPS,
    ExpressionDag,
    Step,
    expression_dags,
    float_ops,
)
from microbp.tape import record
from microbp.tape import rules as tape_rules

mpmath.mp.prec = 200

#: Leaves for a step of any op: inside every op's domain once guarded operands are x·x + c.
LEAVES = (0.75, -1.25, 0.5, 1.5, -0.25, 2.0, 1.0)


def step_of(name: str) -> Step:
    """One step of the op ``name`` over the leaves (affine over b, w₁, w₂, h₁, h₂)."""
    op = OPS[name]
    n_args = 5 if op is ops.AFFINE else 3 if op.arity is None else op.arity
    return Step(name, tuple(range(n_args)), 2.0 if "c" in op.operands else 0.5)


def node_of(name: str) -> tuple[list[Value], Value]:
    return ExpressionDag(LEAVES, (step_of(name),)).build()


def test_every_name_is_its_records_key_and_every_label_is_distinct():
    assert all(op.name == name for name, op in OPS.items())
    labels = [power(3).label if op is ops.POW else op.label for op in OPS.values()]
    assert len(set(labels)) == len(labels)


@pytest.mark.parametrize("name", list(OPS))
def test_every_op_builds_its_node_from_its_record_through_the_strategies(name):
    _, root = node_of(name)
    assert root.operation is not None and root.operation.name == name
    assert root.op == root.operation.label
    operands = [p.data for p in root.parents]
    assert root.operation.apply(*operands) == (root.data, root.local_grads)
    floats = ExpressionDag(LEAVES, (step_of(name),)).evaluate(list(LEAVES), float_ops())
    assert floats == pytest.approx(root.data, rel=1e-15)


@pytest.mark.parametrize("name", list(OPS))
def test_every_op_is_known_to_the_tape_and_replays_as_the_engine(name):
    leaves, root = node_of(name)
    assert tape_rules.known_op(OPS[name])
    inputs = [v for v in leaves if v in set(topological_order(root))]
    tape = record(root, inputs, [])
    shifted = [[v.data + 0.125 for v in inputs], [v.data for v in inputs]]
    losses = tape.forward(np.array(shifted))
    assert losses[1] == pytest.approx(root.data, rel=1e-14)
    moved = ExpressionDag(
        tuple(x + 0.125 if i < len(inputs) else x for i, x in enumerate(LEAVES)), (step_of(name),)
    )
    assert losses[0] == pytest.approx(moved.build()[1].data, rel=1e-14)


@pytest.mark.parametrize("name", list(OPS))
def test_every_op_is_drawn_by_the_strategies_when_asked_for(name):
    @given(expression_dags(ops=[name], min_ops=2, max_ops=3))
    def draws_only(dag):
        assert {step.op for step in dag.steps} == {name}

    draws_only()


def test_the_strategies_draw_every_op_whose_derivatives_are_not_a_choice():
    drawn = set(UNARY_OPS + BINARY_OPS + NARY_OPS)
    assert drawn == {name for name, op in OPS.items() if op.differentiable}
    assert OPS["max"].differentiable is False
    methods = {name for name, op in OPS.items() if op.method}
    assert methods <= set(vars(ENGINE_OPS)) and methods <= set(vars(float_ops()))


@pytest.mark.parametrize("name", [name for name, op in OPS.items() if op.differentiable])
def test_every_drawn_op_is_known_to_the_audit(name):
    op = OPS[name]
    if op.arity is not None:
        audited = audit_ops.OPS[name]
        assert (audited.operands, audited.template) == (op.operands, op.written)
    assert program.DAG_NEEDS[name] <= set(audit_ops.OPS)
    audited_program = program.from_expression(ExpressionDag(LEAVES, (step_of(name),)))
    assert audited_program.ops_count >= 1


def test_every_op_name_the_audit_uses_resolves_in_the_table():
    for name in audit_ops.OPS:
        base = name.removeprefix("number_").removesuffix("_number")
        assert base in OPS, name
    assert set(audit_ops.METHODS) == {name for name, op in OPS.items() if op.method}
    for needs in (*program.ACTIVATION_NEEDS.values(), *program.LOSS_NEEDS.values()):
        assert needs <= set(audit_ops.OPS)


def test_every_op_name_the_tape_uses_resolves_in_the_table():
    used = {*tape_rules.UNARY, *tape_rules.BINARY, *tape_rules.NARY, tape_rules.POWER}
    assert used == set(OPS)
    assert set(tape_rules.ACTIVATIONS) <= set(tape_rules.UNARY)


@pytest.mark.parametrize("name", list(OPS))
def test_every_op_is_drawn_in_pictures_with_its_label_and_its_edges_factors(name):
    _, root = node_of(name)
    data = drawing.graph_data(root)
    (drawn,) = [n for n in data.nodes if n.value is root]
    assert drawn.value.op == root.operation.label  # type: ignore[union-attr]
    for edge in (e for e in data.edges if e.child is drawn):
        if edge.factor is not None:
            assert edge.factor.data == edge.local
    with_factors = [e for e in data.edges if e.child is drawn and e.factor is not None]
    assert bool(with_factors) == (name in ("mul", "affine"))


def test_x_to_the_n_holds_n_as_a_field_and_shows_it_in_its_label():
    x = Value(2.0)
    assert (x**3).operation is power(3) and power(3).exponent == 3
    assert (x**3).op == "**3" and (x**2.0).op == "**2.0" and (x**-0.5).op == "**-0.5"
    assert (x**3).operation is not (x**3.0).operation  # an int n stays an int
    assert (x ** Value(3.0)).operation is ops.POW_VALUE and (x ** Value(3.0)).op == "**"


def test_ops_pickle_and_copy_as_the_tables_own_records():
    for op in (*OPS.values(), power(3), power(0.5)):
        assert pickle.loads(pickle.dumps(op)) is op
        assert copy.deepcopy(op) is op
    assert op_named("pow", 7) is power(7) and op_named("exp") is ops.EXP


def test_an_unknown_op_name_is_refused_with_the_names_listed():
    with pytest.raises(ValueError, match="unknown op 'cube'; the ops are add, sub"):
        op_named("cube")


@pytest.mark.parametrize(
    ("op", "operands", "error", "message"),
    [
        (ops.DIV, (1.0, 0.0), ZeroDivisionError, "division by zero"),
        (ops.LOG, (-1.0,), ValueError, "log needs a positive operand"),
        (power(0.5), (-1.0,), ValueError, "non-integer power"),
        (ops.POW_VALUE, (-2.0, 1.0), ValueError, "needs a base ≥ 0"),
        (ops.EXP, (800.0,), OverflowError, "exp of"),
        (ops.MUL, (1e200, 1e200), OverflowError, r"\* of"),
        (SOFTPLUS, (math.nan,), ValueError, "NaN or infinite"),
        (ops.SUM, (math.inf, 1.0), ValueError, "NaN or infinite"),
    ],
)
def test_an_ops_domain_refuses_with_the_engines_own_error(op, operands, error, message):
    with pytest.raises(error, match=message):
        op.apply(*operands)


# ---- softplus, the op added through the table ----

EDGES = (-800.0, -745.0, -37.0, -1.0, -1e-300, 0.0, 1e-300, 1e-20, 1.0, 37.0, 710.0, 800.0)


def mp_softplus(x: float) -> tuple[float, float]:
    """log(1 + eˣ) and σ(x), to 200 bits, rounded once."""
    e = mpmath.exp(mpmath.mpf(x))
    return float(mpmath.log1p(e)), float(e / (1 + e))


@pytest.mark.parametrize("x", EDGES)
def test_softplus_and_its_derivative_are_within_an_ulp_of_mpmath_at_the_edges(x):
    z = Value(x).softplus()
    exact, slope = mp_softplus(x)
    assert abs(z.data - exact) <= math.ulp(exact)
    (local,) = z.local_grads
    assert abs(local - slope) <= 2 * math.ulp(slope)


@given(st.floats(-30.0, 30.0))
def test_softplus_value_and_derivative_match_hips_autograd(x):
    reference = lambda t: anp.logaddexp(0.0, t)  # noqa: E731
    v = Value(x)
    z = v.softplus()
    z.backward()
    assert z.data == pytest.approx(float(reference(x)), rel=1e-14, abs=1e-300)
    assert v.grad == pytest.approx(float(grad(reference)(x)), rel=1e-12, abs=1e-300)


def test_softplus_replays_on_the_tape_as_the_engine_at_the_edges():
    x = Value(0.0, "x")
    tape = record(x.softplus(), [x], [])
    losses = tape.run(np.array([[e] for e in EDGES]))
    engine = [Value(e).softplus() for e in EDGES]
    assert list(losses) == pytest.approx([z.data for z in engine], rel=1e-15, abs=0.0)
    assert list(tape.grad_of(x)) == pytest.approx(
        [z.local_grads[0] for z in engine], rel=1e-15, abs=0.0
    )
