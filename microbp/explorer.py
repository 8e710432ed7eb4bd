"""One self-contained HTML page that lets a learner watch a backward pass happen.

The page shows a network's matrices layer by layer (h_{k-1}, ∇a_k, ∇b_k, ∇W_k from the engine
beside ∇a_k·h_{k-1}ᵀ from the formulas) next to the computation graph `graph.draw` draws. Clicking
an entry of ∇W_k lights up ``Wk[i,j]``, its edge to ``ak[i]`` and every path on to ``L``, and
shows ∂L/∂Wk[i,j] = ∂L/∂ak[i] · h_{k-1,j}; clicking a node shows the chain-rule terms its grad
is the sum of; the backward pass can be replayed one node at a time in the engine's order.

Every number on the page is the engine's (or, for the formula column, `formulas.gradients`'s),
embedded as JSON built from `drawing.graph_data`, the same description the SVG is drawn from; the
page's script only looks numbers up and shows them. Nothing is fetched when the page is viewed.
"""

from __future__ import annotations

import html
import json
import numbers
import os
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from microbp import drawing, formulas, graph
from microbp.engine import Value, zero_grad
from microbp.files import write_bytes_atomically
from microbp.nn import LOSSES, MLP, Layer
from microbp.validate import check_loss

#: The height of the inline display in Jupyter, in CSS pixels.
INLINE_HEIGHT = 760

#: Where explorer.html takes its parts, in the order they appear in it.
_SLOTS = ("/*microbp:style*/", "<!--microbp:svg-->", "/*microbp:data*/", "/*microbp:script*/")


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
    formula = formulas.gradients(net, x, target, loss)
    svg = graph.svg(graph.digraph(data))
    document = _page_data(net, L, loss, target, data, formula)
    return Explorer(_page(svg, document), L)


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
    formula: formulas.Gradients,
) -> dict[str, Any]:
    """Everything the page shows, as JSON-ready data: the graph's nodes and edges with their
    numbers, the engine's backward order, and each layer's matrices as node ids."""
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
            "loss": loss,
            "x": [v.data for v in net.layers[0].h_prev],
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
        "layers": [
            _layer_data(layer, ids, grads) for layer, grads in zip(net.layers, formula.layers)
        ],
    }


def _layer_data(
    layer: Layer, ids: dict[Value, str], grads: formulas.LayerGradients
) -> dict[str, Any]:
    engine_W = np.array([[w.grad for w in row] for row in layer.W])
    return {
        "k": layer.k,
        "activation": layer.activation,
        "h_prev": [ids[v] for v in layer.h_prev],
        "a": [ids[v] for v in layer.a],
        "b": [ids[v] for v in layer.b],
        "W": [[ids[w] for w in row] for row in layer.W],
        "grad_W_formula": grads.grad_W.tolist(),
        "max_abs_diff": float(np.max(np.abs(engine_W - grads.grad_W))),
    }


def _asset(name: str) -> str:
    return resources.files("microbp").joinpath(name).read_text(encoding="utf-8")


def _script_json(document: dict[str, Any]) -> str:
    """JSON that can sit inside a <script> element: no ``<``, ``>`` or ``&`` left to end it."""
    text = json.dumps(document, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _page(svg: str, document: dict[str, Any]) -> str:
    """The template with its styles, the SVG (from its <svg> tag on), the data and the script
    filled in, each slot once, so nothing filled in can be taken for a later slot."""
    parts = (_asset("explorer.css"), svg[svg.index("<svg") :], _script_json(document))
    rest = _asset("explorer.html")
    page = []
    for slot, part in zip(_SLOTS, (*parts, _asset("explorer.js"))):
        before, _, rest = rest.partition(slot)
        page += [before, part]
    return "".join([*page, rest])
