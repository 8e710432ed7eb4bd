"""A failing example drawn with microbp's pictures (`microbp.graph`): microbp's graph of the
same program, its right numbers on every node, and beside them the engine's wrong ones, the
wrong nodes and every path from them to the root in red."""

from __future__ import annotations

from pathlib import Path

from microbp import graph
from microbp.audit.checks import MICROBP, Discrepancy, describe_error, differs, scale
from microbp.audit.program import StepFailed
from microbp.drawing import GraphTooLargeError

#: How many backward passes microbp runs for the picture of each stage's failure.
_PASSES = {"forward": 1, "backward": 1, "second backward": 2}


def draw_discrepancy(d: Discrepancy, path: Path) -> str:
    """Write the picture of ``d`` to ``path`` (whole or not at all, as `graph.render_svg`
    writes); return the path written, or why nothing was."""
    try:
        nodes = d.program.run(MICROBP)
        for _ in range(_PASSES.get(d.stage, 1)):
            nodes[-1].backward()
    except (StepFailed, ArithmeticError) as error:
        return f"not drawn: microbp cannot compute it either ({describe_error(error)})"
    names = d.program.names()
    wrong = {d.node}
    if d.engine_all and d.right_all:
        tolerance = scale(d.right_all)
        wrong |= {
            i for i, (e, r) in enumerate(zip(d.engine_all, d.right_all)) if differs(e, r, tolerance)
        }
    for i, (v, name) in enumerate(zip(nodes, names)):
        v.name = name
        if i in wrong:
            v.name += "\n" + _engine_line(d, i)
    try:
        graph.render_svg(nodes[-1], path, highlight=[nodes[i] for i in sorted(wrong)])
    except (graph.GraphvizNotFoundError, GraphTooLargeError, OSError) as error:
        return f"not drawn: {describe_error(error)}"
    return str(path)


def _engine_line(d: Discrepancy, i: int) -> str:
    if d.error and i == d.node:
        return f"this engine raises {d.error.partition(':')[0]}"
    if d.engine_all:
        return f"this engine: {d.quantity} {d.engine_all[i]:.4g}"
    return f"this engine: {d.quantity} {d.engine:.4g}"
