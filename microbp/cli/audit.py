"""`microbp audit`: a user's own autograd engine held to the properties microbp passes."""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from microbp.cli import output
from microbp.cli.options import (
    EXIT_DISAGREE,
    EXIT_OK,
    INTERRUPTS,
    UsageError,
    add_count_option,
    add_seed_option,
)

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    from microbp.audit import PropertyResult, Report

#: How each status reads in the table (rich markup); {n} is the number of examples run.
STATUS_MARKUP = {
    "pass": "[green]pass[/] ({n})",
    "fail": "[bold red]FAIL[/] ({n})",
    "not supported": "[yellow]not supported[/]",
    "skipped": "[yellow]skipped[/]",
}


def svg_folder(text: str) -> Path:
    """The folder for --svg: made if missing (its parent must exist), refused if a file."""
    path = Path(text)
    if not text:
        raise argparse.ArgumentTypeError("the folder name is empty")
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a file, not a folder")
    if not path.exists():
        if not path.parent.is_dir():
            raise argparse.ArgumentTypeError(
                f"the folder {str(path.parent)!r} does not exist, so {text!r} cannot be made"
            )
        try:
            path.mkdir()
        except OSError as error:
            raise argparse.ArgumentTypeError(f"cannot make {text!r}: {error.strerror}") from None
    return path


def table(report: Report) -> RenderableType:
    """One row a property: the result (with the number of examples run) and a detail."""
    from rich import box
    from rich.table import Table

    result_table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    result_table.add_column("property", no_wrap=True)
    result_table.add_column("result", no_wrap=True)
    result_table.add_column("detail")
    for r in report.results:
        result_table.add_row(r.title, STATUS_MARKUP[r.status].format(n=r.examples), r.detail)
    return result_table


def print_failure(console: Console, r: PropertyResult) -> None:
    """A failed property: its detail, its counterexample's snippet and picture, if any."""
    from rich.text import Text

    console.print()
    console.print(f"[bold red]FAIL[/] {r.title}: {r.detail}")
    example = r.counterexample
    if example is None:
        return
    if example.note:
        console.print(example.note)
    ops = output.count_of(example.ops, "op")
    console.print(f"the smallest example found ({ops}), as Python using the engine:")
    console.print()
    console.print(Text(example.snippet))
    if example.svg is not None:
        console.print()
        console.print(f"picture: {example.svg}")


def summary(report: Report) -> str:
    """The last lines: what the engine lacks, then the verdict."""
    from microbp.audit import OPS

    lines = []
    n_ops = len(OPS)
    lacking = report.unsupported
    if lacking:
        lines.append(
            f"{n_ops - len(lacking)} of {n_ops} ops supported; not supported: {', '.join(lacking)}"
        )
    failed = report.failures
    if failed:
        n = len(failed)
        lines.append(f"[bold red]{n} {'property fails' if n == 1 else 'properties fail'}[/]")
    else:
        lines.append("[green]everything the engine supports passes[/]")
    return "\n".join(lines)


def _audit(args: argparse.Namespace, console: Console) -> Report:
    """The audit ``args`` ask for; on a terminal, a spinner says which property runs. Between
    properties, a Ctrl-C Python dropped is taken up (`INTERRUPTS`)."""
    from microbp.audit import audit

    options = {"examples": args.examples, "seed": args.seed, "svg_dir": args.svg}
    if not console.is_terminal:
        return audit(args.target, **options, on_start=lambda title: INTERRUPTS.check())
    with console.status("auditing") as status:

        def show(title: str) -> None:
            INTERRUPTS.check()
            status.update(f"auditing {args.target}: {title}")

        return audit(args.target, **options, on_start=show)


def run(args: argparse.Namespace) -> int:
    """Audit the engine ``args.target``; exit 0 when all it supports passes, 1 when not."""
    from hypothesis.configuration import set_hypothesis_home_dir

    from microbp.audit import TargetError

    console = output.console()
    # Hypothesis keeps caches in ./.hypothesis; the command leaves none in the user's folder.
    with tempfile.TemporaryDirectory() as storage:
        set_hypothesis_home_dir(storage)
        try:
            report = _audit(args, console)
        except TargetError as error:
            raise UsageError(str(error)) from None
        finally:
            set_hypothesis_home_dir(None)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        console.print(
            f"audit of {report.target}: {report.examples} examples a property, seed {report.seed}"
        )
        console.print(table(report))
        for r in report.failures:
            print_failure(console, r)
        console.print()
        console.print(summary(report))
    return EXIT_OK if report.ok else EXIT_DISAGREE


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `audit` subcommand's options."""
    p = subparsers.add_parser(
        "audit",
        help="hold your own autograd engine to the properties microbp passes",
        description="Run a micrograd-style engine (module:Name or path/to/file.py:Name of its "
        "value class, or of a function returning an adapter) through the properties microbp "
        "passes: every op's value and derivative, expressions reusing nodes, a second "
        "backward(), deep chains, a network against the notes' formulas, an SGD step. Each "
        "failure is shown as the smallest example hypothesis finds, as runnable Python. "
        "Exit status 0 when everything the engine supports passes, 1 when something fails.",
    )
    p.add_argument("target", metavar="TARGET", help="module:Name or path/to/file.py:Name")
    add_count_option(p, "--examples", 100, "how many examples to draw for each property")
    add_seed_option(p, "hypothesis, so a run can be repeated")
    p.add_argument(
        "--svg",
        type=svg_folder,
        metavar="DIR",
        help="draw each failing example in DIR (made if missing) as SVG, with microbp's pictures",
    )
    p.add_argument("--json", action="store_true", help="print one JSON document instead")
    p.set_defaults(run=run)
