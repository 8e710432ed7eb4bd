"""The reverse pass recorded as a graph: derivatives that are nodes, so they differentiate again.

`record_reverse_pass` runs the reverse pass of `microbp.passes` with nodes instead of floats:
every local derivative is itself a node made of the table's ops (tanh' is the node 1 − t², the
exponent rule n·xⁿ⁻¹ a ``**`` node, an affine node's locals are its other operands), each
chain-rule product ``local · d root/d child`` a ``*`` node, and each node's derivative the sum of
those products. Its graph is the forward graph and the reverse pass together, so a derivative
recorded this way can be recorded again: second, third, … derivatives.

Each op's local derivatives as nodes are a field of its record in the op table
(`microbp.ops.Op.local_nodes`).
A local derivative that is a constant (the ±1 of a sum, relu's 0 or 1, max's 0) stays a number:
the product with 1 is the child's derivative itself, the product with 0 is left out.

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


def local_derivative_nodes(z: Value) -> tuple[Value | float, ...]:
    """∂z/∂parent for each of z's parents, as nodes or constants: its op's `Op.local_nodes`."""
    operation = z.operation
    if operation is None:
        raise ValueError(f"{describe_node(z)} is a leaf: it has no local derivatives")
    return operation.local_nodes(z)


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
