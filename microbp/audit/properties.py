"""The properties microbp passes, each run on an engine: hypothesis draws the examples, a check
from `checks` judges each, and the first failure is shrunk to the smallest example.

Every function takes an `Engine` (see `adapter.load`) and returns a `PropertyResult`; those that
draw examples take how many (``examples``) and a ``seed``. ``supported`` is the set of op names
the engine has (`supported_ops`); it is worked out when not given.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

from hypothesis import assume
from hypothesis import strategies as st

from microbp.audit import search, snippets
from microbp.audit.adapter import Engine
from microbp.audit.checks import (
    Discrepancy,
    check_network,
    check_program,
    check_second_backward,
    check_sgd_step,
    describe_error,
    read,
)
from microbp.audit.ops import OPS
from microbp.audit.pictures import draw_discrepancy
from microbp.audit.program import (
    ACTIVATION_NEEDS,
    AFFINE_NEEDS,
    LEAF,
    LOSS_NEEDS,
    Instruction,
    NetworkProgram,
    Program,
    StepFailed,
    from_network,
)
from microbp.audit.report import FAIL, NOT_SUPPORTED, PASS, SKIPPED, Counterexample, PropertyResult
from microbp.nn import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS
from microbp.strategies import NetworkCase, network_cases

#: Exceptions with which an engine says it has no such op (`supported_ops`).
REFUSALS = (NotImplementedError, TypeError, AssertionError)
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


#: The properties beyond the single ops, by key, with the titles the report gives them.
TITLES = {
    "shared_nodes": "reused nodes",
    "second_backward_leaves": "2nd backward(): leaves",
    "second_backward_interior": "2nd backward(): interior",
    "deep_chains": "deep chains",
    "network": "network ∇W, ∇b",
    "sgd_step": "SGD step",
}


def _probe(op: str) -> Program:
    """``op`` on numbers inside every op's domain: x = 0.75, y = 1.25, the number 2."""
    spec = OPS[op]
    leaves = [Instruction(LEAF, number=x) for x in (0.75, 1.25)[: spec.operands.count("n")]]
    number = 2 if "c" in spec.operands else None
    return Program((*leaves, Instruction(op, tuple(range(len(leaves))), number)))


def refusal(engine: Engine, op: str) -> str | None:
    """The engine's words for not having ``op``, or None when it has it.

    An op is missing when making it at a point of its domain raises NotImplementedError (an
    adapter's way, and a value class's missing method), TypeError (Python's, for a missing
    operator) or AssertionError (micrograd's ``**`` of a value). Any other exception is the
    op failing, which its own property then reports.
    """
    try:
        _probe(op).run(engine.adapter)
    except StepFailed as failed:
        if isinstance(failed.error, NotImplementedError) and str(failed.error):
            return str(failed.error)  # an adapter's own words
        if isinstance(failed.error, REFUSALS):
            return describe_error(failed.error)
    return None


def supported_ops(engine: Engine) -> frozenset[str]:
    """The ops of `OPS` the engine has: those it does not refuse (`refusal`)."""
    return frozenset(op for op in OPS if refusal(engine, op) is None)


def _supported(engine: Engine, supported: Collection[str] | None) -> frozenset[str]:
    return supported_ops(engine) if supported is None else frozenset(supported)


def counterexample(engine: Engine, d: Discrepancy, svg: Path | None = None) -> Counterexample:
    """The report's form of ``d``: a runnable snippet, the numbers, a picture if ``svg``."""
    picture = draw_discrepancy(d, svg) if svg is not None else None
    return Counterexample(
        snippets.write(engine, d),
        d.program.names()[d.node],
        d.quantity,
        d.engine,
        d.right,
        d.error,
        d.program.ops_count,
        d.note,
        picture,
    )


