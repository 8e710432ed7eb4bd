"""The explorer page, used as a learner uses it: opened from disk in a real browser (Debian's
chromium, driven by Playwright), clicked, stepped through, read back.

What the page shows is compared with a pass of the engine rebuilt here (same network, same
input, so the page's node ``n{i}`` is the i-th node of ``topological_order(L)``), with numpy's
matrix formulas, and with the chain rule itself (the terms shown add up to the grad shown).
Tests marked ``browser`` are skipped when Playwright or /usr/bin/chromium is missing.

`make_docs_example` writes the docs' example page and screenshot:
``python tests/test_explorer.py`` (needs both, and Graphviz).
"""

from __future__ import annotations

import html.parser
import json
import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from microbp import MLP, Value, formulas, topological_order
from microbp.drawing import MAX_NODES, GraphTooLargeError
from microbp.explorer import INLINE_HEIGHT, explore, write_html
from microbp.nn import HIDDEN_ACTIVATIONS, LOSSES, Layer

pytestmark = pytest.mark.dot

ROOT = Path(__file__).resolve().parent.parent
DOCS_EXAMPLE = ROOT / "docs" / "explorer" / "example.html"
DOCS_SCREENSHOT = ROOT / "docs" / "img" / "explorer.png"
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

X = [0.5, -1.0, 2.0]
OUTPUT = {"cross_entropy": "softmax", "squared_error": "linear"}
TARGET: dict[str, Any] = {"cross_entropy": 1, "squared_error": [1.0, -0.5]}
CASES = [(hidden, loss) for hidden in HIDDEN_ACTIVATIONS for loss in OUTPUT]


# ---- the pass the page should show, rebuilt here ----


