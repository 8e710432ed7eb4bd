"""Drawing examples and shrinking failures: hypothesis runs a check on drawn examples and
shrinks the first failure; `simplest` then drops nodes that hypothesis cannot.

Expressions come from `microbp.strategies.expression_dags`, restricted to the ops an engine
has, compiled to programs (`program.from_expression`) and kept only when every op's operands
lie in its domain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar, cast

from hypothesis import HealthCheck, Phase, Verbosity, given, reject, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky, Unsatisfiable

from microbp.audit.checks import Discrepancy, Failed, in_domain, reference
from microbp.audit.program import DAG_NEEDS, Program, StepFailed, from_expression
from microbp.strategies import ExpressionDag, expression_dags

T = TypeVar("T")

#: The most smaller programs `simplest` tries: enough to take a drawn expression (a few dozen
#: nodes) down to its core, bounded for an engine slow enough to make each try count.
MAX_TRIES = 2_000
#: How many times a failing example is run again, to tell an intermittent failure.
RERUNS = 10
INTERMITTENT = "the result depends on iteration order (set/dict order, ids)"


def intermittency(d: Discrepancy, check: Callable[[T], None], example: T) -> Discrepancy:
    """``d`` as found, or, when ``example`` does not fail every one of `RERUNS` runs of
    ``check``, with a note saying in how many it fails."""
    failed = 0
    for _ in range(RERUNS):
        try:
            check(example)
        except Failed:
            failed += 1
    if failed == RERUNS:
        return d
    return replace(d, intermittent=f"fails {failed} of {RERUNS} runs: {INTERMITTENT}")


def hunt(
    strategy: st.SearchStrategy[T], check: Callable[[T], None], examples: int, seed_: int
) -> tuple[int, Discrepancy | None]:
    """Run ``check`` on up to ``examples`` drawn examples; the number run, and the smallest
    example's `Discrepancy` if one failed (hypothesis shrinks it), said to be intermittent if
    it does not fail every time (`intermittency`)."""
    runs = 0  # examples checked, not counting those outside the ops' domains
    failing: list[tuple[T, Discrepancy]] = []  # the last example that failed, and how

    @seed(seed_)
    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=cast("list[HealthCheck]", list(HealthCheck)),
        verbosity=Verbosity.quiet,
        report_multiple_bugs=False,
        print_blob=False,
    )
    @given(strategy)
    def holds(example: T) -> None:
        nonlocal runs
        runs += 1
        try:
            check(example)
        except Failed as failed:
            failing[:] = [(example, failed.discrepancy)]
            raise

    try:
        holds()
    except (Failed, Flaky):  # Flaky: it failed, then passed when hypothesis ran it again
        pass
    except Unsatisfiable:
        return 0, None
    if not failing:
        return runs, None
    example, found = failing[0]
    return runs, intermittency(found, check, example)


def simplest(program: Program, check: Callable[[Program], None]) -> Discrepancy | None:
    """Shrink a failing ``program`` further than hypothesis can, greedily: while some program
    one step simpler (`Program.smaller`) still fails ``check``, take it. Returns the last
    failure's `Discrepancy` (None if ``program`` itself passes).

    Hypothesis shrinks an expression's numbers well but cannot drop a step from the middle
    of it; this does, so a bug shows in a handful of ops.
    """
    found = _failure(program, check)
    improved = found is not None
    tries = 0
    while improved and tries < MAX_TRIES:
        improved = False
        for candidate in filter(drawable, program.smaller()):
            tries += 1
            failure = _failure(candidate, check)
            if failure is not None:
                program, found, improved = candidate, failure, True
                break
            if tries == MAX_TRIES:
                break
    return found


def _failure(program: Program, check: Callable[[Program], None]) -> Discrepancy | None:
    try:
        check(program)
    except Failed as failed:
        return failed.discrepancy
    return None


def hunt_programs(
    strategy: st.SearchStrategy[Program],
    check: Callable[[Program], None],
    examples: int,
    seed_: int,
) -> tuple[int, Discrepancy | None]:
    """`hunt` over the drawn programs inside every op's domain, then the failure made
    `simplest`."""

    def checked(program: Program) -> None:
        if not drawable(program):
            reject()  # never when a failing example is run again: it was drawable then
        check(program)

    runs, found = hunt(strategy, checked, examples, seed_)
    if found is None or found.intermittent:
        return runs, found
    smallest = simplest(found.program, check)
    if smallest is None:
        return runs, found
    return runs, intermittency(smallest, check, smallest.program)


def dag_ops(supported: frozenset[str]) -> list[str]:
    """The ops of `expression_dags` that the ops ``supported`` can build (`DAG_NEEDS`)."""
    return [op for op, needs in DAG_NEEDS.items() if needs <= supported]


def off_zero(dag: ExpressionDag) -> ExpressionDag:
    """The expression with every leaf 1 larger: drawn from [−1, 3], shrinking towards 1.

    At 0, where hypothesis shrinks a number to, most derivatives vanish (x·x has 0), and a bug
    they would show hides; so shrinking stalls at a long example where some exp or sum makes
    them nonzero again. At 1, x·x keeps its derivative 2.
    """
    return ExpressionDag(tuple(x + 1.0 for x in dag.leaves), dag.steps)


def expressions(supported: frozenset[str]) -> st.SearchStrategy[Program]:
    """Programs of drawn expressions made only of the ops ``supported``."""
    return expression_dags(ops=dag_ops(supported)).map(off_zero).map(from_expression)


def drawable(program: Program) -> bool:
    """Every op of ``program`` works inside its domain (microbp runs it to see)."""
    try:
        data = reference(program).data
    except StepFailed:  # e.g. a chain of + that overflows where a sum did not
        return False
    return in_domain(program, data)
