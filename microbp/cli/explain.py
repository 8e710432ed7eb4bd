"""`microbp explain`: one forward and backward pass, the engine's gradients beside the formulas'."""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from microbp import nn
from microbp.cli import hessian_block, output
from microbp.cli.options import (
    EXIT_DISAGREE,
    EXIT_OK,
    OutputFault,
    UsageError,
    add_network_options,
    add_seed_option,
    finite_floats,
    output_path,
    whole_number,
)
from microbp.validate import LOSS_NAMES

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    from microbp.comparison import Comparison, LayerComparison, Quantity
    from microbp.engine import Value
    from microbp.nn import MLP

#: The losses by their command-line names (``--loss cross-entropy``) → the library's names.
LOSS_OPTIONS = {name.replace("_", "-"): name for name in LOSS_NAMES}


@dataclass
class Pass:
    """One forward and backward pass of ``net`` on ``x``, with the loss ``L`` it ends in."""

    net: MLP
    x: list[float]
    target: int | list[float]
    loss: str
    L: Value


def chosen_loss(args: argparse.Namespace) -> str:
    """The loss's command-line name: as given, else squared error when a target vector or a
    linear output says so, else cross-entropy."""
    if args.loss is not None:
        return str(args.loss)
    if args.target is not None or args.output == "linear":
        return "squared-error"
    return "cross-entropy"


def target_of(args: argparse.Namespace, loss: str) -> int | list[float]:
    """The label (cross-entropy) or target vector (squared error), checked against the sizes."""
    n_out = args.sizes[-1]
    if loss == "cross-entropy":
        if args.output != "softmax":
            raise UsageError(
                "--loss cross-entropy needs --output softmax (ŷ must be probabilities)"
            )
        if args.target is not None:
            raise UsageError("--target goes with --loss squared-error; use --label ℓ here")
        if n_out < 2:
            raise UsageError(
                "--sizes ends in 1 output: a softmax over one output is always 1, so "
                "cross-entropy and every gradient are 0; use at least 2 outputs"
            )
        label = 0 if args.label is None else args.label
        if not 0 <= label < n_out:
            raise UsageError(
                f"--label {label} is out of range: the network has {n_out} outputs, "
                f"so use 0 to {n_out - 1}"
            )
        return int(label)
    if args.label is not None:
        raise UsageError("--label goes with --loss cross-entropy; use --target t1,… here")
    target: list[float] = [1.0] + [0.0] * (n_out - 1) if args.target is None else args.target
    if len(target) != n_out:
        raise UsageError(
            f"--target has {len(target)} values but the network has {n_out} outputs "
            f"(the last of --sizes)"
        )
    return target


def input_of(args: argparse.Namespace) -> list[float]:
    """--x, checked against the sizes, or an input drawn from the seed."""
    n_in = args.sizes[0]
    if args.x is None:
        rng = random.Random(args.seed)
        return [round(rng.uniform(-1.0, 1.0), 2) for _ in range(n_in)]
    if len(args.x) != n_in:
        raise UsageError(
            f"--x has {len(args.x)} values but the network has {n_in} inputs (the first of --sizes)"
        )
    return list(args.x)


def run_pass(args: argparse.Namespace) -> Pass:
    """Build the network ``args`` describe, run forward and backward, return everything."""
    option = chosen_loss(args)
    loss, target = LOSS_OPTIONS[option], target_of(args, option)
    try:
        net = nn.MLP(args.sizes, hidden=args.hidden, output=args.output, seed=args.seed)
    except ValueError as error:  # e.g. more parameters than the engine is built for
        raise UsageError(f"--sizes: {error}") from None
    x = input_of(args)
    try:
        L = nn.loss_of(loss, net(x), target)
        L.backward()
    except (ValueError, ArithmeticError) as error:
        raise UsageError(f"the forward pass failed on --x {x}: {error}") from None
    return Pass(net, x, target, loss, L)


def as_json(run: Pass, report: Comparison, block: Quantity | None = None) -> str:
    """The pass and the comparison as one JSON document: every quantity `compare` checked."""

    def pair(grads: Quantity) -> dict[str, list[float]]:
        return {"engine": grads.engine.tolist(), "formula": grads.formula.tolist()}

    document = {
        "max_abs_diff": float(report.max_abs_diff),
        "ok": bool(report.ok),
        "sizes": run.net.sizes,
        "x": run.x,
        "label" if run.loss == "cross_entropy" else "target": run.target,
        "y_hat": [h.data for h in run.net.layers[-1].h],
        "L": run.L.data,
        "layers": [
            {
                "k": layer.k,
                "grad_W": pair(layer.grad_W),
                "grad_b": pair(layer.grad_b),
                "grad_a": pair(layer.grad_a),
                "grad_h": pair(layer.grad_h),
            }
            for layer in report.layers
        ],
        "grad_x": pair(report.grad_x),
    }
    if block is not None:
        document["output_layer_hessian"] = hessian_block.as_json(block)
    return json.dumps(document, indent=2)


