"""Derivatives of derivatives: the engine's recorded reverse pass (`create_graph`), `hessian`,
`hvp` and `newton_step` against exact derivatives, HIPS autograd, finite differences and the
notes' formulas.

Every tolerance is a first-order rounding bound (tests/rounding.py): an entry of the Hessian is
the float reverse pass over a recorded derivative's graph, so `grad_error_bounds` of that graph
bounds its error from the exact derivative. Against the exact derivatives (forward mode in
mpmath at 60 digits, tests/duals.py) that bound and the reference's rounding to a float are all
that is allowed. HIPS autograd computes the networks' derivatives with ops no worse conditioned
(its tanh' is 1/cosh², not 1 − t²), so the two are held within twice the engine's bound there;
on expressions its x ** y goes through other formulas, with errors of their own (100 ulps at
softplus((x·x + 2) ** x), x = 1.75, where the engine is within half an ulp), so expressions
are held to the exact derivatives instead.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from autograd import hessian as ag_hessian
from duals import EXACT_OPS, derivatives_of_order
from hypothesis import assume, given
from hypothesis import strategies as st
from rounding import UNDERFLOW, UNIT_ROUNDOFF, grad_error_bounds, op_name
from test_second_order_formulas import (
    ag_loss,
    assert_within,
    flat_parameters,
    magnitudes,
    output_block,
)

import microbp
import microbp.higher
import microbp.second_order
from microbp import (
    Value,
    affine,
    derivatives,
    hessian,
    hvp,
    newton_step,
    sum_values,
    topological_order,
)
from microbp.curvature import gauss_newton, output_layer_hessian
from microbp.engine import max_value
from microbp.formulas import Network
from microbp.strategies import ExpressionDag, NetworkCase, expression_dags, network_cases

# ---- the engine's Hessian and its bound ----


def engine_hessian(root: Value, params: list[Value]) -> tuple[np.ndarray, np.ndarray]:
    """H by the engine, and the first-order bound on each entry's rounding."""
    grads = derivatives(root, params, create_graph=True)
    H = np.array([derivatives(g, params) for g in grads])
    bound = np.array([[grad_error_bounds(g).get(p, 0.0) for p in params] for g in grads])
    np.testing.assert_array_equal(H, hessian(root, params, array=True))
    return H, bound


