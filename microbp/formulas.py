"""The notes' matrix formulas in numpy, and their entry-by-entry comparison with the engine.

A second, independent implementation of forward and backward: whole vectors and matrices,
no `Value`s. Column vectors are 1-D arrays; ``a[k-1]`` is a_k and ``h[k]`` is h_k (h_0 = x).

    ∇a_L = ŷ − e(ℓ)  (softmax + cross-entropy)    ∇W_k = ∇a_k h_{k-1}ᵀ    ∇b_k = ∇a_k
    ∇h_{k-1} = W_kᵀ ∇a_k                           ∇a_{k-1} = ∇h_{k-1} ⊙ g'(a_{k-1})

`compare` runs the scalar engine and these formulas on the same network and input and sets
every entry of ∇W_k, ∇b_k, ∇a_k, ∇h_k (and ∇x) side by side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from microbp.engine import Value, zero_grad
from microbp.nn import ACTIVATIONS, LOSSES, MLP, check_label, check_loss, check_target

QUANTITIES = ("grad_a", "grad_h", "grad_W", "grad_b")


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
            [np.array(w, dtype=float, ndmin=2) for w in W],
            [np.array(v, dtype=float, ndmin=1) for v in b],
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
    return np.where(a >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))


def activation(name: str, a: np.ndarray) -> np.ndarray:
    """h = g(a) for the activation ``name``; softmax is stabilised by subtracting max(a)."""
    if name == "sigmoid":
        return sigmoid(a)
    if name == "tanh":
        return np.tanh(a)
    if name == "relu":
        return np.maximum(a, 0.0)
    if name == "linear":
        return a.copy()
    if name == "softmax":
        e = np.exp(a - a.max())
        return e / e.sum()
    raise ValueError(f"unknown activation {name!r}; choose from {ACTIVATIONS}")


def activation_derivative(name: str, a: np.ndarray) -> np.ndarray:
    """g'(a) entry by entry, for the elementwise activations (not softmax, whose Jacobian is full).

    relu'(0) is taken as 0, as the engine does.
    """
    if name == "sigmoid":
        s = sigmoid(a)
        return s * (1.0 - s)
    if name == "tanh":
        return 1.0 - np.tanh(a) ** 2
    if name == "relu":
        return (a > 0.0).astype(float)
    if name == "linear":
        return np.ones_like(a)
    raise ValueError(f"g'(a) is a vector only for elementwise activations, not {name!r}")


def backprop_activation(name: str, a: np.ndarray, grad_h: np.ndarray) -> np.ndarray:
    """∇a = (∂h/∂a)ᵀ ∇h: ∇h ⊙ g'(a), or for softmax ŷ ⊙ (∇h − ŷ·∇h)."""
    if name == "softmax":
        y_hat = activation("softmax", a)
        return y_hat * (grad_h - y_hat @ grad_h)
    return grad_h * activation_derivative(name, a)


@dataclass(frozen=True)
class Forward:
    """The forward pass: ``a[k-1]`` is a_k, ``h[k]`` is h_k, with h[0] = x and h[L] = ŷ."""

    a: list[np.ndarray]
    h: list[np.ndarray]


def forward(net: MLP | Network, x: Sequence[float]) -> Forward:
    """a_k = b_k + W_k h_{k-1}, h_k = g_k(a_k), for k = 1..L."""
    network = as_network(net)
    h = [np.array(_as_numbers(x), dtype=float)]
    if h[0].shape != (network.W[0].shape[1],):
        raise ValueError(f"the network takes {network.W[0].shape[1]} inputs, got {len(h[0])}")
    a = []
    for W, b, g in zip(network.W, network.b, network.activations):
        a.append(b + W @ h[-1])
        h.append(activation(g, a[-1]))
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


