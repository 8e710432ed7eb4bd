"""Training: minibatch SGD takes the same steps on the tape and on the scalar engine."""

from __future__ import annotations

import math
import random
import re

import numpy as np
import pytest
from examples import scaled
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from microbp import formulas
from microbp.datasets import make_circles, make_moons
from microbp.nn import HIDDEN_ACTIVATIONS, MLP
from microbp.training import ENGINES, DivergedError, evaluate, train


def weights(net: MLP) -> np.ndarray:
    return np.array([p.data for p in net.parameters()])


@st.composite
def training_runs(draw):
    """A network recipe, a data set with targets for its loss, and the SGD settings."""
    loss = draw(st.sampled_from(["cross_entropy", "squared_error"]))
    hidden_sizes = draw(st.lists(st.integers(1, 4), min_size=0, max_size=2))
    output = "softmax" if loss == "cross_entropy" else draw(st.sampled_from(["softmax", "linear"]))
    recipe = {
        "sizes": [2, *hidden_sizes, 2],
        "hidden": draw(st.sampled_from(HIDDEN_ACTIVATIONS)),
        "output": output,
        "seed": draw(st.integers(0, 1000)),
    }
    n = draw(st.integers(1, 12))
    X, labels = make_moons(n, seed=draw(st.integers(0, 1000)))
    y = labels if loss == "cross_entropy" else [[float(c == 0), float(c == 1)] for c in labels]
    options = {
        "loss": loss,
        "epochs": draw(st.integers(1, 3)),
        # A fully linear path with squared error has no squashing: 0.5 can diverge within steps.
        "lr": draw(
            st.sampled_from([0.01, 0.1] if "linear" in recipe.values() else [0.01, 0.1, 0.5])
        ),
        "batch": draw(st.integers(1, n + 1)),
        "seed": draw(st.integers(0, 1000)),
    }
    return recipe, X, y, options


@settings(max_examples=scaled(50))
@given(training_runs())
def test_both_engines_reach_the_same_weights_and_losses(run):
    recipe, X, y, options = run
    results: dict[str, tuple[np.ndarray, list[float]] | None] = {}
    for engine in ENGINES:
        net = MLP(**recipe)
        try:
            history = train(net, X, y, engine=engine, **options)
        except DivergedError:  # a large lr on a linear net: then both engines must diverge
            results[engine] = None
        else:
            results[engine] = (weights(net), history)
    if results["tape"] is None or results["scalar"] is None:
        assert results["tape"] is results["scalar"] is None, "only one engine diverged"
        return
    np.testing.assert_allclose(results["tape"][0], results["scalar"][0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(results["tape"][1], results["scalar"][1], rtol=1e-9, atol=1e-12)


def numpy_minibatch_sgd(net, X, y, loss, epochs, lr, batch, seed):
    """The same training written with the notes' matrix formulas (`formulas.gradients`)."""
    network = formulas.Network.from_mlp(net)
    W, b = [w.copy() for w in network.W], [v.copy() for v in network.b]
    rng = random.Random(seed)
    for _ in range(epochs):
        order = list(range(len(X)))
        rng.shuffle(order)
        for start in range(0, len(order), batch):
            chunk = order[start : start + batch]
            current = formulas.Network(W, b, network.activations)
            grads = [formulas.gradients(current, X[i], y[i], loss).layers for i in chunk]
            for k in range(len(W)):
                W[k] = W[k] - lr * sum(g[k].grad_W for g in grads) / len(chunk)
                b[k] = b[k] - lr * sum(g[k].grad_b for g in grads) / len(chunk)
    return np.concatenate([np.concatenate([Wk.ravel(), bk]) for Wk, bk in zip(W, b)])


@settings(max_examples=scaled(30))
@given(training_runs(), st.sampled_from(ENGINES))
def test_training_takes_the_steps_of_minibatch_sgd_on_the_notes_formulas(run, engine):
    recipe, X, y, options = run
    net = MLP(**recipe)
    try:
        train(net, X, y, engine=engine, **options)
    except DivergedError:
        assume(False)  # nothing to compare: the floats ran out (numpy would give inf)
    expected = numpy_minibatch_sgd(MLP(**recipe), X, y, **options)
    np.testing.assert_allclose(weights(net), expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
def test_training_on_two_moons_lowers_the_loss_and_reports_every_epoch(engine):
    X, y = make_moons(60, seed=3)
    net = MLP([2, 8, 2], hidden="tanh", seed=3)
    seen = []
    history = train(
        net, X, y, epochs=15, lr=0.3, batch=4, engine=engine, on_epoch=lambda *e: seen.append(e)
    )
    assert seen == list(enumerate(history, start=1))
    assert history[-1] < 0.8 * history[0]


def test_training_starts_from_zero_grads_and_leaves_zero_grads():
    X, y = make_moons(5, seed=0)
    nets = [MLP([2, 3, 2], seed=0) for _ in range(2)]
    for p in nets[0].parameters():
        p.grad = 123.0  # stale grads from an earlier backward pass must not leak into step 1
    for net in nets:
        train(net, X, y, epochs=1, lr=0.1, batch=2)
    assert weights(nets[0]).tolist() == weights(nets[1]).tolist()
    assert all(p.grad == 0.0 for p in nets[0].parameters())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"engine": "gpu"}, "unknown engine 'gpu'; choose one of tape, scalar"),
        ({"loss": "hinge"}, "unknown loss 'hinge'"),
        ({"epochs": 0}, "epochs must be a positive int, got 0"),
        ({"batch": 0}, "batch, the number of points per SGD step, must be a positive int"),
        ({"lr": -1.0}, "the learning rate lr must be positive"),
        ({"X": []}, "no training points"),
        ({"y": [0]}, "one target per sample"),
        ({"y": [0, 2]}, "label 2 is out of range"),
        ({"X": [[0.0], [1.0]]}, "sample 0 has 1 inputs; the network takes 2"),
    ],
)
def test_bad_arguments_are_refused_before_any_step(change, message):
    net = MLP([2, 2, 2], seed=0)
    before = weights(net).tolist()
    arguments = {"X": [[0.0, 1.0], [1.0, 0.0]], "y": [0, 1], "epochs": 1, "lr": 0.1, **change}
    X, y = arguments.pop("X"), arguments.pop("y")
    with pytest.raises(ValueError, match=message):
        train(net, X, y, **arguments)
    assert weights(net).tolist() == before


