"""What an audit found: a result per property, counterexamples, the verdict, a JSON form."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

PASS, FAIL, NOT_SUPPORTED, SKIPPED = "pass", "fail", "not supported", "skipped"
STATUSES = (PASS, FAIL, NOT_SUPPORTED, SKIPPED)


@dataclass(frozen=True)
class Counterexample:
    """The smallest failing example hypothesis found, as the user's engine runs it.

    ``snippet`` is runnable Python; ``node`` the variable in it that first goes wrong, and
    ``quantity`` which of its numbers ("data" or "grad"): ``engine`` is the engine's number,
    ``right`` the right one; ``error`` what the engine raised instead, if it did. ``ops``
    counts the ops in the example; ``svg`` is the picture's path, if one was drawn.
    """

    snippet: str
    node: str
    quantity: str
    engine: float | None
    right: float | None
    error: str
    ops: int
    note: str = ""
    svg: str | None = None

    @property
    def summary(self) -> str:
        """One line: ``x1.grad: this engine 96.0, right 64.0``."""
        if self.error:
            return f"raises {self.error}"
        return f"{self.node}.{self.quantity}: this engine {self.engine!r}, right {self.right!r}"


@dataclass(frozen=True)
class PropertyResult:
    """One line of the report: a property, its status (one of `STATUSES`), how many examples
    were run, a detail (why not supported, what failed, what was drawn) and a counterexample."""

    key: str
    title: str
    status: str
    examples: int = 0
    detail: str = ""
    counterexample: Counterexample | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")


@dataclass(frozen=True)
class Report:
    """Every property's result for the engine ``target``; ``ok`` when none failed."""

    target: str
    results: tuple[PropertyResult, ...]
    examples: int
    seed: int

    @property
    def ok(self) -> bool:
        """Everything the engine supports passes (what it lacks is not a failure)."""
        return all(r.status != FAIL for r in self.results)

    @property
    def failures(self) -> list[PropertyResult]:
        return [r for r in self.results if r.status == FAIL]

    @property
    def unsupported(self) -> list[str]:
        """The titles of the ops the engine does not have."""
        return [r.title for r in self.results if r.status == NOT_SUPPORTED]

    def __getitem__(self, key: str) -> PropertyResult:
        """The result of the property ``key`` (``"op:mul"``, ``"shared_nodes"``, …)."""
        for r in self.results:
            if r.key == key:
                return r
        raise KeyError(f"no property {key!r}; the report has {[r.key for r in self.results]}")

    def as_dict(self) -> dict[str, object]:
        """The report as plain data for JSON: target, ok, examples, seed, properties. An
        engine's NaN or infinite number is given as a string ("nan", "inf"), which strict
        JSON can carry."""
        properties = []
        for r in self.results:
            result = asdict(r)
            example = result["counterexample"]
            if example is not None:
                for side in ("engine", "right"):
                    if example[side] is not None and not math.isfinite(example[side]):
                        example[side] = repr(example[side])
            properties.append(result)
        return {
            "target": self.target,
            "ok": self.ok,
            "examples": self.examples,
            "seed": self.seed,
            "properties": properties,
        }
