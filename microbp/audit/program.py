"""Programs: a computation as a list of ops, run the same way on any engine through an adapter.

A `Program` is what every check runs twice, on the engine under audit and on microbp, node for
node, so that the first node whose number differs can be named. Expressions drawn by
`microbp.strategies.expression_dags` and networks drawn by `network_cases` become programs made
only of the ops in `ops.OPS` (a sum becomes a chain of ``+``), so any engine with those ops
runs them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from microbp import ops as table
from microbp.audit.adapter import Adapter
from microbp.audit.ops import OPS
from microbp.strategies import DRAWN_OPS, ExpressionDag, NetworkCase

LEAF = "leaf"

#: What a sum of terms and an affine node are made of, in the audit's ops.
SUM_NEEDS = frozenset({"add"})
AFFINE_NEEDS = frozenset({"mul", "add"})


def _needs(op: table.Op) -> frozenset[str]:
    """The ops of `ops.OPS` a step of ``op`` in an `ExpressionDag` is made of: the op itself,
    and ``mul``, ``add`` for the safe form x·x + c of a guarded operand; a sum becomes a chain
    of ``add``, an affine node of ``mul`` and ``add``."""
    if op is table.AFFINE:
        return AFFINE_NEEDS
    if op is table.SUM:
        return SUM_NEEDS
    return frozenset({op.name}) | (AFFINE_NEEDS if op.guarded else frozenset())


#: The ops of `ops.OPS` each op an `ExpressionDag` draws needs (``log`` takes log(x·x + c)).
DAG_NEEDS: dict[str, frozenset[str]] = {op.name: _needs(op) for op in DRAWN_OPS}


@dataclass(frozen=True)
class Instruction:
    """One node: a leaf holding ``number``, or ``op`` applied to earlier nodes ``args`` (and to
    ``number`` where the op takes a plain number). ``label`` is its name in the notes, if any."""

    op: str
    args: tuple[int, ...] = ()
    number: float | None = None
    label: str = ""


class StepFailed(Exception):
    """The engine raised while making node ``index`` of a program."""

    def __init__(self, index: int, error: BaseException) -> None:
        super().__init__(f"node {index}: {type(error).__name__}: {error}")
        self.index = index
        self.error = error


@dataclass(frozen=True)
class Program:
    """Nodes in the order they are made; each op's operands come before it, the last is the
    root."""

    instructions: tuple[Instruction, ...]

    def __post_init__(self) -> None:
        if not self.instructions:
            raise ValueError("a Program needs at least one instruction")
        for i, ins in enumerate(self.instructions):
            if ins.op == LEAF:
                if ins.args or ins.number is None:
                    raise ValueError(f"instruction {i}: a leaf has a number and no args")
                continue
            if ins.op not in OPS:
                raise ValueError(f"instruction {i}: unknown op {ins.op!r}; choose from {list(OPS)}")
            kinds = OPS[ins.op].operands
            if len(ins.args) != kinds.count("n") or ("c" in kinds) != (ins.number is not None):
                raise ValueError(
                    f"instruction {i}: {ins.op} takes operands {kinds!r} (n node, c number), "
                    f"got args {ins.args} and number {ins.number!r}"
                )
            if any(not 0 <= a < i for a in ins.args):
                raise ValueError(f"instruction {i}: args {ins.args} must be earlier nodes")

    def __len__(self) -> int:
        return len(self.instructions)

    @property
    def ops_count(self) -> int:
        """How many nodes are made by ops (not leaves)."""
        return sum(ins.op != LEAF for ins in self.instructions)

    def is_leaf(self, index: int) -> bool:
        return self.instructions[index].op == LEAF

    def operands(self, index: int, nodes: Sequence[Any]) -> list[Any]:
        """Node ``index``'s operands in written order: ``nodes`` for its args, its number."""
        ins = self.instructions[index]
        args = iter(ins.args)
        return [nodes[next(args)] if k == "n" else ins.number for k in OPS[ins.op].operands]

    def run(self, adapter: Adapter, reuse: Mapping[int, Any] | None = None) -> list[Any]:
        """Make every node with ``adapter``; ``reuse`` gives nodes (leaves) that exist already.

        Raises `StepFailed` naming the node whose making raised.
        """
        nodes: list[Any] = []
        for i, ins in enumerate(self.instructions):
            if reuse is not None and i in reuse:
                nodes.append(reuse[i])
                continue
            try:
                if ins.op == LEAF:
                    nodes.append(adapter.leaf(ins.number))  # type: ignore[arg-type]
                else:
                    nodes.append(adapter.apply(ins.op, *self.operands(i, nodes)))
            except (Exception, SystemExit) as error:  # sys.exit in an engine is its failure too
                raise StepFailed(i, error) from error
        return nodes

    def smaller(self) -> Iterator[Program]:
        """Programs one step simpler, smallest first: the root moved to an earlier op node, or
        one op node bypassed (its uses take one of its operands instead); nodes the new root
        does not depend on are dropped."""
        ops = [i for i in range(len(self)) if not self.is_leaf(i)]
        for root in ops[:-1]:
            yield self._rebuilt(root, {})
        for i in ops:
            for a in dict.fromkeys(self.instructions[i].args):
                yield self._rebuilt(len(self) - 1 if i != len(self) - 1 else a, {i: a})

    def ending_at(self, root: int) -> Program:
        """The program of node ``root``: the nodes it depends on, renumbered, it last."""
        return self._rebuilt(root, {})

    def _rebuilt(self, root: int, bypass: dict[int, int]) -> Program:
        """The nodes ``root`` depends on once each node in ``bypass`` is replaced by its value
        there, renumbered in order."""
        args = [tuple(bypass.get(a, a) for a in ins.args) for ins in self.instructions]
        needed = {root}
        for i in range(root, -1, -1):
            if i in needed:
                needed.update(args[i])
        index = {old: new for new, old in enumerate(sorted(needed))}
        return Program(
            tuple(
                replace(self.instructions[i], args=tuple(index[a] for a in args[i]))
                for i in sorted(needed)
            )
        )

    def names(self) -> list[str]:
        """A Python variable name for every node: its label made an identifier (``W1[1,2]`` is
        ``W1_1_2``), else ``x1, x2…`` for leaves and ``t1, t2…`` for the others."""
        names, counts = [], {True: 0, False: 0}
        for ins in self.instructions:
            leaf = ins.op == LEAF
            counts[leaf] += 1
            identifier = re.sub(r"\W+", "_", ins.label).strip("_")
            names.append(identifier or f"{'x' if leaf else 't'}{counts[leaf]}")
        return names


