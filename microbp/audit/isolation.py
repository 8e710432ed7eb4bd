"""Each engine in a child process of its own (`child`), watched from this one, which never
imports the engine.

The child reports each line's start, each example before it runs, and each result. If it
dies (a signal such as SIGSEGV, ``os._exit``), writes without end, or goes past the time limit
on one line, that line fails, pinned on the example that was running, and a new child carries
on with the lines after it. A child's memory is bounded (``RLIMIT_AS``), its output captured
and bounded, its working folder a fresh temporary one. This guards against crashes and
accidents, not deliberately hostile code: that belongs in a container.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from microbp.audit.adapter import TargetError
from microbp.audit.report import (
    FAIL,
    LIMIT,
    Counterexample,
    PropertyResult,
    result_as_dict,
    result_from_dict,
)

#: Called with (key, title) as each line starts.
OnStart = Callable[[str, str], None]


@dataclass(frozen=True)
class Limits:
    """What a child may take: seconds per line (and to load the target), bytes of address
    space, bytes of output."""

    time: float = 60.0
    memory: int | None = 2 * 1024**3
    output: int = 16 * 1024**2


@dataclass
class _Watch:
    """What the parent knows of a running child."""

    results: dict[str, PropertyResult]
    key: str = ""
    title: str = ""
    snippet: str = ""
    ops: int = 0
    deepest: int = 0  # the chain depth that worked, in deep chains
    loaded: bool = False
    refused: str = ""
    finished: bool = False
    output: int = 0
    tail: bytearray = field(default_factory=bytearray)  # the end of its output

    def last_output(self) -> str:
        """The last few lines the child wrote, for a crash's note ("" if none)."""
        text = self.tail.decode("utf-8", errors="replace").strip()
        return "\n".join(text.splitlines()[-3:])[-500:]

    def take(self, message: dict[str, Any]) -> None:
        event = message["event"]
        if event == "engine":
            self.loaded = True
        elif event == "refused":
            self.refused = message["message"]
        elif event == "start":
            self.key, self.title = message["key"], message["title"]
            self.snippet, self.ops, self.deepest = "", 0, 0
        elif event == "example":
            if self.key == "deep_chains" and self.snippet:
                self.deepest = self.ops
            self.snippet, self.ops = message["snippet"], message["ops"]
        elif event == "result":
            result = result_from_dict(message["result"])
            self.results[result.key] = result
            self.key = ""
        elif event == "done":
            self.finished = True


def _job(
    target: str,
    lines: list[tuple[str, str]],
    examples: int,
    seed: int,
    svg_dir: Path | None,
    memory: int | None,
    done: Any,
) -> str:
    """The child's job: the target, the lines and options, and the lines ``done`` already."""
    return json.dumps(
        {
            "target": target,
            "only": [key for key, _ in lines],
            "examples": examples,
            "seed": seed,
            "svg_dir": None if svg_dir is None else str(svg_dir.resolve()),
            "memory_limit": memory,
            "folder": os.getcwd(),
            "done": [result_as_dict(r) for r in done],
        }
    )


