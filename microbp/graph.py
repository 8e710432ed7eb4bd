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
import math
import os
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from microbp.engine import Value, affine_parts, topological_order
from microbp.validate import check_count

if TYPE_CHECKING:
    import graphviz

#: The most nodes `draw` lays out unless told otherwise. Beyond a few hundred nodes the picture
#: no longer reads, and dot's time grows fast (measured here, networks with edge labels:
#: 400 nodes 0.2 s, 1,300 nodes 3 s, 2,300 nodes 28 s); draw such a graph a layer at a time.
MAX_NODES = 500

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
    "highlight": "#d62728",
}

_LAYERED_NAME = re.compile(r"([Wbah])([1-9][0-9]*)\[")
_KIND_OF_LETTER = {"W": "parameter", "b": "parameter", "a": "pre-activation", "h": "activation"}
_LOSS = math.inf  # the loss's place in the layer order: after every layer
_RANKDIRS = ("LR", "TB", "RL", "BT")


class GraphvizNotFoundError(RuntimeError):
    """Graphviz's ``dot`` executable is not installed (or not on PATH)."""


class GraphTooLargeError(ValueError):
    """The graph has more nodes than ``max_nodes``; the message says how to draw less."""


@dataclass(frozen=True)
class _Role:
    """What a node is in the notes' terms: its category and the cluster (layer) it sits in."""

    kind: str
    layer: float | None  # 0 for inputs, k for layer k, _LOSS for the loss; None: no layer


def _role_of_name(v: Value) -> _Role:
    name = v.name
    if not name:
        return _Role("op" if v.parents else "constant", None)
    if name == "L":
        return _Role("loss", _LOSS)
    if name.startswith("x["):
        return _Role("input", 0)
    match = _LAYERED_NAME.match(name)
    if match:
        return _Role(_KIND_OF_LETTER[match[1]], int(match[2]))
    return _Role("named", None)


def _roles(nodes: Sequence[Value]) -> dict[Value, _Role]:
    """Each node's role; an unnamed node joins the layer it sits inside, or the loss.

    An unnamed node sits inside layer k when the nearest named nodes before it (ancestors) are
    of layer k or earlier and the nearest after it (descendants) of layer k, as the exps and
    the sum inside a softmax are; it joins the loss when every path onward meets the loss before
    any layer, as log ŷ in −log ŷ does. Two passes over the topological order, no recursion.
    """
    roles = {v: _role_of_name(v) for v in nodes}
    unnamed = {v for v in nodes if not v.name}
    after: dict[Value, float | None] = {}  # the latest layer among the nearest named ancestors
    for v in nodes:
        if v in unnamed:
            ranks = [after[p] for p in v.parents if after[p] is not None]
            after[v] = max(ranks, default=None)
        else:
            after[v] = roles[v].layer
    before: dict[Value, float | None] = dict.fromkeys(nodes)  # the earliest among descendants
    for v in reversed(nodes):  # every child of v is visited before v
        if v not in unnamed:
            before[v] = roles[v].layer
        down = before[v]
        if down is not None:
            for p in v.parents:
                if before[p] is None or down < before[p]:
                    before[p] = down
    for v in unnamed:
        up, down = after[v], before[v]
        if down == _LOSS or (down is not None and (up is None or up == down)):
            roles[v] = _Role(roles[v].kind, down)
    return roles


def _text(user_text: str) -> str:
    """``user_text`` as Graphviz HTML-label text that shows exactly those characters.

    Markup characters are escaped, line breaks become ``<br/>``, backslashes are doubled (dot
    expands ``\\N``, ``\\G``… even in HTML labels), and characters XML cannot carry (control
    characters other than the line break, lone surrogates) are shown as their Python escape,
    e.g. ``\\x07``, so any name gives a well-formed SVG that shows it as text.
    """
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


def _factor(node: Value, i: int) -> Value | None:
    """The parent whose data is ∂node/∂parents[i], for the products (``*`` and ``affine``)."""
    if node.op == "*":
        return node.parents[1 - i]
    if node.op == "affine" and i > 0:
        _, w, h = affine_parts(node.parents)  # ∂a/∂w_j = h_j and ∂a/∂h_j = w_j
        return h[i - 1] if i <= len(w) else w[i - 1 - len(w)]
    return None


