"""Computation graphs drawn with Graphviz, in the notes' notation.

Each node shows its label (``W2[1,3]``, ``a2[1]``, ``L``), op, data and grad; each edge
parent → child carries the local derivative ∂child/∂parent that backward multiplies by, so the
edge from ``W2[1,3]`` to ``a2[1]`` reads ``h1[3] = …``, the notes' ∂a_ki/∂W_kij = h_{k-1,j}.
Nodes are grouped by the layer their name says they belong to. `draw` builds a
``graphviz.Digraph`` (shown inline in Jupyter; ``.source`` is the DOT text, no Graphviz
install needed); `render_svg` runs Graphviz's ``dot`` to write an SVG file.
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess
import unicodedata
from collections.abc import Iterable
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING

from microbp.drawing import (
    LOSS_LAYER,
    MAX_NODES,
    GraphData,
    GraphEdge,
    GraphNode,
    graph_data,
    index_columns,
)
from microbp.engine import Value
from microbp.files import write_bytes_atomically

if TYPE_CHECKING:
    import graphviz

#: The most seconds dot may take to lay out one drawing before it is stopped.
DOT_SECONDS = 120

#: The most characters of a name a label shows (dot cannot lay out very long labels).
LABEL_CHARACTERS = 60

#: The colours the node categories are filled with (and the highlight colour).
COLORS = {
    "input": "#cfe2f3",  # x[j]
    "parameter": "#fce5b0",  # Wk[i,j], bk[i]
    "pre-activation": "#d9ead3",  # ak[i]
    "activation": "#a9d18e",  # hk[i]
    "loss": "#f4b6b0",  # L
    "named": "#e4d7f5",  # any other name
    "op": "#ffffff",  # an unnamed interior node
    "constant": "#eeeeee",  # an unnamed leaf
    "backward": "#dde4f4",  # the recorded reverse pass: ∂L/∂L and what descends from it
    "highlight": "#d62728",
}

_RANKDIRS = ("LR", "TB", "RL", "BT")

#: dot's crossing-minimisation effort in a drawing with columns in index order: little
#: enough that it keeps the order it is given (measured with dot 2.43: at 0.1 and above it
#: reorders the columns inside the layers' boxes).
MCLIMIT = "0.01"


class GraphvizNotFoundError(RuntimeError):
    """Graphviz's ``dot`` executable is not installed (or not on PATH)."""


class GraphvizError(RuntimeError):
    """Graphviz's ``dot`` failed on a drawing, or took longer than `DOT_SECONDS`."""


def _text(user_text: str) -> str:
    """``user_text`` as Graphviz HTML-label text that shows exactly those characters.

    Markup characters are escaped, line breaks become ``<br/>``, backslashes are doubled (dot
    expands ``\\N``, ``\\G``… even in HTML labels), and characters XML cannot carry (control
    characters other than the line break, lone surrogates) are shown as their Python escape,
    e.g. ``\\x07``, so any name gives a well-formed SVG that shows it as text.
    """
    if len(user_text) > LABEL_CHARACTERS:
        user_text = user_text[: LABEL_CHARACTERS - 1] + "…"
    lines = user_text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return '<br align="center"/>'.join(
        html.escape("".join(map(_visible, line))).replace("\\", "\\\\") for line in lines
    )


def _visible(c: str) -> str:
    if unicodedata.category(c) in ("Cc", "Cs") or c in ("\ufffe", "\uffff"):
        return repr(c)[1:-1]
    return c


def _number(x: float, precision: int) -> str:
    return f"{x:.{precision}g}"


def _node_label(v: Value, precision: int) -> str:
    if v.name:
        title = f"<b>{_text(v.name)}</b>"
        if v.op:
            title += f' <font color="#555555">{_text(v.op)}</font>'
    else:
        title = f"<i>{_text(v.op or 'constant')}</i>"
    grad = _number(v.grad, precision) if v.grad_computed else "not computed"
    rows = (title, f"data {_number(v.data, precision)}", f"grad {grad}")
    cells = "".join(f"<tr><td>{row}</td></tr>" for row in rows)
    return f'<<table border="0" cellborder="0" cellspacing="0" cellpadding="1">{cells}</table>>'


def _edge_label(edge: GraphEdge, precision: int) -> str:
    """∂child/∂parent as a number, named when it is another node's data (``h1[3] = …``)."""
    text = _text(_number(edge.local, precision))
    if edge.factor is not None and edge.factor.name:
        text = f"{_text(edge.factor.name)} = {text}"
    return f'<<font point-size="10">{text}</font>>'


def _check_style(rankdir: str, precision: int) -> None:
    if rankdir not in _RANKDIRS:
        raise ValueError(
            f"rankdir must be one of {', '.join(_RANKDIRS)} "
            f"('LR' left to right, 'TB' top to bottom), got {rankdir!r}"
        )
    if isinstance(precision, bool) or not isinstance(precision, int) or not 1 <= precision <= 17:
        raise ValueError(
            f"precision (significant digits) must be an int 1 to 17, got {precision!r}"
        )


_CLUSTER_LABELS = {0: "inputs", LOSS_LAYER: "loss"}


