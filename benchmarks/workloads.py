"""The workloads, each written for every engine it runs on, side by side, doing identical work.

The engines: ``microbp`` (the scalar engine, through `microbp.nn` as users write it),
``microbp-tape`` (the same network's graph recorded once with `microbp.tape` and replayed over the
whole batch in numpy), ``micrograd`` (0.1.0, used its way), and for `train_batch` the same work
written by hand (`by_hand`): ``numpy`` (the notes' batched matrix formulas) and ``torch``
(PyTorch, float64, one CPU thread; only where it is installed). A workload declares the engines
it has by the keys of its ``prepare``.

``prepare(size)`` builds what a step needs (parameters, inputs, a recorded tape) outside the timer
and returns a `measure.Step`: the timed part is forward and backward (for `train`, the whole
training run); zeroing grads and freeing the graph are not. The engines' fingerprints (loss and
gradients, or trained weights) must agree, so the benchmark can never compare different work.
"""

from __future__ import annotations

import importlib.util
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import by_hand
import micrograd_adapter as mg
import numpy as np
from measure import Step
from micrograd.engine import Value as MgValue

import microbp
from microbp import comparison, datasets, formulas, nn, tape, training


@dataclass(frozen=True)
class Graph:
    """A built, not yet differentiated graph (its root) and its number of nodes."""

    root: Any  # a microbp or micrograd Value: anything with backward()
    nodes: int


@dataclass(frozen=True)
class Workload:
    name: str
    what: str
    sizes: tuple[int, ...]
    quick_sizes: tuple[int, ...]
    prepare: dict[str, Callable[[int], Step]]  # engine → its step; the engines it runs on
    graph: dict[str, Callable[[int], Graph]] | None = None  # for the memory figures

    def __post_init__(self) -> None:
        unknown = set(self.prepare) - set(ENGINES)
        if unknown:
            raise ValueError(f"{self.name}: unknown engines {sorted(unknown)}; known: {ENGINES}")

    @property
    def engines(self) -> tuple[str, ...]:
        """The engines this workload runs on, in the order of `ENGINES`."""
        return tuple(e for e in ENGINES if e in self.prepare)


ENGINES = ("microbp", "microbp-tape", "micrograd", "numpy", "torch")


def _grads(values: Sequence[object]) -> list[float]:
    return [float(v.grad) for v in values]  # type: ignore[attr-defined]


def _copy_to_micrograd(layers: Sequence[nn.Layer]) -> list[tuple[list[list[MgValue]], list]]:
    """micrograd Values holding the same numbers as each microbp layer's W and b."""
    return [
        ([[MgValue(w.data) for w in row] for row in layer.W], [MgValue(b.data) for b in layer.b])
        for layer in layers
    ]


def _params(mg_layers: Sequence[tuple[list[list[MgValue]], list[MgValue]]]) -> list[MgValue]:
    return [p for W, b in mg_layers for p in [*(w for row in W for w in row), *b]]


def _mg_forward(
    layers: Sequence[tuple[list[list[MgValue]], list[MgValue]]], x: Sequence[float], output: str
) -> list[MgValue]:
    """A tanh network's forward pass in micrograd; the output layer ``linear`` or ``softmax``."""
    h = [MgValue(x_j) for x_j in x]
    for k, (W, b) in enumerate(layers, start=1):
        a = mg.dense(W, b, h)
        if k < len(layers):
            h = [mg.tanh(a_i) for a_i in a]
        else:
            h = mg.softmax(a) if output == "softmax" else a
    return h


def _forward_and_backward(
    forward: Callable[[], microbp.Value], params: list[microbp.Value]
) -> Step:
    """The microbp step: ``forward()`` builds the loss, then its backward pass."""

    def run() -> microbp.Value:
        L = forward()
        L.backward()
        return L

    return Step(lambda: microbp.zero_grad(params), run, lambda L: [L.data, *_grads(params)])


# ---- mlp: a 2-16-16-1 tanh network, squared error summed over fixed samples ----

MLP_SIZES = [2, 16, 16, 1]


def _mlp_data(n_samples: int) -> tuple[nn.MLP, list[list[float]], list[float]]:
    rng = random.Random(1)
    X = [[rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0)] for _ in range(n_samples)]
    y = [math.sin(2.0 * x1) * math.cos(x2) for x1, x2 in X]
    net = nn.MLP(MLP_SIZES, hidden="tanh", output="linear", seed=0)
    return net, X, y


