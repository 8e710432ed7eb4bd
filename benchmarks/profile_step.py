"""Where one step of a workload spends its time: cProfile's top functions, and the GC's share.

    python benchmarks/profile_step.py WORKLOAD [--engine microbp] [--size N] [--top 15]

Two views, because they disagree in a telling way: cProfile charges a garbage collection to
whatever function happened to allocate when it triggered, so the second view times the
collector itself (``gc.callbacks``) in one unprofiled run with the collector on.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import sys
import time

from workloads import ENGINES, WORKLOADS


def collector_time(run: object) -> tuple[float, float, dict[int, tuple[int, float]]]:
    """Seconds of one run, seconds inside the collector, and (count, seconds) per generation."""
    per_generation: dict[int, tuple[int, float]] = {}
    started: list[float] = []

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started.append(time.perf_counter())
        else:
            n, seconds = per_generation.get(info["generation"], (0, 0.0))
            per_generation[info["generation"]] = (
                n + 1,
                seconds + time.perf_counter() - started.pop(),
            )

    gc.collect()
    gc.callbacks.append(on_gc)
    try:
        start = time.perf_counter()
        result = run()  # type: ignore[operator]
        total = time.perf_counter() - start
    finally:
        gc.callbacks.remove(on_gc)
    del result
    return total, sum(s for _, s in per_generation.values()), per_generation


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workload", choices=list(WORKLOADS))
    parser.add_argument("--engine", choices=ENGINES, default="microbp")
    parser.add_argument("--size", type=int, help="default: the workload's full size")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args(argv)
    workload = WORKLOADS[args.workload]
    if args.engine not in workload.engines:
        parser.error(f"{workload.name} runs on {', '.join(workload.engines)}, not {args.engine}")
    size = args.size or workload.sizes[-1]
    step = workload.prepare[args.engine](size)

    step.reset()
    total, in_gc, per_generation = collector_time(step.run)
    print(f"{args.workload} ({args.engine}, size {size}): {total * 1e3:.1f} ms, of which the")
    print(f"garbage collector {in_gc * 1e3:.1f} ms ({in_gc / total:.0%}):")
    for generation, (n, seconds) in sorted(per_generation.items()):
        print(f"  generation {generation}: {n} collections, {seconds * 1e3:.1f} ms")

    step.reset()
    gc.collect()
    profiler = cProfile.Profile()
    result = profiler.runcall(step.run)
    del result
    print()
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
