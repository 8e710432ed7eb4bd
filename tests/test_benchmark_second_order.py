"""benchmarks/second_order.py measures what it says: the same loss three ways, its graph sizes."""

from __future__ import annotations

import second_order


def test_the_second_order_benchmark_reports_each_step_and_the_graph_growth():
    figures = second_order.measure(2, reps=1)
    assert figures["samples"] == 2
    assert figures["nodes_with_recorded_gradient"] > figures["forward_nodes"] > 0
    assert figures["size_ratio"] == (
        figures["nodes_with_recorded_gradient"] / figures["forward_nodes"]
    )
    for step in ("backward", "create_graph", "hvp"):
        assert figures[f"{step}_ms"] >= 0.0
