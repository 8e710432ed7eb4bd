"""How fast `microbp audit` grades a class: 1, 8 and 32 copies of a correct engine, each in its
own child process, with 1, 2 and 4 at a time.

    python benchmarks/audit_throughput.py [--copies 1,8,32] [--jobs 1,2,4] [--examples 100]
    python benchmarks/audit_throughput.py --quick      # 1 and 2 copies, 1 and 2 jobs, 5 examples

Each copy is a file of its own, ``copy_K/engine.py:Value``, importing microbp's `Value` (a
correct engine whose every line passes). For each count of copies and of jobs it times the
whole class (wall clock, one run), and prints targets a second and the speed-up over one job.
The per-process overhead is the median time of an audit that starts a child, loads the engine
and runs one line on one example (``only=["op:add"]``), over a few runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from microbp.audit import audit
from microbp.audit.grading import grade_all

ENGINE = "from microbp.engine import Value\n"


def copies(folder: Path, n: int) -> list[str]:
    """``n`` file targets, each its own copy of the engine."""
    targets = []
    for k in range(n):
        (folder / f"copy_{k}").mkdir(exist_ok=True)
        path = folder / f"copy_{k}" / "engine.py"
        path.write_text(ENGINE)
        targets.append(f"{path}:Value")
    return targets


def overhead(target: str, runs: int = 5) -> float:
    """Seconds for an audit that does almost nothing but start its child and load the target."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        audit(target, examples=1, only=["op:add"])
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def class_time(targets: list[str], jobs: int, examples: int) -> float:
    started = time.perf_counter()
    graded = grade_all(targets, jobs, examples=examples)
    elapsed = time.perf_counter() - started
    failing = [g.target for g in graded if not g.passes(strict=False)]
    if failing:
        raise SystemExit(f"a correct engine failed its audit: {failing}")
    return elapsed


def numbers(text: str) -> list[int]:
    return [int(x) for x in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=numbers, default=[1, 8, 32])
    parser.add_argument("--jobs", type=numbers, default=[1, 2, 4])
    parser.add_argument("--examples", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="a check that it runs, not figures")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.copies, args.jobs, args.examples = [1, 2], [1, 2], 5
    results: dict[str, object] = {"cores": len(os.sched_getaffinity(0)), "examples": args.examples}
    with tempfile.TemporaryDirectory() as folder:
        targets = copies(Path(folder), max(args.copies))
        results["overhead_s"] = overhead(targets[0], 2 if args.quick else 5)
        rows = []
        for n in args.copies:
            for jobs in args.jobs:
                seconds = class_time(targets[:n], jobs, args.examples)
                rows.append({"copies": n, "jobs": jobs, "seconds": seconds})
                print(f"{n:3d} copies, --jobs {jobs}: {seconds:7.2f} s", file=sys.stderr)
        results["runs"] = rows
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"per-process overhead (start, load, one line): {results['overhead_s']:.2f} s")
    print(f"{'copies':>6} {'jobs':>4} {'seconds':>8} {'targets/s':>9} {'vs --jobs 1':>11}")
    for row in rows:
        one_job = next(
            r["seconds"] for r in rows if r["copies"] == row["copies"] and r["jobs"] == 1
        )
        print(
            f"{row['copies']:>6} {row['jobs']:>4} {row['seconds']:>8.2f} "
            f"{row['copies'] / row['seconds']:>9.2f} {one_job / row['seconds']:>10.2f}×"
        )


if __name__ == "__main__":
    main()
