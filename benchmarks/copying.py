"""How long copying and pickling graphs take: every node of a chain at once, and a deep root.

    python benchmarks/copying.py [--quick] [--skip-slow]

Each case builds a chain x → x·1 → x·1·1 → … (two nodes a step, the product and its constant
1), then times one `pickle.dumps`
(and the matching `pickle.loads`), one `copy.deepcopy` and one `copy.copy`, each in a fresh
process so that one case's garbage does not slow the next. ``--skip-slow`` leaves out the cases
that took minutes before pickling was linear (pickling every node of the chain).
The times are this process's CPU time (other load on the machine does not count) of one run
each: read them as orders of magnitude, not to the percent.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# (what is copied, steps of the chain): "nodes" is every node of the chain in one list,
# parents first; "root" is its last node alone.
CASES = (("nodes", 8_000), ("root", 100_000), ("root", 1_000_000))
QUICK_CASES = (("nodes", 800), ("root", 10_000))
OPERATIONS = ("pickle.dumps", "pickle.loads", "copy.deepcopy", "copy.copy")

CASE_SCRIPT = """
import copy, json, pickle, sys, time
sys.path.insert(0, {root!r})
from microbp import Value, topological_order

what, steps, operation = {what!r}, {steps!r}, {operation!r}
y = Value(1.0, "x")
for _ in range(steps):
    y = y * 1.0
subject = topological_order(y) if what == "nodes" else y
dumped = pickle.dumps(subject) if operation == "pickle.loads" else None
run = {{
    "pickle.dumps": lambda: pickle.dumps(subject),
    "pickle.loads": lambda: pickle.loads(dumped),
    "copy.deepcopy": lambda: copy.deepcopy(subject),
    "copy.copy": lambda: [copy.copy(v) for v in subject] if what == "nodes" else copy.copy(y),
}}[operation]
start = time.process_time()
result = run()
seconds = time.process_time() - start
size = len(pickle.dumps(subject)) if operation == "pickle.dumps" else None
print(json.dumps({{"seconds": seconds, "bytes": size}}))
"""


def time_case(what: str, steps: int, operation: str) -> dict[str, float | None]:
    """One operation on one case, timed in a fresh interpreter."""
    script = CASE_SCRIPT.format(root=str(HERE.parent), what=what, steps=steps, operation=operation)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    result: dict[str, float | None] = json.loads(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small chains, to check it runs")
    parser.add_argument("--skip-slow", action="store_true", help="leave out cases over a minute")
    parser.add_argument("--only", nargs="*", choices=OPERATIONS, help="these operations only")
    args = parser.parse_args()
    print("| case | operation | CPU seconds | pickle bytes |")
    print("|---|---|---|---|")
    for what, steps in QUICK_CASES if args.quick else CASES:
        nodes = 2 * steps + 1
        for operation in args.only or OPERATIONS:
            if args.skip_slow and what == "nodes" and operation.startswith("pickle"):
                continue
            result = time_case(what, steps, operation)
            size = "" if result["bytes"] is None else f"{result['bytes']:,}"
            label = f"{'every node' if what == 'nodes' else 'the root'} of {steps:,} steps"
            print(f"| {label} ({nodes:,} nodes) | {operation} | {result['seconds']:.3f} | {size} |")


if __name__ == "__main__":
    main()
