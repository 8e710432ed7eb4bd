"""The numpy matrix formulas against HIPS autograd and finite differences; compare's report."""

from __future__ import annotations

import math

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad
from examples import scaled
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from microbp.comparison import Quantity, compare, compare_gradients, engine_gradients
from microbp.engine import Value
from microbp.formulas import (
    Network,
    activation,
    activation_derivative,
    as_network,
    backprop_activation,
    cross_entropy_of_logits,
    forward,
    gradients,
    loss_value,
)
from microbp.nn import MLP
from microbp.strategies import network_cases

# ---- an independent third implementation: the forward pass in autograd.numpy ----


def ag_activation(name, a):
    if name == "sigmoid":
        return 1.0 / (1.0 + anp.exp(-a))
    if name == "tanh":
        return anp.tanh(a)
    if name == "relu":
        return a * (a > 0)  # derivative 0 at exactly 0, as microbp's
    if name == "linear":
        return a
    e = anp.exp(a - anp.max(a))
    return e / anp.sum(e)


def ag_loss_from(network, k, h, target, loss):
    """L as a function of h_k (h_0 = x), running layers k+1..L in autograd.numpy."""
    for W, b, g in zip(network.W[k:], network.b[k:], network.activations[k:]):
        h = ag_activation(g, b + anp.dot(W, h))
    if loss == "cross_entropy":
        return -anp.log(h[target])
    return anp.sum((h - anp.array(target)) ** 2)


def ag_loss_of_layer(network, k, x, target, loss):
    """L as a function of (W_k, b_k), the other layers fixed."""

    def f(W, b):
        h = x
        for j, (W_j, b_j, g) in enumerate(zip(network.W, network.b, network.activations), 1):
            W_j, b_j = (W, b) if j == k else (W_j, b_j)
            h = ag_activation(g, b_j + anp.dot(W_j, h))
        return ag_loss_from(network, len(network.W), h, target, loss)

    return f


@given(network_cases())
def test_formula_gradients_match_hips_autograd(case):
    network = Network.from_mlp(case.net)
    x = np.array(case.x)
    result = gradients(network, case.x, case.target, case.loss)
    fw = forward(network, case.x)
    for k, g in enumerate(result.layers, start=1):
        f = ag_loss_of_layer(network, k, x, case.target, case.loss)
        W, b = network.W[k - 1], network.b[k - 1]
        np.testing.assert_allclose(g.grad_W, grad(f, 0)(W, b), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(g.grad_b, grad(f, 1)(W, b), rtol=1e-9, atol=1e-12)
        grad_h = grad(lambda h, k=k: ag_loss_from(network, k, h, case.target, case.loss))
        np.testing.assert_allclose(g.grad_h, grad_h(fw.h[k]), rtol=1e-9, atol=1e-12)
    grad_x = grad(lambda h: ag_loss_from(network, 0, h, case.target, case.loss))(x)
    np.testing.assert_allclose(result.grad_x, grad_x, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "linear"])
@given(a=st.lists(st.floats(-8, 8), min_size=1, max_size=6))
def test_activation_derivative_matches_central_differences(name, a):
    a = np.array(a)
    assume(name != "relu" or np.all(np.abs(a) > 1e-4))
    eps = 1e-6
    numeric = (activation(name, a + eps) - activation(name, a - eps)) / (2 * eps)
    np.testing.assert_allclose(activation_derivative(name, a), numeric, rtol=1e-6, atol=1e-8)


@given(
    st.lists(st.floats(-30, 30), min_size=1, max_size=6).flatmap(
        lambda a: st.tuples(
            st.just(a), st.lists(st.floats(-2, 2), min_size=len(a), max_size=len(a))
        )
    )
)
def test_softmax_backprop_is_the_jacobian_transpose_times_grad_h(a_and_grad_h):
    a, grad_h = map(np.array, a_and_grad_h)
    y = activation("softmax", a)
    jacobian = np.diag(y) - np.outer(y, y)  # ∂ŷ_i/∂a_j = ŷ_i(δ_ij − ŷ_j)
    np.testing.assert_allclose(
        backprop_activation("softmax", a, grad_h), jacobian.T @ grad_h, rtol=1e-9, atol=1e-12
    )


def test_softmax_is_stable_and_sums_to_1():
    y = activation("softmax", np.array([1000.0, 1000.0, -1000.0]))
    np.testing.assert_allclose(y, [0.5, 0.5, 0.0])


def test_softmax_with_cross_entropy_gives_y_hat_minus_e_label():
    network = Network.from_arrays(
        [[[1.0, -2.0], [0.5, 0.25], [0.0, 3.0]]], [[0, 0.1, -0.1]], ["softmax"]
    )
    result = gradients(network, [0.3, 0.7], 2)
    y_hat = forward(network, [0.3, 0.7]).h[-1]
    np.testing.assert_array_equal(result.layers[0].grad_a, y_hat - [0.0, 0.0, 1.0])


