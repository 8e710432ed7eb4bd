"""Layers, MLPs, losses and SGD: the notes' names and structure, values against numpy, errors."""

from __future__ import annotations

import math
import statistics
import sys

import numpy as np
import pytest
from examples import scaled
from hypothesis import given, settings
from hypothesis import strategies as st

from microbp.datasets import make_moons, make_xor
from microbp.engine import Value, affine
from microbp.formulas import forward
from microbp.nn import (
    HIDDEN_ACTIVATIONS,
    MLP,
    SGD,
    Layer,
    cross_entropy,
    softmax,
    squared_error,
)
from microbp.strategies import input_vectors, networks


def test_names_follow_the_notes_counting_from_1():
    net = MLP([3, 4, 2], seed=0)
    net([0.1, 0.2, 0.3])
    layer2 = net.layers[1]
    assert layer2.k == 2
    assert layer2.W[0][2].name == "W2[1,3]"
    assert layer2.b[1].name == "b2[2]"
    assert [v.name for v in layer2.a] == ["a2[1]", "a2[2]"]
    assert [v.name for v in layer2.h] == ["h2[1]", "h2[2]"]
    assert [v.name for v in net.layers[0].h_prev] == ["x[1]", "x[2]", "x[3]"]
    assert layer2.h_prev is not net.layers[0].h and layer2.h_prev == net.layers[0].h


@given(networks(), st.data())
def test_each_a_ki_is_one_affine_node_whose_W_edges_carry_h_prev(net, data):
    """Parents of a_ki: b_ki, the row W_ki·, then h_{k-1}; local derivatives 1, h_{k-1}, W_ki·."""
    net(data.draw(input_vectors(net.sizes[0])))
    for layer in net.layers:
        h_prev = [v.data for v in layer.h_prev]
        for i, a in enumerate(layer.a):
            assert a.op == "affine"
            assert a.parents == (layer.b[i], *layer.W[i], *layer.h_prev)
            assert a.local_grads == (1.0, *h_prev, *(w.data for w in layer.W[i]))
            assert a.data == affine(layer.b[i], layer.W[i], layer.h_prev).data


def test_a_layers_weights_and_biases_change_through_data_not_by_replacing_them():
    """The graph of every pass holds these very Values, so W and b are fixed tuples of them."""
    layer = Layer(2, 2, "tanh")
    with pytest.raises(TypeError):
        layer.W[0][1] = Value(1.0)  # type: ignore[index]
    with pytest.raises(TypeError):
        layer.b[0] = Value(1.0)  # type: ignore[index]
    with pytest.raises(AttributeError):
        layer.W = ((Value(1.0), 2.0), (Value(1.0), Value(2.0)))  # type: ignore[misc,assignment]
    with pytest.raises(AttributeError):
        layer.b = (0.5, 0.5)  # type: ignore[misc,assignment]
    layer.W[0][1].data = 3.0
    a = layer([1.0, 2.0])[0].parents[0]
    assert a.data == layer.b[0].data + layer.W[0][0].data * 1.0 + 3.0 * 2.0