def _mlp_loss(n_samples: int) -> tuple[Callable[[], microbp.Value], list[microbp.Value]]:
    """The forward pass of the microbp step (building the loss's graph), and its parameters."""
    net, X, y = _mlp_data(n_samples)
    return lambda: microbp.sum_values([nn.squared_error(net(x), [t]) for x, t in zip(X, y)]), (
        net.parameters()
    )


def _mlp_microbp(n_samples: int) -> Step:
    return _forward_and_backward(*_mlp_loss(n_samples))


def _mlp_tape(n_samples: int) -> Step:
    """The same loss replayed from a tape: recording it and building the batch array (x and
    target per row) happen here, outside the timer; the step times the replay alone."""
    net, X, y = _mlp_data(n_samples)
    params = net.parameters()
    recorded = tape.record_network(net, "squared_error")
    batch = tape.network_batch(X, [[t] for t in y], loss="squared_error", net=net)

    def run() -> float:
        return float(recorded.run(batch).sum())  # Σ over samples; grads summed into .grad

    return Step(lambda: microbp.zero_grad(params), run, lambda L: [L, *_grads(params)])


def _mlp_micrograd(n_samples: int) -> Step:
    net, X, y = _mlp_data(n_samples)
    layers = _copy_to_micrograd(net.layers)
    params = _params(layers)

    def run() -> object:
        L: Any = sum(
            sum((p - t) ** 2 for p, t in zip(_mg_forward(layers, x, "linear"), [target]))
            for x, target in zip(X, y)
        )
        L.backward()
        return L

    return Step(lambda: mg.zero_grad(params), run, lambda L: [L.data, *_grads(params)])


# ---- chain: x → x·1.0001 + 0.1, D times ----


def _chain_microbp(depth: int) -> Step:
    x = microbp.Value(0.5, "x")

    def run() -> microbp.Value:
        y = x
        for _ in range(depth):
            y = y * 1.0001 + 0.1
        y.backward()
        return y

    return Step(lambda: microbp.zero_grad([x]), run, lambda y: [y.data, x.grad])


def _chain_micrograd(depth: int) -> Step:
    x = MgValue(0.5)

    def run() -> MgValue:
        y = x
        for _ in range(depth):
            y = y * 1.0001 + 0.1
        y.backward()
        return y

    return Step(lambda: mg.zero_grad([x]), run, lambda y: [y.data, float(x.grad)])


# ---- wide: Σ_i a_i·b_i over n terms ----


def _wide_numbers(n: int) -> tuple[list[float], list[float]]:
    rng = random.Random(2)
    return [rng.uniform(-1.0, 1.0) for _ in range(n)], [rng.uniform(-1.0, 1.0) for _ in range(n)]


def _wide_microbp(n: int) -> tuple[microbp.Value, list[microbp.Value]]:
    a_data, b_data = _wide_numbers(n)
    a = [microbp.Value(v) for v in a_data]
    b = [microbp.Value(v) for v in b_data]
    return microbp.sum_values([a_i * b_i for a_i, b_i in zip(a, b)]), a


def _wide_micrograd(n: int) -> tuple[MgValue, list[MgValue]]:
    a_data, b_data = _wide_numbers(n)
    a = [MgValue(v) for v in a_data]
    b = [MgValue(v) for v in b_data]
    return mg.balanced_sum([a_i * b_i for a_i, b_i in zip(a, b)]), a


def _wide_step(build: Callable[[int], tuple[Any, list[Any]]]) -> Callable[[int], Step]:
    def prepare(n: int) -> Step:
        def run() -> tuple[Any, list[Any]]:
            root, a = build(n)
            root.backward()
            return root, a

        def fingerprint(result: tuple[Any, list[Any]]) -> list[float]:
            root, a = result
            return [root.data, *_grads(a[:5])]  # ∂Σ/∂a_i = b_i

        return Step(lambda: None, run, fingerprint)  # a fresh graph each time: nothing to zero

    return prepare


def _wide_graph_microbp(n: int) -> Graph:
    root, _ = _wide_microbp(n)
    return Graph(root, len(microbp.topological_order(root)))


def _wide_graph_micrograd(n: int) -> Graph:
    root, _ = _wide_micrograd(n)
    return Graph(root, mg.graph_size(root))


# ---- layer: one n×n dense layer a = b + W h, backward of Σ tanh(a) ----


