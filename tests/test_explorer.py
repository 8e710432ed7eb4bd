"""The explorer page, used as a learner uses it: opened from disk in a real browser (Debian's
chromium, driven by Playwright), clicked, stepped through, read back, at three screen sizes.

What the page shows is compared with the Python engine's pass of the same network. Tests
marked ``browser`` are skipped when Playwright or /usr/bin/chromium is missing. The edits and
SGD steps are in test_explorer_edits.py.

`make_docs_example` writes the docs' example page and screenshots:
``python tests/test_explorer.py`` (needs both, and Graphviz).
"""

from __future__ import annotations

import html.parser
import json
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from explorer_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    SETTINGS,
    Setting,
    browser,
    close,
    open_page,
    python_pass,
)

from microbp import MLP, topological_order
from microbp.drawing import MAX_NODES, GraphTooLargeError
from microbp.explorer import INLINE_HEIGHT, explore, write_html
from microbp.nn import LOSSES

__all__ = ["browser", "open_page"]  # the fixtures, used by name

pytestmark = pytest.mark.dot

ROOT = Path(__file__).resolve().parent.parent
DOCS_EXAMPLE = ROOT / "docs" / "explorer" / "example.html"
DOCS_IMAGES = ROOT / "docs" / "img"
X = [0.5, -1.0, 2.0]


def embedded_data(page_html: str) -> dict[str, Any]:
    found = re.search(
        r'<script type="application/json" id="microbp-data">(.*?)</script>', page_html
    )
    assert found is not None
    return json.loads(found[1])


# ---- the page as a file (no browser needed) ----


