"""The `microbp` command: explain one backward pass, verify the notes' formulas, train a network.

Every bad argument ends with one line on stderr and exit status 2; a disagreement between the
engine and the formulas ends with exit status 1.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from microbp import nn, training

if TYPE_CHECKING:
    import numpy as np
    from rich.console import Console, RenderableType

    from microbp.engine import Value
    from microbp.nn import MLP

EXIT_OK, EXIT_DISAGREE, EXIT_USAGE = 0, 1, 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a shell reports a program its pipe reader left
#: The losses by their command-line names (``--loss cross-entropy``) → microbp.nn's names.
LOSSES = {name.replace("_", "-"): name for name in nn.LOSSES}
DATASETS = ("moons", "xor", "circles")


class UsageError(Exception):
    """A bad argument found after parsing, e.g. a label out of range for the chosen sizes."""


class _Parser(argparse.ArgumentParser):
    """argparse, but an error is one line on stderr (no usage dump) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


# ---- argument types: each turns the text into a value or raises one clear line ----


def _positive_ints(text: str) -> list[int]:
    example = "e.g. 3,3,3,2"
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a list of positive integers separated by commas, {example}"
        ) from None
    if any(n < 1 for n in sizes):
        raise argparse.ArgumentTypeError(f"every size must be at least 1, got {text!r}, {example}")
    if len(sizes) < 2:
        raise argparse.ArgumentTypeError(
            f"need at least two sizes (inputs and outputs), got {text!r}, {example}"
        )
    return sizes


