"""The lines of an audit, run one after the other in the process that has the engine.

The audit's child process runs them (`child`); so does `audit` for an engine given as an object
of the caller's. The composite lines are built from the ops that passed their own line, so each
bug is reported once, by the line it breaks.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from pathlib import Path

from microbp.audit import edges, properties
from microbp.audit.adapter import Engine
from microbp.audit.checks import describe_error
from microbp.audit.ops import OPS
from microbp.audit.report import FAIL, PASS, PropertyResult
from microbp.audit.support import supported_ops


def lines(only: Collection[str] | None = None) -> list[tuple[str, str]]:
    """Every line of a report (or those whose keys are in ``only``), in order: (key, title)."""
    every = [(f"op:{op}", OPS[op].title) for op in OPS] + list(properties.TITLES.items())
    if only is None:
        return every
    unknown = set(only) - {key for key, _ in every}
    if unknown:
        raise ValueError(f"no line {sorted(unknown)!r}; the lines are {[k for k, _ in every]}")
    return [(key, title) for key, title in every if key in only]


def _line(
    engine: Engine,
    key: str,
    examples: int,
    seed: int,
    svg_dir: Path | None,
    results: Mapping[str, PropertyResult],
) -> PropertyResult:
    if key.startswith("op:"):
        return properties.op_property(engine, key[3:], examples, seed, svg_dir)
    ops = {k[3:]: r.status for k, r in results.items() if k.startswith("op:")}
    passed = (
        frozenset(op for op, status in ops.items() if status == PASS)
        if ops
        else supported_ops(engine)  # no op's line was run: the ops the engine has
    )
    drawn = (examples, seed, svg_dir, passed)
    if key == "shared_nodes":
        return properties.shared_nodes(engine, *drawn)
    if key.startswith("second_backward_"):
        return properties.second_backward(engine, key.endswith("leaves"), *drawn)
    if key == "deep_chains":
        return properties.deep_chains(engine, passed)
    if key == "network":
        return properties.network(engine, *drawn)
    if key == "sgd_step":
        return properties.sgd_step(engine, *drawn)
    if key == "extreme_inputs":
        return edges.extreme_inputs(engine, passed, svg_dir)
    return edges.reflected(engine, dict(results))


def run_lines(
    engine: Engine,
    examples: int,
    seed: int,
    svg_dir: Path | None = None,
    done: Mapping[str, PropertyResult] | None = None,
    on_start: Callable[[str, str], None] | None = None,
    only: Collection[str] | None = None,
) -> Iterator[PropertyResult]:
    """Each line's result in turn (the lines in ``only``, if given), but those in ``done``
    (whose results the others use).

    Whatever a line raises, sys.exit included, is that line's failure.
    """
    results = dict(done or {})
    for key, title in lines(only):
        if key in results:
            continue
        if on_start is not None:
            on_start(key, title)
        try:
            result = _line(engine, key, examples, seed, svg_dir, results)
        except (Exception, SystemExit) as error:  # the engine's code raised past every check
            result = PropertyResult(key, title, FAIL, 0, f"stopped by {describe_error(error)}")
        results[key] = result
        yield result
