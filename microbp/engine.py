"""Scalar reverse-mode autograd: `Value` nodes, the derivative rule of each op, `backward`.

Every op computes its result and, in the same step, the local derivative of the result with
respect to each parent. Backward is then one generic loop, ``parent.grad += local * node.grad``,
visiting children before parents, in the reverse of a depth-first post-order found with an
explicit stack. Nothing here recurses, so graphs millions of nodes deep work.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from operator import mul
from typing import TypeAlias, TypeVar

from microbp.validate import check_number

Number: TypeAlias = int | float
Operand: TypeAlias = "Value | int | float"
T = TypeVar("T")


def _not_finite(op: str, operands: Iterable[object]) -> OverflowError:
    shown = ", ".join(repr(o) for o in operands)
    return OverflowError(
        f"{op} of ({shown}) overflows a float (result or derivative is not finite); "
        "scale the inputs down"
    )


def _result(
    data: float, op: str, parents: tuple[Value, ...], local_grads: tuple[float, ...]
) -> Value:
    """Make the node ``op(parents)`` = ``data`` with ∂node/∂parent_i = ``local_grads[i]``."""
    if data - data != 0.0:  # true exactly for ±inf and NaN
        raise _not_finite(op, [p.data for p in parents])
    node = object.__new__(Value)
    node.data = data
    node.grad = 0.0
    node.name = None
    node.op = op
    node.parents = parents
    node.local_grads = local_grads
    node._pass_grad = None
    node._visit = None
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
    values = tuple(items)
    data = [v.data for v in values if type(v) is Value]  # all Values: one pass, no calls
    if len(data) != len(values):
        values = tuple(_as_value(v, op) for v in values)
        data = [v.data for v in values]
    return values, data


def _finite(op: str, operands: Sequence[float], *derivatives: float) -> tuple[float, ...]:
    """The local derivatives, refused when one is not finite (e.g. 1/x² for a tiny x)."""
    for d in derivatives:
        if d - d != 0.0:
            raise _not_finite(op, operands)
    return derivatives


class Value:
    """One scalar of a computation graph: its data, its grad, and how it was made."""

    __slots__ = ("data", "grad", "name", "op", "parents", "local_grads", "_pass_grad", "_visit")

    data: float
    grad: float
    name: str | None
    op: str
    parents: tuple[Value, ...]
    local_grads: tuple[float, ...]
    _pass_grad: float | None
    _visit: object

    def __init__(self, data: Number, name: str | None = None) -> None:
        if name is not None and not isinstance(name, str):
            raise TypeError(f"a Value's name must be a str or None, got {type(name).__name__}")
        self.data = check_number(data, "a Value's data")
        self.grad = 0.0
        self.name = name
        self.op = ""
        self.parents = ()
        self.local_grads = ()
        self._pass_grad = None
        self._visit = None

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
        if y == 0.0:
            raise ZeroDivisionError(f"division by zero: {x!r} / {y!r} (the divisor is zero)")
        return _result(x / y, "/", (self, o), _finite("/", (x, y), 1.0 / y, -(x / y) / y))

    def __neg__(self) -> Value:
        return _result(-self.data, "neg", (self,), (-1.0,))

    def __pow__(self, exponent: Operand) -> Value:
        if isinstance(exponent, Value):
            return self._pow_value(exponent)
        n = check_number(exponent, "the exponent of **")
        x = self.data
        _check_power_domain(x, n)
        op = f"**{exponent}" if type(exponent) is int else f"**{n!r}"
        try:
            data = x**n
            local = n * x ** (n - 1.0) if n != 0.0 else 0.0
        except (OverflowError, ZeroDivisionError):
            raise _not_finite(op, (x,)) from None
        return _result(data, op, (self,), _finite(op, (x,), local))

    def _pow_value(self, exponent: Value) -> Value:
        """x ** y with y a Value: ∂/∂x = y·x^(y−1), ∂/∂y = x^y·log x (0 for x = 0); x ≥ 0."""
        x, y = self.data, exponent.data
        if x < 0.0:
            raise ValueError(
                f"** with a Value exponent needs a base ≥ 0, got base {x!r}: the derivative with "
                "respect to the exponent, x**y·log(x), is not real; use a plain number exponent"
            )
        _check_power_domain(x, y)
        try:
            data = x**y
            d_base = y * x ** (y - 1.0) if y != 0.0 else 0.0
        except (OverflowError, ZeroDivisionError):
            raise _not_finite("**", (x, y)) from None
        d_exponent = data * math.log(x) if x > 0.0 else 0.0
        return _result(data, "**", (self, exponent), _finite("**", (x, y), d_base, d_exponent))

    def exp(self) -> Value:
        x = self.data
        try:
            e = math.exp(x)
        except OverflowError:
            raise _not_finite("exp", (x,)) from None
        return _result(e, "exp", (self,), (e,))

    def log(self) -> Value:
        x = self.data
        if x <= 0.0:
            raise ValueError(f"log needs a positive operand, got {x!r}")
        return _result(math.log(x), "log", (self,), _finite("log", (x,), 1.0 / x))

    def tanh(self) -> Value:
        # 1 − tanh² loses every digit once tanh rounds to ±1; 4e/(1+e)², e = exp(−2|x|), does not.
        x = self.data
        e = math.exp(-2.0 * abs(x))
        return _result(math.tanh(x), "tanh", (self,), (4.0 * e / (1.0 + e) ** 2,))

    def sigmoid(self) -> Value:
        # e = exp(−|x|) never overflows; σ(x) and σ'(x) = e/(1+e)² are exact for any x.
        x = self.data
        e = math.exp(-abs(x))
        s = 1.0 / (1.0 + e) if x >= 0.0 else e / (1.0 + e)
        return _result(s, "sigmoid", (self,), (e / (1.0 + e) ** 2,))

    def relu(self) -> Value:
        # At exactly 0 the derivative is taken as 0, as PyTorch and JAX do.
        x = self.data
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
        leaves, interior = _walk(self)
        for node in leaves:
            node._pass_grad = 0.0
        for node in interior:
            node._pass_grad = 0.0
        self._pass_grad = 1.0
        for node in reversed(interior):  # children before parents
            g = node._pass_grad
            if g:
                for parent, local in zip(node.parents, node.local_grads):
                    parent._pass_grad += local * g
        # A non-finite derivative anywhere flows on (as ±inf or NaN) to some leaf; finite ones
        # whose sum overflows make the total non-finite too, so it is only a reason to look.
        total = sum([node._pass_grad for node in leaves])
        if total - total != 0.0:
            _check_leaves_finite(self, leaves, interior)
        # One shared 0.0 afterwards, instead of a float per node for a finished pass.
        for node in interior:
            node.grad += node._pass_grad
            node._pass_grad = 0.0
        for node in leaves:
            node.grad += node._pass_grad
            node._pass_grad = 0.0

    @property
    def grad_computed(self) -> bool:
        """True once a backward pass has reached this node, even one refused for overflowing
        (before that, ``grad`` means nothing)."""
        return self._pass_grad is not None

    def zero_grad(self) -> None:
        """Set ``grad`` to 0 on every node of the graph that ends at this node."""
        zero_grad(topological_order(self))

    def __repr__(self) -> str:
        named = f", name={self.name!r}" if self.name is not None else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{named})"

    def __str__(self) -> str:
        label = self.name or (self.op and f"({self.op})") or "Value"
        return f"{label}={self.data:.6g} (grad {self.grad:.6g})"


def _check_power_domain(x: float, n: float) -> None:
    if x < 0.0 and not n.is_integer():
        raise ValueError(f"** of a negative base {x!r} to the non-integer power {n!r} is not real")
    if x == 0.0 and n < 0.0:
        raise ValueError(f"** of 0 to the negative power {n!r} is undefined (division by zero)")
    if x == 0.0 and 0.0 < n < 1.0:
        raise ValueError(f"** of 0 to the power {n!r} has an infinite derivative at 0")


def sum_values(terms: Iterable[Operand]) -> Value:
    """One node Σ_i t_i with every edge carrying ∂sum/∂t_i = 1 (however many terms).

    The sum is `math.fsum`'s, correctly rounded, so it is the same number on every Python.
    """
    parents, data = _values_and_data(terms, "sum_values")
    if not parents:
        raise ValueError("sum_values needs at least one term, got none")
    return _result(math.fsum(data), "sum", parents, (1.0,) * len(parents))


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
    return _affine_node(parents, *affine_parts(data))


def affine_parts(parents: Sequence[T]) -> tuple[T, Sequence[T], Sequence[T]]:
    """An affine node's ``parents`` (or anything laid out like them) split into (b, w, h)."""
    n = (len(parents) - 1) // 2
    return parents[0], parents[1 : 1 + n], parents[1 + n :]


