"""microbp (scalar engine and tape) against micrograd 0.1.0: every workload, one table per GC state.

    python benchmarks/run.py [--quick] [--json | --markdown] [--only WORKLOAD ...]
    python benchmarks/run.py --render saved.json     # a saved --json run, as Markdown

Each workload runs on each of its engines in a fresh worker process (`worker.py`), with the
garbage collector in its default state and again disabled. The tables give the median of several
repetitions with the min–max spread, and the ratios of the medians (slower engine / faster
one, see `RATIOS`). The engines' losses and gradients are compared first: if they differ, the
run fails, because the figures would not be of the same work. ``--quick`` runs small sizes, to
check that it all works.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import platform
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from measure import GC_MODES
from workloads import ENGINES, WORKLOADS

HERE = Path(__file__).resolve().parent
GC_TITLES = {"gc_on": "GC on (default)", "gc_off": "GC off"}
# (slower engine, faster engine): each ratio reported wherever a workload has both
RATIOS = (
    ("micrograd", "microbp"),
    ("micrograd", "microbp-tape"),
    ("microbp", "microbp-tape"),
    ("microbp-tape", "numpy"),
    ("torch", "microbp-tape"),
)
# (workload, size, slower, faster, at least this ratio), GC in its default state
TARGETS = (
    ("mlp", 64, "micrograd", "microbp", 30.0),
    ("mlp", 64, "micrograd", "microbp-tape", 300.0),
    ("mlp", 64, "microbp", "microbp-tape", 10.0),
    ("layer", 64, "micrograd", "microbp", 20.0),
    ("train_batch", 16, "torch", "microbp-tape", 1.0),
    ("train_batch", 1000, "torch", "microbp-tape", 1.0),
)
# (workload, size, slower, faster, at most this ratio), GC in its default state
CEILINGS = (
    ("train_batch", 16, "microbp-tape", "numpy", 2.0),
    ("train_batch", 1000, "microbp-tape", "numpy", 1.5),
)
WIDE_BYTES_TARGET = 1 / 3  # microbp's bytes per node over micrograd's, at most


def run_worker(workload: str, engine: str, quick: bool) -> dict[str, Any]:
    command = [sys.executable, str(HERE / "worker.py"), workload, engine]
    done = subprocess.run(
        [*command, "--quick"] if quick else command, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
    return json.loads(done.stdout)


def fingerprints_agree(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all(
        math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12) for x, y in zip(a, b)
    )


def ratio_name(slower: str, faster: str) -> str:
    return f"{slower} / {faster}"


def combine(workload: str, reports: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One row per size: each engine's figures, the ratios, and whether the engines did the same.

    ``reports`` has one worker report per engine the workload runs on.
    """
    engines = [e for e in ENGINES if e in reports]
    rows = []
    by_size = {e: {s["size"]: s for s in reports[e]["sizes"]} for e in engines}
    for size in sorted(set().union(*by_size.values())):
        row: dict[str, Any] = {"size": size}
        for engine in engines:
            row[engine] = by_size[engine].get(size)  # None: not tried, a smaller size failed
        ran = [e for e in engines if _ok(row[e])]
        for engine in ran[1:]:
            first, other = row[ran[0]]["fingerprint"], row[engine]["fingerprint"]
            if not fingerprints_agree(first, other):
                raise SystemExit(
                    f"{workload} at size {size}: {ran[0]} and {engine} differ in their losses and "
                    f"gradients, so they did not do the same work:\n{first[:8]}\n{other[:8]}"
                )
        row["ratio"] = {
            ratio_name(slower, faster): {
                mode: row[slower][mode]["median"] / row[faster][mode]["median"] for mode in GC_MODES
            }
            for slower, faster in RATIOS
            if slower in ran and faster in ran
        }
        rows.append(row)
    return {
        "workload": workload,
        "what": WORKLOADS[workload].what,
        "engines": engines,
        "rows": rows,
        "memory": {e: reports[e].get("memory") for e in engines},
        "peak_rss": {e: reports[e]["peak_rss"] for e in engines},
        "rss_at_start": {e: reports[e]["rss_at_start"] for e in engines},
    }


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "Model name":
                cpu = value.strip()
    except FileNotFoundError:
        pass
    return {
        "cpu": cpu,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "system": platform.platform(),
        "microbp": version("microbp"),
        "micrograd": version("micrograd"),
        "torch": _version_or_none("torch"),
    }


