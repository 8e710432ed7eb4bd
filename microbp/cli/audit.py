"""`microbp audit`: users' own autograd engines held to the properties microbp passes: one
engine line by line, or a class's at once (a summary table, --json, --report, --gradescope)."""

from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from microbp.cli import output
from microbp.cli.options import (
    EXIT_DISAGREE,
    EXIT_OK,
    INTERRUPTS,
    OutputFault,
    UsageError,
    add_count_option,
    add_seed_option,
    finite_float,
    output_path,
    whole_number,
)

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    from microbp.audit import PropertyResult, Report
    from microbp.audit.grading import Graded

#: How each status reads in the table (rich markup); {n} is the number of examples run.
STATUS_MARKUP = {
    "pass": "[green]pass[/] ({n})",
    "fail": "[bold red]FAIL[/] ({n})",
    "convention": "[yellow]convention[/] ({n})",
    "limit": "[yellow]limit[/] ({n})",
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


def shown_path(path: str) -> str:
    """``path`` from the current folder when it is under it, else as it is."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def print_failure(console: Console, r: PropertyResult) -> None:
    """A failed line (or a convention, a limit): its detail, its counterexample's snippet and
    picture, if any."""
    from rich.text import Text

    console.print()
    shown = "[bold red]FAIL[/]" if r.status == "fail" else f"[yellow]{r.status}[/]"
    console.print(f"{shown} {r.title}: {r.detail}")
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
        console.print(f"picture: {shown_path(example.svg)}")


def summary(report: Report, strict: bool) -> str:
    """The last lines: what the engine lacks, its conventions and limits, then the verdict."""
    from microbp.audit import OPS

    lines = []
    n_ops = len(OPS)
    lacking = report.unsupported
    if lacking:
        lines.append(
            f"{n_ops - len(lacking)} of {n_ops} ops supported; not supported: {', '.join(lacking)}"
        )
    others = [r.title for r in report.results if r.status in ("convention", "limit")]
    if others and not strict:
        lines.append(f"conventions and limits (not failures without --strict): {', '.join(others)}")
    failed = report.failing(strict)
    if failed:
        n = len(failed)
        lines.append(f"[bold red]{n} {'line fails' if n == 1 else 'lines fail'}[/]")
    else:
        lines.append("[green]everything the engine supports passes[/]")
    return "\n".join(lines)


def class_table(graded: list[Graded], strict: bool) -> RenderableType:
    """One row a target: its verdict and its first failure (the counts are in --json)."""
    from rich import box
    from rich.table import Table

    from microbp.audit import grading

    _, names = grading.short_names([g.target for g in graded])
    result_table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    result_table.add_column("target", no_wrap=True)
    result_table.add_column("verdict", no_wrap=True)
    result_table.add_column("first failure")
    for g, name in zip(graded, names):
        verdict = g.verdict(strict)
        style = "green" if verdict == "pass" else "bold red"
        result_table.add_row(name, f"[{style}]{verdict}[/]", g.first_failure(strict))
    return result_table


class Progress:
    """Which line of which target is running, for a spinner; safe to call from any thread."""

    def __init__(self, total: int) -> None:
        self.total, self.done = total, 0
        self.running: dict[str, str] = {}
        self.lock = threading.Lock()

    def started(self, target: str, title: str) -> str:
        """Note that ``target`` started ``title``; the spinner's new text."""
        with self.lock:
            if self.total == 1:
                return f"auditing {target}: {title}"
            self.running[target] = title
            now = ", ".join(f"{t}: {line}" for t, line in list(self.running.items())[-3:])
            return f"auditing ({self.done} of {self.total} done) {now}"

    def finished(self, target: str) -> None:
        with self.lock:
            self.done += 1
            self.running.pop(target, None)


def _svg_folders(args: argparse.Namespace, targets: list[str]) -> list[Path | None]:
    """Each target's picture folder: --svg itself for one, a folder a target in it for more."""
    if args.svg is None:
        return [None] * len(targets)
    if len(targets) == 1:
        return [args.svg]
    folders = []
    for i, target in enumerate(targets, start=1):
        name = re.sub(r"\W+", "_", target.rpartition(":")[0]).strip("_")
        folder = args.svg / f"{i}-{name}"
        folder.mkdir(exist_ok=True)
        folders.append(folder)
    return folders


def _grade(args: argparse.Namespace, console: Console, targets: list[str]) -> list[Graded]:
    """The audits ``args`` ask for; on a terminal, a spinner says what runs. Between lines, a
    Ctrl-C Python dropped is taken up (`INTERRUPTS`)."""
    from microbp.audit.grading import grade_all

    options: dict[str, Any] = {"examples": args.examples, "seed": args.seed}
    if args.time_limit is not None:
        options["time_limit"] = args.time_limit
    if args.only is not None:
        options["only"] = args.only
    if args.scheduler is not None:
        try:
            return grade_all(targets, args.jobs, scheduler=args.scheduler, **options)
        except ValueError as error:
            raise UsageError(str(error)) from None
    progress = Progress(len(targets))
    status = console.status("auditing") if console.is_terminal else None

    def started(target: str, title: str) -> None:
        INTERRUPTS.check()
        text = progress.started(target, title)
        if status is not None:
            status.update(text)

    if status is not None:
        status.start()
    try:
        return grade_all(
            targets,
            args.jobs,
            on_start=started,
            on_done=progress.finished,
            svg_dirs=_svg_folders(args, targets),
            **options,
        )
    finally:
        if status is not None:
            status.stop()


def _write_outputs(args: argparse.Namespace, graded: list[Graded]) -> None:
    """--report and --gradescope, each written whole or not at all."""
    from microbp.files import write_text_atomically

    outputs = []
    if args.report is not None:
        from microbp.audit.page import render

        outputs.append((args.report, render(graded, args.strict)))
    if args.gradescope is not None:
        from microbp.audit.grading import gradescope

        outputs.append((args.gradescope, json.dumps(gradescope(graded[0], args.strict), indent=2)))
    for path, text in outputs:
        try:
            write_text_atomically(path, text)
        except OSError as error:
            raise OutputFault(f"cannot write {str(path)!r}: {error.strerror or error}") from None


def _print_one(console: Console, report: Report, strict: bool) -> None:
    console.print(
        f"audit of {report.target}: {report.examples} examples a property, seed {report.seed}"
    )
    console.print(table(report))
    shown = ("fail", "convention", "limit")
    for r in report.results:
        if r.status in shown:
            print_failure(console, r)
    console.print()
    console.print(summary(report, strict))


def run(args: argparse.Namespace) -> int:
    """Audit the engines ``args.targets``; exit 0 when all pass, 1 when one fails."""
    from microbp.audit import grading

    console = output.console()
    if args.jobs is None:
        args.jobs = grading.default_jobs()
    targets = grading.expand(args.targets)
    if args.gradescope is not None and len(targets) != 1:
        raise UsageError(f"--gradescope takes one target (a submission), got {len(targets)}")
    with tempfile.TemporaryDirectory() as pictures:
        # the page shows each counterexample's picture: drawn in a folder of ours without --svg
        drawn_here = args.report is not None and args.svg is None
        if drawn_here:
            args.svg = Path(pictures)
        graded = _grade(args, console, targets)
        if len(graded) == 1 and graded[0].report is None:
            raise UsageError(graded[0].refused)
        _write_outputs(args, graded)
    if drawn_here:  # the pictures are in the page, and their folder is gone
        graded = [g.without_pictures() for g in graded]
    if args.json:
        document = {
            "ok": all(g.passes(args.strict) for g in graded),
            "strict": args.strict,
            "targets": [g.as_dict() for g in graded],
        }
        print(json.dumps(document, indent=2))
    elif len(graded) == 1 and graded[0].report is not None:
        _print_one(console, graded[0].report, args.strict)
    else:
        passing = sum(g.passes(args.strict) for g in graded)
        common, _ = grading.short_names([g.target for g in graded])
        if common:
            console.print(f"files in {common}")
        console.print(
            f"audit of {len(graded)} targets: {args.examples} examples a line, seed {args.seed}"
        )
        console.print(class_table(graded, args.strict))
        console.print(f"{passing} of {len(graded)} pass")
    return EXIT_OK if all(g.passes(args.strict) for g in graded) else EXIT_DISAGREE


def line_keys(text: str) -> list[str]:
    """--only: line keys, comma-separated, each a line of the report."""
    from microbp.audit.runner import lines

    keys = [key.strip() for key in text.split(",") if key.strip()]
    if not keys:
        raise argparse.ArgumentTypeError("give at least one line key, e.g. op:mul")
    try:
        lines(keys)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return keys


def positive_seconds(text: str) -> float:
    """--time-limit: a finite number of seconds > 0."""
    seconds = finite_float(text)
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return seconds


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `audit` subcommand's options (importing nothing heavy: every command builds them)."""
    p = subparsers.add_parser(
        "audit",
        help="hold your own autograd engine to the properties microbp passes",
        description="Run micrograd-style engines (module:Name or path/to/file.py:Name of a "
        "value class, or of a function returning an adapter; a glob such as "
        "'submissions/*/engine.py:Value' for a class) through the properties microbp "
        "passes: every op's value and derivative, expressions reusing nodes, a second "
        "backward(), deep chains, a network against the notes' formulas, an SGD step, extreme "
        "inputs, the reflected operators. Each engine runs in a child process of its own. Each "
        "failure is shown as the smallest example hypothesis finds, as runnable Python. "
        "Exit status 0 when every engine passes, 1 when a line fails (with --strict, a "
        "convention or a limit too), 2 for a single target that is no engine.",
    )
    p.add_argument(
        "targets", nargs="+", metavar="TARGET", help="module:Name or path/to/file.py:Name"
    )
    add_count_option(p, "--examples", 100, "how many examples to draw for each property")
    add_seed_option(p, "hypothesis, so a run can be repeated")
    p.add_argument(
        "--svg",
        type=svg_folder,
        metavar="DIR",
        help="draw each failing example in DIR (made if missing) as SVG, with microbp's pictures",
    )
    p.add_argument("--json", action="store_true", help="print one JSON document instead")
    p.add_argument(
        "--strict", action="store_true", help="fail conventions and limits too, not only FAIL"
    )
    p.add_argument(
        "--jobs",
        type=whole_number(1),
        metavar="N",
        help="engines audited at once, each in its own process (default: the machine's cores)",
    )
    p.add_argument(
        "--time-limit",
        type=positive_seconds,
        metavar="S",
        help="seconds a line may take before it is a hang (default 60)",
    )
    p.add_argument(
        "--only",
        type=line_keys,
        metavar="KEYS",
        help="run only these lines, keys as in --json, comma-separated (op:mul,deep_chains)",
    )
    p.add_argument(
        "--report", type=output_path, metavar="PATH", help="write one self-contained HTML page"
    )
    p.add_argument(
        "--gradescope",
        type=output_path,
        metavar="PATH",
        help="write Gradescope's results.json for one target",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help='run the audits on a Dask cluster (pip install "microbp[cluster]")',
    )
    p.set_defaults(run=run)