def _affine_node(
    parents: tuple[Value, ...], b_data: float, w_data: Sequence[float], h_data: Sequence[float]
) -> Value:
    """The affine node over ``parents`` = (b, *w, *h), given their data (all checked finite).

    b + Σ_j w_j h_j is `math.fsum` of b and the rounded products: the same on every Python.
    """
    return _result(
        math.fsum([b_data, *map(mul, w_data, h_data)]),
        "affine",
        parents,
        (1.0, *h_data, *w_data),
    )


def _check_leaves_finite(root: Value, leaves: list[Value], interior: list[Value]) -> None:
    """Refuse the pass (resetting its accumulators) if a derivative of ``root`` with respect to
    a leaf is not finite."""
    for leaf in leaves:
        g = leaf._pass_grad
        if g - g != 0.0:
            for node in (*leaves, *interior):
                node._pass_grad = 0.0
            raise OverflowError(
                f"backward overflows a float: the derivative of {root.name or 'the root'} "
                f"with respect to {leaf.name or repr(leaf)} is {g!r}; scale the graph's "
                "numbers down"
            )


def _walk(root: Value) -> tuple[list[Value], list[Value]]:
    """The leaves ``root`` depends on, and its other nodes with every parent before its children.

    A depth-first post-order with an explicit stack: a node goes on the stack with a ``None``
    marker above it and its unfinished parents above that, so by the time the marker is popped
    every parent is finished. Leaves are finished as soon as they are found, never stacked.
    A node is marked as reached by storing this walk's own fresh ``visit`` object in it, which
    no other walk's can be: cheaper than looking nodes up in a set.
    """
    visit = object()
    if not root.parents:
        root._visit = visit
        return [root], []
    leaves: list[Value] = []
    interior: list[Value] = []
    stack: list[Value | None] = [root]
    while stack:
        node = stack.pop()
        if node is None:
            interior.append(stack.pop())  # type: ignore[arg-type]
        elif node._visit is not visit:
            node._visit = visit
            stack.append(node)
            stack.append(None)
            for parent in node.parents:
                if parent._visit is not visit:
                    if parent.parents:
                        stack.append(parent)
                    else:
                        parent._visit = visit
                        leaves.append(parent)
    return leaves, interior


def topological_order(root: Value) -> list[Value]:
    """Every node ``root`` depends on, itself included, parents before children; no recursion.

    The leaves come first, in the order they are found; ``root`` is last.
    """
    if not isinstance(root, Value):
        raise TypeError(f"expected a Value, got {type(root).__name__}")
    leaves, interior = _walk(root)
    return leaves + interior


def zero_grad(values: Iterable[Value]) -> None:
    """Set ``grad`` to 0 on each of ``values`` (a list of parameters, or a whole graph)."""
    for v in values:
        v.grad = 0.0
