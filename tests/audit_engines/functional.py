"""An engine with no value class: nodes are records, ops are functions, and `make_adapter`
returns the adapter the audit talks to. `make_buggy_adapter`'s exp has the wrong derivative."""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field
from typing import ClassVar


@dataclass(eq=False)
class Node:
    data: float
    parents: tuple = ()
    local_grads: tuple = ()
    grad: float = 0.0
    fresh: float = field(default=0.0, repr=False)


def _node(x):
    return x if isinstance(x, Node) else Node(float(x))


def _binary(function, derivatives):
    def apply(a, b):
        a, b = _node(a), _node(b)
        return Node(function(a.data, b.data), (a, b), derivatives(a.data, b.data))

    return apply


def _unary(function, derivative):
    def apply(a):
        value = function(a.data)
        return Node(value, (a,), (derivative(a.data, value),))

    return apply


add = _binary(operator.add, lambda x, y: (1.0, 1.0))
sub = _binary(operator.sub, lambda x, y: (1.0, -1.0))
mul = _binary(operator.mul, lambda x, y: (y, x))
div = _binary(operator.truediv, lambda x, y: (1.0 / y, -x / (y * y)))
power = _binary(
    operator.pow,
    lambda x, y: (y * x ** (y - 1) if y != 0 else 0.0, x**y * math.log(x) if x > 0 else 0.0),
)
FUNCTIONS = {
    "neg": _unary(operator.neg, lambda x, v: -1.0),
    "exp": _unary(math.exp, lambda x, v: v),
    "log": _unary(math.log, lambda x, v: 1.0 / x),
    "tanh": _unary(math.tanh, lambda x, v: 1.0 - v * v),
    "relu": _unary(lambda x: max(x, 0.0), lambda x, v: 1.0 if x > 0 else 0.0),
    "softplus": _unary(
        lambda x: max(x, 0.0) + math.log1p(math.exp(-abs(x))),
        lambda x, v: 0.5 * (1.0 + math.tanh(0.5 * x)),
    ),
}
BINARY = {"add": add, "sub": sub, "mul": mul, "div": div}


def backward(root):
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p in node.parents)
    for node in order:
        node.fresh = 0.0
    root.fresh = 1.0
    for node in reversed(order):
        for parent, local in zip(node.parents, node.local_grads):
            parent.fresh += local * node.fresh
    for node in order:
        node.grad += node.fresh


class Adapter:
    functions: ClassVar[dict] = FUNCTIONS

    def leaf(self, x):
        return Node(float(x))

    def apply(self, op, *operands):
        base, _, side = op.partition("_")
        if op in self.functions:
            return self.functions[op](*operands)
        if base in BINARY and side in ("", "number"):
            return BINARY[base](*operands)
        if op.startswith("number_") and op[7:] in BINARY:
            return BINARY[op[7:]](*operands)
        if op in ("pow", "pow_value"):
            return power(*operands)
        raise NotImplementedError(f"no {op} in this engine")

    def data(self, node):
        return node.data

    def grad(self, node):
        return node.grad

    def set_data(self, node, x):
        node.data = x

    def backward(self, node):
        backward(node)


class BuggyAdapter(Adapter):
    functions: ClassVar[dict] = {**FUNCTIONS, "exp": _unary(math.exp, lambda x, v: v * x)}


def make_adapter():
    return Adapter()


def make_buggy_adapter():
    return BuggyAdapter()
