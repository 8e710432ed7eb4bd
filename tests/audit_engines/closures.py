"""A micrograd-style engine for the audit's tests: each op's node keeps a closure that adds
its share to its operands' grads; backward sorts the graph into a list (explicit stack, a
`set` of the nodes seen) and calls the closures children first. Correct as written; the
subclasses each plant one bug that people really write."""

from __future__ import annotations

import math


class Value:
    def __init__(self, data, parents=()):
        self.data = float(data)
        self.grad = 0.0
        self.parents = parents
        self.push = lambda: None  # adds this node's grad, times each local derivative, upstream

    @classmethod
    def _wrap(cls, x):
        return x if isinstance(x, Value) else cls(x)

    def _node(self, data, parents, locals_):
        out = type(self)(data, parents)

        def push():
            for parent, local in zip(parents, locals_):
                parent.grad += local * out.grad

        out.push = push
        return out

    def __add__(self, other):
        other = self._wrap(other)
        return self._node(self.data + other.data, (self, other), (1.0, 1.0))

    __radd__ = __add__

    def __mul__(self, other):
        other = self._wrap(other)
        return self._node(self.data * other.data, (self, other), (other.data, self.data))

    __rmul__ = __mul__

    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-self._wrap(other))

    def __rsub__(self, other):
        return self._wrap(other) - self

    def __pow__(self, n):
        assert isinstance(n, (int, float)), "numbers only"
        local = n * self.data ** (n - 1) if n != 0 else 0.0
        return self._node(self.data**n, (self,), (local,))

    def __truediv__(self, other):
        return self * self._wrap(other) ** -1

    def __rtruediv__(self, other):
        return self._wrap(other) * self**-1

    def exp(self):
        e = math.exp(self.data)
        return self._node(e, (self,), (e,))

    def tanh(self):
        t = math.tanh(self.data)
        return self._node(t, (self,), (1.0 - t * t,))

    def order(self):
        """Parents before children, with an explicit stack and a set of the nodes seen."""
        found, seen, stack = [], set(), [(self, False)]
        while stack:
            node, ready = stack.pop()
            if ready:
                found.append(node)
            elif node not in seen:
                seen.add(node)
                stack.append((node, True))
                stack.extend((p, False) for p in node.parents)
        return found

    def backward(self):
        nodes = self.order()
        for node in nodes:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(nodes):
            node.push()


class PowOverwrites(Value):
    """``**`` sets its operand's grad instead of adding to it: right while x is used once."""

    def __pow__(self, n):
        assert isinstance(n, (int, float)), "numbers only"
        out = type(self)(self.data**n, (self,))

        def push():
            self.grad = n * self.data ** (n - 1) * out.grad

        out.push = push
        return out


class EqualByValue(Value):
    """Values equal (and hashed) by their numbers: two nodes holding 1.0 are one in a set."""

    def __eq__(self, other):
        return isinstance(other, Value) and self.data == other.data

    def __hash__(self):
        return hash(self.data)


class BreadthFirst(Value):
    """Backward walks breadth-first from the root, a frontier at a time, kept in sets: a node
    may push its grad before every use of it has added to it, in an order ids decide."""

    def backward(self):
        for node in self.order():
            node.grad = 0.0
        self.grad = 1.0
        frontier, done = {self}, set()
        while frontier:
            following = set()
            for node in frontier:
                if node not in done:
                    done.add(node)
                    node.push()
                    following.update(node.parents)
            frontier = following