@dataclass
class Expected:
    """An engine pass of the network a page shows, and what follows from it."""

    net: MLP
    L: Value
    nodes: list[Value]  # the page's node n{i} is nodes[i]
    formula: formulas.Gradients
    children: dict[Value, list[tuple[Value, int]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for v in self.nodes:
            for i, p in enumerate(v.parents):
                self.children.setdefault(p, []).append((v, i))

    def id(self, v: Value) -> str:
        return f"n{self.nodes.index(v)}"

    def node(self, node_id: str) -> Value:
        return self.nodes[int(node_id[1:])]

    def layers(self) -> list[tuple[int, Layer, formulas.LayerGradients]]:
        """Each layer k with its formulas' gradients."""
        return [
            (layer.k, layer, grads) for layer, grads in zip(self.net.layers, self.formula.layers)
        ]

    def order(self) -> list[str]:
        """The order backward processes the nodes in: children before parents, root first."""
        return [self.id(v) for v in reversed(self.nodes) if v.parents]

    def paths_to_root(self, source: Value) -> tuple[set[str], Counter[tuple[str, str]]]:
        """The nodes on some path from source to L, and the edges between them (breadth first)."""
        found, frontier = {source}, [source]
        while frontier:
            frontier = [c for v in frontier for c, _ in self.children.get(v, []) if c not in found]
            found.update(frontier)
        edges = Counter(
            (self.id(v), self.id(c)) for v in found for c, _ in self.children.get(v, [])
        )
        return {self.id(v) for v in found}, edges


def engine_pass(hidden: str, loss: str, sizes: tuple[int, ...] = (3, 3, 2)) -> Expected:
    net = MLP(list(sizes), hidden=hidden, output=OUTPUT[loss], seed=0)
    L = LOSSES[loss](net(X), TARGET[loss])
    L.backward()
    formula = formulas.gradients(net, X, TARGET[loss], loss)
    return Expected(net, L, topological_order(L), formula)


def page_of(hidden: str, loss: str, folder: Path) -> Path:
    net = MLP([3, 3, 2], hidden=hidden, output=OUTPUT[loss], seed=0)
    return write_html(net, X, TARGET[loss], folder / f"{hidden}-{loss}.html", loss=loss)


def embedded_data(page_html: str) -> dict[str, Any]:
    found = re.search(
        r'<script type="application/json" id="microbp-data">(.*?)</script>', page_html
    )
    assert found is not None
    return json.loads(found[1])


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)


# ---- the page as a file (no browser needed) ----


def test_the_page_is_one_file_that_needs_nothing_else(tmp_path):
    path = page_of("sigmoid", "cross_entropy", tmp_path)
    text = path.read_text(encoding="utf-8")
    references = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)""", text, re.I)
    assert references == []
    assert not re.search(r"@import|url\(|<link|<iframe", text, re.I)
    assert "<svg" in text and "</svg>" in text and "<script>" in text and "<style>" in text
    addresses = set(re.findall(r"https?://[^\s\"'<>]+", text))
    assert addresses <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


@pytest.mark.parametrize(("hidden", "loss"), CASES)
def test_the_embedded_numbers_are_the_engines_graph_and_grads(hidden, loss, tmp_path):
    data = embedded_data(page_of(hidden, loss, tmp_path).read_text(encoding="utf-8"))
    want = engine_pass(hidden, loss)
    assert [n["id"] for n in data["nodes"]] == [want.id(v) for v in want.nodes]
    for shown, v in zip(data["nodes"], want.nodes):
        assert (shown["name"], shown["op"], shown["data"], shown["grad"]) == (
            v.name,
            v.op,
            v.data,
            v.grad,
        )
    edges = Counter((e["parent"], e["child"], e["local"], e["term"]) for e in data["edges"])
    assert edges == Counter(
        (want.id(p), want.id(v), v.local_grads[i], v.local_grads[i] * v.grad)
        for v in want.nodes
        for i, p in enumerate(v.parents)
    )
    assert data["order"] == want.order()
    for layer, grads in zip(data["layers"], want.formula.layers):
        assert np.allclose(layer["grad_W_formula"], grads.grad_W, rtol=0, atol=1e-15)
        engine_W = [[want.node(w).grad for w in row] for row in layer["W"]]
        assert np.allclose(engine_W, grads.grad_W, rtol=1e-12, atol=1e-15)
        assert layer["max_abs_diff"] == np.max(np.abs(np.array(engine_W) - grads.grad_W))


def test_the_parameters_hold_exactly_this_passs_grads_afterwards(tmp_path):
    net = MLP([3, 3, 2], seed=0)
    for p in net.parameters():
        p.grad = 123.0  # left over from earlier passes
    write_html(net, X, 1, tmp_path / "page.html")
    want = engine_pass("sigmoid", "cross_entropy")
    assert [p.grad for p in net.parameters()] == [p.grad for p in want.net.parameters()]


def test_a_graph_over_the_rendering_limit_is_refused_as_the_svg_is_and_nothing_changes(tmp_path):
    net = MLP([20, 20, 3], seed=0)
    for p in net.parameters():
        p.grad = 5.0
    with pytest.raises(GraphTooLargeError, match=f"more than max_nodes={MAX_NODES}"):
        write_html(net, [0.1] * 20, 0, tmp_path / "page.html")
    assert list(tmp_path.iterdir()) == []
    assert {p.grad for p in net.parameters()} == {5.0}


def test_bad_arguments_are_refused_before_anything_is_written(tmp_path):
    net = MLP([3, 3, 2], seed=0)
    page = tmp_path / "page.html"
    with pytest.raises(TypeError, match="needs a microbp MLP"):
        write_html([[1.0]], X, 1, page)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        write_html(net, X, 1, page, loss="hinge")
    with pytest.raises(TypeError, match=r"path must be a str or os\.PathLike"):
        write_html(net, X, 1, 42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="label 5 is out of range"):
        write_html(net, X, 5, page)
    with pytest.raises(ValueError, match="takes 3 inputs"):
        write_html(net, [1.0], 1, page)
    with pytest.raises(FileNotFoundError):
        write_html(net, X, 1, tmp_path / "missing" / "page.html")
    assert list(tmp_path.iterdir()) == []


def test_write_html_writes_exactly_the_page_explore_builds_and_returns_the_path(tmp_path):
    net = MLP([3, 3, 2], seed=0)
    path = write_html(net, X, 1, str(tmp_path / "page.html"))
    assert path == tmp_path / "page.html"
    assert path.read_text(encoding="utf-8") == explore(MLP([3, 3, 2], seed=0), X, 1).html
    assert [p.name for p in tmp_path.iterdir()] == ["page.html"]


def test_a_numpy_input_and_label_give_the_same_page_as_plain_numbers():
    plain = embedded_data(explore(MLP([3, 3, 2], seed=0), X, 1).html)
    x, label = np.array(X), np.int64(1)
    from_numpy = embedded_data(explore(MLP([3, 3, 2], seed=0), x, label).html)  # type: ignore[arg-type]
    assert from_numpy == plain


def test_the_page_of_the_default_explain_network_is_well_under_a_megabyte():
    net = MLP([3, 3, 3, 2], seed=0)  # `microbp explain`'s default network and input
    size = len(explore(net, [0.69, 0.52, -0.16], 0).html.encode("utf-8"))
    assert size < 256 * 1024, size


class _IframeReader(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.iframes: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "iframe":
            self.iframes.append(dict(attrs))


def test_in_jupyter_the_same_page_shows_inline_in_an_iframe():
    explorer = explore(MLP([3, 3, 2], seed=0), X, 1)
    reader = _IframeReader()
    reader.feed(explorer._repr_html_())
    (iframe,) = reader.iframes
    assert iframe["srcdoc"] == explorer.html
    assert f"height: {INLINE_HEIGHT}px" in (iframe["style"] or "")


def test_the_committed_example_page_shows_what_the_code_builds_today():
    committed = embedded_data(DOCS_EXAMPLE.read_text(encoding="utf-8"))
    fresh = embedded_data(docs_example().html)
    assert committed == fresh


# ---- in the browser ----


@dataclass
class Session:
    """A page open in chromium, with every request it made and every script error."""

    page: Any
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def state(self) -> dict[str, Any]:
        """What the page shows now: lit and stepped nodes and edges, the grads, the panel."""
        return self.page.evaluate(
            """() => {
              const ids = (selector) => [...document.querySelectorAll(selector)].map((e) => e.id);
              const titles = (selector) => [...document.querySelectorAll(selector)]
                .map((e) => e.querySelector("title").textContent);
              const numbers = {};
              for (const span of document.querySelectorAll("#panel span.num[data-role]")) {
                (numbers[span.dataset.role] ||= []).push(Number(span.dataset.value));
              }
              const rows = (role, key) =>
                [...document.querySelectorAll(`#panel tr[data-role=${role}]`)].map((tr) => [
                  tr.dataset[key],
                  ...[...tr.querySelectorAll("span.num")].map((s) => Number(s.dataset.value)),
                ]);
              const grads = {};
              for (const g of document.querySelectorAll("#graph g.node")) {
                grads[g.id] = g.querySelector("text.grad").textContent;
              }
              return {
                litNodes: ids("#graph g.node.lit"), litEdges: titles("#graph g.edge.lit"),
                current: ids("#graph g.node.current"), sending: titles("#graph g.edge.sending"),
                step: Number(document.body.dataset.step),
                status: document.getElementById("status").textContent,
                panel: document.getElementById("panel").innerText, numbers,
                terms: rows("term", "child"), sent: rows("sent", "parent"), grads,
              };
            }"""
        )

    def shown_numbers(self) -> list[tuple[str, float]]:
        """Every number the panel shows: its text, and the full value it is a rounding of."""
        return [
            (text, float(value))
            for text, value in self.page.eval_on_selector_all(
                "#panel span.num", "spans => spans.map((s) => [s.textContent, s.dataset.value])"
            )
        ]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser: Any) -> Iterator[Any]:
    """Open a page from disk at laptop size; afterwards, no script may have failed."""
    sessions: list[Session] = []

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
        page.goto(path.as_uri())
        sessions.append(session)
        return session

    yield opener
    for session in sessions:
        assert session.errors == []
        session.page.context.close()


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    folder = tmp_path_factory.mktemp("explorer")
    return {case: page_of(*case, folder) for case in CASES}


@pytest.fixture(params=CASES, ids="-".join)
def explored(
    request: pytest.FixtureRequest, pages: Any, open_page: Any
) -> tuple[Session, Expected]:
    """The page of one hidden activation and loss, open, and the pass it should show."""
    return open_page(pages[request.param]), engine_pass(*request.param)


def entry(kind: str, k: int, i: int, j: int | None = None) -> str:
    column = f'[data-j="{j}"]' if j is not None else ""
    return f'#matrices button.entry[data-kind="{kind}"][data-k="{k}"][data-i="{i}"]{column}'


def assert_numbers_shown_round_their_values(session: Session) -> None:
    for text, value in session.shown_numbers():
        assert math.isclose(float(text), value, rel_tol=5e-6, abs_tol=1e-300), (text, value)


def pairs(titles: list[str]) -> Counter[tuple[str, str]]:
    """Edges by their SVG titles, ``n3->n7``, as (parent id, child id) pairs."""
    return Counter(tuple(title.split("->")) for title in titles)  # type: ignore[misc]


@pytest.mark.browser
def test_an_entry_of_grad_W_lights_W_its_edge_to_a_and_every_path_to_L_and_shows_the_product(
    explored,
):
    session, want = explored
    for k, layer, grads in want.layers():
        for i, row in enumerate(layer.W, start=1):
            for j, w in enumerate(row, start=1):
                session.page.click(entry("W", k, i, j))
                shown = session.state()
                a, h = layer.a[i - 1], layer.h_prev[j - 1]
                path_nodes, path_edges = want.paths_to_root(a)
                assert set(shown["litNodes"]) == {want.id(w)} | path_nodes
                assert pairs(shown["litEdges"]) == path_edges + Counter([(want.id(w), want.id(a))])
                numbers = shown["numbers"]
                assert numbers["grad"] == [w.grad]
                assert numbers["child-grad"] == [a.grad]
                assert numbers["local"] == [h.data]
                assert close(w.grad, grads.grad_W[i - 1, j - 1])
                assert close(a.grad, grads.grad_a[i - 1])
                assert numbers["formula"] == [grads.grad_W[i - 1, j - 1]]
                assert f"∂L/∂{w.name} = ∂L/∂{a.name} · {h.name}" in shown["panel"]
                assert_numbers_shown_round_their_values(session)


@pytest.mark.browser
def test_entries_of_grad_b_and_grad_a_light_their_paths_to_L_and_show_their_chain_rule(explored):
    session, want = explored
    for k, layer, grads in want.layers():
        for i, (b, a) in enumerate(zip(layer.b, layer.a), start=1):
            path_nodes, path_edges = want.paths_to_root(a)

            session.page.click(entry("b", k, i))
            shown = session.state()
            assert set(shown["litNodes"]) == {want.id(b)} | path_nodes
            assert pairs(shown["litEdges"]) == path_edges + Counter([(want.id(b), want.id(a))])
            assert shown["numbers"]["grad"] == [b.grad]
            assert shown["numbers"]["child-grad"] == [a.grad]
            assert shown["numbers"]["local"] == [1.0]
            assert close(b.grad, grads.grad_b[i - 1])
            assert f"∂L/∂{b.name} = ∂L/∂{a.name} · 1" in shown["panel"]

            session.page.click(entry("a", k, i))
            shown = session.state()
            assert set(shown["litNodes"]) == path_nodes
            assert pairs(shown["litEdges"]) == path_edges
            assert shown["numbers"]["grad"] == [a.grad]
            assert close(a.grad, grads.grad_a[i - 1])
            assert_chain_rule_shown(shown, a, want)
            assert_numbers_shown_round_their_values(session)


def assert_chain_rule_shown(shown: dict[str, Any], v: Value, want: Expected) -> None:
    """The panel lists one term per edge out of v, child's grad × local derivative, and
    those terms add up to v's grad."""
    terms = sorted(tuple(row) for row in shown["terms"])
    assert terms == sorted(
        (want.id(c), c.grad, c.local_grads[i], c.local_grads[i] * c.grad)
        for c, i in want.children.get(v, [])
    )
    if v is not want.L:
        assert math.isclose(math.fsum(t[-1] for t in terms), v.grad, rel_tol=1e-12, abs_tol=1e-15)
        assert shown["numbers"]["sum"] == [v.grad]


