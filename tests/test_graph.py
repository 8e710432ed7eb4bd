"""Rendered graphs, read back from the SVG that the real `dot` writes, as a person would read them.

Numbers shown are checked against numpy's forward and backward of the notes' formulas (not
against the engine), names against the notes' notation, layout against the boxes' coordinates.
"""

from __future__ import annotations

import math
import re
import shutil
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from examples import scaled
from hypothesis import given, settings
from hypothesis import strategies as st

from microbp import MLP, Value, cross_entropy, graph, sum_values, topological_order
from microbp.drawing import MAX_NODES, GraphTooLargeError, graph_data
from microbp.graph import (
    COLORS,
    LABEL_CHARACTERS,
    GraphvizError,
    GraphvizNotFoundError,
    digraph,
    draw,
    render_svg,
    svg,
)
from microbp.strategies import expression_dags, network_cases

pytestmark = pytest.mark.dot

SVG = "{http://www.w3.org/2000/svg}"
DOCS_IMG = Path(__file__).resolve().parent.parent / "docs" / "img"
HIGHLIGHT = COLORS["highlight"]
NUMBER = r"-?(?:\d+\.?\d*(?:e[-+]?\d+)?|inf)"

# ---- reading an SVG back ----


def _points(element: ET.Element) -> list[tuple[float, float]]:
    """The coordinates of a polygon's points or a path's nodes."""
    text = element.get("points") or element.get("d") or ""
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", text)]
    return list(zip(numbers[::2], numbers[1::2]))


@dataclass
class Box:
    texts: list[str]
    fill: str | None
    stroke: str | None
    dashed: bool
    left: float
    right: float
    top: float
    bottom: float

    @property
    def name(self) -> str:
        return self.texts[0]

    @property
    def center(self) -> tuple[float, float]:
        return (self.left + self.right) / 2, (self.top + self.bottom) / 2

    def inside(self, other: Box) -> bool:
        return (
            other.left <= self.left
            and self.right <= other.right
            and other.top <= self.top
            and self.bottom <= other.bottom
        )


@dataclass
class Edge:
    tail: str
    head: str
    texts: list[str]
    stroke: str | None


@dataclass
class Picture:
    """What an SVG shows: node boxes by id, edges, cluster boxes by label, the caption."""

    nodes: dict[str, Box] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    clusters: dict[str, Box] = field(default_factory=dict)
    caption: str = ""
    root: ET.Element | None = None

    def by_name(self, name: str) -> Box:
        (box,) = [b for b in self.nodes.values() if b.name == name]
        return box

    def id_of(self, name: str) -> str:
        (node_id,) = [i for i, b in self.nodes.items() if b.name == name]
        return node_id

    def edges_between(self, tail: str, head: str) -> list[Edge]:
        return [e for e in self.edges if (e.tail, e.head) == (self.id_of(tail), self.id_of(head))]


def _texts(g: ET.Element) -> list[str]:
    # dot writes runs of spaces as space + no-break space; a reader sees spaces.
    return [(t.text or "").replace("\xa0", " ") for t in g.iter(f"{SVG}text")]


def _box(g: ET.Element) -> Box:
    shape = g.find(f"{SVG}path")
    if shape is None:
        shape = g.find(f"{SVG}polygon")
    assert shape is not None
    xs, ys = zip(*_points(shape))
    return Box(
        texts=[t for t in _texts(g) if t.strip()],
        fill=shape.get("fill"),
        stroke=shape.get("stroke"),
        dashed=shape.get("stroke-dasharray") is not None,
        left=min(xs),
        right=max(xs),
        top=min(ys),
        bottom=max(ys),
    )


