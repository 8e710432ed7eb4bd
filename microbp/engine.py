"""Scalar reverse-mode autograd: `Value` nodes, the derivative rule of each op, `backward`.

Every op computes its result and, in the same step, the local derivative of the result with
respect to each parent. Backward is then one generic loop over the graph, children before
parents, ``parent's d root += local * node's d root``: `microbp.passes` runs it. Nothing here
recurses, copies and pickles included, so graphs millions of nodes deep work.

The rules, each defined once in `Value` and in `sum_values` / `max_value` / `affine`, z being
the result:

    op          z                   ∂z/∂x                           ∂z/∂y
    x + y       x + y               1                               1
    x - y       x − y               1                               −1
    x * y       x · y               y                               x
    x / y       x / y               1/y                             −x/y²
    -x          −x                  −1
    x ** n      xⁿ, n a number      n·xⁿ⁻¹
    x ** y      xʸ, y a Value       y·xʸ⁻¹                          xʸ·log x  (0 at x = 0)
    exp         eˣ                  eˣ
    log         log x               1/x
    tanh        tanh x              4e/(1+e)², e = e^(−2|x|)        (= 1 − tanh²x, no cancellation)
    sigmoid     σ(x)                e/(1+e)², e = e^(−|x|)          (= σ(x)(1 − σ(x)))
    relu        max(x, 0)           1 if x > 0, else 0
    sum         Σ_i t_i             1 to every t_i
    max         max_i t_i           0 to every t_i  (a quantity the result does not depend on)
    affine      b + Σ_j w_j h_j     1 to b, h_j to w_j, w_j to h_j

Where an op is undefined (log of x ≤ 0, a zero divisor, …) `check_domain` refuses it before the
rule runs.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from itertools import chain
from operator import mul
from typing import Any, TypeAlias, TypeVar, cast

from microbp.copying import deepcopy_graph, own_attributes, pickle_order, shallow_copy
from microbp.passes import accumulate_grads, nodes_in_order, pass_derivatives
from microbp.powers import integer_power, power_derivative
from microbp.validate import brief, check_domain, check_number, finite_derivatives, not_finite_error

Number: TypeAlias = int | float
Operand: TypeAlias = "Value | int | float"
T = TypeVar("T")


def _result(
    data: float, op: str, parents: tuple[Value, ...], local_grads: tuple[float, ...]
) -> Value:
    """Make the node ``op(parents)`` = ``data`` with ∂node/∂parent_i = ``local_grads[i]``."""
    if data - data != 0.0:  # true exactly for ±inf and NaN
        raise not_finite_error(op, [p.data for p in parents])
    node = object.__new__(Value)
    node.data = data
    node.grad = 0.0
    node.name = None
    node.op = op
    node.parents = parents
    node.local_grads = local_grads
    node.pass_grad = 0.0
    node.pass_reached = False
    node.pass_mark = None
    return node


def _as_value(x: Operand, op: str) -> Value:
    """``x`` itself if it is a Value, else a constant leaf holding the number ``x``."""
    if isinstance(x, Value):
        return x
    if type(x) is float and x - x == 0.0:  # the common case, without building a message
        return _result(x, "", (), ())
    return _result(check_number(x, f"the other operand of {op}"), "", (), ())


def _values_and_data(items: Iterable[Operand], op: str) -> tuple[tuple[Value, ...], list[float]]:
    """``items`` as Values (numbers become constant leaves), and their data."""
    given = tuple(items)
    data = [v.data for v in given if type(v) is Value]  # all Values: one pass, no calls
    if len(data) == len(given):
        return cast("tuple[Value, ...]", given), data
    values = tuple(_as_value(v, op) for v in given)
    return values, [v.data for v in values]


class Value:
    """One scalar of a computation graph: its data, its grad, and how it was made.

    ``pass_grad``, ``pass_mark`` and ``pass_reached`` are the state of the passes over the
    graph: `microbp.passes` says what they hold; they are not for users to set.
    """

    __slots__ = (
        "data",
        "grad",
        "name",
        "op",
        "parents",
        "local_grads",
        "pass_grad",
        "pass_reached",
        "pass_mark",
    )
    # numpy then leaves `array + value` to Value.__radd__, which refuses the array, instead of
    # making an array of Values.
    __array_ufunc__ = None

    data: float
    grad: float
    name: str | None
    op: str
    parents: tuple[Value, ...]
    local_grads: tuple[float, ...]
    pass_grad: float
    pass_mark: object
    pass_reached: bool

    def __init__(self, data: Number, name: str | None = None) -> None:
        if name is not None and not isinstance(name, str):
            raise TypeError(f"a Value's name must be a str or None, got {type(name).__name__}")
        self.data = check_number(data, "a Value's data")
        self.grad = 0.0
        self.name = name
        self.op = ""
        self.parents = ()
        self.local_grads = ()
        self.pass_grad = 0.0
        self.pass_reached = False
        self.pass_mark = None

    # ---- the table of derivatives: forward rule, then ∂result/∂parent for each parent ----

    def __add__(self, other: Operand) -> Value:
        o = other if type(other) is Value else _as_value(other, "+")
        return _result(self.data + o.data, "+", (self, o), (1.0, 1.0))

    def __sub__(self, other: Operand) -> Value:
        o = other if type(other) is Value else _as_value(other, "-")
        return _result(self.data - o.data, "-", (self, o), (1.0, -1.0))

    def __mul__(self, other: Operand) -> Value:
        o = other if type(other) is Value else _as_value(other, "*")
        return _result(self.data * o.data, "*", (self, o), (o.data, self.data))

    def __truediv__(self, other: Operand) -> Value:
        o = _as_value(other, "/")
        x, y = self.data, o.data
        if y == 0.0 or x - x != 0.0 or y - y != 0.0:  # checked only where it can fail
            check_domain("/", x, y)
        return _result(
            x / y, "/", (self, o), finite_derivatives("/", (x, y), 1.0 / y, -(x / y) / y)
        )

    def __neg__(self) -> Value:
        return _result(-self.data, "neg", (self,), (-1.0,))

    def __pow__(self, exponent: Operand) -> Value:
        if isinstance(exponent, Value):
            return self._pow_value(exponent)
        n = check_number(exponent, "the exponent of **")
        x = self.data
        if x - x != 0.0 or (x <= 0.0 and (n < 1.0 or not n.is_integer())):  # where it can fail
            check_domain("**", x, n)
        integral = isinstance(exponent, numbers.Integral)
        op = f"**{int(exponent)}" if integral else f"**{n!r}"
        k = int(exponent) if integral else int(n) if n.is_integer() else None
        try:
            data = math.pow(x, n) if k is None else integer_power(x, k)
            local = power_derivative(x, n if k is None else k)
        except (OverflowError, ZeroDivisionError):
            raise not_finite_error(op, (x,)) from None
        return _result(data, op, (self,), finite_derivatives(op, (x,), local))

    def _pow_value(self, exponent: Value) -> Value:
        """x ** y with y a Value: ∂/∂x = y·x^(y−1), ∂/∂y = x^y·log x (0 for x = 0); x ≥ 0."""
        x, y = self.data, exponent.data
        check_domain("** with a Value exponent", x, y)
        check_domain("**", x, y)
        try:
            data, d_base = math.pow(x, y), power_derivative(x, y)
        except (OverflowError, ZeroDivisionError):
            raise not_finite_error("**", (x, y)) from None
        d_exponent = data * math.log(x) if x > 0.0 else 0.0
        return _result(
            data, "**", (self, exponent), finite_derivatives("**", (x, y), d_base, d_exponent)
        )

    def exp(self) -> Value:
        x = self.data
        if x - x != 0.0:  # exp, tanh, sigmoid and relu would turn some of these into numbers
            check_domain("exp", x)
        try:
            e = math.exp(x)
        except OverflowError:
            raise not_finite_error("exp", (x,)) from None
        return _result(e, "exp", (self,), (e,))

    def log(self) -> Value:
        x = self.data
        if not 0.0 < x < math.inf:
            check_domain("log", x)
        return _result(math.log(x), "log", (self,), finite_derivatives("log", (x,), 1.0 / x))

    def tanh(self) -> Value:
        x = self.data
        if x - x != 0.0:
            check_domain("tanh", x)
        e = math.exp(-2.0 * abs(x))
        return _result(math.tanh(x), "tanh", (self,), (4.0 * e / (1.0 + e) ** 2,))

    def sigmoid(self) -> Value:
        x = self.data
        if x - x != 0.0:
            check_domain("sigmoid", x)
        e = math.exp(-abs(x))
        s = 1.0 / (1.0 + e) if x >= 0.0 else e / (1.0 + e)
        return _result(s, "sigmoid", (self,), (e / (1.0 + e) ** 2,))

    def relu(self) -> Value:
        # At exactly 0 the derivative is taken as 0, as PyTorch and JAX do.
        x = self.data
        if x - x != 0.0:
            check_domain("relu", x)
        return _result(x if x > 0.0 else 0.0, "relu", (self,), (1.0 if x > 0.0 else 0.0,))

    # ---- reflected forms: the number becomes a constant leaf, then the rule above applies ----

    def __radd__(self, other: Number) -> Value:
        return _as_value(other, "+") + self

    def __rsub__(self, other: Number) -> Value:
        return _as_value(other, "-") - self

    def __rmul__(self, other: Number) -> Value:
        return _as_value(other, "*") * self

    def __rtruediv__(self, other: Number) -> Value:
        return _as_value(other, "/") / self

    def __rpow__(self, base: Number) -> Value:
        return _as_value(base, "**") ** self

    # ---- backward ----

    def backward(self) -> None:
        """Add dself/dnode to ``node.grad`` for every node of this graph, interior ones included.

        Each call computes its derivatives afresh (seeded with dself/dself = 1) and adds them,
        so calling it twice doubles every grad exactly. A derivative that overflows a float is
        an `OverflowError`, raised before any ``grad`` changes.
        """
        accumulate_grads(self)

    @property
    def grad_computed(self) -> bool:
        """True once a backward pass has reached this node, even one refused for overflowing
        (before that, ``grad`` means nothing)."""
        return self.pass_reached

    def zero_grad(self) -> None:
        """Set ``grad`` to 0 on every node of the graph that ends at this node."""
        zero_grad(nodes_in_order(self))

    def __copy__(self) -> Value:
        """A new node with this node's fields over the same parents: nothing else is copied."""
        return shallow_copy(self, _copy_of, Value)

    def __deepcopy__(self, memo: dict[int, Any]) -> Value:
        return deepcopy_graph(self, memo, _copy_of, Value)

    def __reduce__(self) -> tuple[object, ...]:
        # Its fields and its parents, which the pickler's memo shares; past a depth, the
        # ancestors first (`pickle_order`), so that the pickle never recurses down a chain.
        ancestors, end = pickle_order(self)
        fields = (self.data, self.grad, self.name, self.op, self.parents, self.local_grads)
        arguments = (ancestors, *fields, self.pass_reached, end)
        if type(self) is Value:
            return (_rebuilt, arguments)
        return (_rebuilt, (*arguments, type(self)), own_attributes(self, Value))

    def __repr__(self) -> str:
        named = f", name={self.name!r}" if self.name is not None else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{named})"

    def __str__(self) -> str:
        label = self.name or (self.op and f"({self.op})") or "Value"
        return f"{label}={self.data:.6g} (grad {self.grad:.6g})"


