"""The checks every layer of microbp runs on what a user hands it, each with one clear error.

A wrong type is a `TypeError`, a wrong value a `ValueError`; each message names what was wrong
and what to give instead. This module imports nothing of the project, so all may import it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

#: The losses a network can be trained and compared with, by their names in the library.
LOSS_NAMES = ("cross_entropy", "squared_error")


def check_number(data: object, what: str) -> float:
    """``data`` as a finite float, or the error a bad ``what`` deserves."""
    if type(data) is float and data - data == 0.0:  # the common case, without the ABC check
        return data
    if isinstance(data, bool) or not isinstance(data, numbers.Real):
        raise TypeError(
            f"{what} must be a real number (int or float), got {type(data).__name__} {data!r}"
        )
    try:
        number = float(data)
    except OverflowError:
        raise OverflowError(f"{what} {data!r} is too large for a float") from None
    if not math.isfinite(number):
        raise ValueError(
            f"{what} must be finite, got {number!r}; NaN and ±inf cannot enter a graph"
        )
    return number


def check_count(n: object, what: str) -> int:
    """``n`` if it is a positive int, else a clear error naming ``what`` it counts."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{what} must be a positive int, got {n!r}")
    return n


def check_choice(value: object, choices: Sequence[str], what: str) -> str:
    """``value`` if it is one of ``choices``, else an error listing them."""
    if value not in choices:
        raise ValueError(f"unknown {what} {value!r}; choose one of {', '.join(choices)}")
    return str(value)


def check_loss(loss: object) -> str:
    """``loss`` if it names one of `LOSS_NAMES`, else a clear error listing them."""
    return check_choice(loss, LOSS_NAMES, "loss")


def check_label(label: object, n_outputs: int) -> int:
    """``label`` as an int class index in 0..n_outputs−1, or a clear error."""
    if isinstance(label, bool) or not isinstance(label, numbers.Integral):
        raise TypeError(f"label must be an int class index, got {type(label).__name__} {label!r}")
    if not 0 <= label < n_outputs:
        raise ValueError(
            f"label {label} is out of range for {n_outputs} outputs; use 0 to {n_outputs - 1}"
        )
    return int(label)


def check_target(target: Sequence[float], n_outputs: int) -> list[float]:
    """``target`` as a list of n_outputs finite floats, or a clear error."""
    if len(target) != n_outputs:
        raise ValueError(
            f"target has {len(target)} entries but the network has {n_outputs} outputs"
        )
    return [check_number(t, f"target[{i}]") for i, t in enumerate(target)]
