"""Which example is running, told to whoever listens: the audit's child process sends each to
its parent before running it, so that a crash is pinned on the example that caused it.

Nothing listens in an ordinary process, and then announcing costs one comparison.
"""

from __future__ import annotations

from collections.abc import Callable

#: Called with each example's runnable snippet and its number of ops as it starts, if set.
Listener = Callable[[str, int], None]
_listener: list[Listener] = []


def listen(listener: Listener | None) -> None:
    """Send every example from now on to ``listener`` (None: to nobody)."""
    _listener.clear()
    if listener is not None:
        _listener.append(listener)


def announce(write: Callable[[], str], ops: int) -> None:
    """Tell the listener the example ``write()`` writes, of ``ops`` ops, is starting."""
    if _listener:
        _listener[0](write(), ops)
