"""The notes' matrix formulas, held against the scalar engine entry by entry on drawn networks.

Every property runs over hypothesis-drawn networks (1–4 layers, widths 1–6, every hidden
activation, softmax and linear outputs, cross-entropy and squared error, weights in [−1, 1],
inputs in [−2, 2]). The engine's grads come from one backward pass of `Value` nodes; the
right-hand sides are built from other numbers (the engine's own data, numpy, finite
differences), so a wrong derivative anywhere makes a test fail — the last tests show it does.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from microbp.check import GradcheckError, gradcheck
from microbp.comparison import compare, compare_gradients, engine_gradients
from microbp.engine import Value
from microbp.formulas import activation_derivative, gradients
from microbp.nn import SGD
from microbp.strategies import NetworkCase, network_cases


def backward_pass(case: NetworkCase) -> None:
    """Zero the parameters' grads, then one forward and backward pass of the engine."""
    for p in case.net.parameters():
        p.grad = 0.0
    case.loss_value().backward()


def grads(values: list[Value]) -> np.ndarray:
    return np.array([v.grad for v in values])


def data(values: list[Value]) -> np.ndarray:
    return np.array([v.data for v in values])


@given(network_cases())
def test_every_entry_of_grad_W_is_grad_a_times_h_prev(case):
    """∂L/∂W_kij = ∂L/∂a_ki · h_{k-1,j}: ∇W_k = ∇a_k h_{k-1}ᵀ, entry for entry, exactly."""
    backward_pass(case)
    for layer in case.net.layers:
        for i, row in enumerate(layer.W):
            for j, w in enumerate(row):
                assert w.grad == layer.a[i].grad * layer.h_prev[j].data, w.name


@given(network_cases())
def test_grad_b_is_grad_a(case):
    """∂L/∂b_ki = ∂L/∂a_ki · ∂a_ki/∂b_ki = ∂L/∂a_ki: ∇b_k = ∇a_k, exactly."""
    backward_pass(case)
    for layer in case.net.layers:
        assert [b.grad for b in layer.b] == [a.grad for a in layer.a]


@given(network_cases())
def test_grad_h_prev_is_W_transpose_grad_a(case):
    """∇h_{k-1} = W_kᵀ ∇a_k for every layer, ∇x = W_1ᵀ ∇a_1 included."""
    backward_pass(case)
    for layer in case.net.layers:
        W = np.array([data(row) for row in layer.W])
        expected = W.T @ grads(layer.a)
        scale = np.abs(W.T) @ np.abs(grads(layer.a))  # the size of the summed terms
        np.testing.assert_allclose(grads(layer.h_prev), expected, rtol=0, atol=1e-14 * scale.max())


@given(network_cases())
def test_grad_a_is_grad_h_times_g_prime_in_hidden_layers(case):
    """∇a_{k-1} = ∇h_{k-1} ⊙ g'(a_{k-1}), g' from numpy's formula for the activation."""
    backward_pass(case)
    for layer in case.net.layers[:-1]:
        g_prime = activation_derivative(layer.activation, data(layer.a))
        grad_h = grads(layer.h)
        # σ(1−σ) and 1 − tanh² lose digits where g' is tiny: allow rounding of 1 times |∇h|.
        atol = 1e-15 * np.abs(grad_h).max()
        np.testing.assert_allclose(grads(layer.a), grad_h * g_prime, rtol=1e-12, atol=atol)


@given(network_cases(losses=["cross_entropy"]))
def test_softmax_with_cross_entropy_gives_grad_a_L_is_y_hat_minus_e_label(case):
    """∇a_L L = ŷ − e(ℓ) for a softmax output layer under cross-entropy."""
    backward_pass(case)
    output = case.net.layers[-1]
    e_label = np.eye(len(output.h))[case.target]
    np.testing.assert_allclose(grads(output.a), data(output.h) - e_label, rtol=0, atol=1e-15)


@given(network_cases())
def test_engine_agrees_with_the_matrix_formulas_to_1e_12(case):
    """Every entry of ∇W_k, ∇b_k, ∇a_k, ∇h_k and ∇x: scalar engine = numpy formulas."""
    report = compare(case.net, case.x, case.target, case.loss)
    assert report.ok, str(report)
    scale = max(1.0, max(np.abs(q.formula).max() for q in report.quantities()))
    assert report.max_abs_diff <= 1e-12 * scale, str(report)


def relu_kink_nearby(case: NetworkCase, distance: float = 1e-4) -> bool:
    """True if a relu pre-activation is so close to 0 that ±eps steps cross the kink."""
    case.net(case.x)
    return any(
        abs(a.data) < distance
        for layer in case.net.layers
        if layer.activation == "relu"
        for a in layer.a
    )