def read_svg(path: Path) -> Picture:
    root = ET.parse(path).getroot()  # raises unless the SVG is well-formed XML
    picture = Picture(root=root)
    for g in root.iter(f"{SVG}g"):
        title = g.findtext(f"{SVG}title") or ""
        kind = g.get("class")
        if kind == "node":
            picture.nodes[title] = _box(g)
        elif kind == "edge":
            tail, head = title.split("->")
            shape = g.find(f"{SVG}path")
            assert shape is not None, f"edge {title} has no path"
            picture.edges.append(Edge(tail, head, _texts(g), shape.get("stroke")))
        elif kind == "cluster":
            box = _box(g)
            picture.clusters[box.texts[0]] = box
        elif kind == "graph":
            picture.caption = " ".join(t.text or "" for t in g.findall(f"{SVG}text"))
    return picture


def picture_of(root: Value, tmp_path: Path, **options: object) -> Picture:
    return read_svg(render_svg(root, tmp_path / "graph.svg", **options))


def number_in(text: str) -> float:
    """The number a label shows (after ``name = `` when the label names its factor)."""
    found = re.fullmatch(rf"(?:.* = )?({NUMBER})", text, re.DOTALL)
    assert found, f"no number in {text!r}"
    return float(found[1])


def shown(box: Box, what: str) -> str:
    (line,) = [t for t in box.texts if t.startswith(f"{what} ")]
    return line.removeprefix(f"{what} ")


def close(shown_number: float, exact: float) -> bool:
    """Equal to the 4 significant digits the picture shows."""
    return math.isclose(shown_number, exact, rel_tol=1e-3, abs_tol=1e-12)


# ---- the 3-3-2 network of the docs, and numpy's independent forward and backward ----

X = [0.5, -1.0, 2.0]
LABEL = 1


def network_3_3_2() -> tuple[MLP, Value]:
    net = MLP([3, 3, 2], seed=0)
    return net, cross_entropy(net(X), LABEL)


def numpy_backprop(net: MLP) -> dict[str, float]:
    """Every named quantity (data and ∂L/∂·) of a sigmoid–softmax network, from the formulas."""
    W = [np.array([[w.data for w in row] for row in layer.W]) for layer in net.layers]
    b = [np.array([v.data for v in layer.b]) for layer in net.layers]
    h = [np.array(X)]
    a = []
    for k in range(2):
        a.append(b[k] + W[k] @ h[k])
        h.append(1 / (1 + np.exp(-a[k])) if k == 0 else np.exp(a[k]) / np.exp(a[k]).sum())
    grad_a = [None, h[2] - np.eye(2)[LABEL]]
    grad_h1 = W[1].T @ grad_a[1]
    grad_a[0] = grad_h1 * h[1] * (1 - h[1])
    values = {"L": -math.log(h[2][LABEL]), "grad L": 1.0}
    for j in range(3):
        values[f"x[{j + 1}]"] = X[j]
        values[f"h1[{j + 1}]"] = h[1][j]
        values[f"grad h1[{j + 1}]"] = grad_h1[j]
    for k in (1, 2):
        for i in range(W[k - 1].shape[0]):
            values[f"a{k}[{i + 1}]"] = a[k - 1][i]
            values[f"grad a{k}[{i + 1}]"] = values[f"grad b{k}[{i + 1}]"] = grad_a[k - 1][i]
            values[f"b{k}[{i + 1}]"] = b[k - 1][i]
            for j in range(W[k - 1].shape[1]):
                values[f"W{k}[{i + 1},{j + 1}]"] = W[k - 1][i, j]
                values[f"grad W{k}[{i + 1},{j + 1}]"] = grad_a[k - 1][i] * h[k - 1][j]
    return values


