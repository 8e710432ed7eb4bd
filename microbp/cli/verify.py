"""`microbp verify`: every formula of the notes against the engine on networks hypothesis draws."""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from microbp.cli import output
from microbp.cli.options import (
    EXIT_DISAGREE,
    EXIT_OK,
    INTERRUPTS,
    add_count_option,
    add_seed_option,
)

if TYPE_CHECKING:
    from rich.console import RenderableType

    from microbp.comparison import Quantity
    from microbp.strategies import NetworkCase


@dataclass
class Tally:
    """One formula's record over the drawn examples: how many, the largest gap, any failure."""

    examples: int = 0
    entries: int = 0
    max_abs_diff: float = 0.0
    failures: int = 0
    first_failure: str = ""

    def add(self, quantities: Sequence[Quantity], case: str) -> None:
        """Count one example's quantities of this formula (none: the formula did not apply)."""
        if not quantities:
            return
        self.examples += 1
        self.entries += sum(q.formula.size for q in quantities)
        self.max_abs_diff = max(self.max_abs_diff, *(q.max_abs_diff for q in quantities))
        if not all(q.ok for q in quantities):
            self.failures += 1
            self.first_failure = self.first_failure or case


def describe_case(case: NetworkCase) -> str:
    """A drawn case in one line, enough to build it again."""
    return (
        f"sizes {case.net.sizes}, hidden {case.net.hidden}, output {case.net.output}, "
        f"loss {case.loss}, x {case.x}, target {case.target}"
    )


def table(tallies: dict[str, Tally]) -> RenderableType:
    """One row a formula: examples, entries, the largest gap, the verdict."""
    from rich import box
    from rich.table import Table

    from microbp.comparison import FORMULAS

    result_table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    result_table.add_column("formula")
    result_table.add_column("examples", justify="right")
    result_table.add_column("entries", justify="right")
    result_table.add_column("max |diff|", justify="right")
    result_table.add_column("result")
    for key, tally in tallies.items():
        if tally.failures:
            result = f"[bold red]FAIL ({tally.failures})[/]"
        elif tally.examples:
            result = "[green]pass[/]"
        else:
            result = "[yellow]not drawn[/]"
        result_table.add_row(
            FORMULAS[key],
            str(tally.examples),
            str(tally.entries),
            f"{tally.max_abs_diff:.3g}",
            result,
        )
    return result_table


def run(args: argparse.Namespace) -> int:
    """Check every formula of the notes against the engine on networks hypothesis draws."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis import strategies as st
    from hypothesis.configuration import set_hypothesis_home_dir
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from microbp.comparison import FORMULAS, check_formulas
    from microbp.strategies import network_cases

    tallies = {key: Tally() for key in FORMULAS}
    console = output.console()
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
        # cast: pyright types the members of HealthCheck (an enum with a metaclass) wrongly
        suppress_health_check=cast("list[HealthCheck]", list(HealthCheck)),
    )
    @given(case=network_cases(), lr=st.floats(1e-3, 1.0))
    def check_drawn_case(case: NetworkCase, lr: float) -> None:
        INTERRUPTS.check()
        found = check_formulas(case.net, case.x, case.target, case.loss, lr)
        for key, quantities in found.items():
            tallies[key].add(quantities, describe_case(case))
        progress.advance(task)

    # Hypothesis keeps caches in ./.hypothesis; the command leaves none in the user's folder.
    with progress, tempfile.TemporaryDirectory() as storage:
        set_hypothesis_home_dir(storage)
        task = progress.add_task("verify", total=args.examples)
        try:
            check_drawn_case()
        finally:
            set_hypothesis_home_dir(None)

    console.print(table(tallies))
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


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `verify` subcommand's options."""
    p = subparsers.add_parser(
        "verify",
        help="check every formula of the notes against the engine on drawn networks",
        description="Draw networks, inputs and targets with microbp's hypothesis strategies "
        "and check every formula of the notes against the scalar engine, entry by entry. "
        "Exit status 0 when all agree, 1 when any does not.",
    )
    add_count_option(p, "--examples", 200, "how many networks to draw")
    add_seed_option(p, "hypothesis, so a run can be repeated")
    p.set_defaults(run=run)
