"""The op table: every elementary op of microbp as one record, the single vocabulary of ops.

An `Op` says what an op is called (``name``, its identity everywhere: the tape, the strategies,
the audit and the pictures look ops up by it) and how users and pictures show it (``label``:
``+``, ``**3``, ``exp``), what operands it takes, where it is defined (``domain``, with the error
it gives outside), and its ``rule``: from the operands' numbers, the result and the local
derivative of the result with respect to each operand, which the engine stores on the edges.
The engine builds every node from a record of this table; nothing else has a rule of its own
except the tape, whose numpy rules are keyed by the same ``name``.

The rules, z being the result:

    op          label   z                   ∂z/∂x                           ∂z/∂y
    add         +       x + y               1                               1
    sub         -       x − y               1                               −1
    mul         *       x · y               y                               x
    div         /       x / y               1/y                             −x/y²
    neg         neg     −x                  −1
    pow         **n     xⁿ, n a number      n·xⁿ⁻¹
    pow_value   **      xʸ, y a Value       y·xʸ⁻¹                          xʸ·log x  (0 at x = 0)
    exp         exp     eˣ                  eˣ
    log         log     log x               1/x
    tanh        tanh    tanh x              4e/(1+e)², e = e^(−2|x|)        (= 1 − tanh²x)
    sigmoid     sigmoid σ(x)                e/(1+e)², e = e^(−|x|)          (= σ(x)(1 − σ(x)))
    relu        relu    max(x, 0)           1 if x > 0, else 0
    softplus    softplus log(1 + eˣ)        σ(x)
    sum         sum     Σ_i t_i             1 to every t_i
    max         max     max_i t_i           0 to every t_i (a shift the result does not depend on)
    affine      affine  b + Σ_j w_j h_j     1 to b, h_j to w_j, w_j to h_j

Each op's local derivatives are also written as nodes (`LOCAL_NODES`: tanh' is 1 − z·z, the
exponent rule a ``**`` node, an affine node's locals its other operands), for `microbp.higher`,
which records a reverse pass as a graph so that derivatives can be differentiated again.

Each rule is written so that it neither overflows nor cancels where the exact value is a float,
and refuses, through its op's ``domain``, operands where the op is undefined (log of x ≤ 0, a
zero divisor, …); NaN or ±inf operands are refused by every op.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import lru_cache
from itertools import chain
from math import isfinite
from operator import mul
from typing import Any, TypeAlias, TypeVar

from microbp.powers import integer_power, power_derivative
from microbp.validate import finite_derivatives, not_finite_error

T = TypeVar("T")
Locals: TypeAlias = tuple[float, ...]
#: An op's rule: the operands' numbers (an n-ary op's as one sequence) → (z, ∂z/∂operand each).
Rule: TypeAlias = Callable[..., tuple[float, Locals]]
#: An op's domain: the operands' finite numbers → the error they deserve, or None if defined.
Domain: TypeAlias = Callable[..., Exception | None]
#: An op's local derivatives as nodes (`LOCAL_NODES`): the node z → for each parent ∂z/∂parent,
#: a node made by the nodes' own arithmetic or one of the constants 1.0, −1.0, 0.0.
NodeRule: TypeAlias = Callable[[Any], tuple[Any, ...]]


def _everywhere(*operands: float) -> Exception | None:
    return None


def _no_factor(i: int, n: int) -> int | None:
    return None


@dataclass(frozen=True, eq=False)
class Op:
    """One elementary op: its identity, how it is shown and written, its domain and its rule.

    ``operands`` says what the op takes, in written order: ``"n"`` a node, ``"c"`` a plain
    number (the exponent of ``x ** n``, then held in ``exponent``), ``"*"`` any number of nodes.
    """

    name: str  # the identity every module looks the op up by: "add", "pow", "softplus"
    symbol: str  # how users and pictures show it: "+", "**", "softplus"
    operands: str  # "n", "nn", "nc" or "*"
    rule: Rule
    domain: Domain = _everywhere
    #: the op in Python, {0} and {1} its operands: "{0} + {1}", "{0}.exp()"; "" for n-ary ops
    written: str = ""
    #: Python's function for the op when it is an operator (operator.add); None for a method
    operator: Callable[..., Any] | None = None
    #: operands the op is undefined for somewhere, kept positive (x·x + c) in drawn expressions
    guarded: tuple[int, ...] = ()
    #: (edge i, number of parents) → the parent whose data is ∂z/∂parents[i] (``*``, affine)
    factor: Callable[[int, int], int | None] = _no_factor
    #: False for an op whose zero derivatives are a choice (max, a shift taken as a constant)
    differentiable: bool = True
    exponent: int | float | None = None  # pow's n, once given (`power`)

    @property
    def label(self) -> str:
        """How users and pictures show the op: its symbol, and for ``x ** n`` the n (``**3``)."""
        return self.symbol if self.exponent is None else f"{self.symbol}{self.exponent!r}"

    @property
    def arity(self) -> int | None:
        """How many nodes the op takes; None for any number."""
        return None if self.operands == "*" else self.operands.count("n")

    @property
    def method(self) -> bool:
        """Whether Python writes the op as a method of a value (``x.exp()``)."""
        return self.operator is None and self.arity is not None

    def apply(self, *operands: float) -> tuple[float, Locals]:
        """z and its local derivatives for ``operands``' numbers (an n-ary op's one by one,
        pow's exponent from the record), refused with the engine's own error where the op is
        undefined or z is not a finite float."""
        if self.arity is None:
            z, local = self.rule(operands)
        elif self.exponent is not None:
            z, local = self.rule(*operands, self.exponent)
        else:
            z, local = self.rule(*operands)
        if not isfinite(z):
            raise not_finite_error(self.label, operands)
        return z, local

    def local_nodes(self, z: Any) -> tuple[Any, ...]:
        """∂z/∂parent for each parent of the node z that this op made, as nodes of the table's
        ops (or constants), so that `microbp.higher` can record a reverse pass as a graph."""
        return LOCAL_NODES[self.name](z)

    def __reduce__(self) -> tuple[Callable[[str, int | float | None], Op], tuple[object, ...]]:
        # pickled (and copied) as its name: the rules are functions, and the op is the table's
        return op_named, (self.name, self.exponent)


def check_operands(op: str, domain: Domain, *operands: float) -> None:
    """Refuse ``operands`` with the error ``op``'s ``domain`` gives them, or for not being
    finite; a rule calls it only where its own test says the operands may be refused."""
    if not all(isfinite(x) for x in operands):
        raise not_finite_error(op, operands)
    error = domain(*operands)
    if error is not None:
        raise error


# ---- + - * / and unary minus ----


def _add(x: float, y: float) -> tuple[float, Locals]:
    return x + y, (1.0, 1.0)


def _sub(x: float, y: float) -> tuple[float, Locals]:
    return x - y, (1.0, -1.0)


def _mul(x: float, y: float) -> tuple[float, Locals]:
    return x * y, (y, x)


def _div_domain(x: float, y: float) -> Exception | None:
    if y == 0.0:
        return ZeroDivisionError(f"division by zero: {x!r} / {y!r} (the divisor is zero)")
    return None


def _div(x: float, y: float) -> tuple[float, Locals]:
    if y == 0.0 or not (isfinite(x) and isfinite(y)):  # x / inf would be a number
        check_operands("/", _div_domain, x, y)
    return x / y, finite_derivatives("/", (x, y), 1.0 / y, -(x / y) / y)


def _neg(x: float) -> tuple[float, Locals]:
    return -x, (-1.0,)


# ---- powers ----


def _power_domain(x: float, n: float) -> Exception | None:
    if x < 0.0 and not float(n).is_integer():
        return ValueError(f"** of a negative base {x!r} to the non-integer power {n!r} is not real")
    if x == 0.0 and n < 0.0:
        return ValueError(f"** of 0 to the negative power {n!r} is undefined (division by zero)")
    if x == 0.0 and 0.0 < n < 1.0:
        return ValueError(f"** of 0 to the power {n!r} has an infinite derivative at 0")
    return None


def _power(x: float, n: int | float) -> tuple[float, Locals]:
    """xⁿ for a number n, an int n (or an integral float) exactly signed however large."""
    k = n if isinstance(n, int) else int(n) if n.is_integer() else None
    if not isfinite(x) or (x <= 0.0 and (n < 1 or k is None)):  # where it can fail
        check_operands("**", _power_domain, x, n)
    try:
        data = math.pow(x, n) if k is None else integer_power(x, k)
        local = power_derivative(x, n if k is None else k)
    except (OverflowError, ZeroDivisionError):
        raise not_finite_error(power(n).label, (x,)) from None
    if not isfinite(local):
        raise not_finite_error(power(n).label, (x,))
    return data, (local,)


def _pow_value_domain(x: float, y: float) -> Exception | None:
    if x < 0.0:
        return ValueError(
            f"** with a Value exponent needs a base ≥ 0, got base {x!r}: the derivative with "
            "respect to the exponent, x**y·log(x), is not real; use a plain number exponent"
        )
    return _power_domain(x, y)


def _pow_value(x: float, y: float) -> tuple[float, Locals]:
    """x ** y with y a Value: ∂/∂x = y·x^(y−1), ∂/∂y = x^y·log x (0 at x = 0); x ≥ 0."""
    check_operands("**", _pow_value_domain, x, y)
    try:
        data, d_base = math.pow(x, y), power_derivative(x, y)
    except (OverflowError, ZeroDivisionError):
        raise not_finite_error("**", (x, y)) from None
    d_exponent = data * math.log(x) if x > 0.0 else 0.0
    return data, finite_derivatives("**", (x, y), d_base, d_exponent)


# ---- functions of one operand ----


def _exp(x: float) -> tuple[float, Locals]:
    if not isfinite(x):  # exp, tanh, sigmoid, relu, softplus would make some of these numbers
        check_operands("exp", _everywhere, x)
    try:
        e = math.exp(x)
    except OverflowError:
        raise not_finite_error("exp", (x,)) from None
    return e, (e,)


def _log_domain(x: float) -> Exception | None:
    return ValueError(f"log needs a positive operand, got {x!r}") if x <= 0.0 else None


def _log(x: float) -> tuple[float, Locals]:
    if not 0.0 < x < math.inf:
        check_operands("log", _log_domain, x)
    return math.log(x), finite_derivatives("log", (x,), 1.0 / x)


def _tanh(x: float) -> tuple[float, Locals]:
    if not isfinite(x):
        check_operands("tanh", _everywhere, x)
    e = math.exp(-2.0 * abs(x))
    return math.tanh(x), (4.0 * e / (1.0 + e) ** 2,)


def _sigmoid(x: float) -> tuple[float, Locals]:
    if not isfinite(x):
        check_operands("sigmoid", _everywhere, x)
    e = math.exp(-abs(x))
    s = 1.0 / (1.0 + e) if x >= 0.0 else e / (1.0 + e)
    return s, (e / (1.0 + e) ** 2,)


def _relu(x: float) -> tuple[float, Locals]:
    # At exactly 0 the derivative is taken as 0, as PyTorch and JAX do.
    if not isfinite(x):
        check_operands("relu", _everywhere, x)
    return (x, (1.0,)) if x > 0.0 else (0.0, (0.0,))


def _softplus(x: float) -> tuple[float, Locals]:
    """log(1 + eˣ) = max(x, 0) + log1p(e^(−|x|)) and σ(x): exp only ever of −|x|, so neither
    overflows, and log1p keeps the digits of a tiny e^(−|x|)."""
    if not isfinite(x):
        check_operands("softplus", _everywhere, x)
    e = math.exp(-abs(x))
    sigma = 1.0 / (1.0 + e) if x >= 0.0 else e / (1.0 + e)
    return max(x, 0.0) + math.log1p(e), (sigma,)


# ---- ops of any number of operands ----


def exact_sum(terms: Sequence[float], op: str, *operands: Sequence[float]) -> float:
    """Σ terms correctly rounded (the same on every Python), or the error naming ``op``'s
    operands (given in parts, joined only then) if the total leaves the floats.

    `math.fsum` gives it, unless a partial sum overflows (1e308 + 1e308 − 1e308): then the
    sum of the terms as exact fractions, rounded once, which is finite whenever the total is.
    """
    try:
        return math.fsum(terms)
    except OverflowError:  # fsum's partial sums, or its total, past the floats
        if all(isfinite(t) for t in terms):
            try:
                return float(sum(map(Fraction, terms), Fraction(0)))
            except OverflowError:
                pass
        raise not_finite_error(op, [x for part in operands for x in part]) from None
    except ValueError:  # fsum's own: inf − inf among the terms
        raise not_finite_error(op, [x for part in operands for x in part]) from None


def _sum(terms: Sequence[float]) -> tuple[float, Locals]:
    return exact_sum(terms, "sum", terms), (1.0,) * len(terms)


def _max(values: Sequence[float]) -> tuple[float, Locals]:
    m = max(values)
    if not all(isfinite(v) for v in values):  # max(−inf, 2) would be a number
        check_operands("max", _everywhere, *values)
    return m, (0.0,) * len(values)


def affine_parts(parents: Sequence[T]) -> tuple[T, Sequence[T], Sequence[T]]:
    """An affine node's ``parents`` (or anything laid out like them) split into (b, w, h)."""
    n = (len(parents) - 1) // 2
    return parents[0], parents[1 : 1 + n], parents[1 + n :]


