"""What second derivatives cost on the mlp workload (2-16-16-1 tanh, squared error over n
samples): a step with ``backward(create_graph=True)`` and one `hvp`, each against a plain step
(forward + backward) measured in the same run, and how much the recorded reverse pass
multiplies the graph's size.

    python benchmarks/second_order.py [--samples 1 64] [--reps 7]

Each figure is the median of ``--reps`` timings with the collector on (and the ratio of the
fastest ones), after one untimed warm-up, the three steps interleaved so that the machine's
load falls on all of them alike. The timer is this process's CPU time (`time.process_time`):
on a shared machine a step of a few milliseconds is often descheduled midway, which the
wall clock counts and the CPU time does not.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import random
import statistics
import time
from collections.abc import Callable

import microbp
from microbp import nn
from microbp.engine import Value, derivatives, topological_order
from microbp.second_order import hvp

MLP_SIZES = [2, 16, 16, 1]


def mlp_loss(n_samples: int) -> Callable[[], tuple[Value, list[Value]]]:
    """The mlp workload's loss (`benchmarks/workloads.py`), rebuilt on each call."""
    rng = random.Random(1)
    X = [[rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0)] for _ in range(n_samples)]
    y = [math.sin(2.0 * x1) * math.cos(x2) for x1, x2 in X]
    net = nn.MLP(MLP_SIZES, hidden="tanh", output="linear", seed=0)
    params = net.parameters()

    def build() -> tuple[Value, list[Value]]:
        return microbp.sum_values([nn.squared_error(net(x), [t]) for x, t in zip(X, y)]), params

    return build


def seconds(run: Callable[[], object]) -> float:
    gc.collect()
    start = time.process_time()
    kept = run()
    elapsed = time.process_time() - start
    del kept
    return elapsed


def measure(n_samples: int, reps: int) -> dict[str, float]:
    build = mlp_loss(n_samples)
    L, params = build()
    v = [1.0] * len(params)

    def plain() -> object:
        L, _ = build()
        L.backward()
        return L

    def create_graph() -> object:
        L, _ = build()
        L.backward(create_graph=True)
        return L

    def one_hvp() -> object:
        L, _ = build()
        return hvp(L, params, v)

    steps = {"backward": plain, "create_graph": create_graph, "hvp": one_hvp}
    times: dict[str, list[float]] = {name: [] for name in steps}
    for run in steps.values():  # one untimed warm-up each
        run()
    for _ in range(reps):
        for name, run in steps.items():
            microbp.zero_grad(params)
            times[name].append(seconds(run))
    median = {name: statistics.median(t) for name, t in times.items()}
    fastest = {name: min(t) for name, t in times.items()}
    forward_nodes = len(topological_order(L))
    grads = derivatives(L, params, create_graph=True)
    recorded = len(topological_order(microbp.sum_values(grads)))
    return {
        "samples": n_samples,
        "forward_nodes": forward_nodes,
        "nodes_with_recorded_gradient": recorded,
        "size_ratio": recorded / forward_nodes,
        "backward_ms": 1e3 * median["backward"],
        "create_graph_ms": 1e3 * median["create_graph"],
        "hvp_ms": 1e3 * median["hvp"],
        "create_graph_over_backward": median["create_graph"] / median["backward"],
        "hvp_over_backward": median["hvp"] / median["backward"],
        "fastest_create_graph_over_backward": fastest["create_graph"] / fastest["backward"],
        "fastest_hvp_over_backward": fastest["hvp"] / fastest["backward"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--reps", type=int, default=7)
    args = parser.parse_args()
    print(json.dumps([measure(n, args.reps) for n in args.samples], indent=2))


if __name__ == "__main__":
    main()
