"""Derivatives of any order of a drawn expression by forward mode in mpmath: dual numbers
a + b·ε (ε² = 0) nested n deep, one ε per direction, so that the coefficient of ε₁ε₂…εₙ is the
n-th mixed partial derivative. Every coefficient is computed at mpmath's working precision from
the ops' own derivative formulas, so at 60 digits it is the exact derivative to about 10⁻⁶⁰ of
the terms it is made of: an independent reference for the engine's recorded reverse passes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import reduce
from itertools import product
from types import SimpleNamespace
from typing import Any

import mpmath


class Dual:
    """a + b·ε with ε² = 0; a and b are numbers or Duals themselves."""

    __slots__ = ("a", "b")

    def __init__(self, a: Any, b: Any) -> None:
        self.a, self.b = a, b

    def __add__(self, other: Any) -> Dual:
        o = lift(other)
        return Dual(self.a + o.a, self.b + o.b)

    __radd__ = __add__

    def __neg__(self) -> Dual:
        return Dual(-self.a, -self.b)

    def __sub__(self, other: Any) -> Dual:
        return self + -lift(other)

    def __rsub__(self, other: Any) -> Dual:
        return lift(other) + -self

    def __mul__(self, other: Any) -> Dual:
        o = lift(other)
        return Dual(self.a * o.a, self.a * o.b + self.b * o.a)

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Dual:
        o = lift(other)
        return Dual(self.a / o.a, (self.b * o.a - self.a * o.b) / (o.a * o.a))

    def __rtruediv__(self, other: Any) -> Dual:
        return lift(other) / self

    def __pow__(self, exponent: Any) -> Dual:
        if isinstance(exponent, int):  # x ** n: n·xⁿ⁻¹, and 0 for x⁰
            slope = exponent * self.a ** (exponent - 1) if exponent else 0
            return Dual(self.a**exponent, slope * self.b)
        return EXACT_OPS.exp(exponent * EXACT_OPS.log(self))  # x ** y, x > 0

    def __rpow__(self, base: Any) -> Dual:
        return EXACT_OPS.exp(self * EXACT_OPS.log(base))

    def __gt__(self, other: Any) -> bool:
        return bool(real(self) > other)


def lift(x: Any) -> Dual:
    return x if isinstance(x, Dual) else Dual(x, 0)


def real(x: Any) -> Any:
    """The number a Dual, however nested, stands at."""
    while isinstance(x, Dual):
        x = x.a
    return x


def _chained(f: Callable[[Any], Any], slope: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """f on numbers, and on a + b·ε: f(a) + f′(a)·b·ε, f and f′ taken on a's own kind."""

    def applied(x: Any) -> Any:
        return Dual(applied(x.a), slope(x.a) * x.b) if isinstance(x, Dual) else f(x)

    return applied


def _sigmoid(x: Any) -> Any:
    return 1 / (1 + mpmath.exp(-x))


#: The ops of `microbp.strategies.ExpressionDag` on Duals over mpmath numbers: each function's
#: derivative is written in the functions themselves (tanh′ = 1 − tanh², σ′ = σ(1 − σ), …).
EXACT_OPS = SimpleNamespace()
EXACT_OPS.exp = _chained(mpmath.exp, lambda a: EXACT_OPS.exp(a))
EXACT_OPS.log = _chained(mpmath.log, lambda a: 1 / a)
EXACT_OPS.tanh = _chained(mpmath.tanh, lambda a: 1 - EXACT_OPS.tanh(a) ** 2)
EXACT_OPS.sigmoid = _chained(_sigmoid, lambda a: EXACT_OPS.sigmoid(a) * (1 - EXACT_OPS.sigmoid(a)))
EXACT_OPS.softplus = _chained(lambda x: mpmath.log1p(mpmath.exp(x)), EXACT_OPS.sigmoid)
# relu′ is 0 at exactly 0, as microbp's, and relu″ is 0
EXACT_OPS.relu = _chained(lambda x: x if x > 0 else 0 * x, lambda a: 1 if real(a) > 0 else 0)
EXACT_OPS.sum = lambda terms: reduce(lambda s, t: s + t, terms)
EXACT_OPS.affine = lambda b, w, h: reduce(lambda s, p: s + p[0] * p[1], zip(w, h), b)


def partial(f: Callable[..., Any], at: Sequence[float], wrt: Sequence[int]) -> Any:
    """∂ⁿf/∂x_wrt[0]…∂x_wrt[n−1] at ``at`` (n = len(wrt)), as an mpmath number."""
    x: list[Any] = [mpmath.mpf(v) for v in at]
    for direction in wrt:  # one level of nesting per derivative, seeding that leaf
        x = [Dual(v, 1 if i == direction else 0) for i, v in enumerate(x)]
    coefficient = f(*x)
    for _ in wrt:
        coefficient = coefficient.b if isinstance(coefficient, Dual) else 0
    return real(coefficient)


def derivatives_of_order(
    f: Callable[..., Any], at: Sequence[float], order: int
) -> dict[tuple[int, ...], Any]:
    """Every partial derivative of ``order`` of f at ``at``, keyed by the leaves it is taken in."""
    return {wrt: partial(f, at, wrt) for wrt in product(range(len(at)), repeat=order)}