def _property_result(
    engine: Engine,
    key: str,
    title: str,
    found: tuple[int, Discrepancy | None],
    svg_dir: Path | None,
    passed: str = "",
) -> PropertyResult:
    runs, d = found
    if runs == 0:
        return PropertyResult(key, title, SKIPPED, 0, "no example in the ops' domains was drawn")
    if d is None:
        return PropertyResult(key, title, PASS, runs, passed)
    svg = svg_dir / f"{key.replace(':', '-')}.svg" if svg_dir is not None else None
    example = counterexample(engine, d, svg)
    return PropertyResult(key, title, FAIL, runs, example.summary, example)


def _exhausted(key: str, title: str, what: str) -> PropertyResult:
    return PropertyResult(key, title, SKIPPED, 0, f"no {what} in the engine's ops could be drawn")


def op_property(
    engine: Engine,
    op: str,
    examples: int = 100,
    seed_: int = 0,
    svg_dir: Path | None = None,
) -> PropertyResult:
    """``op``'s value and derivatives as microbp's, on operands drawn from its domain (edge
    points included); "not supported" when the engine does not have it (`refusal`)."""
    spec = OPS[op]
    key, title = f"op:{op}", spec.title
    missing = refusal(engine, op)
    if missing is not None:
        return PropertyResult(key, title, NOT_SUPPORTED, 0, missing)

    def check(numbers: tuple[float, ...]) -> None:
        kinds = spec.operands
        leaves = [Instruction(LEAF, number=x) for x, k in zip(numbers, kinds) if k == "n"]
        number = next((x for x, k in zip(numbers, kinds) if k == "c"), None)
        check_program(
            engine, Program((*leaves, Instruction(op, tuple(range(len(leaves))), number)))
        )

    found = search.hunt(spec.draw, check, examples, seed_)
    return _property_result(engine, key, title, found, svg_dir)


def shared_nodes(
    engine: Engine,
    examples: int = 100,
    seed_: int = 0,
    svg_dir: Path | None = None,
    supported: Collection[str] | None = None,
) -> PropertyResult:
    """Expressions that reuse nodes (`microbp.strategies.expression_dags`), made of the
    engine's ops: every node's data and grad as microbp's, so grads add up along every path."""
    key = "shared_nodes"
    title = TITLES[key]
    ops = _supported(engine, supported)
    if not search.dag_ops(ops):
        return _exhausted(key, title, "expression")

    def check(program: Program) -> None:
        check_program(engine, program)

    found = search.hunt_programs(search.expressions(ops), check, examples, seed_)
    return _property_result(
        engine, key, title, found, svg_dir, f"ops drawn: {', '.join(search.dag_ops(ops))}"
    )


def second_backward(
    engine: Engine,
    leaves: bool,
    examples: int = 100,
    seed_: int = 0,
    svg_dir: Path | None = None,
    supported: Collection[str] | None = None,
) -> PropertyResult:
    """A second ``backward()`` adds a fresh pass: every grad of the leaves (``leaves``) or of
    the interior nodes (the root included) doubles, as microbp's does."""
    key = "second_backward_leaves" if leaves else "second_backward_interior"
    title = TITLES[key]
    ops = _supported(engine, supported)
    if not search.dag_ops(ops):
        return _exhausted(key, title, "expression")

    def check(program: Program) -> None:
        check_second_backward(engine, program, leaves)

    found = search.hunt_programs(search.expressions(ops), check, examples, seed_)
    return _property_result(engine, key, title, found, svg_dir, "every grad doubles")


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
    except Exception as error:
        return _ChainFailure("forward", "building it", describe_error(error))
    try:
        adapter.backward(y)
    except Exception as error:
        return _ChainFailure("backward", "backward()", describe_error(error))
    try:
        got = read(engine, "data", y, "y"), read(engine, "grad", x, "x")
    except Exception as error:
        return _ChainFailure("grad", "reading x.grad", describe_error(error))
    if got[0] != data(depth):
        return _ChainFailure("grad", "y.data", "", "data", got[0], data(depth))
    if got[1] != grad(depth):
        return _ChainFailure("grad", "x.grad", "", "grad", got[1], grad(depth))
    return None


