"""How the subcommands print: one rich console, numbers in aligned columns, plain words."""

from __future__ import annotations

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
