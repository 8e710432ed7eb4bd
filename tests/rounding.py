"""How far apart two correct computations of a graph's numbers may be: first-order bounds on the
rounding error of each node's data and grad that hold for any order of summing, so for the engine
(math.fsum) and the tape (numpy) alike; each is within them of the exact numbers."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable

from microbp.engine import Value, affine_parts, topological_order

#: u, the unit roundoff: a correctly rounded result is within u·|result|.
UNIT_ROUNDOFF = 2.0**-53
#: What a rounding may lose besides, when its result underflows: the spacing of subnormals.
UNDERFLOW = 2.0**-1074
#: The ulps of error allowed an elementary function (exp, tanh, σ) or a derivative's formula.
FUNCTION_ULPS = 4
#: The ops that add up their operands, each times ±1, or b and the products w_j h_j.
SUMS = ("affine", "sum", "add", "sub", "neg")


def op_name(v: Value) -> str:
    """The name in `microbp.ops` of the op that made ``v``; '' for a leaf."""
    return v.operation.name if v.operation is not None else ""


def absolute_path_sums(L: Value) -> dict[Value, float]:
    """Σ over paths from L to each node of |∏ local derivatives|: the size of its grad's terms."""
    order = topological_order(L)
    scale = dict.fromkeys(order, 0.0)
    scale[L] = 1.0
    for v in reversed(order):
        for p, local in zip(v.parents, v.local_grads):
            scale[p] += abs(local) * scale[v]
    return scale


def rounding_of_op(v: Value) -> float:
    """A bound on the error of v's op on exact operands: n terms added in any order make n − 1
    roundings, the last within u·|v| and the others within u·Σ|terms|, and an affine node's
    products w_j h_j are each within u·|w_j h_j|; any other op is within a few ulps."""
    if op_name(v) not in SUMS:
        return FUNCTION_ULPS * (UNIT_ROUNDOFF * abs(v.data) + UNDERFLOW)
    products: list[float] = []
    if op_name(v) == "affine":
        b, w, h = affine_parts(v.parents)
        products = [w_j.data * h_j.data for w_j, h_j in zip(w, h)]
        terms = [b.data, *products]
    else:
        terms = [p.data for p in v.parents]
    additions = len(terms) - 1
    if not additions:
        return 0.0  # −x, or h = a as a node of its own: exact
    size = math.fsum(map(abs, terms))
    within = abs(v.data) + (additions - 1) * size + math.fsum(map(abs, products))
    return UNIT_ROUNDOFF * within + (additions + len(products)) * UNDERFLOW


def forward_error_bounds(L: Value) -> dict[Value, float]:
    """A first-order bound on each node's rounding error in any forward pass: its op's own, and
    its operands' carried through its local derivatives."""
    error: dict[Value, float] = {}
    for v in topological_order(L):
        if not v.parents or op_name(v) == "max":
            # a leaf is exact; so, in effect, is a max, the softmax's shift m: every m gives the
            # same ŷ (which is why it passes no gradient), so the m computed is as good as exact
            error[v] = 0.0
            continue
        carried = math.fsum(abs(local) * error[p] for p, local in zip(v.parents, v.local_grads))
        error[v] = carried + rounding_of_op(v)
    return error


Floats = list[float]

