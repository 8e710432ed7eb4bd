"""gradcheck: passes right derivatives, names the input of a wrong one, leaves no trace."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import assume, given

from microbp.check import GradcheckError, gradcheck
from microbp.engine import Value, topological_order
from microbp.strategies import ENGINE_OPS, expression_dags


def with_wrong_local_grad(node: Value, parent: int, factor: float) -> Value:
    """``node`` with its local derivative toward parent ``parent`` scaled by ``factor``."""
    local = list(node.local_grads)
    local[parent] *= factor
    node.local_grads = tuple(local)
    return node


@given(expression_dags(max_ops=8))
def test_right_derivatives_pass_on_random_expressions(dag):
    leaves, root = dag.build()
    # Differences are meaningless across relu's kink: keep well away from it.
    assume(all(abs(v.parents[0].data) > 1e-3 for v in topological_order(root) if v.op == "relu"))
    try:
        assert gradcheck(dag.function(ENGINE_OPS), leaves, atol=1e-5, rtol=1e-4)
    except (ValueError, OverflowError, ZeroDivisionError):
        assume(False)  # a shifted leaf left an op's domain: no difference to compare with


def test_a_wrong_local_derivative_raises_naming_the_input_both_values_and_the_difference():
    x, y = Value(0.3, "x"), Value(2.0, "y")

    def f(x, y):
        return with_wrong_local_grad(x * y, 1, 1.01)  # ∂(xy)/∂y reported as 1.01·x

    with pytest.raises(GradcheckError) as caught:
        gradcheck(f, [x, y])
    message = str(caught.value)
    assert "input 1 'y' at 2.0" in message
    assert re.search(r"engine derivative 0\.303\b", message)
    assert re.search(r"central difference 0\.3000000000\d*", message)
    assert re.search(r"difference 0\.00299999999\d*", message)


def test_gradcheck_error_is_an_assertion_error():
    """So a failed check reads as a failed assertion in any test runner."""
    assert issubclass(GradcheckError, AssertionError)


def test_a_derivative_error_inside_the_tolerance_passes_and_outside_fails():
    x = Value(1.0, "x")

    def f(factor):
        return lambda x: with_wrong_local_grad(x * x, 0, factor)  # 2x becomes (1 + factor)x

    assert gradcheck(f(1.0 + 1e-4), [x], atol=0.0, rtol=1e-3)
    with pytest.raises(GradcheckError):
        gradcheck(f(1.0 + 1e-2), [x], atol=0.0, rtol=1e-3)


def test_inputs_data_and_every_grad_are_left_as_they_were():
    x, y = Value(0.7, "x"), Value(-1.2, "y")
    x.grad, y.grad = 5.0, 6.0
    assert gradcheck(lambda x, y: (x * y).tanh() + x.exp(), [x, y])
    assert (x.data, y.data, x.grad, y.grad) == (0.7, -1.2, 5.0, 6.0)


def test_a_graph_never_differentiated_still_reads_as_not_computed_after_gradcheck():
    x = Value(0.3, "x")
    y = x.tanh() * 2
    assert gradcheck(lambda x: x.tanh() * 2, [x])
    assert not x.grad_computed and not y.grad_computed


def test_data_is_restored_even_when_f_raises_during_the_differences():
    x = Value(1e-7, "x")
    with pytest.raises(ValueError, match="log"):
        gradcheck(lambda x: x.log(), [x])  # x − eps < 0
    assert x.data == 1e-7


def test_an_input_f_does_not_use_has_derivative_0_and_passes():
    x, unused = Value(0.5, "x"), Value(3.0, "unused")
    assert gradcheck(lambda x, unused: x.sigmoid(), [x, unused])


def test_a_derivative_missing_for_an_input_is_caught():
    """f reads y's data as a constant: the engine says 0, the differences do not."""
    x, y = Value(0.5, "x"), Value(3.0, "y")
    with pytest.raises(GradcheckError, match="input 1 'y'"):
        gradcheck(lambda x, y: x * y.data, [x, y])


def test_bad_arguments_are_refused():
    x = Value(1.0)
    with pytest.raises(TypeError, match="input 0 is float"):
        gradcheck(lambda x: x, [1.0])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="return a Value, got float"):
        gradcheck(lambda x: x.data, [x])
    with pytest.raises(ValueError, match=r"eps.*> 0"):
        gradcheck(lambda x: x, [x], eps=0.0)
    with pytest.raises(ValueError, match="tolerances must be ≥ 0"):
        gradcheck(lambda x: x, [x], rtol=-1.0)
    with pytest.raises(ValueError, match="finite"):
        gradcheck(lambda x: x, [x], atol=math.nan)
