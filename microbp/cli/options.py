"""What the subcommands share on the command line: exit codes, the parser, argument types,
and the options several subcommands take (network shape, seed, counts, output paths)."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

from microbp.cli.output import to_stderr
from microbp.files import new_file_beside
from microbp.nn import HIDDEN_ACTIVATIONS
from microbp.validate import brief

EXIT_OK, EXIT_DISAGREE, EXIT_USAGE = 0, 1, 2
EXIT_FAULT = 3  # the command could not finish: out of memory, a full disk, an unwritable output
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a shell reports a program its pipe reader left
EXIT_INTERRUPTED = 130  # 128 + SIGINT

#: The options whose value is a list of numbers, which may start with a minus sign.
NUMBER_LIST_OPTIONS = ("--x", "--target")
_NUMBER_START = re.compile(r"-\.?[0-9]")


class Interrupts:
    """Ctrl-C, remembered: Python raises `KeyboardInterrupt` wherever the program happens to be,
    and where that is a garbage-collector callback (hypothesis registers one) Python drops it,
    printing a traceback. While `caught`, such a dropped interrupt is not printed, and long
    loops call `check`, so that it still stops the command."""

    def __init__(self) -> None:
        self.received = threading.Event()

    def on_signal(self, signum: int, frame: object) -> None:
        self.received.set()
        raise KeyboardInterrupt

    def check(self) -> None:
        """Raise `KeyboardInterrupt` if Ctrl-C came since `caught` began."""
        if self.received.is_set():
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def caught(self) -> Iterator[None]:
        """Remember Ctrl-C while the command runs (only the main thread can be signalled)."""
        self.received.clear()
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.signal(signal.SIGINT, self.on_signal)
        previous_hook = sys.unraisablehook

        def drop_interrupts(unraisable: sys.UnraisableHookArgs) -> None:
            if not isinstance(unraisable.exc_value, KeyboardInterrupt):
                previous_hook(unraisable)

        sys.unraisablehook = drop_interrupts
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)
            sys.unraisablehook = previous_hook


#: The command's interrupts.
INTERRUPTS = Interrupts()


class OutputFault(Exception):
    """An output the command was asked to write could not be written (a full disk, a file
    size limit): exit status 3, the old file left as it was."""


class UsageError(Exception):
    """A bad argument found after parsing, e.g. a label out of range for the chosen sizes."""


_LONG_WORD = re.compile(r"\S{120,}")
#: The most characters of an error message the command prints.
MAX_MESSAGE = 1000


def bounded(message: str) -> str:
    """``message`` with each very long word (a 100 kB argument echoed back) cut to its ends,
    and the whole cut to at most about `MAX_MESSAGE` characters."""
    message = _LONG_WORD.sub(
        lambda word: f"{word[0][:60]}…{word[0][-20:]} ({len(word[0]):,} characters)", message
    )
    if len(message) <= MAX_MESSAGE:
        return message
    return f"{message[: MAX_MESSAGE - 200]} … {message[-150:]}"


class Parser(argparse.ArgumentParser):
    """argparse, but an error is one line on stderr (no usage dump) and exit status 2, and the
    usage or version that cannot be written (a full disk) is an error, not silence."""

    def error(self, message: str) -> NoReturn:
        self.exit(
            EXIT_USAGE, f"{self.prog}: error: {bounded(message)} (see `{self.prog} --help`)\n"
        )

    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        if not message:
            return
        if file is None or file is sys.stderr:  # an error: its exit status says it all
            to_stderr(message)
        else:  # argparse's own would swallow an OSError here
            file.write(message)


def join_negative_number_lists(argv: Sequence[str]) -> list[str]:
    """``--x -0.5,1`` as ``--x=-0.5,1``: argparse takes a value starting with ``-`` for an
    option unless it is one plain number, and a list of numbers is not."""
    joined: list[str] = []
    for arg in argv:
        if joined and joined[-1] in NUMBER_LIST_OPTIONS and _NUMBER_START.match(arg):
            joined[-1] = f"{joined[-1]}={arg}"
        else:
            joined.append(arg)
    return joined


# ---- argument types: each turns the text into a value or raises one clear line ----


def positive_ints(text: str) -> list[int]:
    """``3,3,2`` as [3, 3, 2]: at least two sizes, each at least 1."""
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


def finite_float(text: str) -> float:
    """One finite number."""
    try:
        number = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(number):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return number


def finite_floats(text: str) -> list[float]:
    """Finite numbers separated by commas."""
    return [finite_float(part) for part in text.split(",")]


def positive_float(text: str) -> float:
    """One finite number above 0."""
    number = finite_float(text)
    if number <= 0.0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
    return number


def whole_number(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """The argument type of a whole number at least ``minimum`` (and at most ``maximum``)."""

    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if n < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {n}")
        if maximum is not None and n > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum:,}, got {n:,}")
        return n

    return parse


def output_path(text: str) -> Path:
    """A path a file can be written to, found out before any work by trying what the write
    will do: open an existing file to append, or make (and remove) a new file beside it.
    Nothing is created at the path itself, nor through a symbolic link there."""
    if not text:
        raise argparse.ArgumentTypeError("the path is empty; give a file name")
    path = Path(text)
    shown = brief(text)
    try:
        if path.is_dir():
            raise argparse.ArgumentTypeError(f"{shown} is a directory; give a file name")
        if path.exists() and not path.is_file():  # a FIFO or a device: opening it could hang
            raise argparse.ArgumentTypeError(f"{shown} is not a regular file; give a file name")
        if not path.parent.exists():
            raise argparse.ArgumentTypeError(
                f"the directory {brief(str(path.parent))} does not exist"
            )
        if not path.parent.is_dir():
            raise argparse.ArgumentTypeError(
                f"{brief(str(path.parent))} is a file, not a directory"
            )
        if path.exists():
            with open(path, "ab"):
                pass
        else:
            os.unlink(new_file_beside(path)[0])
    except OSError as error:  # a name too long, a read-only folder, no permission, …
        raise argparse.ArgumentTypeError(
            f"cannot write {shown}: {error.strerror or error}"
        ) from None
    return path


# ---- options several subcommands take ----


def add_network_options(
    parser: argparse.ArgumentParser, sizes: list[int], metavar: str, what: str, hidden: str
) -> None:
    """--sizes and --hidden, the network's shape, which each subcommand defaults its own way."""
    shown = ",".join(map(str, sizes))
    parser.add_argument(
        "--sizes",
        type=positive_ints,
        default=sizes,
        metavar=metavar,
        help=f"{what} (default {shown})",
    )
    parser.add_argument(
        "--hidden",
        choices=HIDDEN_ACTIVATIONS,
        default=hidden,
        help=f"hidden activation (default {hidden})",
    )


def add_seed_option(parser: argparse.ArgumentParser, what: str) -> None:
    """--seed, a whole number ≥ 0 defaulting to 0; ``what`` says what it seeds."""
    parser.add_argument(
        "--seed", type=whole_number(0), default=0, help=f"seed for {what} (default 0)"
    )


#: The most any count option (--epochs, --examples, …) takes: a run that long is a mistake.
MAX_COUNT = 1_000_000


def add_count_option(
    parser: argparse.ArgumentParser, flag: str, default: int, help_text: str
) -> None:
    """An option taking a whole number from 1 to `MAX_COUNT`, e.g. --epochs."""
    parser.add_argument(
        flag,
        type=whole_number(1, MAX_COUNT),
        default=default,
        metavar="N",
        help=f"{help_text} (default {default})",
    )
