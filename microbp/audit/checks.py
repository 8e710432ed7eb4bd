"""One example, checked: an engine's numbers on a program beside the right ones.

Each check runs a program on the engine under audit and returns quietly when every number is
right, or raises `Failed` with a `Discrepancy`: the node that first goes wrong (forward in the
order nodes are made, backward in the reverse order, the order grads flow), the engine's number
and the right one. The right numbers are microbp's (the same program, run on `microbp.Value`),
twice the engine's own after a second ``backward()``, and the notes' matrix formulas
(`microbp.formulas`) for a network and its SGD step.
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from microbp import formulas
from microbp.audit.adapter import Engine, ValueClassAdapter
from microbp.audit.ops import OPS
from microbp.audit.program import NetworkProgram, Program, StepFailed
from microbp.comparison import compare_gradients
from microbp.engine import Value
from microbp.strategies import NetworkCase

#: Two numbers agree when |engine − right| ≤ RTOL · max(1, the largest |right| of their kind in
#: the graph): about eight significant digits of the graph's scale, room for a different but
#: sound order of float operations, far closer than any wrong derivative comes.
RTOL = 1e-8

MICROBP = ValueClassAdapter(Value)


@dataclass(frozen=True)
class Discrepancy:
    """Where an engine first goes wrong on ``program``.

    ``stage`` is when: "forward", "backward", "second backward", "sgd step" or "after the step";
    ``node`` the index of the node, ``quantity`` "data" or "grad"; ``engine`` and ``right`` the
    two numbers, or ``error`` what the engine raised instead. ``note`` adds what the numbers
    mean; ``extra`` holds what a stage needs to be replayed (the learning rate of an SGD step).
    """

    program: Program
    stage: str
    node: int
    quantity: str = "grad"
    engine: float | None = None
    right: float | None = None
    error: str = ""
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    engine_all: tuple[float, ...] = ()  # the engine's numbers of ``quantity``, every node
    right_all: tuple[float, ...] = ()  # and the right ones, when both are known
    intermittent: str = ""  # how often it fails when run again, if not every time
    convention: str = ""  # the convention it follows, if that explains the numbers


class Convention(Exception):
    """The engine's numbers differ from microbp's the way a known convention makes them."""

    def __init__(self, discrepancy: Discrepancy) -> None:
        super().__init__(discrepancy.convention)
        self.discrepancy = discrepancy


class Failed(Exception):
    """The engine got one example wrong; ``discrepancy`` says where."""

    def __init__(self, discrepancy: Discrepancy) -> None:
        super().__init__(discrepancy.note or discrepancy.error or discrepancy.stage)
        self.discrepancy = discrepancy


def describe_error(error: BaseException) -> str:
    """``ZeroDivisionError: float division by zero``, on one line.

    A RecursionError says the limit it hit instead of its words, which vary between Pythons.
    """
    if isinstance(error, RecursionError):
        return f"RecursionError (Python's recursion limit is {sys.getrecursionlimit()})"
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def read(engine: Engine, quantity: str, node: Any, name: str) -> float:
    """The node's data or grad as a float, or `Failed`-worthy trouble as a ValueError."""
    value = getattr(engine.adapter, quantity)(node)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name}'s {quantity} is {value!r}, not a number")
    return float(value)


def scale(values: Sequence[float]) -> float:
    """The tolerance of numbers of this kind: RTOL · max(1, max |value|)."""
    return RTOL * max(1.0, *(abs(v) for v in values if math.isfinite(v)))


def differs(engine: float, right: float, tolerance: float) -> bool:
    return not abs(engine - right) <= tolerance  # NaN and ±inf differ from everything


@dataclass(frozen=True)
class Reference:
    """microbp's numbers for every node of a program after ``passes`` backward passes."""

    data: list[float]
    grad: list[float]


def reference(program: Program, passes: int = 1) -> Reference:
    nodes = program.run(MICROBP)
    for _ in range(passes):
        nodes[-1].backward()
    return Reference([v.data for v in nodes], [v.grad for v in nodes])


def in_domain(program: Program, data: Sequence[float]) -> bool:
    """Every op's operands lie in the op's domain (``data``: the program's node values)."""
    for i, ins in enumerate(program.instructions):
        if ins.op != "leaf":
            operands = program.operands(i, data)
            if not OPS[ins.op].domain(*operands):
                return False
    return True


def _run(
    engine: Engine, program: Program, stage: str = "forward", reuse: dict[int, Any] | None = None
) -> list[Any]:
    try:
        return program.run(engine.adapter, reuse)
    except StepFailed as failed:
        raise Failed(
            Discrepancy(program, stage, failed.index, "data", error=describe_error(failed.error))
        ) from None


