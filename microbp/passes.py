"""The passes over a graph of Values: the walk that orders its nodes, and the reverse pass that
finds d root / d node for every node (which `Value.backward` adds into the grads).

A node keeps the state of these passes in three fields, set up by the engine as it makes the
node and written by this module alone after that, never by users: ``pass_grad`` (d root / d node
while a pass runs, 0.0 between passes), ``pass_mark`` (the mark of the last walk that reached
it) and ``pass_reached`` (whether a backward pass reached it). Every pass holds one lock, so
passes running at the same time over graphs that share nodes take turns and every grad is
exact; a pass started on the thread already running one (from a signal handler or a trace
hook) is refused rather than left waiting for itself. A pass that ends in any exception, Ctrl-C
included, leaves no pass state behind, and either changes no grad or adds to every one. Nothing
here recurses: graphs millions of nodes deep work.

The functions take nodes as they are, unchecked: users call them through the engine's checked
`Value.backward`, `derivatives` and `topological_order`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from math import isfinite
from typing import Protocol, TypeVar

N = TypeVar("N", bound="Node")
T = TypeVar("T")


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
#: The thread that holds `_PASS_LOCK` (None when none does, or for a moment on either side).
_pass_thread: int | None = None


def describe_node(node: Node) -> str:
    """How messages name a node: its name, else the op that made it, else its data."""
    if node.name:
        return node.name
    return f"the ({node.op}) node" if node.op else f"the constant {node.data!r}"


def accumulate_grads(root: Node) -> None:
    """Add d root / d node to ``node.grad`` for every node of the graph ending at ``root``.

    A derivative that overflows a float, or a grad that would once this pass is added, is an
    `OverflowError`, raised before any ``grad`` changes; the nodes are then marked reached all
    the same (``pass_reached``). An interrupted pass either changes no grad or, if it was
    writing them, finishes writing every one before the interrupt goes on.
    """
    _exclusively(lambda: _accumulate(root))


def pass_derivatives(root: Node, wrt: Sequence[Node]) -> list[float]:
    """d root / d v for each v of ``wrt`` (0.0 for a v that ``root`` does not depend on), by
    one reverse pass that changes no ``grad``."""
    return _exclusively(lambda: _derivatives(root, wrt))


def nodes_in_order(root: N, mark: object = None) -> list[N]:
    """Every node ``root`` depends on, itself included, parents before children: the leaves
    first, in the order they are found, and ``root`` last. Given a ``mark``, those that an
    earlier walk with the same mark reached are left out (several walks, each node once)."""
    leaves, interior = _exclusively(lambda: _walk(root, object() if mark is None else mark))
    return leaves + interior


class _Unfinished:
    """The nodes of a pass whose pass grads may not all be back to 0.0 yet: set before the pass
    writes any, cleared once it has set them back. A pass that an interrupt stopped before it
    got there leaves them here, and the next pass, whatever its graph, sets them back first."""

    __slots__ = ("groups",)

    def __init__(self) -> None:
        self.groups: tuple[Sequence[Node], ...] = ()


_unfinished = _Unfinished()


def _exclusively(run: Callable[[], T]) -> T:
    """``run()`` holding the pass lock, once any pass grads an interrupted pass left are back to
    0.0. On the thread that holds the lock already, a pass can only have been started from
    inside another (a signal handler, a trace hook): it is refused, where waiting for the lock
    would wait forever."""
    global _pass_thread
    thread = threading.get_ident()
    if _pass_thread == thread and _PASS_LOCK.locked():
        raise RuntimeError(
            "a pass over a graph (backward, derivatives, a walk or a copy of it) was started "
            "while this thread was in the middle of another, from a signal handler or a trace "
            "hook; it would wait for itself forever: start it once the running pass has returned"
        )
    with _PASS_LOCK:
        _pass_thread = thread
        try:
            if _unfinished.groups:
                _end_pass(*_unfinished.groups)
                _unfinished.groups = ()
            return run()
        finally:
            _pass_thread = None


def _accumulate(root: Node) -> None:
    """`accumulate_grads`, the lock held."""
    leaves, interior = _walk(root, object())
    _unfinished.groups = (interior, leaves)
    updates: list[tuple[list[Node], list[float]]] = []
    writing = False
    try:
        _propagate(root, interior)
        updates = [
            (nodes, [node.grad + node.pass_grad for node in nodes]) for nodes in (interior, leaves)
        ]
        # Not finite if a derivative is not (it flows on to some leaf) or if a new grad is not;
        # finite ones whose sum overflows too: only a reason to look.
        total = sum([sum(grads) for _, grads in updates])
        if not isfinite(total):
            refusal = _non_finite_derivative(root, leaves) or _overflowing_grad(root, updates)
            if refusal is not None:
                _mark_reached(interior, leaves)
                raise refusal
        writing = True
        _write_grads(updates)
    except BaseException:
        if writing:  # interrupted while writing: every grad gets this pass, none half of it
            _finish(lambda: _write_grads(updates))
        else:
            _end_pass(interior, leaves)
        _unfinished.groups = ()
        raise
    _unfinished.groups = ()


def _derivatives(root: N, wrt: Sequence[N]) -> list[float]:
    """`pass_derivatives`, the lock held."""
    leaves, interior = _walk(root, object())
    _unfinished.groups = (interior, leaves)
    try:
        _propagate(root, interior)
        refusal = _non_finite_derivative(root, leaves)
        if refusal is not None:
            raise refusal
        return [v.pass_grad if v.pass_mark is root.pass_mark else 0.0 for v in wrt]
    finally:
        _end_pass(interior, leaves)
        _unfinished.groups = ()


def _propagate(root: N, interior: list[N]) -> None:
    """d root / d node into every node's ``pass_grad``, children before parents: ``interior``
    is the graph's nodes other than its leaves, parents first."""
    root.pass_grad = 1.0
    for node in reversed(interior):
        g = node.pass_grad
        if g:
            for parent, local in zip(node.parents, node.local_grads):
                parent.pass_grad += local * g