def test_each_node_shows_its_name_data_and_grad_as_the_matrix_formulas_give_them(tmp_path):
    net, L = network_3_3_2()
    L.backward()
    expected = numpy_backprop(net)
    picture = picture_of(L, tmp_path)
    names = [b.name for b in picture.nodes.values() if b.name in expected]
    # every W, b, a, x, L of the 3-3-2 net; h1 too; h2 only for the label's ŷ, all L depends on
    assert len(names) == 3 + 9 + 3 + 3 + 3 + 6 + 2 + 2 + 1 == len(set(names))
    for name in names:
        box = picture.by_name(name)
        assert close(float(shown(box, "data")), expected[name]), (name, box.texts)
        if f"grad {name}" in expected:
            assert close(float(shown(box, "grad")), expected[f"grad {name}"]), (name, box.texts)


def test_the_edge_from_W_kij_to_a_ki_carries_h_k_minus_1_j_and_back_again(tmp_path):
    net, L = network_3_3_2()
    L.backward()
    expected = numpy_backprop(net)
    picture = picture_of(L, tmp_path)
    for i in (1, 2):
        for j in (1, 2, 3):
            (w_edge,) = picture.edges_between(f"W2[{i},{j}]", f"a2[{i}]")
            (label,) = w_edge.texts
            assert label.startswith(f"h1[{j}] = ")
            assert close(number_in(label), expected[f"h1[{j}]"])
            (h_edge,) = picture.edges_between(f"h1[{j}]", f"a2[{i}]")
            assert h_edge.texts[0].startswith(f"W2[{i},{j}] = ")
            assert close(number_in(h_edge.texts[0]), expected[f"W2[{i},{j}]"])
        (b_edge,) = picture.edges_between(f"b2[{i}]", f"a2[{i}]")
        assert b_edge.texts == ["1"]
    assert "local derivative ∂child/∂parent" in picture.caption


def test_before_any_backward_pass_grads_show_as_not_computed(tmp_path):
    _, L = network_3_3_2()
    picture = picture_of(L, tmp_path)
    assert {shown(b, "grad") for b in picture.nodes.values()} == {"not computed"}


def test_grads_show_as_not_computed_exactly_where_no_backward_pass_reached(tmp_path):
    x = Value(3.0, "x")
    y = (x * 2.0).exp()
    y.name = "y"
    z = y + 1.0
    z.name = "z"
    y.backward()  # reaches x, the 2.0 and y, not z nor z's constant 1.0
    picture = picture_of(z, tmp_path)
    grads = {b.name: shown(b, "grad") for b in picture.nodes.values() if b.name != "constant"}
    constants = {shown(b, "data"): shown(b, "grad") for b in picture.nodes.values()}
    assert grads["z"] == constants["1"] == "not computed"
    assert close(float(constants["2"]), 3.0 * math.exp(6.0))
    assert close(float(grads["x"]), 2 * math.exp(6.0))
    assert grads["y"] == "1"


def test_a_parent_used_twice_by_one_node_has_two_edges(tmp_path):
    x = Value(3.0, "x")
    square = x * x
    square.name = "square"
    square.backward()
    picture = picture_of(square, tmp_path)
    edges = picture.edges_between("x", "square")
    assert [e.texts for e in edges] == [["x = 3"], ["x = 3"]]
    assert shown(picture.by_name("x"), "grad") == "6"


@settings(max_examples=scaled(25))
@given(dag=expression_dags(max_ops=8), backward=st.booleans())
def test_every_node_and_every_edge_of_any_expression_is_drawn_with_its_numbers(
    dag, backward, tmp_path_factory
):
    _, root = dag.build()
    if backward:
        root.backward()
    nodes = topological_order(root)
    names = [f"v{i}" for i in range(len(nodes))]
    for v, name in zip(nodes, names):
        v.name = name
    picture = picture_of(root, tmp_path_factory.mktemp("dag"))
    assert sorted(b.name for b in picture.nodes.values()) == sorted(names)
    assert not picture.clusters  # names outside the notes' notation belong to no layer
    data = {name: v.data for v, name in zip(nodes, names)}
    for v, name in zip(nodes, names):
        box = picture.by_name(name)
        assert close(float(shown(box, "data")), v.data)
        if backward:
            assert close(float(shown(box, "grad")), v.grad)
        else:
            assert shown(box, "grad") == "not computed"
    drawn: Counter[tuple[str, str, float]] = Counter()
    for edge in picture.edges:
        tail, head = picture.nodes[edge.tail].name, picture.nodes[edge.head].name
        (label,) = edge.texts
        drawn[tail, head, round(number_in(label), 3)] += 1
        factor = re.match(r"(v\d+) = ", label)
        if factor:  # a label naming a node shows that node's data as the local derivative
            assert close(number_in(label), data[factor[1]])
    expected = Counter(
        (p.name, v.name, round(float(f"{d:.4g}"), 3))
        for v in nodes
        for p, d in zip(v.parents, v.local_grads)
    )
    assert drawn == expected


