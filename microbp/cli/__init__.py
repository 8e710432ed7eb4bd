"""The `microbp` command: explain one backward pass, verify the notes' formulas, train a network,
audit your own engine.

One module a subcommand (`explain`, `verify`, `train`, `audit`), each with its options, its run
function and its rendering; `options` holds what they share, `output` how they print. Every bad
argument ends with one line on stderr and exit status 2; a disagreement between the engine and
the formulas (or a failed audit) ends with exit status 1. Nothing a user types or an ordinary
fault (a full disk, a closed pipe, Ctrl-C, an ASCII terminal) ends in a traceback.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from collections.abc import Sequence

from microbp.cli.options import (
    EXIT_BROKEN_PIPE,
    EXIT_FAULT,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    INTERRUPTS,
    OutputFault,
    Parser,
    UsageError,
    bounded,
    join_negative_number_lists,
)
from microbp.cli.output import guard_standard_streams, to_stderr

# The subcommands (and numpy, rich, …) are imported inside `main`, where Ctrl-C is caught, so
# an interrupt while they load is no traceback either.
SUBCOMMANDS = ("explain", "verify", "train", "audit")


def build_parser() -> argparse.ArgumentParser:
    """The `microbp` argument parser with its subcommands."""
    from importlib import import_module

    from microbp import __version__

    summary = " ".join((__doc__ or "").partition("\n\n")[0].split())  # the first paragraph
    parser = Parser(prog="microbp", description=summary)
    parser.add_argument("--version", action="version", version=f"microbp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar=f"{{{','.join(SUBCOMMANDS)}}}")
    for name in SUBCOMMANDS:
        import_module(f"microbp.cli.{name}").add_parser(sub)
    return parser


def _replace_what_cannot_be_encoded() -> None:
    """On an ASCII (or other narrow) terminal, print ? for → and ∇ instead of failing."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="replace")


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush cannot fail again."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):  # stdout is not a file (in tests)
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `microbp` command with ``argv`` (default: the process's arguments)."""
    guard_standard_streams()
    with INTERRUPTS.caught():
        return _main(sys.argv[1:] if argv is None else argv)


def _main(argv: Sequence[str]) -> int:
    """`main` with Ctrl-C remembered: every way the command ends, as an exit status."""
    command = ["microbp"]  # the subcommand is added once it is known, for the messages

    def fail(message: str, status: int) -> int:
        to_stderr(f"{' '.join(command)}: {bounded(message)}\n")
        return status

    try:
        status = _run(argv, command)
        sys.stdout.flush()  # a full disk or a closed pipe shows here, not at exit
        return status
    except UsageError as error:
        return fail(f"error: {error}", EXIT_USAGE)
    except OutputFault as error:
        return fail(f"error: {error}", EXIT_FAULT)
    except KeyboardInterrupt:
        return fail("interrupted", EXIT_INTERRUPTED)
    except BrokenPipeError:  # e.g. `microbp explain | head`: the reader stopped reading
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except MemoryError:
        return fail("error: out of memory; try smaller sizes or fewer points", EXIT_FAULT)
    except OSError as error:  # writing the output failed: a full disk, a closed terminal, …
        _silence_stdout()
        return fail(f"error: cannot write the output: {error.strerror or error}", EXIT_FAULT)


def _run(argv: Sequence[str], command: list[str]) -> int:
    """Parse ``argv`` and run the subcommand it names; its exit status."""
    _replace_what_cannot_be_encoded()
    parser = build_parser()
    try:
        args = parser.parse_args(join_negative_number_lists(argv))
    except SystemExit as done:  # --help, or a bad argument already reported in one line
        return done.code if isinstance(done.code, int) else EXIT_USAGE
    if args.command is None:  # bare `microbp`: what it can do
        parser.print_help()
        return EXIT_OK
    command.append(args.command)
    try:
        status: int = args.run(args)
    except (UsageError, OutputFault):
        raise
    except Exception:
        # A library interrupted mid-way may raise anything (hypothesis, an AssertionError):
        # after Ctrl-C, whatever ends the run is the interrupt.
        INTERRUPTS.check()
        raise
    return status