@given(networks(), st.data())
def test_forward_values_match_the_numpy_formulas(net, data):
    x = data.draw(input_vectors(net.sizes[0]))
    y_hat = net(x)
    expected = forward(net, x)
    for layer, a, h in zip(net.layers, expected.a, expected.h[1:]):
        np.testing.assert_allclose([v.data for v in layer.a], a, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose([v.data for v in layer.h], h, rtol=1e-12, atol=1e-12)
    assert y_hat == net.layers[-1].h


@given(networks(output=["softmax"]), st.data())
def test_softmax_outputs_are_probabilities(net, data):
    y_hat = net(data.draw(input_vectors(net.sizes[0])))
    assert all(0.0 <= p.data <= 1.0 for p in y_hat)
    assert math.fsum(p.data for p in y_hat) == pytest.approx(1.0, abs=1e-12)


def test_softmax_is_stable_for_huge_pre_activations():
    a = [Value(1000.0), Value(999.0), Value(-1000.0)]
    y_hat = softmax(a)
    e = [1.0, math.exp(-1.0), 0.0]
    assert [p.data for p in y_hat] == pytest.approx([v / sum(e) for v in e], rel=1e-15)
    y_hat[0].backward()
    assert a[0].grad == pytest.approx(y_hat[0].data * (1 - y_hat[0].data), rel=1e-12)


def test_linear_activation_makes_h_its_own_node_with_derivative_1():
    net = MLP([2, 2, 1], hidden="linear", output="linear", seed=3)
    net([0.4, -0.7])
    for layer in net.layers:
        for a, h in zip(layer.a, layer.h):
            assert h is not a and h.data == a.data and h.parents == (a,)
            assert h.local_grads == (1.0,)


@pytest.mark.parametrize("hidden", HIDDEN_ACTIVATIONS)
def test_hidden_layers_use_the_hidden_activation_and_the_last_layer_the_output(hidden):
    net = MLP([2, 3, 3, 2], hidden=hidden, output="linear", seed=0)
    assert [layer.activation for layer in net.layers] == [hidden, hidden, "linear"]


def test_same_seed_same_weights_other_seed_other_weights():
    def weights(seed):
        return [p.data for p in MLP([3, 5, 2], seed=seed).parameters()]

    assert weights(7) == weights(7)
    assert weights(7) != weights(8)
    assert weights(None) != weights(None)


@pytest.mark.parametrize(
    ("activation", "bound"),
    [("relu", math.sqrt(6 / 100)), ("tanh", math.sqrt(6 / 300)), ("sigmoid", math.sqrt(6 / 300))],
)
def test_weights_start_he_uniform_for_relu_and_glorot_uniform_otherwise(activation, bound):
    """U(±bound) has variance bound²/3; biases start at 0."""
    import random

    layer = Layer(100, 200, activation, rng=random.Random(0))
    weights = [w.data for row in layer.W for w in row]
    assert max(abs(w) for w in weights) <= bound
    assert statistics.pvariance(weights) == pytest.approx(bound**2 / 3, rel=0.05)
    assert all(b.data == 0.0 for b in layer.b)


def test_parameters_are_every_W_row_by_row_then_b_layer_by_layer():
    net = MLP([2, 3, 1], seed=0)
    names = [p.name for p in net.parameters()]
    assert names == [
        *(f"W1[{i},{j}]" for i in (1, 2, 3) for j in (1, 2)),
        *(f"b1[{i}]" for i in (1, 2, 3)),
        "W2[1,1]",
        "W2[1,2]",
        "W2[1,3]",
        "b2[1]",
    ]
    assert len(set(map(id, net.parameters()))) == 2 * 3 + 3 + 3 + 1


def test_from_weights_sets_every_weight_and_bias():
    net = MLP.from_weights([[[1, 2], [3, 4], [5, 6]], [[7, 8, 9]]], [[0.1, 0.2, 0.3], [0.4]])
    assert net.sizes == [2, 3, 1]
    assert net.layers[1].W[0][2].data == 9.0
    assert net.layers[0].b[2].data == 0.3


@pytest.mark.parametrize(
    ("weights", "biases"),
    [
        ([[[1, 2], [3]]], [[0, 0]]),  # ragged W1
        ([[[1, 2]]], [[0, 0]]),  # b1 too long
        ([[[1, 2]], [[1, 2]]], [[0], [0]]),  # W2 has 2 columns but h1 has 1 entry
        ([[[1, 2]]], []),  # no bias vector
        ([], []),
    ],
)
def test_from_weights_refuses_inconsistent_shapes(weights, biases):
    with pytest.raises(ValueError, match=r"W\d|bias"):
        MLP.from_weights(weights, biases)


def test_a_layer_called_on_numbers_makes_them_named_values():
    layer = MLP([2, 3, 1], seed=0).layers[1]
    layer([0.1, 0.2, 0.3])
    assert [v.name for v in layer.h_prev] == ["h1[1]", "h1[2]", "h1[3]"]
    assert [v.data for v in layer.h_prev] == [0.1, 0.2, 0.3]


def test_inputs_given_as_values_are_used_as_they_are():
    x = [Value(0.5, "x[1]"), Value(-1.0, "x[2]")]
    net = MLP([2, 2], seed=0)
    cross_entropy(net(x), 0).backward()
    assert net.layers[0].h_prev == x
    assert x[0].grad != 0.0


def test_cross_entropy_is_minus_log_y_hat_label():
    y_hat = [Value(0.2), Value(0.7), Value(0.1)]
    loss = cross_entropy(y_hat, 1)
    assert loss.name == "L"
    assert loss.data == -math.log(0.7)
    loss.backward()
    assert [p.grad for p in y_hat] == [0.0, pytest.approx(-1 / 0.7, rel=1e-15), 0.0]


def test_squared_error_is_the_sum_of_squared_differences():
    y_hat = [Value(0.2), Value(0.7)]
    loss = squared_error(y_hat, [1.0, 0.5])
    assert loss.name == "L"
    assert loss.data == pytest.approx(0.8**2 + 0.2**2, rel=1e-15)
    loss.backward()
    assert [p.grad for p in y_hat] == pytest.approx([2 * (0.2 - 1.0), 2 * (0.7 - 0.5)], rel=1e-15)


@given(networks(), st.data(), st.floats(1e-4, 10.0))
def test_sgd_step_subtracts_eta_times_grad_from_every_parameter(net, data, lr):
    y_hat = net(data.draw(input_vectors(net.sizes[0])))
    squared_error(y_hat, [0.5] * len(y_hat)).backward()
    params = net.parameters()
    expected = [p.data - lr * p.grad for p in params]
    optimiser = SGD(params, lr)
    optimiser.step()
    assert [p.data for p in params] == expected
    optimiser.zero_grad()
    assert all(p.grad == 0.0 for p in params)


def test_sgd_step_that_would_overflow_changes_nothing():
    a, b = Value(1.0, "a"), Value(1e300, "b")
    a.grad, b.grad = 1.0, -1e300
    with pytest.raises(OverflowError, match=r"makes b non-finite.*lower the learning rate"):
        SGD([a, b], lr=1e10).step()
    assert (a.data, b.data) == (1.0, 1e300)


def mean_loss(net, X, y):
    return statistics.fmean(cross_entropy(net(x), label).data for x, label in zip(X, y))


@pytest.mark.parametrize(
    ("make", "hidden"), [(make_moons, "tanh"), (make_xor, "sigmoid"), (make_xor, "relu")]
)
def test_sgd_training_on_a_toy_data_set_lowers_the_loss_clearly(make, hidden):
    X, y = make(40, seed=0)
    net = MLP([2, 8, 2], hidden=hidden, seed=0)
    optimiser = SGD(net.parameters(), lr=0.2)
    before = mean_loss(net, X, y)
    for _ in range(30):
        for x, label in zip(X, y):
            optimiser.zero_grad()
            cross_entropy(net(x), label).backward()
            optimiser.step()
    after = mean_loss(net, X, y)
    accuracy = statistics.fmean(
        max(range(2), key=lambda c: net(x)[c].data) == label for x, label in zip(X, y)
    )
    assert after < 0.2 * before
    assert accuracy >= 0.85


# ---- errors ----


@pytest.mark.parametrize("sizes", [[], [3], [2, 0], [2, -1]])
def test_bad_sizes_are_refused(sizes):
    with pytest.raises(ValueError, match="sizes"):
        MLP(sizes)


@pytest.mark.parametrize("sizes", [[2, 1.5], [2, True], [3, "2"], [None, 2]])
def test_sizes_that_are_not_integers_are_a_type_error(sizes):
    with pytest.raises(TypeError, match="sizes"):
        MLP(sizes)


def test_numpy_integer_sizes_build_the_same_network_as_ints():
    import numpy as np

    same = MLP([np.int64(3), np.int32(2)], seed=4)
    assert same.sizes == [3, 2] and all(type(n) is int for n in same.sizes)
    assert [w.data for w in same.parameters()] == [w.data for w in MLP([3, 2], seed=4).parameters()]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"hidden": "softmax"}, "unknown hidden activation 'softmax'"),
        ({"hidden": "gelu"}, "unknown hidden activation 'gelu'.*sigmoid, tanh, relu, linear"),
        ({"output": "sigmoid"}, "unknown output activation 'sigmoid'.*softmax, linear"),
    ],
)
def test_unknown_activations_are_refused_naming_the_choices(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MLP([2, 2], **kwargs)


def test_layer_refuses_an_unknown_activation_and_bad_sizes():
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        Layer(2, 2, "swish")
    with pytest.raises(ValueError, match="n_out"):
        Layer(2, 0)


def test_input_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError, match="takes 3 inputs, got 2"):
        MLP([3, 2])([1.0, 2.0])
    with pytest.raises(ValueError, match="layer 2 expects 4 inputs h1, got 3"):
        MLP([2, 4, 2]).layers[1]([Value(1.0)] * 3)


