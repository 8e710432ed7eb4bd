"""The notes' matrix formulas in numpy: forward and backward with whole vectors and matrices.

A second, independent implementation of forward and backward: whole vectors and matrices,
no `Value`s. Column vectors are 1-D arrays; ``a[k-1]`` is a_k and ``h[k]`` is h_k (h_0 = x).

    ∇a_L = ŷ − e(ℓ)  (softmax + cross-entropy)    ∇W_k = ∇a_k h_{k-1}ᵀ    ∇b_k = ∇a_k
    ∇h_{k-1} = W_kᵀ ∇a_k                           ∇a_{k-1} = ∇h_{k-1} ⊙ g'(a_{k-1})

`microbp.comparison` sets every entry of these gradients beside the scalar engine's;
`microbp.curvature` builds the notes' second-order formulas on these.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np

from microbp.engine import Value
from microbp.nn import ACTIVATIONS, MLP
from microbp.validate import check_label, check_loss, check_number, check_target


def real_array(values: object, what: str, ndmin: int = 1) -> np.ndarray:
    """``values`` (numbers, nested lists of them, an array) as a float array, each entry held
    to `validate.check_number` as the scalar engine holds its data: a `TypeError` for bools,
    strings and other objects, a `ValueError` for NaN or ±inf."""
    entries = np.array(values, dtype=object, ndmin=ndmin)
    for index, v in np.ndenumerate(entries):
        entries[index] = check_number(v, f"{what}[{', '.join(map(str, index))}]")
    return entries.astype(np.float64)


def check_finite(what: str, arrays: Sequence[np.ndarray]) -> None:
    """Refuse, as the engine does, numbers that overflowed a float on the way (an
    `OverflowError` naming ``what``)."""
    if not all(np.isfinite(array).all() for array in arrays):
        raise OverflowError(
            f"{what} of the matrix formulas overflows a float (a result is ±inf or NaN); "
            "scale the inputs, targets or weights down"
        )


def _check_probability(y_hat: np.ndarray, label: int) -> None:
    if y_hat[label] <= 0.0:
        raise ValueError(f"cross-entropy needs ŷ[{label}] > 0, got {y_hat[label]!r}")


@dataclass(frozen=True)
class Network:
    """A network as plain arrays: W[k-1] is W_k (n_k × n_{k-1}), b[k-1] is b_k, and g_k."""

    W: list[np.ndarray]
    b: list[np.ndarray]
    activations: list[str]

    def __post_init__(self) -> None:
        if not (len(self.W) == len(self.b) == len(self.activations) >= 1):
            raise ValueError(
                "a Network needs one W, one b and one activation per layer, at least one layer; "
                f"got {len(self.W)}, {len(self.b)} and {len(self.activations)}"
            )
        for k, (W, b, g) in enumerate(zip(self.W, self.b, self.activations), start=1):
            for name, array in ((f"W{k}", W), (f"b{k}", b)):
                if not isinstance(array, np.ndarray) or array.dtype != np.float64:
                    raise TypeError(
                        f"{name} must be a float64 numpy array, got {type(array).__name__}; "
                        "build a Network from lists with Network.from_arrays"
                    )
                if not np.isfinite(array).all():
                    raise ValueError(f"{name} holds NaN or ±inf; a network's numbers are finite")
            if g not in ACTIVATIONS:
                raise ValueError(
                    f"unknown activation {g!r} of layer {k}; choose from {ACTIVATIONS}"
                )
            n_prev = self.W[k - 2].shape[0] if k > 1 else W.shape[-1] if W.ndim else 0
            if W.ndim != 2 or b.shape != (W.shape[0],) or W.shape[1] != n_prev:
                raise ValueError(
                    f"layer {k}: W{k} must be n_{k} × n_{k - 1} = ? × {n_prev} and b{k} of "
                    f"length n_{k}; got W{k} of shape {W.shape} and b{k} of shape {b.shape}"
                )

    @classmethod
    def from_arrays(
        cls, W: Sequence[object], b: Sequence[object], activations: Sequence[str]
    ) -> Network:
        """From nested lists or arrays of numbers."""
        return cls(
            [real_array(w, f"W{k}", ndmin=2) for k, w in enumerate(W, start=1)],
            [real_array(v, f"b{k}") for k, v in enumerate(b, start=1)],
            list(activations),
        )

    @classmethod
    def from_mlp(cls, net: MLP) -> Network:
        """The numbers of a microbp `MLP`, copied out of its `Value`s."""
        return cls.from_arrays(
            [[[w.data for w in row] for row in layer.W] for layer in net.layers],
            [[b.data for b in layer.b] for layer in net.layers],
            [layer.activation for layer in net.layers],
        )


def as_network(net: MLP | Network) -> Network:
    """A `Network` from a `Network` or a microbp `MLP`."""
    if isinstance(net, Network):
        return net
    if isinstance(net, MLP):
        return Network.from_mlp(net)
    raise TypeError(f"expected a microbp MLP or a formulas.Network, got {type(net).__name__}")


def sigmoid(a: np.ndarray) -> np.ndarray:
    """σ(a) elementwise, exp only ever of −|a|, so it never overflows."""
    e = np.exp(-np.abs(a))
    return np.asarray(np.where(a >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e)), dtype=np.float64)


def _softmax(a: np.ndarray) -> np.ndarray:
    e = np.exp(a - a.max())
    return np.asarray(e / e.sum(), dtype=np.float64)


def _sigmoid_derivative(a: np.ndarray) -> np.ndarray:
    s = sigmoid(a)
    return s * (1.0 - s)


#: h = g(a) for each activation; softmax is stabilised by subtracting max(a).
ACTIVATION_FUNCTIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sigmoid": sigmoid,
    "tanh": np.tanh,
    "relu": lambda a: np.maximum(a, 0.0),
    "linear": lambda a: a.copy(),
    "softmax": _softmax,
}

#: g'(a) for the elementwise activations (softmax's Jacobian is a full matrix); relu'(0) is
#: taken as 0, as the engine does.
ACTIVATION_DERIVATIVES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sigmoid": _sigmoid_derivative,
    "tanh": lambda a: 1.0 - np.tanh(a) ** 2,
    "relu": lambda a: (a > 0.0).astype(np.float64),
    "linear": np.ones_like,
}


def activation(name: str, a: np.ndarray) -> np.ndarray:
    """h = g(a) for the activation ``name``."""
    if name not in ACTIVATION_FUNCTIONS:
        raise ValueError(f"unknown activation {name!r}; choose from {ACTIVATIONS}")
    return ACTIVATION_FUNCTIONS[name](a)


def activation_derivative(name: str, a: np.ndarray) -> np.ndarray:
    """g'(a) entry by entry, for the elementwise activations (softmax's Jacobian is full)."""
    if name not in ACTIVATION_DERIVATIVES:
        raise ValueError(f"g'(a) is a vector only for elementwise activations, not {name!r}")
    return ACTIVATION_DERIVATIVES[name](a)


def backprop_activation(name: str, a: np.ndarray, grad_h: np.ndarray) -> np.ndarray:
    """∇a = (∂h/∂a)ᵀ ∇h: ∇h ⊙ g'(a), or for softmax ŷ ⊙ (∇h − ŷ·∇h)."""
    if name == "softmax":
        y_hat = activation("softmax", a)
        return np.asarray(y_hat * (grad_h - y_hat @ grad_h), dtype=np.float64)
    return np.asarray(grad_h * activation_derivative(name, a), dtype=np.float64)


