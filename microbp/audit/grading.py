"""A class at once: many targets (globs expanded), audited side by side, each in its own child
process; a verdict a target, and Gradescope's ``results.json``.

The local pool is threads, each waiting on one child process, so ``jobs`` children run at once.
With a Dask ``scheduler`` address, each target is one task on the cluster (``pip install
"microbp[cluster]"``); the workers run the same `audit`, and need the targets' files at the same
paths (a shared folder) and microbp installed.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

from microbp.audit import isolation
from microbp.audit.adapter import TargetError, absolute_target
from microbp.audit.report import (
    CONVENTION,
    FAIL,
    LIMIT,
    NOT_SUPPORTED,
    PASS,
    SKIPPED,
    Report,
)


@dataclass(frozen=True)
class Graded:
    """One target's outcome: its report, or why it could not be audited (``refused``)."""

    target: str
    report: Report | None = None
    refused: str = ""

    def passes(self, strict: bool) -> bool:
        return self.report is not None and self.report.passes(strict)

    def verdict(self, strict: bool) -> str:
        """ "pass", "FAIL" or "refused"."""
        if self.report is None:
            return "refused"
        return "pass" if self.report.passes(strict) else "FAIL"

    def first_failure(self, strict: bool) -> str:
        """The first failing line, "title: detail", or why the target was refused."""
        if self.report is None:
            return self.refused
        failing = self.report.failing(strict)
        return f"{failing[0].title}: {failing[0].detail}" if failing else ""

    def counts(self) -> dict[str, int]:
        """How many lines have each status."""
        statuses = [r.status for r in self.report.results] if self.report else []
        return {s: statuses.count(s) for s in (PASS, FAIL, CONVENTION, LIMIT, NOT_SUPPORTED)}

    def without_pictures(self) -> Graded:
        """The same, its counterexamples naming no picture (their files are gone)."""
        if self.report is None:
            return self
        results = tuple(
            replace(r, counterexample=replace(r.counterexample, svg=None))
            if r.counterexample is not None
            else r
            for r in self.report.results
        )
        return replace(self, report=replace(self.report, results=results))

    def as_dict(self) -> dict[str, Any]:
        """The per-target report `Report.as_dict` gives, or the target and why it was refused."""
        if self.report is None:
            return {"target": self.target, "ok": False, "refused": self.refused}
        return self.report.as_dict()


def expand(targets: Sequence[str]) -> list[str]:
    """Each target, a glob in its path part (``'submissions/*/engine.py:Value'``) replaced by
    the files it matches, in sorted order; a glob matching nothing is kept, to be refused."""
    expanded = []
    for target in targets:
        path, colon, name = target.rpartition(":")
        if colon and glob.has_magic(path):
            matches = sorted(glob.glob(path))
            expanded += [f"{m}:{name}" for m in matches] if matches else [target]
        else:
            expanded.append(target)
    return expanded


def short_names(targets: list[str]) -> tuple[str, list[str]]:
    """The folder the file targets share ("" if under two of them), and each target named
    from it: ``ada/engine.py:Value`` rather than a long path, a class's submissions apart."""
    paths = [t.rpartition(":")[0] for t in targets]
    files = [p for p in paths if p.endswith(".py")]
    if len(files) < 2:
        return "", targets
    common = os.path.commonpath([os.path.dirname(os.path.abspath(p)) for p in files])
    names = [
        f"{os.path.relpath(os.path.abspath(p), common)}:{t.rpartition(':')[2]}"
        if p.endswith(".py")
        else t
        for p, t in zip(paths, targets)
    ]
    return common, names


def default_jobs() -> int:
    """The machine's cores (the ones this process may use)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on this platform
        return os.cpu_count() or 1


def grade(target: str, **options: Any) -> Graded:
    """`audit` ``target``; a target that cannot be audited is `Graded` as refused."""
    from microbp.audit import audit

    try:
        return Graded(target, audit(target, **options))
    except TargetError as error:
        return Graded(target, refused=str(error))


def grade_all(
    targets: Sequence[str],
    jobs: int,
    on_start: Callable[[str, str], None] | None = None,
    on_done: Callable[[str], None] | None = None,
    scheduler: str | None = None,
    svg_dirs: Sequence[Path | None] | None = None,
    **options: Any,
) -> list[Graded]:
    """Every target graded, ``jobs`` at a time (or on the Dask cluster at ``scheduler``), in
    the order given; each target's pictures in its folder of ``svg_dirs``, if given.
    ``on_start(target, title)`` is called as each line starts, ``on_done(target)`` as each
    target is done (locally)."""
    if scheduler is not None:
        return _on_cluster(targets, scheduler, options)
    folders = list(svg_dirs) if svg_dirs is not None else [None] * len(targets)

    def one(job: tuple[str, Path | None]) -> Graded:
        target, folder = job
        start = on_start
        report = (lambda title: start(target, title)) if start is not None else None
        graded = grade(target, on_start=report, svg_dir=folder, **options)
        if on_done is not None:
            on_done(target)
        return graded

    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        futures = [pool.submit(one, job) for job in zip(targets, folders)]
        wait(futures, return_when=FIRST_EXCEPTION)  # the first error, whichever target's
        for future in futures:
            error = future.exception() if future.done() else None
            if error is not None:
                raise error
        return [future.result() for future in futures]
    except BaseException:  # Ctrl-C, or a thread's error: end every child, start no more
        isolation.stop_all()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        isolation.resume()  # every thread has ended: later audits may start children again


def _on_cluster(targets: Sequence[str], scheduler: str, options: dict[str, Any]) -> list[Graded]:
    """Each target a task on the Dask cluster at ``scheduler``, the results in order."""
    try:
        from distributed import Client
    except ImportError:
        raise ValueError(
            '--scheduler needs Dask distributed: pip install "microbp[cluster]"'
        ) from None
    absolute = [absolute_target(t) for t in targets]
    with Client(scheduler, timeout="30s") as client:  # type: ignore[no-untyped-call]
        futures = [client.submit(grade, target, pure=False, **options) for target in absolute]
        graded = cast("list[Graded]", client.gather(futures))
    return [Graded(t, g.report, g.refused) for t, g in zip(targets, graded)]


def gradescope(graded: Graded, strict: bool) -> dict[str, Any]:
    """Gradescope's ``results.json`` for one target: a test a line, 1 point each, "passed" or
    "failed"; lines not supported or skipped are listed with no points (``max_score`` 0)
    unless ``strict``, when what is not supported fails too."""
    if graded.report is None:
        return {
            "score": 0.0,
            "output": f"the engine could not be audited: {graded.refused}",
            "tests": [],
        }
    tests = []
    for r in graded.report.results:
        counted = r.status not in (NOT_SUPPORTED, SKIPPED) or (strict and r.status == NOT_SUPPORTED)
        passed = r.status == PASS or (not strict and r.status in (CONVENTION, LIMIT))
        output = f"{r.status}: {r.detail}" if r.detail else r.status
        if r.counterexample is not None:
            output += f"\n\n{r.counterexample.snippet}"
        tests.append(
            {
                "name": r.title,
                "score": 1.0 if counted and passed else 0.0,
                "max_score": 1.0 if counted else 0.0,
                "status": "passed" if passed else "failed",
                "output": output,
            }
        )
    report = graded.report
    return {
        "score": sum(t["score"] for t in tests),
        "output": f"microbp audit of {report.target}: {report.examples} examples a line, "
        f"seed {report.seed}",
        "tests": tests,
    }
