"""Networks on a tape: an `MLP`'s loss recorded so that its graph does not depend on the label."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain

import numpy as np

from microbp.engine import Value, sum_values
from microbp.nn import MLP, softmax_parts
from microbp.tape.replay import Tape, record
from microbp.validate import check_label, check_loss, check_target


def _shifted_logits(y_hat: Sequence[Value]) -> tuple[list[Value], Value] | None:
    """([s_1, …, s_n], Σ) when every ŷ_i is exp(s_i) / Σ with one Σ (a softmax), else None."""
    s, totals = [], []
    for y_hat_i in y_hat:
        parts = softmax_parts(y_hat_i)
        if parts is None:
            return None
        s.append(parts[0])
        totals.append(parts[1])
    if any(total is not totals[0] for total in totals):
        return None
    return s, totals[0]


def network_loss(
    net: MLP, loss: str, x: Sequence[float], target: Sequence[float]
) -> tuple[Value, list[Value]]:
    """The loss of ``net`` on one sample with the target as input leaves ``y[i]``, and the
    inputs ``x[j]`` then ``y[i]``: the same graph for every sample.

    ``squared_error``: L = Σ_i (ŷ_i − y_i)². ``cross_entropy`` with y the one-hot label e(ℓ):
    for a softmax output L = log Σ_j e^(a_j − m) − Σ_i y_i (a_i − m), which is −log ŷ_ℓ and
    stays finite where ŷ_ℓ underflows to 0 (``nn.cross_entropy``'s number, to rounding, with
    the same ∇a_L = ŷ − e(ℓ)); otherwise L = −Σ_i y_i log ŷ_i, which needs every ŷ_i > 0.
    """
    check_loss(loss)
    n_out = net.sizes[-1]
    x_values = [Value(x_j, f"x[{j}]") for j, x_j in enumerate(x, start=1)]
    y_values = [Value(t, f"y[{i}]") for i, t in enumerate(check_target(target, n_out), start=1)]
    y_hat = net(x_values)
    if loss == "squared_error":
        L = sum_values([(p - t) ** 2 for p, t in zip(y_hat, y_values)])
    elif (shifted := _shifted_logits(y_hat)) is not None:
        s, total = shifted
        L = total.log() - sum_values([t * s_i for s_i, t in zip(s, y_values)])
    else:
        L = -sum_values([t * p.log() for p, t in zip(y_hat, y_values)])
    L.name = "L"
    return L, x_values + y_values


def _target_row(loss: str, target: object, n_out: int) -> list[float]:
    if loss == "cross_entropy":
        row = [0.0] * n_out
        row[check_label(target, n_out)] = 1.0
        return row
    return check_target(target, n_out)


def record_network(net: MLP, loss: str, example: Sequence[float] | None = None) -> Tape:
    """Record ``net`` with ``loss`` (``cross_entropy`` or ``squared_error``) for batches made by
    `network_batch`; the graph is built on ``example`` (default zeros), which fixes nothing but
    the recorded graph's own numbers: every node is recomputed per sample in a replay."""
    check_loss(loss)
    x = [0.0] * net.sizes[0] if example is None else example
    n_out = net.sizes[-1]
    target = _target_row(loss, 0, n_out) if loss == "cross_entropy" else [0.0] * n_out
    L, inputs = network_loss(net, loss, x, target)
    return record(L, inputs, net.parameters())


def network_batch(
    X: Sequence[Sequence[float]], targets: Sequence[object], *, loss: str, net: MLP
) -> np.ndarray:
    """The batch for a `record_network` tape: row s is x_s then y_s (the target vector for
    squared error, the one-hot label for cross-entropy, whose targets are 0-based labels)."""
    check_loss(loss)
    if len(X) != len(targets):
        raise ValueError(f"need one target per sample, got {len(X)} samples and {len(targets)}")
    n_in, n_out = net.sizes[0], net.sizes[-1]
    rows = []
    for s, (x, target) in enumerate(zip(X, targets)):
        if len(x) != n_in:
            raise ValueError(f"sample {s} has {len(x)} inputs; the network takes {n_in}")
        rows.append(list(chain(x, _target_row(loss, target, n_out))))
    return np.array(rows, dtype=float).reshape(len(rows), n_in + n_out)