def _layer_data(n: int) -> tuple[nn.Layer, list[float]]:
    layer = nn.Layer(n, n, "tanh", rng=random.Random(3))
    rng = random.Random(4)
    return layer, [rng.uniform(-1.0, 1.0) for _ in range(n)]


def _layer_loss(n: int) -> tuple[Callable[[], microbp.Value], list[microbp.Value]]:
    """The forward pass of the microbp step (building the loss's graph), and what it reads."""
    layer, h_data = _layer_data(n)
    h_prev = [microbp.Value(v, f"h0[{j}]") for j, v in enumerate(h_data, start=1)]
    return lambda: microbp.sum_values(layer(h_prev)), [*layer.parameters(), *h_prev]


def _layer_microbp(n: int) -> Step:
    return _forward_and_backward(*_layer_loss(n))


def _layer_micrograd(n: int) -> Step:
    layer, h_data = _layer_data(n)
    ((W, b),) = _copy_to_micrograd([layer])
    h_prev = [MgValue(v) for v in h_data]
    params = [*_params([(W, b)]), *h_prev]

    def run() -> MgValue:
        L = sum(mg.tanh(a_i) for a_i in mg.dense(W, b, h_prev))
        L.backward()
        return L

    return Step(lambda: mg.zero_grad(params), run, lambda L: [L.data, *_grads(params)])


# ---- explain: forward, backward and the formulas' comparison, the notes' 3-3-3-2 network ----

EXPLAIN_SIZES = [3, 3, 3, 2]
EXPLAIN_X = [0.5, -1.0, 2.0]
EXPLAIN_LABEL = 1


def _explain_net() -> nn.MLP:
    return nn.MLP(EXPLAIN_SIZES, seed=0)  # the notes' defaults: sigmoid hidden, softmax output


def _explain_microbp(_: int) -> Step:
    net = _explain_net()
    params = net.parameters()

    def run() -> comparison.Comparison:
        return comparison.compare(net, EXPLAIN_X, EXPLAIN_LABEL)  # zeroes the grads first

    def fingerprint(report: comparison.Comparison) -> list[float]:
        return [float(report.ok), *_grads(params)]

    return Step(lambda: None, run, fingerprint)


def _explain_micrograd(_: int) -> Step:
    net = _explain_net()
    layers = _copy_to_micrograd(net.layers)
    activations = [layer.activation for layer in net.layers]
    params = _params(layers)

    def run() -> comparison.Comparison:
        mg.zero_grad(params)  # as compare does on the microbp side
        h = [MgValue(x_j) for x_j in EXPLAIN_X]
        x = h
        computed = []
        for (W, b), activation in zip(layers, activations):
            a = mg.dense(W, b, h)
            h = mg.softmax(a) if activation == "softmax" else [mg.sigmoid(v) for v in a]
            computed.append((a, h, W, b))
        L = -mg.log(h[EXPLAIN_LABEL])
        L.backward()
        engine = formulas.Gradients(
            [
                formulas.LayerGradients(
                    k,
                    np.array(_grads(a)),
                    np.array(_grads(h)),
                    np.array([_grads(row) for row in W]),
                    np.array(_grads(b)),
                )
                for k, (a, h, W, b) in enumerate(computed, start=1)
            ],
            np.array(_grads(x)),
        )
        network = formulas.Network.from_arrays(
            [[[w.data for w in row] for row in W] for W, _ in layers],
            [[v.data for v in b] for _, b in layers],
            activations,
        )
        return comparison.compare_gradients(
            engine, formulas.gradients(network, EXPLAIN_X, EXPLAIN_LABEL)
        )

    def fingerprint(report: comparison.Comparison) -> list[float]:
        return [float(report.ok), *_grads(params)]

    return Step(lambda: None, run, fingerprint)


# ---- train: 2-16-16-2 on two moons, minibatch SGD; the figure is for TRAIN_EPOCHS[points] ----

TRAIN_SIZES = [2, 16, 16, 2]
TRAIN_LR, TRAIN_BATCH, TRAIN_SEED = 0.1, 32, 0
TRAIN_EPOCHS = {1000: 100, 50: 1}  # points → the epochs a figure stands for
SCALED_EPOCHS = {"microbp": 2, "micrograd": 2}  # too slow for them all: this many, scaled up


def _train_data(points: int) -> tuple[nn.MLP, list[list[float]], list[int]]:
    X, y = datasets.make_moons(points, seed=0)
    return nn.MLP(TRAIN_SIZES, hidden="tanh", output="softmax", seed=0), X, y