def test_the_page_is_one_file_that_needs_nothing_else(tmp_path):
    text = SETTINGS["default"].write(tmp_path).read_text(encoding="utf-8")
    references = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)""", text, re.I)
    assert references == []
    assert not re.search(r"@import|url\(|<link|<iframe", text, re.I)
    assert "<svg" in text and "</svg>" in text and "<script>" in text and "<style>" in text
    addresses = set(re.findall(r"https?://[^\s\"'<>]+", text))
    assert addresses <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


@pytest.mark.parametrize("name", ["default", "tanh-squared"])
def test_the_embedded_numbers_are_the_networks_and_the_engines(name, tmp_path):
    setting = SETTINGS[name]
    data = embedded_data(setting.write(tmp_path).read_text(encoding="utf-8"))
    want = python_pass(setting)
    network = data["network"]
    assert network["x"] == setting.x() and network["target"] == setting.target()
    assert network["W"] == [[[w.data for w in row] for row in layer.W] for layer in want.net.layers]
    assert network["b"] == [[b.data for b in layer.b] for layer in want.net.layers]
    assert network["activations"] == [layer.activation for layer in want.net.layers]
    nodes = topological_order(want.L)
    assert [(n["name"], n["data"], n["grad"]) for n in data["nodes"]] == [
        (v.name, v.data, v.grad) for v in nodes
    ]
    ids = {v: f"n{i}" for i, v in enumerate(nodes)}
    edges = Counter((e["parent"], e["child"], e["local"], e["term"]) for e in data["edges"])
    assert edges == Counter(
        (ids[p], ids[v], v.local_grads[i], v.local_grads[i] * v.grad)
        for v in nodes
        for i, p in enumerate(v.parents)
    )
    assert data["order"] == [ids[v] for v in reversed(nodes) if v.parents]
    for layer, net_layer in zip(data["layers"], want.net.layers):
        assert layer["W"] == [[ids[w] for w in row] for row in net_layer.W]
        assert layer["a"] == [ids[a] for a in net_layer.a]


def test_a_name_holding_a_lone_surrogate_is_written_and_reaches_the_page_as_it_is(tmp_path):
    net = MLP([2, 2, 2], seed=0)
    net.layers[0].W[0][0].name = "w\ud800x"  # no UTF-8 for it: the page carries it escaped
    path = write_html(net, [1.0, 2.0], 0, tmp_path / "page.html")
    data = embedded_data(path.read_text(encoding="utf-8"))
    assert "w\ud800x" in [n["name"] for n in data["nodes"]]


def test_the_parameters_hold_exactly_this_passs_grads_afterwards(tmp_path):
    net = MLP([3, 3, 2], seed=0)
    for p in net.parameters():
        p.grad = 123.0  # left over from earlier passes
    write_html(net, X, 1, tmp_path / "page.html")
    want = MLP([3, 3, 2], seed=0)
    LOSSES["cross_entropy"](want(X), 1).backward()
    assert [p.grad for p in net.parameters()] == [p.grad for p in want.parameters()]


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
    np = pytest.importorskip("numpy")
    plain = embedded_data(explore(MLP([3, 3, 2], seed=0), X, 1).html)
    x, label = np.array(X), np.int64(1)
    from_numpy = embedded_data(explore(MLP([3, 3, 2], seed=0), x, label).html)
    assert from_numpy == plain


def test_the_page_of_the_default_explain_network_is_at_most_200_kB():
    net = MLP([3, 3, 3, 2], seed=0)  # `microbp explain`'s default network and input
    size = len(explore(net, [0.69, 0.52, -0.16], 0).html.encode("utf-8"))
    assert size <= 200 * 1024, size


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
    assert committed == embedded_data(docs_example().html)


# ---- in the browser: the product ----


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("explorer")
    return {name: setting.write(folder) for name, setting in SETTINGS.items()}


def sampled_entries(setting: Setting, per_layer: int = 4) -> list[tuple[int, int, int]]:
    """Some entries (k, i, j) of every ∇W_k: its corners and a few drawn at random."""
    rng = random.Random(0)
    entries = []
    for k in range(1, len(setting.sizes)):
        rows, cols = setting.sizes[k], setting.sizes[k - 1]
        picks = {(1, 1), (rows, cols)} | {
            (rng.randint(1, rows), rng.randint(1, cols)) for _ in range(per_layer - 2)
        }
        entries += [(k, i, j) for i, j in sorted(picks)]
    return entries


@pytest.mark.browser
@pytest.mark.parametrize("name", list(SETTINGS))
def test_choosing_an_entry_of_grad_W_lights_its_two_factors_the_row_and_the_column(
    name, pages, open_page
):
    setting = SETTINGS[name]
    session = open_page(pages[name])
    want = python_pass(setting)
    for k, i, j in sampled_entries(setting):
        session.choose("gW", k, i, j)
        assert session.with_class("chosen") == {("gW", k, i, j), ("W", k, i, j)}
        assert {c[:3] for c in session.with_class("factor-grad")} == {("ga", k, i)}
        assert {c[:3] for c in session.with_class("factor-local")} == {("h", k - 1, j)}
        assert session.svg_with_class("factor-grad") == {f"lv-a{k}-{i}"}
        assert session.svg_with_class("factor-local") == {f"lv-h{k - 1}-{j}"}
        assert session.svg_with_class("chosen") == {f"lv-w{k}-{i}-{j}"}
        shaded = session.page.evaluate(
            """(k) => [...document.querySelectorAll(`table.outer[data-k="${k}"] td`)]
              .filter((td) => td.querySelector(".entry[data-q=gW]"))
              .map((td) => { const b = td.firstChild; return [Number(b.dataset.i),
                Number(b.dataset.j), td.classList.contains("row-lit"),
                td.classList.contains("col-lit")]; })""",
            k,
        )
        assert all((r == i, c == j) == (row, col) for r, c, row, col in shaded)
        numbers = session.panel_numbers()
        assert numbers["grad"] == [pytest.approx(want.value("gW", k, i, j), rel=1e-12, abs=1e-15)]
        assert close(numbers["factor-grad"][0], want.value("ga", k, i, 0))  # type: ignore[arg-type]
        assert numbers["factor-local"] == [want.value("h", k - 1, j, 0)]
        h_name = "x" if k == 1 else f"h{k - 1}"
        assert f"∂L/∂W{k}[{i},{j}] = ∂L/∂a{k}[{i}] · {h_name}[{j}]" in session.page.inner_text(
            "#panel"
        )
        assert session.inside_graph_pane(f"lv-a{k}-{i}")
    k, i = len(setting.sizes) - 1, setting.sizes[-1]
    session.choose("gb", k, i)
    assert session.with_class("chosen") == {("gb", k, i, 0), ("b", k, i, 0)}
    assert {c[:3] for c in session.with_class("factor-grad")} == {("ga", k, i)}
    assert session.svg_with_class("factor-grad") == {f"lv-a{k}-{i}"}


@pytest.mark.browser
def test_every_matrix_has_row_and_column_indices(pages, open_page):
    session = open_page(pages["tanh-squared"])
    indices = session.page.evaluate(
        """() => [...document.querySelectorAll("table.outer, table.params")].map((t) => [
          t.className, t.dataset.k, t.rows[0].querySelectorAll("th.index").length,
          [...t.querySelectorAll("tbody tr th.index")].length])"""
    )
    sizes = SETTINGS["tanh-squared"].sizes
    for kind, k, columns, index_cells in indices:
        rows, cols = sizes[int(k)], sizes[int(k) - 1]
        assert columns == cols and index_cells == rows + cols, kind


@pytest.mark.browser
def test_a_dead_relu_unit_is_marked_blocked_with_its_zero_gradients(pages, open_page):
    setting = SETTINGS["relu-deep"]
    session = open_page(pages["relu-deep"])
    want = python_pass(setting)
    dead = [
        (layer.k, i)
        for layer in want.net.layers[:-1]
        for i, a in enumerate(layer.a, start=1)
        if a.data <= 0
    ]
    assert dead, "the setting should have a dead unit"
    blocked = {f"lv-g{k}-{i}" for k, i in dead}
    assert session.svg_with_class("blocked") >= blocked
    k, i = dead[0]
    session.choose("gW", k, i, 1)
    assert "Blocked" in session.page.inner_text("#panel")
    assert session.panel_numbers()["grad"] == [0.0]


# ---- in the browser: the replay ----


def notes_step_formulas(setting: Setting) -> list[str]:
    """The formulas the replay should name, in order, as the notes write them."""
    n = len(setting.sizes) - 1
    prime = {"sigmoid": "σ′", "tanh": "tanh′", "relu": "relu′", "linear": "id′"}[setting.hidden]
    h = ["x"] + [f"h{k}" for k in range(1, n + 1)]
    steps = [f"a{k} = b{k} + W{k} {h[k - 1]}" for k in range(1, n + 1)]
    steps.append("L = −log ŷ_ℓ" if setting.loss == "cross_entropy" else "L = Σᵢ (ŷᵢ − yᵢ)²")
    if setting.loss == "cross_entropy":
        steps.append(f"∇a{n} = ŷ − e_ℓ")
    else:
        steps += [f"∇h{n} = ∇ŷ = 2(ŷ − y)", f"∇a{n} = ∇h{n} ⊙ id′(a{n})"]
    for k in range(n, 0, -1):
        steps += [f"∇W{k} = ∇a{k} {h[k - 1]}ᵀ", f"∇b{k} = ∇a{k}"]
        steps.append(f"∇h{k - 1} = W{k}ᵀ ∇a{k}" if k > 1 else "∇x = ∇h0 = W1ᵀ ∇a1")
        if k > 1:
            steps.append(f"∇a{k - 1} = ∇h{k - 1} ⊙ {prime}(a{k - 1})")
    return steps


@pytest.mark.browser
@pytest.mark.parametrize("name", list(SETTINGS))
def test_the_replay_names_the_notes_steps_in_order_filling_the_matrices_as_it_goes(
    name, pages, open_page
):
    setting = SETTINGS[name]
    session = open_page(pages[name])
    want = python_pass(setting)
    session.page.keyboard.press("Home")
    shown = session.cells()
    backward = [c for c in shown if c[0].startswith("g") or c[0] == "L"]
    assert backward and all(value == "" for *_, value, _ in backward)  # no backward number
    assert all(value == "" for q, k, _, _, value, _ in shown if q in ("a", "h") and k > 0)
    formulas = notes_step_formulas(setting)
    for step, formula in enumerate(formulas, start=1):
        session.page.keyboard.press("ArrowRight")
        assert formula in session.page.inner_text("#status"), (step, formula)
    for q, k, i, j, value, _ in session.cells():  # the last step: everything known, and right
        expected = want.value(q, k, i, j)
        assert (value == "") == (expected is None)
        if expected is not None:
            assert close(float(value), expected), (q, k, i, j)


@pytest.mark.browser
def test_a_matrix_entry_is_unknown_until_the_step_that_computes_it(pages, open_page):
    session = open_page(pages["default"])
    session.page.keyboard.press("Home")
    for _ in range(5):  # forward ×3, the loss, ∇a3
        session.page.keyboard.press("ArrowRight")
    known = {(q, k) for q, k, _, _, value, _ in session.cells() if value != ""}
    assert ("ga", 3) in known and ("a", 1) in known
    assert ("gW", 3) not in known and ("ga", 2) not in known
    session.page.keyboard.press("ArrowRight")
    new = {(q, k) for q, k, *_, classes in session.cells() if "new" in classes}
    assert new == {("gW", 3)}
    assert session.svg_with_class("new") == set()  # ∇W3 is no node's number
    session.page.keyboard.press("ArrowLeft")  # back to ∇a3 = ŷ − e_ℓ: the a3 nodes' gradients
    assert session.svg_with_class("new") >= {"lv-a3-1", "lv-a3-2"}


# ---- in the browser: reading it, on any screen, with any input device ----


@pytest.mark.browser
@pytest.mark.parametrize(("width", "height"), [(1366, 768), (1920, 1080), (390, 844)])
def test_the_explanation_and_the_graph_are_on_screen_together(width, height, pages, open_page):
    session = open_page(pages["default"], width, height)
    session.choose("gW", 2, 1, 3)
    boxes = session.page.evaluate(
        """() => Object.fromEntries(["panel", "graph"].map((id) => {
          const b = document.getElementById(id).getBoundingClientRect();
          return [id, [Math.max(0, b.top), Math.min(innerHeight, b.bottom),
                       Math.max(0, b.left), Math.min(innerWidth, b.right)]];
        }))"""
    )
    for top, bottom, left, right in boxes.values():
        assert bottom - top >= 150 and right - left >= 300
    product = session.page.query_selector('#panel [data-role="product"]')
    assert product is not None and product.is_visible()
    assert session.inside_graph_pane("lv-a2-1")
    page_width = session.page.evaluate("document.documentElement.scrollWidth")
    assert page_width <= width


SMALLEST_LABEL_JS = """(id) => {
  const svg = document.getElementById(id);
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  return Math.min(...[...svg.querySelectorAll("text")].map(
    (t) => parseFloat(t.getAttribute("font-size") || getComputedStyle(t).fontSize) * scale));
}"""


@pytest.mark.browser
@pytest.mark.parametrize("name", ["default", "largest"])
def test_labels_read_at_least_11_px_at_the_default_zoom(name, pages, open_page):
    session = open_page(pages[name])
    assert session.page.evaluate(SMALLEST_LABEL_JS, "layer-view") >= 11
    session.page.click("#view-scalar")
    assert session.page.evaluate(SMALLEST_LABEL_JS, "scalar-folded") >= 11
    session.page.check("#show-parameters")
    assert session.page.evaluate(SMALLEST_LABEL_JS, "scalar-full") >= 11


CLIPPED_ENTRIES_JS = """() => [...document.querySelectorAll("#matrices button.entry")]
  .filter((entry) => entry.textContent.length > 1)
  .map((entry) => [entry.textContent, entry.scrollWidth - entry.clientWidth])"""


@pytest.mark.browser
def test_every_matrix_entry_shows_its_whole_number(pages, open_page):
    shown = []
    for name in SETTINGS:
        session = open_page(pages[name])
        shown += session.page.evaluate(CLIPPED_ENTRIES_JS)
    assert max(len(text) for text, _ in shown) >= 10  # e.g. −0.0007462: the widest 4-digit form
    assert [text for text, overflow in shown if overflow > 0] == []


@pytest.mark.browser
def test_fit_shows_the_whole_network_in_its_pane(pages, open_page):
    session = open_page(pages["largest"])
    session.page.click("#fit")
    assert session.inside_graph_pane("lv-h0-1") and session.inside_graph_pane("lv-L")
    assert session.inside_graph_pane("lv-a2-16")


@pytest.mark.browser
def test_everything_can_be_done_from_the_keyboard(pages, open_page):
    setting = SETTINGS["default"]
    session = open_page(pages["default"])
    page = session.page
    reached = set()
    for _ in range(120):  # Tab goes through the controls, the panel, the nodes, the entries
        page.keyboard.press("Tab")
        reached.add(page.evaluate("document.activeElement.id || document.activeElement.className"))
    assert {"reset", "step", "play", "speed", "sgd", "fit", "view-scalar", "lr"} <= reached
    assert "entry" in reached and "lv-a2-1" in reached
    page.focus('#matrices button.entry[data-q="gW"][data-k="2"][data-i="1"][data-j="3"]')
    page.keyboard.press("Enter")
    assert session.with_class("chosen") == {("gW", 2, 1, 3), ("W", 2, 1, 3)}
    page.focus("#lv-a1-2")
    page.keyboard.press("Enter")
    assert ("ga", 1, 2, 0) in session.with_class("chosen")
    page.keyboard.press("Escape")
    assert session.with_class("chosen") == set()
    before = python_pass(setting).L.data
    page.keyboard.press("s")
    assert "SGD step 1" in page.inner_text("#status")
    assert (
        float(page.eval_on_selector("#matrices .entry[data-q=L] span", "s => s.dataset.value"))
        < before
    )
    page.keyboard.press("v")
    assert page.is_visible("#scalar-view svg") and not page.is_visible("#layer-view")


@pytest.mark.browser
def test_the_inline_jupyter_display_is_the_same_working_page(browser):
    explorer = explore(MLP([3, 3, 2], seed=0), X, 1)
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_content(explorer._repr_html_())
    frame = page.frame_locator("iframe")
    frame.locator('#matrices button.entry[data-q="gW"][data-k="2"][data-i="1"][data-j="3"]').click()
    panel = frame.locator("#panel").inner_text()
    assert "∂L/∂W2[1,3] = ∂L/∂a2[1] · h1[3]" in panel
    assert "0.353906 = 0.551354 × 0.641886" in panel
    assert errors == []
    page.close()


# ---- the docs' example page and screenshots ----


def docs_example() -> Any:
    """The example of docs/backprop.md: the 3-3-2 network at x = (0.5, −1, 2), label 1."""
    return explore(MLP([3, 3, 2], seed=0), X, 1)


def make_docs_example() -> None:
    """Write docs/explorer/example.html and a screenshot of each view into docs/img/."""
    from playwright.sync_api import sync_playwright

    path = docs_example().write(DOCS_EXAMPLE)
    entry = '#matrices button.entry[data-q="gW"][data-k="2"][data-i="1"][data-j="3"]'
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = chromium.new_page(viewport={"width": 1366, "height": 768})
        page.goto(path.as_uri())
        page.click(entry)
        page.screenshot(path=str(DOCS_IMAGES / "explorer.png"))
        page.keyboard.press("Escape")
        page.keyboard.press("Home")
        for _ in range(6):
            page.keyboard.press("ArrowRight")
        page.screenshot(path=str(DOCS_IMAGES / "explorer-replay.png"))
        page.keyboard.press("Escape")
        page.click(entry)
        page.fill("#edit-number", "-1.5")
        page.dispatch_event("#edit-number", "change")
        for _ in range(3):
            page.click("#sgd")
        page.screenshot(path=str(DOCS_IMAGES / "explorer-edit.png"))
        page.click("#undo")
        page.click("#lv-loss-step")
        page.click("#loss-step-nodes summary")
        page.screenshot(path=str(DOCS_IMAGES / "explorer-loss-step.png"))
        page.click("#view-scalar")
        page.click(entry)
        page.screenshot(path=str(DOCS_IMAGES / "explorer-scalar.png"))
        page.check("#show-parameters")
        page.screenshot(path=str(DOCS_IMAGES / "explorer-scalar-parameters.png"))
        page.uncheck("#show-parameters")
        page.fill("#edit-number", "-1.5")
        page.dispatch_event("#edit-number", "change")
        page.screenshot(path=str(DOCS_IMAGES / "explorer-scalar-edited.png"))
        phone = chromium.new_page(viewport={"width": 390, "height": 844})
        phone.goto(path.as_uri())
        phone.click(entry)
        phone.screenshot(path=str(DOCS_IMAGES / "explorer-phone.png"))
        chromium.close()
    print(f"wrote {path} ({path.stat().st_size} bytes) and the screenshots in {DOCS_IMAGES}")


if __name__ == "__main__":
    make_docs_example()
