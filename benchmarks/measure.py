"""Timing under a chosen garbage-collector state, traced bytes, peak RSS, and their summaries."""

from __future__ import annotations

import gc
import resource
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

GC_MODES = ("gc_on", "gc_off")


@dataclass(frozen=True)
class Step:
    """What is timed, what runs before the timer, and what is read after it.

    ``reset()`` (e.g. zeroing grads) runs untimed before each ``run()``; ``run()`` returns its
    result (the loss, holding the graph) so that freeing the graph is not timed either;
    ``fingerprint(result)`` reads the loss and gradients, to check the engines did the same.
    A run too slow to repeat whole may do a part of the work: ``scale`` says how many such runs
    the reported figure stands for, and ``note`` says so in the table (e.g. "2 epochs ×50").
    """

    reset: Callable[[], object]
    run: Callable[[], Any]
    fingerprint: Callable[[Any], list[float]]
    scale: int = 1
    note: str | None = None


def time_once(step: Step, gc_mode: str) -> tuple[float, Any]:
    """Seconds one ``step.run()`` takes with the collector on (its default state) or off.

    A full collection first, outside the timer, so each repetition starts from the same heap.
    """
    step.reset()
    gc.collect()
    if gc_mode == "gc_off":
        gc.disable()
    try:
        start = time.perf_counter()
        result = step.run()
        seconds = time.perf_counter() - start
    finally:
        gc.enable()
    return seconds, result


def repeat(
    step: Step, gc_mode: str, *, min_reps: int, max_reps: int, budget: float
) -> tuple[list[float], list[float]]:
    """At least ``min_reps`` timings, more up to ``max_reps`` while under ``budget`` seconds,
    and the fingerprint of the last run.

    One untimed warm-up first unless a single run is already slow (over a second), where
    there is nothing left to warm up.
    """
    seconds, result = time_once(step, gc_mode)
    times = [] if seconds < 1.0 else [seconds]
    while len(times) < min_reps or (len(times) < max_reps and sum(times) < budget):
        del result
        seconds, result = time_once(step, gc_mode)
        times.append(seconds)
    fingerprint = step.fingerprint(result)
    del result
    gc.collect()
    return times, fingerprint


def traced_bytes(build: Callable[[], T], then: Callable[[T], object]) -> tuple[int, int]:
    """Bytes still allocated (tracemalloc) after ``build()``, and after ``then`` on its result."""
    gc.collect()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        built = build()
        gc.collect()
        after_build = tracemalloc.get_traced_memory()[0] - start
        then(built)
        gc.collect()
        after_then = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    return after_build, after_then


def peak_rss_bytes() -> int:
    """This process's peak resident set size so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def summary(times: list[float]) -> dict[str, float]:
    return {"median": statistics.median(times), "min": min(times), "max": max(times)}
