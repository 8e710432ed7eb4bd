"""Minibatch SGD for an `MLP` on the scalar engine or on a recorded tape: the same steps either way.

Each epoch visits the points 0..n−1 shuffled by one ``random.Random(seed)``, in minibatches of
``batch`` points (the last may be smaller); each minibatch takes one step
θ ← θ − η · (1/|B|) Σ_{s∈B} ∇θ L_s. The ``scalar`` engine builds and backpropagates each
point's graph; the ``tape`` engine records the graph once (`microbp.tape.record_network`) and
replays each minibatch in numpy. Both reach the same weights up to rounding.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from microbp.nn import MLP, SGD, cross_entropy, loss_of
from microbp.validate import check_count, check_loss

if TYPE_CHECKING:  # numpy and the tape load when a tape is used, not when `microbp` starts
    import numpy as np

    from microbp.tape import Tape

#: The engines `train` runs on.
ENGINES = ("tape", "scalar")


class DivergedError(ArithmeticError):
    """Training left the floats (a loss, a grad or a weight overflowed or hit log 0), or ended
    with a higher mean loss over the points than the untrained network's: steps too large, which
    can make the loss spike and recover, but not end above where it began."""


def _sgd_step(optimizer: SGD, batch_size: int) -> None:
    """One step along the minibatch's mean gradient, then grads back to 0."""
    for p in optimizer.params:
        p.grad /= batch_size
    optimizer.step()
    optimizer.zero_grad()


class _TapeSteps:
    """SGD steps replayed from a tape on a vector θ of the parameters' values, in numpy; the
    `Value`s' ``.data`` are brought up to date by `publish`, whenever the caller can look."""

    def __init__(self, tape: Tape, rows: np.ndarray, optimizer: SGD) -> None:
        import numpy

        self.np = numpy
        self.tape, self.rows, self.optimizer = tape, rows, optimizer
        self.theta = tape.parameter_vector()

    def __call__(self, indices: list[int]) -> float:
        losses, grad = self.tape.loss_and_gradient(self.rows[indices], self.theta)
        grad /= len(indices)
        with self.np.errstate(over="ignore", invalid="ignore"):  # refused just below
            updated = self.theta - self.optimizer.lr * grad
        if not self.np.isfinite(updated).all():
            # the step leaves the floats: let SGD refuse it, as it does on the scalar engine
            self.publish()
            for p, g in zip(self.tape.graph_parameters, grad.tolist()):
                p.grad = g
            self.optimizer.step()
        self.theta = updated
        return float(losses.sum())

    def publish(self) -> None:
        """Write θ into the parameters' ``.data``."""
        self.tape.set_parameters(self.theta)


class _Engine:
    """How ``train`` runs on one engine: a step on a minibatch (its indices; returns its summed
    loss), the mean loss over every point, and bringing the `Value`s' ``.data`` up to date."""

    def __init__(
        self,
        step: Callable[[list[int]], float],
        mean_loss: Callable[[], float],
        publish: Callable[[], None],
    ) -> None:
        self.step, self.mean_loss, self.publish = step, mean_loss, publish


def _engine(
    engine: str,
    net: MLP,
    X: Sequence[Sequence[float]],
    y: Sequence[object],
    loss: str,
    rows: np.ndarray,
    optimizer: SGD,
) -> _Engine:
    """The step, mean loss and publishing of ``engine``."""
    if engine == "tape":
        from microbp.tape import record_network

        tape = record_network(net, loss, example=X[0])
        tape_steps = _TapeSteps(tape, rows, optimizer)
        return _Engine(tape_steps, lambda: float(tape.forward(rows).mean()), tape_steps.publish)

    def step(indices: list[int]) -> float:
        total = 0.0
        for i in indices:
            L = loss_of(loss, net(X[i]), y[i])
            L.backward()
            total += L.data
        _sgd_step(optimizer, len(indices))
        return total

    def mean_loss() -> float:
        return sum(loss_of(loss, net(x), target).data for x, target in zip(X, y)) / len(X)

    def publish() -> None:
        return None  # the scalar engine works on the Values themselves

    return _Engine(step, mean_loss, publish)


def train(
    net: MLP,
    X: Sequence[Sequence[float]],
    y: Sequence[object],
    *,
    loss: str = "cross_entropy",
    epochs: int,
    lr: float,
    batch: int = 1,
    engine: str = "tape",
    seed: int | None = 0,
    on_epoch: Callable[[int, float], None] | None = None,
) -> list[float]:
    """Train ``net`` on points ``X`` with targets ``y`` (0-based labels for cross-entropy, target
    vectors for squared error) by minibatch SGD; the mean loss of each epoch, in order.

    Each epoch's loss is the mean over its points of the loss met on the way (before each
    step). ``on_epoch(epoch, mean_loss)`` is called as each epoch ends (epochs count from 1).
    Raises `DivergedError` if the numbers leave the floats (the weights are then those of the
    last good step) or if the trained network's mean loss is above the untrained one's.
    """
    from microbp.tape import network_batch

    check_loss(loss)
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    check_count(epochs, "epochs")
    check_count(batch, "batch, the number of points per SGD step,")
    if not X:
        raise ValueError("no training points: X is empty")
    rows = network_batch(X, y, loss=loss, net=net)  # checks every point and target
    optimizer = SGD(net.parameters(), lr)
    optimizer.zero_grad()

    run = _engine(engine, net, X, y, loss, rows, optimizer)
    untrained_loss = run.mean_loss()
    rng = random.Random(seed)
    history: list[float] = []
    for epoch in range(1, epochs + 1):
        order = list(range(len(X)))
        rng.shuffle(order)
        total = 0.0
        for start in range(0, len(order), batch):
            indices = order[start : start + batch]
            try:
                total += run.step(indices)
            except (ArithmeticError, ValueError) as error:
                run.publish()
                optimizer.zero_grad()
                raise DivergedError(
                    f"training diverged in epoch {epoch} ({error}); try a smaller lr than {lr}"
                ) from error
        run.publish()
        history.append(total / len(order))
        if on_epoch is not None:
            on_epoch(epoch, history[-1])
    try:
        trained_loss = run.mean_loss()
    except (ArithmeticError, ValueError) as error:
        raise DivergedError(
            f"training diverged: the trained network's loss is not a number ({error}); "
            f"try a smaller lr than {lr}"
        ) from error
    if trained_loss > untrained_loss:
        raise DivergedError(
            f"training diverged: the mean loss over the points rose from {untrained_loss:.4g} "
            f"(untrained) to {trained_loss:.4g}; try a smaller lr than {lr}"
        )
    return history


def evaluate(net: MLP, X: Sequence[Sequence[float]], y: Sequence[int]) -> tuple[float, int]:
    """Mean cross-entropy over the points, and how many the network classifies right."""
    total, correct = 0.0, 0
    for x, label in zip(X, y):
        y_hat = net(x)
        total += cross_entropy(y_hat, label).data
        correct += max(range(len(y_hat)), key=lambda i: y_hat[i].data) == label
    return total / len(X), correct