# ---- names are user text ----

HOSTILE_NAMES = [
    'say "hi"',
    "<>&{}|\\",
    "two\nlines",
    "x]]>y",
    "<script>alert(1)</script>",
    "<b>bold?</b>",
    "&amp; &#60; &lt;",
    "\\N \\G \\L \\E \\T \\H \\n \\l",
    "'single' `back`",
    "trailing\\",
    "a  b   c",
    "∇W₂ L · ŷ",
]


def _assert_plain_svg(picture: Picture) -> None:
    assert picture.root is not None
    tags = {el.tag for el in picture.root.iter()}
    allowed = {f"{SVG}{t}" for t in ("svg", "g", "title", "text", "path", "polygon", "ellipse")}
    assert tags <= allowed, tags - allowed


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_any_name_gives_a_well_formed_svg_that_shows_the_name_as_text(name, tmp_path):
    leaf = Value(2.0, name)
    root = leaf * Value(3.0, name)
    root.name = name
    root.backward()
    picture = picture_of(root, tmp_path)
    _assert_plain_svg(picture)
    lines = name.split("\n")
    boxes = list(picture.nodes.values())
    assert [b.texts[: len(lines)] for b in boxes] == [lines] * 3
    assert ["\n".join(e.texts) for e in picture.edges] == [f"{name} = 3", f"{name} = 2"]


@pytest.mark.parametrize(
    ("name", "shown_as"),
    [("bell\x07", "bell\\x07"), ("nul\x00", "nul\\x00"), ("tab\tstop", "tab\\tstop")],
)
def test_characters_xml_cannot_carry_are_shown_as_their_python_escapes(name, shown_as, tmp_path):
    picture = picture_of(Value(1.0, name), tmp_path)
    _assert_plain_svg(picture)
    assert picture.by_name(shown_as).texts[0] == shown_as


@settings(max_examples=scaled(30))
@given(
    name=st.text(
        st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\ufffe\uffff"),
        min_size=1,
        max_size=12,
    ).filter(lambda s: s.strip())
)
def test_any_printable_name_is_shown_exactly(name, tmp_path_factory):
    picture = picture_of(Value(1.0, name), tmp_path_factory.mktemp("name"))
    _assert_plain_svg(picture)
    (box,) = picture.nodes.values()
    assert box.texts[0] == name.replace("\xa0", " ")  # _texts reads no-break spaces as spaces


# ---- Graphviz missing ----


def test_without_dot_render_svg_says_how_to_install_graphviz_and_writes_nothing(
    tmp_path, monkeypatch
):
    _, L = network_3_3_2()
    no_tools = tmp_path / "empty-bin"
    no_tools.mkdir()
    monkeypatch.setenv("PATH", str(no_tools))
    target = tmp_path / "graph.svg"
    with pytest.raises(GraphvizNotFoundError) as caught:
        render_svg(L, target)
    assert isinstance(caught.value, RuntimeError)
    message = str(caught.value)
    for needed in ("Graphviz", "apt-get install graphviz", "brew install graphviz", "conda"):
        assert needed in message
    assert "draw(...).source" in message
    assert not target.exists()
    assert draw(L).source.startswith("digraph")  # the DOT text needs no Graphviz


