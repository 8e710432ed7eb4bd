"""Finite-difference gradient check, in the spirit of ``torch.autograd.gradcheck``.

The engine's derivative of f with respect to each input is compared with the central
difference (f(x + ε) − f(x − ε)) / 2ε, which needs nothing but forward evaluations.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from microbp.engine import Value, derivatives
from microbp.validate import check_number


class GradcheckError(AssertionError):
    """The engine's derivative and the finite difference disagree for one input."""


def _output_of(f: Callable[..., Value], inputs: Sequence[Value]) -> Value:
    """f(*inputs), which must be a Value."""
    out = f(*inputs)
    if not isinstance(out, Value):
        raise TypeError(f"gradcheck needs f to return a Value, got {type(out).__name__} {out!r}")
    return out


def _central_difference(
    f: Callable[..., Value], inputs: Sequence[Value], v: Value, eps: float
) -> float:
    x = v.data
    try:
        v.data = x + eps
        up = _output_of(f, inputs).data
        v.data = x - eps
        down = _output_of(f, inputs).data
    finally:
        v.data = x
    return (up - down) / (2.0 * eps)


def gradcheck(
    f: Callable[..., Value],
    inputs: Sequence[Value],
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> bool:
    """Check the engine's d f(*inputs) / d input against central differences, input by input.

    ``f`` must rebuild its graph from the inputs' current data on every call. Returns True, or
    raises `GradcheckError` for the first input where |engine − numeric| > atol + rtol·|numeric|.
    The inputs' data and every grad are left as they were.
    """
    inputs = list(inputs)
    for i, v in enumerate(inputs):
        if not isinstance(v, Value):
            raise TypeError(f"gradcheck's inputs must be Values, input {i} is {type(v).__name__}")
    if not check_number(eps, "eps") > 0.0:
        raise ValueError(f"eps, the finite-difference step, must be > 0, got {eps!r}")
    if check_number(atol, "atol") < 0.0 or check_number(rtol, "rtol") < 0.0:
        raise ValueError(f"the tolerances must be ≥ 0, got atol={atol!r} and rtol={rtol!r}")
    analytic = derivatives(_output_of(f, inputs), inputs)
    for i, (v, engine) in enumerate(zip(inputs, analytic)):
        numeric = _central_difference(f, inputs, v, eps)
        diff = abs(engine - numeric)
        if not diff <= atol + rtol * abs(numeric):
            name = f"{v.name!r}" if v.name else "(unnamed)"
            raise GradcheckError(
                f"gradcheck failed for input {i} {name} at {v.data!r}: engine derivative "
                f"{engine!r}, central difference {numeric!r} (eps={eps!r}), difference {diff!r} "
                f"> atol + rtol·|numeric| = {atol + rtol * abs(numeric)!r}"
            )
    return True