def affine_rule(b: float, w: Sequence[float], h: Sequence[float]) -> tuple[float, Locals]:
    """b + Σ_j w_j h_j, `math.fsum` of b and the rounded products, with ∂a/∂b = 1,
    ∂a/∂w_j = h_j and ∂a/∂h_j = w_j: the affine rule on its operands split as (b, w, h)."""
    try:  # the terms go straight into fsum; only a failure lists them, for exact_sum
        a = math.fsum(chain((b,), map(mul, w, h)))
    except (OverflowError, ValueError):
        a = exact_sum([b, *map(mul, w, h)], "affine", (b,), w, h)
    return a, (1.0, *h, *w)


def _affine(data: Sequence[float]) -> tuple[float, Locals]:
    return affine_rule(*affine_parts(data))


def _mul_factor(i: int, n: int) -> int | None:
    return 1 - i  # ∂(x·y)/∂x = y, ∂(x·y)/∂y = x


def _affine_factor(i: int, n: int) -> int | None:
    width = (n - 1) // 2  # parents (b, w_1…w_n, h_1…h_n): ∂a/∂w_j = h_j, ∂a/∂h_j = w_j
    return None if i == 0 else i + width if i <= width else i - width


ADD = Op("add", "+", "nn", _add, written="{0} + {1}", operator=operator.add)
SUB = Op("sub", "-", "nn", _sub, written="{0} - {1}", operator=operator.sub)
MUL = Op("mul", "*", "nn", _mul, written="{0} * {1}", operator=operator.mul, factor=_mul_factor)
DIV = Op("div", "/", "nn", _div, _div_domain, "{0} / {1}", operator.truediv, guarded=(1,))
NEG = Op("neg", "neg", "n", _neg, written="-{0}", operator=operator.neg)
POW = Op("pow", "**", "nc", _power, _power_domain, "{0} ** {1}", operator.pow)
POW_VALUE = Op(
    "pow_value", "**", "nn", _pow_value, _pow_value_domain, "{0} ** {1}", operator.pow, (0,)
)
EXP = Op("exp", "exp", "n", _exp, written="{0}.exp()")
LOG = Op("log", "log", "n", _log, _log_domain, "{0}.log()", guarded=(0,))
TANH = Op("tanh", "tanh", "n", _tanh, written="{0}.tanh()")
SIGMOID = Op("sigmoid", "sigmoid", "n", _sigmoid, written="{0}.sigmoid()")
RELU = Op("relu", "relu", "n", _relu, written="{0}.relu()")
SOFTPLUS = Op("softplus", "softplus", "n", _softplus, written="{0}.softplus()")
SUM = Op("sum", "sum", "*", _sum)
MAX = Op("max", "max", "*", _max, differentiable=False)
AFFINE = Op("affine", "affine", "*", _affine, factor=_affine_factor)

