"""Second derivatives of a scalar Value, the way numpy and JAX users ask for them.

`hessian` records the gradient as Values (``derivatives(..., create_graph=True)``) and takes
one reverse pass over that graph per parameter; `hvp` takes one reverse pass over Σ_i g_i v_i,
so H·v costs about one backward of the recorded gradient and never forms H; `newton_step`
solves (H + λI) δ = −∇L with numpy for small problems. numpy is imported only where an array
is asked for.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

from microbp.engine import Value, derivatives, sum_values
from microbp.passes import describe_node
from microbp.validate import brief, check_number

if TYPE_CHECKING:
    import numpy as np

#: The most parameters `hessian` and `newton_step` take: a Hessian of n parameters costs n
#: reverse passes over the recorded gradient and n² floats.
MAX_HESSIAN_PARAMETERS = 2_000


def _checked(L: object, params: object, what: str) -> list[Value]:
    if not isinstance(L, Value):
        raise TypeError(f"{what} needs a Value L, got {type(L).__name__} {brief(L)}")
    if isinstance(params, Value) or not isinstance(params, Sequence):
        raise TypeError(f"{what} needs a list of Values params, got {type(params).__name__}")
    for i, p in enumerate(params):
        if not isinstance(p, Value):
            raise TypeError(f"{what}'s params[{i}] must be a Value, got {brief(p)}")
    return list(params)


def _gradient_and_hessian(
    L: Value, params: list[Value], what: str
) -> tuple[list[Value], list[list[float]]]:
    """∇L as recorded Values, and H row by row: one reverse pass over each recorded ∂L/∂θ_i."""
    if len(params) > MAX_HESSIAN_PARAMETERS:
        raise ValueError(
            f"{what} takes at most {MAX_HESSIAN_PARAMETERS:,} parameters (a Hessian of n costs "
            f"n reverse passes and n² floats), got {len(params):,}; use hvp for larger problems"
        )
    grads = derivatives(L, params, create_graph=True)
    return grads, [derivatives(g, params) for g in grads]


@overload
def hessian(
    L: Value, params: Sequence[Value], array: Literal[False] = False
) -> list[list[float]]: ...
@overload
def hessian(L: Value, params: Sequence[Value], array: Literal[True]) -> np.ndarray: ...
def hessian(L: Value, params: Sequence[Value], array: bool = False) -> list[list[float]] | Any:
    """``H[i][j]`` = ∂²L/∂params[i]∂params[j], a nested list (a numpy array with ``array=True``),
    shaped (n, n) as ``jax.hessian`` gives it for a vector of n parameters.

    Row i is one reverse pass over the recorded ∂L/∂params[i]; H is symmetric up to rounding.
    """
    _, rows = _gradient_and_hessian(L, _checked(L, params, "hessian"), "hessian")
    if not array:
        return rows
    import numpy as np

    return np.array(rows, dtype=np.float64).reshape(len(params), len(params))


def hvp(L: Value, params: Sequence[Value], v: Sequence[float]) -> list[float]:
    """H·v, the Hessian of L in ``params`` times the vector ``v``, without forming H: one reverse
    pass over the recorded Σ_i (∂L/∂params[i])·v_i, whose gradient is H·v (H is symmetric)."""
    params = _checked(L, params, "hvp")
    if len(v) != len(params):
        raise ValueError(f"hvp needs one entry of v per parameter: {len(params)} params, {len(v)}")
    weights = [check_number(v_i, f"v[{i}]") for i, v_i in enumerate(v)]
    grads = derivatives(L, params, create_graph=True)
    directional = sum_values([g * w for g, w in zip(grads, weights)])
    return derivatives(directional, params)


def newton_step(L: Value, params: Sequence[Value], damping: float = 0.0) -> list[float]:
    """θ ← θ + δ with (H + λI) δ = −∇L, λ = ``damping``, for every parameter at once; returns δ.

    One Newton step minimises the quadratic model of L around θ: for a quadratic L it lands on
    the minimum. Refused, changing nothing, if H + λI is singular or δ is not finite.
    """
    import numpy as np

    params = _checked(L, params, "newton_step")
    damping = check_number(damping, "damping")
    if damping < 0.0:
        raise ValueError(f"damping must be ≥ 0, got {damping!r}")
    grads, rows = _gradient_and_hessian(L, params, "newton_step")
    H = np.array(rows, dtype=np.float64) + damping * np.eye(len(params))
    try:
        step = np.linalg.solve(H, -np.array([g.data for g in grads]))
    except np.linalg.LinAlgError:
        raise ValueError(
            "the Hessian (plus damping) is singular, so the Newton step is undefined; "
            "pass damping > 0"
        ) from None
    updated = [p.data + float(d) for p, d in zip(params, step)]
    for p, new in zip(params, updated):
        if not math.isfinite(new):
            raise OverflowError(
                f"the Newton step makes {describe_node(p)} non-finite; pass damping > 0"
            )
    for p, new in zip(params, updated):
        p.data = new
    return [float(d) for d in step]
