"""The notes' second-order formulas in numpy (`curvature.output_layer_hessian`, `gauss_newton`)
against HIPS autograd's `hessian` of the same loss and finite differences of the gradient.

Tolerances are first-order rounding bounds, not constants. Every entry compared here is a sum of
products; evaluated in floats, each term passes through at most N roundings (the dot products
of the forward pass and of the recursion, the activations and their derivatives, the sums of
Jᵀ H_a J), so the entry is within about N·u·S of the exact one, where S is the same sum with
every term replaced by its absolute value (Higham's bound for sums of products). An activation
or exp also carries its argument's error: a pre-activation a made of terms of size up to A is
off by at most N·u·A, which moves g'(a), g''(a) and exp(a) by at most 2·N·u·A relatively
(|g''/g'| ≤ 2 for σ and tanh, 1 for exp), so every term is within N·u·(1 + 2A) relatively.
Two such computations differ by at most twice that.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import autograd.numpy as anp
import numpy as np
from autograd import hessian, jacobian
from hypothesis import given
from rounding import FUNCTION_ULPS, UNDERFLOW, UNIT_ROUNDOFF
from test_formulas import ag_activation

from microbp.curvature import gauss_newton, output_hessian, output_layer_hessian, parameter_jacobian
from microbp.formulas import Network, forward, gradients, sigmoid
from microbp.strategies import NetworkCase, network_cases

#: Small networks: autograd's Hessian costs one reverse pass per parameter.
small_cases = network_cases(max_layers=3, max_width=4)


# ---- the same loss in autograd.numpy, as a function of every parameter θ ----


def flat_parameters(network: Network) -> np.ndarray:
    """θ in `MLP.parameters` order: each layer's W row by row, then its b."""
    return np.concatenate([part for W, b in zip(network.W, network.b) for part in (W.ravel(), b)])


def layers_of(network: Network, theta):
    """(W_k, b_k) for each layer, cut out of θ (an autograd box or an array)."""
    layers, start = [], 0
    for W in network.W:
        n_out, n_in = W.shape
        W_k = anp.reshape(theta[start : start + n_out * n_in], (n_out, n_in))
        start += n_out * n_in
        layers.append((W_k, theta[start : start + n_out]))
        start += n_out
    return layers


def ag_a_L(network: Network, x: np.ndarray):
    """a_L as a function of θ."""

    def a_L(theta):
        h, a = x, x
        for (W, b), g in zip(layers_of(network, theta), network.activations):
            a = b + anp.dot(W, h)
            h = ag_activation(g, a)
        return a

    return a_L


def ag_loss_of_a_L(network: Network, target, loss: str):
    """L as a function of a_L."""

    def loss_of(a_L):
        y_hat = ag_activation(network.activations[-1], a_L)
        if loss == "cross_entropy":
            return -anp.log(y_hat[target])
        return anp.sum((y_hat - anp.array(target)) ** 2)

    return loss_of


def ag_loss(network: Network, case: NetworkCase):
    a_L = ag_a_L(network, np.array(case.x))
    loss_of = ag_loss_of_a_L(network, case.target, case.loss)
    return lambda theta: loss_of(a_L(theta))


# ---- the rounding bound ----


@dataclass(frozen=True)
class Magnitudes:
    """|J| and |H_a| with every term taken in absolute value, and the relative bound N·u·κ."""

    abs_J: np.ndarray
    abs_H_a: np.ndarray
    abs_grad_a: np.ndarray
    relative: float

    def of_gauss_newton(self) -> np.ndarray:
        """The bound on each entry of one float evaluation of Jᵀ H_a J."""
        S = self.abs_J.T @ self.abs_H_a @ self.abs_J
        return self.relative * S + UNDERFLOW * (self.relative / UNIT_ROUNDOFF)


#: The size of the terms g'(a) is made of, as the formulas compute it: 1 − tanh²a and σ(1 − σ)
#: cancel where the unit saturates, so their rounding is relative to 1 + tanh²a and σ(1 + σ).
DERIVATIVE_TERMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "tanh": lambda a: 1.0 + np.tanh(a) ** 2,
    "sigmoid": lambda a: sigmoid(a) * (1.0 + sigmoid(a)),
    "relu": lambda a: (a > 0.0).astype(np.float64),
    "linear": np.ones_like,
}


