"""Strategies: drawn networks keep their bounds; drawn expressions build as their recipes say."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from microbp.engine import Value
from microbp.nn import HIDDEN_ACTIVATIONS, LOSSES, MLP
from microbp.strategies import (
    BINARY_OPS,
    NARY_OPS,
    UNARY_OPS,
    ExpressionDag,
    NetworkCase,
    Step,
    expression_dags,
    float_ops,
    input_vectors,
    layer_sizes,
    network_cases,
    networks,
)

bounds = st.tuples(st.integers(1, 4), st.integers(0, 3)).map(lambda t: (t[0], t[0] + t[1]))


@given(bounds, bounds, st.data())
def test_layer_sizes_keep_their_bounds(layers, widths, data):
    sizes = data.draw(
        layer_sizes(
            min_layers=layers[0], max_layers=layers[1], min_width=widths[0], max_width=widths[1]
        )
    )
    assert layers[0] <= len(sizes) - 1 <= layers[1]
    assert all(widths[0] <= n <= widths[1] for n in sizes)


@given(st.data(), st.floats(0.01, 5.0))
def test_networks_have_the_given_sizes_activations_and_weight_bound(data, max_weight):
    sizes = data.draw(layer_sizes())
    hidden = data.draw(st.lists(st.sampled_from(HIDDEN_ACTIVATIONS), min_size=1, unique=True))
    net = data.draw(networks(sizes=sizes, hidden=hidden, output=["linear"], max_weight=max_weight))
    assert isinstance(net, MLP) and net.sizes == sizes
    assert net.hidden in hidden and net.layers[-1].activation == "linear"
    assert all(abs(p.data) <= max_weight for p in net.parameters())


@given(networks(min_layers=2, max_layers=2, min_width=3, max_width=3))
def test_networks_respect_shape_bounds(net):
    assert net.sizes == [3, 3, 3]


@given(st.integers(1, 6).flatmap(lambda n: st.tuples(st.just(n), input_vectors(n, max_value=0.5))))
def test_input_vectors_have_the_size_and_bounds(n_and_x):
    n, x = n_and_x
    assert len(x) == n and all(-2.0 <= v <= 0.5 for v in x)


@given(network_cases())
def test_network_cases_pair_each_loss_with_a_fitting_output_and_target(case):
    assert isinstance(case, NetworkCase) and case.loss in LOSSES
    assert len(case.x) == case.net.sizes[0] and all(abs(v) <= 2.0 for v in case.x)
    n_out = case.net.sizes[-1]
    if case.loss == "cross_entropy":
        assert case.net.output == "softmax" and case.target in range(n_out)
    else:
        assert isinstance(case.target, list)
        assert len(case.target) == n_out and all(abs(t) <= 1.0 for t in case.target)


@given(network_cases(max_preactivation=5.0, hidden=["linear"]))
def test_network_cases_keep_pre_activations_within_the_bound(case):
    case.net(case.x)
    assert all(abs(a.data) <= 5.0 for layer in case.net.layers for a in layer.a)


@given(network_cases(losses=["squared_error"]))
def test_loss_value_is_the_named_loss_of_the_forward_pass(case):
    expected = LOSSES["squared_error"](case.net(case.x), case.target).data
    assert case.loss_value().data == expected
    assert case.loss_value().name == "L"


@pytest.mark.parametrize(
    ("strategy", "message"),
    [
        (layer_sizes(min_layers=0), "min_layers"),
        (layer_sizes(min_width=3, max_width=2), "min_width"),
        (network_cases(losses=["hinge"]), "unknown loss 'hinge'"),
    ],
)
def test_bad_bounds_are_refused(strategy, message):
    @given(strategy)
    def draw_one(_):
        pass

    with pytest.raises(ValueError, match=message):
        draw_one()


def test_an_expression_built_with_the_wrong_number_of_names_is_refused():
    dag = ExpressionDag((1.0, 2.0), (Step("add", (0, 1)),))
    with pytest.raises(ValueError, match="2 leaves, 1 names"):
        dag.build(names=["a"])
    leaves, root = dag.build(names=["a", "b"])
    assert [v.name for v in leaves] == ["a", "b"] and root.data == 3.0


@pytest.mark.parametrize("x", [-800.0, -30.0, 0.0, 30.0, 800.0])
def test_float_ops_sigmoid_is_the_engines_sigmoid_without_overflow(x):
    assert float_ops().sigmoid(x) == Value(x).sigmoid().data


@given(
    st.lists(st.sampled_from(UNARY_OPS + BINARY_OPS + NARY_OPS), min_size=1, unique=True).flatmap(
        lambda ops: st.tuples(st.just(ops), expression_dags(ops=ops))
    )
)
def test_expression_dags_draw_only_the_ops_asked_for(ops_and_dag):
    ops, dag = ops_and_dag
    assert {step.op for step in dag.steps} <= set(ops)


@given(network_cases(output=["linear"]))
def test_network_cases_with_only_a_linear_output_draw_squared_error(case):
    assert case.net.output == "linear" and case.loss == "squared_error"


@pytest.mark.parametrize(
    ("strategy", "message"),
    [
        (expression_dags(ops=["cube"]), "ops must name at least one op"),
        (expression_dags(ops=[]), "ops must name at least one op"),
        (network_cases(output=["sigmoid"]), "output must list outputs"),
        (network_cases(output=[]), "output must list outputs"),
        (network_cases(losses=["cross_entropy"], output=["linear"]), "cross-entropy needs"),
    ],
)
def test_bad_op_and_output_choices_are_refused(strategy, message):
    @given(strategy)
    def draw_one(_):
        pass

    with pytest.raises(ValueError, match=message):
        draw_one()