def deep_chains(engine: Engine, supported: Collection[str] | None = None) -> PropertyResult:
    """Chains 10, 10², … 10⁵ ops deep: the deepest whose backward is right, stopping at the
    first that fails and saying what it did (a RecursionError, for a recursive backward)."""
    key = "deep_chains"
    title = TITLES[key]
    ops = _supported(engine, supported)
    op = next((op for op in CHAIN_OPS if op in ops), None)
    if op is None:
        needs = ", ".join(OPS[o].title for o in CHAIN_OPS)
        return PropertyResult(key, title, SKIPPED, 0, f"needs one of {needs}")
    deepest = 0
    for tried, depth in enumerate(CHAIN_DEPTHS, start=1):
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
        return PropertyResult(key, title, FAIL, tried, detail, example)
    return PropertyResult(
        key, title, PASS, len(CHAIN_DEPTHS), f"{deepest:,} ops deep, of {OPS[op].title}"
    )


def _network_choices(ops: frozenset[str]) -> tuple[list[str], list[str], list[str]] | None:
    """The hidden activations, outputs and losses the engine's ops can build, or None."""
    if not AFFINE_NEEDS <= ops:
        return None
    hidden = [g for g in HIDDEN_ACTIVATIONS if ACTIVATION_NEEDS[g] <= ops]
    output = [g for g in OUTPUT_ACTIVATIONS if ACTIVATION_NEEDS[g] <= ops]
    losses = [
        loss
        for loss, needs in LOSS_NEEDS.items()
        if needs <= ops and (loss != "cross_entropy" or "softmax" in output)
    ]
    if not losses:
        return None
    if losses == ["cross_entropy"]:
        output = ["softmax"]
    return hidden, output, losses


def _cases(choices: tuple[list[str], list[str], list[str]]) -> st.SearchStrategy[NetworkCase]:
    hidden, output, losses = choices
    return network_cases(hidden=hidden, output=output, losses=losses, max_layers=3, max_width=4)


def _network_in_domain(case: NetworkCase) -> NetworkProgram:
    layout = from_network(case)
    assume(search.drawable(layout.program))
    return layout


def _drawn(choices: tuple[list[str], list[str], list[str]]) -> str:
    hidden, output, losses = choices
    return f"hidden {'/'.join(hidden)}, output {'/'.join(output)}, loss {'/'.join(losses)}"


def network(
    engine: Engine,
    examples: int = 100,
    seed_: int = 0,
    svg_dir: Path | None = None,
    supported: Collection[str] | None = None,
) -> PropertyResult:
    """A whole network in the notes' notation, made of the engine's values: every entry of
    ∇W_k L and ∇b_k L (and ∇a_k, ∇h_k, ∇x) as the matrix formulas give it."""
    key = "network"
    title = TITLES[key]
    choices = _network_choices(_supported(engine, supported))
    if choices is None:
        return _exhausted(key, title, "network")

    def check(case: NetworkCase) -> None:
        check_network(engine, case, _network_in_domain(case))

    found = search.hunt(_cases(choices), check, examples, seed_)
    return _property_result(engine, key, title, found, svg_dir, _drawn(choices))


def sgd_step(
    engine: Engine,
    examples: int = 100,
    seed_: int = 0,
    svg_dir: Path | None = None,
    supported: Collection[str] | None = None,
) -> PropertyResult:
    """One SGD step W_k ← W_k − η ∇W_k L, b_k ← b_k − η ∇b_k L through the engine's data,
    then a forward pass on the same leaves, against the formulas."""
    key = "sgd_step"
    title = TITLES[key]
    choices = _network_choices(_supported(engine, supported))
    if choices is None:
        return _exhausted(key, title, "network")

    def check(drawn: tuple[NetworkCase, float]) -> None:
        case, lr = drawn
        check_sgd_step(engine, case, _network_in_domain(case), lr)

    found = search.hunt(st.tuples(_cases(choices), st.floats(1e-3, 1.0)), check, examples, seed_)
    return _property_result(engine, key, title, found, svg_dir, "η drawn from [0.001, 1]")
