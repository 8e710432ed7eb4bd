"""A small, correct micrograd-style engine for the audit's tests: each op stores its local
derivatives; backward walks the graph without recursion and adds a fresh pass to every grad.

`planted.py` subclasses it, one planted bug per class.
"""

from __future__ import annotations

import math


class Value:
    def __init__(self, data, parents=(), local_grads=()):
        self.data = float(data)
        self.grad = 0.0
        self.parents = parents
        self.local_grads = local_grads

    @classmethod
    def _wrap(cls, x):
        return x if isinstance(x, Value) else cls(x)

    def _make(self, data, parents, local_grads):
        return type(self)(data, parents, local_grads)

    def __add__(self, other):
        other = self._wrap(other)
        return self._make(self.data + other.data, (self, other), (1.0, 1.0))

    def __mul__(self, other):
        other = self._wrap(other)
        return self._make(self.data * other.data, (self, other), (other.data, self.data))

    def __sub__(self, other):
        other = self._wrap(other)
        return self._make(self.data - other.data, (self, other), (1.0, -1.0))

    def __truediv__(self, other):
        other = self._wrap(other)
        x, y = self.data, other.data
        return self._make(x / y, (self, other), (1.0 / y, -x / (y * y)))

    def __neg__(self):
        return self._make(-self.data, (self,), (-1.0,))

    def __pow__(self, n):
        if isinstance(n, Value):
            x, y = self.data, n.data
            return self._make(x**y, (self, n), (y * x ** (y - 1), x**y * math.log(x)))
        local = n * self.data ** (n - 1) if n != 0 else 0.0  # x ** 0 is 1 everywhere, 0 too
        return self._make(self.data**n, (self,), (local,))

    def __radd__(self, other):
        return self._wrap(other) + self

    def __rsub__(self, other):
        return self._wrap(other) - self

    def __rmul__(self, other):
        return self._wrap(other) * self

    def __rtruediv__(self, other):
        return self._wrap(other) / self

    def __rpow__(self, other):
        return self._wrap(other) ** self

    def exp(self):
        e = math.exp(self.data)
        return self._make(e, (self,), (e,))

    def log(self):
        return self._make(math.log(self.data), (self,), (1.0 / self.data,))

    def tanh(self):
        t = math.tanh(self.data)
        return self._make(t, (self,), (1.0 - t * t,))

    def sigmoid(self):
        s = 0.5 * (1.0 + math.tanh(0.5 * self.data))
        return self._make(s, (self,), (s * (1.0 - s),))

    def relu(self):
        return self._make(max(self.data, 0.0), (self,), (1.0 if self.data > 0 else 0.0,))

    def softplus(self):
        x = self.data
        s = 0.5 * (1.0 + math.tanh(0.5 * x))
        return self._make(max(x, 0.0) + math.log1p(math.exp(-abs(x))), (self,), (s,))

    def topological_order(self):
        """Every node this one depends on, parents before children, with an explicit stack."""
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            node, parents_done = stack.pop()
            if parents_done:
                order.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((p, False) for p in node.parents if id(p) not in seen)
        return order

    def backward(self):
        order = self.topological_order()
        fresh = {id(node): 0.0 for node in order}
        fresh[id(self)] = 1.0
        for node in self.visiting_order(order):
            for parent, local in zip(node.parents, node.local_grads):
                self.accumulate(fresh, parent, local * fresh[id(node)])
        for node in order:
            node.grad += fresh[id(node)]

    def visiting_order(self, order):
        return reversed(order)

    @staticmethod
    def accumulate(fresh, parent, term):
        fresh[id(parent)] += term
