"""The properties microbp passes, each run on an engine: hypothesis draws the examples, a check
from `checks` judges each, and the first failure is shrunk to the smallest example.

Every function takes an `Engine` (see `adapter.load`) and returns a `PropertyResult`; those that
draw examples take how many (``examples``) and a ``seed``. ``supported`` is the set of op names
the engine has (`supported_ops`); it is worked out when not given.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from hypothesis import reject
from hypothesis import strategies as st

from microbp.audit import chains, progress, reuse, search, snippets
from microbp.audit.adapter import Engine
from microbp.audit.chains import CHAIN_DEPTHS, CHAIN_OPS, deep_chains
from microbp.audit.checks import (
    Convention,
    Discrepancy,
    Failed,
    check_network,
    check_program,
    check_second_backward,
    check_sgd_step,
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
    from_network,
)
from microbp.audit.report import (
    CONVENTION,
    FAIL,
    NOT_SUPPORTED,
    PASS,
    SKIPPED,
    Counterexample,
    PropertyResult,
)
from microbp.audit.support import REFUSALS, refusal, supported_ops, supported_or_probed
from microbp.nn import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS
from microbp.strategies import NetworkCase, network_cases

__all__ = [
    "CHAIN_DEPTHS",
    "CHAIN_OPS",
    "REFUSALS",
    "TITLES",
    "counterexample",
    "deep_chains",
    "network",
    "op_property",
    "refusal",
    "second_backward",
    "sgd_step",
    "shared_nodes",
    "supported_ops",
]

#: The properties beyond the single ops, by key, with the titles the report gives them.
TITLES = {
    "shared_nodes": "reused nodes",
    "second_backward_leaves": "2nd backward(): leaves",
    "second_backward_interior": "2nd backward(): interior",
    chains.KEY: chains.TITLE,
    "network": "network ∇W, ∇b",
    "sgd_step": "SGD step",
    "extreme_inputs": "extreme inputs",
    "reflected": "2 + x … 2 ** x",
}


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
        "\n".join(n for n in (d.note, d.intermittent) if n),
        picture,
    )


def run_program(engine: Engine, program: Program, passes: int = 1) -> None:
    """Say ``program`` is the example running (`progress`), for a crash to be pinned on."""
    progress.announce(lambda: snippets.write_run(engine, program, passes), program.ops_count)


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
    if d.convention:
        return PropertyResult(key, title, CONVENTION, runs, d.convention, example)
    detail = f"{example.summary}; {d.intermittent}" if d.intermittent else example.summary
    return PropertyResult(key, title, FAIL, runs, detail, example)


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
        program = Program((*leaves, Instruction(op, tuple(range(len(leaves))), number)))
        run_program(engine, program)
        check_program(engine, program)

    found = search.hunt(spec.draw, check, examples, seed_)
    return _property_result(engine, key, title, found, svg_dir)


def shared_nodes(
    engine: Engine,
    examples: int = 100,
    seed_: int = 0,
    svg_dir: Path | None = None,
    supported: Collection[str] | None = None,
) -> PropertyResult:
    """Every op in the fixed reuse patterns of `reuse` first, then expressions that reuse
    nodes (`microbp.strategies.expression_dags`), made of the engine's ops: every node's data
    and grad as microbp's, so grads add up along every path."""
    key = "shared_nodes"
    title = TITLES[key]
    ops = supported_or_probed(engine, supported)
    if not search.dag_ops(ops):
        return _exhausted(key, title, "expression")

    def check(program: Program) -> None:
        run_program(engine, program)
        check_program(engine, program)

    fixed = [program for op in sorted(ops) for program in reuse.patterns(op, ops)]
    for tried, program in enumerate(fixed, start=1):
        try:
            check(program)
        except Failed as failed:
            found_fixed = search.intermittency(failed.discrepancy, check, program)
            return _property_result(engine, key, title, (tried, found_fixed), svg_dir)
    runs, drawn = search.hunt_programs(search.expressions(ops), check, examples, seed_)
    return _property_result(
        engine,
        key,
        title,
        (runs + len(fixed), drawn),
        svg_dir,
        f"ops drawn: {', '.join(search.dag_ops(ops))}",
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
    ops = supported_or_probed(engine, supported)
    if not search.dag_ops(ops):
        return _exhausted(key, title, "expression")

    conventions: list[Discrepancy] = []

    def check(program: Program) -> None:
        run_program(engine, program, passes=2)
        try:
            check_second_backward(engine, program, leaves)
        except Convention as convention:  # not wrong: kept, the smallest reported if no failure
            conventions.append(convention.discrepancy)

    def shows_convention(program: Program) -> None:
        try:
            check_second_backward(engine, program, leaves)
        except Convention as convention:
            raise Failed(convention.discrepancy) from None

    found = search.hunt_programs(search.expressions(ops), check, examples, seed_)
    if found[1] is None and conventions:
        smallest = min(conventions, key=lambda d: len(d.program))
        found = (found[0], search.simplest(smallest.program, shows_convention) or smallest)
    return _property_result(engine, key, title, found, svg_dir, "every grad doubles")


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
    if not search.drawable(layout.program):
        reject()  # never when a failing example is run again: it was drawable then
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
    choices = _network_choices(supported_or_probed(engine, supported))
    if choices is None:
        return _exhausted(key, title, "network")

    def check(case: NetworkCase) -> None:
        layout = _network_in_domain(case)
        run_program(engine, layout.program)
        check_network(engine, case, layout)

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
    choices = _network_choices(supported_or_probed(engine, supported))
    if choices is None:
        return _exhausted(key, title, "network")

    def check(drawn: tuple[NetworkCase, float]) -> None:
        case, lr = drawn
        layout = _network_in_domain(case)
        run_program(engine, layout.program)
        check_sgd_step(engine, case, layout, lr)

    found = search.hunt(st.tuples(_cases(choices), st.floats(1e-3, 1.0)), check, examples, seed_)
    return _property_result(engine, key, title, found, svg_dir, "η drawn from [0.001, 1]")
