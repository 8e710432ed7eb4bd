"""The `microbp` command: explain one backward pass, verify the notes' formulas, train a network.

One module a subcommand (`explain`, `verify`, `train`), each with its options, its run function
and its rendering; `options` holds what they share, `output` how they print. Every bad argument
ends with one line on stderr and exit status 2; a disagreement between the engine and the
formulas ends with exit status 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from microbp import __version__
from microbp.cli import explain, train, verify
from microbp.cli.options import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    Parser,
    UsageError,
    join_negative_number_lists,
)

SUBCOMMANDS = (explain, verify, train)


def build_parser() -> argparse.ArgumentParser:
    """The `microbp` argument parser with its subcommands."""
    parser = Parser(prog="microbp", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--version", action="version", version=f"microbp {__version__}")
    names = ",".join(command.__name__.rpartition(".")[2] for command in SUBCOMMANDS)
    sub = parser.add_subparsers(dest="command", metavar=f"{{{names}}}")
    for command in SUBCOMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `microbp` command with ``argv`` (default: the process's arguments)."""
    parser = build_parser()
    arguments = join_negative_number_lists(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(arguments)
    except SystemExit as done:  # --help, or a bad argument already reported in one line
        return done.code if isinstance(done.code, int) else EXIT_USAGE
    if args.command is None:  # bare `microbp`: what it can do
        parser.print_help()
        return EXIT_OK
    try:
        status: int = args.run(args)
        return status
    except UsageError as error:
        print(f"microbp {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"microbp {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `microbp explain | head`: the reader stopped reading
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
