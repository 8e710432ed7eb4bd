"""The passes over a graph under interruption, reentry, overflow and threads: whatever stops a
pass, no grad is half-updated, the next pass is exact, and none deadlocks."""

from __future__ import annotations

import copy
import pickle
import signal
import sys
import threading

import pytest
from threads import run_interleaved

import microbp
from microbp import Value, passes, topological_order
from microbp.engine import derivatives


class InterruptingFactor(float):
    """A local derivative whose first use raises Ctrl-C, as a signal can mid-pass."""

    def __mul__(self, other: object) -> float:
        raise KeyboardInterrupt


@pytest.mark.parametrize("run", [Value.backward, lambda root: derivatives(root, [root])])
def test_a_pass_interrupted_midway_leaves_nothing_for_the_next_pass_to_add(run):
    x = Value(1.5, "x")
    y = x
    for _ in range(200):
        y = y * 1.01 + x * 0.5
    (expected,) = derivatives(y, [x])
    middle = [v for v in topological_order(y) if v.parents][150]
    honest = middle.local_grads
    middle.local_grads = (InterruptingFactor(honest[0]), *honest[1:])
    with pytest.raises(KeyboardInterrupt):
        run(y)
    assert all(v.pass_grad == 0.0 for v in topological_order(y))
    middle.local_grads = honest
    assert derivatives(y, [x]) == [expected]
    y.zero_grad()
    y.backward()
    assert x.grad == expected


#: The trace events an interrupt is raised before: each bytecode, and each line too from Python
#: 3.12 on, where a tracer set up as below gets no "opcode" events (seen on 3.12.1 and 3.13.0).
STEP_EVENTS = ("opcode", "line") if sys.version_info >= (3, 12) else ("opcode",)


def interrupted_at(step: int, run) -> bool:
    """Run ``run()`` with Ctrl-C raised before the ``step``-th bytecode it executes inside
    `microbp.passes` (a signal can arrive between far fewer); whether it was raised.

    Except in `passes._exclusively`, which only takes the pass lock and gives it back with a
    ``with`` statement: between the bytecodes of a ``with``'s exit only a tracer can raise.
    """
    executed = 0

    def each_opcode(frame, event, arg):
        nonlocal executed
        if event in STEP_EVENTS:
            executed += 1
            if executed == step:
                raise KeyboardInterrupt
        return each_opcode

    def each_call(frame, event, arg):
        if frame.f_code.co_filename != passes.__file__ or frame.f_code.co_name == "_exclusively":
            return None
        frame.f_trace_opcodes = True
        return each_opcode

    sys.settrace(each_call)
    try:
        run()
    except KeyboardInterrupt:
        return True
    finally:
        sys.settrace(None)
    return False


def shared_graph() -> tuple[Value, list[Value]]:
    """y = (x·x + x)·w + exp(w): x and w reached along several paths; y and its nodes."""
    x, w = Value(2.0, "x"), Value(-0.5, "w")
    y = ((x * x + x) * w + w.exp()) * 3.0
    return y, topological_order(y)


def test_a_backward_interrupted_at_any_bytecode_adds_its_pass_to_every_grad_or_to_none():
    y, nodes = shared_graph()
    this_pass = derivatives(y, nodes)
    step = 0
    while True:
        step += 1
        y, nodes = shared_graph()
        y.backward()  # grads to add to: a second pass must add, not overwrite
        before = [v.grad for v in nodes]
        with_pass = [g + d for g, d in zip(before, this_pass)]
        if not interrupted_at(step, y.backward):
            assert [v.grad for v in nodes] == with_pass
            break
        assert [v.grad for v in nodes] in (before, with_pass), f"bytecode {step}"
        assert not passes._PASS_LOCK.locked()
        assert derivatives(y, nodes) == this_pass
        now = [v.grad for v in nodes]
        y.backward()
        assert [v.grad for v in nodes] == [g + d for g, d in zip(now, this_pass)]
    assert step > 100  # every bytecode of a whole pass was tried


def test_the_first_backward_interrupted_at_any_bytecode_then_one_more_gives_exact_grads():
    """The issue's case: x = 2, y = 3x, Ctrl-C in backward, then backward: x.grad is 3 or 6."""
    step = 0
    while True:
        step += 1
        x = Value(2.0, "x")
        y = x * 3
        if not interrupted_at(step, y.backward):
            break
        first = x.grad
        assert first in (0.0, 3.0)
        y.backward()
        assert x.grad == first + 3.0


