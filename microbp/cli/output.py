"""How the subcommands print: one rich console, numbers in aligned columns, plain words."""

from __future__ import annotations

import errno
import io
import os
import re
import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    import numpy as np
    from rich.console import Console, RenderableType

_TRAILING_SPACES = re.compile(r" +(?=(?:\x1b\[[0-9;]*m)*\n)")


class TrimmedLines:
    """A text stream that drops the spaces rich pads a table's last column with, at line ends."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.pending = ""

    def write(self, text: str) -> int:
        lines, newline, self.pending = (self.pending + text).rpartition("\n")
        if newline:
            self.stream.write(_TRAILING_SPACES.sub("", lines + newline))
        return len(text)

    def flush(self) -> None:
        if self.pending:
            self.stream.write(self.pending)
            self.pending = ""
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()

    @property
    def encoding(self) -> str:
        return getattr(self.stream, "encoding", None) or "utf-8"


class ClosedOutput(io.TextIOBase):
    """Standard output the command was started without (``>&-``): writing to it is the
    output fault it is, an `OSError`, where ``sys.stdout`` being None would be a traceback."""

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "standard output is closed")


def _reopen_closed_descriptors() -> list[int]:
    """Point each of descriptors 0, 1, 2 that is closed at /dev/null, so no file the command
    opens takes its number (and its output goes to a file as if it were stdout); which were."""
    closed = []
    for descriptor in (0, 1, 2):
        try:
            os.fstat(descriptor)
        except OSError:
            closed.append(descriptor)
    for descriptor in closed:
        opened = os.open(os.devnull, os.O_RDWR)
        if opened != descriptor:
            os.dup2(opened, descriptor)
            os.close(opened)
    return closed


def guard_standard_streams() -> None:
    """Make a closed stdout an `OSError` on the first write (exit status 3) and a closed stderr
    a quiet one, so neither changes how the command ends nor where its messages go."""
    closed = _reopen_closed_descriptors()
    if sys.stdout is None or 1 in closed:
        sys.stdout = ClosedOutput()
    if sys.stderr is None or 2 in closed:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")


def to_stderr(text: str) -> None:
    """``text`` on stderr if it can be written there; a full or broken stderr changes nothing
    else (the exit status says what happened)."""
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except (OSError, ValueError):  # ValueError: stderr was closed from inside the process
        sys.stderr = open(os.devnull, "w", encoding="utf-8")


def console() -> Console:
    """Rich console on stdout: colour on a terminal, plain text when piped."""
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:  # rich would exit with status 1, our "disagree"
            raise BrokenPipeError

    return _Console(file=TrimmedLines(sys.stdout), highlight=False, soft_wrap=True)  # type: ignore[arg-type]


def fixed(x: float, spec: str = " .6f") -> str:
    """``x`` formatted with ``spec``, a zero never shown with a minus sign (no ``-0.000000``)."""
    text = f"{x:{spec}}"
    return f"{0.0:{spec}}" if float(text) == 0.0 else text


def numbers(values: np.ndarray, style: str) -> RenderableType:
    """A vector or matrix as aligned columns of numbers (a vector is shown as a column)."""
    from rich.text import Text

    rows = values.reshape(values.shape[0], -1)
    lines = ["  ".join(fixed(float(v)) for v in row) for row in rows]
    return Text("\n".join(lines), style=style, no_wrap=True)


def count_of(n: int, thing: str) -> str:
    """``1 point``, ``2 points``."""
    return f"{n} {thing}" if n == 1 else f"{n} {thing}s"
