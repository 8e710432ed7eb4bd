"""Each op's numpy forward rule and local derivatives: the engine's rules, vectorised over a batch.

The tape's own numpy code, keyed by the ops' names in `microbp.ops` (the one vocabulary of ops).
A unary rule maps x to y = f(x) and gives ∂y/∂x from x and y; a binary rule maps (x, y) to z and
gives (∂z/∂x, ∂z/∂y) from x, y and z; ``x ** n`` takes its n from the node's op record.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

import numpy as np

from microbp.ops import Op
from microbp.powers import EXACT_INTEGERS

Array: TypeAlias = np.ndarray
Local: TypeAlias = "Array | float"
UnaryRule: TypeAlias = tuple[Callable[[Array], Array], Callable[[Array, Array], Local]]
BinaryRule: TypeAlias = tuple[
    Callable[[Array, Array], Array], Callable[[Array, Array, Array], tuple[Local, Local]]
]


def sigmoid(x: Array) -> Array:
    """σ(x), exp only ever of −|x| so it never overflows (as the engine computes it)."""
    e = np.exp(-np.abs(x))
    s: Array = np.where(x >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))
    return s


def sigmoid_local(x: Array) -> Array:
    """σ'(x) = e/(1+e)², e = exp(−|x|): exact for any x, as the engine's."""
    e: Array = np.exp(-np.abs(x))
    return e / (1.0 + e) ** 2


#: Where 1 − tanh² x is at least this (|tanh x| ≤ 0.99), it keeps 14 digits despite the
#: rounding of tanh x; below, 1/cosh² x is used.
_FAR_FROM_ZERO = 1.0 - 0.99**2


def tanh_local(x: Array, y: Array) -> Array:
    """tanh'(x) from x and y = tanh x: 1 − y² (two cheap passes) where y is away from ±1, and
    1/cosh² x where y is near ±1 and 1 − y² would lose digits (it is 0 once y rounds to ±1)."""
    local: Array = 1.0 - y * y
    if local.min() < _FAR_FROM_ZERO:
        near_one = local < _FAR_FROM_ZERO
        local[near_one] = np.cosh(x[near_one]) ** -2.0
    return local


def relu(x: Array) -> Array:
    h: Array = np.where(x > 0.0, x, 0.0)
    return h


def relu_local(x: Array) -> Array:
    local: Array = np.where(x > 0.0, 1.0, 0.0)  # relu'(0) = 0, as the engine
    return local


def softplus(x: Array) -> Array:
    """log(1 + eˣ) = max(x, 0) + log1p(e^(−|x|)): exp only ever of −|x|, so it never
    overflows, and log1p keeps the digits of a tiny e^(−|x|)."""
    z: Array = np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))
    return z


UNARY: dict[str, UnaryRule] = {
    "neg": (np.negative, lambda x, y: -1.0),
    "exp": (np.exp, lambda x, y: y),
    "log": (np.log, lambda x, y: 1.0 / x),
    "tanh": (np.tanh, tanh_local),
    "sigmoid": (sigmoid, lambda x, y: sigmoid_local(x)),
    "relu": (relu, lambda x, y: relu_local(x)),
    "softplus": (softplus, lambda x, y: sigmoid(x)),  # softplus' = σ
}

#: The unary ops a dense layer's instruction can apply to its own output in the same step.
ACTIVATIONS = ("tanh", "sigmoid", "relu", "softplus")


def _integer_power(x: Array, k: int) -> Array:
    """xᵏ, its sign from the int k's own parity, which k as a float past 2⁵³ would lose."""
    if -EXACT_INTEGERS <= k <= EXACT_INTEGERS:
        exact: Array = np.power(x, float(k))
        return exact
    magnitude: Array = np.power(np.abs(x), float(k))
    return np.where(x < 0.0, -magnitude, magnitude) if k % 2 else magnitude


def power_local(x: Array, n: int | float) -> Array | float:
    """∂xⁿ/∂x = n·xⁿ⁻¹, exactly signed for integer n of any size, as the engine computes it."""
    if n == 0:
        return 0.0
    if isinstance(n, float) and not n.is_integer():  # then x ≥ 0: no sign to keep
        local: Array = n * np.power(x, n - 1.0)
        return local
    k = int(n)
    if -EXACT_INTEGERS < k <= EXACT_INTEGERS:
        exact: Array = k * np.power(x, float(k - 1))
        return exact
    half = np.power(np.abs(x), (k - 1) / 2)  # |k|·|x|^((k−1)/2) squared stays off subnormals
    magnitude = np.where(x != 0.0, abs(k) * half * half, 0.0)
    negative = (x < 0.0) & ((k - 1) % 2 == 1)
    return np.where(negative != (k < 0), -magnitude, magnitude)


def power_rule(n: int | float) -> UnaryRule:
    """The rule of ``**n`` for a number n (an int kept exact)."""
    if isinstance(n, int) or n.is_integer():
        k = int(n)
        return (lambda x: _integer_power(x, k)), (lambda x, y: power_local(x, k))
    return (lambda x: np.power(x, n)), (lambda x, y: power_local(x, n))


def _pow_value(x: Array, y: Array) -> Array:
    # the engine refuses a negative base with a Value exponent; NaN makes the replay refuse too
    return np.where(x < 0.0, np.nan, np.power(x, y))


def _pow_value_locals(x: Array, y: Array, z: Array) -> tuple[Array, Array]:
    d_base = np.where(y != 0.0, y * np.power(x, y - 1.0), 0.0)
    d_exponent = np.where(x > 0.0, z * np.log(np.where(x > 0.0, x, 1.0)), 0.0)
    return d_base, d_exponent


BINARY: dict[str, BinaryRule] = {
    "add": (np.add, lambda x, y, z: (1.0, 1.0)),
    "sub": (np.subtract, lambda x, y, z: (1.0, -1.0)),
    "mul": (np.multiply, lambda x, y, z: (y, x)),
    "div": (np.divide, lambda x, y, z: (1.0 / y, -z / y)),
    "pow_value": (_pow_value, _pow_value_locals),
}

#: The ops of any number of parents, each an instruction of its own kind.
NARY = ("sum", "max", "affine")

#: The op of a number exponent, x ** n: its rule is `power_rule` of the op's n.
POWER = "pow"


def known_op(op: Op) -> bool:
    """Whether the tape has a rule for ``op``."""
    return op.name in UNARY or op.name in BINARY or op.name in NARY or op.name == POWER


def known_ops() -> str:
    """The ops the tape knows, for messages."""
    return ", ".join([*UNARY, *BINARY, POWER, *NARY])
