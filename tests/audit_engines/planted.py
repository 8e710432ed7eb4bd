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


class OverflowingTanh(Value):
    """tanh as (e²ˣ − 1)/(e²ˣ + 1): math.exp overflows past x ≈ 355."""

    def tanh(self):
        e = math.exp(2.0 * self.data)
        t = (e - 1.0) / (e + 1.0)
        return self._make(t, (self,), (1.0 - t * t,))


class NoRmul(Value):
    """No reflected ``*``: ``x * 2`` works, ``2 * x`` raises TypeError."""

    def __rmul__(self, other):
        return NotImplemented


class SegfaultingSigmoid(Value):
    """sigmoid reads address 0 through ctypes: the interpreter dies of SIGSEGV."""

    def sigmoid(self):
        import ctypes

        ctypes.string_at(0)
        return super().sigmoid()


class ExitingLog(Value):
    """log ends the process with os._exit, as C code calling exit() does."""

    def log(self):
        import os

        os._exit(3)


class PrintingExp(Value):
    """exp prints without end."""

    def exp(self):
        while True:
            print("exp " * 20)


class GreedyTanh(Value):
    """tanh allocates memory without bound."""

    def tanh(self):
        hoard = []
        while True:
            hoard.append(bytes(50 * 1024**2))


class SleepingExp(Value):
    """exp never returns."""

    def exp(self):
        import time

        while True:
            time.sleep(0.5)


class SysExitRelu(Value):
    """relu calls sys.exit: SystemExit, which ``except Exception`` does not catch."""

    def relu(self):
        import sys

        sys.exit(4)