def layer_report(layer: LayerComparison, h_prev: list[float], console: Console) -> RenderableType:
    """Layer k: ∇W_k from the engine beside ∇a_k·h_{k-1}ᵀ, ∇b_k beside ∇a_k, the largest gap.

    When a pair does not fit side by side on the console, each pair is shown one above the
    other instead, every row of a matrix on one line, however long.
    """
    from rich.columns import Columns
    from rich.console import Group
    from rich.table import Table

    k = layer.k
    h = "x" if k == 1 else f"h{k - 1}"

    def side_by_side(engine_title: str, formula_title: str, grads: Quantity) -> Table:
        table = Table(box=None, padding=(0, 2, 0, 0))
        table.add_column(f"{engine_title} [dim](engine)[/]")
        table.add_column(f"{formula_title} [dim](formula)[/]")
        table.add_row(output.numbers(grads.engine, "cyan"), output.numbers(grads.formula, "green"))
        return table

    def one_above_the_other(engine_title: str, formula_title: str, grads: Quantity) -> Group:
        return Group(
            f"[bold]{engine_title}[/] [dim](engine)[/]",
            output.numbers(grads.engine, "cyan"),
            f"[bold]{formula_title}[/] [dim](formula)[/]",
            output.numbers(grads.formula, "green"),
        )

    pairs = [
        (f"∇W{k} L", f"∇a{k} L · {h}ᵀ", layer.grad_W),
        (f"∇b{k} L", f"∇a{k} L", layer.grad_b),
    ]
    # A table's width is the widest row of each matrix (a row: 9 characters a number, 2 between
    # numbers) plus the 2 columns of padding after each; titles are narrower than 2 numbers.
    widest = max(2 * (11 * max(grads.engine[0].size, 2) - 2 + 2) for *_, grads in pairs)
    if widest <= console.width:
        matrices: RenderableType = Columns([side_by_side(*pair) for pair in pairs], padding=(0, 4))
    else:
        matrices = Group(*(one_above_the_other(*pair) for pair in pairs))

    shown = (layer.grad_W, layer.grad_b)
    diff = max(q.max_abs_diff for q in shown)
    mark = "[green]✓[/]" if all(q.ok for q in shown) else "[bold red]✗ DIFFERENT[/]"
    h_values = ", ".join(output.fixed(v, ".6g") for v in h_prev)
    grad_a1, h1 = float(layer.grad_a.formula[0]), h_prev[0]
    entry = (
        f"entry by entry, ∂L/∂W{k}[1,1] = ∂L/∂a{k}[1] · {h}[1] = "
        f"{output.fixed(grad_a1, '.6f')} × {output.fixed(h1, '.6f')} = "
        f"{output.fixed(grad_a1 * h1, '.6f')}"
    )
    return Group(
        f"[bold]Layer {k}[/]: a{k} = b{k} + W{k}·{h}, with {h} = ({h_values})",
        matrices,
        entry,
        f"largest |engine − formula| in layer {k}: {diff:.3g} {mark}",
        "",
    )


def header(args: argparse.Namespace, loss: str) -> str:
    """The network and the loss in one line; no hidden activation for a network with none."""
    arrows = " → ".join(map(str, args.sizes))
    hidden = f"hidden {args.hidden}, " if len(args.sizes) > 2 else ""
    return f"[bold]MLP {arrows}[/], {hidden}output {args.output}, loss {loss}, seed {args.seed}"