@given(network_cases())
def test_engine_agrees_with_central_differences_for_every_parameter(case):
    assume(not relu_kink_nearby(case))
    assert gradcheck(lambda *_: case.loss_value(), case.net.parameters())


@given(network_cases())
def test_engine_agrees_with_central_differences_for_every_input(case):
    assume(not relu_kink_nearby(case))
    x = [Value(v, f"x[{j}]") for j, v in enumerate(case.x, start=1)]
    loss = NetworkCase(case.net, x, case.target, case.loss).loss_value  # type: ignore[arg-type]
    assert gradcheck(lambda *_: loss(), x)


@given(network_cases(), st.floats(1e-3, 1.0))
def test_sgd_step_is_W_minus_eta_grad_W(case, eta):
    """W_k ← W_k − η ∇a_k h_{k-1}ᵀ and b_k ← b_k − η ∇a_k, with the numpy formulas' ∇a_k."""
    before = [np.array([data(row) for row in layer.W]) for layer in case.net.layers]
    biases = [data(layer.b) for layer in case.net.layers]
    formula = gradients(case.net, case.x, case.target, case.loss)
    backward_pass(case)
    SGD(case.net.parameters(), eta).step()
    for layer, W, b, g in zip(case.net.layers, before, biases, formula.layers):
        h_prev = data(layer.h_prev)
        W_after = np.array([data(row) for row in layer.W])
        atol = 1e-12 * max(1.0, np.abs(g.grad_a).max() * max(1.0, np.abs(h_prev).max()))
        np.testing.assert_allclose(W_after, W - eta * np.outer(g.grad_a, h_prev), rtol=0, atol=atol)
        np.testing.assert_allclose(data(layer.b), b - eta * g.grad_a, rtol=0, atol=atol)


# ---- the checks are not vacuous: a wrong derivative is caught ----


@given(network_cases(), st.data())
def test_compare_catches_a_corrupted_grad_entry(case, draw):
    """Any one entry of ∇W_k, ∇b_k, ∇a_k, ∇h_k off by 1e-8 of the matrix's size fails `compare`."""
    engine = engine_gradients(case.net, case.x, case.target, case.loss)
    layer = draw.draw(st.sampled_from(engine.layers))
    array = getattr(layer, draw.draw(st.sampled_from(["grad_a", "grad_h", "grad_W", "grad_b"])))
    index = tuple(draw.draw(st.integers(0, n - 1)) for n in array.shape)
    array[index] += 1e-8 * (1.0 + np.abs(array).max())
    report = compare_gradients(engine, gradients(case.net, case.x, case.target, case.loss))
    assert not report.ok
    assert "<-- differs" in report.format(max_entries=None)


def test_compare_catches_a_wrong_derivative_rule_in_the_engine(monkeypatch):
    """An engine whose sigmoid reports σ'(x) 0.1% too large disagrees with the formulas."""
    from microbp.nn import MLP

    right = Value.sigmoid

    def wrong_sigmoid(self: Value) -> Value:
        node = right(self)
        node.local_grads = (node.local_grads[0] * 1.001,)
        return node

    net = MLP([2, 3, 2], hidden="sigmoid", seed=1)
    assert compare(net, [0.5, -1.0], 1).ok
    monkeypatch.setattr(Value, "sigmoid", wrong_sigmoid)
    report = compare(net, [0.5, -1.0], 1)
    assert not report.ok
    assert not report.layers[0].grad_W.ok and report.layers[1].grad_W.ok


@given(network_cases(), st.data())
def test_gradcheck_catches_a_corrupted_local_derivative_of_a_weight(case, draw):
    """Corrupt the edge W_kij → a_ki (it should carry h_{k-1,j}); gradcheck names that weight."""
    assume(not relu_kink_nearby(case))
    backward_pass(case)
    candidates = [
        (layer.k, i, j)
        for layer in case.net.layers
        for i, a in enumerate(layer.a)
        if abs(a.grad) > 1e-3
        for j in range(len(layer.h_prev))
    ]
    assume(candidates)
    k, i, j = draw.draw(st.sampled_from(candidates))
    layer = case.net.layers[k - 1]

    def corrupted_loss(*_: Value) -> Value:
        loss = case.loss_value()
        a = layer.a[i]
        local = list(a.local_grads)
        local[1 + j] += 0.1 * (1.0 + abs(local[1 + j]))  # parents: b, W_ki·, h_{k-1}
        a.local_grads = tuple(local)
        return loss

    with pytest.raises(GradcheckError, match=re.escape(repr(layer.W[i][j].name))):
        gradcheck(corrupted_loss, case.net.parameters())
