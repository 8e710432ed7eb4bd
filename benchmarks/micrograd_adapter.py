"""micrograd 0.1.0 used the way its users use it, plus the ops it lacks, written its way.

micrograd's `Value` knows +, *, ** (number exponent) and relu. Its users add an op by making
the result node and attaching a `_backward` closure that pushes ``out.grad`` to the operands;
the benchmarks need exp, log, tanh and sigmoid, so they are written here in that style.
Layers are built from binary ops: ``sum((w_i * x_i for ...), b)``, as micrograd's own Neuron does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from micrograd.engine import Value


def exp(v: Value) -> Value:
    out = Value(math.exp(v.data), (v,), "exp")

    def _backward() -> None:
        v.grad += out.data * out.grad

    out._backward = _backward
    return out


def log(v: Value) -> Value:
    out = Value(math.log(v.data), (v,), "log")

    def _backward() -> None:
        v.grad += out.grad / v.data

    out._backward = _backward
    return out


def tanh(v: Value) -> Value:
    out = Value(math.tanh(v.data), (v,), "tanh")

    def _backward() -> None:
        v.grad += (1.0 - out.data * out.data) * out.grad

    out._backward = _backward
    return out


def sigmoid(v: Value) -> Value:
    out = Value(1.0 / (1.0 + math.exp(-v.data)), (v,), "sigmoid")

    def _backward() -> None:
        v.grad += out.data * (1.0 - out.data) * out.grad

    out._backward = _backward
    return out


ACTIVATIONS = {"tanh": tanh, "sigmoid": sigmoid}


def dense(W: Sequence[Sequence[Value]], b: Sequence[Value], h_prev: Sequence[Value]) -> list[Value]:
    """a_i = b_i + Σ_j W_ij h_j as a chain of binary + and * nodes (micrograd's Neuron idiom)."""
    return [sum((w * h for w, h in zip(row, h_prev)), b_i) for row, b_i in zip(W, b)]


def softmax(a: Sequence[Value]) -> list[Value]:
    """exp(a_i − max a) / Σ_j exp(a_j − max a), the max taken as a constant."""
    m = max(v.data for v in a)
    e = [exp(v - m) for v in a]
    total = sum(e)
    return [e_i / total for e_i in e]


def balanced_sum(terms: Sequence[Value]) -> Value:
    """Σ terms as a tree of binary + nodes, log₂ n deep.

    micrograd's backward recurses once per level of the graph, so the plain ``sum(terms)``
    chain fails with RecursionError beyond about a thousand terms; the tree lets it survive.
    """
    level = list(terms)
    while len(level) > 1:
        paired = [level[i] + level[i + 1] for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def graph_size(root: Value) -> int:
    """How many nodes ``root`` depends on, itself included (an explicit stack, no recursion)."""
    seen = {root}
    stack = [root]
    while stack:
        for parent in stack.pop()._prev:
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return len(seen)


def zero_grad(params: Sequence[Value]) -> None:
    for p in params:
        p.grad = 0