def _attempt(
    program: Program, stage: str, node: int, action: Callable[..., Any], *args: Any
) -> Any:
    """``action(*args)``, or `Failed` saying the engine raised during ``stage``."""
    try:
        return action(*args)
    except (Exception, SystemExit) as error:  # sys.exit in an engine is its failure too
        raise Failed(Discrepancy(program, stage, node, error=describe_error(error))) from None


def _read_all(
    engine: Engine, program: Program, nodes: Sequence[Any], quantity: str, stage: str
) -> list[float]:
    names = program.names()
    found = []
    for i, v in enumerate(nodes):
        found.append(_attempt(program, stage, i, read, engine, quantity, v, names[i]))
    return found


def _backward(engine: Engine, program: Program, nodes: Sequence[Any], stage: str) -> list[float]:
    """Run the engine's backward from the root; every node's grad afterwards."""
    _attempt(program, stage, len(program) - 1, engine.adapter.backward, nodes[-1])
    return _read_all(engine, program, nodes, "grad", stage)


def data_difference(
    program: Program, engine: Sequence[float], right: Sequence[float]
) -> Discrepancy | None:
    """The first node, in the order nodes are made, whose data differs; None if none does."""
    tolerance = scale(right)
    for i, (e, r) in enumerate(zip(engine, right)):
        if differs(e, r, tolerance):
            return Discrepancy(
                program,
                "forward",
                i,
                "data",
                e,
                r,
                engine_all=tuple(engine),
                right_all=tuple(right),
            )
    return None


def grad_difference(
    program: Program, engine: Sequence[float], right: Sequence[float]
) -> Discrepancy | None:
    """The first node, in the order backward reaches them, whose grad differs; None if none."""
    tolerance = scale(right)
    for i in reversed(range(len(program))):
        if differs(engine[i], right[i], tolerance):
            return Discrepancy(
                program,
                "backward",
                i,
                "grad",
                engine[i],
                right[i],
                engine_all=tuple(engine),
                right_all=tuple(right),
            )
    return None


def check_program(engine: Engine, program: Program) -> None:
    """One forward and one backward pass: every node's data and grad as microbp's."""
    right = reference(program)
    nodes = _run(engine, program)
    found = data_difference(
        program, _read_all(engine, program, nodes, "data", "forward"), right.data
    ) or grad_difference(program, _backward(engine, program, nodes, "backward"), right.grad)
    if found is not None:
        raise Failed(found)


#: The conventions a second backward() may follow, by what they do to the grads.
REPLACES = "each backward() replaces every grad with a fresh pass's instead of adding to it"
ROOT_SET = "each backward() sets the root's grad to 1 rather than adding 1 (micrograd's convention)"


def _second_backward_convention(
    once: Sequence[float], twice: Sequence[float], leaves: bool, tolerance: float
) -> str:
    """The convention the grads after two passes follow, or "" if none explains them."""
    if not any(differs(t, o, tolerance) for t, o in zip(twice, once)):
        return REPLACES
    if not leaves and not differs(twice[-1], once[-1], tolerance):
        return ROOT_SET
    return ""


def check_second_backward(engine: Engine, program: Program, leaves: bool) -> None:
    """Two backward passes double every grad of the leaves (``leaves``) or of the other nodes:
    each ``backward()`` adds a fresh pass, as microbp's does. Raises `Convention` when the
    grads are what a known convention gives (`REPLACES`, and for the other nodes `ROOT_SET`),
    `Failed` when not."""
    nodes = _run(engine, program)
    once = _backward(engine, program, nodes, "backward")
    twice = _backward(engine, program, nodes, "second backward")
    tolerance = scale([2.0 * g for g in once])
    for i in reversed(range(len(program))):
        if program.is_leaf(i) == leaves and differs(twice[i], 2.0 * once[i], tolerance):
            d = Discrepancy(
                program,
                "second backward",
                i,
                "grad",
                twice[i],
                2.0 * once[i],
                note=f"after one backward() it was {once[i]!r}; a second adds a fresh "
                "pass, doubling it",
                extra={"once": once[i]},
                engine_all=tuple(twice),
                right_all=tuple(2.0 * g for g in once),
            )
            convention = _second_backward_convention(once, twice, leaves, tolerance)
            if convention:
                raise Convention(replace(d, convention=convention))
            raise Failed(d)


def network_grads(layout: NetworkProgram, grad: Sequence[float]) -> formulas.Gradients:
    """The engine's grads of a network program gathered into the formulas' arrays."""

    def pick(indices: Sequence[int]) -> np.ndarray:
        return np.array([grad[i] for i in indices], dtype=float)

    layers = [
        formulas.LayerGradients(
            k, pick(a), pick(h), np.array([[grad[i] for i in row] for row in W]), pick(b)
        )
        for k, (W, b, a, h) in enumerate(zip(layout.W, layout.b, layout.a, layout.h), start=1)
    ]
    return formulas.Gradients(layers, pick(layout.x))


