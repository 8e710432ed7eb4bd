"""The ops an audited engine may support: how each is written, applied, and where it is checked.

Every op of `microbp.ops` with a fixed number of operands is audited under its name there, written
and applied as the table says, and ``+ - * /`` also with a plain number on either side
(``add_number`` is x + c, ``number_add`` c + x). An op is applied to its operands in the order
they are written, ``c / x`` as ``(c, x)``: nodes of the engine, and for some ops one plain number.
Each op has a domain (``log`` needs x > 0) and draws its operands from it, edge points such as 0,
±1 and the ends of the range included.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import methodcaller
from typing import Any

from hypothesis import strategies as st

from microbp import ops as table

#: The functions an engine's values may have as methods (``x.exp()``).
METHODS = tuple(op.name for op in table.OPS.values() if op.method)


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


def _nonzero_last(*numbers: float) -> bool:
    return numbers[-1] != 0.0


#: Where the audit draws an op's operands, when not from WIDE for each: its edge points.
_DRAWS: dict[str, st.SearchStrategy[tuple[float, ...]]] = {
    "add": st.tuples(REAL, REAL),
    "sub": st.tuples(REAL, REAL),
    "mul": st.tuples(REAL, REAL),
    "div": st.tuples(REAL, NONZERO),
    "neg": st.tuples(REAL),
    "pow": _powers(),
    "pow_value": st.tuples(
        _with_edges((1.0, 0.25, 4.0), 0.25, 4.0), _with_edges((0.0, 1.0), -3.0, 3.0)
    ),
    "log": st.tuples(POSITIVE),
    "relu": st.tuples(KINKED),
}
#: Where the audit checks an op, when not on all of its domain in the table: away from the
#: points where engines may rightly differ (relu'(0) is a convention, any number in [0, 1]
#: is a subgradient; 0 ** y and its derivatives).
_DOMAINS: dict[str, Callable[..., bool]] = {
    "div": _nonzero_last,
    "pow": _power_domain,
    "pow_value": lambda x, y: x > 0.0,
    "log": lambda x: x > 0.0,
    "relu": lambda x: x != 0.0,
}


def _audited(op: table.Op, operands: str = "", name: str = "") -> Op:
    """The table's ``op`` as the audit checks it, its operands written as ``operands`` (its own
    by default; "nc" or "cn" for a binary op with a plain number), under ``name``."""
    name = name or op.name
    kinds = operands or op.operands
    return Op(
        name,
        op.written,
        op.operator or methodcaller(op.name),
        kinds,
        _DRAWS.get(name, _DRAWS.get(op.name, st.tuples(*[WIDE] * len(kinds)))),
        _DOMAINS.get(op.name, lambda *numbers: op.domain(*numbers) is None),
    )


OPS: dict[str, Op] = {
    op.name: op
    for op in (
        *(_audited(op) for op in table.OPS.values() if op.arity is not None),
        *(
            _audited(op, kinds, name)
            for op in (table.ADD, table.SUB, table.MUL, table.DIV)
            for kinds, name in (("nc", f"{op.name}_number"), ("cn", f"number_{op.name}"))
        ),
    )
}
