"""What a picture of a computation graph shows, before any drawing: its nodes with their roles
in the notes (parameter, pre-activation, activation, loss) and layers, its edges with their
local derivatives, what is highlighted, and whether it is small enough to draw.

`graph_data` is the one description of a drawing: `microbp.graph` turns it into DOT and SVG,
`microbp.explorer` into the data of its page.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from microbp.engine import Value, topological_order
from microbp.passes import describe_node
from microbp.validate import brief, check_count

#: The most nodes `draw` lays out unless told otherwise. Beyond a few hundred nodes the picture
#: no longer reads, and dot's time grows fast (measured here, networks with edge labels:
#: 400 nodes 0.2 s, 1,300 nodes 3 s, 2,300 nodes 28 s); draw such a graph a layer at a time.
MAX_NODES = 500

#: The most edges `draw` lays out per node it may lay out (``max_nodes``): what costs dot its time
#: is edges as much as nodes (a node summing 20,000 copies of another is two nodes and 20,000
#: edges). A network's graph has fewer than four edges a node.
EDGES_PER_NODE = 4

#: The loss's place in the layer order: after every layer.
LOSS_LAYER = math.inf

_LAYERED_NAME = re.compile(r"([Wbah])([1-9][0-9]{0,5})\[")  # layer numbers of at most 6 digits
#: A name in the notes' notation with its indices: x[j], Wk[i,j], bk[i], ak[i], hk[i].
_INDEXED_NAME = re.compile(r"(x|[Wbah][1-9][0-9]{0,5})\[([1-9][0-9]{0,5})(?:,([1-9][0-9]{0,5}))?\]")
_KIND_OF_LETTER = {"W": "parameter", "b": "parameter", "a": "pre-activation", "h": "activation"}


class GraphTooLargeError(ValueError):
    """The graph has more nodes than ``max_nodes``; the message says how to draw less."""


@dataclass(frozen=True)
class _Role:
    """What a node is in the notes' terms: its category and the cluster (layer) it sits in."""

    kind: str
    layer: float | None  # 0 for inputs, k for layer k, LOSS_LAYER for the loss; None: no layer


def _role_of_name(v: Value) -> _Role:
    name = v.name
    if not name:
        return _Role("op" if v.parents else "constant", None)
    if name == "L":
        return _Role("loss", LOSS_LAYER)
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
            ranks = [rank for p in v.parents if (rank := after[p]) is not None]
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
                earliest = before[p]
                if earliest is None or down < earliest:
                    before[p] = down
    for v in unnamed:
        up, down = after[v], before[v]
        if down == LOSS_LAYER or (down is not None and (up is None or up == down)):
            roles[v] = _Role(roles[v].kind, down)
    return roles


def _factor(node: Value, i: int) -> Value | None:
    """The parent whose data is ∂node/∂parents[i], as its op's record says (for the products,
    ``*`` and ``affine``: h1[3] on the edge W2[1,3] → a2[1])."""
    op = node.operation
    j = None if op is None else op.factor(i, len(node.parents))
    return None if j is None else node.parents[j]


def _layer_list(layers: Iterable[float | None]) -> str:
    found = sorted({int(k) for k in layers if k is not None and 0 < k < LOSS_LAYER})
    return ", ".join(map(str, found)) if found else "none (no Wk[…], bk[…], ak[…], hk[…] names)"


