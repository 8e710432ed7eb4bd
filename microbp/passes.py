"""The passes over a graph of Values: the walk that orders its nodes, the reverse pass that
finds d root / d node for every node (which `Value.backward` adds into the grads), and the
order in which a deepcopy or a pickle makes the nodes.

A node keeps the state of these passes in three fields, set up by the engine as it makes the
node and written by this module alone after that, never by users: ``pass_grad`` (d root / d node
while a pass runs, 0.0 between passes), ``pass_mark`` (the mark of the last walk that reached
it) and ``pass_reached`` (whether a backward pass reached it). Every pass holds one lock, so
passes running at the same time over graphs that share nodes take turns and every grad is
exact. Nothing here recurses: graphs millions of nodes deep work.

The functions take nodes as they are, unchecked: users call them through the engine's checked
`Value.backward`, `derivatives` and `topological_order`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from math import isfinite
from typing import Any, Protocol, TypeVar

N = TypeVar("N", bound="Node")


class Node(Protocol):
    """What a pass reads and writes on a node: the fields of `microbp.engine.Value`."""

    data: float
    grad: float
    name: str | None
    pass_grad: float
    pass_mark: object
    pass_reached: bool

    @property
    def parents(self: N) -> tuple[N, ...]: ...

    @property
    def local_grads(self) -> tuple[float, ...]: ...

    @property
    def op(self) -> str: ...


#: Held by every pass: the per-node state a pass uses is never shared between two threads.
_PASS_LOCK = threading.Lock()


def describe_node(node: Node) -> str:
    """How messages name a node: its name, else the op that made it, else its data."""
    if node.name:
        return node.name
    return f"the ({node.op}) node" if node.op else f"the constant {node.data!r}"


def accumulate_grads(root: Node) -> None:
    """Add d root / d node to ``node.grad`` for every node of the graph ending at ``root``.

    A derivative that overflows a float is an `OverflowError`, raised before any ``grad``
    changes; the nodes are then marked reached all the same (``pass_reached``).
    """
    with _PASS_LOCK:
        try:
            leaves, interior = _reverse_pass(root)
        except OverflowError:
            for nodes in _walk(root, object()):
                for node in nodes:
                    node.pass_reached = True
            raise
        try:
            for nodes in (interior, leaves):
                for node in nodes:
                    node.grad += node.pass_grad
                    node.pass_grad = 0.0
                    node.pass_reached = True
        except BaseException:  # interrupted: some grads have this pass, none keeps a sum
            _end_pass(leaves, interior)
            raise


def pass_derivatives(root: Node, wrt: Sequence[Node]) -> list[float]:
    """d root / d v for each v of ``wrt`` (0.0 for a v that ``root`` does not depend on), by
    one reverse pass that changes no ``grad``."""
    with _PASS_LOCK:
        leaves, interior = _reverse_pass(root)
        try:
            return [v.pass_grad if v.pass_mark is root.pass_mark else 0.0 for v in wrt]
        finally:
            _end_pass(leaves, interior)


def nodes_in_order(root: N) -> list[N]:
    """Every node ``root`` depends on, itself included, parents before children: the leaves
    first, in the order they are found, and ``root`` last."""
    with _PASS_LOCK:
        leaves, interior = _walk(root, object())
    return leaves + interior


class _CopyInProgress(threading.local):
    """The ids of nodes whose copy is under way in this thread, each listed by a descendant
    that copies its ancestors first; such a node copies only its own fields. (An id, not the
    node: a copy that is abandoned halfway keeps nothing alive.)"""

    def __init__(self) -> None:
        self.pending: set[int] = set()


_COPYING = _CopyInProgress()


class _ListingEnd:
    """Last in a listing of ancestors: once the copy reaches it, or drops it unfinished, none
    of the listed nodes is pending any more (one the copy had made before, for another root,
    is not copied again, so it cannot take itself off)."""

    __slots__ = ("ids", "pending")

    def __init__(self, ids: set[int]) -> None:
        self.ids, self.pending = ids, _COPYING.pending

    def __reduce__(self) -> tuple[object, ...]:
        self.pending.difference_update(self.ids)
        self.ids = set()
        return (type(None), ())  # the copy holds None in its place

    def __del__(self) -> None:
        self.pending.difference_update(self.ids)


#: The key, in a deepcopy's memo, of the mark its walks share.
_DEEPCOPY_MARK = object()


def deepcopy_graph(root: N, memo: dict[int, Any], copy_node: Callable[[N, tuple[N, ...]], N]) -> N:
    """``root`` as `copy.deepcopy` copies it with ``memo``: each node of its graph the memo lacks
    made by ``copy_node(node, its parents' copies)``, parents first. Nothing recurses, and the
    walks of one deepcopy share a mark, so a node is walked once however many are copied."""
    mark = memo.setdefault(id(_DEEPCOPY_MARK), object())
    try:
        with _PASS_LOCK:
            leaves, interior = _walk(root, mark)
        originals = memo.setdefault(id(memo), [])  # as `copy` keeps them: no id is reused
        for node in (*leaves, *interior):
            if id(node) not in memo:
                originals.append(node)
                memo[id(node)] = copy_node(node, tuple(memo[id(p)] for p in node.parents))
    except BaseException:  # a copy made again with this memo must walk afresh
        del memo[id(_DEEPCOPY_MARK)]
        raise
    copied: N = memo[id(root)]
    return copied


def ancestors_to_copy_first(node: N) -> tuple[N | _ListingEnd, ...]:
    """What a copy (or pickle) of ``node`` must make before it, parents before children, so
    that no copy recurses down a chain: all of its ancestors and an end marker, unless a
    descendant being copied in this thread has already listed ``node`` (then nothing)."""
    pending = _COPYING.pending
    if not node.parents or id(node) in pending:
        pending.discard(id(node))
        return ()
    ancestors = nodes_in_order(node)[:-1]
    ids = set(map(id, ancestors))
    pending.update(ids)
    return (*ancestors, _ListingEnd(ids))


def _reverse_pass(root: N) -> tuple[list[N], list[N]]:
    """d root / d node into every node's ``pass_grad``; the graph's leaves and other nodes.

    The caller holds the lock, reads the pass grads and sets them back to 0.0. A derivative
    that is not finite is an `OverflowError`, raised with the pass grads reset.
    """
    leaves, interior = _walk(root, object())
    try:
        root.pass_grad = 1.0
        for node in reversed(interior):  # children before parents
            g = node.pass_grad
            if g:
                for parent, local in zip(node.parents, node.local_grads):
                    parent.pass_grad += local * g
    except BaseException:  # Ctrl-C: the next pass must not start from this one's partial sums
        _end_pass(leaves, interior)
        raise
    # A non-finite derivative anywhere flows on (as ±inf or NaN) to some leaf; finite ones
    # whose sum overflows make the total non-finite too, so it is only a reason to look.
    total = sum([node.pass_grad for node in leaves])
    if total - total != 0.0:
        _refuse_non_finite(root, leaves, interior)
    return leaves, interior


def _end_pass(leaves: list[N], interior: list[N]) -> None:
    """Every node's pass grad back to 0.0, as between passes."""
    for nodes in (leaves, interior):
        for node in nodes:
            node.pass_grad = 0.0


def _refuse_non_finite(root: N, leaves: list[N], interior: list[N]) -> None:
    """Refuse the pass (ending it) if a derivative of ``root`` with respect to a leaf is not
    finite."""
    for leaf in leaves:
        g = leaf.pass_grad
        if not isfinite(g):
            _end_pass(leaves, interior)
            raise OverflowError(
                f"backward overflows a float: the derivative of {describe_node(root)} "
                f"with respect to {describe_node(leaf)} is {g!r}; scale the graph's numbers down"
            )


def _walk(root: N, mark: object) -> tuple[list[N], list[N]]:
    """The leaves ``root`` depends on, and its other nodes with every parent before its children,
    except those a walk with the same ``mark`` has reached (a fresh mark: none).

    A depth-first post-order with an explicit stack: a node goes on the stack with a ``None``
    marker above it and its unfinished parents above that, so by the time the marker is popped
    every parent is finished. Leaves are finished as soon as they are found, never stacked.
    A node is marked as reached by storing ``mark`` in it, compared by identity: cheaper than
    looking nodes up in a set. The caller holds the lock, so no other walk is marking the same
    nodes.
    """
    if not root.parents:
        root.pass_mark = mark
        return [root], []
    leaves: list[N] = []
    interior: list[N] = []
    stack: list[N | None] = [root]
    while stack:
        node = stack.pop()
        if node is None:
            finished = stack.pop()
            assert finished is not None  # a marker always sits right above its node
            interior.append(finished)
        elif node.pass_mark is not mark:
            node.pass_mark = mark
            stack.append(node)
            stack.append(None)
            for parent in node.parents:
                if parent.pass_mark is not mark:
                    if parent.parents:
                        stack.append(parent)
                    else:
                        parent.pass_mark = mark
                        leaves.append(parent)
    return leaves, interior