def test_render_svg_writes_exactly_the_path_given_and_returns_it(tmp_path):
    target = tmp_path / "no-suffix.drawing"
    assert render_svg(Value(1.0, "x"), str(target)) == target
    assert [p.name for p in tmp_path.iterdir()] == ["no-suffix.drawing"]
    assert ET.parse(target).getroot().tag == f"{SVG}svg"


# ---- size guard ----


def chain(n: int) -> Value:
    """A graph of exactly n nodes, each the negation of the one before."""
    v = Value(1.0, "x[1]")
    for _ in range(n - 1):
        v = -v
    return v


def test_a_graph_of_max_nodes_is_drawn_and_one_more_node_is_refused():
    assert draw(chain(MAX_NODES)).source.count("label=<") == 2 * MAX_NODES - 1
    with pytest.raises(GraphTooLargeError, match=f"{MAX_NODES + 1} nodes"):
        draw(chain(MAX_NODES + 1))
    assert draw(chain(30), max_nodes=30)
    with pytest.raises(GraphTooLargeError, match="31 nodes"):
        draw(chain(31), max_nodes=30)


def test_a_hundred_thousand_node_graph_is_refused_with_how_to_draw_less_or_drawn_on_request():
    deep = chain(100_000)
    with pytest.raises(GraphTooLargeError) as caught:
        draw(deep)
    assert isinstance(caught.value, ValueError)
    message = str(caught.value)
    assert "100000 nodes" in message and f"max_nodes={MAX_NODES}" in message
    assert "layers=[k]" in message and "max_nodes=100000" in message
    source = draw(deep, max_nodes=100_000, edge_labels=False).source
    assert len(re.findall(r"^\s*n\d+ \[", source, re.MULTILINE)) == 100_000
    assert len(re.findall(r"^\s*n\d+ -> n\d+", source, re.MULTILINE)) == 99_999


def test_the_size_guard_names_the_layers_that_can_be_drawn_alone():
    net = MLP([3, 12, 12, 2], seed=1)
    L = cross_entropy(net([1.0, 2.0, 3.0]), 0)
    with pytest.raises(GraphTooLargeError, match=r"this graph's layers: 1, 2, 3"):
        draw(L, max_nodes=50)


# ---- one layer at a time ----


def test_layers_draws_only_those_layers_with_their_inputs_dashed_as_context(tmp_path):
    net, L = network_3_3_2()
    L.backward()
    picture = picture_of(L, tmp_path, layers=[2])
    named = {b.name for b in picture.nodes.values() if re.match(r"[A-Za-z]\w*\[", b.name)}
    layer2 = {str(v.name) for v in net.layers[1].parameters()} | {"a2[1]", "a2[2]", "h2[2]"}
    h1 = {"h1[1]", "h1[2]", "h1[3]"}
    assert named == layer2 | h1
    assert all(picture.by_name(n).dashed for n in h1)
    assert not any(picture.by_name(n).dashed for n in layer2)
    assert set(picture.clusters) == {"layer 2"}


def test_layers_must_name_layers_of_the_graph():
    _, L = network_3_3_2()
    with pytest.raises(ValueError, match=r"got 3; this graph's layers: 1, 2"):
        draw(L, layers=[3])
    with pytest.raises(ValueError, match="layers"):
        draw(L, layers=[0])


# ---- layout and style ----


