"""The reverse pass recorded as a graph: derivatives that are nodes, so they differentiate again.

`record_reverse_pass` runs the reverse pass of `microbp.passes` with nodes instead of floats:
every local derivative is itself a node made of the table's ops (tanh' is the node 1 − t², the
exponent rule n·xⁿ⁻¹ a ``**`` node, an affine node's locals are its other operands), each
chain-rule product ``local · d root/d child`` a ``*`` node, and each node's derivative the sum of
those products. Its graph is the forward graph and the reverse pass together, so a derivative
recorded this way can be recorded again: second, third, … derivatives.

Until the op table (`microbp/ops.py`) holds each op's local derivatives as nodes,
`LOCAL_DERIVATIVE_NODES` keeps them here, keyed by the engine's op strings. A local derivative
that is a constant (the ±1 of a sum, relu's 0 or 1, max's 0) stays a number: the product with 1
is the child's derivative itself, the product with 0 is left out.

Nodes are made by the engine's arithmetic on the nodes themselves, and its constants and sums
through the `Constructors` the engine hands in, so this module imports nothing above `passes`.
Nothing recurses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from microbp.passes import describe_node, nodes_in_order

if TYPE_CHECKING:
    from microbp.engine import Value

V = TypeVar("V", bound="Value")

#: The most nodes one recording may make: each is a Python object of about 230 bytes (with its
#: tuples of parents and local derivatives), so this is about 2.3 GB.
MAX_RECORDED_NODES = 10_000_000

#: Nodes a recording makes per edge (a product, a local derivative) and per node (a sum, and up
#: to three for a local derivative such as 1 − t·t), at most.
NODES_PER_EDGE, NODES_PER_NODE = 2, 4


@dataclass(frozen=True)
class Constructors(Generic[V]):
    """How the engine makes the nodes a recording needs besides its arithmetic."""

    constant: Callable[[float], V]
    total: Callable[[Sequence[V]], V]


def _power_locals(z: Value) -> tuple[Value | float, ...]:
    """x ** n, n a number (in the op's name): n·xⁿ⁻¹, 0 for n = 0."""
    text = z.op[2:]
    n: int | float = int(text) if text.lstrip("-").isdigit() else float(text)
    (x,) = z.parents
    return (0.0,) if n == 0 else (n * x ** (n - 1),)


def _value_power_locals(z: Value) -> tuple[Value | float, ...]:
    """x ** y, y a node: y·x^(y−1), and xʸ·log x (0 at x = 0, as the engine's)."""
    x, y = z.parents
    return (y * x ** (y - 1.0), z * x.log() if x.data > 0.0 else 0.0)


def _quotient_locals(z: Value) -> tuple[Value | float, ...]:
    """x / y: 1/y and −z/y."""
    reciprocal = 1.0 / z.parents[1]
    return (reciprocal, -(z * reciprocal))


def _affine_locals(z: Value) -> tuple[Value | float, ...]:
    """b + Σ_j w_j h_j: 1 to b, h_j to w_j, w_j to h_j (the parents are b, *w, *h)."""
    n = (len(z.parents) - 1) // 2
    return (1.0, *z.parents[1 + n :], *z.parents[1 : 1 + n])


#: Each op's local derivatives ∂z/∂parent as nodes (or constants), from the node z itself.
LOCAL_DERIVATIVE_NODES: dict[str, Callable[[Value], tuple[Value | float, ...]]] = {
    "+": lambda z: (1.0, 1.0),
    "-": lambda z: (1.0, -1.0),
    "neg": lambda z: (-1.0,),
    "*": lambda z: (z.parents[1], z.parents[0]),
    "/": _quotient_locals,
    "**": _value_power_locals,
    "exp": lambda z: (z,),
    "log": lambda z: (1.0 / z.parents[0],),
    "tanh": lambda z: (1.0 - z * z,),
    "sigmoid": lambda z: (z * (1.0 - z),),
    "relu": lambda z: (1.0 if z.parents[0].data > 0.0 else 0.0,),
    "sum": lambda z: (1.0,) * len(z.parents),
    "max": lambda z: (0.0,) * len(z.parents),
    "affine": _affine_locals,
}


def local_derivative_nodes(z: Value) -> tuple[Value | float, ...]:
    """∂z/∂parent for each of z's parents, as nodes or constants."""
    rule = LOCAL_DERIVATIVE_NODES.get(z.op)
    if rule is None:
        if not z.op.startswith("**"):
            raise ValueError(
                f"no rule records the derivatives of the op {z.op!r} of {describe_node(z)}"
            )
        rule = _power_locals
    return rule(z)


def check_recordable(order: Sequence[Value]) -> None:
    """Refuse, before anything is made, a graph whose recording would pass `MAX_RECORDED_NODES`."""
    edges = sum(len(v.parents) for v in order)
    most = NODES_PER_EDGE * edges + NODES_PER_NODE * len(order)
    if most > MAX_RECORDED_NODES:
        raise ValueError(
            f"recording the reverse pass of a graph of {len(order):,} nodes and {edges:,} edges "
            f"may make up to {most:,} nodes, more than the {MAX_RECORDED_NODES:,} "
            "(about 2.3 GB) allowed; take second derivatives of a smaller graph, or use hvp "
            "on a smaller batch"
        )


def record_reverse_pass(root: V, make: Constructors[V]) -> tuple[list[V], dict[V, V]]:
    """Every node of ``root``'s graph (parents first), and d root / d node as a node for each
    node whose derivative is not identically 0 (the others are left out). Each is a node made
    here, descending from the seed d root / d root; one of a named node ``x`` is named
    ``∂root/∂x`` (the first name it gets, when several nodes share it)."""
    order = nodes_in_order(root)
    check_recordable(order)
    of_root = root.name or "root"
    of_root = f"({of_root})" if "/" in of_root else of_root
    seed = make.constant(1.0)
    seed.name = f"∂{of_root}/∂{of_root}"
    terms: dict[V, list[V]] = {root: [seed]}
    grads: dict[V, V] = {}
    for node in reversed(order):  # children before parents
        parts = terms.pop(node, None)
        if parts is None:
            continue
        g = parts[0] if len(parts) == 1 else make.total(parts)
        grads[node] = g
        if node.name and g.name is None:  # g was made here: naming it renames nothing else
            g.name = f"∂{of_root}/∂{node.name}"
        if not node.parents:
            continue
        for parent, local in zip(node.parents, local_derivative_nodes(node)):
            if isinstance(local, float):
                if local == 0.0:
                    continue
                term = g if local == 1.0 else -g
            else:
                term = local * g
            terms.setdefault(parent, []).append(term)  # type: ignore[arg-type]
    return order, grads


def record_derivatives(root: V, wrt: Sequence[V], make: Constructors[V]) -> list[V]:
    """d root / d v for each v of ``wrt`` as a node (a constant 0 where it is identically 0)."""
    _, grads = record_reverse_pass(root, make)
    zero = make.constant(0.0)
    return [grads.get(v, zero) for v in wrt]


def record_grads(root: Value, make: Constructors[Value]) -> None:
    """`Value.backward` with ``create_graph``: add d root / d node, as a node, to every node's
    ``recorded_grad`` (and its data to ``grad``), all at once after every one is made."""
    order, grads = record_reverse_pass(root, make)
    zero = make.constant(0.0)
    new = [(node, grads.get(node, zero)) for node in order]
    totals = [g if v.grad_value is None else make.total([v.grad_value, g]) for v, g in new]
    for (node, g), total in zip(new, totals):
        node.grad += g.data
        node.recorded_grad = total
        node.pass_reached = True