def backward(
    net: MLP | Network,
    x: Sequence[float],
    target: int | Sequence[float],
    loss: str = "cross_entropy",
) -> Gradients:
    """The notes' backward pass in matrix form.

    ``target`` is a 0-based label for cross-entropy, a vector y for squared error.
    ∇h_L is −e(ℓ)/ŷ_ℓ for cross-entropy and 2(ŷ − y) for squared error; with a softmax output
    and cross-entropy ∇a_L is the notes' ŷ − e(ℓ), otherwise ∇a_L = (∂h_L/∂a_L)ᵀ ∇h_L.
    """
    check_loss(loss)
    network = as_network(net)
    fw = forward(network, x)
    y_hat = fw.h[-1]
    if loss == "cross_entropy":
        label = check_label(target, len(y_hat))
        if y_hat[label] <= 0.0:
            raise ValueError(f"cross-entropy needs ŷ[{label}] > 0, got {y_hat[label]!r}")
        e_label = np.zeros_like(y_hat)
        e_label[label] = 1.0
        grad_h = -e_label / y_hat[label]
        if network.activations[-1] == "softmax":
            grad_a = y_hat - e_label
        else:
            grad_a = backprop_activation(network.activations[-1], fw.a[-1], grad_h)
    else:
        y = np.array(check_target(_as_numbers(target), len(y_hat)))
        grad_h = 2.0 * (y_hat - y)
        grad_a = backprop_activation(network.activations[-1], fw.a[-1], grad_h)
    n_layers = len(network.W)
    layers: list[LayerGradients] = []
    for k in range(n_layers, 0, -1):
        W, h_prev = network.W[k - 1], fw.h[k - 1]
        layers.append(LayerGradients(k, grad_a, grad_h, np.outer(grad_a, h_prev), grad_a.copy()))
        grad_h = W.T @ grad_a  # ∇h_{k-1}
        if k > 1:
            grad_a = backprop_activation(network.activations[k - 2], fw.a[k - 2], grad_h)
    return Gradients(layers[::-1], grad_h)


def _as_numbers(x: Sequence[float | Value] | int) -> Sequence[float] | int:
    if isinstance(x, Sequence):
        return [v.data if isinstance(v, Value) else v for v in x]
    return x


def engine_gradients(
    net: MLP, x: Sequence[float], target: int | Sequence[float], loss: str = "cross_entropy"
) -> Gradients:
    """One forward and backward pass of the scalar engine, its grads gathered into arrays.

    The parameters' grads are zeroed first, so afterwards they hold exactly this pass's.
    """
    check_loss(loss)
    if not isinstance(net, MLP):
        raise TypeError(
            f"the engine side needs a microbp MLP, got {type(net).__name__}; "
            "build one from arrays with MLP.from_weights"
        )
    L = LOSSES[loss](net(_as_numbers(x)), target)
    zero_grad(net.parameters())  # only now: a pass that fails leaves the grads as they were
    L.backward()

    def grads(values: Sequence[Value]) -> np.ndarray:
        return np.array([v.grad for v in values])

    layers = [
        LayerGradients(
            layer.k,
            grads(layer.a),
            grads(layer.h),
            np.array([[w.grad for w in row] for row in layer.W]),
            grads(layer.b),
        )
        for layer in net.layers
    ]
    return Gradients(layers, grads(net.layers[0].h_prev))


# ---- the comparison ----


@dataclass(frozen=True)
class Quantity:
    """One gradient, e.g. ∇W_2, from both sides: ``engine`` and ``formula`` arrays."""

    symbol: str  # the notes' name of the quantity: "W2", "b2", "a2", "h2", "x"
    engine: np.ndarray
    formula: np.ndarray
    atol: float
    rtol: float

    def __post_init__(self) -> None:
        if self.engine.shape != self.formula.shape:
            raise ValueError(
                f"∇{self.symbol} has shape {self.engine.shape} from the engine but "
                f"{self.formula.shape} from the formulas: not the same network"
            )

    @property
    def max_abs_diff(self) -> float:
        """max_i |engine_i − formula_i|."""
        return float(np.max(np.abs(self.engine - self.formula), initial=0.0))

    @property
    def max_rel_diff(self) -> float:
        """max_i |engine_i − formula_i| / max(|engine_i|, |formula_i|) over the entries larger
        than ``atol``; smaller ones are zeros up to rounding, judged by the absolute difference."""
        scale = np.maximum(np.abs(self.engine), np.abs(self.formula))
        large = scale > self.atol
        if not large.any():
            return 0.0
        return float(np.max(np.abs(self.engine - self.formula)[large] / scale[large]))

    @property
    def tolerance(self) -> float:
        """``atol + rtol · max|formula|``: how far an entry may be from the other side."""
        return self.atol + self.rtol * float(np.max(np.abs(self.formula), initial=0.0))

    @property
    def ok(self) -> bool:
        """Every entry within `tolerance` of the other side."""
        return self.max_abs_diff <= self.tolerance

    def entries(self) -> list[tuple[str, float, float]]:
        """(label, engine, formula) for every entry, labelled as the notes do: ``∇W2[1,3]``.

        Adding 0.0 turns a −0.0 into 0.0, so zeros print alike on both sides.
        """
        rows = []
        for index in np.ndindex(self.formula.shape):
            label = f"∇{self.symbol}[{','.join(str(i + 1) for i in index)}]"
            rows.append((label, float(self.engine[index]) + 0.0, float(self.formula[index]) + 0.0))
        return rows

    def format(self, max_entries: int | None = 24) -> str:
        """A heading line, then up to ``max_entries`` entries side by side (all if None)."""
        verdict = "ok" if self.ok else "MISMATCH"
        lines = [
            f"  ∇{self.symbol}: max |diff| {self.max_abs_diff:.3g}, "
            f"max rel {self.max_rel_diff:.3g}  {verdict}"
        ]
        rows = self.entries()
        shown = rows if max_entries is None else rows[:max_entries]
        tolerance = self.tolerance
        for label, e, f in shown:
            mark = "" if abs(e - f) <= tolerance else "  <-- differs"
            lines.append(f"    {label:<12} engine {e: .17g}  formula {f: .17g}{mark}")
        if len(shown) < len(rows):
            lines.append(f"    … and {len(rows) - len(shown)} more entries")
        return "\n".join(lines)


