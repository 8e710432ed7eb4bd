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
