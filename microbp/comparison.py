"""The scalar engine's gradients set entry by entry beside the notes' matrix formulas.

`compare` runs both on the same network, input and target; every entry of ∇W_k, ∇b_k, ∇a_k,
∇h_k and ∇x becomes a `Quantity` with its two values. `check_formulas` does the same for each
formula of the notes that `microbp verify` reports, the SGD update included.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from microbp.engine import Value, zero_grad
from microbp.formulas import Gradients, LayerGradients, Network, as_numbers, gradients
from microbp.nn import MLP, SGD, loss_of
from microbp.validate import check_loss, check_number

QUANTITIES = ("grad_a", "grad_h", "grad_W", "grad_b")


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
    L = loss_of(loss, net(as_numbers(x)), target)
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
    for name, tolerance in (("atol", atol), ("rtol", rtol)):
        if check_number(tolerance, name) < 0.0:
            raise ValueError(f"{name} must be ≥ 0 (a tolerance), got {tolerance!r}")
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
        engine_gradients(net, x, target, loss),
        gradients(net, x, target, loss),
        atol=atol,
        rtol=rtol,
    )


#: The formulas of the notes that `check_formulas` checks, in the order of the backward pass.
FORMULAS = {
    "loss": "∇ŷ L = −e(ℓ)/ŷ_ℓ or 2(ŷ − y)",
    "output": "∇a_L L = ŷ − e(ℓ) (softmax+CE)",
    "output_chain": "∇a_L L = (∂ŷ/∂a_L)ᵀ ∇ŷ L",
    "grad_W": "∇W_k L = ∇a_k L · h_{k-1}ᵀ",
    "grad_b": "∇b_k L = ∇a_k L",
    "grad_h": "∇h_{k-1} L = W_kᵀ ∇a_k L",
    "grad_a": "∇a_k L = ∇h_k L ⊙ g'(a_k)",
    "update_W": "W_k ← W_k − η ∇W_k L",
    "update_b": "b_k ← b_k − η ∇b_k L",
}


def check_formulas(
    net: MLP, x: Sequence[float], target: int | Sequence[float], loss: str, lr: float
) -> dict[str, list[Quantity]]:
    """Every formula of `FORMULAS` that applies to this network, as the quantities it relates.

    The output layer's ∇a_L is checked as ŷ − e(ℓ) for softmax with cross-entropy, through the
    chain rule otherwise. Ends with one SGD step of rate ``lr``, which changes ``net``.
    """
    report = compare(net, x, target, loss)
    *hidden, last = report.layers
    softmax_ce = loss == "cross_entropy" and net.output == "softmax"
    found = {
        "loss": [last.grad_h],
        "output" if softmax_ce else "output_chain": [last.grad_a],
        "grad_W": [layer.grad_W for layer in report.layers],
        "grad_b": [layer.grad_b for layer in report.layers],
        "grad_h": [layer.grad_h for layer in hidden] + [report.grad_x],
        "grad_a": [layer.grad_a for layer in hidden],
        "update_W": [],
        "update_b": [],
    }
    before = Network.from_mlp(net)
    SGD(net.parameters(), lr).step()  # the parameters hold the engine's gradients
    after = Network.from_mlp(net)
    for layer, W, W_new, b, b_new in zip(report.layers, before.W, after.W, before.b, after.b):
        k, grad_W, grad_b = layer.k, layer.grad_W, layer.grad_b
        found["update_W"].append(
            Quantity(f"W{k}", W_new, W - lr * grad_W.formula, grad_W.atol, grad_W.rtol)
        )
        found["update_b"].append(
            Quantity(f"b{k}", b_new, b - lr * grad_b.formula, grad_b.atol, grad_b.rtol)
        )
    return found