def check_network(engine: Engine, case: NetworkCase, layout: NetworkProgram) -> None:
    """Every entry of ∇W_k, ∇b_k (and ∇a_k, ∇h_k, ∇x) against the notes' matrix formulas."""
    program = layout.program
    nodes = _run(engine, program)
    data = _read_all(engine, program, nodes, "data", "forward")
    grad = _backward(engine, program, nodes, "backward")
    right = formulas.gradients(case.net, case.x, case.target, case.loss)
    comparison = compare_gradients(network_grads(layout, grad), right, atol=RTOL, rtol=RTOL)
    if comparison.ok:
        return
    wrong = [
        (label, e, f)
        for q in comparison.quantities()
        for label, e, f in q.entries()
        if differs(e, f, q.tolerance)
    ]
    total = sum(q.formula.size for q in comparison.quantities())
    label, e, f = wrong[0]
    note = (
        f"{len(wrong)} of {total} entries of the gradients differ from the notes' formulas; "
        f"the first, {label}: engine {e!r}, formulas {f!r}"
    )
    microbp = reference(program)
    found = data_difference(program, data, microbp.data) or grad_difference(
        program, grad, microbp.grad
    )
    if found is None:  # microbp agrees with the engine: still, the formulas do not
        found = Discrepancy(program, "backward", len(program) - 1, "grad", grad[-1], 1.0)
    raise Failed(replace(found, note=note))


def stepped(case: NetworkCase, lr: float) -> formulas.Network:
    """The network after one SGD step by the formulas: W_k − η ∇W_k L, b_k − η ∇b_k L."""
    network = formulas.as_network(case.net)
    grads = formulas.gradients(network, case.x, case.target, case.loss).layers
    return formulas.Network(
        [W - lr * g.grad_W for W, g in zip(network.W, grads)],
        [b - lr * g.grad_b for b, g in zip(network.b, grads)],
        network.activations,
    )


def _loss(case: NetworkCase, y_hat: np.ndarray) -> float:
    if isinstance(case.target, int):
        return float(-np.log(y_hat[case.target]))
    return float(np.sum((y_hat - np.array(case.target)) ** 2))


def check_sgd_step(engine: Engine, case: NetworkCase, layout: NetworkProgram, lr: float) -> None:
    """θ ← θ − η ∇θ L on every weight and bias with the engine's grads, then a fresh forward
    pass on the same leaves: each parameter, a_k, h_k and L as the formulas' after the step.

    A `Discrepancy` found here carries ``lr`` and the ``parameters`` (their nodes) in ``extra``.
    """
    try:
        _sgd_step(engine, case, layout, lr)
    except Failed as failed:
        extra = {"lr": lr, "parameters": layout.parameters}
        raise Failed(replace(failed.discrepancy, extra=extra)) from None


def _sgd_step(engine: Engine, case: NetworkCase, layout: NetworkProgram, lr: float) -> None:
    program = layout.program
    nodes = _run(engine, program)
    grad = _backward(engine, program, nodes, "backward")
    data = _read_all(engine, program, nodes, "data", "forward")
    after = stepped(case, lr)
    flat = [v for W, b in zip(after.W, after.b) for v in [*W.ravel(), *b]]
    right = {p: float(v) for p, v in zip(layout.parameters, flat)}
    for p in layout.parameters:
        new = data[p] - lr * grad[p]
        _attempt(program, "sgd step", p, engine.adapter.set_data, nodes[p], new)
    names = program.names()
    tolerance = scale(list(right.values()))
    for p in layout.parameters:
        e = _attempt(program, "sgd step", p, read, engine, "data", nodes[p], names[p])
        if differs(e, right[p], tolerance):
            raise Failed(Discrepancy(program, "sgd step", p, "data", e, right[p]))
    fresh = _run(engine, program, "after the step", {p: nodes[p] for p in layout.parameters})
    fresh_data = _read_all(engine, program, fresh, "data", "after the step")
    forward = formulas.forward(after, case.x)
    expected = {i: float(v) for ids, vs in zip(layout.a, forward.a) for i, v in zip(ids, vs)}
    expected |= {i: float(v) for ids, vs in zip(layout.h, forward.h[1:]) for i, v in zip(ids, vs)}
    expected[len(program) - 1] = _loss(case, forward.h[-1])
    tolerance = scale(list(expected.values()))
    for i in sorted(expected):
        if differs(fresh_data[i], expected[i], tolerance):
            raise Failed(
                Discrepancy(
                    program,
                    "after the step",
                    i,
                    "data",
                    fresh_data[i],
                    expected[i],
                )
            )
