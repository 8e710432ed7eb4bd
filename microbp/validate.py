"""The checks every layer of microbp runs on what a user hands it, each with one clear error.

A wrong type is a `TypeError`, a wrong value a `ValueError`; each message names what was wrong
and what to give instead. This module imports nothing of the project, so all may import it.
"""

from __future__ import annotations

import math
import numbers
import reprlib
from collections.abc import Sequence, Sized

#: The losses a network can be trained and compared with, by their names in the library.
LOSS_NAMES = ("cross_entropy", "squared_error")


def check_number(data: object, what: str) -> float:
    """``data`` as a finite float, or the error a bad ``what`` deserves."""
    if type(data) is float and data - data == 0.0:  # the common case, without the ABC check
        return data
    if isinstance(data, bool) or not isinstance(data, numbers.Real):
        raise TypeError(
            f"{what} must be a real number (int or float), got {type(data).__name__} {brief(data)}"
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
    """``n`` as an int if it is a positive integer (numpy's too), else a clear error naming
    ``what`` it counts: a `TypeError` for a non-integer, a `ValueError` for one below 1."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{what} must be a positive int, got {type(n).__name__} {brief(n)}")
    if n < 1:
        raise ValueError(f"{what} must be a positive int, got {n!r}")
    return int(n)


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
        raise TypeError(
            f"label must be an int class index, got {type(label).__name__} {brief(label)}"
        )
    if not 0 <= int(label) < n_outputs:
        raise ValueError(
            f"label {label} is out of range for {n_outputs} outputs; use 0 to {n_outputs - 1}"
        )
    return int(label)


def check_target(target: object, n_outputs: int) -> list[float]:
    """``target`` as a list of n_outputs finite floats, or a clear error."""
    if isinstance(target, str) or not isinstance(target, Sequence):
        raise TypeError(
            f"target must be a sequence of {n_outputs} numbers, got {type(target).__name__} "
            f"{brief(target)}"
        )
    if len(target) != n_outputs:
        raise ValueError(
            f"target has {len(target)} entries but the network has {n_outputs} outputs"
        )
    return [check_number(t, f"target[{i}]") for i, t in enumerate(target)]


_SHORT = reprlib.Repr()
_SHORT.maxlist = _SHORT.maxtuple = 8
_SHORT.maxstring = _SHORT.maxother = 80


def brief(obj: object) -> str:
    """``repr(obj)`` cut short, with the length of a long sequence: messages stay readable
    however large the input that caused them."""
    text = _SHORT.repr(obj)
    if isinstance(obj, Sized) and not isinstance(obj, str) and len(obj) > 8:
        text += f" ({len(obj)} items)"
    return text
