"""Wall-clock time per step of microbp's workloads for two source trees, in alternating rounds.

    python benchmarks/interleaved.py BEFORE AFTER [--rounds R]

Each round runs every workload once per tree, the trees' order swapped every round, each in a
fresh process with ``PYTHONPATH`` set to the tree (the workloads are this directory's, so both
trees do the same work). A process times ``REPS`` steps with the collector on (as
`measure.time_once` does: the reset and freeing the graph untimed) and reports their median.
The table gives, per tree, the median of the rounds' medians and their min–max spread, which
is the run-to-run noise, and the ratio AFTER / BEFORE of the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: label → (workload, engine, size, steps timed per process)
CASES = {
    "mlp 64": ("mlp", "microbp", 64, 25),
    "layer 64": ("layer", "microbp", 64, 100),
    "wide 10⁵": ("wide", "microbp", 10**5, 5),
    "tape (mlp 64)": ("mlp", "microbp-tape", 64, 200),
}


def time_steps(workload: str, engine: str, size: int, reps: int) -> float:
    """The median of ``reps`` timed steps, after one untimed warm-up."""
    sys.path.insert(0, str(HERE))
    from measure import time_once
    from workloads import WORKLOADS

    step = WORKLOADS[workload].prepare[engine](size)
    time_once(step, "gc_on")
    return statistics.median(time_once(step, "gc_on")[0] for _ in range(reps))


def run_case(tree: Path, case: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    command = [sys.executable, str(Path(__file__).resolve()), "--inner", case]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{case} with {tree} failed:\n{done.stderr[-2000:]}")
    return float(json.loads(done.stdout))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trees", nargs="*", type=Path, help="BEFORE AFTER")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--inner", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inner:
        print(json.dumps(time_steps(*CASES[args.inner])))
        return 0
    if len(args.trees) != 2:
        parser.error("give two trees, BEFORE and AFTER")
    trees = [tree.resolve() for tree in args.trees]
    medians: dict[str, list[list[float]]] = {case: [[], []] for case in CASES}
    for round_ in range(args.rounds):
        order = [0, 1] if round_ % 2 == 0 else [1, 0]
        for case in CASES:
            for t in order:
                medians[case][t].append(run_case(trees[t], case))
    print(f"ms per step, median of {args.rounds} rounds (min–max); before {trees[0]}")
    print(f"after {trees[1]}")
    for case, (before, after) in medians.items():
        cells = []
        for times in (before, after):
            mid, low, high = (1e3 * f(times) for f in (statistics.median, min, max))
            spread = (high - low) / mid
            cells.append(f"{mid:.3f} ({low:.3f}–{high:.3f}, ±{spread / 2:.1%})")
        ratio = statistics.median(after) / statistics.median(before)
        print(f"{case:14} {cells[0]:32} {cells[1]:32} after/before {ratio:.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