@pytest.mark.browser
def test_any_node_clicked_shows_its_data_grad_and_the_chain_rule_terms_that_sum_to_it(explored):
    session, want = explored
    for v in want.nodes:
        node_id = want.id(v)
        session.page.click(f"#graph g.node#{node_id}")
        shown = session.state()
        children = want.children.get(v, [])
        assert set(shown["litNodes"]) == {node_id} | {want.id(c) for c, _ in children}
        assert pairs(shown["litEdges"]) == Counter((node_id, want.id(c)) for c, _ in children)
        assert shown["numbers"]["data"] == [v.data]
        assert shown["numbers"]["grad"] == [v.grad]
        assert_chain_rule_shown(shown, v, want)
        if v is want.L:
            assert "where backward starts" in shown["panel"] and v.grad == 1.0
    assert_numbers_shown_round_their_values(session)


def grad_shown(v: Value) -> str:
    return f"grad {v.grad:.4g}"


@pytest.mark.browser
def test_stepping_replays_backward_in_the_engines_order_each_grad_appearing_when_complete(explored):
    session, want = explored
    order = want.order()
    shown = session.state()
    assert shown["grads"] == {want.id(v): grad_shown(v) for v in want.nodes}  # the pass done

    session.page.keyboard.press("Home")
    shown = session.state()
    assert shown["step"] == 0 and shown["current"] == [] and shown["sending"] == []
    assert set(shown["grads"].values()) == {"grad ?"}
    for step in range(1, len(order) + 1):
        session.page.keyboard.press("ArrowRight")
        shown = session.state()
        v = want.node(order[step - 1])
        assert shown["step"] == step
        assert shown["current"] == [want.id(v)]
        assert f"Step {step} of {len(order)}" in shown["status"]
        assert pairs(shown["sending"]) == Counter((want.id(p), want.id(v)) for p in v.parents)
        assert sorted(tuple(row) for row in shown["sent"]) == sorted(
            (want.id(p), v.local_grads[i], v.local_grads[i] * v.grad)
            for i, p in enumerate(v.parents)
        )
        assert shown["numbers"]["grad"] == [v.grad]
        done = set(order[:step])
        for u in want.nodes:
            complete = u is want.L or (
                u in want.children and all(want.id(c) in done for c, _ in want.children[u])
            )
            assert shown["grads"][want.id(u)] == (grad_shown(u) if complete else "grad ?")
    session.page.keyboard.press("ArrowRight")  # past the last step: nothing more to do
    assert session.state()["step"] == len(order)
    session.page.keyboard.press("ArrowLeft")
    assert session.state()["current"] == [order[-2]]
    session.page.click("#back")
    assert session.state()["step"] == len(order) - 2
    session.page.keyboard.press("End")
    assert session.state()["grads"] == {want.id(v): grad_shown(v) for v in want.nodes}