#: For an op of one or two operands: how far each local derivative ℓ moves, to first order, when
#: the operands (data x, errors e) and the node (data y, error e_y) are off: |∂ℓ/∂x|·e.
CARRIED_TO_LOCALS: dict[str, Callable[[Floats, Floats, float, float], Floats]] = {
    "mul": lambda x, e, y, e_y: [e[1], e[0]],  # ℓ = the other operand
    "div": lambda x, e, y, e_y: [  # 1/x₂ and −y/x₂
        e[1] / abs(x[1]) / abs(x[1]),
        (e_y + abs(y) * e[1] / abs(x[1])) / abs(x[1]),
    ],
    "exp": lambda x, e, y, e_y: [e_y],  # ℓ = y
    "log": lambda x, e, y, e_y: [e[0] / abs(x[0]) / abs(x[0])],  # 1/x
    "tanh": lambda x, e, y, e_y: [2.0 * abs(y) * e_y],  # 1 − y², made from y or from x
    "sigmoid": lambda x, e, y, e_y: [abs(y * (1.0 - y) * (1.0 - 2.0 * y)) * e[0]],  # y(1 − y)
    "relu": lambda x, e, y, e_y: [1.0 if abs(x[0]) < e[0] else 0.0],  # off by 1 if x may be ±
    "softplus": lambda x, e, y, e_y: [0.25 * e[0]],  # ℓ = σ(x), whose slope is at most 1/4
    "pow_value": lambda x, e, y, e_y: _value_power_carried(x, e, y),
}


def _value_power_carried(x: Floats, e: Floats, y: float) -> Floats:
    """x ** p with p a node: ℓ_x = p·x^(p−1) and ℓ_p = y·log x moved by both operands' errors."""
    base, p = x
    if base == 0.0:
        return [abs(p * (p - 1.0)) * e[0] if p >= 2.0 else 0.0, 0.0]
    log_x = math.log(base)
    return [
        abs(p * (p - 1.0) * base ** (p - 2.0)) * e[0]
        + abs(base ** (p - 1.0) * (1.0 + p * log_x)) * e[1],
        abs(y * (p * log_x + 1.0) / base) * e[0] + abs(y * log_x * log_x) * e[1],
    ]


def local_grad_errors(v: Value, error: dict[Value, float]) -> list[float]:
    """A first-order bound on the error of each of v's local derivatives: its operands' errors
    carried into it, and its formula's own rounding."""
    x, e = [p.data for p in v.parents], [error[p] for p in v.parents]
    name = op_name(v)
    if name == "affine":  # ∂a/∂b = 1, ∂a/∂w_j = h_j, ∂a/∂h_j = w_j: exact, or off as h_j, w_j
        _, e_w, e_h = affine_parts(e)
        return [0.0, *e_h, *e_w]
    if name in SUMS or name == "max" or not v.parents:
        return [0.0] * len(x)  # ±1, or 0, or none
    if name == "pow":  # ℓ = n·x^(n−1)
        n = float(v.operation.exponent)  # type: ignore[union-attr,arg-type]
        # x⁰ and x¹ have constant ℓ (and x may be 0, where x^(n−2) is not defined)
        carried = [0.0 if n in (0.0, 1.0) else abs(n * (n - 1.0) * x[0] ** (n - 2.0)) * e[0]]
    else:
        carried = CARRIED_TO_LOCALS[name](x, e, v.data, error[v])
    ulps = FUNCTION_ULPS * UNIT_ROUNDOFF
    return [c + ulps * abs(local) + UNDERFLOW for c, local in zip(carried, v.local_grads)]


def grad_error_bounds(L: Value) -> dict[Value, float]:
    """A first-order bound on the rounding error of ∂L/∂node for every node, in any backward
    pass over forward data off by up to `forward_error_bounds`."""
    order = topological_order(L)
    scale, error = absolute_path_sums(L), forward_error_bounds(L)
    fan_out = Counter(p for v in order for p in v.parents)
    bound = dict.fromkeys(order, 0.0)
    for v in reversed(order):
        # ∂L/∂v adds fan_out[v] rounded products ℓ·∂L/∂child, in any order: the products and
        # the partial sums are each within u times the sum of the terms' sizes, ≤ scale[v]
        bound[v] += fan_out[v] * (UNIT_ROUNDOFF * scale[v] + 2 * UNDERFLOW)
        for p, local, local_error in zip(v.parents, v.local_grads, local_grad_errors(v, error)):
            bound[p] += abs(local) * bound[v] + local_error * scale[v]
    return bound
