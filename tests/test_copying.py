"""Copies and pickles of graphs: the same numbers over the same shape (shared nodes shared), of
any depth and any number of nodes at once, whatever else runs, interrupts or nests meanwhile."""

from __future__ import annotations

import copy
import gc
import io
import math
import operator
import pickle
import sys
import threading
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from microbp import Value, sum_values, topological_order
from microbp.engine import derivatives

#: The two ways to duplicate a whole graph: deepcopy, and a pickle round trip.
DUPLICATES = [copy.deepcopy, lambda v: pickle.loads(pickle.dumps(v))]


def fields(v: Value) -> tuple[object, ...]:
    """What a copy keeps of a node besides its parents (data by its repr, so NaN equals NaN)."""
    return (repr(v.data), v.grad, v.name, v.op, v.local_grads, v.grad_computed, type(v))


def assert_duplicated(originals: list[Value], copies: list[Value]) -> None:
    """``copies`` is ``originals`` made again: one new node for each node of their graphs (so a
    node shared in the originals is shared in the copies), with its fields, over the copies of
    its parents. Walked with a stack: the graphs may be far deeper than the recursion limit."""
    assert len(copies) == len(originals)
    copy_of: dict[int, Value] = {}
    pairs = list(zip(originals, copies))
    while pairs:
        v, c = pairs.pop()
        if id(v) in copy_of:
            assert copy_of[id(v)] is c
            continue
        assert c is not v and fields(c) == fields(v) and len(c.parents) == len(v.parents)
        copy_of[id(v)] = c
        pairs.extend(zip(v.parents, c.parents))
    assert len({id(c) for c in copy_of.values()}) == len(copy_of)


def chain(steps: int, x: Value | None = None) -> Value:
    """x · 1.0 + 0.0, again and again."""
    y = Value(0.5, "x") if x is None else x
    for _ in range(steps):
        y = y * 1.0 + 0.0
    return y


@pytest.mark.parametrize(
    "duplicate",
    DUPLICATES,
    ids=["deepcopy", "pickle"],
)
def test_a_copied_graph_keeps_its_numbers_and_whether_its_grads_were_computed(duplicate):
    x = Value(2.0, "x")
    y = x * 3.0
    before = duplicate(y)
    assert not before.grad_computed and not before.parents[0].grad_computed
    y.backward()
    after = duplicate(y)
    assert after.grad_computed and after.parents[0].name == "x" and after.parents[0].grad == 3.0


@pytest.mark.parametrize("duplicate", [*DUPLICATES, copy.copy], ids=["deepcopy", "pickle", "copy"])
def test_a_chain_deeper_than_the_recursion_limit_copies_and_pickles(duplicate):
    x = Value(1.0, "x")
    y = x
    for _ in range(3 * sys.getrecursionlimit()):
        y = y * 1.0 + 0.0
    y.backward()
    copied = duplicate(y)
    order = topological_order(copied)
    assert len(order) == len(topological_order(y))
    assert [(v.data, v.grad, v.op) for v in order] == [
        (v.data, v.grad, v.op) for v in topological_order(y)
    ]


def deep_chain(x: Value) -> Value:
    """x × 1.0, again and again: ten times deeper than the recursion limit."""
    y = x
    for _ in range(10 * sys.getrecursionlimit()):
        y = y * 1.0
    return y


@pytest.mark.parametrize("duplicate", DUPLICATES, ids=["deepcopy", "pickle"])
def test_a_deep_chain_copies_again_after_one_copy_of_two_roots_that_share_it(duplicate):
    y = deep_chain(Value(0.5, "x"))
    first, second = duplicate([y + 1.0, y * 3.0])
    assert first.parents[0] is second.parents[0]
    again = duplicate(y.parents[0])
    assert len(topological_order(again)) == len(topological_order(y)) - 2


class InterruptingName(str):
    """A name whose pickling raises Ctrl-C, as a signal can midway through a pickle."""

    def __reduce_ex__(self, protocol: object) -> tuple[object, ...]:
        raise KeyboardInterrupt


class InterruptingMemo(dict):
    """A deepcopy memo whose ``after``-th entry raises Ctrl-C once, as a signal can midway."""

    def __init__(self, after: int) -> None:
        super().__init__()
        self.after = after

    def __setitem__(self, key: int, value: object) -> None:
        self.after -= 1
        if self.after == 0:
            raise KeyboardInterrupt
        super().__setitem__(key, value)


