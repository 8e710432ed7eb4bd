"""Instructions (callgrind's Ir) per step of the scalar engine's workloads, for one source tree.

    python benchmarks/instructions.py [--tree DIR] [--repeats R] [--only WORKLOAD ...]

Wall-clock time on a shared machine moves with the load; the number of instructions a step
executes does not, so two trees (say a commit and its parent, each checked out with
``git worktree add``) can be compared on a busy machine. Each workload runs under
``valgrind --tool=callgrind`` in a fresh process with ``PYTHONPATH`` set to ``--tree`` (whose
``microbp`` is the one measured; the workloads are this directory's `workloads.py`, so every
tree does the same work). Callgrind counts only inside ``functools.reduce``, which calls the
step's ``run()`` once per step: imports, building the data, the reset before a step and freeing
its graph after it are not counted, as `measure.time_once` does not time them. The garbage
collector is off, so no collection falls inside a count. Repeats give the same count to the
instruction; ``--repeats`` shows it.
"""

from __future__ import annotations

import argparse
import functools
import gc
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
#: case → (its name in `workloads.WORKLOADS`, engine, size): the ones the op table touches. The
#: engine "backward" is microbp's step with its forward pass left uncounted (`workloads.LOSSES`):
#: the loss is built before the count, and the count is of ``L.backward()`` alone.
CASES = {
    "mlp": ("mlp", "microbp", 64),
    "layer": ("layer", "microbp", 64),
    "wide": ("wide", "microbp", 10**4),
    "tape": ("mlp", "microbp-tape", 64),
    "mlp-backward": ("mlp", "backward", 64),
    "layer-backward": ("layer", "backward", 64),
}
STEPS = 3
COUNTED = "functools_reduce"  # the C function the steps run inside


def run_steps(case: str, steps: int) -> None:
    """Prepare ``case``'s step and run it once to warm up, then ``steps`` more times, each
    ``run()`` inside `functools.reduce`, the one call callgrind counts (``--toggle-collect``):
    like `measure.time_once`, the reset before it and freeing the graph after it are not."""
    sys.path.insert(0, str(HERE))
    from workloads import LOSSES, WORKLOADS  # here: the measured tree's microbp is first

    import microbp

    if not Path(microbp.__file__).is_relative_to(Path(os.environ["PYTHONPATH"]).resolve()):
        raise SystemExit(f"measured {microbp.__file__}, not the tree's microbp")
    workload, engine, size = CASES[case]
    if engine == "backward":
        step = _backward_alone(*LOSSES[workload](size))
    else:
        step = WORKLOADS[workload].prepare[engine](size)

    def run(*_: object) -> object:
        return step.run()  # the loss, holding the graph: freed after the count (not timed)

    gc.collect()
    gc.disable()  # graphs have no cycles: freed as soon as dropped, never by a collection
    step.reset()
    step.run()  # to warm up, uncounted
    for _ in range(steps):
        step.reset()
        functools.reduce(run, [None], None)  # calls run once


def _backward_alone(forward: Callable[[], Any], params: list[Any]) -> Any:
    """A step whose untimed reset zeroes ``params``' grads and builds the loss (``forward()``),
    and whose run is the loss's backward pass."""
    from measure import Step

    from microbp import zero_grad

    built: list[Any] = []

    def reset() -> None:
        built.clear()  # the last graph freed here, uncounted
        zero_grad(params)
        built.append(forward())

    def run() -> object:
        built[0].backward()
        return built[0]

    return Step(reset, run, lambda L: [])


def instructions(tree: Path, case: str, steps: int) -> int:
    """Callgrind's Ir inside the ``steps`` steps of ``case`` run with ``tree``'s microbp."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "callgrind.out"
        env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONHASHSEED": "0"}
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            "--collect-atstart=no",
            f"--toggle-collect={COUNTED}",
            sys.executable,
            str(Path(__file__).resolve()),
            "--inner",
            case,
            str(steps),
        ]
        done = subprocess.run(
            command, env=env, cwd=scratch, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
        totals = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.MULTILINE)
        if totals is None or int(totals.group(1)) == 0:
            raise SystemExit(f"callgrind counted nothing in {COUNTED} for {case}")
        return int(totals.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tree", type=Path, default=HERE.parent, help="whose microbp to measure")
    parser.add_argument("--repeats", type=int, default=1, help="measure each workload R times")
    parser.add_argument("--only", nargs="+", choices=list(CASES), metavar="WORKLOAD")
    parser.add_argument("--inner", nargs=2, help=argparse.SUPPRESS)  # the measured process
    args = parser.parse_args(argv)
    if args.inner:
        run_steps(args.inner[0], int(args.inner[1]))
        return 0
    tree = args.tree.resolve()
    print(f"Ir per step, microbp of {tree} (mean of {STEPS} steps, callgrind)")
    for case in args.only or list(CASES):
        per_step = [instructions(tree, case, STEPS) / STEPS for _ in range(args.repeats)]
        spread = (max(per_step) - min(per_step)) / min(per_step)
        workload, engine, size = CASES[case]
        figures = ", ".join(f"{ir:,.0f}" for ir in per_step)
        print(
            f"{case:6} ({workload} {size}, {engine}): {figures}  (spread {spread:.3%})", flush=True
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