def test_a_forward_pass_that_fails_in_a_later_layer_leaves_every_layer_as_it_was():
    net = MLP.from_weights([[[1, 1], [1, 1]], [[1e308, 1e308]]], [[0, 0], [0]], output="linear")
    net([-5, -5])
    before = [(layer.h_prev, layer.a, layer.h) for layer in net.layers]
    with pytest.raises(OverflowError):
        net([6, 6])  # layer 1 is fine, layer 2's a = 1e308·12 overflows
    assert [(layer.h_prev, layer.a, layer.h) for layer in net.layers] == before


def test_non_numeric_input_is_refused_naming_the_entry():
    with pytest.raises(TypeError, match=r"x\[2\]"):
        MLP([2, 2])([1.0, "a"])  # type: ignore[list-item]


@pytest.mark.parametrize("label", [-1, 3, 10])
def test_label_out_of_range_is_refused(label):
    y_hat = [Value(0.2), Value(0.3), Value(0.5)]
    with pytest.raises(
        ValueError, match=f"label {label} is out of range for 3 outputs; use 0 to 2"
    ):
        cross_entropy(y_hat, label)


@pytest.mark.parametrize("label", [1.0, "1", True, None])
def test_label_that_is_not_an_int_is_refused(label):
    with pytest.raises(TypeError, match="label must be an int"):
        cross_entropy([Value(0.5), Value(0.5)], label)