#: Every op, by name: the one vocabulary of ops.
OPS: dict[str, Op] = {
    op.name: op
    for op in [
        ADD,
        SUB,
        MUL,
        DIV,
        NEG,
        POW,
        POW_VALUE,
        EXP,
        LOG,
        TANH,
        SIGMOID,
        RELU,
        SOFTPLUS,
        SUM,
        MAX,
        AFFINE,
    ]
}


# ---- each op's local derivatives as nodes, z being the node the op made ----


def _div_nodes(z: Any) -> tuple[Any, ...]:
    reciprocal = 1.0 / z.parents[1]  # ∂(x/y)/∂x = 1/y, ∂(x/y)/∂y = −z/y
    return (reciprocal, -(z * reciprocal))


def _pow_nodes(z: Any) -> tuple[Any, ...]:
    n = z.operation.exponent  # n·xⁿ⁻¹, and 0 for x⁰
    return (0.0,) if n == 0 else (n * z.parents[0] ** (n - 1),)


def _pow_value_nodes(z: Any) -> tuple[Any, ...]:
    x, y = z.parents  # y·x^(y−1), and xʸ·log x (0 at x = 0, as the rule's)
    return (y * x ** (y - 1.0), z * x.log() if x.data > 0.0 else 0.0)


def _affine_nodes(z: Any) -> tuple[Any, ...]:
    _, w, h = affine_parts(z.parents)  # 1 to b, the node h_j to w_j, the node w_j to h_j
    return (1.0, *h, *w)


