"""What an audit found: a result per property, counterexamples, the verdict, a JSON form.

A line's status is one of `STATUSES`. Only "fail" is wrong under every convention (a wrong
number, a crash, an exception where the right answer is a finite number); "convention" is a
documented difference of semantics (a root grad set rather than added on a second backward),
"limit" how far the engine goes (the deepest chain, Python's recursion limit). A strict verdict
fails those two as well.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

PASS, FAIL, NOT_SUPPORTED, SKIPPED = "pass", "fail", "not supported", "skipped"
CONVENTION, LIMIT = "convention", "limit"
STATUSES = (PASS, FAIL, CONVENTION, LIMIT, NOT_SUPPORTED, SKIPPED)
#: The statuses a strict verdict fails besides "fail".
STRICT = (CONVENTION, LIMIT)


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
        """No line fails (what the engine lacks, its conventions and limits are no failure)."""
        return self.passes(strict=False)

    def passes(self, strict: bool) -> bool:
        """No line fails; with ``strict``, no convention or limit either."""
        return not self.failing(strict)

    def failing(self, strict: bool) -> list[PropertyResult]:
        """The lines that fail the verdict: "fail", and with ``strict`` conventions and limits."""
        bad = (FAIL, *STRICT) if strict else (FAIL,)
        return [r for r in self.results if r.status in bad]

    @property
    def failures(self) -> list[PropertyResult]:
        return self.failing(strict=False)

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

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> Report:
        """The report `as_dict` gave (a "nan" or "inf" number read back as a float)."""
        return cls(
            document["target"],
            tuple(result_from_dict(p) for p in document["properties"]),
            document["examples"],
            document["seed"],
        )

    def as_dict(self) -> dict[str, object]:
        """The report as plain data for JSON: target, ok, examples, seed, properties. An
        engine's NaN or infinite number is given as a string ("nan", "inf"), which strict
        JSON can carry."""
        properties = [result_as_dict(r) for r in self.results]
        return {
            "target": self.target,
            "ok": self.ok,
            "examples": self.examples,
            "seed": self.seed,
            "properties": properties,
        }


def result_as_dict(result: PropertyResult) -> dict[str, Any]:
    """One line as plain data; an engine's NaN or infinite number as a string ("nan")."""
    document = asdict(result)
    example = document["counterexample"]
    if example is not None:
        for side in ("engine", "right"):
            if example[side] is not None and not math.isfinite(example[side]):
                example[side] = repr(example[side])
    return document


def result_from_dict(document: dict[str, Any]) -> PropertyResult:
    """The line `result_as_dict` gave."""
    fields = dict(document)
    example = fields.pop("counterexample")
    if example is not None:
        for side in ("engine", "right"):
            if isinstance(example[side], str):
                example[side] = float(example[side])
        example = Counterexample(**example)
    return PropertyResult(**fields, counterexample=example)
