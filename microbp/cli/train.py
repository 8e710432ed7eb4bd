"""`microbp train`: minibatch SGD on a generated toy data set, then the loss and accuracy."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from microbp import nn, training
from microbp.cli import output
from microbp.cli.options import (
    EXIT_OK,
    INTERRUPTS,
    OutputFault,
    UsageError,
    add_count_option,
    add_network_options,
    add_seed_option,
    output_path,
    positive_float,
)
from microbp.datasets import DATASETS
from microbp.files import write_atomically

if TYPE_CHECKING:
    from microbp.nn import MLP


@dataclass
class TrainResult:
    """What a training run leaves: the network, its data, the mean loss of each epoch."""

    net: MLP
    X: list[list[float]]
    y: list[int]
    epoch_losses: list[float]


def check_plot_path(path: Path) -> None:
    """Fail before training if matplotlib is missing or cannot write this kind of file."""
    try:
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:
        raise UsageError(
            "--plot needs matplotlib, microbp's plot extra: from a clone, "
            "`.venv/bin/python -m pip install '.[plot]'`"
        ) from None
    formats = FigureCanvasBase.get_supported_filetypes()
    if path.suffix[1:].lower() not in formats:
        raise UsageError(
            f"--plot {str(path)!r}: end the file name with one of "
            + ", ".join(f".{ext}" for ext in sorted(formats))
        )


#: The most epochs × points a run takes: about 3 hours of the tape's replay (49 epochs of
#: 2,000 moons, 98,000 point passes, took 1.0 s of CPU more than 1 epoch on a 2-core test machine).
MAX_POINT_PASSES = 1_000_000_000


def run(args: argparse.Namespace) -> int:
    """Train an MLP with SGD on a generated toy data set; print the final loss and accuracy."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    if args.sizes[0] != 2 or args.sizes[-1] != 2:
        raise UsageError(
            f"--sizes must start with 2 (the points have two coordinates) and end with 2 "
            f"(two classes, one softmax output each), got {','.join(map(str, args.sizes))}"
        )
    if args.epochs * args.samples > MAX_POINT_PASSES:
        raise UsageError(
            f"--epochs {args.epochs:,} over --samples {args.samples:,} is "
            f"{args.epochs * args.samples:,} point passes, more than the {MAX_POINT_PASSES:,} "
            "a run takes; use fewer epochs or points"
        )
    if args.plot is not None:
        check_plot_path(args.plot)
    try:
        X, y = DATASETS[args.data](args.samples, seed=args.seed)
    except ValueError as error:  # more points than are made
        raise UsageError(f"--samples: {error}") from None
    try:
        net = nn.MLP(args.sizes, hidden=args.hidden, output="softmax", seed=args.seed)
    except ValueError as error:  # more parameters than are made
        raise UsageError(f"--sizes: {error}") from None

    console = output.console()
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

        def show_epoch(loss: float) -> None:
            INTERRUPTS.check()
            progress.update(task, advance=1, loss=f"{loss:.4f}")

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
                on_epoch=lambda _, loss: show_epoch(loss),
            )
        except training.DivergedError as error:
            raise UsageError(str(error)) from None

    final_loss, correct = training.evaluate(net, X, y)
    arrows = " → ".join(map(str, args.sizes))
    console.print(
        f"trained MLP {arrows} ({args.hidden}, softmax) on {args.data}, "
        f"{output.count_of(len(X), 'point')}, {output.count_of(args.epochs, 'epoch')} of SGD, "
        f"batch {args.batch}, lr {args.lr}, seed {args.seed}, {args.engine} engine"
    )
    console.print(
        f"after training: loss {final_loss:.4f} (mean cross-entropy over the points), "
        f"accuracy {correct / len(X):.1%} ({correct}/{len(X)})"
    )
    if args.plot is not None:
        plot(TrainResult(net, X, y, losses), args.plot)
        console.print(f"wrote the loss curve and the decision boundary to {args.plot}")
    return EXIT_OK


def plot(result: TrainResult, path: Path, grid: int = 60) -> None:
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
        write_atomically(path, figure.savefig)
    except (OSError, ValueError) as error:  # ValueError: the path became a FIFO meanwhile
        reason = getattr(error, "strerror", None) or error
        raise OutputFault(f"cannot write {str(path)!r}: {reason}") from None


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `train` subcommand's options."""
    p = subparsers.add_parser(
        "train",
        help="train an MLP with SGD on a generated toy data set",
        description="Train an MLP (softmax output, cross-entropy loss) with minibatch SGD on a "
        "generated two-class data set, then print the final loss and accuracy. The graph is "
        "recorded once and each minibatch replayed in numpy (--engine tape), or rebuilt for "
        "every point (--engine scalar); both take the same steps.",
    )
    p.add_argument(
        "--data", choices=tuple(DATASETS), default="moons", help="the data set (default moons)"
    )
    add_count_option(p, "--samples", 200, "number of points")
    add_network_options(
        p, [2, 8, 2], "2,N1,…,2", "layer sizes, 2 inputs first and 2 outputs last", "tanh"
    )
    add_count_option(p, "--epochs", 50, "passes over the data")
    p.add_argument(
        "--lr", type=positive_float, default=0.5, metavar="η", help="learning rate (default 0.5)"
    )
    add_count_option(p, "--batch", 16, "points per SGD step, along their mean gradient")
    p.add_argument(
        "--engine",
        choices=training.ENGINES,
        default="tape",
        help="tape: record once, replay each minibatch in numpy; scalar: a graph per point "
        "(default tape)",
    )
    add_seed_option(p, "the data, the weights and the order of the points")
    p.add_argument(
        "--plot",
        type=output_path,
        metavar="PATH",
        help="write the loss curve and decision boundary (needs matplotlib)",
    )
    p.set_defaults(run=run)
