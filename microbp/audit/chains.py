"""The deep-chains line: how deep a graph the engine's backward handles, 10 to 10⁵ ops."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import partial

from microbp.audit import progress, snippets
from microbp.audit.adapter import Engine
from microbp.audit.checks import describe_error, read
from microbp.audit.ops import OPS
from microbp.audit.report import FAIL, LIMIT, PASS, SKIPPED, Counterexample, PropertyResult
from microbp.audit.support import supported_or_probed

KEY, TITLE = "deep_chains", "deep chains"
#: The chain depths `deep_chains` tries, in order.
CHAIN_DEPTHS = (10, 100, 1_000, 10_000, 100_000)
#: The ops a chain may be made of, the first the engine has taken: each keeps the numbers
#: bounded, with data and d(root)/d(leaf) known at any depth n, from the leaf 0.5.
CHAIN_OPS: dict[str, tuple[Callable[[int], float], Callable[[int], float]]] = {
    "neg": (lambda n: 0.5 * (-1.0) ** n, lambda n: (-1.0) ** n),
    "add_number": (lambda n: 0.5 + n, lambda n: 1.0),
    "number_add": (lambda n: 0.5 + n, lambda n: 1.0),
    "mul_number": (lambda n: 0.5, lambda n: 1.0),
}


@dataclass(frozen=True)
class _ChainFailure:
    """How a chain failed: on which ``line`` of its snippet ("forward", "backward" or "grad"),
    at which ``step`` ("backward()", or the number read: "x.grad"), and what happened: the
    ``error`` raised, or the engine's number and the right one."""

    line: str
    step: str
    error: str = ""
    quantity: str = "grad"
    engine: float | None = None
    right: float | None = None

    @property
    def what(self) -> str:
        if self.error:
            return f"{self.step} raises {self.error}"
        return f"{self.step} is {self.engine!r}, right {self.right!r}"


def _chain_failure(engine: Engine, op: str, depth: int) -> _ChainFailure | None:
    """How a chain of ``depth`` ops fails, or None when its data and the leaf's grad are
    right (both are exact in floats: ±0.5, 0.5 + n, ±1)."""
    data, grad = CHAIN_OPS[op]
    adapter = engine.adapter
    kinds = OPS[op].operands
    try:
        x = adapter.leaf(0.5)
        y = x
        for _ in range(depth):
            y = adapter.apply(op, *(y if k == "n" else 1.0 for k in kinds))
    except (Exception, SystemExit) as error:  # sys.exit in an engine is its failure too
        return _ChainFailure("forward", "building it", describe_error(error))
    try:
        adapter.backward(y)
    except (Exception, SystemExit) as error:
        return _ChainFailure("backward", "backward()", describe_error(error))
    try:
        got = read(engine, "data", y, "y"), read(engine, "grad", x, "x")
    except (Exception, SystemExit) as error:
        return _ChainFailure("grad", "reading x.grad", describe_error(error))
    if got[0] != data(depth):
        return _ChainFailure("grad", "y.data", "", "data", got[0], data(depth))
    if got[1] != grad(depth):
        return _ChainFailure("grad", "x.grad", "", "grad", got[1], grad(depth))
    return None


def deep_chains(engine: Engine, supported: Collection[str] | None = None) -> PropertyResult:
    """Chains 10, 10², … 10⁵ ops deep: the deepest whose backward is right, stopping at the
    first that fails and saying what it did (a RecursionError, for a recursive backward)."""
    key, title = KEY, TITLE
    ops = supported_or_probed(engine, supported)
    op = next((op for op in CHAIN_OPS if op in ops), None)
    if op is None:
        needs = ", ".join(OPS[o].title for o in CHAIN_OPS)
        return PropertyResult(key, title, SKIPPED, 0, f"needs one of {needs}")
    deepest = 0
    for tried, depth in enumerate(CHAIN_DEPTHS, start=1):
        progress.announce(partial(snippets.write_chain, engine, op, depth, "", ""), depth)
        failure = _chain_failure(engine, op, depth)
        if failure is None:
            deepest = depth
            continue
        detail = f"{depth:,} deep: {failure.what}"
        if deepest:
            detail = f"fine {deepest:,} deep; {detail}"
        if failure.error:
            comment = f"raises {failure.error}"
        else:
            comment = f"this engine: {failure.engine!r}, right: {failure.right!r}"
        snippet = snippets.write_chain(engine, op, depth, comment, failure.line, failure.quantity)
        example = Counterexample(
            snippet,
            "y" if failure.quantity == "data" else "x",
            failure.quantity,
            failure.engine,
            failure.right,
            failure.error,
            depth,
        )
        status = LIMIT if failure.error.startswith("RecursionError") else FAIL
        return PropertyResult(key, title, status, tried, detail, example)
    return PropertyResult(
        key, title, PASS, len(CHAIN_DEPTHS), f"{deepest:,} ops deep, of {OPS[op].title}"
    )
