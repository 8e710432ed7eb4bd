"""Why `layer` is far from micrograd / microbp = 20×: microbp's step split into its phases,
beside the least work any engine that builds this graph from scalar Values must do.

    python benchmarks/layer_floor.py [--size 64] [--reps 300]

All in one process, the collector on as users run it and a full collection before each timing;
medians of rounds that time each item once. The floors run on microbp's own graph (the same
objects, so the same memory traffic):
"each edge once" only iterates over every node's (parent, local derivative) pairs; "the forward
arithmetic" computes Σ_i tanh(b_i + Σ_j W_ij h_j) from the Values' data, each read once, making
no node, the least a forward pass can do; "one multiply-add per edge" adds local · g into the
parent, the least a backward pass can do; "one grad per leaf" adds a finished derivative into
each leaf's grad.
"""

from __future__ import annotations

import argparse
import gc
import math
import statistics
import sys
import time
from collections.abc import Callable
from operator import mul

import workloads

import microbp
from microbp.engine import _walk


def interleaved_medians(
    timed: list[tuple[str, Callable[[], object], Callable[[], object]]], reps: int
) -> list[tuple[str, float]]:
    """The median seconds of each (what, run, before) over ``reps`` rounds, one timed run of each
    per round (after an untimed one), so that a machine slowing down or speeding up weighs on
    all of them alike."""
    times: list[list[float]] = [[] for _ in timed]
    for _ in range(reps):
        for (_, run, before), seconds in zip(timed, times):
            before()
            run()  # untimed: brings what the run touches back into the caches
            before()
            gc.collect()
            start = time.perf_counter()
            result = run()
            seconds.append(time.perf_counter() - start)
            del result
    return [(what, statistics.median(s)) for (what, _, _), s in zip(timed, times)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--reps", type=int, default=300)
    args = parser.parse_args(argv)
    n, reps = args.size, args.reps

    layer, h_data = workloads._layer_data(n)
    h_prev = [microbp.Value(v) for v in h_data]
    params = [*layer.parameters(), *h_prev]
    L = microbp.sum_values(layer(h_prev))
    leaves, interior = _walk(L)

    def each_edge_once() -> None:
        for node in interior:
            for _parent, _local in zip(node.parents, node.local_grads):
                pass

    def forward_arithmetic() -> float:
        h = [v.data for v in h_prev]
        a = [b.data + sum(map(mul, [w.data for w in row], h)) for b, row in zip(layer.b, layer.W)]
        return sum(map(math.tanh, a))

    def multiply_add_per_edge() -> None:
        for node in reversed(interior):
            g = node._pass_grad
            for parent, local in zip(node.parents, node.local_grads):
                parent._pass_grad += local * g

    def rest_pass_grads() -> None:
        for node in (*leaves, *interior):
            node._pass_grad = 0.0
        L._pass_grad = 1.0

    def one_grad_per_leaf() -> None:
        for leaf in leaves:
            leaf.grad += leaf._pass_grad
            leaf._pass_grad = 0.0

    def forward() -> microbp.Value:
        return microbp.sum_values(layer(h_prev))

    def zero_params() -> None:
        microbp.zero_grad(params)

    mg_step = workloads._layer_micrograd(n)
    bp_step = workloads._layer_microbp(n)
    rows = interleaved_medians(
        [
            ("microbp: one step", bp_step.run, bp_step.reset),
            ("  forward: the graph of Σ tanh(a)", forward, zero_params),
            ("  backward", L.backward, zero_params),
            ("    of which the walk", lambda: _walk(L), zero_params),
            ("floor: each edge once", each_edge_once, rest_pass_grads),
            ("floor: the forward arithmetic", forward_arithmetic, zero_params),
            ("floor: one multiply-add per edge", multiply_add_per_edge, rest_pass_grads),
            ("floor: one grad per leaf", one_grad_per_leaf, rest_pass_grads),
            ("micrograd: one step", mg_step.run, mg_step.reset),
        ],
        reps,
    )
    rest_pass_grads()
    L._pass_grad = 0.0
    seconds = dict(rows)
    edges = sum(len(node.parents) for node in interior)
    print(f"layer {n}: {len(interior)} nodes with parents, {len(leaves)} leaves, {edges} edges")
    print()
    print("| what | median | per edge |")
    print("| --- | --- | --- |")
    for what, s in rows:
        print(f"| {what} | {s * 1e6:.0f} µs | {s / edges * 1e9:.1f} ns |")
    floors = [s for what, s in rows if what.startswith("floor: ") and "each edge" not in what]
    micrograd = seconds["micrograd: one step"]
    print()
    print(f"micrograd / microbp: {micrograd / seconds['microbp: one step']:.1f}×")
    print(f"micrograd / (the sum of the last three floors): {micrograd / sum(floors):.1f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