def _environment() -> dict[str, str]:
    """The child's: this one's, with a fixed hash seed (the same examples every run), one
    thread for numpy's linear algebra (many children run at once, in bounded memory), and
    microbp importable whether it is installed or run from its source folder."""
    environment = dict(os.environ, PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1")
    for threads in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        environment[threads] = "1"
    source = str(Path(__file__).resolve().parents[2])
    path = environment.get("PYTHONPATH")
    environment["PYTHONPATH"] = source if not path else f"{source}{os.pathsep}{path}"
    return environment


def _ended(process: subprocess.Popen[bytes]) -> str:
    """How a child that did not finish ended: "the interpreter crashed (SIGSEGV)"."""
    status = process.wait()
    if status < 0:
        try:
            name = signal.Signals(-status).name
        except ValueError:
            name = f"signal {-status}"
        return f"the interpreter crashed ({name})"
    return f"the process exited with status {status} (os._exit, or exit in C code)"


def _watch(job: str, limits: Limits, watch: _Watch, on_start: OnStart | None) -> str:
    """Run one child until it is done or dies; "" if it finished, else how it ended."""
    read_end, write_end = os.pipe()
    with tempfile.TemporaryDirectory(prefix="microbp-audit-") as folder:
        process = subprocess.Popen(
            [sys.executable, "-m", "microbp.audit.child", str(write_end)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            pass_fds=(write_end,),
            cwd=folder,
            env=_environment(),
            start_new_session=True,
        )
        os.close(write_end)
        with _lock:
            _running.add(process)
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write(job.encode())
            process.stdin.close()
        except BrokenPipeError:
            pass
        try:
            stopped = _follow(process, read_end, limits, watch, on_start)
        finally:
            os.close(read_end)
            _kill(process)
            with _lock:
                _running.discard(process)
            process.stdout.close()
        if stopped:
            process.wait()
            return stopped
        if watch.finished or watch.refused:
            process.wait()
            return ""
        return _ended(process)


class Stopped(Exception):
    """The audits were stopped (`stop_all`): no child is started any more."""


_running: set[subprocess.Popen[bytes]] = set()
_lock = threading.Lock()
_stopping = threading.Event()


def _kill(process: subprocess.Popen[bytes]) -> None:
    """End the child and whatever it started (its own process group)."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:  # it ended meanwhile
            pass


def stop_all() -> None:
    """End every running child, and start no new one until `resume` (for Ctrl-C, say)."""
    _stopping.set()
    with _lock:
        for process in list(_running):
            _kill(process)


def resume() -> None:
    """Let children start again after `stop_all`."""
    _stopping.clear()


def _follow(
    process: subprocess.Popen[bytes],
    messages: int,
    limits: Limits,
    watch: _Watch,
    on_start: OnStart | None,
) -> str:
    """Read the child's messages and output until both close; "" or why it was stopped."""
    assert process.stdout is not None
    output = process.stdout.fileno()
    selector = selectors.DefaultSelector()
    selector.register(messages, selectors.EVENT_READ)
    selector.register(output, selectors.EVENT_READ)
    pending = b""
    deadline = time.monotonic() + limits.time
    with selector:
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return f"no result within {limits.time:g} s: the engine hangs, or is too slow"
            for key, _ in selector.select(remaining):
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    selector.unregister(key.fd)
                elif key.fd == output:
                    watch.output += len(chunk)
                    watch.tail = (watch.tail + chunk)[-2000:]
                    if watch.output > limits.output:
                        return f"wrote more than {limits.output:,} bytes of output without end"
                else:
                    *complete, pending = (pending + chunk).split(b"\n")
                    for line in complete:
                        key_before = watch.key
                        watch.take(json.loads(line))
                        if watch.key and watch.key != key_before:
                            deadline = time.monotonic() + limits.time
                            if on_start is not None:
                                on_start(watch.key, watch.title)
    return ""


def _crash_result(watch: _Watch, how: str) -> PropertyResult:
    """The failed line the child was running when it ended ``how``."""
    if not watch.snippet:
        return PropertyResult(watch.key, watch.title, FAIL, 0, how)
    snippet = f"{watch.snippet}\n# the audit's child process running this: {how}"
    output = watch.last_output()
    note = f"the end of what it wrote:\n{output}" if output else ""
    example = Counterexample(snippet, "", "grad", None, None, how, watch.ops, note)
    if watch.key == "deep_chains" and how.startswith("the interpreter crashed"):
        detail = f"{watch.ops:,} deep: {how}"
        if watch.deepest:
            detail = f"fine {watch.deepest:,} deep; {detail}"
        return PropertyResult(watch.key, watch.title, LIMIT, 0, detail, example)
    return PropertyResult(watch.key, watch.title, FAIL, 0, f"{how}, running the example", example)


def run_target(
    target: str,
    lines: list[tuple[str, str]],
    examples: int,
    seed: int,
    svg_dir: Path | None,
    limits: Limits,
    on_start: OnStart | None = None,
) -> list[PropertyResult]:
    """Every line's result for ``target``, each run in a child until one finishes them all.

    Raises `TargetError` when the child cannot load the target (or dies loading it)."""
    watch = _Watch({})
    while True:
        if _stopping.is_set():
            raise Stopped(f"the audit of {target} was stopped")
        job = _job(target, lines, examples, seed, svg_dir, limits.memory, watch.results.values())
        stopped = _watch(job, limits, watch, on_start)
        if _stopping.is_set():
            raise Stopped(f"the audit of {target} was stopped")
        if watch.refused:
            raise TargetError(watch.refused)
        if watch.finished:
            return [watch.results[key] for key, _ in lines]
        if not watch.loaded:
            raise TargetError(f"target {target!r}: loading it, {stopped}")
        if not watch.key:  # between lines: nothing to pin it on, so no line can be blamed
            raise TargetError(f"target {target!r}: the audit's child process ended: {stopped}")
        watch.results[watch.key] = _crash_result(watch, stopped)
        watch.key = ""