def _finite_float(text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(number):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return number


def _finite_floats(text: str) -> list[float]:
    return [_finite_float(part) for part in text.split(",")]


def _positive_float(text: str) -> float:
    number = _finite_float(text)
    if number <= 0.0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
    return number


def _count(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if n < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {n}")
        return n

    return parse


def _output_path(text: str) -> Path:
    """A path a file can be written to, found out by trying before any work (nothing is left)."""
    path = Path(text)
    if not text:
        raise argparse.ArgumentTypeError("the path is empty; give a file name")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a directory; give a file name")
    if not path.parent.exists():
        raise argparse.ArgumentTypeError(f"the directory {str(path.parent)!r} does not exist")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"{str(path.parent)!r} is a file, not a directory")
    existed = path.exists()
    try:
        with open(path, "ab"):
            pass
    except OSError as error:
        raise argparse.ArgumentTypeError(f"cannot write {text!r}: {error.strerror}") from None
    if not existed:
        path.unlink()
    return path


# ---- output helpers ----


def _count_of(n: int, thing: str) -> str:
    """``1 point``, ``2 points``."""
    return f"{n} {thing}" if n == 1 else f"{n} {thing}s"


def _console() -> Console:
    """Rich console on stdout: colour on a terminal, plain text when piped."""
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:  # rich would exit with status 1, our "disagree"
            raise BrokenPipeError

    return _Console(highlight=False, soft_wrap=True)


def _numbers(values: np.ndarray, style: str) -> RenderableType:
    """A vector or matrix as aligned columns of numbers (a vector is shown as a column)."""
    from rich.text import Text

    rows = values.reshape(values.shape[0], -1)
    lines = ["  ".join(f"{v: .6f}" for v in row) for row in rows]
    return Text("\n".join(lines), style=style, no_wrap=True)


# ---- explain ----


@dataclass
class Pass:
    """One forward and backward pass of ``net`` on ``x``, with the loss ``L`` it ends in."""

    net: MLP
    x: list[float]
    target: int | list[float]
    loss: str
    L: Value


def _explain_target(args: argparse.Namespace) -> int | list[float]:
    """The label (cross-entropy) or target vector (squared error), checked against the sizes."""
    n_out = args.sizes[-1]
    if args.loss == "cross-entropy":
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
        return label
    if args.label is not None:
        raise UsageError("--label goes with --loss cross-entropy; use --target t1,… here")
    target = [1.0] + [0.0] * (n_out - 1) if args.target is None else args.target
    if len(target) != n_out:
        raise UsageError(
            f"--target has {len(target)} values but the network has {n_out} outputs "
            f"(the last of --sizes)"
        )
    return target


def _explain_input(args: argparse.Namespace) -> list[float]:
    n_in = args.sizes[0]
    if args.x is None:
        rng = random.Random(args.seed)
        return [round(rng.uniform(-1.0, 1.0), 2) for _ in range(n_in)]
    if len(args.x) != n_in:
        raise UsageError(
            f"--x has {len(args.x)} values but the network has {n_in} inputs (the first of --sizes)"
        )
    return args.x


def run_pass(args: argparse.Namespace) -> Pass:
    """Build the network ``args`` describe, run forward and backward, return everything."""

    target = _explain_target(args)
    x = _explain_input(args)
    net = nn.MLP(args.sizes, hidden=args.hidden, output=args.output, seed=args.seed)
    try:
        y_hat = net(x)
        L = nn.LOSSES[LOSSES[args.loss]](y_hat, target)
        L.backward()
    except (ValueError, ArithmeticError) as error:
        raise UsageError(f"the forward pass failed on --x {x}: {error}") from None
    return Pass(net, x, target, LOSSES[args.loss], L)


def _explain_json(run: Pass, report: Any) -> str:
    """The pass and the comparison as one JSON document: every quantity `compare` checked."""

    def pair(grads: Any) -> dict[str, list]:
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
    return json.dumps(document, indent=2)


def _explain_layer(layer: Any, h_prev: list[float], console: Console) -> RenderableType:
    """Layer k: ∇W_k from the engine beside ∇a_k·h_{k-1}ᵀ, ∇b_k beside ∇a_k, the largest gap.

    When a pair does not fit side by side on the console, each pair is shown one above the
    other instead, every row of a matrix on one line, however long.
    """
    from rich.columns import Columns
    from rich.console import Group
    from rich.table import Table

    k = layer.k
    h = "x" if k == 1 else f"h{k - 1}"

    def side_by_side(engine_title: str, formula_title: str, grads: Any) -> Table:
        table = Table(box=None, padding=(0, 2, 0, 0))
        table.add_column(f"{engine_title} [dim](engine)[/]")
        table.add_column(f"{formula_title} [dim](formula)[/]")
        table.add_row(_numbers(grads.engine, "cyan"), _numbers(grads.formula, "green"))
        return table

    def one_above_the_other(engine_title: str, formula_title: str, grads: Any) -> Group:
        return Group(
            f"[bold]{engine_title}[/] [dim](engine)[/]",
            _numbers(grads.engine, "cyan"),
            f"[bold]{formula_title}[/] [dim](formula)[/]",
            _numbers(grads.formula, "green"),
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
    h_values = ", ".join(f"{v:.6g}" for v in h_prev)
    grad_a1, h1 = float(layer.grad_a.formula[0]), h_prev[0]
    entry = (
        f"entry by entry, ∂L/∂W{k}[1,1] = ∂L/∂a{k}[1] · {h}[1] = "
        f"{grad_a1:.6f} × {h1:.6f} = {grad_a1 * h1:.6f}"
    )
    return Group(
        f"[bold]Layer {k}[/]: a{k} = b{k} + W{k}·{h}, with {h} = ({h_values})",
        matrices,
        entry,
        f"largest |engine − formula| in layer {k}: {diff:.3g} {mark}",
        "",
    )


def explain(args: argparse.Namespace) -> int:
    """One forward and backward pass; every layer's gradients from the engine and the formulas."""
    from microbp import formulas

    run = run_pass(args)
    report = formulas.compare(run.net, run.x, run.target, loss=run.loss)
    if args.svg is not None:
        _write_svg(run.L, args.svg)
    if args.json:
        print(_explain_json(run, report))
        return EXIT_OK if report.ok else EXIT_DISAGREE

    console = _console()
    arrows = " → ".join(map(str, args.sizes))
    target = (
        f"label {run.target} (the notes' ℓ = {run.target + 1})"
        if run.loss == "cross_entropy"
        else f"target {run.target}"
    )
    console.print(
        f"[bold]MLP {arrows}[/], hidden {args.hidden}, output {args.output}, "
        f"loss {args.loss}, seed {args.seed}"
    )
    y_hat = ", ".join(f"{h.data:.6f}" for h in run.net.layers[-1].h)
    console.print(f"x = {run.x}, {target}: ŷ = ({y_hat}), L = {run.L.data:.6f}")
    console.print()
    for layer, net_layer in zip(report.layers, run.net.layers):
        h_prev = [v.data for v in net_layer.h_prev]
        console.print(_explain_layer(layer, h_prev, console), crop=False, overflow="ignore")
    verdict = "every entry agrees" if report.ok else "the engine and the formulas DISAGREE"
    style = "green" if report.ok else "bold red"
    console.print(
        f"[{style}]{verdict}[/] (∇W_k, ∇b_k, ∇a_k, ∇h_k of every layer and ∇x): "
        f"largest |engine − formula| = {report.max_abs_diff:.3g}"
    )
    if args.svg is not None:
        console.print(f"wrote the graph of L to {args.svg}")
    return EXIT_OK if report.ok else EXIT_DISAGREE


def _write_svg(L: Value, path: Path) -> None:
    from microbp import graph
    from microbp.engine import topological_order

    try:
        graph.render_svg(L, path)
    except graph.GraphvizNotFoundError:
        raise UsageError(
            "--svg needs Graphviz's `dot` program; install it (e.g. apt-get install graphviz)"
        ) from None
    except graph.GraphTooLargeError:
        raise UsageError(
            f"--svg: the graph of L has {len(topological_order(L))} nodes, more than the "
            f"{graph.MAX_NODES} it is drawn with; use smaller --sizes"
        ) from None
    except OSError as error:
        raise UsageError(f"cannot write {str(path)!r}: {error.strerror or error}") from None


# ---- verify ----

#: The formulas of the notes that `verify` checks, in the order of the backward pass.
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


@dataclass
class Tally:
    """One formula's record over the drawn examples: how many, the largest gap, any failure."""

    examples: int = 0
    entries: int = 0
    max_abs_diff: float = 0.0
    failures: int = 0
    first_failure: str = ""

    def add(self, quantities: Sequence[Any], case: str) -> None:
        if not quantities:
            return
        self.examples += 1
        self.entries += sum(q.formula.size for q in quantities)
        self.max_abs_diff = max(self.max_abs_diff, *(q.max_abs_diff for q in quantities))
        if not all(q.ok for q in quantities):
            self.failures += 1
            self.first_failure = self.first_failure or case


def _check_case(case: Any, lr: float, tallies: dict[str, Tally]) -> None:
    """Compare every formula's value with the engine's on one drawn network, input and target."""
    from microbp import formulas

    report = formulas.compare(case.net, case.x, case.target, case.loss)
    *hidden, last = report.layers
    description = (
        f"sizes {case.net.sizes}, hidden {case.net.hidden}, output {case.net.output}, "
        f"loss {case.loss}, x {case.x}, target {case.target}"
    )
    softmax_ce = case.loss == "cross_entropy" and case.net.output == "softmax"
    found = {
        "loss": [last.grad_h],
        "output" if softmax_ce else "output_chain": [last.grad_a],
        "grad_W": [layer.grad_W for layer in report.layers],
        "grad_b": [layer.grad_b for layer in report.layers],
        "grad_h": [layer.grad_h for layer in hidden] + [report.grad_x],
        "grad_a": [layer.grad_a for layer in hidden],
    }
    before = formulas.Network.from_mlp(case.net)
    nn.SGD(case.net.parameters(), lr).step()  # the parameters hold the engine's gradients
    after = formulas.Network.from_mlp(case.net)
    found["update_W"], found["update_b"] = [], []
    for layer, W, W_new, b, b_new in zip(report.layers, before.W, after.W, before.b, after.b):
        k, grad_W, grad_b = layer.k, layer.grad_W, layer.grad_b
        found["update_W"].append(
            formulas.Quantity(f"W{k}", W_new, W - lr * grad_W.formula, grad_W.atol, grad_W.rtol)
        )
        found["update_b"].append(
            formulas.Quantity(f"b{k}", b_new, b - lr * grad_b.formula, grad_b.atol, grad_b.rtol)
        )
    for key, quantities in found.items():
        tallies[key].add(quantities, description)


def _verify_table(tallies: dict[str, Tally]) -> RenderableType:
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("formula")
    table.add_column("examples", justify="right")
    table.add_column("entries", justify="right")
    table.add_column("max |diff|", justify="right")
    table.add_column("result")
    for key, tally in tallies.items():
        if tally.failures:
            result = f"[bold red]FAIL ({tally.failures})[/]"
        elif tally.examples:
            result = "[green]pass[/]"
        else:
            result = "[yellow]not drawn[/]"
        table.add_row(
            FORMULAS[key],
            str(tally.examples),
            str(tally.entries),
            f"{tally.max_abs_diff:.3g}",
            result,
        )
    return table


def verify(args: argparse.Namespace) -> int:
    """Check every formula of the notes against the engine on networks hypothesis draws."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis import strategies as st
    from hypothesis.configuration import set_hypothesis_home_dir
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from microbp.strategies import network_cases

    tallies = {key: Tally() for key in FORMULAS}
    console = _console()
    progress = Progress(
        TextColumn("drawing networks"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )

    @hypothesis_seed(args.seed)
    @settings(
        max_examples=args.examples,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=network_cases(), lr=st.floats(1e-3, 1.0))
    def check_drawn_case(case: Any, lr: float) -> None:
        _check_case(case, lr, tallies)
        progress.advance(task)

    # Hypothesis keeps caches in ./.hypothesis; the command leaves none in the user's folder.
    with progress, tempfile.TemporaryDirectory() as storage:
        set_hypothesis_home_dir(storage)
        task = progress.add_task("verify", total=args.examples)
        try:
            check_drawn_case()
        finally:
            set_hypothesis_home_dir(None)

    console.print(_verify_table(tallies))
    failed = [key for key, tally in tallies.items() if tally.failures]
    for key in failed:
        console.print(f"[bold red]{FORMULAS[key]} fails[/], first on: {tallies[key].first_failure}")
    if failed:
        return EXIT_DISAGREE
    console.print(
        "[green]every formula agrees with the engine on every example[/] "
        "(tolerance 1e-12 + 1e-10 · max |entry| of each quantity)"
    )
    return EXIT_OK


# ---- train ----


@dataclass
class TrainResult:
    """What a training run leaves: the network, its data, the mean loss of each epoch."""

    net: MLP
    X: list[list[float]]
    y: list[int]
    epoch_losses: list[float]


def _evaluate(net: MLP, X: list[list[float]], y: list[int]) -> tuple[float, int]:
    """Mean cross-entropy over the data, and how many points the network classifies right."""
    total, correct = 0.0, 0
    for x, label in zip(X, y):
        y_hat = net(x)
        total += nn.cross_entropy(y_hat, label).data
        correct += max(range(len(y_hat)), key=lambda i: y_hat[i].data) == label
    return total / len(X), correct


def _check_plot_path(path: Path) -> None:
    """Fail before training if matplotlib is missing or cannot write this kind of file."""
    try:
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:
        raise UsageError(
            "--plot needs matplotlib, an optional extra: pip install 'microbp[plot]'"
        ) from None
    formats = FigureCanvasBase.get_supported_filetypes()
    if path.suffix[1:].lower() not in formats:
        raise UsageError(
            f"--plot {str(path)!r}: end the file name with one of "
            + ", ".join(f".{ext}" for ext in sorted(formats))
        )


def train(args: argparse.Namespace) -> int:
    """Train an MLP with SGD on a generated toy data set; print the final loss and accuracy."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from microbp import datasets

    if args.sizes[0] != 2 or args.sizes[-1] != 2:
        raise UsageError(
            f"--sizes must start with 2 (the points have two coordinates) and end with 2 "
            f"(two classes, one softmax output each), got {','.join(map(str, args.sizes))}"
        )
    if args.plot is not None:
        _check_plot_path(args.plot)
    make = getattr(datasets, f"make_{args.data}")
    X, y = make(args.samples, seed=args.seed)
    net = nn.MLP(args.sizes, hidden=args.hidden, output="softmax", seed=args.seed)

    console = _console()
    progress = Progress(
        TextColumn(f"training on {args.data}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("epochs  loss {task.fields[loss]}"),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    with progress:
        task = progress.add_task("train", total=args.epochs, loss="…")
        try:
            losses = training.train(
                net,
                X,
                y,
                epochs=args.epochs,
                lr=args.lr,
                batch=args.batch,
                engine=args.engine,
                seed=args.seed,
                on_epoch=lambda _, loss: progress.update(task, advance=1, loss=f"{loss:.4f}"),
            )
        except training.DivergedError as error:
            raise UsageError(str(error)) from None

    final_loss, correct = _evaluate(net, X, y)
    arrows = " → ".join(map(str, args.sizes))
    console.print(
        f"trained MLP {arrows} ({args.hidden}, softmax) on {args.data}, "
        f"{_count_of(len(X), 'point')}, {_count_of(args.epochs, 'epoch')} of SGD, "
        f"batch {args.batch}, lr {args.lr}, seed {args.seed}, {args.engine} engine"
    )
    console.print(
        f"after training: loss {final_loss:.4f} (mean cross-entropy over the points), "
        f"accuracy {correct / len(X):.1%} ({correct}/{len(X)})"
    )
    if args.plot is not None:
        _plot(TrainResult(net, X, y, losses), args.plot)
        console.print(f"wrote the loss curve and the decision boundary to {args.plot}")
    return EXIT_OK


def _plot(result: TrainResult, path: Path, grid: int = 60) -> None:
    """The loss per epoch, and the network's decision boundary over the data, in one figure."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 4.5), layout="constrained")
    curve, boundary = figure.subplots(1, 2)
    epochs = range(1, len(result.epoch_losses) + 1)
    curve.plot(epochs, result.epoch_losses)
    curve.set(xlabel="epoch", ylabel="mean cross-entropy", title="loss", yscale="log")

    xs = [p[0] for p in result.X]
    ys = [p[1] for p in result.X]
    x_lo, x_hi = min(xs) - 0.5, max(xs) + 0.5
    y_lo, y_hi = min(ys) - 0.5, max(ys) + 0.5
    gx = [x_lo + (x_hi - x_lo) * i / (grid - 1) for i in range(grid)]
    gy = [y_lo + (y_hi - y_lo) * i / (grid - 1) for i in range(grid)]
    p1 = [[result.net([u, v])[1].data for u in gx] for v in gy]
    filled = boundary.contourf(gx, gy, p1, levels=20, cmap="RdBu_r", vmin=0.0, vmax=1.0, alpha=0.6)
    boundary.contour(gx, gy, p1, levels=[0.5], colors="black", linewidths=1.0)
    for label, colour in ((0, "tab:blue"), (1, "tab:red")):
        points = [p for p, c in zip(result.X, result.y) if c == label]
        boundary.scatter(
            [p[0] for p in points],
            [p[1] for p in points],
            c=colour,
            edgecolors="black",
            linewidths=0.6,
            s=18,
            label=f"class {label}",
        )
    boundary.legend(loc="upper right")
    boundary.set(xlabel="x1", ylabel="x2", title="decision boundary (ŷ₂ = P(class 1))")
    figure.colorbar(filled, ax=boundary)
    try:
        figure.savefig(path)
    except OSError as error:
        raise UsageError(f"cannot write {str(path)!r}: {error.strerror or error}") from None


# ---- the parser ----


def _add_network_options(
    p: argparse.ArgumentParser, sizes: list[int], metavar: str, what: str, hidden: str
) -> None:
    """--sizes and --hidden, the network's shape, which explain and train each default their way."""
    shown = ",".join(map(str, sizes))
    p.add_argument(
        "--sizes",
        type=_positive_ints,
        default=sizes,
        metavar=metavar,
        help=f"{what} (default {shown})",
    )
    p.add_argument(
        "--hidden",
        choices=nn.HIDDEN_ACTIVATIONS,
        default=hidden,
        help=f"hidden activation (default {hidden})",
    )


def _add_explain(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "explain",
        help="one forward and backward pass: the engine's gradients beside the notes' formulas",
        description="Build an MLP, run one forward and backward pass, and print for every layer "
        "k the engine's ∇W_k L beside ∇a_k L · h_{k-1}ᵀ and ∇b_k L beside ∇a_k L. "
        "Exit status 0 when every entry agrees, 1 when not.",
    )
    _add_network_options(p, [3, 3, 3, 2], "N0,N1,…", "layer sizes, inputs first", "sigmoid")
    p.add_argument(
        "--output",
        choices=nn.OUTPUT_ACTIVATIONS,
        default="softmax",
        help="output activation (default softmax)",
    )
    p.add_argument(
        "--loss",
        choices=tuple(LOSSES),
        default="cross-entropy",
        help="loss (default cross-entropy)",
    )
    p.add_argument(
        "--seed",
        type=_count(0),
        default=0,
        help="seed for the weights and the default input (default 0)",
    )
    p.add_argument(
        "--x",
        type=_finite_floats,
        metavar="V1,V2,…",
        help="the input, one value per input unit (default: drawn from the seed)",
    )
    target = p.add_mutually_exclusive_group()
    target.add_argument(
        "--label",
        type=_count(0),
        metavar="ℓ",
        help="true class for cross-entropy, counting from 0 (default 0)",
    )
    target.add_argument(
        "--target",
        type=_finite_floats,
        metavar="T1,T2,…",
        help="target vector for squared error (default 1,0,…,0)",
    )
    p.add_argument(
        "--svg", type=_output_path, metavar="PATH", help="also write the graph of L as an SVG file"
    )
    p.add_argument("--json", action="store_true", help="print one JSON document instead of tables")
    p.set_defaults(run=explain)


def _add_verify(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "verify",
        help="check every formula of the notes against the engine on drawn networks",
        description="Draw networks, inputs and targets with microbp's hypothesis strategies "
        "and check every formula of the notes against the scalar engine, entry by entry. "
        "Exit status 0 when all agree, 1 when any does not.",
    )
    p.add_argument(
        "--examples",
        type=_count(1),
        default=200,
        metavar="N",
        help="how many networks to draw (default 200)",
    )
    p.add_argument(
        "--seed",
        type=_count(0),
        default=0,
        help="seed for hypothesis, so a run can be repeated (default 0)",
    )
    p.set_defaults(run=verify)


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train an MLP with SGD on a generated toy data set",
        description="Train an MLP (softmax output, cross-entropy loss) with minibatch SGD on a "
        "generated two-class data set, then print the final loss and accuracy. The graph is "
        "recorded once and each minibatch replayed in numpy (--engine tape), or rebuilt for "
        "every point (--engine scalar); both take the same steps.",
    )
    p.add_argument("--data", choices=DATASETS, default="moons", help="the data set (default moons)")
    p.add_argument(
        "--samples", type=_count(1), default=200, metavar="N", help="number of points (default 200)"
    )
    _add_network_options(
        p, [2, 8, 2], "2,N1,…,2", "layer sizes, 2 inputs first and 2 outputs last", "tanh"
    )
    p.add_argument(
        "--epochs",
        type=_count(1),
        default=50,
        metavar="N",
        help="passes over the data (default 50)",
    )
    p.add_argument(
        "--lr", type=_positive_float, default=0.5, metavar="η", help="learning rate (default 0.5)"
    )
    p.add_argument(
        "--batch",
        type=_count(1),
        default=16,
        metavar="N",
        help="points per SGD step, along their mean gradient (default 16)",
    )
    p.add_argument(
        "--engine",
        choices=training.ENGINES,
        default="tape",
        help="tape: record once, replay each minibatch in numpy; scalar: a graph per point "
        "(default tape)",
    )
    p.add_argument(
        "--seed",
        type=_count(0),
        default=0,
        help="seed for the data, the weights and the order of the points (default 0)",
    )
    p.add_argument(
        "--plot",
        type=_output_path,
        metavar="PATH",
        help="write the loss curve and decision boundary (needs matplotlib)",
    )
    p.set_defaults(run=train)


def build_parser() -> argparse.ArgumentParser:
    """The `microbp` argument parser with its subcommands."""
    parser = _Parser(prog="microbp", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="{explain,verify,train}")
    _add_explain(sub)
    _add_verify(sub)
    _add_train(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `microbp` command with ``argv`` (default: the process's arguments)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help, or a bad argument already reported in one line
        return done.code if isinstance(done.code, int) else EXIT_USAGE
    try:
        return args.run(args)
    except UsageError as error:
        print(f"microbp {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"microbp {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `microbp explain | head`: the reader stopped reading
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