def _timed_training(
    engine: str,
    epochs: int,
    weights: Callable[[], list[float]],
    restore: Callable[[], None],
    train_for: Callable[[int], list[float]],
) -> Step:
    """Time ``train_for(epochs)`` from the initial weights (``restore`` goes back to them).

    The fingerprint is the loss history and the ``weights()`` after the fewest epochs any
    engine runs, so all engines can be compared; an engine that timed more epochs trains that
    many again, untimed, for it.
    """
    timed = min(epochs, SCALED_EPOCHS.get(engine, epochs))
    checked = min(epochs, *SCALED_EPOCHS.values())

    def fingerprint(history: list[float]) -> list[float]:
        if timed != checked:
            restore()
            history = train_for(checked)
        return [*history, *weights()]

    scale, rest = divmod(epochs, timed)
    if rest:
        raise ValueError(f"{epochs} epochs are not a whole number of {timed}-epoch runs")
    note = f"{timed} epoch{'s' * (timed > 1)} ×{scale}" if scale > 1 else None
    return Step(restore, lambda: train_for(timed), fingerprint, scale=scale, note=note)


def _train_step(
    engine: str, points: int, params: Sequence[Any], train_for: Callable[[int], list[float]]
) -> Step:
    """`_timed_training` of ``params``' network for TRAIN_EPOCHS[points] epochs."""
    if points not in TRAIN_EPOCHS:
        raise ValueError(f"train is sized for {sorted(TRAIN_EPOCHS)} points, not {points}")
    initial = [p.data for p in params]

    def restore() -> None:
        for p, data in zip(params, initial):
            p.data, p.grad = data, 0.0

    def weights() -> list[float]:
        return [float(p.data) for p in params]

    return _timed_training(engine, TRAIN_EPOCHS[points], weights, restore, train_for)


def _train_microbp(engine: str) -> Callable[[int], Step]:
    """`microbp.training.train` on ``engine`` ("tape" records the graph inside, timed)."""

    def prepare(points: int) -> Step:
        net, X, y = _train_data(points)

        def train_for(epochs: int) -> list[float]:
            return training.train(
                net,
                X,
                y,
                epochs=epochs,
                lr=TRAIN_LR,
                batch=TRAIN_BATCH,
                engine=engine,
                seed=TRAIN_SEED,
            )

        name = "microbp-tape" if engine == "tape" else "microbp"
        return _train_step(name, points, net.parameters(), train_for)

    return prepare


def _train_micrograd(points: int) -> Step:
    """The same loop written micrograd's way: per point −log ŷ_label and its backward, the
    grads accumulating over the minibatch, then p.data −= lr · p.grad / |B| and grads to 0."""
    net, X, y = _train_data(points)
    layers = _copy_to_micrograd(net.layers)
    params = _params(layers)

    def train_for(epochs: int) -> list[float]:
        rng = random.Random(TRAIN_SEED)  # shuffled exactly as training.train shuffles
        history = []
        for _ in range(epochs):
            order = list(range(len(X)))
            rng.shuffle(order)
            total = 0.0
            for start in range(0, len(order), TRAIN_BATCH):
                minibatch = order[start : start + TRAIN_BATCH]
                for i in minibatch:
                    L = -mg.log(_mg_forward(layers, X[i], "softmax")[y[i]])
                    L.backward()
                    total += L.data
                for p in params:
                    p.data -= TRAIN_LR * p.grad / len(minibatch)
                    p.grad = 0
            history.append(total / len(order))
        return history

    return _train_step("micrograd", points, params, train_for)


# ---- train_batch: the train work at a batch size, the tape beside it written by hand ----

#: batch → (points, epochs) a figure stands for; 10 is the quick check's, on 50 points
BATCH_RUNS = {16: (1000, 100), 1000: (1000, 100), 10: (50, 1)}


def _train_batch_microbp(engine: str) -> Callable[[int], Step]:
    """`microbp.training.train` at batch ``batch`` on ``engine`` (recording timed, as in train)."""

    def prepare(batch: int) -> Step:
        points, epochs = BATCH_RUNS[batch]
        net, X, y = _train_data(points)
        params = net.parameters()
        initial = [p.data for p in params]

        def restore() -> None:
            for p, data in zip(params, initial):
                p.data, p.grad = data, 0.0

        def train_for(n_epochs: int) -> list[float]:
            return training.train(
                net, X, y, epochs=n_epochs, lr=TRAIN_LR, batch=batch, engine=engine, seed=TRAIN_SEED
            )

        name = "microbp-tape" if engine == "tape" else "microbp"
        return _timed_training(name, epochs, lambda: [p.data for p in params], restore, train_for)

    return prepare


