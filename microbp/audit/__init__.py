"""Hold anyone's autograd engine to the properties microbp passes.

::

    from microbp.audit import audit

    report = audit("micrograd.engine:Value")
    assert report.ok, report.failures

The target is a micrograd-style value class (``module:Name`` or ``path/to/file.py:Name``), or
a function returning an adapter (`Adapter`) for an engine with another interface. Each property
is a line of the `Report`: every op's value and derivative (what the engine lacks is "not
supported"), expressions reusing nodes, a second ``backward()`` on leaves and interior nodes,
deep chains, a whole network against the notes' matrix formulas, one SGD step, extreme inputs and
the reflected operators. The engine runs in a child process of its own (`isolation`): whatever
it raises, a crash or a hang included, is a line's failure, never the audit's.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from pathlib import Path

from microbp.audit import isolation, properties, runner
from microbp.audit.adapter import (
    Adapter,
    Engine,
    TargetError,
    ValueClassAdapter,
    absolute_target,
    load,
)
from microbp.audit.isolation import Limits
from microbp.audit.ops import OPS
from microbp.audit.program import Instruction, Program
from microbp.audit.report import Counterexample, PropertyResult, Report
from microbp.validate import check_count, check_number

__all__ = [
    "OPS",
    "Adapter",
    "Counterexample",
    "Engine",
    "Instruction",
    "Limits",
    "Program",
    "PropertyResult",
    "Report",
    "TargetError",
    "ValueClassAdapter",
    "audit",
    "load",
    "properties",
]

#: Seconds each line may take (the target's loading too) before it is reported as a hang.
TIME_LIMIT = 60.0
#: Bytes of address space a child process may take (RLIMIT_AS), and of output it may write.
MEMORY_LIMIT = Limits().memory
OUTPUT_LIMIT = Limits().output


def _check_options(examples: int, seed: int, time_limit: float, memory_limit: int | None) -> None:
    check_count(examples, "examples")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an int ≥ 0, got {seed!r}")
    if not check_number(time_limit, "time_limit") > 0.0:
        raise ValueError(f"time_limit must be a positive number of seconds, got {time_limit!r}")
    if memory_limit is not None:
        check_count(memory_limit, "memory_limit")


def _spec(target: object) -> str | None:
    """The ``module:Name`` a child process can load ``target`` by, or None for an object
    that only this process has (an adapter instance, a class of ``__main__``)."""
    if isinstance(target, str):
        return target
    if isinstance(target, type) and target.__module__ != "__main__":
        return f"{target.__module__}:{target.__qualname__}"
    return None


def audit(
    target: object,
    *,
    examples: int = 100,
    seed: int = 0,
    svg_dir: str | Path | None = None,
    time_limit: float = TIME_LIMIT,
    memory_limit: int | None = MEMORY_LIMIT,
    on_start: Callable[[str], None] | None = None,
    only: Collection[str] | None = None,
) -> Report:
    """Run every line on the engine ``target``, in a child process of its own, and report each.

    Args:
        target: ``"module:Name"`` or ``"path/to/file.py:Name"`` (a value class, or a function
            returning an adapter), or a value class itself. An adapter object (or a class of
            ``__main__``) cannot go to another process: it runs here, without isolation.
        examples: how many examples hypothesis draws for each line that draws them.
        seed: hypothesis' seed: the same seed, the same examples and counterexamples.
        svg_dir: a folder (which must exist) to draw each failing example in, as SVG.
        time_limit: seconds each line may take before it is reported as a hang.
        memory_limit: bytes of address space the child may take (None: no bound).
        on_start: called with each line's title as it starts (to show progress).
        only: the keys of the lines to run (``"op:mul"``, ``"deep_chains"``…); default all.

    Raises `TargetError` (a ValueError) when the target cannot be imported or does not look
    like an engine; any other trouble, a crash of the interpreter included, is a failed line.
    """
    _check_options(examples, seed, time_limit, memory_limit)
    folder = None if svg_dir is None else Path(svg_dir)
    if folder is not None and not folder.is_dir():
        raise ValueError(f"svg_dir {str(folder)!r} is not an existing folder")
    chosen = runner.lines(only)  # an unknown key is refused before anything runs
    spec = _spec(target)

    def started(key: str, title: str) -> None:
        if on_start is not None:
            on_start(title)

    if spec is None:
        engine = load(target)
        results = list(
            runner.run_lines(engine, examples, seed, folder, on_start=started, only=only)
        )
        return Report(engine.spec, tuple(results), examples, seed)
    if spec.rpartition(":")[1] == "" or not all(spec.rpartition(":")[::2]):
        load(spec)  # refused here, in words, without a child
    limits = Limits(time_limit, memory_limit, OUTPUT_LIMIT)
    results = isolation.run_target(
        absolute_target(spec), chosen, examples, seed, folder, limits, started
    )
    return Report(spec, tuple(results), examples, seed)