def _rebuilt(
    ancestors: tuple[object, ...],
    data: float,
    grad: float,
    name: str | None,
    op: str,
    parents: tuple[Value, ...],
    local_grads: tuple[float, ...],
    reached: bool,
    end: object = None,
    cls: type[Value] = Value,
) -> Value:
    """A node rebuilt by `pickle` or `copy` as it was, of its own class (``ancestors`` and ``end``
    only ordered the pickle). Its data is not checked: a copy holds what the original held."""
    node = object.__new__(cls)
    node.data, node.grad, node.name, node.op = data, grad, name, op
    node.parents, node.local_grads = parents, local_grads
    node.pass_grad, node.pass_reached, node.pass_mark = 0.0, reached, None
    return node


def _copy_of(v: Value, parents: tuple[Value, ...]) -> Value:
    """A copy of ``v`` over ``parents`` (the copies of its own, or its own)."""
    fields = (v.data, v.grad, v.name, v.op, parents, v.local_grads, v.pass_reached)
    return _rebuilt((), *fields, None, type(v))


def _exact_sum(terms: Iterable[float], op: str, *operands: Sequence[float]) -> float:
    """Σ terms as `math.fsum` gives it, correctly rounded, or the error naming ``op``'s operands
    if it leaves the floats."""
    try:
        return math.fsum(terms)
    except (OverflowError, ValueError):  # fsum's own: a finite sum past the floats, inf − inf
        raise not_finite_error(op, [x for part in operands for x in part]) from None