def _edge_label(node: Value, i: int, precision: int) -> str:
    """∂node/∂parents[i] as a number, named when it is another node's data (``h1[3] = …``)."""
    text = _text(_number(node.local_grads[i], precision))
    factor = _factor(node, i)
    if factor is not None and factor.name:
        text = f"{_text(factor.name)} = {text}"
    return f'<<font point-size="10">{text}</font>>'


def _describe(v: Value) -> str:
    return repr(v.name) if v.name else f"the unnamed {v.op or 'constant'} node"


def _layer_list(layers: Iterable[float | None]) -> str:
    found = sorted({int(k) for k in layers if k is not None and 0 < k < _LOSS})
    return ", ".join(map(str, found)) if found else "none (no Wk[…], bk[…], ak[…], hk[…] names)"


def _check_options(rankdir: str, max_nodes: int, precision: int) -> None:
    if rankdir not in _RANKDIRS:
        raise ValueError(
            f"rankdir must be one of {', '.join(_RANKDIRS)} "
            f"('LR' left to right, 'TB' top to bottom), got {rankdir!r}"
        )
    check_count(max_nodes, "max_nodes")
    if isinstance(precision, bool) or not isinstance(precision, int) or not 1 <= precision <= 17:
        raise ValueError(
            f"precision (significant digits) must be an int 1 to 17, got {precision!r}"
        )


def _too_large(root: Value, n: int, max_nodes: int, layers: Iterable[float | None]) -> Exception:
    return GraphTooLargeError(
        f"the graph ending at {_describe(root)} has {n} nodes to draw, more than "
        f"max_nodes={max_nodes} (default microbp.graph.MAX_NODES = {MAX_NODES}): a picture "
        "that large does not read, and dot's time grows fast with size. Draw less: one layer "
        "at a time with layers=[k] "
        f"(this graph's layers: {_layer_list(layers)}), or a smaller root such as one unit "
        f"(draw(net.layers[0].a[0]) draws a1[1] and what feeds it), or pass max_nodes={n} to "
        "draw all of it anyway."
    )


def _selected_layers(layers: Iterable[int], roles: dict[Value, _Role]) -> set[int]:
    present = {role.layer for role in roles.values()}
    chosen = set()
    for k in layers:
        if isinstance(k, bool) or not isinstance(k, int) or k not in present or k < 1:
            raise ValueError(
                f"layers must list layer numbers k ≥ 1 of this graph, got {k!r}; "
                f"this graph's layers: {_layer_list(present)}"
            )
        chosen.add(k)
    return chosen


def _highlight_sources(
    highlight: Value | str | Iterable[Value | str], nodes: Sequence[Value]
) -> set[Value]:
    wanted = [highlight] if isinstance(highlight, (Value, str)) else list(highlight)
    in_graph = set(nodes)
    sources: set[Value] = set()
    for item in wanted:
        if isinstance(item, str):
            named = {v for v in nodes if v.name == item}
            if not named:
                raise ValueError(f"highlight={item!r}: no node of this graph has that name")
            sources |= named
        elif isinstance(item, Value):
            if item not in in_graph:
                raise ValueError(
                    f"highlight: {item!r} is not in this graph (the root does not depend on it)"
                )
            sources.add(item)
        else:
            raise TypeError(f"highlight takes Values or names (str), got {type(item).__name__}")
    return sources


def _on_paths(sources: set[Value], nodes: Sequence[Value]) -> set[Value]:
    """The nodes on some path from one of ``sources`` to the root: the sources' descendants."""
    reached = set(sources)
    for v in nodes:
        if v not in reached and any(p in reached for p in v.parents):
            reached.add(v)
    return reached


_CLUSTER_LABELS = {0: "inputs", _LOSS: "loss"}


