"""Which ops an engine has: each op made once at a point of its domain, and how it refuses."""

from __future__ import annotations

from collections.abc import Collection

from microbp.audit import progress, snippets
from microbp.audit.adapter import Engine
from microbp.audit.checks import describe_error
from microbp.audit.ops import OPS
from microbp.audit.program import LEAF, Instruction, Program, StepFailed

#: Exceptions with which an engine says it has no such op (`supported_ops`).
REFUSALS = (NotImplementedError, TypeError, AssertionError)
#: The method Python looks for on the right operand of each op with a number first: ``2 * x``
#: is ``x.__rmul__(2)`` once ``float.__mul__`` has declined.
REFLECTED = {
    "number_add": "__radd__",
    "number_sub": "__rsub__",
    "number_mul": "__rmul__",
    "number_div": "__rtruediv__",
}


def _probe(op: str) -> Program:
    """``op`` on numbers inside every op's domain: x = 0.75, y = 1.25, the number 2."""
    spec = OPS[op]
    leaves = [Instruction(LEAF, number=x) for x in (0.75, 1.25)[: spec.operands.count("n")]]
    number = 2 if "c" in spec.operands else None
    return Program((*leaves, Instruction(op, tuple(range(len(leaves))), number)))


def _probe_written(op: str) -> str:
    """The probe as Python: ``2 * x``."""
    return OPS[op].write(["2" if kind == "c" else "x" for kind in OPS[op].operands])


def refusal(engine: Engine, op: str) -> str | None:
    """The engine's words for not having ``op``, or None when it has it.

    An op is missing when making it at a point of its domain raises NotImplementedError (an
    adapter's way, and a value class's missing method), TypeError (Python's, for a missing
    operator) or AssertionError (micrograd's ``**`` of a value). Any other exception is the
    op failing, which its own property then reports.
    """
    probe = _probe(op)
    progress.announce(lambda: snippets.write_run(engine, probe, passes=0), 1)
    try:
        probe.run(engine.adapter)
    except StepFailed as failed:
        if isinstance(failed.error, NotImplementedError) and str(failed.error):
            return str(failed.error)  # an adapter's own words
        if isinstance(failed.error, TypeError) and op in REFLECTED:
            return f"`{_probe_written(op)}` raises TypeError: no `{REFLECTED[op]}`"
        if isinstance(failed.error, REFUSALS):
            return describe_error(failed.error)
    return None


def supported_ops(engine: Engine) -> frozenset[str]:
    """The ops of `OPS` the engine has: those it does not refuse (`refusal`)."""
    return frozenset(op for op in OPS if refusal(engine, op) is None)


def supported_or_probed(engine: Engine, supported: Collection[str] | None) -> frozenset[str]:
    """``supported``, or when None the ops the engine has (`supported_ops`)."""
    return supported_ops(engine) if supported is None else frozenset(supported)