def sum_values(terms: Iterable[Operand]) -> Value:
    """One node Σ_i t_i with every edge carrying ∂sum/∂t_i = 1 (however many terms).

    The sum is `math.fsum`'s, correctly rounded, so it is the same number on every Python.
    """
    parents, data = _values_and_data(terms, "sum_values")
    if not parents:
        raise ValueError("sum_values needs at least one term, got none")
    return _result(_exact_sum(data, "sum", data), "sum", parents, (1.0,) * len(parents))


def max_value(values: Iterable[Operand]) -> Value:
    """One node m = max_i v_i that passes no gradient: every edge carries ∂m/∂v_i = 0.

    For a quantity the result does not depend on, such as softmax's shift m = max_j a_j: the
    shift is computed from each sample's own data (so a replay recomputes it) while the
    derivatives stay those of m taken as a constant.
    """
    parents, data = _values_and_data(values, "max_value")
    if not parents:
        raise ValueError("max_value needs at least one value, got none")
    return _result(max(data), "max", parents, (0.0,) * len(parents))


def affine(b: Operand, w: Sequence[Operand], h: Sequence[Operand]) -> Value:
    """One node a = b + Σ_j w_j h_j; its edges carry the notes' local derivatives.

    ∂a/∂b = 1, ∂a/∂w_j = h_j and ∂a/∂h_j = w_j: a layer builds each a_ki as one such node.
    """
    if len(w) != len(h):
        raise ValueError(
            f"affine needs as many weights as inputs, got {len(w)} weights and {len(h)} inputs"
        )
    parents, data = _values_and_data((b, *w, *h), "affine")
    return affine_node(parents, *affine_parts(data))