def test_nodes_sit_in_the_cluster_their_name_gives_and_softmax_internals_in_their_layer(tmp_path):
    _, L = network_3_3_2()
    picture = picture_of(L, tmp_path)
    assert set(picture.clusters) == {"inputs", "layer 1", "layer 2", "loss"}
    cluster_of = {"x": "inputs", "W1": "layer 1", "b1": "layer 1", "a1": "layer 1"}
    cluster_of |= {"h1": "layer 1", "W2": "layer 2", "b2": "layer 2", "a2": "layer 2"}
    cluster_of |= {"h2": "layer 2", "L": "loss", "exp": "layer 2", "sum": "layer 2"}
    cluster_of |= {"-": "layer 2", "max": "layer 2", "log": "loss"}
    for box in picture.nodes.values():
        home = picture.clusters[cluster_of[box.name.split("[")[0]]]
        assert box.inside(home), box.name
        for name, other in picture.clusters.items():
            if other is not home:
                assert not box.inside(other), (box.name, name)


@settings(max_examples=scaled(10))
@given(case=network_cases(max_layers=3, max_width=3))
def test_in_any_network_each_named_node_sits_in_its_layers_box(case, tmp_path_factory):
    L = case.loss_value()
    picture = picture_of(L, tmp_path_factory.mktemp("net"))
    n_layers = len(case.net.layers)
    assert set(picture.clusters) == {"inputs", "loss"} | {f"layer {k + 1}" for k in range(n_layers)}
    for box in picture.nodes.values():
        notation = re.fullmatch(r"([Wbah])(\d+)\[[\d,]+\]|(x)\[\d+\]|(L)", box.name)
        if notation:
            home = {"x": "inputs", "L": "loss"}.get(notation[3] or notation[4])
            assert box.inside(picture.clusters[home or f"layer {notation[2]}"]), box.name


def test_parameters_inputs_pre_activations_activations_and_the_loss_are_styled_apart(tmp_path):
    _, L = network_3_3_2()
    picture = picture_of(L, tmp_path)
    fills: dict[str, set[str | None]] = {}
    for box in picture.nodes.values():
        kind = box.name.split("[")[0].rstrip("0123456789")
        if kind in ("W", "b", "x", "a", "h", "L"):
            fills.setdefault({"b": "W"}.get(kind, kind), set()).add(box.fill)
    assert all(len(f) == 1 for f in fills.values()), fills
    assert len({f.pop() for f in fills.values()}) == 5


@pytest.mark.parametrize(("rankdir", "axis"), [("LR", 0), ("TB", 1)])
def test_the_graph_flows_layer_by_layer_from_inputs_to_loss_left_to_right_or_top_to_bottom(
    rankdir, axis, tmp_path
):
    _, L = network_3_3_2()
    options = {} if rankdir == "LR" else {"rankdir": rankdir}
    picture = picture_of(L, tmp_path, **options)
    loss = picture.by_name("L").center
    inputs = [picture.by_name(f"x[{j}]").center for j in (1, 2, 3)]
    assert len({x[axis] for x in inputs}) == 1  # one rank: a column (LR) or a row (TB)
    assert len({x[1 - axis] for x in inputs}) == 3
    assert all(x[axis] < loss[axis] for x in inputs)
    # the layers' boxes follow one another along the flow, side by side, not stacked
    boxes = [picture.clusters[c] for c in ("inputs", "layer 1", "layer 2", "loss")]
    ends = [(b.left, b.right) if axis == 0 else (b.top, b.bottom) for b in boxes]
    assert all(end < start for (_, end), (start, _) in pairwise(ends)), ends


def test_edge_labels_can_be_hidden(tmp_path):
    _, L = network_3_3_2()
    picture = picture_of(L, tmp_path, edge_labels=False)
    assert picture.edges and all(not e.texts for e in picture.edges)
    assert "local derivative" not in picture.caption


def test_precision_sets_the_significant_digits_shown(tmp_path):
    third = Value(1 / 3, "third")
    assert shown(picture_of(third, tmp_path).by_name("third"), "data") == "0.3333"
    assert shown(picture_of(third, tmp_path, precision=8).by_name("third"), "data") == "0.33333333"


