"""Where dot puts the nodes of a network's graph, read back from its own layout output: named
nodes stand in index order, a column each (x[1] above x[2], W1[1,1] above W1[1,2] above
b1[1], units by i), with or without the parameter nodes, in every direction of drawing.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
from itertools import pairwise

import pytest

from microbp import MLP, Value
from microbp.drawing import graph_data
from microbp.graph import draw
from microbp.nn import LOSSES

pytestmark = pytest.mark.dot

NAMED = re.compile(r"(x|[Wbah]\d+)\[(\d+)(?:,(\d+))?\]")


def loss_of(sizes: list[int], hidden: str, loss: str, seed: int) -> Value:
    output = "softmax" if loss == "cross_entropy" else "linear"
    net = MLP(sizes, hidden=hidden, output=output, seed=seed)
    target = 1 if loss == "cross_entropy" else [0.2] * sizes[-1]
    L = LOSSES[loss](net([0.4 - 0.3 * j for j in range(sizes[0])]), target)
    L.backward()
    return L


def laid_out(L: Value, **options: object) -> dict[str, tuple[float, float]]:
    """Each named node's centre as dot lays it out (x to the right, y upward), by name."""
    dot = shutil.which("dot")
    assert dot is not None
    source = draw(L, **options).source  # type: ignore[arg-type]
    layout = json.loads(
        subprocess.run(
            [dot, "-Tjson"], input=source.encode(), capture_output=True, check=True
        ).stdout
    )
    chosen = {key: value for key, value in options.items() if key != "rankdir"}
    names = {node.id: node.value.name or "" for node in graph_data(L, **chosen).nodes}  # type: ignore[arg-type]
    found: dict[str, tuple[float, float]] = {}
    for item in layout["objects"]:
        if "pos" in item and names.get(item.get("id")):
            x, y = map(float, item["pos"].split(","))
            found[names[item["id"]]] = (x, y)
    return found


def columns(names: list[str]) -> dict[str, list[str]]:
    """The names by column (x; Wk with bk; ak; hk), each in index order."""
    by_column: dict[str, list[tuple[tuple[int, int], str]]] = {}
    for name in names:
        match = NAMED.fullmatch(name)
        if match is None:
            continue
        symbol, i, j = match[1], int(match[2]), match[3]
        column = "Wb" + symbol[1:] if symbol[0] in "Wb" else symbol
        place = (i, int(j) if j else 10**9)  # bk[i] after Wk[i,…]
        by_column.setdefault(column, []).append((place, name))
    return {column: [name for _, name in sorted(items)] for column, items in by_column.items()}


def assert_index_order(found: dict[str, tuple[float, float]], rankdir: str) -> None:
    """Every column stands on one line across the flow, in index order: top to bottom when
    the graph flows left or right, left to right when it flows down or up."""
    across, sign = (1, -1) if rankdir in ("LR", "RL") else (0, 1)
    flow = 1 - across
    for column, names in columns(list(found)).items():
        assert len({found[name][flow] for name in names}) == 1, column
        places = [sign * found[name][across] for name in names]
        assert all(a < b for a, b in pairwise(places)), (column, names, places)


@pytest.mark.parametrize("parameters", [True, False], ids=["parameters", "folded"])
@pytest.mark.parametrize(
    "sizes", [[3, 3, 3, 2], [3, 8, 2], [2, 4, 4, 4, 3], [4, 16, 16, 3]], ids=str
)
def test_the_networks_nodes_stand_in_index_order_a_column_each(sizes, parameters):
    found = laid_out(loss_of(sizes, "sigmoid", "cross_entropy", seed=0), parameters=parameters)
    assert ("W1[1,1]" in found) == parameters
    assert_index_order(found, "LR")
    if parameters:
        assert found["W1[1,1]"][1] > found["W1[1,2]"][1] > found["b1[1]"][1] > found["W1[2,1]"][1]


@pytest.mark.parametrize("rankdir", ["LR", "TB", "RL", "BT"])
def test_index_order_holds_in_every_direction_for_any_activation_and_loss(rankdir):
    rng = random.Random(rankdir)
    for seed in range(4):
        sizes = [rng.randint(1, 5) for _ in range(rng.randint(2, 4))]
        sizes[-1] = max(2, sizes[-1])
        hidden = rng.choice(["sigmoid", "tanh", "relu", "linear"])
        loss = rng.choice(["cross_entropy", "squared_error"])
        L = loss_of(sizes, hidden, loss, seed)
        for parameters in (True, False):
            found = laid_out(L, rankdir=rankdir, parameters=parameters)
            assert_index_order(found, rankdir)


@pytest.mark.parametrize("rankdir", ["LR", "TB", "RL", "BT"])
def test_one_layer_drawn_alone_keeps_its_index_order_and_its_contexts(rankdir):
    L = loss_of([3, 4, 3, 2], "tanh", "cross_entropy", seed=1)
    found = laid_out(L, layers=[2], rankdir=rankdir)
    assert "W2[3,4]" in found and "h1[4]" in found  # the layer and its context
    assert_index_order(found, rankdir)


def test_folding_the_parameters_leaves_out_their_nodes_and_edges_and_keeps_every_id():
    L = loss_of([3, 3, 2], "sigmoid", "cross_entropy", seed=0)
    full, folded = graph_data(L), graph_data(L, parameters=False)
    kept = [node for node in full.nodes if node.kind != "parameter"]
    assert [(n.id, n.value) for n in folded.nodes] == [(n.id, n.value) for n in kept]
    assert [(e.id, e.parent.id, e.child.id) for e in folded.edges] == [
        (e.id, e.parent.id, e.child.id) for e in full.edges if e.parent.kind != "parameter"
    ]
    on_edges = {e.factor.name for e in folded.edges if e.factor is not None}
    assert "W2[1,3]" in on_edges and "h1[3]" not in on_edges  # W2[1,3] reads on h1[3] → a2[1]
    with pytest.raises(TypeError, match="parameters must be True or False"):
        graph_data(L, parameters="no")  # type: ignore[arg-type]