def magnitudes(network: Network, case: NetworkCase) -> Magnitudes:
    fw = forward(network, case.x)
    # |J| by the recursion of curvature.parameter_jacobian in absolute values
    G = np.eye(len(fw.a[-1]))
    blocks = []
    for k in range(len(network.W), 0, -1):
        h_prev = np.abs(fw.h[k - 1])
        blocks.append(np.hstack([(G[:, :, None] * h_prev[None, None, :]).reshape(len(G), -1), G]))
        if k > 1:
            g_prime = DERIVATIVE_TERMS[network.activations[k - 2]](fw.a[k - 2])
            G = G @ np.abs(network.W[k - 1]) * g_prime
    abs_J = np.hstack(blocks[::-1])
    # |H_a| term by term: ŷ_i δ_ip + ŷ_i ŷ_p for softmax's Jacobian, then the chain rule twice
    y_hat, n = fw.h[-1], len(fw.h[-1])
    softmax = network.activations[-1] == "softmax"
    abs_J_g = np.diag(y_hat) + np.outer(y_hat, y_hat) if softmax else np.eye(n)
    if case.loss == "cross_entropy":
        abs_H_a = abs_J_g
        assert isinstance(case.target, int)
        abs_grad_a = y_hat + np.eye(n)[case.target]  # ŷ − e(ℓ)
    else:
        abs_grad_h = 2.0 * (np.abs(y_hat) + np.abs(np.array(case.target)))  # 2(ŷ − y)
        abs_grad_a = abs_J_g @ abs_grad_h
        abs_H_a = abs_J_g @ (2.0 * np.eye(n)) @ abs_J_g
        if softmax:
            weights = abs_grad_h * y_hat
            centred = np.abs(np.eye(n) - y_hat)
            abs_H_a += np.einsum("i,ij,ik->jk", weights, centred, centred)
            abs_H_a += weights.sum() * abs_J_g
    # N roundings a term passes through, and the pre-activations' size A
    sizes = [W.shape[1] for W in network.W] + [n]
    roundings = sum(2 * (n_in + 2) for n_in in sizes) + 4 * n + FUNCTION_ULPS * 2 * (len(sizes))
    A = max(
        float(np.max(np.abs(b) + np.abs(W) @ np.abs(h)))
        for W, b, h in zip(network.W, network.b, fw.h)
    )
    return Magnitudes(abs_J, abs_H_a, abs_grad_a, roundings * UNIT_ROUNDOFF * (1.0 + 2.0 * A))


def assert_within(actual: np.ndarray, expected: np.ndarray, bound: np.ndarray) -> None:
    excess = np.abs(actual - expected) - bound
    worst = np.unravel_index(np.argmax(excess), excess.shape)
    assert excess[worst] <= 0.0, (
        f"entry {worst}: {actual[worst]!r} vs {expected[worst]!r}, bound {bound[worst]!r}"
    )


def output_block(matrix: np.ndarray, network: Network) -> np.ndarray:
    """The rows and columns of the output layer's parameters (the last ones in θ)."""
    n_L = network.W[-1].size + network.b[-1].size
    return matrix[-n_L:, -n_L:]


# ---- the properties ----


@given(small_cases)
def test_output_layer_hessian_is_H_a_times_h_prev_h_prev_and_matches_hips_autograd(case):
    """∂²L/∂W_L[i,j]∂W_L[p,q] = H_a[i,p]·h_{L−1}[j]·h_{L−1}[q] (h ≡ 1 for biases) is the
    output layer's block of autograd's Hessian of L(θ), entry by entry."""
    network = Network.from_mlp(case.net)
    theta = flat_parameters(network)
    expected = output_block(hessian(ag_loss(network, case))(theta), network)
    bound = output_block(magnitudes(network, case).of_gauss_newton(), network)
    assert_within(
        output_layer_hessian(network, case.x, case.target, case.loss), expected, 2 * bound
    )


@given(small_cases)
def test_output_hessian_is_autograds_hessian_of_L_in_a_L(case):
    """H_a: diag(ŷ) − ŷŷᵀ for softmax + cross-entropy, 2·I for linear + squared error, and the
    chain rule twice for softmax + squared error."""
    network = Network.from_mlp(case.net)
    a_L = forward(network, case.x).a[-1]
    expected = hessian(ag_loss_of_a_L(network, case.target, case.loss))(a_L)
    m = magnitudes(network, case)
    bound = m.relative * m.abs_H_a + UNDERFLOW
    assert_within(output_hessian(network, case.x, case.target, case.loss), expected, 2 * bound)
    if case.loss == "cross_entropy":
        y_hat = forward(network, case.x).h[-1]
        assert_within(expected, np.diag(y_hat) - np.outer(y_hat, y_hat), 2 * bound)
    elif network.activations[-1] == "linear":
        assert np.array_equal(
            output_hessian(network, case.x, case.target, case.loss), 2 * np.eye(len(a_L))
        )


