"""`microbp explain --hessian`: the output layer's Hessian block, engine beside formula."""

from __future__ import annotations

import json

import numpy as np
import pytest

from microbp import curvature
from microbp.cli import main
from microbp.nn import MLP


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    status = main(list(argv))
    return status, capsys.readouterr().out


def test_explain_hessian_prints_the_output_block_beside_H_a_h_h_and_agrees(capsys):
    status, out = run(capsys, "explain", "--hessian", "--sizes", "2,3,2", "--x", "0.5,-1")
    assert status == 0
    assert "∂²L/∂θ2² (engine: derivatives of the recorded reverse pass)" in out
    assert "H_a[i,p]·h1[j]·h1[q] (formula; h ≡ 1 for biases, H_a = diag(ŷ) − ŷŷᵀ)" in out
    assert "largest |engine − formula| in the block:" in out and out.rstrip().endswith("✓")


def test_explain_hessian_json_holds_both_blocks_equal_to_the_formula(capsys):
    argv = ("--sizes", "2,3,2", "--output", "linear", "--x", "0.5,-1", "--target", "0.2,0.1")
    status, out = run(capsys, "explain", "--hessian", "--json", *argv)
    block = json.loads(out)["output_layer_hessian"]
    assert status == 0 and block["ok"]
    net = MLP([2, 3, 2], output="linear", seed=0)
    expected = curvature.output_layer_hessian(net, [0.5, -1.0], [0.2, 0.1], "squared_error")
    np.testing.assert_allclose(block["engine"], expected, rtol=1e-12, atol=1e-15)
    assert block["formula"] == expected.tolist()
    assert np.array(block["engine"])[-2:, -2:].tolist() == [[2.0, 0.0], [0.0, 2.0]]  # H_a = 2·I


def test_explain_hessian_exits_1_when_the_block_disagrees(capsys, monkeypatch):
    honest = curvature.output_layer_hessian
    monkeypatch.setattr(
        curvature, "output_layer_hessian", lambda *args: honest(*args) + np.eye(len(honest(*args)))
    )
    status, out = run(capsys, "explain", "--hessian")
    assert status == 1 and "✗ DIFFERENT" in out
    status, out = run(capsys, "explain", "--hessian", "--json")
    assert status == 1 and not json.loads(out)["output_layer_hessian"]["ok"]


def test_explain_without_hessian_prints_no_block(capsys):
    status, out = run(capsys, "explain", "--json")
    assert status == 0 and "output_layer_hessian" not in json.loads(out)