@pytest.mark.browser
def test_a_node_chosen_mid_replay_says_at_which_step_its_grad_is_complete(pages, open_page):
    session = open_page(pages["sigmoid", "squared_error"])
    want = engine_pass("sigmoid", "squared_error")
    order = want.order()
    session.page.keyboard.press("Home")
    for _ in range(3):
        session.page.keyboard.press("ArrowRight")
    for v in want.net.parameters():
        session.page.click(f"#graph g.node#{want.id(v)}")
        complete_at = max(order.index(want.id(c)) + 1 for c, _ in want.children[v])
        note = f"(at step 3) this grad is complete at step {complete_at}."
        assert note in session.state()["panel"]


@pytest.mark.browser
def test_play_replays_every_step_in_order_at_the_chosen_speed_then_stops(pages, open_page):
    session = open_page(pages["tanh", "cross_entropy"])
    want = engine_pass("tanh", "cross_entropy")
    page = session.page
    page.eval_on_selector(
        "#speed", "s => { s.value = s.max; s.dispatchEvent(new Event('input')); }"
    )
    assert page.text_content("#speed-shown") == "20 steps/s"
    page.evaluate(
        """() => {
          window.seen = [];
          new MutationObserver(() => {
            const current = document.querySelector("#graph g.node.current");
            window.seen.push([Number(document.body.dataset.step), current ? current.id : null]);
          }).observe(document.body, { attributes: true, attributeFilter: ["data-step"] });
        }"""
    )
    page.click("#play")
    assert page.get_attribute("#play", "aria-pressed") == "true"
    page.wait_for_function(
        "document.getElementById('play').getAttribute('aria-pressed') === 'false'"
    )
    order = want.order()
    seen = page.evaluate("window.seen")
    assert seen == [[0, None]] + [[s, node_id] for s, node_id in enumerate(order, start=1)]
    assert page.text_content("#play") == "Play"

    page.keyboard.press("p")  # from the end, play starts over
    assert page.get_attribute("#play", "aria-pressed") == "true"
    page.keyboard.press("p")
    assert page.get_attribute("#play", "aria-pressed") == "false"


