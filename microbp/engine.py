"""Scalar reverse-mode autograd: `Value` nodes, built from the op table, and `backward`.

Every op computes its result and, in the same step, the local derivative of the result with
respect to each parent: its record in `microbp.ops` holds that rule, its domain and its name, and
a node keeps the record (``operation``) and the local derivatives (``local_grads``, the data on
its edges). Backward is then one generic loop over the graph, children before parents,
``parent's d root += local * node's d root``: `microbp.passes` runs it. Nothing here recurses,
copies and pickles included, so graphs millions of nodes deep work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from math import isfinite
from typing import Any, Literal, SupportsInt, TypeAlias, cast, overload

from microbp.copying import deepcopy_graph, own_attributes, pickle_order, shallow_copy
from microbp.higher import Constructors, record_derivatives, record_grads
from microbp.ops import (
    ADD,
    AFFINE,
    DIV,
    EXP,
    LOG,
    MAX,
    MUL,
    NEG,
    POW_VALUE,
    RELU,
    SIGMOID,
    SOFTPLUS,
    SUB,
    SUM,
    TANH,
    Op,
    power,
)
from microbp.passes import accumulate_grads, nodes_in_order, pass_derivatives
from microbp.powers import whole_exponent
from microbp.scalar_rules import affine_parts, affine_parts_rule
from microbp.validate import brief, check_number, not_finite_error

Number: TypeAlias = int | float
Operand: TypeAlias = "Value | int | float"

__all__ = [
    "Value",
    "affine",
    "affine_node",
    "affine_parts",
    "derivatives",
    "max_value",
    "sum_values",
    "topological_order",
    "zero_grad",
]


def _checked_leaf(data: object, name: object) -> float:
    """A leaf's ``data`` as a finite float, or the error a bad ``data`` or ``name`` deserves."""
    if name is not None and not isinstance(name, str):
        raise TypeError(f"a Value's name must be a str or None, got {type(name).__name__}")
    return check_number(data, "a Value's data")


def _as_value(x: Operand, op: str) -> Value:
    """``x`` itself if it is a Value, else a constant leaf holding the number ``x``."""
    if isinstance(x, Value):
        return x
    if type(x) is float and isfinite(x):  # the common case, without building a message
        return Value(x)
    return Value(check_number(x, f"the other operand of {op}"))


def _values_and_data(items: Iterable[Operand], op: str) -> tuple[tuple[Value, ...], list[float]]:
    """``items`` as Values (numbers become constant leaves), and their data."""
    given = tuple(items)
    data = [v.data for v in given if type(v) is Value]  # all Values: one pass, no calls
    if len(data) == len(given):
        return cast("tuple[Value, ...]", given), data
    values = tuple(_as_value(v, op) for v in given)
    return values, [v.data for v in values]


def _unary(op: Op) -> Callable[[Value], Value]:
    """The method ``x.op()`` (or ``-x``): the node ``op`` makes of x, by ``op``'s rule."""
    rule = op.rule

    def method(self: Value) -> Value:
        data, local = rule(self.data)
        node = _blank(Value)
        _init(node, data, None, op, (self,), local)
        return node

    method.__name__ = op.name
    method.__doc__ = (
        f"The node {op.written.format('x') or op.name}: `microbp.ops.{op.name.upper()}`."
    )
    return method


def _binary(op: Op) -> tuple[Callable[[Value, Operand], Value], Callable[[Value, Number], Value]]:
    """The methods ``x op y`` and, reflected, ``c op x`` for a number c: the node ``op`` makes of
    its two operands, a number becoming a constant leaf."""
    rule = op.rule

    def method(self: Value, other: Operand) -> Value:
        o = other if type(other) is Value else _as_value(other, op.symbol)
        data, local = rule(self.data, o.data)
        node = _blank(Value)
        _init(node, data, None, op, (self, o), local)
        return node

    def reflected(self: Value, other: Number) -> Value:
        c = _as_value(other, op.symbol)
        data, local = rule(c.data, self.data)
        node = _blank(Value)
        _init(node, data, None, op, (c, self), local)
        return node

    name = getattr(op.operator, "__name__", op.name)  # as Python's dunders say it: truediv
    method.__name__, reflected.__name__ = f"__{name}__", f"__r{name}__"
    return method, reflected


