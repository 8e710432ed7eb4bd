"""One self-contained HTML page that lets a learner watch a backward pass happen, and change it.

The page shows the network as layers (one node per unit, weights as edges) and every layer's
matrices, ∇W_k drawn as the outer product ∇a_k h_{k-1}ᵀ it is: choosing ∇W_k[i,j] lights its two
factors ∇a_k[i] and h_{k-1}[j]. The pass replays in the notes' steps (forward, then ∇a_L, ∇W_k,
∇b_k, ∇h_{k-1}, ∇a_{k-1} layer by layer) or node by node in the engine's order on the scalar
graph `graph.draw` draws. x, the target, any weight or bias can be edited and SGD steps taken:
the page recomputes the pass with its own small script of the notes' formulas
(explorer_model.js), held to the engine by the browser tests.

The scalar graph's numbers are the engine's, embedded as JSON built from `drawing.graph_data`,
the same description the SVG is drawn from. Nothing is fetched when the page is viewed.
"""

from __future__ import annotations

import html
import json
import numbers
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from microbp import drawing, graph
from microbp.engine import Value, zero_grad
from microbp.files import write_bytes_atomically
from microbp.nn import LOSSES, MLP, Layer
from microbp.validate import check_loss

#: The height of the inline display in Jupyter, in CSS pixels.
INLINE_HEIGHT = 760

#: Where explorer.html takes its parts, in the order they appear in it.
_SLOTS = ("/*microbp:style*/", "<!--microbp:svg-->", "/*microbp:data*/", "/*microbp:script*/")

#: The page's scripts, in the order they run: the pass's formulas, the scalar graph's own
#: pass, the layer view's drawing.
SCRIPTS = ("explorer_model.js", "explorer_chain.js", "explorer_view.js")

#: The parts of the page's own script, joined in this order inside one function (they share
#: its scope: the state first, the call that builds the page last).
PAGE_SCRIPT_PARTS = (
    "explorer_state.js",
    "explorer_tables.js",
    "explorer_scalar.js",
    "explorer_panel.js",
    "explorer.js",
)


@dataclass(frozen=True)
class Explorer:
    """The explorer page of one forward and backward pass; shown inline in Jupyter.

    ``html`` is the whole page; ``L`` is the loss node the page shows the graph of.
    """

    html: str
    L: Value

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the page to ``path`` (whole or not at all) and return it as a ``Path``."""
        return write_bytes_atomically(path, self.html.encode("utf-8"))

    def _repr_html_(self) -> str:
        """The page in an iframe of its own, so its script and styles stay out of the notebook."""
        return (
            f'<iframe srcdoc="{html.escape(self.html, quote=True)}" '
            f'title="microbp backpropagation explorer" '
            f'style="width: 100%; height: {INLINE_HEIGHT}px; border: 1px solid #ddd"></iframe>'
        )


def explore(
    net: MLP,
    x: Sequence[float],
    target: int | Sequence[float],
    *,
    loss: str = "cross_entropy",
) -> Explorer:
    """Run ``net`` forward on ``x`` and backward from its loss, and build the page showing it.

    ``target`` is a class index counting from 0 for ``loss="cross_entropy"``, a vector y for
    ``"squared_error"``. The parameters' grads are zeroed before the backward pass, so they hold
    exactly this pass's afterwards. A graph with more than `drawing.MAX_NODES` nodes is refused with
    `drawing.GraphTooLargeError` before any grad changes; without Graphviz's ``dot``,
    `graph.GraphvizNotFoundError`.
    """
    check_loss(loss)
    if not isinstance(net, MLP):
        raise TypeError(f"explore needs a microbp MLP, got {type(net).__name__}")
    L = LOSSES[loss](net(x), target)
    data = drawing.graph_data(L)  # the size guard, before the pass changes anything
    zero_grad(net.parameters())
    L.backward()
    folded = drawing.graph_data(L, parameters=False)
    svgs = (
        _compact_svg(graph.svg(graph.digraph(folded)), "scalar-folded"),
        _compact_svg(graph.svg(graph.digraph(data)), "scalar-full"),
    )
    return Explorer(_page("\n".join(svgs), _page_data(net, L, loss, target, data)), L)


def write_html(
    net: MLP,
    x: Sequence[float],
    target: int | Sequence[float],
    path: str | os.PathLike[str],
    *,
    loss: str = "cross_entropy",
) -> Path:
    """Write the explorer page of ``net`` on ``x`` (see `explore`) to ``path``; return the path.

    One HTML file with its script, styles and SVG inside: it opens from disk, offline, in any
    current browser. Written to a temporary name beside ``path`` and renamed into place.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    return explore(net, x, target, loss=loss).write(path)


