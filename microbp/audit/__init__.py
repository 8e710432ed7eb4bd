"""Hold anyone's autograd engine to the properties microbp passes.

::

    from microbp.audit import audit

    report = audit("micrograd.engine:Value")
    assert report.ok, report.failures

The target is a micrograd-style value class (``module:Name`` or ``path/to/file.py:Name``), or
a function returning an adapter (`Adapter`) for an engine with another interface. Each property
is a line of the `Report`: every op's value and derivative (what the engine lacks is "not
supported"), expressions reusing nodes, a second ``backward()`` on leaves and interior nodes,
deep chains, a whole network against the notes' matrix formulas, one SGD step. Each runs with a
time limit, and whatever the engine raises is that property's failure, never the audit's.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from microbp.audit import properties
from microbp.audit.adapter import Adapter, Engine, TargetError, ValueClassAdapter, load
from microbp.audit.checks import describe_error
from microbp.audit.guard import run_limited
from microbp.audit.ops import OPS
from microbp.audit.program import Instruction, Program
from microbp.audit.report import FAIL, PASS, Counterexample, PropertyResult, Report
from microbp.validate import check_count, check_number

__all__ = [
    "OPS",
    "Adapter",
    "Counterexample",
    "Engine",
    "Instruction",
    "Program",
    "PropertyResult",
    "Report",
    "TargetError",
    "ValueClassAdapter",
    "audit",
    "load",
    "properties",
]

#: Seconds each property may take before it is stopped and reported as a hang.
TIME_LIMIT = 60.0


def _guarded(
    key: str, title: str, run: Callable[[], PropertyResult], time_limit: float
) -> PropertyResult:
    """``run()``'s result, or a failed result saying how it ended (a hang, an exception)."""
    outcome = run_limited(run, time_limit)
    if outcome.result is not None:
        return outcome.result
    if outcome.timed_out:
        detail = f"no result within {time_limit:g} s: the engine hangs, or is too slow"
        if not outcome.stopped:
            detail += " (it is stuck in one call and could not be stopped)"
        return PropertyResult(key, title, FAIL, 0, detail)
    assert outcome.error is not None
    return PropertyResult(key, title, FAIL, 0, f"stopped by {describe_error(outcome.error)}")


def audit(
    target: object,
    *,
    examples: int = 100,
    seed: int = 0,
    svg_dir: str | Path | None = None,
    time_limit: float = TIME_LIMIT,
    on_start: Callable[[str], None] | None = None,
) -> Report:
    """Run every property on the engine ``target`` and report each.

    Args:
        target: ``"module:Name"`` or ``"path/to/file.py:Name"`` (a value class, or a function
            returning an adapter), a value class itself, or an adapter.
        examples: how many examples hypothesis draws for each property that draws them.
        seed: hypothesis' seed: the same seed, the same examples and counterexamples.
        svg_dir: a folder (which must exist) to draw each failing example in, as SVG.
        time_limit: seconds each property may take before it is reported as a hang.
        on_start: called with each property's title as it starts (to show progress).

    Raises `TargetError` (a ValueError) when the target cannot be imported or does not look
    like an engine; any other trouble is a failed property in the report.
    """
    check_count(examples, "examples")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an int ≥ 0, got {seed!r}")
    if not check_number(time_limit, "time_limit") > 0.0:
        raise ValueError(f"time_limit must be a positive number of seconds, got {time_limit!r}")
    folder = None if svg_dir is None else Path(svg_dir)
    if folder is not None and not folder.is_dir():
        raise ValueError(f"svg_dir {str(folder)!r} is not an existing folder")
    engine = load(target)

    def run(key: str, title: str, check: Callable[[], PropertyResult]) -> PropertyResult:
        if on_start is not None:
            on_start(title)
        return _guarded(key, title, check, time_limit)

    results = [
        run(
            f"op:{op}",
            OPS[op].title,
            partial(properties.op_property, engine, op, examples, seed, folder),
        )
        for op in OPS
    ]
    # The rest is built from the ops that passed, so each failure is reported once, by the
    # property it breaks (a wrong derivative of exp by exp's line, not by every expression).
    passed = frozenset(op for op, result in zip(OPS, results) if result.status == PASS)
    drawn = (examples, seed, folder, passed)
    checks: dict[str, Callable[[], PropertyResult]] = {
        "shared_nodes": partial(properties.shared_nodes, engine, *drawn),
        "second_backward_leaves": partial(properties.second_backward, engine, True, *drawn),
        "second_backward_interior": partial(properties.second_backward, engine, False, *drawn),
        "deep_chains": partial(properties.deep_chains, engine, passed),
        "network": partial(properties.network, engine, *drawn),
        "sgd_step": partial(properties.sgd_step, engine, *drawn),
    }
    for key, check in checks.items():
        results.append(run(key, properties.TITLES[key], check))
    return Report(engine.spec, tuple(results), examples, seed)