class Value:
    """One scalar of a computation graph: its data, its grad, and how it was made.

    ``operation`` is the record of `microbp.ops` whose rule made the node (None for a leaf),
    ``op`` its label (``+``, ``**3``, ``exp``; '' for a leaf), ``parents`` the nodes it was
    made of and ``local_grads`` ∂node/∂parent for each. ``pass_grad``, ``pass_mark`` and
    ``pass_reached`` are the state of the passes over the graph: `microbp.passes` says what
    they hold; they are not for users to set.
    """

    data: float
    grad: float
    name: str | None
    operation: Op | None
    parents: tuple[Value, ...]
    local_grads: tuple[float, ...]
    pass_grad: float
    pass_mark: object
    pass_reached: bool
    recorded_grad: Value | None  # unset until a backward with create_graph reaches the node
    __slots__ = tuple(__annotations__)  # the fields above, each a slot: no __dict__ per node

    # numpy then leaves `array + value` to Value.__radd__, which refuses the array, instead of
    # making an array of Values.
    __array_ufunc__ = None

    def __init__(
        self,
        data: Number,
        name: str | None = None,
        operation: Op | None = None,
        parents: tuple[Value, ...] = (),
        local_grads: tuple[float, ...] = (),
    ) -> None:
        """A leaf holding the number ``data``, named ``name`` (as pictures label it).

        The ops make their nodes here too, the one place a node's fields are set: the node
        ``operation(parents)`` = ``data`` with ∂node/∂parents[i] = ``local_grads[i]``, as the
        op's rule (`microbp.ops`) gives them; only its data is checked (it must be finite).
        """
        if operation is not None:
            if not isfinite(data):
                raise not_finite_error(operation.label, [p.data for p in parents])
        elif not (type(data) is float and isfinite(data) and (name is None or type(name) is str)):
            data = _checked_leaf(data, name)
        self.data = data
        self.grad = 0.0
        self.name = name
        self.operation = operation
        self.parents = parents
        self.local_grads = local_grads
        self.pass_grad = 0.0
        self.pass_reached = False
        self.pass_mark = None

    @property
    def op(self) -> str:
        """How users and pictures show the op that made the node (``+``, ``**3``, ``exp``);
        '' for a leaf."""
        operation = self.operation
        return "" if operation is None else operation.label

    # ---- the ops, each node made by its record's rule (`microbp.ops`) ----

    __add__, __radd__ = _binary(ADD)
    __sub__, __rsub__ = _binary(SUB)
    __mul__, __rmul__ = _binary(MUL)
    __truediv__, __rtruediv__ = _binary(DIV)
    _pow_value, __rpow__ = _binary(POW_VALUE)
    __neg__ = _unary(NEG)
    exp = _unary(EXP)
    log = _unary(LOG)
    tanh = _unary(TANH)
    sigmoid = _unary(SIGMOID)
    relu = _unary(RELU)  # relu'(0) is taken as 0, as PyTorch and JAX do
    softplus = _unary(SOFTPLUS)

    def __pow__(self, exponent: Operand) -> Value:
        """x ** n for a number n (the op `microbp.ops.power` (n)), x ** y for a Value y."""
        if isinstance(exponent, Value):
            return self._pow_value(exponent)
        n = check_number(exponent, "the exponent of **")
        op = power(whole_exponent(cast("SupportsInt", exponent), n))
        data, local = op.rule(self.data, op.exponent)
        return Value(data, None, op, (self,), local)

    # ---- backward ----

    def backward(self, create_graph: bool = False) -> None:
        """Add dself/dnode to ``node.grad`` for every node of this graph, interior ones included.

        Each call computes its derivatives afresh (seeded with dself/dself = 1) and adds them,
        so calling it twice doubles every grad exactly. A derivative that overflows a float is
        an `OverflowError`, raised before any ``grad`` changes. With ``create_graph`` each
        derivative is also added, as a Value whose graph is the reverse pass, to ``grad_value``
        (`microbp.higher`), ready to be differentiated again.
        """
        if create_graph:
            record_grads(self, _CONSTRUCTORS)
        else:
            accumulate_grads(self)

    @property
    def grad_value(self) -> Value | None:
        """The derivatives added by ``backward(create_graph=True)`` as one Value (None before)."""
        return getattr(self, "recorded_grad", None)

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
        fields = (self.data, self.grad, self.name, self.operation, self.parents, self.local_grads)
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


#: How the ops make their nodes: what ``Value(…)`` does (a blank object, then `Value.__init__`)
#: without the call through the class, which costs about 220 instructions a node.
_blank, _init = object.__new__, Value.__init__