#: Every op's `NodeRule`, by name: tanh' is the node 1 − z·z, exp' the node z itself.
LOCAL_NODES: dict[str, NodeRule] = {
    "add": lambda z: (1.0, 1.0),
    "sub": lambda z: (1.0, -1.0),
    "mul": lambda z: (z.parents[1], z.parents[0]),
    "div": _div_nodes,
    "neg": lambda z: (-1.0,),
    "pow": _pow_nodes,
    "pow_value": _pow_value_nodes,
    "exp": lambda z: (z,),
    "log": lambda z: (1.0 / z.parents[0],),
    "tanh": lambda z: (1.0 - z * z,),
    "sigmoid": lambda z: (z * (1.0 - z),),
    "relu": lambda z: (1.0 if z.parents[0].data > 0.0 else 0.0,),  # relu'' = 0
    "softplus": lambda z: (z.parents[0].sigmoid(),),
    "sum": lambda z: (1.0,) * len(z.parents),
    "max": lambda z: (0.0,) * len(z.parents),  # a shift taken as a constant, at every order
    "affine": _affine_nodes,
}


@lru_cache(maxsize=256, typed=True)
def power(n: int | float) -> Op:
    """The op ``x ** n`` for the number n (an int exactly, a float otherwise): `POW` holding n."""
    return replace(POW, exponent=n)


def op_named(name: str, exponent: int | float | None = None) -> Op:
    """The op called ``name`` (and for ``pow`` its exponent), or a `ValueError` listing them."""
    if name not in OPS:
        raise ValueError(f"unknown op {name!r}; the ops are {', '.join(OPS)}")
    return power(exponent) if name == "pow" and exponent is not None else OPS[name]