@pytest.mark.parametrize(
    "run",
    [
        lambda y, nodes: derivatives(y, nodes),
        lambda y, nodes: topological_order(y),
        lambda y, nodes: y.zero_grad(),
        lambda y, nodes: copy.deepcopy(nodes),
    ],
    ids=["derivatives", "topological_order", "zero_grad", "deepcopy"],
)
def test_any_other_pass_interrupted_at_any_bytecode_changes_no_grad_and_leaves_no_state(run):
    y, nodes = shared_graph()
    this_pass = derivatives(y, nodes)
    step = 0
    while True:
        step += 1
        y, nodes = shared_graph()
        y.backward()
        before = [v.grad for v in nodes]
        if not interrupted_at(step, lambda y=y, nodes=nodes: run(y, nodes)):
            break
        assert [v.grad for v in nodes] in (before, [0.0] * len(nodes)), f"bytecode {step}"
        assert not passes._PASS_LOCK.locked()
        assert derivatives(y, nodes) == this_pass
        y.backward()
        assert [v.grad for v in nodes] in (
            [g + d for g, d in zip(before, this_pass)],
            this_pass,  # zero_grad had finished
        )
    assert step > 10


def test_a_pass_started_from_a_trace_hook_inside_a_pass_is_refused_not_left_waiting():
    y, nodes = shared_graph()
    other = Value(1.0, "other") * 2.0

    def start_another_pass(frame, event, arg):
        if frame.f_code.co_name == "_propagate":
            sys.settrace(None)
            other.backward()
        return None

    sys.settrace(start_another_pass)
    try:
        with pytest.raises(RuntimeError, match="signal handler or a trace hook"):
            y.backward()
    finally:
        sys.settrace(None)
    assert all(v.grad == 0.0 and v.pass_grad == 0.0 for v in nodes)
    y.backward()
    assert [v.grad for v in nodes] == derivatives(y, nodes)


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="needs SIGUSR1")
def test_a_pass_started_from_a_signal_handler_inside_a_pass_is_refused_not_left_waiting():
    x = Value(2.0, "x")
    y = x * 3.0

    class SignallingFactor(float):
        """A local derivative whose use sends this process a signal, as one may arrive."""

        def __mul__(self, other: object) -> float:
            signal.raise_signal(signal.SIGUSR1)
            return float(self) * float(other)  # type: ignore[arg-type]

    def handler(signum, frame):
        (x * 5.0).backward()

    y.local_grads = (SignallingFactor(3.0), 2.0)
    previous = signal.signal(signal.SIGUSR1, handler)
    try:
        with pytest.raises(RuntimeError, match="signal handler or a trace hook"):
            y.backward()
    finally:
        signal.signal(signal.SIGUSR1, previous)
    y.local_grads = (3.0, 2.0)
    assert x.grad == 0.0
    y.backward()
    assert x.grad == 3.0


def test_a_backward_whose_grads_would_overflow_is_refused_and_changes_no_grad():
    x = Value(1.0, "x")
    y = x * 1.5e308
    y.backward()
    with pytest.raises(OverflowError, match=r"x's grad 1.5e\+308 plus") as refused:
        y.backward()
    assert "zero_grad" in str(refused.value)
    assert (x.grad, y.grad, x.pass_grad) == (1.5e308, 1.0, 0.0)
    y.zero_grad()
    y.backward()
    assert x.grad == 1.5e308


def test_eight_threads_running_every_kind_of_pass_over_one_graph_get_exact_results():
    net = microbp.MLP([4, 8, 3], hidden="tanh", seed=3)
    points = [[(i * 5 + j) % 7 - 3.0 for j in range(4)] for i in range(8)]
    losses = [microbp.cross_entropy(net(x), i % 3) for i, x in enumerate(points)]
    params = net.parameters()
    expected = [derivatives(L, params) for L in losses]
    start = threading.Barrier(len(losses))
    found: list[list[object]] = [[] for _ in losses]

    def run(i: int) -> None:
        L = losses[i]
        start.wait()
        for _ in range(10):
            L.backward()
            found[i].append(derivatives(L, params))
            found[i].append(len(topological_order(L)))
            found[i].append(pickle.loads(pickle.dumps(L)).data)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(losses))]
    run_interleaved(threads)
    for i, L in enumerate(losses):
        size = len(topological_order(L))
        assert found[i] == [expected[i], size, L.data] * 10
    total = [10 * sum(e[k] for e in expected) for k in range(len(params))]
    assert [p.grad for p in params] == pytest.approx(total, rel=1e-12, abs=1e-300)
