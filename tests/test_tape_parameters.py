"""The tape's parameter side: what `loss_and_gradient` and `set_parameters` let in, a tape
shared by threads, and replays at the edges (no inputs, a refused forward)."""

from __future__ import annotations

import math
import threading
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

from microbp.engine import Value, zero_grad
from microbp.nn import MLP
from microbp.tape import TapeError, network_batch, record, record_network


def small_tape():
    net = MLP([2, 3, 2], hidden="tanh", seed=0)
    tape = record_network(net, "cross_entropy")
    batch = network_batch([[0.5, -1.0], [1.0, 2.0]], [0, 1], loss="cross_entropy", net=net)
    return net, tape, batch


def with_entry(theta: np.ndarray, entry: object) -> list[object]:
    vector: list[object] = theta.tolist()
    vector[3] = entry
    return vector


@pytest.mark.parametrize(
    ("entry", "error", "message"),
    [
        ("abc", TypeError, r"theta must be an array of numbers.*got str 'abc'"),
        (True, TypeError, "got bool True"),
        (Decimal("0.5"), TypeError, "got Decimal"),
        (None, TypeError, "got NoneType None"),
        (math.nan, ValueError, r"theta\[3\] \(W1\[2,2\]\) is nan; a parameter must be a finite"),
        (-math.inf, ValueError, r"theta\[3\] \(W1\[2,2\]\) is -inf"),
    ],
    ids=repr,
)
def test_theta_entries_that_are_not_finite_numbers_are_refused_as_what_they_are(
    entry, error, message
):
    net, tape, batch = small_tape()
    before = [p.data for p in net.parameters()]
    theta = with_entry(tape.parameter_vector(), entry)
    with pytest.raises(error, match=message):
        tape.loss_and_gradient(batch, theta)
    with pytest.raises(error, match=message):
        tape.set_parameters(theta)
    assert [p.data for p in net.parameters()] == before  # nothing written


@pytest.mark.parametrize("theta", ["abc", b"ab", 1.0, [[1.0, 2.0]]], ids=repr)
def test_theta_that_is_not_a_vector_is_refused(theta):
    net, tape, batch = small_tape()
    before = [p.data for p in net.parameters()]
    with pytest.raises((TypeError, ValueError), match="theta"):
        tape.loss_and_gradient(batch, theta)
    with pytest.raises((TypeError, ValueError), match="theta"):
        tape.set_parameters(theta)
    assert [p.data for p in net.parameters()] == before


@pytest.mark.parametrize("cut", [1, -1])
def test_set_parameters_refuses_a_vector_of_the_wrong_length_writing_nothing(cut):
    net, tape, _ = small_tape()
    before = [p.data for p in net.parameters()]
    theta = tape.parameter_vector() + 1.0
    wrong = theta[:-1] if cut == 1 else np.append(theta, 0.0)
    with pytest.raises(ValueError, match=r"one number per parameter in the graph \(17\)"):
        tape.set_parameters(wrong)
    assert [p.data for p in net.parameters()] == before


def test_theta_may_hold_ints_fractions_and_numpy_floats_as_the_engine_takes_them():
    net, tape, batch = small_tape()
    theta = tape.parameter_vector()
    mixed = [Fraction(1, 4), 2, np.float32(0.5), *theta[3:].tolist()]
    losses, gradient = tape.loss_and_gradient(batch, mixed)
    expected = tape.loss_and_gradient(batch, [0.25, 2.0, 0.5, *theta[3:].tolist()])
    assert losses.tolist() == expected[0].tolist() and gradient.tolist() == expected[1].tolist()
    tape.set_parameters(mixed)
    assert [p.data for p in net.parameters()][:3] == [0.25, 2.0, 0.5]
    assert all(type(p.data) is float for p in net.parameters())


def test_threads_sharing_a_tape_each_get_their_own_batchs_results():
    """Every thread's loss_and_gradient and run equal the same call made alone."""
    net, tape, _ = small_tape()
    rng = np.random.default_rng(0)
    batches = [
        network_batch(
            rng.normal(size=(5, 2)).tolist(), [0, 1, 0, 1, 1], loss="cross_entropy", net=net
        )
        for _ in range(4)
    ]
    theta = tape.parameter_vector()
    alone = [tape.loss_and_gradient(batch, theta) for batch in batches]
    results: dict[int, list[tuple[list[float], list[float]]]] = {}

    def work(i: int) -> None:
        results[i] = []
        for _ in range(200):
            losses, gradient = tape.loss_and_gradient(batches[i], theta)
            results[i].append((losses.tolist(), gradient.tolist()))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i, (losses, gradient) in enumerate(alone):
        assert all(r == (losses.tolist(), gradient.tolist()) for r in results[i])


def test_another_threads_replay_is_refused_to_backward_and_to_reading():
    _, tape, batch = small_tape()
    tape.forward(batch)
    errors: list[BaseException] = []

    def read_it() -> None:
        for call in (
            tape.backward,
            lambda: tape.data_of(tape.loss),
            lambda: tape.grad_of(tape.loss),
        ):
            try:
                call()
            except TapeError as error:
                errors.append(error)

    thread = threading.Thread(target=read_it)
    thread.start()
    thread.join()
    assert len(errors) == 3 and all("another thread's" in str(e) for e in errors)
    tape.backward()  # the thread that replayed still can


def test_a_tape_without_inputs_seeds_the_loss_grad_with_the_batch_size():
    """A batch of zero columns still has its rows: each sample adds ∂L/∂w once."""
    w = Value(3.0, "w")
    tape = record(w * w, [], [w])
    zero_grad([w])
    losses = tape.run(np.zeros((4, 0)))
    assert losses.tolist() == [9.0] * 4
    assert w.grad == 4 * 6.0


def test_after_a_refused_forward_there_is_no_replay_to_read():
    x, w = Value(1.0, "x"), Value(2.0, "w")
    L = (w * x).log()
    tape = record(L, [x], [w])
    tape.forward([[1.0]])
    with pytest.raises(ValueError, match="log needs a positive"):
        tape.forward([[-1.0]])
    with pytest.raises(TapeError, match="no replay yet"):
        tape.data_of(L)
    with pytest.raises(TapeError, match="no backward pass yet"):
        tape.grad_of(L)
