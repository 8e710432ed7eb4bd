"""The explorer pages the browser tests open, and how they open and read them.

One chromium per test module (the ``browser`` fixture); each page in a context of its own that
refuses every request but the page's own file and records script errors and console errors.
The five settings are the issue's: the default network, 4-5-3 tanh with squared error,
2-4-4-4-3 relu, 3-8-2, and the largest graph the page is drawn for (485 of 500 nodes).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from microbp import MLP, Value
from microbp.explorer import write_html
from microbp.nn import LOSSES

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OUTPUT = {"cross_entropy": "softmax", "squared_error": "linear"}


@dataclass(frozen=True)
class Setting:
    """A network, its input and target, as a page is written for it."""

    sizes: tuple[int, ...]
    hidden: str
    loss: str
    seed: int = 0

    def x(self) -> list[float]:
        rng = random.Random(self.seed + 100)
        return [round(rng.uniform(-1.0, 1.0), 2) for _ in range(self.sizes[0])]

    def target(self) -> int | list[float]:
        if self.loss == "cross_entropy":
            return 0 if self.sizes[-1] < 2 else 1
        return [round(0.5 - 0.4 * i, 2) for i in range(self.sizes[-1])]

    def net(self) -> MLP:
        return MLP(list(self.sizes), hidden=self.hidden, output=OUTPUT[self.loss], seed=self.seed)

    def write(self, folder: Path) -> Path:
        name = "-".join(map(str, self.sizes)) + f"-{self.hidden}-{self.loss}.html"
        return write_html(self.net(), self.x(), self.target(), folder / name, loss=self.loss)


SETTINGS = {
    "default": Setting((3, 3, 3, 2), "sigmoid", "cross_entropy"),
    "tanh-squared": Setting((4, 5, 3), "tanh", "squared_error"),
    "relu-deep": Setting((2, 4, 4, 4, 3), "relu", "cross_entropy", seed=3),
    "3-8-2": Setting((3, 8, 2), "sigmoid", "cross_entropy"),
    "largest": Setting((4, 16, 16, 3), "sigmoid", "cross_entropy"),
}


@dataclass
class Python:
    """The engine's pass of a setting's network on its (possibly edited) numbers."""

    net: MLP
    x: list[Value]
    target: int | list[float]
    loss: str
    L: Value = field(init=False)

    def __post_init__(self) -> None:
        self.run()

    def run(self) -> None:
        for p in self.net.parameters():
            p.grad = 0.0
        for v in self.x:
            v.grad = 0.0
        self.L = LOSSES[self.loss](self.net(self.x), self.target)
        self.L.backward()

    def value(self, q: str, k: int, i: int, j: int) -> float | None:
        """What the page's entry (q, k, i, j) should show; i and j count from 1."""
        layers = self.net.layers
        if q in ("h", "gh"):
            v = self.x[i - 1] if k == 0 else layers[k - 1].h[i - 1]
            return v.data if q == "h" else v.grad
        if q == "L":
            return self.L.data
        if q == "y":
            assert isinstance(self.target, list)
            return self.target[i - 1]
        layer = layers[k - 1]
        table: dict[str, Any] = {
            "a": lambda: layer.a[i - 1].data,
            "ga": lambda: layer.a[i - 1].grad,
            "gp": lambda: None if layer.activation == "softmax" else layer.h[i - 1].local_grads[0],
            "W": lambda: layer.W[i - 1][j - 1].data,
            "gW": lambda: layer.W[i - 1][j - 1].grad,
            "b": lambda: layer.b[i - 1].data,
            "gb": lambda: layer.b[i - 1].grad,
        }
        result: float | None = table[q]()
        return result


def python_pass(setting: Setting) -> Python:
    return Python(
        setting.net(),
        [Value(v, f"x[{j + 1}]") for j, v in enumerate(setting.x())],
        setting.target(),
        setting.loss,
    )


def close(a: float, b: float) -> bool:
    """Equal to 1e-12 relative; entries that cancel to (nearly) 0 to 1e-15 absolute."""
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)


CELLS_JS = """() => [...document.querySelectorAll("#matrices button.entry")].map((b) => [
  b.dataset.q, Number(b.dataset.k), Number(b.dataset.i), Number(b.dataset.j || 0),
  b.firstChild.dataset.value, [...b.classList]])"""


@dataclass
class Session:
    """A page open in chromium, with every request it made and every error it reported."""

    page: Any
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def cells(self) -> list[tuple[str, int, int, int, str, list[str]]]:
        """Every entry of the matrices: (q, k, i, j, full value or "" if unknown, classes)."""
        return [tuple(c) for c in self.page.evaluate(CELLS_JS)]

    def with_class(self, name: str) -> set[tuple[str, int, int, int]]:
        """The entries (q, k, i, j) of the buttons with class ``name``."""
        found = self.page.eval_on_selector_all(
            f"#matrices button.entry.{name}",
            "bs => bs.map((b) => [b.dataset.q, +b.dataset.k, +b.dataset.i, +(b.dataset.j || 0)])",
        )
        return {tuple(entry) for entry in found}

    def svg_with_class(self, name: str) -> set[str]:
        return set(
            self.page.eval_on_selector_all(f"#layer-view .{name}", "es => es.map(e => e.id)")
        )

    def panel_numbers(self) -> dict[str, list[float]]:
        found: dict[str, list[float]] = {}
        pairs = self.page.eval_on_selector_all(
            "#panel span.num[data-role]", "ss => ss.map(s => [s.dataset.role, s.dataset.value])"
        )
        for role, value in pairs:
            found.setdefault(role, []).append(float(value))
        return found

    def choose(self, q: str, k: int, i: int, j: int = 0) -> None:
        column = f'[data-j="{j}"]' if j else ""
        self.page.click(f'#matrices button.entry[data-q="{q}"][data-k="{k}"][data-i="{i}"]{column}')

    def inside_graph_pane(self, element_id: str) -> bool:
        return bool(
            self.page.evaluate(
                """(id) => {
                  const pane = document.getElementById("graph").getBoundingClientRect();
                  const box = document.getElementById(id).getBoundingClientRect();
                  const inner = (a, b) => a.left >= b.left - 1 && a.right <= b.right + 1 &&
                    a.top >= b.top - 1 && a.bottom <= b.bottom + 1;
                  return box.width > 0 && inner(box, pane) &&
                    inner(pane, { left: 0, top: 0, right: innerWidth, bottom: innerHeight });
                }""",
                element_id,
            )
        )


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser: Any) -> Iterator[Any]:
    """Open a page from disk (laptop size unless told); afterwards no script may have failed,
    nothing may have been logged as an error, and nothing but the page may have been fetched."""
    sessions: list[tuple[Session, Path]] = []

    def opener(path: Path, width: int = 1366, height: int = 768) -> Session:
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        session = Session(page)
        context.on("request", lambda request: session.requests.append(request.url))
        context.route(
            "**/*",
            lambda route: (
                route.continue_() if route.request.url.startswith("file:") else route.abort()
            ),
        )
        page.on("pageerror", lambda error: session.errors.append(str(error)))
        page.on(
            "console",
            lambda message: (
                session.errors.append(message.text) if message.type == "error" else None
            ),
        )
        page.goto(path.as_uri())
        sessions.append((session, path))
        return session

    yield opener
    for session, path in sessions:
        assert session.errors == []
        assert session.requests == [path.as_uri()]
        session.page.context.close()