def draw(
    root: Value,
    *,
    rankdir: str = "LR",
    highlight: Value | str | Iterable[Value | str] | None = None,
    edge_labels: bool = True,
    layers: Iterable[int] | None = None,
    max_nodes: int = MAX_NODES,
    precision: int = 4,
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

    Returns the ``graphviz.Digraph``: displayed inline in Jupyter, its ``.source`` is the DOT
    text (no Graphviz install needed for that); `render_svg` writes it as SVG.
    """
    import graphviz

    if not isinstance(root, Value):
        raise TypeError(
            f"draw needs a Value, the node the graph ends at (e.g. the loss L), "
            f"got {type(root).__name__}"
        )
    _check_options(rankdir, max_nodes, precision)
    nodes = topological_order(root)
    if layers is None and len(nodes) > max_nodes:
        raise _too_large(root, len(nodes), max_nodes, (_role_of_name(v).layer for v in nodes))
    roles = _roles(nodes)
    on_path = (
        _on_paths(_highlight_sources(highlight, nodes), nodes) if highlight is not None else set()
    )
    context: set[Value] = set()
    if layers is not None:
        chosen = _selected_layers(layers, roles)
        selected = {v for v in nodes if roles[v].layer in chosen}
        context = {p for v in selected for p in v.parents} - selected
        nodes = [v for v in nodes if v in selected or v in context]
        if len(nodes) > max_nodes:
            raise _too_large(root, len(nodes), max_nodes, (r.layer for r in roles.values()))

    ids = {v: f"n{i}" for i, v in enumerate(nodes)}
    caption = []
    if edge_labels:
        caption.append("edge: local derivative ∂child/∂parent")
    if on_path:
        caption.append("red: every path from the highlighted node(s) to the root")
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

    clusters: dict[float | None, list[Value]] = {}
    for v in nodes:
        clusters.setdefault(None if v in context else roles[v].layer, []).append(v)
    for layer in sorted(k for k in clusters if k is not None):
        with dot.subgraph(name=f"cluster_{layer}") as box:
            box.attr(
                label=_CLUSTER_LABELS.get(layer, f"layer {layer}"),
                style="rounded,dashed",
                color="#999999",
                fontcolor="#555555",
            )
            for v in clusters[layer]:
                box.node(ids[v], **_node_style(v, roles[v], v in on_path, False, precision))
    for v in clusters.get(None, []):
        dot.node(ids[v], **_node_style(v, roles[v], v in on_path, v in context, precision))

    for v in nodes:
        if v in context:
            continue
        for i, parent in enumerate(v.parents):
            style: dict[str, str] = {}
            if roles[parent].kind in ("input", "activation") and roles[v].kind == "pre-activation":
                style["minlen"] = "2"  # h_{k-1} a column before W_k, so layers sit side by side
            if edge_labels:
                style["label"] = _edge_label(v, i, precision)
            if on_path:
                lit = parent in on_path and v in on_path
                style.update(
                    {
                        "color": COLORS["highlight"],
                        "fontcolor": COLORS["highlight"],
                        "penwidth": "2.2",
                    }
                    if lit
                    else {"color": "#bbbbbb"}
                )
            dot.edge(ids[parent], ids[v], **style)
    return dot


def _node_style(v: Value, role: _Role, lit: bool, context: bool, precision: int) -> dict[str, str]:
    style = {"label": _node_label(v, precision), "fillcolor": COLORS[role.kind]}
    if role.kind == "loss":
        style["penwidth"] = "2"
    if context:
        style["style"] = "rounded,filled,dashed"
    if lit:
        style.update({"color": COLORS["highlight"], "penwidth": "2.5"})
    return style


_INSTALL_HELP = (
    "Graphviz's `dot` executable was not found on PATH, and render_svg needs it to make the "
    "SVG. Install Graphviz: `sudo apt-get install graphviz` (Debian/Ubuntu), "
    "`brew install graphviz` (macOS) or `conda install -c conda-forge graphviz`, then retry. "
    "Without it, draw(...).source still gives the DOT text."
)


def render_svg(root: Value, path: str | os.PathLike[str], **options: object) -> Path:
    """Draw the graph ending at ``root`` (options as for `draw`) and write it as SVG to ``path``.

    Writes exactly ``path`` (no suffix added; its folder must exist) and returns it as a
    ``pathlib.Path``. Raises `GraphvizNotFoundError` (a RuntimeError) when Graphviz's ``dot``
    is not installed; nothing is written then.
    """
    import graphviz

    digraph = draw(root, **options)  # type: ignore[arg-type]
    try:
        svg = digraph.pipe(format="svg")
    except graphviz.ExecutableNotFound as missing:
        raise GraphvizNotFoundError(_INSTALL_HELP) from missing
    target = Path(path)
    target.write_bytes(svg)
    return target
