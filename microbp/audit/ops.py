"""The ops an audited engine may support: how each is written, applied, and where it is checked.

An op is applied to its operands in the order they are written, ``c / x`` as ``(c, x)``: nodes
of the engine, and for some ops one plain number. Each op has a domain (``log`` needs x > 0)
and draws its operands from it, edge points such as 0, ±1 and the ends of the range included.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import methodcaller
from typing import Any

from hypothesis import strategies as st

#: The functions an engine's values may have as methods (``x.exp()``).
METHODS = ("exp", "log", "tanh", "sigmoid", "relu")


def _reals(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def _with_edges(edges: Sequence[float], low: float, high: float) -> st.SearchStrategy[float]:
    """Numbers in [low, high], the ``edges`` drawn as often as all the others together."""
    return st.one_of(st.sampled_from(edges), _reals(low, high))


def _away_from_zero(edges: Sequence[float], size: float, high: float) -> st.SearchStrategy[float]:
    """Numbers with ``size`` ≤ |x| ≤ ``high``, the ``edges`` among them."""
    return st.one_of(st.sampled_from(edges), _reals(size, high), _reals(-high, -size))


REAL = _with_edges((0.0, 1.0, -1.0, 10.0, -10.0), -10.0, 10.0)
NONZERO = _away_from_zero((1.0, -1.0, 0.1, -0.1, 10.0), 0.1, 10.0)
WIDE = _with_edges((0.0, 20.0, -20.0), -20.0, 20.0)
POSITIVE = _with_edges((1.0, 1e-3, 100.0), 1e-3, 100.0)
KINKED = _away_from_zero((1.0, -1.0, 1e-9, -1e-9), 1e-9, 10.0)


def _powers() -> st.SearchStrategy[tuple[float, float]]:
    """(x, n) for x ** n: integer n ≥ 1 at any x, n ≤ 0 away from 0, fractional n at x > 0."""
    base = _with_edges((0.0, 1.0, -1.0, 4.0), -4.0, 4.0)
    nonzero_base = _away_from_zero((1.0, -1.0, 0.25), 0.25, 4.0)
    positive_base = _with_edges((1.0, 0.25, 4.0), 0.25, 4.0)
    return st.one_of(
        st.tuples(base, st.sampled_from((1, 2, 3))),
        st.tuples(nonzero_base, st.sampled_from((-1, -2, -3, 0))),
        st.tuples(positive_base, st.sampled_from((0.5, 1.5, 2.5, -0.5))),
    )


def _power_domain(x: float, n: float) -> bool:
    if float(n).is_integer():
        return n > 0 or x != 0.0
    return x > 0.0


@dataclass(frozen=True)
class Op:
    """One op: its name, how it is written, the Python function that applies it, its operands.

    ``operands`` says what each operand is, in written order: ``"n"`` a node of the engine,
    ``"c"`` a plain number. ``domain`` takes the operands' numbers and says whether the op is
    checked there; ``draw`` draws such numbers, as a tuple in written order.
    """

    name: str
    template: str  # the op written in Python, {0} and {1} the operands: "{0} * {1}"
    function: Callable[..., Any]
    operands: str
    draw: st.SearchStrategy[tuple[float, ...]]
    domain: Callable[..., bool] = lambda *numbers: True

    @property
    def title(self) -> str:
        """How the report names it: ``x * y``, ``c / x``, ``x.exp()``, ``x ** n``."""
        numbers = "n" if self.name == "pow" else "c"
        names = iter("xy")
        return self.template.format(*(next(names) if o == "n" else numbers for o in self.operands))

    @property
    def method(self) -> str | None:
        """The method an engine's value needs for this op (``exp``), or None for an operator."""
        return self.name if self.name in METHODS else None

    def write(self, operands: Sequence[str]) -> str:
        """The op applied to ``operands`` (variable names, numbers' reprs) as Python source."""
        return self.template.format(*operands)


def _op(name: str, template: str, function: Callable[..., Any], operands: str, *draw: Any) -> Op:
    return Op(name, template, function, operands, st.tuples(*draw))


def _nonzero_last(*numbers: float) -> bool:
    return numbers[-1] != 0.0


OPS: dict[str, Op] = {
    op.name: op
    for op in (
        _op("add", "{0} + {1}", operator.add, "nn", REAL, REAL),
        _op("sub", "{0} - {1}", operator.sub, "nn", REAL, REAL),
        _op("mul", "{0} * {1}", operator.mul, "nn", REAL, REAL),
        Op("div", "{0} / {1}", operator.truediv, "nn", st.tuples(REAL, NONZERO), _nonzero_last),
        _op("neg", "-{0}", operator.neg, "n", REAL),
        Op("pow", "{0} ** {1}", operator.pow, "nc", _powers(), _power_domain),
        Op(
            "pow_value",
            "{0} ** {1}",
            operator.pow,
            "nn",
            st.tuples(_with_edges((1.0, 0.25, 4.0), 0.25, 4.0), _with_edges((0.0, 1.0), -3.0, 3.0)),
            lambda x, y: x > 0.0,
        ),
        _op("exp", "{0}.exp()", methodcaller("exp"), "n", WIDE),
        Op("log", "{0}.log()", methodcaller("log"), "n", st.tuples(POSITIVE), lambda x: x > 0.0),
        _op("tanh", "{0}.tanh()", methodcaller("tanh"), "n", WIDE),
        _op("sigmoid", "{0}.sigmoid()", methodcaller("sigmoid"), "n", WIDE),
        # relu'(0) is a convention (any number in [0, 1] is a subgradient): checked beside 0.
        Op("relu", "{0}.relu()", methodcaller("relu"), "n", st.tuples(KINKED), lambda x: x != 0.0),
        _op("add_number", "{0} + {1}", operator.add, "nc", REAL, REAL),
        _op("number_add", "{0} + {1}", operator.add, "cn", REAL, REAL),
        _op("sub_number", "{0} - {1}", operator.sub, "nc", REAL, REAL),
        _op("number_sub", "{0} - {1}", operator.sub, "cn", REAL, REAL),
        _op("mul_number", "{0} * {1}", operator.mul, "nc", REAL, REAL),
        _op("number_mul", "{0} * {1}", operator.mul, "cn", REAL, REAL),
        Op(
            "div_number",
            "{0} / {1}",
            operator.truediv,
            "nc",
            st.tuples(REAL, NONZERO),
            _nonzero_last,
        ),
        Op(
            "number_div",
            "{0} / {1}",
            operator.truediv,
            "cn",
            st.tuples(REAL, NONZERO),
            _nonzero_last,
        ),
    )
}
