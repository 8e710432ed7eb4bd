"""The op table: every elementary op of microbp as one record, the single vocabulary of ops.

An `Op` says what an op is called (``name``, its identity everywhere: the tape, the strategies,
the audit and the pictures look ops up by it) and how users and pictures show it (``label``:
``+``, ``**3``, ``exp``), what operands it takes, where it is defined (``domain``, with the error
it gives outside), its ``rule`` (from the operands' numbers, the result and the local derivative
of the result with respect to each operand, which the engine stores on the edges: each is in
`microbp.scalar_rules`, with the table of their formulas) and the same local derivatives written as
nodes (``local_nodes``: tanh' is the node 1 − z·z, the exponent rule a ``**`` node, an affine
node's locals its other operands), for `microbp.higher`, which records a reverse pass as a graph
so that derivatives can be differentiated again. The engine builds every node from a record of
this table; nothing else has a rule of its own except the tape, whose numpy rules are keyed by
the same ``name``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from math import isfinite
from typing import Any, TypeAlias

from microbp.scalar_rules import (
    Domain,
    Locals,
    Rule,
    add_rule,
    affine_parts,
    affine_rule,
    div_domain,
    div_rule,
    everywhere,
    exp_rule,
    log_domain,
    log_rule,
    max_rule,
    mul_rule,
    neg_rule,
    pow_value_domain,
    pow_value_rule,
    power_domain,
    power_rule,
    relu_rule,
    sigmoid_rule,
    softplus_rule,
    sub_rule,
    sum_rule,
    tanh_rule,
)
from microbp.validate import not_finite_error

#: An op's local derivatives as nodes: the node z → for each parent ∂z/∂parent, a node made by
#: the nodes' own arithmetic or one of the constants 1.0, −1.0, 0.0.
NodeRule: TypeAlias = Callable[[Any], tuple[Any, ...]]


def _no_factor(i: int, n: int) -> int | None:
    return None


@dataclass(frozen=True, eq=False)
class Op:
    """One elementary op: its identity, how it is shown and written, its domain and its rules.

    ``operands`` says what the op takes, in written order: ``"n"`` a node, ``"c"`` a plain
    number (the exponent of ``x ** n``, then held in ``exponent``), ``"*"`` any number of nodes.
    """

    name: str  # the identity every module looks the op up by: "add", "pow", "softplus"
    symbol: str  # how users and pictures show it: "+", "**", "softplus"
    operands: str  # "n", "nn", "nc" or "*"
    rule: Rule
    #: the node z → ∂z/∂parent for each parent, as nodes (`NodeRule`), for `microbp.higher`
    local_nodes: NodeRule
    domain: Domain = everywhere
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

    def __reduce__(self) -> tuple[Callable[[str, int | float | None], Op], tuple[object, ...]]:
        # pickled (and copied) as its name: the rules are functions, and the op is the table's
        return op_named, (self.name, self.exponent)


def _mul_factor(i: int, n: int) -> int | None:
    return 1 - i  # ∂(x·y)/∂x = y, ∂(x·y)/∂y = x


def _affine_factor(i: int, n: int) -> int | None:
    width = (n - 1) // 2  # parents (b, w_1…w_n, h_1…h_n): ∂a/∂w_j = h_j, ∂a/∂h_j = w_j
    return None if i == 0 else i + width if i <= width else i - width


# ---- each op's local derivatives as nodes, z being the node the op made ----


def _mul_nodes(z: Any) -> tuple[Any, ...]:
    return (z.parents[1], z.parents[0])


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


def _ones(z: Any) -> tuple[Any, ...]:
    return (1.0,) * len(z.parents)


def _zeros(z: Any) -> tuple[Any, ...]:  # max's: a shift taken as a constant, at every order
    return (0.0,) * len(z.parents)


ADD = Op("add", "+", "nn", add_rule, _ones, written="{0} + {1}", operator=operator.add)
SUB = Op(
    "sub", "-", "nn", sub_rule, lambda z: (1.0, -1.0), written="{0} - {1}", operator=operator.sub
)
MUL = Op(
    "mul",
    "*",
    "nn",
    mul_rule,
    _mul_nodes,
    written="{0} * {1}",
    operator=operator.mul,
    factor=_mul_factor,
)
DIV = Op(
    "div",
    "/",
    "nn",
    div_rule,
    _div_nodes,
    div_domain,
    "{0} / {1}",
    operator.truediv,
    guarded=(1,),
)
NEG = Op("neg", "neg", "n", neg_rule, lambda z: (-1.0,), written="-{0}", operator=operator.neg)
POW = Op("pow", "**", "nc", power_rule, _pow_nodes, power_domain, "{0} ** {1}", operator.pow)
POW_VALUE = Op(
    "pow_value",
    "**",
    "nn",
    pow_value_rule,
    _pow_value_nodes,
    pow_value_domain,
    "{0} ** {1}",
    operator.pow,
    (0,),
)
EXP = Op("exp", "exp", "n", exp_rule, lambda z: (z,), written="{0}.exp()")
LOG = Op(
    "log",
    "log",
    "n",
    log_rule,
    lambda z: (1.0 / z.parents[0],),
    log_domain,
    "{0}.log()",
    guarded=(0,),
)
TANH = Op("tanh", "tanh", "n", tanh_rule, lambda z: (1.0 - z * z,), written="{0}.tanh()")
SIGMOID = Op(
    "sigmoid", "sigmoid", "n", sigmoid_rule, lambda z: (z * (1.0 - z),), written="{0}.sigmoid()"
)
RELU = Op(  # relu'' = 0
    "relu",
    "relu",
    "n",
    relu_rule,
    lambda z: (1.0 if z.parents[0].data > 0.0 else 0.0,),
    written="{0}.relu()",
)
SOFTPLUS = Op(
    "softplus",
    "softplus",
    "n",
    softplus_rule,
    lambda z: (z.parents[0].sigmoid(),),
    written="{0}.softplus()",
)
SUM = Op("sum", "sum", "*", sum_rule, _ones)
MAX = Op("max", "max", "*", max_rule, _zeros, differentiable=False)
AFFINE = Op("affine", "affine", "*", affine_rule, _affine_nodes, factor=_affine_factor)

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


@lru_cache(maxsize=256, typed=True)
def power(n: int | float) -> Op:
    """The op ``x ** n`` for the number n (an int exactly, a float otherwise): `POW` holding n."""
    return replace(POW, exponent=n)


def op_named(name: str, exponent: int | float | None = None) -> Op:
    """The op called ``name`` (and for ``pow`` its exponent), or a `ValueError` listing them."""
    if name not in OPS:
        raise ValueError(f"unknown op {name!r}; the ops are {', '.join(OPS)}")
    return power(exponent) if name == "pow" and exponent is not None else OPS[name]
