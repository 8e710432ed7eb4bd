"""The workloads, each written for both engines side by side, doing identical work.

``prepare(size)`` builds what a step needs (parameters, inputs) outside the timer and returns a
`measure.Step`: the timed part is forward and backward; zeroing grads and freeing the graph are
not. The two engines' fingerprints (loss and gradients) must agree, so the benchmark can never
compare different work.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import micrograd_adapter as mg
import numpy as np
from measure import Step
from micrograd.engine import Value as MgValue

import microbp
from microbp import formulas, nn


@dataclass(frozen=True)
class Graph:
    """A built, not yet differentiated graph (its root) and its number of nodes."""

    root: object
    nodes: int


@dataclass(frozen=True)
class Workload:
    name: str
    what: str
    sizes: tuple[int, ...]
    quick_sizes: tuple[int, ...]
    prepare: dict[str, Callable[[int], Step]]
    graph: dict[str, Callable[[int], Graph]] | None = None  # for the memory figures


ENGINES = ("microbp", "micrograd")


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


# ---- mlp: a 2-16-16-1 tanh network, squared error summed over fixed samples ----

MLP_SIZES = [2, 16, 16, 1]


def _mlp_data(n_samples: int) -> tuple[nn.MLP, list[list[float]], list[float]]:
    rng = random.Random(1)
    X = [[rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0)] for _ in range(n_samples)]
    y = [math.sin(2.0 * x1) * math.cos(x2) for x1, x2 in X]
    net = nn.MLP(MLP_SIZES, hidden="tanh", output="linear", seed=0)
    return net, X, y


def _mlp_microbp(n_samples: int) -> Step:
    net, X, y = _mlp_data(n_samples)
    params = net.parameters()

    def run() -> object:
        L = microbp.sum_values([nn.squared_error(net(x), [t]) for x, t in zip(X, y)])
        L.backward()
        return L

    return Step(lambda: microbp.zero_grad(params), run, lambda L: [L.data, *_grads(params)])


def _mlp_micrograd(n_samples: int) -> Step:
    net, X, y = _mlp_data(n_samples)
    layers = _copy_to_micrograd(net.layers)
    params = _params(layers)

    def forward(x: list[float]) -> list[MgValue]:
        h = [MgValue(x_j) for x_j in x]
        for k, (W, b) in enumerate(layers, start=1):
            a = mg.dense(W, b, h)
            h = a if k == len(layers) else [mg.tanh(a_i) for a_i in a]
        return h

    def run() -> object:
        L = sum(sum((p - t) ** 2 for p, t in zip(forward(x), [target])) for x, target in zip(X, y))
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


def _layer_microbp(n: int) -> Step:
    layer, h_data = _layer_data(n)
    h_prev = [microbp.Value(v, f"h0[{j}]") for j, v in enumerate(h_data, start=1)]
    params = [*layer.parameters(), *h_prev]

    def run() -> microbp.Value:
        L = microbp.sum_values(layer(h_prev))
        L.backward()
        return L

    return Step(lambda: microbp.zero_grad(params), run, lambda L: [L.data, *_grads(params)])


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

    def run() -> formulas.Comparison:
        return formulas.compare(net, EXPLAIN_X, EXPLAIN_LABEL)  # zeroes the grads first

    def fingerprint(report: formulas.Comparison) -> list[float]:
        return [float(report.ok), *_grads(params)]

    return Step(lambda: None, run, fingerprint)


def _explain_micrograd(_: int) -> Step:
    net = _explain_net()
    layers = _copy_to_micrograd(net.layers)
    activations = [layer.activation for layer in net.layers]
    params = _params(layers)

    def run() -> formulas.Comparison:
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
        return formulas.compare_gradients(
            engine, formulas.backward(network, EXPLAIN_X, EXPLAIN_LABEL)
        )

    def fingerprint(report: formulas.Comparison) -> list[float]:
        return [float(report.ok), *_grads(params)]

    return Step(lambda: None, run, fingerprint)


WORKLOADS = {
    w.name: w
    for w in [
        Workload(
            "mlp",
            "2-16-16-1 tanh MLP, squared error summed over n samples: forward + backward",
            (64,),
            (8,),
            {"microbp": _mlp_microbp, "micrograd": _mlp_micrograd},
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
    ]
}