def test_label_may_be_a_numpy_integer():
    assert cross_entropy([Value(0.5), Value(0.5)], np.int64(1)).data == math.log(2)


def test_cross_entropy_of_a_zero_probability_is_refused_with_advice():
    with pytest.raises(ValueError, match=r"ŷ\[0\] > 0.*softmax"):
        cross_entropy([Value(0.0), Value(1.0)], 0)


@pytest.mark.parametrize("target", [[1.0], [1.0, 2.0, 3.0]])
def test_target_of_the_wrong_length_is_refused(target):
    with pytest.raises(ValueError, match=f"target has {len(target)} entries but the network has 2"):
        squared_error([Value(0.5), Value(0.5)], target)


@pytest.mark.parametrize("lr", [0, -0.1])
def test_sgd_refuses_a_non_positive_learning_rate(lr):
    with pytest.raises(ValueError, match="learning rate"):
        SGD([Value(1.0)], lr)


def test_sgd_refuses_parameters_that_are_not_values():
    with pytest.raises(TypeError, match="SGD optimises Values"):
        SGD([1.0], 0.1)  # type: ignore[list-item]


@pytest.mark.parametrize("x", [{1: 2.0, 3: 4.0}, 5, None, "ab", np.array(1.0)], ids=repr)
def test_an_input_that_is_not_a_sequence_of_numbers_is_a_type_error(x):
    with pytest.raises(TypeError, match="the input must be a sequence of 2 numbers"):
        MLP([2, 2], seed=0)(x)


@pytest.mark.parametrize("seed", [1.5, "1", True])
def test_a_seed_that_is_not_an_int_is_a_type_error(seed):
    with pytest.raises(TypeError, match="seed must be an int or None"):
        MLP([2, 2], seed=seed)


def test_a_numpy_integer_seed_draws_the_same_weights_as_the_int():
    same = [w.data for w in MLP([2, 3, 2], seed=np.int64(7)).parameters()]
    assert same == [w.data for w in MLP([2, 3, 2], seed=7).parameters()]


def test_a_layer_too_large_to_build_is_refused_at_once():
    with pytest.raises(ValueError, match="more than the 2,000,000"):
        Layer(10**6, 10**6)


def test_weights_nested_as_mappings_are_a_type_error():
    with pytest.raises(TypeError, match="W1's rows must be a sequence of numbers, got dict"):
        MLP.from_weights([[{1: 2}]], [[0.0]])  # type: ignore[list-item]


def test_a_numpy_target_is_taken_like_a_list():
    net = MLP([2, 2], output="linear", seed=0)
    y_hat = net([0.5, -1.0])
    as_array = squared_error(y_hat, np.array([0.25, -0.75])).data  # type: ignore[arg-type]
    assert as_array == squared_error(y_hat, [0.25, -0.75]).data


# ---- confident wrong predictions: ŷ_ℓ underflows, L does not ----


def exact_cross_entropy(logits: list[float], label: int) -> tuple[float, list[float]]:
    """(L, ∇a L) = (−log softmax(a)_ℓ, softmax(a) − e(ℓ)) in mpmath with enough digits."""
    import mpmath

    with mpmath.workdps(60):
        a = [mpmath.mpf(v) for v in logits]
        m = max(a)
        total = mpmath.fsum(mpmath.exp(v - m) for v in a)
        y_hat = [mpmath.exp(v - m) / total for v in a]
        loss = mpmath.log(total) - (a[label] - m)
        return float(loss), [float(p - (i == label)) for i, p in enumerate(y_hat)]


@settings(max_examples=scaled(60))
@given(
    st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=5),
    st.data(),
)
def test_cross_entropy_of_a_softmax_is_exact_at_any_logit_margin(logits, data):
    label = data.draw(st.integers(0, len(logits) - 1))
    a = [Value(v) for v in logits]
    L = cross_entropy(softmax(a), label)
    L.backward()
    exact_L, exact_grad_a = exact_cross_entropy(logits, label)
    assert L.data == pytest.approx(exact_L, rel=1e-13, abs=1e-15)
    np.testing.assert_allclose([v.grad for v in a], exact_grad_a, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("margin", [745.0, 750.0, 1e4])
def test_a_confident_wrong_prediction_has_its_finite_loss_not_an_error(margin):
    """ŷ_2 = e^(−margin) underflows to 0 (or to a subnormal at 745); L = margin."""
    a = [Value(margin), Value(0.0)]
    y_hat = softmax(a)
    assert y_hat[1].data < sys.float_info.min
    L = cross_entropy(y_hat, 1)
    L.backward()
    assert L.data == margin
    assert [v.grad for v in a] == [1.0, -1.0]  # ŷ − e(ℓ)
