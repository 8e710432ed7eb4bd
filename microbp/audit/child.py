"""The audit's child process: ``python -m microbp.audit.child FD``, one engine, one process.

The parent writes the job (JSON) to the child's stdin; the child sends JSON lines on the pipe
``FD`` as it goes: ``engine`` once the target is loaded (or ``refused``), then for each line
``start``, an ``example`` before each example runs (its runnable snippet), and ``result``;
``done`` at the end. So when the child dies, the parent knows which line and which example
killed it. Everything runs on the main thread, with Python's default recursion limit and the
stack an ordinary script has; ``memory_limit`` bounds the address space (``RLIMIT_AS``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO, Any


def _limit_memory(limit: int | None) -> None:
    if limit is None:
        return
    try:
        import resource
    except ImportError:  # not on this platform (Windows): no bound
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError):  # a system that will not lower it (macOS): no bound
        return


def run(job: dict[str, Any], channel: IO[str]) -> None:
    """Run the audit ``job`` asks for, telling ``channel`` each step as a JSON line."""

    def send(**message: Any) -> None:
        channel.write(json.dumps(message) + "\n")
        channel.flush()

    from microbp.audit import progress, runner
    from microbp.audit.adapter import TargetError, load
    from microbp.audit.report import result_as_dict, result_from_dict

    sys.path.insert(0, job["folder"])  # where the user ran the audit: their modules are there
    try:
        engine = load(job["target"])
    except TargetError as error:
        send(event="refused", message=str(error))
        return
    send(event="engine", spec=engine.spec)
    progress.listen(lambda snippet, ops: send(event="example", snippet=snippet, ops=ops))
    svg_dir = None if job["svg_dir"] is None else Path(job["svg_dir"])
    done = {r["key"]: result_from_dict(r) for r in job["done"]}
    results = runner.run_lines(
        engine,
        job["examples"],
        job["seed"],
        svg_dir,
        done,
        on_start=lambda key, title: send(event="start", key=key, title=title),
        only=job["only"],
    )
    for result in results:
        send(event="result", result=result_as_dict(result))
    send(event="done")


def main() -> None:
    job = json.loads(sys.stdin.read())
    _limit_memory(job["memory_limit"])
    with open(int(sys.argv[1]), "w", encoding="utf-8") as channel:
        run(job, channel)


if __name__ == "__main__":
    main()