def _write_grads(updates: list[tuple[list[N], list[float]]]) -> None:
    """Each node's new grad in place and its pass over (it may run again without harm)."""
    for nodes, grads in updates:
        for node, grad in zip(nodes, grads):
            node.grad = grad
            node.pass_grad = 0.0
            node.pass_reached = True


def _mark_reached(*groups: list[N]) -> None:
    """Each node marked as reached by a backward pass."""
    for nodes in groups:
        for node in nodes:
            node.pass_reached = True


def _finish(step: Callable[[], None]) -> None:
    """Run ``step``, which may run again from the start without harm, to its end: once more if
    an exception (a second Ctrl-C) cuts it short, and then raise that exception."""
    cut_short: BaseException | None = None
    for _ in range(_TRIES):
        try:
            step()
        except BaseException as error:  # raised below, once the step is done
            cut_short = cut_short or error
            continue
        break
    if cut_short is not None:
        raise cut_short


#: How many times `_finish` starts a step that keeps being cut short before it gives up.
_TRIES = 8


def _end_pass(*groups: Sequence[Node]) -> None:
    """Every node's pass grad back to 0.0, as between passes."""
    for nodes in groups:
        for node in nodes:
            node.pass_grad = 0.0


def _non_finite_derivative(root: N, leaves: list[N]) -> OverflowError | None:
    """The refusal of a pass in which a derivative of ``root`` with respect to a leaf is not
    finite, if one is."""
    # A non-finite derivative anywhere flows on (as ±inf or NaN) to some leaf; finite ones
    # whose sum overflows make the total non-finite too, so it is only a reason to look.
    total = sum([leaf.pass_grad for leaf in leaves])
    if isfinite(total):
        return None
    for leaf in leaves:
        g = leaf.pass_grad
        if not isfinite(g):
            return OverflowError(
                f"backward overflows a float: the derivative of {describe_node(root)} "
                f"with respect to {describe_node(leaf)} is {g!r}; scale the graph's numbers down"
            )
    return None


def _overflowing_grad(root: N, updates: list[tuple[list[N], list[float]]]) -> OverflowError | None:
    """The refusal of a pass whose new grads include one that is not finite, if they do."""
    for nodes, grads in updates:
        for node, grad in zip(nodes, grads):
            if not isfinite(grad):
                return OverflowError(
                    f"backward overflows a float: {describe_node(node)}'s grad {node.grad!r} "
                    f"plus this pass's derivative of {describe_node(root)}, {node.pass_grad!r}, "
                    f"is {grad!r}; set the grads to 0 first (zero_grad) or scale the graph's "
                    "numbers down"
                )
    return None


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
            interior.append(stack.pop())  # type: ignore[arg-type]  # a node sits below a marker
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
