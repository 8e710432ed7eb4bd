"""Why `layer` is far from micrograd / microbp = 20×: microbp's step split into its phases,
beside floors, the least work an engine that builds this graph from scalar Values must do.

    python benchmarks/layer_floor.py [--size 64] [--reps 300]

microbp's items run in this process, interleaved round by round (each timed once per round,
after an untimed run), so that a machine's drift weighs on all of them alike; micrograd's step
runs in a fresh process of its own before and after them, because its large graphs in this
process would slow the small items down. The collector is on as users run it, with a full
collection before each timing; medians.

The floors run on microbp's own graph (the same objects, so the same memory traffic): "each
edge once" only iterates over every node's (parent, local derivative) pairs; "the forward
arithmetic" computes Σ_i tanh(b_i + Σ_j W_ij h_j) from the Values' data, each read once,
making no node; "one multiply-add per edge" adds local · g into a per-pass accumulator of the
parent and "one grad per leaf" then adds each leaf's into its grad, the least a backward pass
can do that sums each pass apart (as a second call doubling every grad exactly needs); "one
multiply-add per edge into .grad" adds straight into the grads, as micrograd does.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from operator import mul

import workloads

import microbp


def interleaved_times(
    timed: list[tuple[Callable[[], object], Callable[[], object]]], reps: int
) -> list[list[float]]:
    """The seconds of each (run, before) over ``reps`` rounds, one timed run of each per round
    (after an untimed one, which brings what it touches back into the caches)."""
    times: list[list[float]] = [[] for _ in timed]
    for _ in range(reps):
        for (run, before), seconds in zip(timed, times):
            before()
            run()
            before()
            gc.collect()
            start = time.perf_counter()
            result = run()
            seconds.append(time.perf_counter() - start)
            del result
    return times


def micrograd_step_times(n: int, reps: int) -> list[float]:
    """Seconds of micrograd's step, ``reps`` times, in a fresh process."""
    done = subprocess.run(
        [sys.executable, __file__, "--size", str(n), "--reps", str(reps), "--micrograd"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--reps", type=int, default=300)
    parser.add_argument("--micrograd", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    n, reps = args.size, args.reps
    if args.micrograd:  # the fresh process micrograd_step_times starts
        step = workloads._layer_micrograd(n)
        (times,) = interleaved_times([(step.run, step.reset)], reps)
        print(json.dumps(times))
        return 0

    layer, h_data = workloads._layer_data(n)
    h_prev = [microbp.Value(v) for v in h_data]
    params = [*layer.parameters(), *h_prev]
    L = microbp.sum_values(layer(h_prev))
    order = microbp.topological_order(L)
    leaves = [v for v in order if not v.parents]
    interior = [v for v in order if v.parents]

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
            g = node.pass_grad
            for parent, local in zip(node.parents, node.local_grads):
                parent.pass_grad += local * g

    def one_grad_per_leaf() -> None:
        for leaf in leaves:
            leaf.grad += leaf.pass_grad
            leaf.pass_grad = 0.0

    def multiply_add_into_grad() -> None:
        for node in reversed(interior):
            g = node.grad
            for parent, local in zip(node.parents, node.local_grads):
                parent.grad += local * g

    def rest_pass_grads() -> None:
        for node in (*leaves, *interior):
            node.pass_grad = 0.0
        L.pass_grad = 1.0

    def zero_grads() -> None:
        for node in (*leaves, *interior):
            node.grad = 0.0
        L.grad = 1.0

    def forward() -> microbp.Value:
        return microbp.sum_values(layer(h_prev))

    def zero_params() -> None:
        microbp.zero_grad(params)

    bp_step = workloads._layer_microbp(n)
    items = [
        ("microbp: one step", bp_step.run, bp_step.reset),
        ("  forward: the graph of Σ tanh(a)", forward, zero_params),
        ("  backward", L.backward, zero_params),
        (
            "    of which the walk (topological_order)",
            lambda: microbp.topological_order(L),
            zero_params,
        ),
        ("floor: each edge once", each_edge_once, rest_pass_grads),
        ("floor: the forward arithmetic", forward_arithmetic, zero_params),
        ("floor: one multiply-add per edge", multiply_add_per_edge, rest_pass_grads),
        ("floor: one grad per leaf", one_grad_per_leaf, rest_pass_grads),
        ("floor: one multiply-add per edge into .grad", multiply_add_into_grad, zero_grads),
    ]
    micrograd_times = micrograd_step_times(n, reps // 2)
    item_times = interleaved_times([(run, before) for _, run, before in items], reps)
    micrograd_times += micrograd_step_times(n, reps // 2)
    rest_pass_grads()
    zero_grads()
    L.pass_grad, L.grad = 0.0, 0.0
    rows = [(what, statistics.median(t)) for (what, _, _), t in zip(items, item_times)]
    rows.append(("micrograd: one step (own process)", statistics.median(micrograd_times)))

    seconds = dict(rows)
    edges = sum(len(node.parents) for node in interior)
    print(f"layer {n}: {len(interior)} nodes with parents, {len(leaves)} leaves, {edges} edges")
    print()
    print("| what | median | per edge |")
    print("| --- | --- | --- |")
    for what, s in rows:
        print(f"| {what} | {s * 1e6:.0f} µs | {s / edges * 1e9:.1f} ns |")
    micrograd = seconds["micrograd: one step (own process)"]
    arithmetic = seconds["floor: the forward arithmetic"]
    summed_apart = seconds["floor: one multiply-add per edge"] + seconds["floor: one grad per leaf"]
    into_grad = seconds["floor: one multiply-add per edge into .grad"]
    print()
    print(f"micrograd / microbp: {micrograd / seconds['microbp: one step']:.1f}×")
    bounds = {
        "each pass summed apart (forward arithmetic + multiply-adds + grad per leaf)": summed_apart,
        "adding into .grad (forward arithmetic + multiply-adds into .grad)": into_grad,
    }
    for how, backward_floor in bounds.items():
        print(f"micrograd / floors, {how}: {micrograd / (arithmetic + backward_floor):.1f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
