"""The explorer's scalar graph, in a real browser: laid out in index order with the parameter
nodes folded unless asked for, replayed node by node in the engine's order, and recomputed
after edits and SGD steps, every number held to the Python engine's pass of the edited network
(the panel's to 1e-12 relative, the drawing's as microbp's own pictures print them).
"""

from __future__ import annotations

import math
import random
from itertools import pairwise
from typing import Any

import pytest
from explorer_browser import SETTINGS, Python, Session, browser, close, open_page, python_pass
from test_explorer import sampled_entries
from test_explorer_edits import CASES, random_edits

from microbp import SGD, topological_order
from microbp.drawing import graph_data

__all__ = ["browser", "open_page"]  # the fixtures, used by name

pytestmark = [pytest.mark.dot, pytest.mark.browser]


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[object, Any]:
    folder = tmp_path_factory.mktemp("explorer-scalar")
    return {
        key: setting.write(folder)
        for key, setting in [*SETTINGS.items(), *((case, case) for case in CASES)]
    }


def drawn(session: Session) -> str:
    """The id of the scalar drawing shown: scalar-folded or scalar-full."""
    return str(
        session.page.evaluate(
            """() => [...document.querySelectorAll("#scalar-view svg")]
              .filter((s) => s.getBoundingClientRect().width > 0).map((s) => s.id).join()"""
        )
    )


def shown_ids(session: Session, selector: str) -> list[str]:
    """The graph ids (n12, e4) of the shown drawing's elements matching ``selector``."""
    view = drawn(session)
    found = session.page.eval_on_selector_all(f"#{view} {selector}", "es => es.map((e) => e.id)")
    return [i.removeprefix(view + "-") for i in found]


def test_the_finer_replay_steps_through_the_engines_scalar_order(pages, open_page):
    session = open_page(pages["default"])
    want = python_pass(SETTINGS["default"])
    nodes = topological_order(want.L)
    order = [v for v in reversed(nodes) if v.parents]
    session.page.select_option("#granularity", "scalar")
    assert drawn(session) == "scalar-folded"
    for step in range(1, len(order) + 1):
        session.page.keyboard.press("ArrowRight")
        assert shown_ids(session, "g.node.current") == [f"n{nodes.index(order[step - 1])}"]
        assert f"Scalar step {step} of {len(order)}" in session.page.inner_text("#status")
    grads = session.page.eval_on_selector_all(
        "#scalar-folded text.grad", "ts => ts.map(t => t.textContent)"
    )
    assert grads and "grad ?" not in grads


def test_parameters_are_folded_unless_asked_for_and_a_chosen_weight_is_its_edge(pages, open_page):
    session = open_page(pages["default"])
    want = python_pass(SETTINGS["default"])
    nodes = topological_order(want.L)
    layer = want.net.layers[1]
    w, b, a, h = (
        f"n{nodes.index(v)}" for v in (layer.W[0][2], layer.b[0], layer.a[0], layer.h_prev[2])
    )
    page = session.page
    page.click("#view-scalar")
    names = page.eval_on_selector_all(
        "#scalar-folded g.node text:first-of-type", "ts => ts.map(t => t.textContent)"
    )
    assert not [name for name in names if name[0] in "Wb" and "[" in name]
    drawn_ids = set(shown_ids(session, "g.node"))
    assert a in drawn_ids and h in drawn_ids and w not in drawn_ids and b not in drawn_ids
    session.choose("gW", 2, 1, 3)
    carrying = [e.id for e in graph_data(want.L).edges if (e.parent.id, e.child.id) == (h, a)]
    assert set(carrying) <= set(shown_ids(session, "g.edge.lit"))  # the edge that carries W2[1,3]
    assert shown_ids(session, "g.node.factor-local") == [h]
    assert session.inside_graph_pane(f"scalar-folded-{a}")
    page.check("#show-parameters")
    assert drawn(session) == "scalar-full"
    assert w in shown_ids(session, "g.node.lit") and b in shown_ids(session, "g.node")
    assert session.inside_graph_pane(f"scalar-full-{w}")


@pytest.mark.parametrize("name", ["default", "3-8-2", "largest"])
def test_the_pages_scalar_graph_stands_in_index_order(name, pages, open_page):
    session = open_page(pages[name])
    session.page.click("#view-scalar")
    for view in ("folded", "full"):
        if view == "full":
            session.page.check("#show-parameters")
        boxes = session.page.eval_on_selector_all(
            f"#scalar-{view} g.node",
            """gs => gs.map((g) => { const b = g.getBoundingClientRect();
              return [g.querySelector("text").textContent, b.left + b.width / 2, b.top]; })""",
        )
        columns: dict[str, list[tuple[tuple[int, int], float, float]]] = {}
        for label, centre, top in boxes:
            symbol, _, rest = label.partition("[")
            if not rest or symbol[:1] not in "xWbah":
                continue
            i, _, j = rest.rstrip("]").partition(",")
            column = "Wb" + symbol[1:] if symbol[0] in "Wb" else symbol
            columns.setdefault(column, []).append(((int(i), int(j) if j else 10**9), centre, top))
        assert ("Wb1" in columns) == (view == "full")
        for column, entries in columns.items():
            entries.sort()
            centres = [centre for _, centre, _ in entries]
            assert max(centres) - min(centres) < 2, column  # one column (whole points)
            assert all(t1 < t2 for (_, _, t1), (_, _, t2) in pairwise(entries)), column