@dataclass(frozen=True)
class Forward:
    """The forward pass: ``a[k-1]`` is a_k, ``h[k]`` is h_k, with h[0] = x and h[L] = ŷ."""

    a: list[np.ndarray]
    h: list[np.ndarray]


def forward(net: MLP | Network, x: Sequence[float]) -> Forward:
    """a_k = b_k + W_k h_{k-1}, h_k = g_k(a_k), for k = 1..L."""
    network = as_network(net)
    h = [real_array(as_numbers(x), "x")]
    if h[0].shape != (network.W[0].shape[1],):
        raise ValueError(f"the network takes {network.W[0].shape[1]} inputs, got {len(h[0])}")
    a = []
    with np.errstate(all="ignore"):  # an overflow is refused below, in the engine's words
        for W, b, g in zip(network.W, network.b, network.activations):
            a.append(b + W @ h[-1])
            h.append(activation(g, a[-1]))
    check_finite("the forward pass", [*a, *h])
    return Forward(a, h)


@dataclass(frozen=True)
class LayerGradients:
    """∇a_k L, ∇h_k L, ∇W_k L and ∇b_k L of layer k, as arrays."""

    k: int
    grad_a: np.ndarray
    grad_h: np.ndarray
    grad_W: np.ndarray
    grad_b: np.ndarray


@dataclass(frozen=True)
class Gradients:
    """Every layer's gradients (``layers[k-1]`` is layer k) and ∇x L = ∇h_0 L."""

    layers: list[LayerGradients]
    grad_x: np.ndarray


