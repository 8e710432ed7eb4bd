"""xⁿ and its derivative n·xⁿ⁻¹ in floats, each signed by n's own parity for an integer n of
any size: shared by the engine's ``**`` and checked against mpmath in the tests.

A float exponent past 2⁵³ is always even, so an odd int exponent that large would give an odd
power the wrong sign if it were turned into a float first.
"""

from __future__ import annotations

import math
import numbers
from typing import SupportsInt

#: Up to here every integer is a float; past it, a float exponent is always even.
EXACT_INTEGERS = 2**53


def whole_exponent(exponent: SupportsInt, n: float) -> int | float:
    """The exponent ``exponent`` (``n`` as a float) as an int if it is a whole number, its
    parity read before any rounding: an int, a `Fraction` n/1 or a numpy long double past 2⁵³
    keep theirs (``Value(-1.0) ** Fraction(2**60 + 1)`` is −1). A float stays a float."""
    if isinstance(exponent, numbers.Integral):
        return int(exponent)
    if isinstance(exponent, float) or not n.is_integer():  # a float has no digits to lose
        return n
    if isinstance(exponent, numbers.Rational):
        return int(exponent.numerator) if exponent.denominator == 1 else n
    whole = int(exponent)  # a wider float (numpy's long double): whole if it equals its int
    return whole if whole == exponent else n


def integer_power(x: float, k: int) -> float:
    """xᵏ for an int k of any size, its sign from k's own parity (k as a float past 2⁵³ would
    round an odd power to an even one)."""
    if -EXACT_INTEGERS <= k <= EXACT_INTEGERS:
        return math.pow(x, k)
    magnitude = math.pow(abs(x), k)
    return -magnitude if x < 0.0 and k % 2 else magnitude


def power_derivative(x: float, n: int | float) -> float:
    """n·xⁿ⁻¹, exactly signed for integer n of any size (its parity is kept as an int)."""
    if n == 0:
        return 0.0
    if isinstance(n, float) and not n.is_integer():  # then x ≥ 0: no sign to keep
        return n * math.pow(x, n - 1.0)
    k = int(n)
    if -EXACT_INTEGERS < k <= EXACT_INTEGERS:  # k − 1 is a float exactly
        return k * math.pow(x, k - 1)
    if x == 0.0:
        return 0.0
    # |k|·|x|^((k−1)/2) squared: the product stays off the subnormals, where digits are lost.
    half = math.pow(abs(x), (k - 1) / 2)
    magnitude = abs(k) * half * half
    return -magnitude if (x < 0.0 and (k - 1) % 2 == 1) != (k < 0) else magnitude
