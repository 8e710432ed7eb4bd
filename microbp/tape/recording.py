"""Recording: a loss's scalar graph compiled into a `Program`, the instructions a replay runs.

The leaves are laid out first: each input gets a row of the per-sample array, each parameter
then each constant an entry of the uniform vector (the same for every sample, never copied per
sample). Op nodes are grouped by depth, op and the kinds of their operands; each group becomes
one instruction whose results are a contiguous block of rows, and a dense layer's activation is
fused into the layer's instruction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from microbp.engine import Value, affine_parts, topological_order
from microbp.tape.errors import TapeError
from microbp.tape.instructions import Affine, Binary, Dense, Instruction, Max, Sum, Unary
from microbp.tape.operands import Operand, operand
from microbp.tape.rules import ACTIVATIONS, BINARY, known_op, known_ops

_INPUT, _PARAMETER, _CONSTANT = "input", "parameter", "constant"

#: A node's place: (True, entry of the uniform vector) or (False, row of the per-sample array).
Place = tuple[bool, int]
Signature = list[tuple[Any, ...]]


def label(v: Value) -> str:
    """How errors name a node: its name, else its op, else "a constant"."""
    if v.name:
        return v.name
    return f"({v.op})" if v.op else "a constant"


def signature(
    loss: Value, inputs: Sequence[Value], parameters: Sequence[Value]
) -> tuple[list[Value], Signature]:
    """The graph in topological order, and each node's (kind, op, parent positions)."""
    nodes = topological_order(loss)
    position = {v: i for i, v in enumerate(nodes)}
    kind: dict[Value, Any] = dict.fromkeys(nodes, _CONSTANT)
    for role, values in ((_INPUT, inputs), (_PARAMETER, parameters)):
        for i, v in enumerate(values):
            if v in kind:
                kind[v] = (role, i)
    shape = [
        (kind[v], v.op, tuple(position[p] for p in v.parents)) if v.op else (kind[v],)
        for v in nodes
    ]
    return nodes, shape


def check_leaves(values: Sequence[Value], what: str) -> list[Value]:
    """``values`` as a list of distinct leaves, or a clear error naming ``what`` they are."""
    values = list(values)
    for i, v in enumerate(values):
        if not isinstance(v, Value):
            raise TypeError(f"{what}[{i}] must be a Value, got {type(v).__name__} {v!r}")
        if v.op:
            raise TapeError(
                f"{what}[{i}] ({v.name or v.op}) is made by the op {v.op!r}; {what} must be "
                "leaves (Values the graph starts from)"
            )
    if len(set(values)) != len(values):
        raise TapeError(f"{what} lists the same Value twice")
    return values


@dataclass(frozen=True)
class Program:
    """A recorded graph, compiled: what a replay needs and what reading its results needs."""

    inputs: list[Value]  # rows 0..len−1 of the per-sample array, a batch's columns
    parameters: list[Value]  # the parameters in the graph: entries 0..len−1 of the uniform vector
    constants: Array  # the constants' data: the uniform vector's other entries
    nodes: list[Value]  # the node of each per-sample row
    place: dict[Value, Place]  # every node's place
    instructions: list[Instruction]  # in the order forward runs them
    root: Place
    signature: Signature

    @property
    def n_rows(self) -> int:
        """Rows of the per-sample array: the inputs and every op node."""
        return len(self.nodes)


Array = np.ndarray


def _kinds(parents: Sequence[Value], uniform: set[Value]) -> str:
    """'u' (all parameters or constants), 's' (all per sample) or 'm' (mixed)."""
    found = {p in uniform for p in parents}
    return "m" if len(found) == 2 else ("u" if True in found else "s")


def _group_key(v: Value, uniform: set[Value]) -> tuple[Any, ...]:
    """What a node's instruction depends on: its op (and pow's n), its operands' kinds."""
    operation = v.operation
    assert operation is not None  # only op nodes are grouped
    if not known_op(operation):
        raise TapeError(
            f"cannot record the op {operation.name!r} of node {label(v)}: the tape knows "
            f"{known_ops()}"
        )
    op = operation.name
    if op == "affine":
        b, w, h = affine_parts(v.parents)
        if _kinds(w, uniform) == "u" and _kinds(h, uniform) == "s":
            return ("dense", _kinds([b], uniform), h)  # shares its inputs with its group
        return ("affine", len(w), _kinds([b], uniform), _kinds(w, uniform), _kinds(h, uniform))
    if op in ("sum", "max"):
        return (op, len(v.parents), _kinds(v.parents, uniform))
    return (op, operation.exponent, *(_kinds([p], uniform) for p in v.parents))