@pytest.mark.parametrize("engine", ENGINES)
def test_divergence_is_reported_and_leaves_the_last_good_weights(engine):
    X, y = make_moons(20, seed=1)
    net = MLP([2, 4, 2], hidden="linear", output="linear", seed=1)
    targets = [[1e150 * c, 0.0] for c in y]
    with pytest.raises(DivergedError, match="training diverged in epoch 1") as error:
        train(net, X, targets, loss="squared_error", epochs=3, lr=1.0, engine=engine)
    assert isinstance(error.value, ArithmeticError)
    assert all(math.isfinite(p.data) and p.grad == 0.0 for p in net.parameters())


def test_a_step_that_leaves_the_floats_is_refused_the_same_way_on_both_engines():
    X, y = make_moons(8, seed=2)
    targets = [[1e3 * c, 0.0] for c in y]  # grads of about 10³: a step of lr 1e306 overflows
    refusals = {}
    for engine in ENGINES:
        net = MLP([2, 3, 2], hidden="tanh", output="linear", seed=2)
        with pytest.raises(DivergedError) as error:
            train(net, X, targets, loss="squared_error", epochs=2, lr=1e306, batch=4, engine=engine)
        refused = re.search(r"the SGD step makes (\S+) non-finite", str(error.value))
        assert refused, str(error.value)
        assert "try a smaller lr" in str(error.value)
        assert all(math.isfinite(p.data) and p.grad == 0.0 for p in net.parameters())
        refusals[engine] = (refused[1], weights(net))
    assert refusals["tape"][0] == refusals["scalar"][0]
    np.testing.assert_allclose(refusals["tape"][1], refusals["scalar"][1], rtol=1e-9)


@pytest.mark.parametrize("engine", ENGINES)
def test_the_weights_a_user_sees_at_the_end_of_each_epoch_are_the_trained_ones(engine):
    X, y = make_moons(12, seed=4)
    net = MLP([2, 3, 2], hidden="tanh", seed=4)
    seen = []
    train(
        net,
        X,
        y,
        epochs=3,
        lr=0.5,
        batch=5,
        engine=engine,
        on_epoch=lambda *_: seen.append(weights(net)),
    )
    for epochs, snapshot in enumerate(seen, start=1):
        fresh = MLP([2, 3, 2], hidden="tanh", seed=4)
        train(fresh, X, y, epochs=epochs, lr=0.5, batch=5, engine=engine)
        assert weights(fresh).tolist() == snapshot.tolist()
    assert seen[-1].tolist() == weights(net).tolist()


def test_a_run_that_ends_with_a_higher_loss_than_it_started_is_divergence_on_both_engines():
    X, y = make_moons(200, seed=0)
    # Diverging amplifies the engines' last-digit differences: the losses differ, not the verdict.
    for engine in ENGINES:
        net = MLP([2, 8, 2], hidden="tanh", seed=0)
        with pytest.raises(DivergedError, match=r"rose from 0\.722 \(untrained\) to"):
            train(net, X, y, epochs=50, lr=20.0, batch=16, engine=engine, seed=0)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_run_that_collapses_to_chance_above_the_untrained_loss_is_divergence(engine):
    X, y = make_circles(200, seed=0)
    net = MLP([2, 8, 2], hidden="relu", seed=0)
    untrained_loss = evaluate(net, X, y)[0]
    with pytest.raises(DivergedError, match="rose from"):
        train(net, X, y, epochs=50, lr=4.0, batch=16, engine=engine, seed=0)
    assert evaluate(net, X, y)[0] > untrained_loss  # the weights are those it ended with


def test_a_loss_that_spikes_and_recovers_is_not_divergence():
    X, y = make_moons(200, seed=0)
    net = MLP([2, 8, 2], hidden="tanh", seed=0)
    untrained_loss = evaluate(net, X, y)[0]
    history = train(net, X, y, epochs=50, lr=5.0, batch=16, seed=0)
    assert max(history) > 4 * untrained_loss and history[-1] < untrained_loss