def exact_derivatives(dag: ExpressionDag, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Every ∂ⁿroot/∂x_i∂x_j… of ``order`` n at the leaves (forward mode at 60 digits,
    `duals`), rounded once to a float, and how far that float may be from the exact number:
    half an ulp (the 60-digit value's own error is some 10⁴⁴ times below the engine's bound)."""
    with mpmath.workdps(60):
        found = derivatives_of_order(dag.function(EXACT_OPS), dag.leaves, order)
    assume(all(mpmath.isfinite(d) for d in found.values()))  # x ** y at x = 0: log 0
    exact = np.array([float(d) for d in found.values()]).reshape((len(dag.leaves),) * order)
    return exact, UNIT_ROUNDOFF * np.abs(exact) + UNDERFLOW


@given(expression_dags(max_ops=10))
def test_hessian_of_an_expression_matches_mpmath(dag):
    """Every op, reused nodes included: ∂²root/∂x_i∂x_j entry by entry, within the engine's
    bound of the exact derivative."""
    leaves, root = dag.build()
    H, bound = engine_hessian(root, leaves)
    expected, off = exact_derivatives(dag, 2)
    assert_within(H, expected, bound + off)


def relu_branches(dag: ExpressionDag, leaves: list[float]) -> tuple[bool, ...] | None:
    """Which side of 0 each relu's operand is on at ``leaves`` (None outside the domain)."""
    try:
        _, root = ExpressionDag(tuple(leaves), dag.steps).build()
    except (ValueError, OverflowError, ZeroDivisionError):
        return None
    return tuple(v.parents[0].data > 0.0 for v in topological_order(root) if op_name(v) == "relu")


def gradient_at(dag: ExpressionDag, leaves: list[float]) -> np.ndarray:
    built, root = ExpressionDag(tuple(leaves), dag.steps).build()
    return np.array(derivatives(root, built))


#: Central differences: truncation ε², rounding u/ε, balanced near ε = u^(1/3) ≈ 6·10⁻⁶.
STEP = 2.0**-17


@given(expression_dags(max_ops=10))
def test_hessian_of_an_expression_matches_central_differences_of_its_gradient(dag):
    """Column j of H is (∇f(x + ε e_j) − ∇f(x − ε e_j)) / 2ε, to within: D(2ε) − D(ε), three
    times D(ε)'s truncation error to leading order, and the gradient's rounding bound over ε.
    The leaves are moved onto multiples of 2⁻⁵⁰ first, so that x ± ε and x ± 2ε are exact."""
    dag = ExpressionDag(tuple(round(x * 2.0**50) / 2.0**50 for x in dag.leaves), dag.steps)
    assume(relu_branches(dag, list(dag.leaves)) is not None)
    leaves, root = dag.build()
    H, bound = engine_hessian(root, leaves)
    gradient_bound = np.array([grad_error_bounds(root).get(v, 0.0) for v in leaves])
    home = relu_branches(dag, list(dag.leaves))
    for j in range(len(leaves)):
        columns = []
        for step in (STEP, 2 * STEP):
            up, down = list(dag.leaves), list(dag.leaves)
            up[j] += step
            down[j] -= step
            # Differences are meaningless across relu's kink or out of the domain
            assume(relu_branches(dag, up) == home == relu_branches(dag, down))
            columns.append((gradient_at(dag, up) - gradient_at(dag, down)) / (2 * step))
        allowed = np.abs(columns[1] - columns[0]) + 2 * gradient_bound / STEP + bound[:, j]
        assert_within(columns[0][:, None], H[:, j : j + 1], allowed[:, None])


@given(expression_dags(max_leaves=2, max_ops=6))
def test_third_derivatives_of_an_expression_match_mpmath(dag):
    """∂³root/∂x_i∂x_j∂x_k: derivatives of the recorded second derivatives, recorded again,
    within the engine's bound of the exact derivative."""
    leaves, root = dag.build()
    grads = derivatives(root, leaves, create_graph=True)
    second = [derivatives(g, leaves, create_graph=True) for g in grads]
    third = np.array([[derivatives(h, leaves) for h in row] for row in second])
    bound = np.array(
        [[[grad_error_bounds(h).get(v, 0.0) for v in leaves] for h in row] for row in second]
    )
    expected, off = exact_derivatives(dag, 3)
    assert_within(third, expected, bound + off)


# ---- networks: the engine's Hessian is the notes' formulas ----


def network_hessian(case: NetworkCase) -> tuple[Network, np.ndarray, np.ndarray]:
    network = Network.from_mlp(case.net)
    H, bound = engine_hessian(case.loss_value(), case.net.parameters())
    return network, H, bound


@given(network_cases(max_layers=3, max_width=3))
def test_the_engines_output_layer_block_is_H_a_times_h_prev_h_prev(case):
    """∂²L/∂W_L[i,j]∂W_L[p,q] from the engine is H_a[i,p]·h_{L−1}[j]·h_{L−1}[q], with h ≡ 1 for
    the biases, entry by entry (curvature.output_layer_hessian)."""
    network, H, bound = network_hessian(case)
    formula = output_layer_hessian(network, case.x, case.target, case.loss)
    formula_bound = output_block(magnitudes(network, case).of_gauss_newton(), network)
    assert_within(output_block(H, network), formula, output_block(bound, network) + formula_bound)


@given(network_cases(max_layers=3, max_width=3, losses=["squared_error"], output=["linear"]))
def test_the_engines_hessian_at_zero_residual_is_the_gauss_newton_matrix(case):
    """With y = ŷ the curvature of a_L in θ drops out: the engine's H is Jᵀ H_a J."""
    at_zero = NetworkCase(case.net, case.x, [h.data for h in case.net(case.x)], case.loss)
    network, H, bound = network_hessian(at_zero)
    formula = gauss_newton(network, case.x, at_zero.target, case.loss)
    assert_within(H, formula, bound + magnitudes(network, at_zero).of_gauss_newton())


@given(network_cases(max_layers=2, max_width=3))
def test_the_engines_network_hessian_matches_hips_autograd(case):
    """Every entry, hidden layers included, against autograd's Hessian of L(θ)."""
    network, H, bound = network_hessian(case)
    assert_within(H, ag_hessian(ag_loss(network, case))(flat_parameters(network)), 2 * bound)


# ---- hvp and newton_step ----


@given(expression_dags(max_ops=10), st.data())
def test_hvp_is_the_hessian_times_v(dag, data):
    """One reverse pass over Σ_i g_i v_i gives H·v: against the exact H (mpmath) times v in
    floats, whose n products and sums are each within u of the sum of the terms' sizes."""
    leaves, root = dag.build()
    v = data.draw(st.lists(st.floats(-2, 2), min_size=len(leaves), max_size=len(leaves)))
    grads = derivatives(root, leaves, create_graph=True)
    directional = microbp.sum_values([g * w for g, w in zip(grads, v)])
    bound = np.array([grad_error_bounds(directional).get(p, 0.0) for p in leaves])
    result = np.array(hvp(root, leaves, v))
    H, off = exact_derivatives(dag, 2)
    terms = np.abs(H) @ np.abs(np.array(v))
    allowed = bound + off @ np.abs(np.array(v)) + len(v) * UNIT_ROUNDOFF * terms + UNDERFLOW
    assert_within(result[:, None], (H @ np.array(v))[:, None], allowed[:, None])


@given(
    st.floats(0.5, 4), st.floats(0.5, 4), st.floats(-0.4, 0.4), st.floats(-3, 3), st.floats(-3, 3)
)
def test_one_newton_step_lands_on_the_minimum_of_a_quadratic(a, c, b, x0, y0):
    """L = a(x − 1)² + c(y + 2)² + 2b·xy with ac > b²: one step solves ∇L = 0."""
    x, y = Value(x0, "x"), Value(y0, "y")
    L = a * (x - 1.0) ** 2 + c * (y + 2.0) ** 2 + 2.0 * b * x * y
    newton_step(L, [x, y])
    minimum = np.linalg.solve([[2 * a, 2 * b], [2 * b, 2 * c]], [2 * a, -4 * c])
    np.testing.assert_allclose([x.data, y.data], minimum, rtol=1e-12, atol=1e-12)


# ---- backward(create_graph=True) ----


def test_every_ops_local_derivatives_as_nodes_hold_its_local_derivatives():
    from microbp.ops import OPS

    x, y, b = Value(0.7, "x"), Value(1.3, "y"), Value(-0.4, "b")
    made = [x + y, x - y, x * y, x / y, -x, x**3, x**y, x.exp(), x.log(), x.tanh()]
    made += [x.sigmoid(), x.relu(), x.softplus(), sum_values([x, y, x]), max_value([x, y])]
    made.append(affine(b, [x, y], [y, b]))
    operations = [z.operation for z in made]
    assert {op.name for op in operations if op is not None} == set(OPS)
    for z, op in zip(made, operations):
        assert op is not None
        nodes = op.local_nodes(z)
        as_numbers = [v.data if isinstance(v, Value) else v for v in nodes]
        assert as_numbers == pytest.approx(z.local_grads, rel=4e-16, abs=0.0), z.op


def test_backward_with_create_graph_gives_grads_that_are_values_and_differentiate_again():
    x, y = Value(0.3, "x"), Value(-1.2, "y")
    L = (x * y).tanh() + x**3
    L.backward(create_graph=True)
    plain_x, plain_y = Value(0.3), Value(-1.2)
    ((plain_x * plain_y).tanh() + plain_x**3).backward()
    assert x.grad == pytest.approx(plain_x.grad, rel=1e-15) and y.grad == pytest.approx(
        plain_y.grad, rel=1e-15
    )
    assert isinstance(x.grad_value, Value) and x.grad_value.data == x.grad
    assert derivatives(x.grad_value, [x, y]) == hessian(L, [x, y])[0]
    L.backward(create_graph=True)  # accumulates, as backward does
    assert x.grad_value.data == pytest.approx(2 * plain_x.grad, rel=1e-15)
    microbp.zero_grad([x, y])
    assert x.grad == 0.0 and x.grad_value is None


def test_a_recorded_derivative_with_respect_to_a_node_the_root_does_not_reach_is_a_zero():
    x, y, elsewhere = Value(1.5), Value(-2.0), Value(3.0)
    dx, dy, d_elsewhere = derivatives((x * x).relu() + y.exp() * 0.0, [x, y, elsewhere], True)
    assert (dx.data, d_elsewhere.data) == (3.0, 0.0) and dy.data == 0.0
    assert derivatives(d_elsewhere, [x, y, elsewhere]) == [0.0, 0.0, 0.0]
    assert derivatives(dx, [x, y]) == [2.0, 0.0]


def test_without_create_graph_nothing_is_recorded():
    x = Value(2.0)
    (x * x).backward()
    assert x.grad == 4.0 and x.grad_value is None


def test_a_chain_of_a_hundred_thousand_tanh_has_second_derivatives_without_recursion():
    x = Value(0.5)
    chain = x
    for _ in range(100_000):
        chain = chain.tanh()
    (g,) = derivatives(chain, [x], create_graph=True)
    (second,) = derivatives(g, [x])
    assert g.data == pytest.approx(derivatives(chain, [x])[0], rel=1e-9)
    assert np.isfinite(second)


# ---- refusals ----


def test_a_recording_past_the_memory_limit_is_refused_changing_nothing(monkeypatch):
    monkeypatch.setattr(microbp.higher, "MAX_RECORDED_NODES", 50)
    x = Value(1.0)
    chain = x
    for _ in range(20):
        chain = chain * 1.5
    with pytest.raises(ValueError, match=r"more than the 50 .* allowed"):
        chain.backward(create_graph=True)
    assert x.grad == 0.0 and x.grad_value is None and not x.grad_computed


def test_hessian_hvp_and_newton_step_refuse_bad_arguments():
    x, y = Value(1.0), Value(2.0)
    L = x * y
    with pytest.raises(TypeError, match="needs a Value L"):
        hessian(1.0, [x])  # type: ignore[call-overload]
    with pytest.raises(TypeError, match=r"params\[1\] must be a Value"):
        hessian(L, [x, 2.0])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="one entry of v per parameter"):
        hvp(L, [x, y], [1.0])
    with pytest.raises(ValueError, match="damping must be"):
        newton_step(L, [x, y], damping=-1.0)
    with pytest.raises(ValueError, match="singular"):
        newton_step(x + y, [x, y])
    assert (x.data, y.data) == (1.0, 2.0)


def test_hessian_refuses_more_parameters_than_it_can_afford(monkeypatch):
    monkeypatch.setattr(microbp.second_order, "MAX_HESSIAN_PARAMETERS", 1)
    x, y = Value(1.0), Value(2.0)
    with pytest.raises(ValueError, match=r"at most 1 parameters .* use hvp"):
        hessian(x * y, [x, y])


def test_the_double_backward_graph_draws_its_recorded_nodes_apart_from_the_forward_ones():
    from microbp.drawing import graph_data
    from microbp.graph import COLORS, draw

    x, y = Value(0.5, "x"), Value(2.0, "y")
    L = (x * y).tanh()
    L.name = "L"
    (g,) = derivatives(L, [x], create_graph=True)
    kinds = {n.value.name: n.kind for n in graph_data(g).nodes if n.value.name}
    assert g.name == "∂L/∂x"
    assert kinds == {
        "x": "named",
        "y": "named",
        "L": "loss",
        "∂L/∂L": "backward",
        "∂L/∂x": "backward",
    }
    source = draw(g).source
    assert COLORS["backward"] in source and "the recorded reverse pass" in source
    assert "recorded reverse pass" not in draw(L).source