@pytest.mark.browser
def test_everything_can_be_done_from_the_keyboard(pages, open_page):
    session = open_page(pages["sigmoid", "cross_entropy"])
    page = session.page
    want = engine_pass("sigmoid", "cross_entropy")
    reached = set()
    for _ in range(200):  # Tab goes through the controls, the entries, then the graph's nodes
        page.keyboard.press("Tab")
        reached.add(page.evaluate("document.activeElement.id || document.activeElement.className"))
    assert {"reset", "step", "play", "speed"} <= reached
    assert "entry" in reached
    assert {want.id(v) for v in want.nodes} <= reached

    page.focus(entry("W", 2, 1, 3))
    page.keyboard.press("Enter")
    w = want.net.layers[1].W[0][2]
    assert session.state()["numbers"]["grad"] == [w.grad]
    page.keyboard.press("Escape")
    assert session.state()["litNodes"] == []

    a = want.net.layers[0].a[1]
    page.focus(f"#{want.id(a)}")
    page.keyboard.press("Enter")
    shown = session.state()
    assert shown["numbers"]["grad"] == [a.grad] and want.id(a) in shown["litNodes"]


@pytest.mark.browser
def test_the_page_makes_no_network_request(pages, open_page):
    path = pages["relu", "squared_error"]
    session = open_page(path)
    page = session.page
    page.click(entry("W", 1, 2, 3))
    page.click("#graph g.node#n0")
    page.click("#reset")
    page.keyboard.press("ArrowRight")
    page.click("#zoom-in")
    page.click("#play")
    page.wait_for_function(
        "document.getElementById('play').getAttribute('aria-pressed') === 'false'"
    )
    assert session.requests == [path.as_uri()]