def _train_batch_by_hand(engine: str) -> Callable[[int], Step]:
    """The same training written by hand (`by_hand`): ``numpy`` or ``torch``."""

    def prepare(batch: int) -> Step:
        points, epochs = BATCH_RUNS[batch]
        net, X, y = _train_data(points)
        W = [np.array([[w.data for w in row] for row in layer.W]) for layer in net.layers]
        b = [np.array([v.data for v in layer.b]) for layer in net.layers]
        trainer = (by_hand.NumpyTrainer if engine == "numpy" else by_hand.TorchTrainer)(W, b)
        inputs, labels = np.array(X), np.array(y)

        def train_for(n_epochs: int) -> list[float]:
            return trainer.train(inputs, labels, n_epochs, TRAIN_LR, batch, TRAIN_SEED)

        return _timed_training(engine, epochs, trainer.weights, trainer.reset, train_for)

    return prepare


def _torch_installed() -> bool:
    return importlib.util.find_spec("torch") is not None


WORKLOADS = {
    w.name: w
    for w in [
        Workload(
            "mlp",
            "2-16-16-1 tanh MLP, squared error summed over n samples: forward + backward",
            (1, 64),  # 1: one sample, where the tape's fixed cost per replay shows
            (1, 8),
            {"microbp": _mlp_microbp, "microbp-tape": _mlp_tape, "micrograd": _mlp_micrograd},
        ),
        Workload(
            "chain",
            "x → x·1.0001 + 0.1 repeated D times, then backward",
            (10**2, 10**3, 10**4, 10**5, 10**6),
            (10**2, 10**3),
            {"microbp": _chain_microbp, "micrograd": _chain_micrograd},
        ),
        Workload(
            "wide",
            "Σ_i a_i·b_i over n terms (micrograd: a balanced tree of +), then backward",
            (10**6,),
            (10**3,),
            {"microbp": _wide_step(_wide_microbp), "micrograd": _wide_step(_wide_micrograd)},
            {"microbp": _wide_graph_microbp, "micrograd": _wide_graph_micrograd},
        ),
        Workload(
            "layer",
            "one n×n dense layer a = b + W h from scalars, backward of Σ tanh(a)",
            (64,),
            (8,),
            {"microbp": _layer_microbp, "micrograd": _layer_micrograd},
        ),
        Workload(
            "explain",
            "the notes' 3-3-3-2 network: forward, backward, and the comparison with the formulas",
            (1,),
            (1,),
            {"microbp": _explain_microbp, "micrograd": _explain_micrograd},
        ),
        Workload(
            "train",
            f"2-16-16-2 (tanh, softmax + cross-entropy) on n two-moons points: "
            f"{TRAIN_EPOCHS[1000]} epochs of SGD, batch {TRAIN_BATCH}, lr {TRAIN_LR} "
            f"(quick: {TRAIN_EPOCHS[50]} epoch)",
            (1000,),
            (50,),
            {
                "microbp": _train_microbp("scalar"),
                "microbp-tape": _train_microbp("tape"),
                "micrograd": _train_micrograd,
            },
        ),
        Workload(
            "train_batch",
            f"the train work (2-16-16-2, tanh, softmax + cross-entropy, 1,000 two-moons points, "
            f"{BATCH_RUNS[16][1]} epochs of SGD, lr {TRAIN_LR}) at batch n; PyTorch where "
            f"installed (quick: 50 points, 1 epoch)",
            (16, 1000),
            (10,),
            {
                "microbp": _train_batch_microbp("scalar"),
                "microbp-tape": _train_batch_microbp("tape"),
                "numpy": _train_batch_by_hand("numpy"),
                **({"torch": _train_batch_by_hand("torch")} if _torch_installed() else {}),
            },
        ),
    ]
}

#: The microbp step of a workload as its forward pass (which builds the loss) and the parameters
#: it reads: `instructions.py` counts the backward pass alone on the graph it builds.
LOSSES: dict[str, Callable[[int], tuple[Callable[[], microbp.Value], list[microbp.Value]]]] = {
    "mlp": _mlp_loss,
    "layer": _layer_loss,
}
