"""Copies and pickles of graphs of Values, made without recursing, in time linear in the graph.

A deepcopy walks the graph once, parents first, and makes each node over its parents' copies
(`deepcopy_graph`). A pickle leaves the sharing of nodes to the pickler's own memo: a node is
pickled as its fields and its parents, and nothing is shared between pickles or picklers. What
keeps a pickle from recursing down a deep chain is a count, per thread, of the nodes whose
parents are being pickled (`pickle_order`): past `MAX_NESTING` of them, the next node lists its
ancestors first, parents first, so that each of them is pickled over parents already pickled.
The count only ever makes a pickle list sooner (a slower pickle, never a wrong one or a
recursing one), and a node's pickle gives its part of the count back when the pickler is done
with the node's parents or lets go of it unfinished.

Like `microbp.passes`, this module is typed against the `Node` protocol: it imports nothing of
the engine, which calls it from `Value.__deepcopy__`, `Value.__reduce__` and `Value.__copy__`.
"""

from __future__ import annotations

import copy
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from microbp.passes import Node, nodes_in_order

N = TypeVar("N", bound=Node)

#: How many nodes deep a pickle may go through parents not pickled yet before it lists a node's
#: ancestors first, at most. Each level costs the pickler three nested calls of its recursion
#: limit, so a tenth of the limit, if smaller, is the bound.
MAX_NESTING = 100


class _Nesting:
    """How many nodes' parents one thread's pickles are pickling, one inside the other."""

    __slots__ = ("depth",)

    def __init__(self) -> None:
        self.depth = 0


class _PerThread(threading.local):
    """Each thread's own `_Nesting` (a marker dropped by another thread still finds it)."""

    def __init__(self) -> None:
        self.nesting = _Nesting()


_PER_THREAD = _PerThread()


class NestingEnd:
    """The last argument of a pickled node: when the pickler reaches it (the node's parents are
    then pickled) or lets go of it unpickled, its thread's nesting count takes back ``delta``."""

    __slots__ = ("delta", "nesting")
    delta: int
    nesting: _Nesting

    def __reduce__(self) -> tuple[object, ...]:
        object.__setattr__(self, "__class__", _GivenBack)  # no __del__ to call any more
        self.nesting.depth -= self.delta
        return (type(None), ())  # what the pickle holds in its place: None

    def __del__(self) -> None:
        self.nesting.depth -= self.delta


class _GivenBack:
    """A `NestingEnd` the pickler has reached."""

    __slots__ = ("delta", "nesting")


def pickle_order(node: N) -> tuple[tuple[N, ...], NestingEnd | None]:
    """What a pickle of ``node`` holds before its fields (its ancestors, parents first, or
    nothing) and after its parents (a `NestingEnd`, or nothing for a leaf).

    A node's parents are pickled inside its pickle, so a chain of nodes whose parents are not
    pickled yet nests one level each; past `MAX_NESTING` levels (fewer under a low recursion
    limit) the ancestors are listed first, and each of them is then pickled over parents
    already pickled, at nesting 0.
    """
    if not node.parents:
        return (), None
    nesting = _PER_THREAD.nesting
    depth = nesting.depth
    # The count goes up before the marker that takes it back is made, and down after, so that
    # an interrupt in between leaves it too high (a pickle lists sooner), never too low.
    if depth < MAX_NESTING and 10 * depth < sys.getrecursionlimit():
        nesting.depth = depth + 1
        ancestors: tuple[N, ...] = ()
        delta = 1
    else:
        ancestors = tuple(nodes_in_order(node)[:-1])
        delta = -depth
    end = object.__new__(NestingEnd)  # without an __init__, which would cost a call per node
    end.nesting, end.delta = nesting, delta
    if delta < 0:
        nesting.depth = 0
    return ancestors, end


def own_attributes(node: object, base: type) -> tuple[dict[str, Any] | None, dict[str, Any]] | None:
    """What a subclass of ``base`` adds to ``node`` (its ``__dict__``, and its own slots that are
    set), as pickle's state is laid out; None for a ``base`` itself, or if there is nothing."""
    cls = type(node)
    if cls is base:
        return None
    slots: dict[str, Any] = {}
    for klass in cls.__mro__:
        if klass is base:
            break
        names = klass.__dict__.get("__slots__", ())
        for slot in (names,) if isinstance(names, str) else names:
            if slot not in ("__dict__", "__weakref__") and hasattr(node, slot):
                slots[slot] = getattr(node, slot)
    attributes = getattr(node, "__dict__", None) or None
    return None if attributes is None and not slots else (attributes, slots)


def set_attributes(node: object, state: tuple[dict[str, Any] | None, dict[str, Any]]) -> None:
    """Give ``node`` the attributes `own_attributes` found on another."""
    attributes, slots = state
    for name, value in (*(attributes or {}).items(), *slots.items()):
        setattr(node, name, value)


def shallow_copy(node: N, copy_node: Callable[[N, tuple[N, ...]], N], base: type) -> N:
    """``node`` as `copy.copy` copies it: ``copy_node(node, its own parents)``, given the
    attributes a subclass of ``base`` adds, the same objects. No walk of the graph."""
    made = copy_node(node, node.parents)
    state = own_attributes(node, base)
    if state is not None:
        set_attributes(made, state)
    return made


#: The key, in a deepcopy's memo, of the mark its walks share.
_DEEPCOPY_MARK = object()


def deepcopy_graph(
    root: N, memo: dict[int, Any], copy_node: Callable[[N, tuple[N, ...]], N], base: type
) -> N:
    """``root`` as `copy.deepcopy` copies it with ``memo``: each node of its graph the memo lacks
    made by ``copy_node(node, its parents' copies)``, parents first, then given deep copies of
    the attributes a subclass of ``base`` adds. Nothing recurses, and the walks of one deepcopy
    share a mark, so a node is walked once however many are copied."""
    mark = memo.setdefault(id(_DEEPCOPY_MARK), object())
    try:
        order = nodes_in_order(root, mark)
        originals = memo.setdefault(id(memo), [])  # as `copy` keeps them: no id is reused
        subclassed = []
        for node in order:
            if id(node) not in memo:
                originals.append(node)
                memo[id(node)] = copy_node(node, tuple(memo[id(p)] for p in node.parents))
                if type(node) is not base:
                    subclassed.append(node)
        for node in subclassed:  # once every node has its copy, which these may refer to
            state = own_attributes(node, base)
            if state is not None:
                set_attributes(memo[id(node)], copy.deepcopy(state, memo))
    except BaseException:  # a copy made again with this memo must walk afresh
        del memo[id(_DEEPCOPY_MARK)]
        raise
    copied: N = memo[id(root)]
    return copied
