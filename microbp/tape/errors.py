"""The tape's own error."""

from __future__ import annotations


class TapeError(ValueError):
    """A graph the tape cannot record, a batch it cannot replay, or a graph that differs."""