def test_a_drawing_displays_inline_in_jupyter_as_svg():
    _, L = network_3_3_2()
    bundle = draw(L)._repr_mimebundle_(include=["image/svg+xml"])
    svg = ET.fromstring(bundle["image/svg+xml"])
    assert "L" in [t.text for t in svg.iter(f"{SVG}text")]


# ---- highlighting the paths from a node to the root ----


def descendants(source: Value, root: Value) -> set[Value]:
    """The nodes on some path from source to root, by a breadth-first walk over children."""
    children: dict[Value, list[Value]] = {}
    for v in topological_order(root):
        for p in v.parents:
            children.setdefault(p, []).append(v)
    found, frontier = {source}, [source]
    while frontier:
        frontier = [c for v in frontier for c in children.get(v, []) if c not in found]
        found.update(frontier)
    return found


@pytest.mark.parametrize("by_name", [True, False])
def test_highlight_marks_every_path_from_the_node_to_the_root_and_nothing_else(by_name, tmp_path):
    net, L = network_3_3_2()
    L.backward()
    w = net.layers[1].W[0][2]
    picture = picture_of(L, tmp_path, highlight="W2[1,3]" if by_name else w)
    on_path = descendants(w, L)
    assert {v.name for v in on_path if v.name} >= {"W2[1,3]", "a2[1]", "h2[2]", "L"}
    lit_nodes = {i for i, b in picture.nodes.items() if b.stroke == HIGHLIGHT}
    lit_edges = [(e.tail, e.head) for e in picture.edges if e.stroke == HIGHLIGHT]
    names_lit = Counter(picture.nodes[i].texts[0] for i in lit_nodes)
    assert names_lit == Counter((v.name or v.op) for v in on_path)
    expected_edges = Counter(
        (v.name or v.op, p.name or p.op) for v in on_path for p in v.parents if p in on_path
    )
    assert Counter((picture.nodes[h].name, picture.nodes[t].name) for t, h in lit_edges) == (
        expected_edges
    )
    dimmed = {e.stroke for e in picture.edges if e.stroke != HIGHLIGHT}
    assert dimmed and "black" not in dimmed
    assert "red: every path" in picture.caption


def test_highlight_refuses_nodes_that_are_not_in_the_graph():
    _, L = network_3_3_2()
    with pytest.raises(ValueError, match="no node of this graph has that name"):
        draw(L, highlight="W3[1,1]")
    with pytest.raises(ValueError, match="not in this graph"):
        draw(L, highlight=Value(1.0, "stranger"))


# ---- bad options ----