class _Builder:
    """Appends instructions, returning each new node's index."""

    def __init__(self) -> None:
        self.instructions: list[Instruction] = []

    def add(self, op: str, *args: int, number: float | None = None, label: str = "") -> int:
        self.instructions.append(Instruction(op, args, number, label))
        return len(self.instructions) - 1

    def label(self, index: int, label: str) -> int:
        """Name node ``index`` (made by `add` or `fold`) ``label``; return its index."""
        self.instructions[index] = replace(self.instructions[index], label=label)
        return index

    def fold(self, op: str, first: int, rest: Sequence[int]) -> int:
        """first op rest[0] op rest[1] …, left to right."""
        for index in rest:
            first = self.add(op, first, index)
        return first

    def program(self) -> Program:
        return Program(tuple(self.instructions))


def from_expression(dag: ExpressionDag) -> Program:
    """The program of a drawn expression: leaves ``x1, x2…``; the safe forms' constants are
    leaves ``c1, c2…`` (log(x·x + c), x / (y·y + c), (x·x + c) ** y); sums become chains of +."""
    b = _Builder()
    nodes = [b.add(LEAF, number=x, label=f"x{i + 1}") for i, x in enumerate(dag.leaves)]
    constants = 0

    def square_plus_const(index: int, c: float) -> int:
        nonlocal constants
        constants += 1
        square = b.add("mul", index, index)
        return b.add("add", square, b.add(LEAF, number=c, label=f"c{constants}"))

    for step in dag.steps:
        op = table.OPS[step.op]
        a = [nodes[i] for i in step.args]
        if op is table.AFFINE:  # b + Σ_j w_j h_j
            half = (len(a) - 1) // 2
            products = [b.add("mul", w, h) for w, h in zip(a[1 : 1 + half], a[1 + half :])]
            nodes.append(b.fold("add", a[0], products))
        elif op is table.SUM:
            nodes.append(b.fold("add", a[0], a[1:]))
        elif op.arity is None:
            raise ValueError(f"an audited program has no counterpart of {op.name}")
        else:
            operands = [
                square_plus_const(x, step.const) if i in op.guarded else x for i, x in enumerate(a)
            ]
            number = int(step.const) if "c" in op.operands else None
            nodes.append(b.add(op.name, *operands, number=number))
    return b.program().ending_at(nodes[-1])  # a sum of one term is that term, made earlier