def python_g(x: float) -> str:
    return f"{x:.4g}"


def printed_as(text: str, x: float) -> bool:
    """``text`` is ``x`` as microbp's pictures print it, 4 significant digits; or, where the
    page's libm and Python's differ in a last bit, the number nearest to it in that form
    (a sum that cancels to 0 in one may leave 1e-17 in the other)."""
    return text == python_g(x) or math.isclose(float(text), x, rel_tol=6e-4, abs_tol=1e-15)


def assert_scalar_graph_is_the_engines(session: Session, want: Python) -> None:
    """The drawing shown prints the engine's numbers as microbp's pictures do, and each node's
    panel gives its data, grad and chain-rule terms to 1e-12 relative."""
    data = graph_data(want.L)
    view = drawn(session)
    texts = session.page.evaluate(
        """(view) => Object.fromEntries(
          [...document.querySelectorAll(`#${view} g.node, #${view} g.edge`)].map((g) => [
            g.id.slice(view.length + 1),
            [...g.querySelectorAll("text")].map((t) => t.textContent)]))""",
        view,
    )
    for node in data.nodes:
        if node.id in texts:
            name, *rows = texts[node.id]
            shown = dict(row.split(" ", 1) for row in rows if row.startswith(("data ", "grad ")))
            assert printed_as(shown["data"], node.value.data), (name, shown)
            assert printed_as(shown["grad"], node.value.grad), (name, shown)
    for edge in data.edges:
        if edge.id in texts:
            named = f"{edge.factor.name} = " if edge.factor is not None and edge.factor.name else ""
            (label,) = texts[edge.id]
            assert label.startswith(named), (edge.id, label)
            assert printed_as(label.removeprefix(named), edge.local), (edge.id, label)
    outward: dict[str, list[Any]] = {}
    for edge in data.edges:
        outward.setdefault(edge.parent.id, []).append(edge)
    for node in data.nodes:
        if node.id not in texts:
            continue
        session.page.click(f"#{view}-{node.id}")
        numbers = session.panel_numbers()
        assert close(numbers["data"][0], node.value.data), node.value.name
        assert close(numbers["grad"][0], node.value.grad), node.value.name
        terms = [e.local * e.child.value.grad for e in outward.get(node.id, [])]
        assert all(map(close, numbers.get("term", []), terms)), node.value.name
        assert all(
            map(close, numbers.get("local", []), [e.local for e in outward.get(node.id, [])])
        )


@pytest.mark.parametrize("setting", CASES, ids=lambda s: f"{s.hidden}-{s.loss}")
def test_after_edits_and_sgd_steps_the_scalar_graph_is_the_engines_pass(setting, pages, open_page):
    session = open_page(pages[setting])
    want = python_pass(setting)
    random_edits(session, want, random.Random(f"scalar {setting}"))
    session.page.fill("#lr", "0.1")
    session.page.click("#sgd")
    SGD(want.net.parameters(), 0.1).step()
    if setting.loss == "cross_entropy":  # the graph is drawn for its label: the loss read there
        want.target = setting.target()
    want.run()
    session.page.keyboard.press("Escape")
    session.page.click("#view-scalar")
    header = session.page.inner_text("#edited")
    assert (
        ("drawn for ℓ" in header) == (session.page.input_value("#label") != str(want.target))
        if setting.loss == "cross_entropy"
        else "agree to" in header
    )
    assert_scalar_graph_is_the_engines(session, want)
    session.page.check("#show-parameters")
    assert_scalar_graph_is_the_engines(session, want)