def _version_or_none(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def targets(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's targets, each with the figure this run measured and whether it is met."""
    checks = []
    by_name = {result["workload"]: result for result in results}
    bounds = [(*t, "≥") for t in TARGETS] + [(*c, "≤") for c in CEILINGS]
    for name, size, slower, faster, bound, sense in bounds:
        for row in by_name[name]["rows"] if name in by_name else []:
            ratio = row["ratio"].get(ratio_name(slower, faster), {}).get("gc_on")
            if row["size"] == size and ratio is not None:
                checks.append(
                    {
                        "target": f"{name} {size}: {ratio_name(slower, faster)} {sense} "
                        f"{bound:g}× (GC on)",
                        "measured": _ratio(ratio),
                        "met": ratio >= bound if sense == "≥" else ratio <= bound,
                    }
                )
    for result in results:
        name = result["workload"]
        if name == "chain":
            largest = {}
            for engine in result["engines"]:
                sizes = [r["size"] for r in result["rows"] if _ok(r[engine])]
                largest[engine] = max(sizes, default=0)
            checks.append(
                {
                    "target": "chain: the deepest chain each engine survives",
                    "measured": ", ".join(f"{e} D = {_size(d)}" for e, d in largest.items()),
                    "met": largest["microbp"] >= max(r["size"] for r in result["rows"]),
                }
            )
        if name == "wide" and all(result["memory"].values()):
            share = (
                result["memory"]["microbp"]["bytes_per_node"]
                / result["memory"]["micrograd"]["bytes_per_node"]
            )
            checks.append(
                {
                    "target": "wide: microbp's bytes per node ≤ 1/3 of micrograd's",
                    "measured": f"{share:.2f}",
                    "met": share <= WIDE_BYTES_TARGET,
                }
            )
    return checks


def _ratio(ratio: float) -> str:
    """A ratio to three significant figures or one decimal (2.04×, 38.2×, 912.7×)."""
    return f"{ratio:.2f}×" if ratio < 10 else f"{ratio:.1f}×"


def _ok(figures: dict[str, Any] | None) -> bool:
    return figures is not None and not figures["error"]


def _size(n: int) -> str:
    exponent = math.log10(n) if n > 0 else 0.0
    if n >= 1000 and exponent.is_integer():
        return "10" + str(int(exponent)).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return str(n)


def _seconds(s: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s / 1e-6:.3g} µs"


def _cell(row: dict[str, Any], engine: str, mode: str) -> str:
    if engine not in row:
        return "—"  # the workload does not run on this engine
    figures = row[engine]
    if figures is None:
        return "not run"
    if figures["error"]:
        return figures["error"].split(":")[0]
    f = figures[mode]
    cell = f"{_seconds(f['median'])} ({_seconds(f['min'])}–{_seconds(f['max'])})"
    return f"{cell}, {figures['note']}" if figures.get("note") else cell


def table(results: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    """The figures as Markdown tables (which also read well as plain text)."""
    ratios = [ratio_name(*pair) for pair in RATIOS]
    header = ["workload", "size", *ENGINES, *ratios]
    out = [
        "Time per step (for `train`, per training run): median of the repetitions (min–max). "
        "A note such as “2 epochs ×50” means a part of the run was timed and scaled up "
        "(50 × the time of 2 epochs). "
        "Ratios are of the medians.",
    ]
    for mode in GC_MODES:
        out += ["", f"{GC_TITLES[mode]}:", "", _row(header), _row(["---"] * len(header))]
        for result in results:
            for row in result["rows"]:
                cells = [result["workload"], _size(row["size"])]
                cells += [_cell(row, engine, mode) for engine in ENGINES]
                for name in ratios:
                    ratio = row["ratio"].get(name, {}).get(mode)
                    cells.append(_ratio(ratio) if ratio is not None else "—")
                out.append(_row(cells))
    memory = [r for r in results if all(r["memory"].values())]
    if memory:
        out += [
            "",
            "Memory (`wide`): tracemalloc bytes per graph node, peak RSS of the process.",
            "",
        ]
        out += [
            _row(["engine", "nodes", "bytes / node", "after backward", "peak RSS", "RSS at start"]),
            _row(["---"] * 6),
        ]
        for result in memory:
            for engine in result["engines"]:
                m = result["memory"][engine]
                out.append(
                    _row(
                        [
                            engine,
                            f"{m['nodes']:,}",
                            f"{m['bytes_per_node']:.0f}",
                            f"{m['bytes_per_node_after_backward']:.0f}",
                            f"{result['peak_rss'][engine] / 2**20:.0f} MiB",
                            f"{result['rss_at_start'][engine] / 2**20:.0f} MiB",
                        ]
                    )
                )
    if meta["targets"]:
        out += ["", _row(["target", "measured", "met"]), _row(["---"] * 3)]
        out += [
            _row([t["target"], t["measured"], "yes" if t["met"] else "**no**"])
            for t in meta["targets"]
        ]
    m = meta["machine"]
    out += [
        "",
        f"Measured {meta['date']} with `{meta['command']}` on {m['cpu']}, "
        f"{m['implementation']} {m['python']}, {m['system']}; "
        f"microbp {m['microbp']}, micrograd {m['micrograd']}, torch {m.get('torch', '—')}.",
    ]
    return "\n".join(out)


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: checks, not figures")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="machine-readable output")
    output.add_argument("--markdown", action="store_true", help="Markdown tables (the default)")
    parser.add_argument(
        "--only", nargs="+", choices=list(WORKLOADS), metavar="WORKLOAD", help="these workloads"
    )
    parser.add_argument(
        "--render", type=Path, metavar="JSON", help="measure nothing: show a saved --json run"
    )
    args = parser.parse_args(argv)
    if args.render:
        saved = json.loads(args.render.read_text())
        print(table(saved["results"], saved))
        return 0
    names = args.only or list(WORKLOADS)
    results = []
    for name in names:
        print(f"running {name} …", file=sys.stderr, flush=True)
        reports = {e: run_worker(name, e, args.quick) for e in WORKLOADS[name].engines}
        results.append(combine(name, reports))
    command = " ".join(
        ["python", "benchmarks/run.py", *(argv if argv is not None else sys.argv[1:])]
    )
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command,
        "quick": args.quick,
        "machine": machine(),
        "targets": [] if args.quick else targets(results),  # small sizes say nothing of them
    }
    if args.json:
        json.dump({**meta, "results": results}, sys.stdout, indent=2)
        print()
    else:
        print(table(results, meta))
    return 0


if __name__ == "__main__":
    sys.exit(main())