@pytest.mark.browser
@pytest.mark.parametrize(("width", "height"), [(1280, 720), (1024, 700)])
def test_at_laptop_width_nothing_needs_sideways_scrolling_but_the_graph(
    width, height, pages, open_page
):
    session = open_page(pages["sigmoid", "cross_entropy"], width, height)
    sizes = session.page.evaluate(
        """() => ({
          page: [document.documentElement.scrollWidth, window.innerWidth],
          matrices: [document.getElementById("matrices").scrollWidth,
                     document.getElementById("matrices").clientWidth],
          graph: document.getElementById("graph").getBoundingClientRect().width,
          panel: document.getElementById("panel").getBoundingClientRect().height,
        })"""
    )
    assert sizes["page"][0] <= sizes["page"][1]
    assert sizes["matrices"][0] <= sizes["matrices"][1]
    assert sizes["graph"] >= width / 2
    assert sizes["panel"] > 0


@pytest.mark.browser
def test_the_inline_jupyter_display_is_the_same_working_page(browser):
    explorer = explore(MLP([3, 3, 2], seed=0), X, 1)
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_content(explorer._repr_html_())
    frame = page.frame_locator("iframe")
    frame.locator(entry("W", 2, 1, 3)).click()
    panel = frame.locator("#panel").inner_text()
    assert "∂L/∂W2[1,3] = ∂L/∂a2[1] · h1[3]" in panel
    assert "0.353906 = 0.551354 × 0.641886" in panel
    assert errors == []
    page.close()


# ---- the docs' example page and screenshot ----


def docs_example() -> Any:
    """The example of docs/backprop.md: the 3-3-2 network at x = (0.5, −1, 2), label 1."""
    return explore(MLP([3, 3, 2], seed=0), X, 1)


def make_docs_example() -> None:
    """Write docs/explorer/example.html and docs/img/explorer.png (∇W2[1,3] chosen, the graph
    zoomed out a step so that its paths to L fit)."""
    from playwright.sync_api import sync_playwright

    path = docs_example().write(DOCS_EXAMPLE)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = chromium.new_page(viewport={"width": 1366, "height": 768})
        page.goto(path.as_uri())
        page.click("#zoom-out")
        page.click(entry("W", 2, 1, 3))
        page.screenshot(path=str(DOCS_SCREENSHOT))
        chromium.close()
    print(f"wrote {path} ({path.stat().st_size} bytes) and {DOCS_SCREENSHOT}")


if __name__ == "__main__":
    make_docs_example()