@pytest.mark.parametrize("name", ["default", "tanh-squared"])
def test_the_loss_step_is_one_choice_in_the_layer_view_and_expands_to_its_nodes(
    name, pages, open_page
):
    setting = SETTINGS[name]
    session = open_page(pages[name])
    want = python_pass(setting)
    page = session.page
    n = len(setting.sizes) - 1
    page.click("#lv-loss-step")
    panel = page.inner_text("#panel")
    one_step = f"∇a{n} = ŷ − e_ℓ" if setting.loss == "cross_entropy" else f"∇a{n} = ∇ŷ ⊙"
    assert one_step in panel
    output = want.net.layers[-1]
    assert all(map(close, session.panel_numbers()["grad"], [a.grad for a in output.a]))
    assert session.svg_with_class("chosen") >= {f"lv-a{n}-1", "lv-L", "lv-loss-step"}
    assert not page.is_visible("#loss-step-nodes table")
    page.click("#loss-step-nodes summary")  # expand: the step's scalar nodes, engine's order
    nodes = topological_order(want.L)
    after_a = set(output.a)
    step = []
    for v in nodes:
        if any(p in after_a or p in step for p in v.parents):
            step.append(v)
    rows = page.eval_on_selector_all(
        "#loss-step-nodes tr[data-role=step-node]",
        """rs => rs.map((r) => [r.dataset.node, ...[...r.querySelectorAll(".num")]
          .map((s) => Number(s.dataset.value))])""",
    )
    assert [row[0] for row in rows] == [f"n{nodes.index(v)}" for v in step]
    for (_, data, grad), v in zip(rows, step):
        assert close(data, v.data) and close(grad, v.grad)
    if setting.loss == "cross_entropy":
        assert {v.op for v in step} >= {"max", "exp", "sum", "/", "log", "neg"}
    session.choose("ga", n, 1)  # the expansion stays open while the page changes
    page.click("#lv-loss-step")
    assert page.is_visible("#loss-step-nodes table")
    page.click("#loss-step-nodes tr[data-role=step-node] button")  # a node, in the scalar graph
    assert drawn(session) == "scalar-folded"
    assert shown_ids(session, "g.node.lit")
    assert f"{rows[0][0]}" in shown_ids(session, "g.node.lit")


@pytest.mark.parametrize("name", list(SETTINGS))
def test_in_the_scalar_graph_the_chosen_weight_is_brought_into_view(name, pages, open_page):
    setting = SETTINGS[name]
    session = open_page(pages[name])
    want = python_pass(setting)
    nodes = topological_order(want.L)
    session.page.click("#view-scalar")
    for k, i, j in sampled_entries(setting, per_layer=3):
        session.choose("gW", k, i, j)
        a = f"n{nodes.index(want.net.layers[k - 1].a[i - 1])}"
        assert session.inside_graph_pane(f"scalar-folded-{a}"), (k, i, j)
    session.page.check("#show-parameters")
    for k, i, j in sampled_entries(setting, per_layer=3):
        session.choose("gW", k, i, j)
        w = f"n{nodes.index(want.net.layers[k - 1].W[i - 1][j - 1])}"
        assert session.inside_graph_pane(f"scalar-full-{w}"), (k, i, j)


def test_after_undo_the_scalar_graph_prints_exactly_what_dot_drew(pages, open_page):
    session = open_page(pages["relu-deep"])
    page = session.page
    texts_js = (
        """(view) => [...document.querySelectorAll(`#${view} text`)].map((t) => t.textContent)"""
    )
    page.click("#view-scalar")
    page.check("#show-parameters")
    drawn_by_dot = {
        view: page.evaluate(texts_js, view) for view in ("scalar-full", "scalar-folded")
    }
    session.choose("W", 2, 1, 1)
    session.page.fill("#edit-number", "0.75")
    session.page.dispatch_event("#edit-number", "change")
    assert page.evaluate(texts_js, "scalar-full") != drawn_by_dot["scalar-full"]
    page.click("#undo")  # the engine's numbers again, now written by the page's own format
    assert page.evaluate(texts_js, "scalar-full") == drawn_by_dot["scalar-full"]
    page.uncheck("#show-parameters")
    assert page.evaluate(texts_js, "scalar-folded") == drawn_by_dot["scalar-folded"]


def test_a_chosen_unit_and_a_layer_are_one_click_from_the_scalar_graph(pages, open_page):
    session = open_page(pages["largest"])
    want = python_pass(SETTINGS["largest"])
    nodes = topological_order(want.L)
    page = session.page
    page.click("#lv-a2-7")  # ∇a2[7] chosen in the layer view
    page.click("#to-scalar")
    assert drawn(session) == "scalar-folded"
    a = f"n{nodes.index(want.net.layers[1].a[6])}"
    assert a in shown_ids(session, "g.node.lit")
    assert session.inside_graph_pane(f"scalar-folded-{a}")
    page.click("#view-layer")
    page.click('#matrices section.layer[data-k="1"] button.to-scalar')
    assert drawn(session) == "scalar-folded"
    overlap = page.evaluate(
        """() => {
          const pane = document.getElementById("graph").getBoundingClientRect();
          const box = [...document.querySelectorAll("#scalar-folded g.cluster")]
            .find((g) => g.textContent.trim() === "layer 1").getBoundingClientRect();
          return Math.min(box.right, pane.right) - Math.max(box.left, pane.left) > 100 &&
            Math.min(box.bottom, pane.bottom) - Math.max(box.top, pane.top) > 100;
        }"""
    )
    assert overlap
