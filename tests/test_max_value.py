"""engine.max_value: the largest operand's data, and no gradient to any operand."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from microbp.engine import Value, max_value, topological_order
from microbp.nn import softmax

reals = st.floats(-1e6, 1e6, allow_nan=False)


@given(st.lists(reals, min_size=1, max_size=8))
def test_max_value_holds_the_largest_data_and_passes_no_gradient(numbers):
    values = [Value(x) for x in numbers]
    m = max_value(values)
    assert m.data == max(numbers)
    assert m.op == "max" and m.local_grads == (0.0,) * len(numbers)
    (m * 3.0).backward()
    assert m.grad == 3.0
    assert all(v.grad == 0.0 for v in values)


def test_max_value_makes_numbers_constants_and_refuses_nothing_to_compare():
    x = Value(-2.0, "x")
    m = max_value([x, 1.5])
    assert m.data == 1.5 and m.parents[0] is x and not m.parents[1].op
    with pytest.raises(ValueError, match="at least one value"):
        max_value([])
    with pytest.raises(TypeError, match="real number"):
        max_value([x, "3"])  # type: ignore[list-item]


@given(st.lists(st.floats(-1000, 1000), min_size=1, max_size=5))
def test_softmax_shift_is_a_max_node_of_the_pre_activations(a_data):
    a = [Value(x) for x in a_data]
    y_hat = softmax(a)
    (m,) = [v for v in topological_order(y_hat[0]) if v.op == "max"]
    assert m.parents == tuple(a) and m.data == max(a_data)