def run(args: argparse.Namespace) -> int:
    """One forward and backward pass; every layer's gradients from the engine and the formulas."""
    from microbp import comparison

    done = run_pass(args)
    report = comparison.compare(done.net, done.x, done.target, loss=done.loss)
    block = (
        hessian_block.output_layer_block(done.net, done.x, done.target, done.loss, done.L)
        if args.hessian
        else None
    )
    agree = report.ok and (block is None or block.ok)
    write_pictures(args, done)
    if args.json:
        print(as_json(done, report, block))
        return EXIT_OK if agree else EXIT_DISAGREE

    console = output.console()
    target = (
        f"label {done.target} (the notes' ℓ = {done.target + 1})"
        if isinstance(done.target, int)
        else f"target {done.target}"
    )
    console.print(header(args, chosen_loss(args)))
    y_hat = ", ".join(output.fixed(h.data, ".6f") for h in done.net.layers[-1].h)
    console.print(f"x = {done.x}, {target}: ŷ = ({y_hat}), L = {output.fixed(done.L.data, '.6f')}")
    console.print()
    for layer, net_layer in zip(report.layers, done.net.layers):
        h_prev = [v.data for v in net_layer.h_prev]
        console.print(layer_report(layer, h_prev, console), crop=False, overflow="ignore")
    verdict = "every entry agrees" if report.ok else "the engine and the formulas DISAGREE"
    style = "green" if report.ok else "bold red"
    console.print(
        f"[{style}]{verdict}[/] (∇W_k, ∇b_k, ∇a_k, ∇h_k of every layer and ∇x): "
        f"largest |engine − formula| = {report.max_abs_diff:.3g}"
    )
    if block is not None:
        console.print()
        console.print(hessian_block.report(done.net, done.loss, block), crop=False)
    if args.svg is not None:
        console.print(f"wrote the graph of L to {args.svg}")
    if args.html is not None:
        console.print(f"wrote the explorer page of this pass to {args.html}")
    return EXIT_OK if agree else EXIT_DISAGREE


@contextmanager
def picture_errors(option: str, L: Value, path: Path) -> Iterator[None]:
    """The ways writing a picture of ``L`` to ``path`` fails, each as one clear line."""
    from microbp import drawing, graph
    from microbp.engine import topological_order

    try:
        yield
    except graph.GraphvizNotFoundError:
        raise UsageError(
            f"{option} needs Graphviz's `dot` program; install it (e.g. apt-get install graphviz)"
        ) from None
    except drawing.GraphTooLargeError:
        raise UsageError(
            f"{option}: the graph of L has {len(topological_order(L))} nodes, more than the "
            f"{drawing.MAX_NODES} it is drawn with; use smaller --sizes"
        ) from None
    except graph.GraphvizError as error:
        raise UsageError(f"{option}: {error}") from None
    except (OSError, ValueError) as error:  # ValueError: the path became a FIFO meanwhile
        reason = getattr(error, "strerror", None) or error
        raise OutputFault(f"cannot write {str(path)!r}: {reason}") from None


def write_pictures(args: argparse.Namespace, done: Pass) -> None:
    """--svg: the graph of L; --html: the explorer page of the pass."""
    if args.svg is not None:
        from microbp import graph

        with picture_errors("--svg", done.L, args.svg):
            graph.render_svg(done.L, args.svg)
    if args.html is not None:
        from microbp import explorer

        with picture_errors("--html", done.L, args.html):
            explorer.write_html(done.net, done.x, done.target, args.html, loss=done.loss)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `explain` subcommand's options."""
    p = subparsers.add_parser(
        "explain",
        help="one forward and backward pass: the engine's gradients beside the notes' formulas",
        description="Build an MLP, run one forward and backward pass, and print for every layer "
        "k the engine's ∇W_k L beside ∇a_k L · h_{k-1}ᵀ and ∇b_k L beside ∇a_k L. "
        "Exit status 0 when every entry agrees, 1 when not.",
    )
    add_network_options(p, [3, 3, 3, 2], "N0,N1,…", "layer sizes, inputs first", "sigmoid")
    p.add_argument(
        "--output",
        choices=nn.OUTPUT_ACTIVATIONS,
        default="softmax",
        help="output activation (default softmax)",
    )
    p.add_argument(
        "--loss",
        choices=tuple(LOSS_OPTIONS),
        help="loss (default cross-entropy; squared-error with --target or --output linear)",
    )
    add_seed_option(p, "the weights and the default input")
    p.add_argument(
        "--x",
        type=finite_floats,
        metavar="V1,V2,…",
        help="the input, one value per input unit (default: drawn from the seed)",
    )
    target = p.add_mutually_exclusive_group()
    target.add_argument(
        "--label",
        type=whole_number(0),
        metavar="ℓ",
        help="true class for cross-entropy, counting from 0 (default 0)",
    )
    target.add_argument(
        "--target",
        type=finite_floats,
        metavar="T1,T2,…",
        help="target vector for squared error (default 1,0,…,0)",
    )
    p.add_argument(
        "--svg", type=output_path, metavar="PATH", help="also write the graph of L as an SVG file"
    )
    p.add_argument(
        "--html",
        type=output_path,
        metavar="PATH",
        help="also write the explorer: one self-contained interactive HTML page of this pass",
    )
    p.add_argument(
        "--hessian",
        action="store_true",
        help="also the output layer's Hessian block from the engine beside H_a[i,p]·h[j]·h[q]",
    )
    p.add_argument("--json", action="store_true", help="print one JSON document instead of tables")
    p.set_defaults(run=run)
