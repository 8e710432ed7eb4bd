"""Reuse patterns, op by op: the fixed examples every op is checked on before anything is drawn.

A grad that is set instead of added to shows only where a node is used twice, and which of its
uses runs last depends on the shape. So each op ``f`` is checked in every shape below, at the
same points at every seed: ``f(x) + x`` and ``x + f(x)``, ``f(x) * x``, ``f(x, x)``, ``f``
used twice on one node, a diamond through ``f``, and a chain of three ``f`` whose middle is used
again. (``+`` is the joining op, or ``*`` where the engine lacks a right ``+``.)
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator

from microbp.audit.ops import OPS
from microbp.audit.program import LEAF, Instruction, Program
from microbp.audit.search import drawable

#: Where the leaf x starts, tried in turn until the whole pattern is inside the ops' domains.
STARTS = (0.75, 1.25, 2.0, 0.3)
#: The second leaf of a binary op, and the number of an op that takes one.
OTHER, NUMBER = 1.25, 2.0

#: A pattern builds its nodes on the leaf node 0 with `_Pattern`'s ``f`` and ``join``.
Pattern = Callable[["_Pattern"], int]


class _Pattern:
    """Builds one pattern's program: ``f`` on nodes, the joining op, leaves."""

    def __init__(self, op: str, join: str, x: float) -> None:
        self.op, self.join_op = op, join
        self.instructions = [Instruction(LEAF, number=x)]

    def add(self, ins: Instruction) -> int:
        self.instructions.append(ins)
        return len(self.instructions) - 1

    def f(self, node: int, twice: bool = False) -> int:
        """``f(node)``; for a binary op, f(node, y) with a new leaf y (f(node, node): ``twice``)."""
        kinds = OPS[self.op].operands
        if kinds.count("n") == 2:
            other = node if twice else self.add(Instruction(LEAF, number=OTHER))
            return self.add(Instruction(self.op, (node, other)))
        number = NUMBER if "c" in kinds else None
        return self.add(Instruction(self.op, (node,), number))

    def join(self, a: int, b: int) -> int:
        return self.add(Instruction(self.join_op, (a, b)))


def _chain_shared_middle(p: _Pattern) -> int:
    middle = p.f(p.f(0))
    return p.join(p.f(middle), middle)


def _diamond(p: _Pattern) -> int:
    top = p.join(0, 0)
    return p.join(p.f(top), p.f(top))


PATTERNS: dict[str, Pattern] = {
    "f(x) + x": lambda p: p.join(p.f(0), 0),
    "x + f(x)": lambda p: p.join(0, p.f(0)),
    "f(x) * x": lambda p: p.add(Instruction("mul", (p.f(0), 0))),
    "f(x, x)": lambda p: p.f(0, twice=True),
    "f(x) + f(x)": lambda p: p.join(p.f(0), p.f(0)),
    "diamond through f": _diamond,
    "f(f(f(x))) + f(f(x))": _chain_shared_middle,
}


def patterns(op: str, supported: Collection[str]) -> Iterator[Program]:
    """``op`` in every reuse pattern the ops ``supported`` can build, each inside every op's
    domain (``drawable`` by microbp) at one of the `STARTS`."""
    join = next((j for j in ("add", "mul") if j in supported), None)
    if join is None:
        return
    for name, build in PATTERNS.items():
        if name == "f(x, x)" and OPS[op].operands != "nn":
            continue
        if name == "f(x) * x" and "mul" not in supported:
            continue
        for x in STARTS:
            p = _Pattern(op, join, x)
            build(p)  # the root is the last node made
            program = Program(tuple(p.instructions))
            if drawable(program):
                yield program
                break
