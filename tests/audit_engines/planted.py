"""The reference engine with one planted bug each: the audit must catch every one."""

from __future__ import annotations

import math

from reference import Value


class WrongTanh(Value):
    """tanh's local derivative taken as 1 − tanh (not 1 − tanh²)."""

    def tanh(self):
        t = math.tanh(self.data)
        return self._make(t, (self,), (1.0 - t,))


class Overwrites(Value):
    """``=`` instead of ``+=``: a node used twice keeps only the last path's term."""

    @staticmethod
    def accumulate(fresh, parent, term):
        fresh[id(parent)] = term


class DivisionSign(Value):
    """∂(x/y)/∂y taken as +x/y² (the sign dropped)."""

    def __truediv__(self, other):
        other = self._wrap(other)
        x, y = self.data, other.data
        return self._make(x / y, (self, other), (1.0 / y, x / (y * y)))


class ParentsFirst(Value):
    """Backward visits the nodes parents first, before their grads are complete."""

    def visiting_order(self, order):
        return order


class FrozenData(Value):
    """Setting ``data`` is silently ignored once a value is made: an SGD step changes nothing."""

    def __setattr__(self, name, value):
        if name != "data" or "data" not in self.__dict__:
            super().__setattr__(name, value)


class StaleProducts(Value):
    """``*`` multiplies the numbers its operands were made with, not their data now."""

    def __init__(self, data, parents=(), local_grads=()):
        super().__init__(data, parents, local_grads)
        self.first = self.data

    def __mul__(self, other):
        other = self._wrap(other)
        return self._make(self.first * other.first, (self, other), (other.first, self.first))