def draw(
    root: Value,
    *,
    rankdir: str = "LR",
    highlight: Value | str | Iterable[Value | str] | None = None,
    edge_labels: bool = True,
    layers: Iterable[int] | None = None,
    max_nodes: int = MAX_NODES,
    precision: int = 4,
    parameters: bool = True,
) -> graphviz.Digraph:
    """The computation graph ending at ``root`` as a ``graphviz.Digraph``.

    Each node shows its name, op, data and grad ("not computed" before a backward pass has
    reached it); each edge parent → child shows the local derivative ∂child/∂parent (named when
    it is a node's data, e.g. ``h1[3] = 0.73`` on ``W2[1,3]`` → ``a2[1]``); a parent used twice
    by one node has two edges. Nodes named in the notes' notation are grouped in a box per
    layer (``Wk[…]``, ``bk[…]``, ``ak[…]``, ``hk[…]`` in layer k, ``x[…]`` in inputs, ``L``
    in loss) and coloured by kind (`COLORS`).

    Args:
        root: the node the graph ends at, usually the loss ``L``.
        rankdir: ``"LR"`` draws left to right (default), ``"TB"`` top to bottom
            (also ``"RL"``, ``"BT"``).
        highlight: a node, a name, or several of them: every path from them to ``root`` is
            drawn in red, other edges grey (``highlight="W2[1,3]"`` shows every route from
            W2[1,3] to L). A name selects every node with that name.
        edge_labels: False hides the local derivatives on the edges.
        layers: draw only these layers (e.g. ``[2]``), each with the nodes feeding it drawn
            dashed as context; how to draw a network too large to show whole.
        max_nodes: the size guard: a graph with more nodes to draw is refused with a
            `GraphTooLargeError` saying how to draw less. Default `MAX_NODES` (500).
        precision: significant digits of the numbers shown.
        parameters: False leaves out the ``Wk[…]`` and ``bk[…]`` nodes and their edges; each
            weight still shows as the local derivative on its edge ``h → a`` (``W2[1,3] = …``).

    Named nodes stand in index order, a column each: x[1] above x[2], W1[1,1] above W1[1,2]
    above b1[1], units by i. Returns the ``graphviz.Digraph``: displayed inline in Jupyter,
    its ``.source`` is the DOT text (no Graphviz install needed for that); `render_svg` writes
    it as SVG. It is ``digraph(graph_data(root, …), …)``.
    """
    if not isinstance(root, Value):
        raise TypeError(
            f"draw needs a Value, the node the graph ends at (e.g. the loss L), "
            f"got {type(root).__name__}"
        )
    _check_style(rankdir, precision)
    data = graph_data(
        root, highlight=highlight, layers=layers, max_nodes=max_nodes, parameters=parameters
    )
    return digraph(data, rankdir=rankdir, edge_labels=edge_labels, precision=precision)


def digraph(
    data: GraphData, *, rankdir: str = "LR", edge_labels: bool = True, precision: int = 4
) -> graphviz.Digraph:
    """``data`` (from `graph_data`) as a ``graphviz.Digraph``, drawn as `draw` describes.

    Each node's and edge's DOT ``id`` is its ``id`` in ``data``, so the SVG's elements can be
    found by it.
    """
    import graphviz

    _check_style(rankdir, precision)
    caption = []
    if edge_labels:
        caption.append("edge: local derivative ∂child/∂parent")
    if data.highlighted:
        caption.append("red: every path from the highlighted node(s) to the root")
    if any(node.kind == "backward" for node in data.nodes):
        caption.append("blue: the recorded reverse pass, from ∂root/∂root")
    dot = graphviz.Digraph(
        "microbp",
        graph_attr={
            "rankdir": rankdir,
            "fontname": "Helvetica",
            "fontsize": "11",
            "label": "   ·   ".join(caption),
            "labelloc": "b",
            "nodesep": "0.15",
            "ranksep": "0.35",
        },
        node_attr={"shape": "box", "style": "rounded,filled", "fontname": "Helvetica"},
        edge_attr={"fontname": "Helvetica", "arrowsize": "0.6"},
    )
    if _add_nodes(dot, data, precision, rankdir):
        dot.attr(mclimit=MCLIMIT)  # the index order, not dot's own, decides each column's order
    for edge in data.edges:
        style = _edge_style(edge, data.highlighted, edge_labels, precision)
        dot.edge(edge.parent.id, edge.child.id, **style)
    return dot


def _stack_in_index_order(
    box: graphviz.Digraph, columns: list[list[GraphNode]], rankdir: str, *, in_box: bool
) -> None:
    """Each column of named nodes (x; Wk and bk; ak; hk) in one rank, chained by invisible
    edges inside its layer's box (outside it, dot takes the nodes out of the box).

    dot 2.43 keeps such a chain's order inside a box only when its crossing minimisation is
    nearly off (``mclimit``, set by `digraph`). It then stacks a chain in a box of a
    left-to-right (or right-to-left) drawing from its last node, any other chain from its
    first. Chained to suit, x[1] comes first either way: above x[2], or left of it (read back
    from dot's layout by tests/test_graph_layout.py).
    """
    import graphviz

    from_last = in_box and rankdir in ("LR", "RL")
    for column in columns:
        rank = graphviz.Digraph(graph_attr={"rank": "same"})
        for first, second in pairwise(column):
            tail, head = (second, first) if from_last else (first, second)
            rank.edge(tail.id, head.id, style="invis")
        box.subgraph(rank)


