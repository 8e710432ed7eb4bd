"""The tape's sums whose partial sums overflow though their totals are floats (1e308 + 1e308 −
1e308): the replay gives the finite total, forward as the engine does (exactly) and backward,
checked against the exact sums of Fractions."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from examples import scaled
from hypothesis import given, settings
from hypothesis import strategies as st

from microbp.engine import Value, affine, sum_values, zero_grad
from microbp.tape import record

BIGGEST = np.finfo(float).max
UNIT_ROUNDOFF = Fraction(1, 2**53)
#: Multiples of a large power of two: any float sum of a few of them is exact unless it
#: overflows, so every order of adding them either overflows or gives the exact total.
COARSE = 2.0**1019
coarse = st.integers(-31, 31).map(lambda m: m * COARSE)
#: Floats whose sums overflow and cancel, with ordinary and tiny ones among them.
hostile = st.one_of(
    st.sampled_from([BIGGEST, -BIGGEST, 1e308, -1e308, 9e307, -9e307]),
    st.floats(-BIGGEST, BIGGEST, allow_nan=False, allow_infinity=False),
    st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False),
)


def exact_total(terms) -> Fraction:
    return sum(map(Fraction, terms), Fraction(0))


def is_a_float(total: Fraction) -> bool:
    """Whether ``total`` rounds to a finite float (the engine's sum then gives it)."""
    try:
        return math.isfinite(float(total))
    except OverflowError:
        return False


def within_rounding(replayed: float, terms) -> bool:
    """Whether ``replayed`` is within the rounding of a float sum of ``terms``, in any order, of
    their exact total: (n − 1)·u·Σ|terms| for n − 1 additions, plus the last rounding."""
    total = exact_total(terms)
    size = sum((abs(Fraction(t)) for t in terms), Fraction(0))
    bound = (len(terms) - 1) * UNIT_ROUNDOFF * size + UNIT_ROUNDOFF * abs(total)
    return abs(Fraction(replayed) - total) <= bound


def scaled_sum(n: int) -> tuple[list[Value], Value, Value]:
    """Inputs x_1..x_n, a parameter w (1.0) and L = w·x_1 + x_2 + … + x_n: one sum node whose
    terms are a sample's numbers, and ∂L/∂w = x_1 summed over the batch."""
    xs = [Value(1.0, f"x{j + 1}") for j in range(n)]
    w = Value(1.0, "w")
    return xs, w, sum_values([w * xs[0], *xs[1:]])


def samples(terms: st.SearchStrategy[float], n: int, max_batch: int = 4):
    return st.lists(st.lists(terms, min_size=n, max_size=n), min_size=1, max_size=max_batch)


@settings(max_examples=scaled(100))
@given(st.integers(2, 6).flatmap(lambda n: samples(coarse, n)))
def test_a_sum_that_overflows_on_the_way_replays_to_the_engines_exact_total(batch):
    xs, w, L = scaled_sum(len(batch[0]))
    tape = record(L, xs, [w])
    if not all(is_a_float(exact_total(row)) for row in batch):
        with pytest.raises(OverflowError, match="sum of"):
            tape.forward(batch)
        return
    engine = []
    for row in batch:
        for x, data in zip(xs, row):
            x.data = data
        engine.append(sum_values([w * xs[0], *xs[1:]]).data)
    losses = tape.forward(batch).tolist()
    assert losses == engine == [float(exact_total(row)) for row in batch]


@settings(max_examples=scaled(100))
@given(st.integers(2, 8).flatmap(lambda n: samples(hostile, n)))
def test_a_sum_whose_total_is_a_float_replays_to_it_forward_and_backward(batch):
    xs, w, L = scaled_sum(len(batch[0]))
    tape = record(L, xs, [w])
    totals = [exact_total(row) for row in batch]
    grad_w = exact_total([row[0] for row in batch])  # ∂L/∂w = Σ over the batch of x_1
    if not all(map(is_a_float, totals)):
        with pytest.raises(OverflowError):
            tape.forward(batch)
        return
    losses = tape.forward(batch)
    for loss, row in zip(losses.tolist(), batch):
        assert within_rounding(loss, row), (loss, row)
    if not is_a_float(grad_w):
        with pytest.raises(OverflowError, match="overflowed"):
            tape.backward()
        assert w.grad == 0.0
        return
    tape.backward()
    assert within_rounding(w.grad, [row[0] for row in batch]), (w.grad, float(grad_w))
    assert tape.grad_of(xs[1]).tolist() == [1.0] * len(batch)


def test_terms_that_overflow_in_any_order_and_cancel_replay_to_the_engines_small_total():
    xs, w, L = scaled_sum(5)
    tape = record(L, xs, [w])
    batch = [[1e308, 1e308, -1e308, -1e308, 0.25], [BIGGEST, BIGGEST, -BIGGEST, 3.0, 0.0]]
    assert tape.forward(batch).tolist() == [0.25, BIGGEST]
    for row, loss in zip(batch, [0.25, BIGGEST]):
        assert sum_values(row).data == loss  # the engine's


@settings(max_examples=scaled(60))
@given(
    st.integers(2, 5).flatmap(
        lambda n: st.tuples(
            st.lists(coarse, min_size=n, max_size=n),  # W: one unit's weights
            samples(st.integers(-2, 2).map(float), n),  # h: each sample's inputs
        )
    ),
    st.sampled_from(["relu", "linear"]),
)
def test_a_layer_whose_products_overflow_on_the_way_replays_as_the_engine(weights_and_batch, g):
    """A layer's a = b + W h, by a matrix product (its W parameters, its h per sample) and with
    its activation in the same step or none: where the sum over units overflows on the way to a
    float, the replayed a, h_out and ∂L/∂W are the engine's (relu's local derivatives are 0 or
    1, so each number is exact and the same)."""
    W_data, batch = weights_and_batch
    W = [Value(data, f"W[1,{j + 1}]") for j, data in enumerate(W_data)]
    h = [Value(0.0, f"h[{j + 1}]") for j in range(len(W))]
    b = Value(0.5, "b")

    def loss() -> Value:
        a = affine(b, W, h)
        return a.relu() if g == "relu" else a

    tape = record(loss(), h, [*W, b])
    engine_losses, engine_grads = [], np.zeros(len(W))
    for row in batch:
        for h_j, data in zip(h, row):
            h_j.data = data
        try:
            L_k = loss()
        except OverflowError:  # a product or the total overflows: the replay refuses it too
            with pytest.raises(OverflowError):
                tape.forward(batch)
            return
        L_k.backward()
        engine_losses.append(L_k.data)
        engine_grads += [w.grad for w in W]
        zero_grad([*W, *h, b])
    assert tape.run(batch).tolist() == engine_losses
    assert [w.grad for w in W] == engine_grads.tolist()  # small ints times 0 or 1: exact


def test_an_affine_node_whose_weights_vary_by_sample_replays_to_the_engines_total():
    h = [Value(1.0, f"h{j}") for j in range(3)]
    b = Value(0.5, "b")
    constants = [Value(1e308), Value(1e308), Value(-1e308)]
    tape = record(affine(b, h, constants), h, [b])  # w per sample: not a matrix product
    batch = [[1.0, 1.0, 1.0], [1.0, -1.0, 1.0]]
    assert tape.forward(batch).tolist() == [1e308, -1e308]
    tape.backward()
    assert b.grad == 2.0


M = 1e308


@pytest.mark.parametrize("c", [(M, M, -M), (M, -M, M), (-M, M, M)])
@pytest.mark.parametrize("node", ["products", "affine"])
def test_a_grad_whose_contributions_overflow_on_the_way_is_the_exact_finite_total(c, node):
    """u = w·x is used three times, with local derivatives c = M, M and −M in some order (as
    the products u·c_j of a sum, or as an affine node's h_j = u): ∂L/∂u = M, though M + M
    overflows on the way, and ∂L/∂w = M·x summed over the batch."""
    x, w = Value(1.0, "x"), Value(1.0, "w")
    u = w * x
    constants = [Value(c_j) for c_j in c]
    if node == "affine":
        L = affine(Value(0.0), constants, [u, u, u])
    else:
        L = sum_values([u * c_j for c_j in constants])
    tape = record(L, [x], [w])
    assert tape.run([[0.5], [0.25]]).tolist() == [0.5 * M, 0.25 * M]
    assert w.grad == float(Fraction(M) * Fraction(3, 4))
    assert tape.grad_of(u).tolist() == [M, M]


def test_a_grad_whose_total_overflows_is_still_refused_and_changes_no_grad():
    x, w = Value(1.0, "x"), Value(1.0, "w")
    tape = record(w * x, [x], [w])
    tape.forward([[1e308], [1e308]])  # each loss is a float, their grads' sum is not
    with pytest.raises(OverflowError, match="overflowed"):
        tape.backward()
    assert w.grad == 0.0