def test_bad_arguments_are_refused_with_what_to_pass_instead():
    _, L = network_3_3_2()
    with pytest.raises(TypeError, match="draw needs a Value"):
        draw(1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'TB' top to bottom"):
        draw(L, rankdir="XY")
    with pytest.raises(ValueError, match="max_nodes must be a positive int"):
        draw(L, max_nodes=0)
    with pytest.raises(ValueError, match="precision"):
        draw(L, precision=0)


# ---- the description drawn: graph_data, then digraph ----


def test_draw_is_digraph_of_graph_data_whose_ids_name_the_svg_elements():
    _, L = network_3_3_2()
    L.backward()
    data = graph_data(L, highlight="W2[1,3]")
    assert draw(L, highlight="W2[1,3]").source == digraph(data).source
    assert [node.value for node in data.nodes] == topological_order(L)
    root = ET.fromstring(svg(digraph(data)))
    shown = {g.get("id"): g for g in root.iter(f"{SVG}g") if g.get("class") in ("node", "edge")}
    assert set(shown) == {n.id for n in data.nodes} | {e.id for e in data.edges}
    for node in data.nodes:
        assert shown[node.id].findtext(f"{SVG}title") == node.id
    for edge in data.edges:
        assert shown[edge.id].findtext(f"{SVG}title") == f"{edge.parent.id}->{edge.child.id}"
        assert edge.local == edge.child.value.local_grads[edge.index]
        assert edge.child.value.parents[edge.index] is edge.parent.value
    lit = {n.value.name for n in data.nodes if n.lit}
    assert {"W2[1,3]", "a2[1]", "h2[2]", "L"} <= lit and "W2[1,1]" not in lit


# ---- the committed docs example ----


def docs_examples() -> dict[str, dict[str, object]]:
    """The pictures in docs/img and the draw options that make them."""
    return {
        "graph-3-3-2.svg": {},
        "graph-3-3-2-highlight-W2-1-3.svg": {"highlight": "W2[1,3]"},
    }


@pytest.mark.parametrize("file_name", sorted(docs_examples()))
def test_the_committed_docs_pictures_show_what_the_code_draws_today(file_name, tmp_path):
    _, L = network_3_3_2()
    L.backward()
    fresh = picture_of(L, tmp_path, **docs_examples()[file_name])
    committed = read_svg(DOCS_IMG / file_name)
    assert sorted(map(tuple, (b.texts for b in committed.nodes.values()))) == sorted(
        map(tuple, (b.texts for b in fresh.nodes.values()))
    )
    assert sorted(tuple(e.texts) for e in committed.edges) == sorted(
        tuple(e.texts) for e in fresh.edges
    )


# ---- hostile graphs: bounded work for dot, clear errors, no partial files ----


def test_a_node_with_more_operands_than_dot_can_lay_out_is_refused_before_dot_runs(
    tmp_path, monkeypatch
):
    x = Value(1.0, "x")
    crowd = sum_values([x] * 20_000)  # two nodes, 20,000 edges
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot: running it would be another error
    with pytest.raises(GraphTooLargeError, match="20,000 edges"):
        render_svg(crowd, tmp_path / "crowd.svg")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("length", [1_000, 100_000])
def test_a_very_long_name_is_shortened_in_the_picture_and_drawn(length, tmp_path):
    x = Value(2.0, "y" * length)
    path = render_svg(x * 3.0, tmp_path / "long.svg")
    text = path.read_text()
    assert "y" * (LABEL_CHARACTERS - 1) + "…" in text and "y" * LABEL_CHARACTERS not in text


def test_a_name_with_thousands_of_digits_in_brackets_is_drawn_as_a_plain_name(tmp_path):
    x = Value(1.0, "W" + "9" * 5000 + "[1,1]")
    render_svg(x * 2.0, tmp_path / "digits.svg")
    assert graph_data(x * 2.0).nodes[0].kind == "named"


@pytest.mark.parametrize("bad_name", [3, b"x", ["x"]])
def test_a_name_that_is_not_a_string_set_after_construction_is_a_type_error(bad_name):
    x = Value(1.0, "x")
    y = x * 2.0
    x.name = bad_name
    with pytest.raises(TypeError, match=f"name must be a str or None.*{type(bad_name).__name__}"):
        draw(y)


def test_dot_that_fails_or_runs_too_long_is_a_clear_error(monkeypatch, tmp_path):
    _, L = network_3_3_2()
    sleep = shutil.which("sleep")
    path = tmp_path / "g.svg"
    path.write_text("old")
    tools = tmp_path / "tools"
    tools.mkdir()
    fake_dot = tools / "dot"
    fake_dot.write_text("#!/bin/sh\necho 'Error: something dot says' >&2\nexit 1\n")
    fake_dot.chmod(0o755)
    monkeypatch.setenv("PATH", str(tools))
    with pytest.raises(GraphvizError, match=r"dot could not draw the graph.*something dot says"):
        render_svg(L, path)
    fake_dot.write_text(f"#!/bin/sh\nexec {sleep} 30\n")
    monkeypatch.setattr(graph, "DOT_SECONDS", 0.5)
    with pytest.raises(GraphvizError, match=r"DOT_SECONDS = 0\.5 s"):
        render_svg(L, path)
    assert path.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == [
        "g.svg",
        "tools",
    ]