def _rebuilt(
    ancestors: tuple[object, ...],
    data: float,
    grad: float,
    name: str | None,
    operation: Op | None,
    parents: tuple[Value, ...],
    local_grads: tuple[float, ...],
    reached: bool,
    end: object = None,
    cls: type[Value] = Value,
) -> Value:
    """A node rebuilt by `pickle` or `copy` as it was, of its own class (``ancestors`` and ``end``
    only ordered the pickle). Its data is not checked: a copy holds what the original held."""
    node = _blank(cls)
    _init(node, 0.0, name, operation, parents, local_grads)
    node.data, node.grad, node.pass_reached = data, grad, reached  # data as held, even NaN
    return node


def _copy_of(v: Value, parents: tuple[Value, ...]) -> Value:
    """A copy of ``v`` over ``parents`` (the copies of its own, or its own)."""
    fields = (v.data, v.grad, v.name, v.operation, parents, v.local_grads, v.pass_reached)
    return _rebuilt((), *fields, None, type(v))


def sum_values(terms: Iterable[Operand]) -> Value:
    """One node Σ_i t_i with every edge carrying ∂sum/∂t_i = 1 (however many terms).

    The sum is `math.fsum`'s, correctly rounded, so it is the same number on every Python.
    """
    return _nary(SUM, terms, "sum_values", "term")


def max_value(values: Iterable[Operand]) -> Value:
    """One node m = max_i v_i that passes no gradient: every edge carries ∂m/∂v_i = 0.

    For a quantity the result does not depend on, such as softmax's shift m = max_j a_j: the
    shift is computed from each sample's own data (so a replay recomputes it) while the
    derivatives stay those of m taken as a constant.
    """
    return _nary(MAX, values, "max_value", "value")


def _nary(op: Op, items: Iterable[Operand], function: str, item: str) -> Value:
    """The node ``op`` makes of ``items``, at least one (numbers become constant leaves)."""
    parents, data = _values_and_data(items, function)
    if not parents:
        raise ValueError(f"{function} needs at least one {item}, got none")
    result, local = op.rule(data)
    return Value(result, None, op, parents, local)


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


def affine_node(
    parents: tuple[Value, ...], b_data: float, w_data: Sequence[float], h_data: Sequence[float]
) -> Value:
    """The affine node over ``parents`` = (b, *w, *h), given their data, which the caller has
    read from those Values (so it is finite): `affine` without the operand checks.

    b + Σ_j w_j h_j is `math.fsum` of b and the rounded products
    (`microbp.scalar_rules.affine_parts_rule`): the same on every Python.
    """
    data, local = affine_parts_rule(b_data, w_data, h_data)
    node = _blank(Value)
    _init(node, data, None, AFFINE, parents, local)
    return node


@overload
def derivatives(
    root: Value, wrt: Iterable[Value], create_graph: Literal[False] = False
) -> list[float]: ...
@overload
def derivatives(root: Value, wrt: Iterable[Value], create_graph: Literal[True]) -> list[Value]: ...
def derivatives(
    root: Value, wrt: Iterable[Value], create_graph: bool = False
) -> list[float] | list[Value]:
    """d root / d v for each v of ``wrt``, a list, a generator or any iterable of Values (0.0
    for a v that ``root`` does not depend on), by one reverse pass that changes no ``grad``:
    `pass_derivatives` with its arguments checked. With ``create_graph``, as Values whose graph
    is the reverse pass (`microbp.higher`)."""
    if not isinstance(root, Value):
        raise TypeError(f"derivatives needs a Value root, got {type(root).__name__}")
    if not isinstance(wrt, Iterable):
        raise TypeError(
            f"derivatives are taken with respect to an iterable of Values (e.g. [x, w]), got "
            f"{type(wrt).__name__} {brief(wrt)}"
        )
    wrt = list(wrt)  # read once: a generator would be empty by the time the pass reads it
    for i, v in enumerate(wrt):
        if not isinstance(v, Value):
            raise TypeError(f"derivatives are taken with respect to Values; wrt[{i}] is {brief(v)}")
    if create_graph:
        return record_derivatives(root, wrt, _CONSTRUCTORS)
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
        v.recorded_grad = None


#: How `microbp.higher` makes the constants and sums of a recorded reverse pass.
_CONSTRUCTORS = Constructors(lambda x: Value(x), sum_values)
