"""The notes' second-order formulas in numpy: the output layer's Hessian block, the Jacobian
∂a_L/∂θ and the Gauss–Newton matrix, each from the first-order formulas of `microbp.formulas`
(a third, independent implementation beside the engine's recorded reverse pass).

    H_a = ∂²L/∂a_L∂a_Lᵀ            ∂²L/∂W_L[i,j]∂W_L[p,q] = H_a[i,p]·h_{L−1}[j]·h_{L−1}[q]
    J = ∂a_L/∂θ                    G = Jᵀ H_a J  (Gauss–Newton)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from microbp.formulas import (
    Network,
    activation,
    activation_derivative,
    as_network,
    check_finite,
    forward,
    gradients,
    sigmoid,
)
from microbp.nn import MLP

#: g''(a) for the elementwise activations, as the curvature of h_L in a_L needs it.
ACTIVATION_SECOND_DERIVATIVES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sigmoid": lambda a: activation_derivative("sigmoid", a) * (1.0 - 2.0 * sigmoid(a)),
    "tanh": lambda a: -2.0 * np.tanh(a) * (1.0 - np.tanh(a) ** 2),
    "relu": np.zeros_like,
    "linear": np.zeros_like,
}


def activation_jacobian(name: str, a: np.ndarray) -> np.ndarray:
    """∂h/∂a as a matrix: diag(g'(a)), or diag(ŷ) − ŷŷᵀ for softmax (symmetric either way)."""
    if name == "softmax":
        y_hat = activation("softmax", a)
        return np.diag(y_hat) - np.outer(y_hat, y_hat)
    return np.diag(activation_derivative(name, a))


def output_hessian(
    net: MLP | Network,
    x: Sequence[float],
    target: int | Sequence[float],
    loss: str = "cross_entropy",
) -> np.ndarray:
    """H_a = ∂²L/∂a_L∂a_Lᵀ: diag(ŷ) − ŷŷᵀ for softmax + cross-entropy, 2·I for a linear output
    with squared error (L = Σ(ŷ − y)², no ½); otherwise the chain rule twice,
    (∂h/∂a)ᵀ H_h (∂h/∂a) + Σ_i ∇h_i L · ∇²_a h_i, with H_h = ∇h L ∇h Lᵀ for cross-entropy."""
    network = as_network(net)
    g, a_L = network.activations[-1], forward(network, x).a[-1]
    grad_h = gradients(network, x, target, loss).layers[-1].grad_h  # checks target and loss
    with np.errstate(all="ignore"):
        if loss == "cross_entropy" and g == "softmax":  # the derivative of ŷ − e(ℓ): ∂ŷ/∂a
            H_a = activation_jacobian("softmax", a_L)
        else:
            n = len(a_L)
            H_h = np.outer(grad_h, grad_h) if loss == "cross_entropy" else 2.0 * np.eye(n)
            J_g = activation_jacobian(g, a_L)
            H_a = J_g.T @ H_h @ J_g + _output_curvature(g, a_L, grad_h)
    check_finite("the output Hessian", [H_a])
    return np.asarray(H_a, dtype=np.float64)


def _output_curvature(g: str, a: np.ndarray, grad_h: np.ndarray) -> np.ndarray:
    """Σ_i ∇h_i L · ∂²h_i/∂a∂aᵀ: for softmax ∂²ŷ_i/∂a∂aᵀ = ŷ_i((e_i − ŷ)(e_i − ŷ)ᵀ − ∂ŷ/∂a)."""
    if g != "softmax":
        return np.diag(grad_h * ACTIVATION_SECOND_DERIVATIVES[g](a))
    y_hat = activation("softmax", a)
    centred = np.eye(len(a)) - y_hat  # row i: e_i − ŷ
    weights = grad_h * y_hat
    return np.asarray(
        np.einsum("i,ij,ik->jk", weights, centred, centred)
        - weights.sum() * activation_jacobian("softmax", a),
        dtype=np.float64,
    )


def output_layer_hessian(
    net: MLP | Network,
    x: Sequence[float],
    target: int | Sequence[float],
    loss: str = "cross_entropy",
) -> np.ndarray:
    """∂²L/∂θ_L∂θ_Lᵀ over the output layer's θ_L = (W_L row by row, then b_L), the order of
    ``layer.parameters()``: ∂²L/∂W_L[i,j]∂W_L[p,q] = H_a[i,p]·h_{L−1}[j]·h_{L−1}[q], and the
    same with h ≡ 1 for a bias (a_L is linear in θ_L, so nothing else curves)."""
    network = as_network(net)
    h_prev = forward(network, x).h[-2]
    H_a = output_hessian(network, x, target, loss)
    WW = np.kron(H_a, np.outer(h_prev, h_prev))  # [(i,j),(p,q)] = H_a[i,p] h_j h_q
    Wb = np.kron(H_a, h_prev[:, None])  # [(i,j), p] = H_a[i,p] h_j
    block = np.block([[WW, Wb], [Wb.T, H_a]])
    check_finite("the output layer's Hessian", [block])
    return np.asarray(block, dtype=np.float64)


def parameter_jacobian(net: MLP | Network, x: Sequence[float]) -> np.ndarray:
    """J = ∂a_L/∂θ, n_L rows by every parameter in `MLP.parameters` order, by the notes'
    backward recursions run for all n_L outputs at once: row r of G_k is ∇a_k a_{L,r}, so
    ∂a_{L,r}/∂W_k = G_k[r] h_{k−1}ᵀ, ∂a_{L,r}/∂b_k = G_k[r] and
    G_{k−1} = G_k W_k (∂h_{k−1}/∂a_{k−1})."""
    network = as_network(net)
    fw = forward(network, x)
    G = np.eye(len(fw.a[-1]))
    blocks = []
    with np.errstate(all="ignore"):
        for k in range(len(network.W), 0, -1):
            h_prev = fw.h[k - 1]
            grad_W = G[:, :, None] * h_prev[None, None, :]
            blocks.append(np.hstack([grad_W.reshape(len(G), -1), G]))
            if k > 1:
                G = (
                    G
                    @ network.W[k - 1]
                    @ activation_jacobian(network.activations[k - 2], fw.a[k - 2])
                )
    check_finite("the Jacobian ∂a_L/∂θ", blocks)
    return np.asarray(np.hstack(blocks[::-1]), dtype=np.float64)


def gauss_newton(
    net: MLP | Network,
    x: Sequence[float],
    target: int | Sequence[float],
    loss: str = "cross_entropy",
) -> np.ndarray:
    """The Gauss–Newton matrix Jᵀ H_a J over every parameter (`MLP.parameters` order): the
    Hessian without the curvature of a_L in θ, so positive semi-definite wherever H_a is; on the
    output layer's block it is the Hessian itself."""
    J = parameter_jacobian(net, x)
    matrix = J.T @ output_hessian(net, x, target, loss) @ J
    check_finite("the Gauss–Newton matrix", [matrix])
    return np.asarray(matrix, dtype=np.float64)