def _page_data(
    net: MLP,
    L: Value,
    loss: str,
    target: int | Sequence[float],
    data: drawing.GraphData,
) -> dict[str, Any]:
    """Everything the page starts from, as JSON-ready data: the network's numbers (which the
    page's script recomputes the pass from), the scalar graph's nodes and edges with the
    engine's numbers, the engine's backward order, and each layer's entries as node ids."""
    ids = {node.value: node.id for node in data.nodes}
    order = [node for node in reversed(data.nodes) if node.value.parents]
    step_of = {node.id: s for s, node in enumerate(order, start=1)}
    ready = dict.fromkeys(ids.values(), 1)  # the step after which a node's grad is complete
    for edge in data.edges:
        ready[edge.parent.id] = max(ready[edge.parent.id], step_of[edge.child.id])
    return {
        "network": {
            "sizes": net.sizes,
            "hidden": net.hidden,
            "output": net.output,
            "activations": [layer.activation for layer in net.layers],
            "loss": loss,
            "x": [v.data for v in net.layers[0].h_prev],
            "W": [[[w.data for w in row] for row in layer.W] for layer in net.layers],
            "b": [[b.data for b in layer.b] for layer in net.layers],
            "target": (
                int(target)
                if isinstance(target, (int, numbers.Integral))
                else [float(t) for t in target]
            ),
            "y_hat": [h.data for h in net.layers[-1].h],
            "L": L.data,
        },
        "nodes": [
            {
                "id": node.id,
                "name": node.value.name,
                "op": node.value.op,
                "kind": node.kind,
                "data": node.value.data,
                "grad": node.value.grad,
                "ready": ready[node.id],
            }
            for node in data.nodes
        ],
        "edges": [
            {
                "id": edge.id,
                "parent": edge.parent.id,
                "child": edge.child.id,
                "local": edge.local,
                "factor": edge.factor.name if edge.factor is not None else None,
                "term": edge.local * edge.child.value.grad,  # what backward adds to the parent
            }
            for edge in data.edges
        ],
        "order": [node.id for node in order],
        "layers": [_layer_data(layer, ids) for layer in net.layers],
        "targets": _target_nodes(net, data, ids),
    }


def _target_nodes(net: MLP, data: drawing.GraphData, ids: dict[Value, str]) -> list[str]:
    """The constant y_i of each (ŷ_i − y_i) of a squared error, as node ids (none for a
    cross-entropy), so the page can put an edited target into the scalar graph."""
    outputs = {h: i for i, h in enumerate(net.layers[-1].h)}
    found: dict[int, str] = {}
    for node in data.nodes:
        v = node.value
        if v.op == "-" and v.parents[0] in outputs and not v.parents[1].parents:
            found[outputs[v.parents[0]]] = ids[v.parents[1]]
    return [found[i] for i in sorted(found)]


def _layer_data(layer: Layer, ids: dict[Value, str]) -> dict[str, Any]:
    """Layer k's entries as the ids of their nodes in the scalar graph (cross-entropy's L
    depends on ŷ_ℓ alone, so the other outputs have none)."""
    return {
        "k": layer.k,
        "h_prev": [ids[v] for v in layer.h_prev],
        "a": [ids[v] for v in layer.a],
        "h": [ids.get(v) for v in layer.h],  # None: an output L does not depend on
        "b": [ids[v] for v in layer.b],
        "W": [[ids[w] for w in row] for row in layer.W],
    }


#: What the page needs of dot's SVG less: comments, titles (tooltips "n12"), the font named
#: on every text (the page's style names it once).
_SVG_CLUTTER = re.compile(r'<!--.*?-->\n?|<title>[^<]*</title>\n?| font-family="[^"]*"')
_SVG_ID = re.compile(r'<g id="((?:n|e|clust|graph)[0-9]+)"')
#: The geometry of shapes, lines and texts and the texts' sizes (an attribute's quotes are
#: never in a text, where dot escapes them), and a number in it.
_SVG_GEOMETRY = re.compile(r' (d|points|x|y|font-size)="([^"]*)"')
_DECIMAL = re.compile(r"-?[0-9]+\.[0-9]+")


def _whole_points(match: re.Match[str]) -> str:
    numbers = _DECIMAL.sub(lambda m: str(round(float(m[0]))), match[2])
    return f' {match[1]}="{numbers}"'


def _compact_svg(svg: str, name: str) -> str:
    """dot's SVG from its <svg> tag on, named ``name``, its nodes' and edges' ids prefixed
    with it (two drawings of one graph share a page), the clutter left out and its geometry
    in whole points (a page the size of one drawing holds both)."""
    svg = _SVG_CLUTTER.sub("", svg[svg.index("<svg") :])
    svg = _SVG_GEOMETRY.sub(_whole_points, svg)
    svg = _SVG_ID.sub(lambda m: f'<g id="{name}-{m[1]}"', svg)
    return svg.replace("<svg ", f'<svg id="{name}" ', 1)


def _asset(name: str) -> str:
    return resources.files("microbp").joinpath(name).read_text(encoding="utf-8")


#: A lone surrogate (a str never holds a pair): JSON's \\uXXXX escape carries it to the page.
_LONE_SURROGATE = re.compile("[\\ud800-\\udfff]")


def _script_json(document: dict[str, Any]) -> str:
    """JSON that can sit inside a <script> element: no ``<``, ``>`` or ``&`` left to end it."""
    text = json.dumps(document, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    text = _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m[0]):04x}", text)  # UTF-8 cannot carry them
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _page(svg: str, document: dict[str, Any]) -> str:
    """The template with its styles, the SVG (from its <svg> tag on), the data and the script
    filled in, each slot once, so nothing filled in can be taken for a later slot."""
    parts = (_asset("explorer.css"), svg, _script_json(document))
    rest = _asset("explorer.html")
    page = []
    page_script = "\n".join(_asset(name) for name in PAGE_SCRIPT_PARTS)
    script = "\n".join(
        [*(_asset(name) for name in SCRIPTS), f"(function () {{\n{page_script}}})();"]
    )
    for slot, part in zip(_SLOTS, (*parts, script)):
        before, _, rest = rest.partition(slot)
        page += [before, part]
    return "".join([*page, rest])
