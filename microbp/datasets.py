"""Small generated two-class data sets in the plane, for training demos and tests; no downloads.

Each ``make_*`` returns ``(X, y)``: X a list of ``[x1, x2]`` float lists, y a list of 0/1 ints,
with the classes alternating (point i has class i % 2) so any prefix is balanced. The same
``seed`` gives the same points; Gaussian ``noise`` (its standard deviation) blurs the shapes.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from microbp.validate import check_count

Dataset = tuple[list[list[float]], list[int]]


#: The most points a data set is made with: each is a small Python list, and training makes a
#: graph (or a row of the tape) for every one.
MAX_POINTS = 1_000_000


def _check_args(n: object, noise: object) -> None:
    if check_count(n, "n, the number of points,") > MAX_POINTS:
        raise ValueError(
            f"n, the number of points, is {n:,}; at most {MAX_POINTS:,} are made (each is a "
            "Python list, trained on one by one)"
        )
    if isinstance(noise, bool) or not isinstance(noise, int | float) or not 0 <= noise < math.inf:
        raise ValueError(f"noise, a standard deviation, must be a finite number ≥ 0, got {noise!r}")


def _jitter(rng: random.Random, point: tuple[float, float], noise: float) -> list[float]:
    return [point[0] + rng.gauss(0.0, noise), point[1] + rng.gauss(0.0, noise)]


def make_moons(n: int, *, noise: float = 0.1, seed: int | None = None) -> Dataset:
    """Two interleaving half circles: class 0 is the upper arc, class 1 the lower, shifted one."""
    _check_args(n, noise)
    rng = random.Random(seed)
    X, y = [], []
    for i in range(n):
        t = rng.uniform(0.0, math.pi)
        label = i % 2
        point = (math.cos(t), math.sin(t)) if label == 0 else (1 - math.cos(t), 0.5 - math.sin(t))
        X.append(_jitter(rng, point, noise))
        y.append(label)
    return X, y


def make_xor(n: int, *, noise: float = 0.2, seed: int | None = None) -> Dataset:
    """Clusters at the four corners (±1, ±1); class 1 where the coordinates' signs differ."""
    _check_args(n, noise)
    rng = random.Random(seed)
    X, y = [], []
    for i in range(n):
        label = i % 2
        s1 = rng.choice((-1.0, 1.0))
        s2 = -s1 if label == 1 else s1
        X.append(_jitter(rng, (s1, s2), noise))
        y.append(label)
    return X, y


def make_circles(
    n: int, *, noise: float = 0.05, factor: float = 0.5, seed: int | None = None
) -> Dataset:
    """Two concentric circles: class 0 on radius 1, class 1 on radius ``factor`` (in (0, 1))."""
    _check_args(n, noise)
    if isinstance(factor, bool) or not isinstance(factor, int | float) or not 0 < factor < 1:
        raise ValueError(f"factor, the inner circle's radius, must be in (0, 1), got {factor!r}")
    rng = random.Random(seed)
    X, y = [], []
    for i in range(n):
        label = i % 2
        r = 1.0 if label == 0 else factor
        t = rng.uniform(0.0, 2.0 * math.pi)
        X.append(_jitter(rng, (r * math.cos(t), r * math.sin(t)), noise))
        y.append(label)
    return X, y


#: The data sets by name, as `microbp train --data` offers them.
DATASETS: dict[str, Callable[..., Dataset]] = {
    "moons": make_moons,
    "xor": make_xor,
    "circles": make_circles,
}
