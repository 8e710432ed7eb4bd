"""The checks every layer of microbp runs on what a user hands it, each with one clear error.

A wrong type is a `TypeError`, a wrong value a `ValueError`; each message names what was wrong
and what to give instead. This module imports nothing of the project, so all may import it.
"""

from __future__ import annotations

import numbers
import reprlib
from collections.abc import Sequence, Sized
from math import isfinite
from typing import Any

#: The losses a network can be trained and compared with, by their names in the library.
LOSS_NAMES = ("cross_entropy", "squared_error")


def check_number(data: object, what: str) -> float:
    """``data`` as a finite float, or the error a bad ``what`` deserves."""
    if type(data) is float and isfinite(data):  # the common case, without the ABC check
        return data
    if isinstance(data, bool) or not isinstance(data, numbers.Real):
        raise TypeError(
            f"{what} must be a real number (int or float), got {type(data).__name__} {brief(data)}"
        )
    try:
        number = float(data)
    except OverflowError:
        raise OverflowError(f"{what} {data!r} is too large for a float") from None
    if not isfinite(number):
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


def check_sequence(items: object, what: str, of_what: str) -> list[Any]:
    """``items`` (a list, a tuple, a numpy vector) as a list, or a `TypeError` saying what
    ``what`` should hold: strings, mappings, sets, scalars and 0-d arrays are not sequences."""
    try:
        if isinstance(items, str | bytes | dict | set) or not isinstance(items, Sized):
            raise TypeError
        return list(items)  # type: ignore[call-overload,no-any-return]  # a 0-d array raises
    except TypeError:
        raise TypeError(
            f"{what} must be a sequence of {of_what}, got {type(items).__name__} {brief(items)}"
        ) from None


def check_target(target: object, n_outputs: int) -> list[float]:
    """``target`` as a list of n_outputs finite floats, or a clear error."""
    entries = check_sequence(target, "target", f"{n_outputs} numbers")
    if len(entries) != n_outputs:
        raise ValueError(
            f"target has {len(entries)} entries but the network has {n_outputs} outputs"
        )
    return [check_number(t, f"target[{i}]") for i, t in enumerate(entries)]


_SHORT = reprlib.Repr()
_SHORT.maxlist = _SHORT.maxtuple = 8
_SHORT.maxstring = _SHORT.maxother = 80


def brief(obj: object) -> str:
    """``repr(obj)`` cut short, with the length of a long sequence: messages stay readable
    however large the input that caused them."""
    text = _SHORT.repr(obj)
    try:
        size = len(obj) if isinstance(obj, Sized) and not isinstance(obj, str) else 0
    except TypeError:  # a 0-d numpy array claims a length it does not have
        size = 0
    return f"{text} ({size} items)" if size > 8 else text


# ---- the ops' operands and results ----


def not_finite_error(op: str, operands: Sequence[float]) -> ValueError | OverflowError:
    """The error for an op whose result or local derivative left the floats: a `ValueError`
    when an operand was already NaN or ±inf (written into ``.data``), else an overflow."""
    shown = brief(tuple(operands))
    if not all(isfinite(x) for x in operands):
        return ValueError(
            f"{op} of {shown}: an operand is NaN or infinite; a Value's data must be a finite "
            "number (check what was written into .data)"
        )
    return OverflowError(
        f"{op} of {shown} overflows a float (result or derivative is not finite); "
        "scale the inputs down"
    )


def finite_derivatives(
    op: str, operands: Sequence[float], *derivatives: float
) -> tuple[float, ...]:
    """An op's local derivatives, refused when one is not finite (e.g. 1/x² for a tiny x)."""
    for d in derivatives:
        if not isfinite(d):
            raise not_finite_error(op, operands)
    return derivatives
