"""Each elementary op's rule in floats: from its operands' numbers, the result z and the local
derivative of z with respect to each operand, and where it is undefined, its domain.

    op          z                   ∂z/∂x                           ∂z/∂y
    add         x + y               1                               1
    sub         x − y               1                               −1
    mul         x · y               y                               x
    div         x / y               1/y                             −x/y²
    neg         −x                  −1
    pow         xⁿ, n a number      n·xⁿ⁻¹
    pow_value   xʸ, y a Value       y·xʸ⁻¹                          xʸ·log x  (0 at x = 0)
    exp         eˣ                  eˣ
    log         log x               1/x
    tanh        tanh x              4e/(1+e)², e = e^(−2|x|)        (= 1 − tanh²x)
    sigmoid     σ(x)                e/(1+e)², e = e^(−|x|)          (= σ(x)(1 − σ(x)))
    relu        max(x, 0)           1 if x > 0, else 0
    softplus    log(1 + eˣ)         σ(x)
    sum         Σ_i t_i             1 to every t_i
    max         max_i t_i           0 to every t_i (a shift the result does not depend on)
    affine      b + Σ_j w_j h_j     1 to b, h_j to w_j, w_j to h_j

Each rule is written so that it neither overflows nor cancels where the exact value is a float,
and refuses, through its domain, operands where the op is undefined (log of x ≤ 0, a zero
divisor, …); NaN or ±inf operands are refused by every rule. `microbp.ops` makes each rule an
op's record; the engine builds nodes from the records.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from itertools import chain
from math import isfinite
from operator import mul
from typing import TypeAlias, TypeVar

from microbp.powers import integer_power, power_derivative
from microbp.validate import finite_derivatives, not_finite_error

T = TypeVar("T")
Locals: TypeAlias = tuple[float, ...]
#: An op's rule: the operands' numbers (an n-ary op's as one sequence) → (z, ∂z/∂operand each).
Rule: TypeAlias = Callable[..., tuple[float, Locals]]
#: An op's domain: the operands' finite numbers → the error they deserve, or None if defined.
Domain: TypeAlias = Callable[..., Exception | None]


def everywhere(*operands: float) -> Exception | None:
    """The domain of an op defined for every finite operand."""
    return None


def check_operands(op: str, domain: Domain, *operands: float) -> None:
    """Refuse ``operands`` with the error ``op``'s ``domain`` gives them, or for not being
    finite; a rule calls it only where its own test says the operands may be refused."""
    if not all(isfinite(x) for x in operands):
        raise not_finite_error(op, operands)
    error = domain(*operands)
    if error is not None:
        raise error


# ---- + - * / and unary minus ----


def add_rule(x: float, y: float) -> tuple[float, Locals]:
    return x + y, (1.0, 1.0)


def sub_rule(x: float, y: float) -> tuple[float, Locals]:
    return x - y, (1.0, -1.0)


def mul_rule(x: float, y: float) -> tuple[float, Locals]:
    return x * y, (y, x)


def div_domain(x: float, y: float) -> Exception | None:
    if y == 0.0:
        return ZeroDivisionError(f"division by zero: {x!r} / {y!r} (the divisor is zero)")
    return None


def div_rule(x: float, y: float) -> tuple[float, Locals]:
    if y == 0.0 or not (isfinite(x) and isfinite(y)):  # x / inf would be a number
        check_operands("/", div_domain, x, y)
    return x / y, finite_derivatives("/", (x, y), 1.0 / y, -(x / y) / y)


def neg_rule(x: float) -> tuple[float, Locals]:
    return -x, (-1.0,)


# ---- powers ----


def power_domain(x: float, n: float) -> Exception | None:
    if x < 0.0 and not float(n).is_integer():
        return ValueError(f"** of a negative base {x!r} to the non-integer power {n!r} is not real")
    if x == 0.0 and n < 0.0:
        return ValueError(f"** of 0 to the negative power {n!r} is undefined (division by zero)")
    if x == 0.0 and 0.0 < n < 1.0:
        return ValueError(f"** of 0 to the power {n!r} has an infinite derivative at 0")
    return None


def power_rule(x: float, n: int | float) -> tuple[float, Locals]:
    """xⁿ for a number n, an int n (or an integral float) exactly signed however large."""
    k = n if isinstance(n, int) else int(n) if n.is_integer() else None
    if not isfinite(x) or (x <= 0.0 and (n < 1 or k is None)):  # where it can fail
        check_operands("**", power_domain, x, n)
    try:
        data = math.pow(x, n) if k is None else integer_power(x, k)
        local = power_derivative(x, n if k is None else k)
    except (OverflowError, ZeroDivisionError):
        raise not_finite_error(f"**{n!r}", (x,)) from None  # named as its label, `Op.label`
    if not isfinite(local):
        raise not_finite_error(f"**{n!r}", (x,))
    return data, (local,)


def pow_value_domain(x: float, y: float) -> Exception | None:
    if x < 0.0:
        return ValueError(
            f"** with a Value exponent needs a base ≥ 0, got base {x!r}: the derivative with "
            "respect to the exponent, x**y·log(x), is not real; use a plain number exponent"
        )
    return power_domain(x, y)


def pow_value_rule(x: float, y: float) -> tuple[float, Locals]:
    """x ** y with y a Value: ∂/∂x = y·x^(y−1), ∂/∂y = x^y·log x (0 at x = 0); x ≥ 0."""
    check_operands("**", pow_value_domain, x, y)
    try:
        data, d_base = math.pow(x, y), power_derivative(x, y)
    except (OverflowError, ZeroDivisionError):
        raise not_finite_error("**", (x, y)) from None
    d_exponent = data * math.log(x) if x > 0.0 else 0.0
    return data, finite_derivatives("**", (x, y), d_base, d_exponent)


# ---- functions of one operand ----


def exp_rule(x: float) -> tuple[float, Locals]:
    if not isfinite(x):  # exp, tanh, sigmoid, relu, softplus would make some of these numbers
        check_operands("exp", everywhere, x)
    try:
        e = math.exp(x)
    except OverflowError:
        raise not_finite_error("exp", (x,)) from None
    return e, (e,)


def log_domain(x: float) -> Exception | None:
    return ValueError(f"log needs a positive operand, got {x!r}") if x <= 0.0 else None


def log_rule(x: float) -> tuple[float, Locals]:
    if not 0.0 < x < math.inf:
        check_operands("log", log_domain, x)
    return math.log(x), finite_derivatives("log", (x,), 1.0 / x)


def tanh_rule(x: float) -> tuple[float, Locals]:
    if not isfinite(x):
        check_operands("tanh", everywhere, x)
    e = math.exp(-2.0 * abs(x))
    return math.tanh(x), (4.0 * e / (1.0 + e) ** 2,)


def sigmoid_rule(x: float) -> tuple[float, Locals]:
    if not isfinite(x):
        check_operands("sigmoid", everywhere, x)
    e = math.exp(-abs(x))
    s = 1.0 / (1.0 + e) if x >= 0.0 else e / (1.0 + e)
    return s, (e / (1.0 + e) ** 2,)


def relu_rule(x: float) -> tuple[float, Locals]:
    # At exactly 0 the derivative is taken as 0, as PyTorch and JAX do.
    if not isfinite(x):
        check_operands("relu", everywhere, x)
    return (x, (1.0,)) if x > 0.0 else (0.0, (0.0,))


def softplus_rule(x: float) -> tuple[float, Locals]:
    """log(1 + eˣ) = max(x, 0) + log1p(e^(−|x|)) and σ(x): exp only ever of −|x|, so neither
    overflows, and log1p keeps the digits of a tiny e^(−|x|)."""
    if not isfinite(x):
        check_operands("softplus", everywhere, x)
    e = math.exp(-abs(x))
    sigma = 1.0 / (1.0 + e) if x >= 0.0 else e / (1.0 + e)
    return max(x, 0.0) + math.log1p(e), (sigma,)


# ---- ops of any number of operands ----


def exact_sum(terms: Sequence[float], op: str, *operands: Sequence[float]) -> float:
    """Σ terms correctly rounded (the same on every Python), or the error naming ``op``'s
    operands (given in parts, joined only then) if the total leaves the floats.

    `math.fsum` gives it, unless a partial sum overflows (1e308 + 1e308 − 1e308): then the
    sum of the terms as exact fractions, rounded once, which is finite whenever the total is.
    """
    try:
        return math.fsum(terms)
    except OverflowError:  # fsum's partial sums, or its total, past the floats
        if all(isfinite(t) for t in terms):
            try:
                return float(sum(map(Fraction, terms), Fraction(0)))
            except OverflowError:
                pass
        raise not_finite_error(op, [x for part in operands for x in part]) from None
    except ValueError:  # fsum's own: inf − inf among the terms
        raise not_finite_error(op, [x for part in operands for x in part]) from None


def sum_rule(terms: Sequence[float]) -> tuple[float, Locals]:
    return exact_sum(terms, "sum", terms), (1.0,) * len(terms)


def max_rule(values: Sequence[float]) -> tuple[float, Locals]:
    m = max(values)
    if not all(isfinite(v) for v in values):  # max(−inf, 2) would be a number
        check_operands("max", everywhere, *values)
    return m, (0.0,) * len(values)


def affine_parts(parents: Sequence[T]) -> tuple[T, Sequence[T], Sequence[T]]:
    """An affine node's ``parents`` (or anything laid out like them) split into (b, w, h)."""
    n = (len(parents) - 1) // 2
    return parents[0], parents[1 : 1 + n], parents[1 + n :]


def affine_parts_rule(b: float, w: Sequence[float], h: Sequence[float]) -> tuple[float, Locals]:
    """b + Σ_j w_j h_j, `math.fsum` of b and the rounded products, with ∂a/∂b = 1,
    ∂a/∂w_j = h_j and ∂a/∂h_j = w_j: the affine rule on its operands split as (b, w, h)."""
    try:  # the terms go straight into fsum; only a failure lists them, for exact_sum
        a = math.fsum(chain((b,), map(mul, w, h)))
    except (OverflowError, ValueError):
        a = exact_sum([b, *map(mul, w, h)], "affine", (b,), w, h)
    return a, (1.0, *h, *w)


def affine_rule(data: Sequence[float]) -> tuple[float, Locals]:
    return affine_parts_rule(*affine_parts(data))