def test_forward_follows_a_k_equals_b_k_plus_W_k_h_prev():
    network = Network.from_arrays([[[2.0, -1.0]], [[3.0]]], [[0.5], [-1.0]], ["relu", "linear"])
    fw = forward(network, [1.0, 4.0])
    assert [a.tolist() for a in fw.a] == [[0.5 + 2.0 - 4.0], [-1.0 + 3.0 * 0.0]]
    assert [h.tolist() for h in fw.h] == [[1.0, 4.0], [0.0], [-1.0]]


def test_network_from_mlp_copies_the_numbers():
    net = MLP([2, 3, 1], hidden="tanh", output="linear", seed=0)
    network = as_network(net)
    assert network.activations == ["tanh", "linear"]
    assert network.W[1][0, 2] == net.layers[1].W[0][2].data
    assert network.b[0].shape == (3,)
    assert as_network(network) is network


# ---- the report ----


def test_compare_reports_every_quantity_of_every_layer():
    net = MLP([3, 4, 2], seed=0)
    report = compare(net, [0.1, -0.2, 0.3], 1)
    assert report.ok and report.max_abs_diff < 1e-15
    assert [layer.k for layer in report.layers] == [1, 2]
    second = report.layers[1]
    assert second.grad_W.engine.shape == second.grad_W.formula.shape == (2, 4)
    assert second.grad_b.engine.shape == second.grad_a.formula.shape == (2,)
    assert report.grad_x.formula.shape == (3,)
    text = str(report)
    assert text.startswith("scalar engine vs matrix formulas: agree")
    for label in ("∇W2[2,4]", "∇b2[2]", "∇a1[4]", "∇h1[3]", "∇W1[4,3]", "∇x[3]"):
        assert label in text


def test_compare_leaves_this_pass_grads_on_the_parameters_not_accumulated():
    net = MLP([2, 2], seed=0)
    first = compare(net, [1.0, 2.0], 0).layers[0].grad_W.engine
    second = compare(net, [1.0, 2.0], 0).layers[0].grad_W.engine
    np.testing.assert_array_equal(first, second)
    assert [[w.grad for w in row] for row in net.layers[0].W] == second.tolist()


def test_compare_whose_forward_pass_fails_leaves_the_parameters_grads_alone():
    net = MLP.from_weights([[[1, 1], [1, 1]], [[1e308, 1e308]]], [[0, 0], [0]], output="linear")
    for p in net.parameters():
        p.grad = 7.0
    with pytest.raises(OverflowError):
        compare(net, [6.0, 6.0], [0.0], "squared_error")
    assert all(p.grad == 7.0 for p in net.parameters())


def test_report_shows_a_limited_number_of_entries_unless_asked():
    report = compare(MLP([6, 6, 6], seed=0), [0.1] * 6, 0)
    assert "… and 12 more entries" in report.format(max_entries=24)
    assert "more entries" not in report.format(max_entries=None)


def test_a_mismatch_is_reported_with_the_entry_marked():
    net = MLP([2, 3, 2], seed=0)
    engine = engine_gradients(net, [0.5, 0.5], 0)
    engine.layers[0].grad_W[2, 1] += 1e-6
    report = compare_gradients(engine, gradients(net, [0.5, 0.5], 0))
    assert not report.ok and not report.layers[0].grad_W.ok and report.layers[1].grad_W.ok
    assert report.max_abs_diff == pytest.approx(1e-6, rel=1e-6)
    text = str(report)
    assert text.startswith("scalar engine vs matrix formulas: DISAGREE")
    marked = [line for line in text.splitlines() if "<-- differs" in line]
    assert len(marked) == 1 and "∇W1[3,2]" in marked[0]


def test_relative_difference_ignores_entries_that_are_zero_up_to_rounding():
    q = Quantity("h1", np.array([1e-17, 2.0]), np.array([0.0, 2.0 + 4e-16]), 1e-12, 1e-10)
    assert q.ok
    assert q.max_abs_diff == pytest.approx(4e-16)
    assert q.max_rel_diff == pytest.approx(2e-16, rel=0.2)


# ---- errors ----


def test_network_refuses_inconsistent_shapes_and_unknown_activations():
    with pytest.raises(ValueError, match=r"W2 must be n_2 × n_1 = \? × 3"):
        Network.from_arrays(
            [np.ones((3, 2)), np.ones((1, 2))], [np.ones(3), np.ones(1)], ["tanh"] * 2
        )
    with pytest.raises(ValueError, match="b1"):
        Network.from_arrays([np.ones((3, 2))], [np.ones(2)], ["tanh"])
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        Network.from_arrays([np.ones((3, 2))], [np.ones(3)], ["gelu"])
    with pytest.raises(ValueError, match="one W, one b and one activation per layer"):
        Network.from_arrays([], [], [])
    with pytest.raises(ValueError, match=r"got W1 of shape \(3,\)"):
        Network([np.ones(3)], [np.ones(1)], ["linear"])  # from_arrays would make it 1 × 3


