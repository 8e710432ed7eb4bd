"""Random expression DAGs: the engine's grads against HIPS autograd and central differences."""

from __future__ import annotations

import math
from types import SimpleNamespace

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad
from hypothesis import assume, given

from microbp import topological_order
from microbp.strategies import ExpressionDag, expression_dags, float_ops

AUTOGRAD_OPS = SimpleNamespace(
    exp=anp.exp,
    log=anp.log,
    tanh=anp.tanh,
    sigmoid=lambda x: 0.5 * (anp.tanh(x / 2) + 1),  # σ without exp overflow for x ≪ 0
    relu=lambda x: x * (x > 0),  # derivative 0 at exactly 0, as microbp's
    softplus=lambda x: anp.logaddexp(0.0, x),
    sum=lambda terms: sum(terms[1:], terms[0]),
    affine=lambda b, w, h: sum((wj * hj for wj, hj in zip(w, h)), b),
)


def engine_grads(dag: ExpressionDag) -> tuple[float, list[float]]:
    leaves, root = dag.build()
    root.backward()
    return root.data, [v.grad for v in leaves]


@given(expression_dags(max_ops=12))
def test_every_leaf_grad_matches_hips_autograd(dag):
    data, grads = engine_grads(dag)
    f = dag.function(AUTOGRAD_OPS)
    assert data == pytest.approx(float(f(*dag.leaves)), rel=1e-9, abs=1e-12)
    for i, g in enumerate(grads):
        # autograd's tanh′ is 1/cosh²x, whose cosh overflows to inf past |x| ≈ 710: rightly 0
        with np.errstate(over="ignore"):
            expected = float(grad(f, i)(*map(float, dag.leaves)))
        assert g == pytest.approx(expected, rel=1e-9, abs=1e-9), f"leaf x[{i + 1}]"


@given(expression_dags(max_ops=12))
def test_every_leaf_grad_matches_central_differences(dag):
    leaves, root = dag.build()
    # Differences are meaningless across relu's kink: keep well away from it.
    assume(all(abs(v.parents[0].data) > 1e-3 for v in topological_order(root) if v.op == "relu"))
    root.backward()
    f = dag.function(float_ops())
    eps = 1e-6
    for i, leaf in enumerate(leaves):
        up = list(dag.leaves)
        down = list(dag.leaves)
        up[i] += eps
        down[i] -= eps
        try:
            numeric = (f(*up) - f(*down)) / (2 * eps)
        except (ValueError, OverflowError, ZeroDivisionError):
            assume(False)  # a shifted leaf left the domain: no difference to compare with
        assert leaf.grad == pytest.approx(numeric, rel=1e-4, abs=1e-5), f"leaf x[{i + 1}]"


@given(expression_dags(max_ops=12))
def test_backward_twice_doubles_every_grad_on_random_dags(dag):
    _, root = dag.build()
    root.backward()
    nodes = topological_order(root)
    once = [v.grad for v in nodes]
    root.backward()
    assert [v.grad for v in nodes] == [2 * g for g in once]


@given(expression_dags(max_ops=12))
def test_random_dags_list_parents_before_children(dag):
    _, root = dag.build()
    order = topological_order(root)
    position = {id(v): i for i, v in enumerate(order)}
    assert all(position[id(p)] < position[id(v)] for v in order for p in v.parents)
    assert math.isfinite(root.data)