#: The ops each part of a network needs: an activation g, a loss, the affine a = b + Σ W h.
ACTIVATION_NEEDS = {
    "sigmoid": frozenset({"sigmoid"}),
    "tanh": frozenset({"tanh"}),
    "relu": frozenset({"relu"}),
    "linear": frozenset[str](),
    "softmax": frozenset({"exp", "add", "div"}),
}
LOSS_NEEDS = {
    "cross_entropy": frozenset({"log", "neg"}),
    "squared_error": frozenset({"sub", "mul", "add"}),
}


@dataclass(frozen=True)
class NetworkProgram:
    """A network's loss as a program, and where its quantities are: ``W[k-1][i][j]`` is the
    index of node W_k[i+1,j+1]; likewise ``b``, ``a`` and ``h`` by layer, ``x``, and ``L``."""

    program: Program
    x: list[int]
    W: list[list[list[int]]]
    b: list[list[int]]
    a: list[list[int]]
    h: list[list[int]]

    @property
    def parameters(self) -> list[int]:
        """Every weight and bias, layer by layer (W row by row, then b)."""
        return [p for W, b in zip(self.W, self.b) for p in [*(w for row in W for w in row), *b]]


def from_network(case: NetworkCase) -> NetworkProgram:
    """The loss of a drawn network case, in the notes' notation: leaves ``x[j]``, ``Wk[i,j]``,
    ``bk[i]``; a_ki = b_ki + Σ_j W_kij h_{k-1,j} as a chain of + and ·; h_ki = g(a_ki) (for a
    linear layer h_k is a_k itself); softmax ŷ_i = exp(a_i) / Σ_j exp(a_j); the loss ``L``."""
    b = _Builder()
    x = [b.add(LEAF, number=v, label=f"x[{j + 1}]") for j, v in enumerate(case.x)]
    Ws, bs, As, Hs = [], [], [], []
    h_prev = x
    for layer in case.net.layers:
        k = layer.k
        W = [
            [b.add(LEAF, number=w.data, label=f"W{k}[{i + 1},{j + 1}]") for j, w in enumerate(row)]
            for i, row in enumerate(layer.W)
        ]
        bias = [b.add(LEAF, number=v.data, label=f"b{k}[{i + 1}]") for i, v in enumerate(layer.b)]
        a = [
            b.label(b.fold("add", b_i, [b.add("mul", w, h) for w, h in zip(row, h_prev)]), name)
            for row, b_i, name in zip(W, bias, (f"a{k}[{i + 1}]" for i in range(len(bias))))
        ]
        h_prev = _activate(b, a, layer.activation, k)
        Ws.append(W)
        bs.append(bias)
        As.append(a)
        Hs.append(h_prev)
    if isinstance(case.target, int):  # cross-entropy: L = −log ŷ_ℓ
        b.add("neg", b.add("log", h_prev[case.target]), label="L")
    else:  # squared error: L = Σ_i (ŷ_i − y_i)²
        squares = []
        for i, (y_hat, y) in enumerate(zip(h_prev, case.target)):
            d = b.add("sub", y_hat, b.add(LEAF, number=y, label=f"y[{i + 1}]"))
            squares.append(b.add("mul", d, d))
        b.label(b.fold("add", squares[0], squares[1:]), "L")
    return NetworkProgram(b.program(), x, Ws, bs, As, Hs)


def _activate(b: _Builder, a: list[int], activation: str, k: int) -> list[int]:
    if activation == "linear":
        return a
    if activation == "softmax":
        e = [b.add("exp", a_i) for a_i in a]
        total = b.fold("add", e[0], e[1:])
        return [b.add("div", e_i, total, label=f"h{k}[{i + 1}]") for i, e_i in enumerate(e)]
    return [b.add(activation, a_i, label=f"h{k}[{i + 1}]") for i, a_i in enumerate(a)]