def interrupted_pickle(y: Value) -> None:
    middle = topological_order(y)[len(topological_order(y)) // 2]
    middle.name = InterruptingName("middle")
    try:
        pickle.dumps(y)
    finally:
        middle.name = "middle"


@pytest.mark.parametrize(
    "interrupted", [lambda y: copy.deepcopy(y, InterruptingMemo(5000)), interrupted_pickle]
)
@pytest.mark.parametrize("duplicate", DUPLICATES, ids=["deepcopy", "pickle"])
def test_a_deep_chain_copies_after_a_copy_of_it_was_interrupted_midway(interrupted, duplicate):
    y = deep_chain(Value(0.5, "x"))
    with pytest.raises(KeyboardInterrupt):
        interrupted(y)
    again = duplicate(y.parents[0])
    assert len(topological_order(again)) == len(topological_order(y)) - 2


def test_a_deepcopy_interrupted_midway_and_made_again_with_the_same_memo_is_whole():
    y = deep_chain(Value(0.5, "x"))
    memo = InterruptingMemo(5000)
    with pytest.raises(KeyboardInterrupt):
        copy.deepcopy(y, memo)
    again = copy.deepcopy(y, memo)
    assert [(v.data, v.op) for v in topological_order(again)] == [
        (v.data, v.op) for v in topological_order(y)
    ]


def test_a_memo_kept_after_an_interrupted_deepcopy_never_hands_a_new_graph_old_copies():
    memo = InterruptingMemo(3000)
    y = deep_chain(Value(0.5, "y"))
    with pytest.raises(KeyboardInterrupt):
        copy.deepcopy(y, memo)
    del y
    gc.collect()
    z = deep_chain(Value(2.0, "z"))
    copied = copy.deepcopy(z, memo)
    assert [(v.data, v.name, v.op) for v in topological_order(copied)] == [
        (v.data, v.name, v.op) for v in topological_order(z)
    ]


def test_a_deepcopy_of_every_node_of_a_graph_keeps_each_node_over_its_parents_copies():
    y = deep_chain(Value(0.5, "x")) + Value(2.0, "b")
    nodes = topological_order(y)
    copies = copy.deepcopy(nodes)
    copy_of = {id(v): c for v, c in zip(nodes, copies)}
    assert len({id(c) for c in copies}) == len(nodes)
    for v, c in zip(nodes, copies):
        assert c is not v and (c.data, c.op, c.name) == (v.data, v.op, v.name)
        assert all(cp is copy_of[id(p)] for p, cp in zip(v.parents, c.parents))


def test_a_copy_of_a_graph_keeps_shared_nodes_shared():
    x = Value(2.0, "x")
    y = (x * x) + x
    pair = copy.deepcopy([x, y])
    new_x, new_y = pair
    assert new_x is not x
    assert all(p is new_x for p in new_y.parents[0].parents) and new_y.parents[1] is new_x
    new_y.backward()
    assert new_x.grad == 5.0 and x.grad == 0.0


#: Each kind of node a random graph is made of, from two nodes already in it.
OPS: dict[str, Callable[[Value, Value], Value]] = {
    "+": operator.add,
    "*": operator.mul,
    "tanh": lambda a, b: a.tanh(),
    "sum": lambda a, b: sum_values([a, b, a]),
    "times a constant": lambda a, b: a * 2.5,
}


@st.composite
def graphs_and_picks(draw: st.DrawFn) -> tuple[list[Value], list[Value]]:
    """A random graph of every kind of node (shared ones too), and some of its nodes, in any
    order, repeats allowed."""
    nodes = [Value(draw(st.floats(-2, 2)), f"x{i}") for i in range(draw(st.integers(1, 4)))]
    for _ in range(draw(st.integers(0, 25))):
        a, b = (nodes[draw(st.integers(0, len(nodes) - 1))] for _ in range(2))
        made = OPS[draw(st.sampled_from(sorted(OPS)))](a, b)
        if draw(st.booleans()):
            made.name = f"n{len(nodes)}"
        nodes.append(made)
    if draw(st.booleans()):
        nodes[-1].backward()
    picks = draw(st.lists(st.sampled_from(nodes), min_size=1, max_size=12))
    return nodes, picks


@pytest.mark.parametrize("duplicate", DUPLICATES, ids=["deepcopy", "pickle"])
@given(drawn=graphs_and_picks())
def test_any_nodes_of_a_graph_copied_together_keep_its_numbers_and_shape(duplicate, drawn):
    _, picks = drawn
    assert_duplicated(picks, duplicate(picks))


@pytest.mark.parametrize("duplicate", DUPLICATES, ids=["deepcopy", "pickle"])
@pytest.mark.parametrize("order", ["parents first", "children first"])
def test_every_node_of_a_deep_chain_copied_together_keeps_its_shape(duplicate, order):
    nodes = topological_order(chain(5 * sys.getrecursionlimit()))
    if order == "children first":
        nodes.reverse()
    assert_duplicated(nodes, duplicate(nodes))


def test_a_pickle_of_every_node_of_a_chain_grows_in_proportion_to_the_chain():
    """Were each node to list its ancestors, twice the chain would pickle four times as big."""
    sizes = [len(pickle.dumps(topological_order(chain(steps)))) for steps in (2_000, 4_000)]
    assert sizes[1] < 2.05 * sizes[0]


def test_a_pickle_of_every_node_of_a_deep_chain_children_first_is_as_small_as_parents_first():
    nodes = topological_order(chain(3_000))
    assert len(pickle.dumps(nodes[::-1])) < 1.2 * len(pickle.dumps(nodes))


class NestingName(str):
    """A name whose pickling runs ``during(node)`` first, as a str subclass's own pickling may."""

    during = staticmethod(lambda: None)

    def __reduce_ex__(self, protocol: object) -> tuple[object, ...]:
        type(self).during()
        return (str, (str(self),))


@pytest.mark.parametrize(
    "during",
    [
        lambda other: pickle.dumps(topological_order(other)),
        lambda other: copy.copy(other),
        lambda other: copy.deepcopy(other),
        lambda other: pickle.loads(pickle.dumps(other)),
    ],
    ids=["pickle", "copy", "deepcopy", "pickle-round-trip"],
)
def test_a_pickle_made_inside_a_pickle_leaves_both_whole(during, monkeypatch):
    other = chain(2 * sys.getrecursionlimit(), Value(3.0, "other"))
    made = []
    monkeypatch.setattr(NestingName, "during", lambda: made.append(during(other)))
    nodes = topological_order(chain(2 * sys.getrecursionlimit()))
    nesting = nodes[:: len(nodes) // 7]
    for v in nesting:
        v.name = NestingName("nested")
    copies = pickle.loads(pickle.dumps(nodes[::-1]))
    assert len(made) == len(nesting)
    for v in nesting:
        v.name = "nested"
    assert_duplicated(nodes[::-1], copies)


def test_a_pickler_kept_alive_changes_nothing_for_other_pickles():
    nodes = topological_order(chain(3 * sys.getrecursionlimit()))
    size = len(pickle.dumps(nodes))
    kept = io.BytesIO()
    pickler = pickle.Pickler(kept)
    pickler.dump(nodes[: len(nodes) // 2])  # its memo keeps everything of this pickle alive
    assert len(pickle.dumps(nodes)) == size
    assert_duplicated(nodes[::-1], pickle.loads(pickle.dumps(nodes[::-1])))
    pickler.dump(nodes)
    kept.seek(0)
    unpickler = pickle.Unpickler(kept)
    first, second = unpickler.load(), unpickler.load()
    assert all(a is b for a, b in zip(first, second))
    assert_duplicated(nodes, second)


class InterruptAfter(str):
    """A name whose pickling raises Ctrl-C once ``remaining`` names have been (a signal's
    moment)."""

    remaining = 0

    def __reduce_ex__(self, protocol: object) -> tuple[object, ...]:
        type(self).remaining -= 1
        if type(self).remaining == 0:
            raise KeyboardInterrupt
        return (str, (str(self),))


@pytest.mark.parametrize("at", [1, 3, 40, 150, 400])
@pytest.mark.parametrize("order", ["parents first", "children first"])
def test_a_pickle_interrupted_anywhere_leaves_later_pickles_as_they_were(at, order, monkeypatch):
    nodes = topological_order(chain(3 * sys.getrecursionlimit()))
    if order == "children first":
        nodes.reverse()
    for v in nodes[::5]:
        v.name = "n"
    size = len(pickle.dumps(nodes))
    for v in nodes[::5]:
        v.name = InterruptAfter("n")
    monkeypatch.setattr(InterruptAfter, "remaining", at)
    with pytest.raises(KeyboardInterrupt):
        pickle.dumps(nodes)
    for v in nodes[::5]:
        v.name = "n"
    assert len(pickle.dumps(nodes)) == size
    assert_duplicated(nodes, pickle.loads(pickle.dumps(nodes)))


def test_passes_running_in_another_thread_change_nothing_in_a_pickle():
    y = chain(3 * sys.getrecursionlimit())
    nodes = topological_order(y)
    quiet = pickle.dumps(nodes)
    stop = threading.Event()

    def busy() -> None:
        while not stop.is_set():
            derivatives(y, nodes[:3])
            topological_order(y)

    worker = threading.Thread(target=busy)
    worker.start()
    try:
        busy_pickles = [pickle.dumps(nodes), pickle.dumps(nodes[::-1])]
    finally:
        stop.set()
        worker.join()
    assert busy_pickles[0] == quiet
    assert_duplicated(nodes[::-1], pickle.loads(busy_pickles[1]))


@pytest.mark.parametrize("duplicate", [*DUPLICATES, copy.copy], ids=["deepcopy", "pickle", "copy"])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf], ids=repr)
def test_a_node_whose_data_was_set_to_nan_or_inf_copies_as_it_is(duplicate, bad):
    x = Value(2.0, "x")
    y = x * 3.0
    y.data = bad
    copied = duplicate(y)
    assert repr(copied.data) == repr(bad) and copied.parents[0].name == "x"


class Tagged(Value):
    """A user's subclass with attributes of its own."""

    colour: str
    history: list[float]
    itself: Tagged


class Slotted(Value):
    """A user's subclass with a slot of its own."""

    __slots__ = ("unit",)
    unit: str


@pytest.mark.parametrize("duplicate", [*DUPLICATES, copy.copy], ids=["deepcopy", "pickle", "copy"])
def test_a_copy_of_a_subclass_node_keeps_its_class_and_attributes(duplicate):
    t, s = Tagged(2.0, "t"), Slotted(3.0, "s")
    t.colour, s.unit = "red", "metre"
    pair = duplicate([t, s])
    assert [type(v) for v in pair] == [Tagged, Slotted]
    assert pair[0].colour == "red" and pair[1].unit == "metre" and pair[0].name == "t"
    y = duplicate(t * s)
    assert type(y) is Value and [type(p) for p in y.parents] == [Tagged, Slotted]


def test_a_deepcopy_of_a_subclass_node_copies_its_attributes_deeply_and_keeps_cycles():
    t = Tagged(2.0, "t")
    t.history, t.itself = [1.0, 2.0], t
    copied = copy.deepcopy(t)
    assert copied.history == [1.0, 2.0] and copied.history is not t.history
    assert copied.itself is copied


def test_a_deepcopy_with_a_node_in_its_memo_keeps_that_node_itself():
    x, w = Value(2.0, "x"), Value(3.0, "w")
    y = x * w
    copied = copy.deepcopy(y, {id(x): x})
    assert copied.parents[0] is x and copied.parents[1] is not w and copied is not y


def test_a_shallow_copy_shares_its_parents_and_walks_nothing():
    y = chain(10)
    made: list[Value] = []

    def copy_inside_a_pass(frame, event, arg):
        if frame.f_code.co_name == "_propagate" and not made:
            made.append(copy.copy(y))  # a walk here would be refused: a pass is running
        return None

    sys.settrace(copy_inside_a_pass)
    try:
        y.backward()
    finally:
        sys.settrace(None)
    (shallow,) = made
    assert shallow is not y and shallow.parents is y.parents
    assert (shallow.data, shallow.name, shallow.op) == (y.data, y.name, y.op)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_every_pickle_protocol_keeps_a_deep_graph_whole(protocol):
    nodes = topological_order(chain(3 * sys.getrecursionlimit()))
    picks = [nodes[-1], nodes[len(nodes) // 2], nodes[0]]
    assert_duplicated(picks, pickle.loads(pickle.dumps(picks, protocol=protocol)))


def test_a_deep_chain_pickles_under_a_low_recursion_limit():
    y = chain(5_000)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(250)
    try:
        dumped = pickle.dumps([y, y.parents[0].parents[0]])
    finally:
        sys.setrecursionlimit(limit)
    assert_duplicated([y, y.parents[0].parents[0]], pickle.loads(dumped))