@dataclass(frozen=True)
class LayerComparison:
    """Layer k's ∇a_k, ∇h_k, ∇W_k, ∇b_k, each as a `Quantity`."""

    k: int
    grad_a: Quantity
    grad_h: Quantity
    grad_W: Quantity
    grad_b: Quantity

    def quantities(self) -> list[Quantity]:
        return [getattr(self, name) for name in QUANTITIES]


@dataclass(frozen=True)
class Comparison:
    """The engine's gradients against the formulas', layer by layer, with ∇x."""

    layers: list[LayerComparison]
    grad_x: Quantity

    def quantities(self) -> list[Quantity]:
        return [q for layer in self.layers for q in layer.quantities()] + [self.grad_x]

    @property
    def ok(self) -> bool:
        return all(q.ok for q in self.quantities())

    @property
    def max_abs_diff(self) -> float:
        return max(q.max_abs_diff for q in self.quantities())

    @property
    def max_rel_diff(self) -> float:
        return max(q.max_rel_diff for q in self.quantities())

    def format(self, max_entries: int | None = 24) -> str:
        """The verdict, then per layer every quantity's entries side by side."""
        verdict = "agree" if self.ok else "DISAGREE"
        lines = [
            f"scalar engine vs matrix formulas: {verdict} "
            f"(max |diff| {self.max_abs_diff:.3g}, max rel diff {self.max_rel_diff:.3g})"
        ]
        for layer in reversed(self.layers):
            lines.append(f"layer {layer.k}")
            lines.extend(q.format(max_entries) for q in layer.quantities())
        lines.append("input")
        lines.append(self.grad_x.format(max_entries))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()


def compare_gradients(
    engine: Gradients, formula: Gradients, *, atol: float = 1e-12, rtol: float = 1e-10
) -> Comparison:
    """Set two sets of gradients of the same network side by side."""
    if len(engine.layers) != len(formula.layers):
        raise ValueError(
            f"the gradients are of different networks: {len(engine.layers)} layers "
            f"and {len(formula.layers)}"
        )
    layers = []
    for e, f in zip(engine.layers, formula.layers):
        symbols = {
            "grad_a": f"a{f.k}",
            "grad_h": f"h{f.k}",
            "grad_W": f"W{f.k}",
            "grad_b": f"b{f.k}",
        }
        quantities = {
            name: Quantity(symbols[name], getattr(e, name), getattr(f, name), atol, rtol)
            for name in QUANTITIES
        }
        layers.append(LayerComparison(f.k, **quantities))
    return Comparison(layers, Quantity("x", engine.grad_x, formula.grad_x, atol, rtol))


def compare(
    net: MLP,
    x: Sequence[float],
    target: int | Sequence[float],
    loss: str = "cross_entropy",
    *,
    atol: float = 1e-12,
    rtol: float = 1e-10,
) -> Comparison:
    """Run the scalar engine and the matrix formulas on ``net`` at ``x``; compare every entry.

    ``target`` is a 0-based label for cross-entropy, a vector for squared error. Entries agree
    when within ``atol + rtol · max|entry|`` of their quantity. The network's parameters are
    left holding this pass's grads.
    """
    return compare_gradients(
        engine_gradients(net, x, target, loss), backward(net, x, target, loss), atol=atol, rtol=rtol
    )
