"""Measure one workload on one engine in this (fresh) process; print the figures as JSON.

`run.py` starts one worker per workload and engine, so each engine starts from the same empty
interpreter and the peak RSS belongs to that engine alone.
"""

from __future__ import annotations

import argparse
import json
import sys

from measure import GC_MODES, peak_rss_bytes, repeat, summary, traced_bytes
from workloads import ENGINES, WORKLOADS, Graph, Workload

# (min_reps, max_reps, budget in seconds) for each mode
REPETITIONS = {"full": (3, 7, 3.0), "quick": (1, 1, 0.0)}


def measure_size(workload: Workload, engine: str, size: int, mode: str) -> dict[str, object]:
    """Timings in both collector states and the fingerprint of one size, or the error it hit.

    ``times`` are the measured seconds; median, min and max are scaled by ``step.scale`` to the
    work the figure stands for (the same unless the step runs a part of it, see `Step`).
    """
    min_reps, max_reps, budget = REPETITIONS[mode]
    figures: dict[str, object] = {"size": size, "error": None}
    try:
        step = workload.prepare[engine](size)
        figures.update(scale=step.scale, note=step.note)
        for gc_mode in GC_MODES:
            times, fingerprint = repeat(
                step, gc_mode, min_reps=min_reps, max_reps=max_reps, budget=budget
            )
            figures[gc_mode] = {**summary([t * step.scale for t in times]), "times": times}
        figures["fingerprint"] = fingerprint
    except RecursionError as error:
        figures["error"] = f"RecursionError: {error}"
    return figures


def measure_memory(workload: Workload, engine: str, size: int) -> dict[str, float]:
    """Bytes per graph node once built and after its backward pass (tracemalloc)."""
    assert workload.graph is not None
    nodes: list[int] = []

    def build() -> Graph:
        graph = workload.graph[engine](size)  # type: ignore[index]
        nodes.append(graph.nodes)
        return graph

    built, after_backward = traced_bytes(build, lambda graph: graph.root.backward())
    (n,) = nodes
    return {
        "nodes": n,
        "bytes_per_node": built / n,
        "bytes_per_node_after_backward": after_backward / n,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("workload", choices=sorted(WORKLOADS))
    parser.add_argument("engine", choices=ENGINES)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    workload = WORKLOADS[args.workload]
    if args.engine not in workload.engines:
        parser.error(f"{workload.name} runs on {', '.join(workload.engines)}, not {args.engine}")
    mode = "quick" if args.quick else "full"
    start_rss = peak_rss_bytes()
    results = []
    for size in workload.quick_sizes if args.quick else workload.sizes:
        figures = measure_size(workload, args.engine, size, mode)
        results.append(figures)
        if figures["error"]:
            break  # a larger size fails the same way
    report: dict[str, object] = {
        "workload": workload.name,
        "engine": args.engine,
        "sizes": results,
        "rss_at_start": start_rss,
        "peak_rss": peak_rss_bytes(),  # before tracemalloc, whose own records would count
    }
    if workload.graph is not None and not results[-1]["error"]:
        report["memory"] = measure_memory(workload, args.engine, int(results[-1]["size"]))  # type: ignore[call-overload]
    json.dump(report, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
