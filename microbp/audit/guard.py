"""Running a user's code for one property: a time limit, and every failure kept as a result.

The user's engine runs in this process (it is their code), each property on a worker thread
of its own. The calling thread waits at most ``seconds``; then it raises `TimeUp` inside the
worker (CPython's ``PyThreadState_SetAsyncExc``), which stops a pure-Python loop at its next
step. Code stuck inside one C call cannot be stopped that way: its thread is left behind as a
daemon and reported so. `TimeUp` is a BaseException, so neither hypothesis nor an engine's
``except Exception`` swallows it. The worker gets a large stack, so a recursive engine goes as
deep as Python's recursion limit lets it (which the audit never changes) without crashing.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

#: How long a timed-out worker gets to stop once told to.
GRACE_SECONDS = 2.0
#: The worker thread's stack: room for deep recursion in an engine.
STACK_BYTES = 256 * 1024 * 1024
_stack_lock = threading.Lock()


class TimeUp(BaseException):
    """Raised in a property's worker thread when its time limit has passed."""


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """How a guarded call ended: its ``result``, or the ``error`` it raised, or ``timed_out``
    (with ``stopped`` telling whether the worker did stop)."""

    result: T | None = None
    error: BaseException | None = None
    timed_out: bool = False
    stopped: bool = True


def _start(target: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=target, name="microbp-audit-property", daemon=True)
    with _stack_lock:
        try:
            previous = threading.stack_size(STACK_BYTES)
        except (ValueError, RuntimeError):  # a platform that cannot size thread stacks
            thread.start()
            return thread
        try:
            thread.start()
        finally:
            threading.stack_size(previous)
    return thread


def _interrupt(thread: threading.Thread) -> None:
    pythonapi = getattr(ctypes, "pythonapi", None)
    if pythonapi is not None and thread.ident is not None:
        pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(TimeUp))


def run_limited(call: Callable[[], T], seconds: float) -> Outcome[T]:
    """``call()`` on a worker thread, given at most ``seconds``; never raises what it raises."""
    box: dict[str, object] = {}

    def work() -> None:
        try:
            box["result"] = call()
        except TimeUp:
            box["stopped"] = True
        except BaseException as error:  # anything at all the user's code raises is a result
            box["error"] = error

    thread = _start(work)
    try:
        thread.join(seconds)
    except BaseException:  # Ctrl-C while waiting: stop the worker too, then pass it on
        _interrupt(thread)
        raise
    if thread.is_alive():
        _interrupt(thread)
        thread.join(GRACE_SECONDS)
        return Outcome(timed_out=True, stopped=not thread.is_alive())
    if "error" in box:
        return Outcome(error=box["error"])  # type: ignore[arg-type]
    return Outcome(result=box.get("result"))  # type: ignore[arg-type]