@given(small_cases)
def test_parameter_jacobian_is_autograds_jacobian_of_a_L(case):
    """J = ∂a_L/∂θ by the notes' backward recursions equals autograd's Jacobian, column by
    column in the engine's parameter order."""
    network = Network.from_mlp(case.net)
    expected = jacobian(ag_a_L(network, np.array(case.x)))(flat_parameters(network))
    m = magnitudes(network, case)
    assert_within(
        parameter_jacobian(network, case.x), expected, 2 * m.relative * m.abs_J + UNDERFLOW
    )


@given(small_cases)
def test_gauss_newton_is_J_transpose_H_a_J_from_hips_autograd(case):
    """Jᵀ H_a J over the whole network, with J and H_a taken from autograd instead."""
    network = Network.from_mlp(case.net)
    x = np.array(case.x)
    J = jacobian(ag_a_L(network, x))(flat_parameters(network))
    H_a = hessian(ag_loss_of_a_L(network, case.target, case.loss))(forward(network, case.x).a[-1])
    bound = magnitudes(network, case).of_gauss_newton()
    assert_within(gauss_newton(network, case.x, case.target, case.loss), J.T @ H_a @ J, 2 * bound)


@given(network_cases(max_layers=3, max_width=4, losses=["squared_error"], output=["linear"]))
def test_gauss_newton_is_the_whole_hessian_at_zero_residual(case):
    """With ŷ = y the curvature term Σ_i ∂L/∂a_Li ∇²a_Li vanishes: Jᵀ H_a J is the Hessian."""
    network = Network.from_mlp(case.net)
    theta = flat_parameters(network)
    y = ag_a_L(network, np.array(case.x))(theta)  # linear output: ŷ = a_L, as autograd makes it
    at_zero = NetworkCase(case.net, case.x, [float(v) for v in y], case.loss)
    expected = hessian(ag_loss(network, at_zero))(theta)
    bound = magnitudes(network, at_zero).of_gauss_newton()
    assert_within(gauss_newton(network, case.x, at_zero.target, case.loss), expected, 2 * bound)


def network_with_output_layer(network: Network, theta_L: np.ndarray) -> Network:
    """``network`` with the output layer's (W_L, b_L) replaced by θ_L."""
    W_L, b_L = layers_of(Network([network.W[-1]], [network.b[-1]], ["linear"]), theta_L)[0]
    return Network(
        [*network.W[:-1], np.array(W_L)], [*network.b[:-1], np.array(b_L)], network.activations
    )


def output_layer_gradient(network: Network, case: NetworkCase, theta_L: np.ndarray) -> np.ndarray:
    layer = gradients(
        network_with_output_layer(network, theta_L), case.x, case.target, case.loss
    ).layers[-1]
    return np.concatenate([layer.grad_W.ravel(), layer.grad_b])


#: Central differences: truncation ε², rounding u/ε, balanced near ε = u^(1/3) ≈ 6·10⁻⁶.
STEP = 2.0**-17


def central_differences(network: Network, case: NetworkCase, step: float) -> np.ndarray:
    """(∇L(θ_L + ε e_j) − ∇L(θ_L − ε e_j)) / 2ε, column j for each output parameter."""
    theta_L = np.concatenate([network.W[-1].ravel(), network.b[-1]])
    columns = []
    for j in range(len(theta_L)):
        up, down = theta_L.copy(), theta_L.copy()
        up[j] += step
        down[j] -= step
        width = up[j] - down[j]  # the step actually taken, after rounding θ ± ε
        columns.append(
            (output_layer_gradient(network, case, up) - output_layer_gradient(network, case, down))
            / width
        )
    return np.array(columns).T


@given(small_cases)
def test_output_layer_hessian_matches_central_differences_of_the_gradient(case):
    """Each column of the block is the derivative of the formulas' own ∇θ_L L along θ_L.

    The difference D(ε) is off by ε²·f'''/6 + rounding; D(2ε) by four times the first, so
    |D(2ε) − D(ε)| estimates three times D(ε)'s truncation error, to leading order. Each
    gradient entry is off by at most N·u·κ·|J|ᵀ|∇a L| by rounding, which the quotient turns into
    that over ε."""
    network = Network.from_mlp(case.net)
    D_1, D_2 = (
        central_differences(network, case, STEP),
        central_differences(network, case, 2 * STEP),
    )
    m = magnitudes(network, case)
    gradient_rounding = m.relative * (m.abs_J[:, -len(D_1) :].T @ m.abs_grad_a)
    bound = np.abs(D_2 - D_1) + 2 * gradient_rounding[:, None] / STEP
    formula = output_layer_hessian(network, case.x, case.target, case.loss)
    assert_within(D_1, formula, bound + 2 * output_block(m.of_gauss_newton(), network))