def affine_parts(parents: Sequence[T]) -> tuple[T, Sequence[T], Sequence[T]]:
    """An affine node's ``parents`` (or anything laid out like them) split into (b, w, h)."""
    n = (len(parents) - 1) // 2
    return parents[0], parents[1 : 1 + n], parents[1 + n :]


def affine_node(
    parents: tuple[Value, ...], b_data: float, w_data: Sequence[float], h_data: Sequence[float]
) -> Value:
    """The affine node over ``parents`` = (b, *w, *h), given their data, which the caller has
    read from those Values (so it is finite): `affine` without the operand checks.

    b + Σ_j w_j h_j is `math.fsum` of b and the rounded products: the same on every Python.
    """
    terms = chain((b_data,), map(mul, w_data, h_data))
    data = _exact_sum(terms, "affine", (b_data,), w_data, h_data)
    return _result(data, "affine", parents, (1.0, *h_data, *w_data))


def derivatives(root: Value, wrt: Sequence[Value]) -> list[float]:
    """d root / d v for each v of ``wrt`` (0.0 for a v that ``root`` does not depend on), by one
    reverse pass that changes no ``grad``: `pass_derivatives` with its arguments checked."""
    if not isinstance(root, Value):
        raise TypeError(f"derivatives needs a Value root, got {type(root).__name__}")
    for i, v in enumerate(wrt):
        if not isinstance(v, Value):
            raise TypeError(f"derivatives are taken with respect to Values; wrt[{i}] is {brief(v)}")
    return pass_derivatives(root, wrt)


def topological_order(root: Value) -> list[Value]:
    """Every node ``root`` depends on, parents before children, the leaves first and ``root``
    last: `nodes_in_order` with its argument checked."""
    if not isinstance(root, Value):
        raise TypeError(f"expected a Value, got {type(root).__name__}")
    return nodes_in_order(root)


def zero_grad(values: Iterable[Value]) -> None:
    """Set ``grad`` to 0 on each of ``values`` (a list of parameters, or a whole graph)."""
    values = list(values)
    for i, v in enumerate(values):
        if not isinstance(v, Value):
            raise TypeError(f"zero_grad takes Values, got {type(v).__name__} {brief(v)} at [{i}]")
    for v in values:
        v.grad = 0.0