def test_formulas_refuse_bad_input_target_loss_and_network():
    net = MLP([2, 3], seed=0)
    with pytest.raises(ValueError, match="takes 2 inputs, got 3"):
        forward(net, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="label 3 is out of range for 3 outputs"):
        gradients(net, [1.0, 2.0], 3)
    with pytest.raises(ValueError, match="target has 2 entries but the network has 3 outputs"):
        gradients(net, [1.0, 2.0], [0.0, 1.0], loss="squared_error")
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        compare(net, [1.0, 2.0], 0, loss="hinge")
    with pytest.raises(TypeError, match=r"MLP or a formulas\.Network"):
        forward([[1.0]], [1.0])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"MLP\.from_weights"):
        engine_gradients(as_network(net), [1.0, 2.0], 0)  # type: ignore[arg-type]


def test_comparing_gradients_of_different_networks_is_refused():
    a = engine_gradients(MLP([2, 3], seed=0), [1.0, 2.0], 0)
    b = gradients(MLP([2, 3, 3], seed=0), [1.0, 2.0], 0)
    c = gradients(MLP([2, 4], seed=0), [1.0, 2.0], 0)
    with pytest.raises(ValueError, match="1 layers and 2"):
        compare_gradients(a, b)
    with pytest.raises(ValueError, match=r"∇a1 has shape \(3,\) from the engine but \(4,\)"):
        compare_gradients(a, c)


# ---- what the formulas refuse, as the engine does ----


@pytest.mark.parametrize(
    ("x", "family", "says"),
    [
        ([1.0, math.nan], ValueError, r"x\[1\] must be finite, got nan"),
        ([math.inf, 0.0], ValueError, r"x\[0\] must be finite, got inf"),
        ([True, 0.0], TypeError, r"x\[0\] must be a real number \(int or float\), got bool"),
        (["1.5", 0.0], TypeError, r"x\[0\] must be a real number \(int or float\), got str"),
    ],
)
def test_inputs_that_are_not_finite_numbers_are_refused(x, family, says):
    net = MLP([2, 2], seed=0)
    with pytest.raises(family, match=says):
        forward(net, x)
    with pytest.raises(family, match=says):
        gradients(net, x, 0)


@pytest.mark.parametrize(
    ("W", "family"),
    [([[[1.0, math.nan]]], ValueError), ([[[True, 1.0]]], TypeError), ([[["a", 1.0]]], TypeError)],
)
def test_weights_that_are_not_finite_numbers_are_refused(W, family):
    with pytest.raises(family, match=r"W1\[0, 0\]|W1\[0, 1\]"):
        Network.from_arrays(W, [[0.0]], ["linear"])


@pytest.mark.parametrize("tolerance", [math.nan, -1e-12, math.inf, "0.1"])
def test_tolerances_must_be_finite_and_not_negative(tolerance):
    net = MLP([2, 2], seed=0)
    for name in ("atol", "rtol"):
        with pytest.raises((ValueError, TypeError), match=name):
            compare(net, [1.0, 2.0], 0, **{name: tolerance})


def test_relu_derivative_at_zero_is_zero_as_in_the_engine():
    assert activation_derivative("relu", np.array([-1.0, 0.0, 2.0])).tolist() == [0.0, 0.0, 1.0]
    x = Value(0.0)
    x.relu().backward()
    assert x.grad == 0.0


def test_finite_inputs_whose_formulas_overflow_are_refused_as_the_engine_refuses_them():
    net = MLP.from_weights([[[1.0, 1.0], [1.0, -1.0]]], [[0.0, 0.0]], output="linear")
    with pytest.raises(OverflowError, match="overflows a float"):
        gradients(net, [1e154, 1e154], [0.0, 0.0], loss="squared_error")
    with pytest.raises(OverflowError, match="overflows a float"):
        gradients(MLP([2, 2], seed=0), [1.0, 2.0], [1e308, -1e308], loss="squared_error")


def test_a_network_built_directly_must_hold_finite_float_arrays():
    with pytest.raises(TypeError, match=r"Network\.from_arrays"):
        Network([[[1.0]]], [[0.0]], ["linear"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="NaN"):
        Network([np.array([[math.nan]])], [np.array([0.0])], ["linear"])


@settings(max_examples=scaled(60))
@given(st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=5), st.data())
def test_cross_entropy_of_logits_is_mpmaths_at_any_margin(logits, data):
    import mpmath

    label = data.draw(st.integers(0, len(logits) - 1))
    with mpmath.workdps(60):
        a = [mpmath.mpf(v) for v in logits]
        exact = mpmath.log(mpmath.fsum(mpmath.exp(v - a[label]) for v in a))
    assert cross_entropy_of_logits(np.array(logits), label) == pytest.approx(
        float(exact), rel=1e-13, abs=1e-15
    )


def test_a_confident_wrong_network_has_the_engines_loss_and_gradients_in_the_formulas():
    """A logit margin of 750: ŷ_2 underflows to 0; L = 750 and ∇a_2 = ŷ − e(ℓ) on both sides."""
    net = MLP.from_weights([[[750.0], [0.0]]], [[0.0, 0.0]])
    assert loss_value(net, [1.0], 1, "cross_entropy") == 750.0
    report = compare(net, [1.0], 1)
    assert report.ok
    np.testing.assert_array_equal(report.layers[0].grad_a.formula, [1.0, -1.0])
    np.testing.assert_array_equal(report.layers[0].grad_W.formula, [[1.0], [-1.0]])