def _too_large(root: Value, n: int, max_nodes: int, layers: Iterable[float | None]) -> Exception:
    return GraphTooLargeError(
        f"the graph ending at {describe_node(root)} has {n} nodes to draw, more than "
        f"max_nodes={max_nodes} (default microbp.drawing.MAX_NODES = {MAX_NODES}): a picture "
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


@dataclass(frozen=True)
class GraphNode:
    """One node as `draw` shows it; ``id`` names its box in the DOT source and in the SVG."""

    id: str  # n0, n1, … in the order drawn: parents before children
    value: Value
    kind: str  # a key of COLORS: "input", "parameter", "pre-activation", "activation", …
    layer: float | None  # the box it sits in: 0 inputs, k layer k, math.inf loss; None no box
    context: bool  # drawn dashed: it feeds the layers drawn (``layers=…``) but is not in them
    lit: bool  # on a path from a highlighted node to the root


@dataclass(frozen=True)
class GraphEdge:
    """The edge parent → child, ``parent`` being ``child.parents[index]``: ∂child/∂parent."""

    id: str  # e0, e1, … in the order drawn
    parent: GraphNode
    child: GraphNode
    index: int
    local: float  # ∂child/∂parent, the number backward multiplies the child's grad by
    factor: Value | None  # the node whose data ``local`` is (``h1[3]`` on W2[1,3] → a2[1])
    lit: bool


@dataclass(frozen=True)
class GraphData:
    """What `draw` shows, before it becomes DOT: the nodes (parents first) and the edges."""

    root: Value
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    highlighted: bool  # some node was highlighted: the lit paths are drawn red, the rest grey


def graph_data(
    root: Value,
    *,
    highlight: Value | str | Iterable[Value | str] | None = None,
    layers: Iterable[int] | None = None,
    max_nodes: int = MAX_NODES,
    parameters: bool = True,
) -> GraphData:
    """The nodes and edges of the graph ending at ``root`` that `draw` shows (options as there).

    The one description of a drawing: `digraph` turns it into DOT, `microbp.explorer` into the
    data of its page. Refused with a `GraphTooLargeError` over ``max_nodes`` nodes. Ids are each
    node's and edge's place in the whole drawing, so with ``parameters=False`` (no ``Wk[…]``,
    ``bk[…]`` nodes, nor their edges) they are the same as with them.
    """
    check_count(max_nodes, "max_nodes")
    if not isinstance(parameters, bool):
        raise TypeError(f"parameters must be True or False, got {type(parameters).__name__}")
    nodes = topological_order(root)
    for i, v in enumerate(nodes):
        if v.name is not None and not isinstance(v.name, str):
            raise TypeError(
                f"a node's name must be a str or None; node {i} of the graph ending at "
                f"{describe_node(root)} has the {type(v.name).__name__} {brief(v.name)}"
            )
    if layers is None and len(nodes) > max_nodes:
        raise _too_large(root, len(nodes), max_nodes, (_role_of_name(v).layer for v in nodes))
    roles = _roles(nodes)
    on_path = (
        _on_paths(_highlight_sources(highlight, nodes), nodes) if highlight is not None else set()
    )
    context: set[Value] = set()
    if layers is not None:
        nodes, context = _layers_only(nodes, roles, layers)
        if len(nodes) > max_nodes:
            raise _too_large(root, len(nodes), max_nodes, (r.layer for r in roles.values()))
    recorded = _on_paths({v for v in nodes if v.name and v.name.startswith("∂")}, nodes)
    drawn = {
        v: GraphNode(
            f"n{i}",
            v,
            "backward" if v in recorded else roles[v].kind,
            None if v in context else roles[v].layer,
            v in context,
            v in on_path,
        )
        for i, v in enumerate(nodes)
    }
    inward = [(v, i, p) for v in nodes if v not in context for i, p in enumerate(v.parents)]
    if len(inward) > EDGES_PER_NODE * max_nodes:
        raise GraphTooLargeError(
            f"the graph ending at {describe_node(root)} has {len(inward):,} edges to draw, "
            f"more than {EDGES_PER_NODE} for each of max_nodes={max_nodes} "
            "(dot's time grows with them); nodes with that many operands make no picture: "
            "draw a smaller graph"
        )
    edges = [
        GraphEdge(
            f"e{n}",
            drawn[p],
            drawn[v],
            i,
            v.local_grads[i],
            _factor(v, i),
            p in on_path and v in on_path,
        )
        for n, (v, i, p) in enumerate(inward)
    ]
    shown = list(drawn.values())
    if not parameters:
        shown = [node for node in shown if node.kind != "parameter"]
        edges = [edge for edge in edges if edge.parent.kind != "parameter"]
    return GraphData(root, shown, edges, bool(on_path))


def _layers_only(
    nodes: list[Value], roles: dict[Value, _Role], layers: Iterable[int]
) -> tuple[list[Value], set[Value]]:
    """The nodes of the chosen layers and of their context (their parents outside them)."""
    chosen = _selected_layers(layers, roles)
    selected = {v for v in nodes if roles[v].layer in chosen}
    context = {p for v in selected for p in v.parents} - selected
    return [v for v in nodes if v in selected or v in context], context


def _column_and_place(name: str) -> tuple[str, tuple[int, int]] | None:
    """The column a node named in the notes' notation stands in (``x``, ``Wb2`` for W2 and
    b2 together, ``a2``, ``h2``) and its place there: W2[i,1…n] then b2[i], row by row."""
    match = _INDEXED_NAME.fullmatch(name)
    if match is None:
        return None
    symbol, i, j = match[1], int(match[2]), match[3]
    if symbol[0] in "Wb":
        return "Wb" + symbol[1:], (i, int(j) if j else 1_000_000)
    return (symbol, (i, 0)) if j is None else None


def index_columns(data: GraphData) -> list[list[GraphNode]]:
    """The named nodes of ``data`` in columns (x; Wk and bk; ak; hk), each in index order
    (x[1] above x[2], W1[1,1] above W1[1,2], then b1[1]), as a drawing stacks them.

    A column with an edge inside it is left out: its nodes cannot stand side by side.
    """
    columns: dict[str, list[tuple[tuple[int, int], GraphNode]]] = {}
    for node in data.nodes:
        found = _column_and_place(node.value.name) if node.value.name else None
        if found is not None:
            columns.setdefault(found[0], []).append((found[1], node))
    column_of = {node.id: name for name, items in columns.items() for _, node in items}
    inside = {
        column_of[e.parent.id]
        for e in data.edges
        if e.parent.id in column_of and column_of[e.parent.id] == column_of.get(e.child.id)
    }
    return [
        [node for _, node in sorted(items, key=lambda item: item[0])]
        for name, items in columns.items()
        if name not in inside and len(items) > 1
    ]
