"""Generated toy data sets: the promised shapes, exactly so without noise, seeded, checked args."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from microbp.datasets import make_circles, make_moons, make_xor

MAKERS = [make_moons, make_xor, make_circles]


@pytest.mark.parametrize("make", MAKERS)
@given(n=st.integers(1, 60), seed=st.integers(0, 2**32 - 1))
def test_returns_n_points_of_two_floats_and_alternating_0_1_labels(make, n, seed):
    X, y = make(n, seed=seed)
    assert len(X) == len(y) == n
    assert all(len(p) == 2 and all(type(c) is float for c in p) for p in X)
    assert y == [i % 2 for i in range(n)]


@pytest.mark.parametrize("make", MAKERS)
def test_same_seed_same_points_other_seed_other_points(make):
    assert make(20, seed=3) == make(20, seed=3)
    assert make(20, seed=3)[0] != make(20, seed=4)[0]


def test_moons_without_noise_lie_on_the_two_half_circles():
    X, y = make_moons(50, noise=0.0, seed=1)
    for (x1, x2), label in zip(X, y):
        cx, cy, side = (0.0, 0.0, 1.0) if label == 0 else (1.0, 0.5, -1.0)
        assert math.hypot(x1 - cx, x2 - cy) == pytest.approx(1.0, rel=1e-12)
        assert side * (x2 - cy) >= 0.0  # class 0 the upper half, class 1 the lower


def test_xor_without_noise_sits_on_the_corners_labelled_by_differing_signs():
    X, y = make_xor(50, noise=0.0, seed=1)
    for (x1, x2), label in zip(X, y):
        assert abs(x1) == abs(x2) == 1.0
        assert label == int(x1 * x2 < 0)
    assert {tuple(p) for p in X} == {(1.0, 1.0), (-1.0, -1.0), (1.0, -1.0), (-1.0, 1.0)}


@given(st.floats(0.1, 0.9))
def test_circles_without_noise_have_radius_1_and_factor(factor):
    X, y = make_circles(20, noise=0.0, factor=factor, seed=1)
    for (x1, x2), label in zip(X, y):
        assert math.hypot(x1, x2) == pytest.approx(1.0 if label == 0 else factor, rel=1e-12)


def test_noise_is_gaussian_with_the_given_standard_deviation():
    noisy, _ = make_xor(4000, noise=0.3, seed=2)
    offsets = [c - math.copysign(1.0, c) for p in noisy for c in p]  # |noise| ≪ 1 here
    assert statistics.fmean(offsets) == pytest.approx(0.0, abs=0.02)
    assert statistics.pstdev(offsets) == pytest.approx(0.3, rel=0.05)


@pytest.mark.parametrize("make", MAKERS)
@pytest.mark.parametrize(
    ("n", "family"),
    [(0, ValueError), (-3, ValueError), (2.5, TypeError), (True, TypeError), ("10", TypeError)],
)
def test_bad_n_is_refused_with_the_error_family_it_deserves(make, n, family):
    with pytest.raises(family, match="n, the number of points, must be a positive int"):
        make(n)


@pytest.mark.parametrize("make", MAKERS)
def test_numpy_integers_count_as_ints(make):
    X, y = make(np.int64(6), seed=1)
    assert (X, y) == make(6, seed=1)


@pytest.mark.parametrize("make", MAKERS)
@pytest.mark.parametrize("noise", [-0.1, math.inf, math.nan, "0.1"])
def test_bad_noise_is_refused(make, noise):
    with pytest.raises(ValueError, match="noise"):
        make(10, noise=noise)


@pytest.mark.parametrize("factor", [0, 1, 1.5, -0.5])
def test_circles_refuse_a_factor_outside_0_1(factor):
    with pytest.raises(ValueError, match=r"factor.*\(0, 1\)"):
        make_circles(10, factor=factor)
