"""The ops at their edges, as a hostile user meets them: exact exponents past 2⁵³, sums whose
partial sums overflow, a max over what is not a number, huge ints, any iterable of nodes; and
the tape replaying the same edges as the engine."""

from __future__ import annotations

import math
import sys
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from examples import scaled
from hypothesis import given, settings
from hypothesis import strategies as st

from microbp.engine import Value, affine, derivatives, max_value, sum_values
from microbp.tape import record

BIG_ODD = 2**60 + 1


def exact_exponents(n: int) -> list[Any]:
    """``n`` as every exact type a user may hand in: int, Fraction, numpy's long double (where
    it holds n exactly: 64 bits of mantissa on x86)."""
    kinds: list[Any] = [n, Fraction(n)]
    if int(np.longdouble(n)) == n:
        kinds.append(np.longdouble(n))
    return kinds


@pytest.mark.parametrize("n", [BIG_ODD, BIG_ODD + 1, -BIG_ODD, 2**53 + 1])
def test_the_sign_of_a_negative_base_follows_the_parity_of_an_exact_exponent(n):
    for exponent in exact_exponents(n):
        assert (Value(-1.0) ** exponent).data == (-1.0 if n % 2 else 1.0), repr(exponent)


def test_minus_one_to_minus_two_to_the_53_has_the_grad_plus_two_to_the_53_in_engine_and_tape():
    """d/dx xⁿ = n·xⁿ⁻¹ at x = −1, n = −2⁵³: (−2⁵³)·(−1)^(−2⁵³−1) = +2⁵³."""
    x = Value(-1.0, "x")
    y = x ** -(2**53)
    y.backward()
    assert x.grad == 2.0**53
    tape = record(y, [x], [])
    tape.run([[-1.0]])
    assert tape.grad_of(x).tolist() == [2.0**53]


def test_zero_to_a_huge_even_power_has_grad_zero_in_engine_and_tape():
    x = Value(0.0, "x")
    y = x**2**60
    y.backward()
    assert (y.data, x.grad) == (0.0, 0.0)
    tape = record(y, [x], [])
    tape.run([[0.0]])
    assert tape.grad_of(x).tolist() == [0.0]


def test_zero_to_a_zero_value_power_replays_as_the_engine_computes_it():
    """0⁰ = 1 with ∂/∂x = y·x^(y−1) = 0 and ∂/∂y = xʸ log x taken as 0 at x = 0."""
    x, y = Value(0.0, "x"), Value(0.0, "y")
    z = x**y
    z.backward()
    tape = record(z, [x, y], [])
    assert tape.run([[0.0, 0.0]]).tolist() == [z.data] == [1.0]
    assert tape.grad_of(x).tolist() == [x.grad] and tape.grad_of(y).tolist() == [y.grad]


def test_exp_of_a_sum_plus_exp_of_a_product_records_and_replays_as_the_engine():
    x, y = Value(0.3, "x"), Value(-0.2, "y")
    tape = record((x + y).exp() + (x * y).exp(), [x, y], [])
    for a, b in [(0.3, -0.2), (1.0, 2.0), (-3.0, 0.5)]:
        xs, ys = Value(a), Value(b)
        L = (xs + ys).exp() + (xs * ys).exp()
        L.backward()
        assert tape.run([[a, b]]).tolist() == [L.data]
        assert tape.grad_of(x).tolist() == [xs.grad] and tape.grad_of(y).tolist() == [ys.grad]


# ---- sums: the exact total, correctly rounded, whatever the partial sums do ----


def exactly_rounded_sum(terms: list[float]) -> float:
    """Σ terms computed exactly by mpmath (2,200 bits hold any sum of a few floats), then
    rounded once to a float; OverflowError when the total itself is out of range."""
    import mpmath

    with mpmath.workprec(2200):
        total = mpmath.fsum(mpmath.mpf(t) for t in terms)
        rounded = float(total)
    if math.isinf(rounded):
        raise OverflowError(f"Σ {terms} is past the floats")
    return rounded


#: Floats, with the largest ones often, so that partial sums overflow.
HUGE_OR_ANY = st.one_of(
    st.sampled_from([sign * x for x in (sys.float_info.max, 1e308, 2.0**1023) for sign in (1, -1)]),
    st.floats(allow_nan=False, allow_infinity=False),
)


@pytest.mark.parametrize(
    "terms",
    [
        [1e308, 1e308, -1e308],
        [1e308, 1e308, -1e308, -1e308, 5.0],
        [-1.7e308, -1.7e308, 1.7e308, 1e-300],
        [1.7976931348623157e308, 1.7976931348623157e308, -1.7976931348623157e308],
    ],
)
def test_a_sum_whose_partial_sums_overflow_but_whose_total_is_finite_is_that_total(terms):
    assert sum_values(terms).data == exactly_rounded_sum(terms)


@settings(max_examples=scaled(200))
@given(st.lists(HUGE_OR_ANY, min_size=1, max_size=8))
def test_a_sum_is_its_exact_total_rounded_once_or_an_overflow_error(terms):
    try:
        expected = exactly_rounded_sum(terms)
    except OverflowError:
        with pytest.raises(OverflowError):
            sum_values(terms)
        return
    assert sum_values(terms).data == expected


def test_an_affine_node_whose_partial_sums_overflow_is_its_finite_total():
    assert affine(1e308, [1.0, 1.0], [1e308, -1e308]).data == 1e308


# ---- a max over what is not a number, huge ints, any iterable ----


@pytest.mark.parametrize("written", [math.nan, -math.inf, math.inf])
def test_a_max_over_data_that_is_not_a_finite_number_is_refused(written):
    a = Value(1.0, "a")
    a.data = written
    with pytest.raises(ValueError, match="NaN or infinite"):
        max_value([a, Value(2.0)])


@pytest.mark.parametrize("digits", [400, 4000, 5000, 100_000])
def test_an_int_too_large_for_a_float_is_an_overflow_error_with_a_short_message(digits):
    with pytest.raises(OverflowError) as caught:
        Value(10**digits)
    assert len(str(caught.value)) < 300


def test_derivatives_take_any_iterable_of_nodes():
    x, w = Value(2.0, "x"), Value(3.0, "w")
    y = w * x
    assert derivatives(y, (v for v in [x, w])) == derivatives(y, [x, w]) == [3.0, 2.0]
    assert derivatives(y, iter((x,))) == [3.0]