def gradients(
    net: MLP | Network,
    x: Sequence[float],
    target: int | Sequence[float],
    loss: str = "cross_entropy",
) -> Gradients:
    """The notes' backward pass in matrix form.

    ``target`` is a 0-based label for cross-entropy, a vector y for squared error.
    ∇h_L is −e(ℓ)/ŷ_ℓ for cross-entropy and 2(ŷ − y) for squared error; with a softmax output
    and cross-entropy ∇a_L is the notes' ŷ − e(ℓ), otherwise ∇a_L = (∂h_L/∂a_L)ᵀ ∇h_L. Where
    a softmax's ŷ_ℓ is below the smallest normal float, L is computed from a_L directly (as
    `nn.cross_entropy` does), ŷ is off the loss's path and ∇h_L is 0.
    """
    check_loss(loss)
    network = as_network(net)
    fw = forward(network, x)
    y_hat = fw.h[-1]
    with np.errstate(all="ignore"):  # an overflow is refused below, in the engine's words
        if loss == "cross_entropy":
            label = check_label(target, len(y_hat))
            softmax_output = network.activations[-1] == "softmax"
            if not softmax_output:
                _check_probability(y_hat, label)
            e_label = np.zeros_like(y_hat)
            e_label[label] = 1.0
            grad_h = -e_label / y_hat[label]
            if softmax_output and y_hat[label] < np.finfo(np.float64).tiny:
                grad_h = np.zeros_like(y_hat)  # L is taken from a_L directly: ŷ is off its path
            if softmax_output:
                grad_a = y_hat - e_label
            else:
                grad_a = backprop_activation(network.activations[-1], fw.a[-1], grad_h)
        else:
            y = np.array(check_target(as_numbers(target), len(y_hat)))
            grad_h = 2.0 * (y_hat - y)
            grad_a = backprop_activation(network.activations[-1], fw.a[-1], grad_h)
        n_layers = len(network.W)
        layers: list[LayerGradients] = []
        for k in range(n_layers, 0, -1):
            W, h_prev = network.W[k - 1], fw.h[k - 1]
            layers.append(
                LayerGradients(k, grad_a, grad_h, np.outer(grad_a, h_prev), grad_a.copy())
            )
            grad_h = W.T @ grad_a  # ∇h_{k-1}
            if k > 1:
                grad_a = backprop_activation(network.activations[k - 2], fw.a[k - 2], grad_h)
    check_finite(
        "the backward pass",
        [grad_h, *(q for layer in layers for q in (layer.grad_a, layer.grad_h, layer.grad_W))],
    )
    return Gradients(layers[::-1], grad_h)


def cross_entropy_of_logits(a_L: np.ndarray, label: int) -> float:
    """L = −log softmax(a_L)_label = log Σ_j e^(a_j − m) − (a_label − m), m = max_j a_j: finite
    however confident and wrong the prediction (ŷ_label may underflow to 0, L does not)."""
    a = real_array(a_L, "a_L")
    shifted = a - a.max()
    return float(np.log(np.exp(shifted).sum()) - shifted[check_label(label, len(a))])


def loss_value(
    net: MLP | Network, x: Sequence[float], target: int | Sequence[float], loss: str
) -> float:
    """L of the network at ``x``: cross-entropy from the logits for a softmax output (see
    `cross_entropy_of_logits`), −log ŷ_label otherwise, or the squared error Σ_i (ŷ_i − y_i)²."""
    check_loss(loss)
    network = as_network(net)
    fw = forward(network, x)
    y_hat = fw.h[-1]
    if loss == "squared_error":
        y = np.array(check_target(as_numbers(target), len(y_hat)))
        with np.errstate(over="ignore"):
            squared_error = np.array((y_hat - y) ** 2).sum()
        check_finite("the loss", [squared_error])
        return float(squared_error)
    label = check_label(target, len(y_hat))
    if network.activations[-1] == "softmax":
        return cross_entropy_of_logits(fw.a[-1], label)
    _check_probability(y_hat, label)
    return float(-np.log(y_hat[label]))


@overload
def as_numbers(x: Sequence[float | Value]) -> Sequence[float]: ...
@overload
def as_numbers(x: int) -> int: ...
def as_numbers(x: Sequence[float | Value] | int) -> Sequence[float] | int:
    """A target or input with any `Value` in it replaced by its data."""
    if isinstance(x, Sequence):
        return [v.data if isinstance(v, Value) else v for v in x]
    return x