def _places(rows: list[list[Value]], place: dict[Value, Place]) -> Array:
    """The places of a group's parents, a row of them per node: shape (nodes, parents, 2)."""
    return np.array([[place[p] for p in row] for row in rows], dtype=np.intp).reshape(
        len(rows), -1, 2
    )


def _operand(places: Array) -> Operand:
    """The operand reading ``places`` (…, 2): per-sample rows or uniform entries."""
    return operand(places[..., 1], places[..., 0].astype(bool))


def _instruction(
    key: tuple[Any, ...], out: slice, group: list[Value], place: dict[Value, Place]
) -> Instruction:
    """The instruction computing ``group`` (nodes of one key) into the rows ``out``."""
    op = key[0]
    places = _places([list(v.parents) for v in group], place)
    if op in ("dense", "affine"):
        n = (places.shape[1] - 1) // 2
        b, w, h = places[:, 0], places[:, 1 : 1 + n], places[:, 1 + n :]
        if op == "dense":
            return Dense(out, _operand(b), w[..., 1], _operand(h[0]))
        return Affine(out, _operand(b), _operand(w), _operand(h))
    if op == "sum":
        return Sum(out, _operand(places))
    if op == "max":
        return Max(out, _operand(places))
    if op in BINARY:
        return Binary(op, out, _operand(places[:, 0]), _operand(places[:, 1]))
    return Unary(op, out, _operand(places[:, 0]), key[1])


def _fused(instructions: list[Instruction], groups: list[list[Value]]) -> list[Instruction]:
    """``instructions`` with each activation group whose operands are exactly a dense layer's
    nodes, in order, folded into that layer's instruction (it may run as soon as the layer has,
    its only operand being ready then)."""
    layer_of: dict[tuple[Value, ...], Dense] = {}
    kept: list[Instruction] = []
    for instruction, group in zip(instructions, groups):
        if isinstance(instruction, Dense):
            layer_of[tuple(group)] = instruction
        elif (op := group[0].operation) is not None and op.name in ACTIVATIONS:
            layer = layer_of.pop(tuple(v.parents[0] for v in group), None)
            if layer is not None:
                layer.fuse(op.name, instruction.out)
                continue
        kept.append(instruction)
    return kept


def compile_graph(loss: Value, inputs: Sequence[Value], parameters: Sequence[Value]) -> Program:
    """Check the leaves and compile the graph of ``loss`` (see the module's notes)."""
    inputs = check_leaves(inputs, "inputs")
    parameters = check_leaves(parameters, "parameters")
    if set(inputs) & set(parameters):
        raise TapeError("a Value cannot be both an input and a parameter")
    nodes, shape = signature(loss, inputs, parameters)
    in_graph = set(nodes)
    for i, v in enumerate(inputs):
        if v not in in_graph:
            raise TapeError(
                f"inputs[{i}] ({label(v)}) is not in the loss's graph: its values would be "
                "ignored; leave it out of inputs"
            )
    params = [p for p in parameters if p in in_graph]
    leaves = set(inputs).union(params)
    constants = [v for v in nodes if not v.op and v not in leaves]
    place: dict[Value, Place] = {v: (False, i) for i, v in enumerate(inputs)}
    place.update({v: (True, i) for i, v in enumerate([*params, *constants])})
    uniform = set(params).union(constants)
    depth: dict[Value, int] = {}
    groups: dict[tuple[Any, ...], list[Value]] = {}
    for v in nodes:
        if not v.op:
            depth[v] = 0
            continue
        depth[v] = d = 1 + max(depth[p] for p in v.parents)
        groups.setdefault((d, *_group_key(v, uniform)), []).append(v)
    keys = sorted(groups, key=lambda key: key[0])  # by depth; dicts keep first-seen order
    rows = list(inputs)
    instructions: list[Instruction] = []
    for key in keys:
        # in the order of their operands' places: a layer's nodes in the order of its
        # parameters (so W is a block of the uniform vector), the next group's in theirs
        group = groups[key] = sorted(groups[key], key=lambda v: [place[p] for p in v.parents])
        out = slice(len(rows), len(rows) + len(group))
        place.update({v: (False, i) for i, v in enumerate(group, start=len(rows))})
        rows.extend(group)
        instructions.append(_instruction(key[1:], out, group, place))
    return Program(
        inputs=inputs,
        parameters=params,
        constants=np.array([c.data for c in constants], dtype=float),
        nodes=rows,
        place=place,
        instructions=_fused(instructions, [groups[key] for key in keys]),
        root=place[loss],
        signature=shape,
    )