def _add_nodes(dot: graphviz.Digraph, data: GraphData, precision: int, rankdir: str) -> bool:
    """Every node into ``dot``, inside the box of its layer if it has one, and the columns of
    named nodes in index order; whether there were any."""
    import graphviz

    boxes: dict[float | None, list[GraphNode]] = {}
    for node in data.nodes:
        boxes.setdefault(node.layer, []).append(node)
    columns: dict[float | None, list[list[GraphNode]]] = {}
    place: dict[str, int] = {}
    for column in index_columns(data):
        columns.setdefault(column[0].layer, []).append(column)
        place.update((node.id, i) for i, node in enumerate(column))
    for nodes in boxes.values():  # dot keeps a box's flat edges in order only so
        nodes.sort(key=lambda node: place.get(node.id, -1))
    for layer in sorted(k for k in boxes if k is not None):
        box = graphviz.Digraph(name=f"cluster_{layer}")
        box.attr(
            label=_CLUSTER_LABELS.get(layer, f"layer {layer}"),
            style="rounded,dashed",
            color="#999999",
            fontcolor="#555555",
        )
        for node in boxes[layer]:
            box.node(node.id, **_node_style(node, precision))
        _stack_in_index_order(box, columns.get(layer, []), rankdir, in_box=True)
        dot.subgraph(box)
    for node in boxes.get(None, []):
        dot.node(node.id, **_node_style(node, precision))
    _stack_in_index_order(dot, columns.get(None, []), rankdir, in_box=False)
    return bool(columns)


def _node_style(node: GraphNode, precision: int) -> dict[str, str]:
    style = {
        "id": node.id,
        "label": _node_label(node.value, precision),
        "fillcolor": COLORS[node.kind],
    }
    if node.kind == "loss":
        style["penwidth"] = "2"
    if node.context:
        style["style"] = "rounded,filled,dashed"
    if node.lit:
        style.update({"color": COLORS["highlight"], "penwidth": "2.5"})
    return style


def _edge_style(
    edge: GraphEdge, highlighted: bool, edge_labels: bool, precision: int
) -> dict[str, str]:
    style = {"id": edge.id}
    if edge.parent.kind in ("input", "activation") and edge.child.kind == "pre-activation":
        style["minlen"] = "2"  # h_{k-1} a column before W_k, so layers sit side by side
    if edge_labels:
        style["label"] = _edge_label(edge, precision)
    if highlighted and edge.lit:
        style.update(
            {"color": COLORS["highlight"], "fontcolor": COLORS["highlight"], "penwidth": "2.2"}
        )
    elif highlighted:
        style["color"] = "#bbbbbb"
    return style


_INSTALL_HELP = (
    "Graphviz's `dot` executable was not found on PATH, and render_svg needs it to make the "
    "SVG. Install Graphviz: `sudo apt-get install graphviz` (Debian/Ubuntu), "
    "`brew install graphviz` (macOS) or `conda install -c conda-forge graphviz`, then retry. "
    "Without it, draw(...).source still gives the DOT text."
)


def svg(drawing: graphviz.Digraph) -> str:
    """The SVG text Graphviz's ``dot`` makes of ``drawing`` (from `draw` or `digraph`).

    Raises `GraphvizNotFoundError` (a RuntimeError) when ``dot`` is not installed, and
    `GraphvizError` when it fails or takes longer than `DOT_SECONDS`.
    """
    dot = shutil.which("dot")
    if dot is None:
        raise GraphvizNotFoundError(_INSTALL_HELP)
    try:
        done = subprocess.run(
            [dot, "-Tsvg"],
            input=drawing.source.encode("utf-8"),
            capture_output=True,
            timeout=DOT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise GraphvizError(
            f"dot took more than microbp.graph.DOT_SECONDS = {DOT_SECONDS} s to lay out the "
            "graph and was stopped; draw fewer nodes (layers=…, a smaller network)"
        ) from None
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines() or ["nothing"]
        raise GraphvizError(
            f"dot could not draw the graph (exit {done.returncode}): {said[0][:200]}"
        )
    text: str = done.stdout.decode("utf-8")
    return text


def render_svg(root: Value, path: str | os.PathLike[str], **options: object) -> Path:
    """Draw the graph ending at ``root`` (options as for `draw`) and write it as SVG to ``path``.

    Writes exactly ``path`` (no suffix added; its folder must exist), whole or not at all, and
    returns it as a ``pathlib.Path``. Raises `GraphvizNotFoundError` (a RuntimeError) when
    Graphviz's ``dot`` is not installed; nothing is written then.
    """
    drawing = draw(root, **options)  # type: ignore[arg-type]
    return write_bytes_atomically(path, svg(drawing).encode("utf-8"))
