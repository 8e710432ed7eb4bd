"""`microbp explain --hessian`: the output layer's Hessian block from the engine beside the
notes' formula ∂²L/∂W_L[i,j]∂W_L[p,q] = H_a[i,p]·h_{L−1}[j]·h_{L−1}[q] (h ≡ 1 for biases)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from microbp.cli import output

if TYPE_CHECKING:
    from rich.console import RenderableType

    from microbp.comparison import Quantity
    from microbp.engine import Value
    from microbp.nn import MLP

#: Whether the engine and the formula agree: as `comparison.compare` judges gradients.
ATOL, RTOL = 1e-12, 1e-10


def output_layer_block(
    net: MLP, x: list[float], target: int | list[float], loss: str, L: Value
) -> Quantity:
    """The engine's ∂²L/∂θ_L∂θ_Lᵀ (θ_L = W_L row by row, then b_L), from the recorded reverse
    pass of the loss ``L`` of ``net`` on ``x``, beside the formula's."""
    from microbp import curvature
    from microbp.comparison import Quantity
    from microbp.second_order import hessian

    engine = hessian(L, net.layers[-1].parameters(), array=True)
    formula = curvature.output_layer_hessian(net, x, target, loss)
    return Quantity(f"θ{len(net.layers)}", engine, formula, ATOL, RTOL)


def as_json(block: Quantity) -> dict[str, Any]:
    return {
        "engine": block.engine.tolist(),
        "formula": block.formula.tolist(),
        "max_abs_diff": block.max_abs_diff,
        "ok": block.ok,
    }


#: What H_a = ∂²L/∂a_L² is, for an output and a loss.
H_A = {
    ("softmax", "cross_entropy"): "diag(ŷ) − ŷŷᵀ",
    ("linear", "squared_error"): "2·I",
}


def report(net: MLP, loss: str, block: Quantity) -> RenderableType:
    """Both matrices, one above the other, what H_a is, and the largest difference."""
    from rich.console import Group
    from rich.markup import escape

    k = len(net.layers)
    h = "x" if k == 1 else f"h{k - 1}"
    H_a = H_A.get((net.layers[-1].activation, loss), f"∂²L/∂a{k}², the chain rule twice")
    mark = "[green]✓[/]" if block.ok else "[bold red]✗ DIFFERENT[/]"
    return Group(
        f"[bold]Output layer's Hessian[/] ∂²L/∂θ{k}∂θ{k}ᵀ, θ{k} = (W{k} row by row, b{k}):",
        f"[bold]∂²L/∂θ{k}²[/] [dim](engine: derivatives of the recorded reverse pass)[/]",
        output.numbers(block.engine, "cyan"),
        f"[bold]{escape(f'H_a[i,p]·{h}[j]·{h}[q]')}[/] "
        f"[dim](formula; h ≡ 1 for biases, H_a = {H_a})[/]",
        output.numbers(block.formula, "green"),
        f"largest |engine − formula| in the block: {block.max_abs_diff:.3g} {mark}",
        "",
    )
