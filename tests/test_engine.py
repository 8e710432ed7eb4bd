"""The engine's rules, op by op, against independent references (math, mpmath, HIPS autograd)."""

from __future__ import annotations

import math
import subprocess
import sys
from fractions import Fraction

import autograd.numpy as anp
import mpmath
import numpy as np
import pytest
from autograd import grad
from hypothesis import given
from hypothesis import strategies as st
from threads import run_interleaved

import microbp
from microbp import Value, affine, sum_values, topological_order, zero_grad
from microbp.engine import affine_parts, derivatives

reals = st.floats(-50, 50, allow_nan=False, allow_infinity=False)
positives = st.floats(1e-3, 50)


def derivative_of(f, x: float) -> tuple[float, float]:
    """f(Value(x)).data and d f/dx as the engine computes them."""
    v = Value(x)
    out = f(v)
    out.backward()
    return out.data, v.grad


# One row per unary op: the engine's op, the autograd-numpy function it must agree with.
UNARY = {
    "neg": (lambda v: -v, lambda x: -x),
    "exp": (Value.exp, anp.exp),
    "tanh": (Value.tanh, anp.tanh),
    "sigmoid": (Value.sigmoid, lambda x: 1 / (1 + anp.exp(-x))),
    "square": (lambda v: v**2, lambda x: x**2),
    "cube": (lambda v: v**3, lambda x: x**3),
}


@pytest.mark.parametrize("op", sorted(UNARY))
@given(x=st.floats(-20, 20))
def test_unary_op_value_and_derivative_match_autograd(op, x):
    engine_op, reference = UNARY[op]
    data, d = derivative_of(engine_op, x)
    assert data == pytest.approx(float(reference(x)), rel=1e-12, abs=1e-300)
    assert d == pytest.approx(float(grad(reference)(x)), rel=1e-9, abs=1e-12)


@given(x=positives)
def test_log_is_log_with_derivative_one_over_x(x):
    data, d = derivative_of(Value.log, x)
    assert data == math.log(x)
    assert d == pytest.approx(1 / x, rel=1e-15)


@given(x=positives, n=st.floats(-3, 3))
def test_power_with_number_exponent_has_derivative_n_x_to_n_minus_1(x, n):
    data, d = derivative_of(lambda v: v**n, x)
    assert data == pytest.approx(x**n, rel=1e-12)
    assert d == pytest.approx(float(grad(lambda t: t**n)(x)), rel=1e-9, abs=1e-300)


@given(x=reals, y=reals)
def test_binary_ops_carry_the_textbook_local_derivatives(x, y):
    a, b = Value(x), Value(y)
    assert (a + b).local_grads == (1.0, 1.0)
    assert (a - b).local_grads == (1.0, -1.0)
    assert (a * b).local_grads == (y, x)
    if abs(y) > 1e-100:
        assert (a / b).local_grads == pytest.approx((1 / y, -x / y**2), rel=1e-15)


@given(x=positives, y=st.floats(-3, 3))
def test_power_with_value_exponent_matches_autograd_in_both_operands(x, y):
    a, b = Value(x), Value(y)
    out = a**b
    out.backward()
    assert out.data == pytest.approx(x**y, rel=1e-12)
    f = lambda p, q: p**q  # noqa: E731
    assert a.grad == pytest.approx(float(grad(f, 0)(x, y)), rel=1e-9, abs=1e-300)
    assert b.grad == pytest.approx(float(grad(f, 1)(x, y)), rel=1e-9, abs=1e-300)


@pytest.mark.parametrize(
    ("expression", "data", "grad_of_v"),
    [
        (lambda v: 2 + v, 5.0, 1.0),
        (lambda v: 2 - v, -1.0, -1.0),
        (lambda v: 2 * v, 6.0, 2.0),
        (lambda v: 3 / v, 1.0, -1 / 3),
        (lambda v: 2**v, 8.0, 8 * math.log(2)),
        (lambda v: v**2, 9.0, 6.0),
        (lambda v: -v, -3.0, -1.0),
    ],
    ids=["2+v", "2-v", "2*v", "3/v", "2**v", "v**2", "-v"],
)
def test_reflected_and_unary_forms_with_plain_numbers(expression, data, grad_of_v):
    v = Value(3.0)
    out = expression(v)
    out.backward()
    assert out.data == pytest.approx(data, rel=1e-15)
    assert v.grad == pytest.approx(grad_of_v, rel=1e-15)


@pytest.mark.parametrize("x", [-1000.0, -100.0, -30.0, 30.0, 100.0, 710.0, 1000.0])
@pytest.mark.parametrize("op", ["tanh", "sigmoid"])
def test_tanh_and_sigmoid_stay_finite_and_exact_for_large_inputs(op, x):
    exact_f = mpmath.tanh if op == "tanh" else lambda t: 1 / (1 + mpmath.exp(-t))
    with mpmath.workdps(1000):  # enough digits that 1 − σ(1000) ≈ e^−1000 survives
        exact, exact_d = exact_f(mpmath.mpf(x)), mpmath.diff(exact_f, mpmath.mpf(x))
    data, d = derivative_of(getattr(Value, op), x)
    assert data == pytest.approx(float(exact), rel=1e-15, abs=0)
    assert d == pytest.approx(float(exact_d), rel=1e-12, abs=0)  # 1 − tanh² would give 0 here


@given(x=reals)
def test_relu_passes_positive_inputs_and_blocks_the_rest(x):
    data, d = derivative_of(Value.relu, x)
    assert data == max(x, 0.0)
    assert d == (1.0 if x > 0 else 0.0)


def test_relu_derivative_at_exactly_zero_is_zero():
    assert derivative_of(Value.relu, 0.0) == (0.0, 0.0)


@given(st.lists(reals, min_size=1, max_size=30))
def test_sum_values_is_one_node_whose_edges_all_carry_one(xs):
    terms = [Value(x) for x in xs]
    total = sum_values(terms)
    total.backward()
    assert total.parents == tuple(terms)
    assert total.data == pytest.approx(math.fsum(xs), abs=1e-12)
    assert all(t.grad == 1.0 for t in terms if sum(u is t for u in terms) == 1)


@given(st.lists(st.tuples(reals, reals), min_size=0, max_size=8), reals)
def test_affine_node_edges_carry_one_h_j_and_w_j(pairs, bias):
    w = [Value(p[0]) for p in pairs]
    h = [Value(p[1]) for p in pairs]
    b = Value(bias)
    a = affine(b, w, h)
    a.backward()
    assert a.op == "affine"
    assert a.parents == (b, *w, *h)
    assert a.local_grads == (1.0, *(p[1] for p in pairs), *(p[0] for p in pairs))
    assert a.data == pytest.approx(bias + math.fsum(x * y for x, y in pairs), abs=1e-9)
    assert b.grad == 1.0
    assert [v.grad for v in w] == [p[1] for p in pairs]
    assert [v.grad for v in h] == [p[0] for p in pairs]


def test_sum_values_of_nothing_is_refused():
    with pytest.raises(ValueError, match="at least one term"):
        sum_values([])


def test_sum_values_and_affine_turn_plain_numbers_into_constant_leaves():
    x = Value(2.0)
    total = sum_values([x, 3, 0.5])
    a = affine(1, [x, 2.0], [4, x])  # 1 + 2·4 + 2·2
    assert (total.data, a.data) == (5.5, 13.0)
    assert all(p.op == "" and not p.parents for p in (*total.parents[1:], a.parents[0]))
    a.backward()
    assert x.grad == 4.0 + 2.0  # ∂a/∂x through both of its edges


def test_zero_to_a_positive_value_power_has_exponent_derivative_zero():
    base, exponent = Value(0.0), Value(2.5)
    out = base**exponent
    out.backward()
    assert (out.data, base.grad, exponent.grad) == (0.0, 0.0, 0.0)


def test_affine_refuses_mismatched_lengths():
    with pytest.raises(ValueError, match="2 weights and 1 inputs"):
        affine(0.0, [Value(1.0), Value(2.0)], [Value(1.0)])


@pytest.mark.parametrize("n", [0, 1, 3])
def test_affine_parts_gives_back_the_b_w_and_h_an_affine_node_was_built_from(n):
    b = Value(0.5, "b")
    w = [Value(float(j), f"w{j}") for j in range(n)]
    h = [Value(-float(j), f"h{j}") for j in range(n)]
    node_b, node_w, node_h = affine_parts(affine(b, w, h).parents)
    assert node_b is b and list(node_w) == w and list(node_h) == h


def test_a_node_used_twice_collects_both_contributions():
    x = Value(3.0)
    y = x * x + x  # dy/dx = 2x + 1
    y.backward()
    assert x.grad == 7.0


def test_backward_twice_exactly_doubles_every_grad_interior_nodes_included():
    x, w = Value(0.7, "x"), Value(-1.3, "w")
    h = (x * w).tanh()
    loss = h * h + h.exp()
    loss.backward()
    first = {id(v): v.grad for v in topological_order(loss)}
    loss.backward()
    for v in topological_order(loss):
        assert v.grad == 2 * first[id(v)]
    assert loss.grad == 2.0 and h.grad == 2 * first[id(h)]


def test_grad_is_marked_not_computed_until_a_backward_pass_reaches_the_node():
    x = Value(1.0)
    y = x.exp()
    unrelated = Value(2.0)
    assert not x.grad_computed and not y.grad_computed
    y.backward()
    assert x.grad_computed and y.grad_computed and not unrelated.grad_computed


def test_zero_grad_clears_a_whole_graph_or_a_list_of_parameters():
    a, b = Value(2.0), Value(5.0)
    out = a * b + a
    out.backward()
    zero_grad([a])
    assert a.grad == 0.0 and b.grad == 2.0
    out.zero_grad()
    assert all(v.grad == 0.0 for v in topological_order(out))


def test_topological_order_puts_every_parent_before_its_children():
    x = Value(1.0)
    y = x * 2 + x.exp()
    z = y * x - y
    order = topological_order(z)
    position = {id(v): i for i, v in enumerate(order)}
    assert order[-1] is z and len(order) == len(position)
    assert all(position[id(p)] < position[id(v)] for v in order for p in v.parents)


def test_a_million_node_chain_runs_backward_without_recursion():
    depth = 10**6
    x = Value(0.3)
    y = x
    for _ in range(depth):
        y = y.sigmoid()
    y.backward()
    # The same chain rule product, computed with plain floats.
    s, expected = 0.3, 1.0
    for _ in range(depth):
        s = 1 / (1 + math.exp(-s))
        expected *= s * (1 - s)
    assert y.data == pytest.approx(s, rel=1e-12)
    assert x.grad == pytest.approx(expected, rel=1e-9)


def test_repr_and_str_are_short_and_show_data_grad_and_name():
    v = Value(0.5, "W2[1,3]")
    assert repr(v) == "Value(data=0.5, grad=0.0, name='W2[1,3]')"
    assert repr(Value(2)) == "Value(data=2.0, grad=0.0)"
    assert str(v) == "W2[1,3]=0.5 (grad 0)"
    assert str(v.exp()).startswith("(exp)=1.64872")


# ---- bad input is refused at the door ----


@pytest.mark.parametrize("bad", ["1.0", None, [1.0], 1 + 2j, True])
def test_a_value_of_a_non_number_is_a_type_error_naming_the_type(bad):
    with pytest.raises(TypeError, match=type(bad).__name__):
        Value(bad)


@pytest.mark.parametrize("bad", ["1.0", None, [1.0], 1 + 2j])
def test_an_op_with_a_non_number_is_a_type_error(bad):
    with pytest.raises(TypeError, match="real number"):
        Value(1.0) + bad
    with pytest.raises(TypeError, match="real number"):
        bad * Value(1.0)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_or_infinite_data_is_a_value_error(bad):
    with pytest.raises(ValueError, match="finite"):
        Value(bad)
    with pytest.raises(ValueError, match="finite"):
        Value(1.0) * bad


def test_a_name_that_is_not_a_string_is_a_type_error():
    with pytest.raises(TypeError, match="name"):
        Value(1.0, name=3)  # type: ignore[arg-type]


@pytest.mark.parametrize("x", [0.0, -1.0])
def test_log_of_a_non_positive_number_names_the_op_and_operand(x):
    with pytest.raises(ValueError, match=rf"log needs a positive operand, got {x!r}"):
        Value(x).log()


@pytest.mark.parametrize(
    ("base", "exponent", "message"),
    [
        (-8.0, 1 / 3, "negative base -8.0 to the non-integer power"),
        (0.0, -1, "0 to the negative power -1"),
        (0.0, 0.5, "infinite derivative"),
    ],
)
def test_power_domain_errors_name_the_operands(base, exponent, message):
    with pytest.raises(ValueError, match=message):
        Value(base) ** exponent


def test_negative_base_with_a_value_exponent_is_refused_with_advice():
    with pytest.raises(ValueError, match="plain number exponent"):
        Value(-2.0) ** Value(2.0)


def test_division_by_zero_is_a_zero_division_error_naming_the_operands():
    with pytest.raises(ZeroDivisionError, match=r"1\.0 / 0\.0"):
        Value(1.0) / 0
    with pytest.raises(ZeroDivisionError):
        1 / Value(0.0)


@pytest.mark.parametrize(
    "overflowing",
    [
        lambda: Value(1000.0).exp(),
        lambda: Value(1e200) * Value(1e200),
        lambda: Value(1e300) + 1e308 + 1e308,
        lambda: Value(1e200) ** 2,
        lambda: Value(1e-200) ** -2,
        lambda: Value(1.0) / 1e-310,
    ],
    ids=["exp", "mul", "add", "pow", "pow-negative", "div"],
)
def test_overflow_is_an_overflow_error(overflowing):
    with pytest.raises(OverflowError, match="overflows a float"):
        overflowing()


def test_a_backward_pass_whose_derivative_overflows_raises_and_changes_no_grad():
    x = Value(1e-300, "x")
    w = x
    for _ in range(6):
        w = w**0.5  # data stays tiny and finite; ∂w/∂x grows past the floats
    L = (w * 1e10) * 1e10
    with pytest.raises(OverflowError, match="with respect to x is inf"):
        L.backward()
    assert all(v.grad == 0.0 for v in topological_order(L))


def test_after_a_refused_backward_pass_the_same_leaves_serve_a_new_pass_exactly():
    x = Value(1e-300, "x")
    w = x
    for _ in range(6):
        w = w**0.5
    with pytest.raises(OverflowError):
        ((w * 1e10) * 1e10).backward()
    (x * 2.0).backward()
    assert x.grad == 2.0


def test_derivatives_that_are_finite_are_kept_even_when_their_sum_would_overflow():
    a, b = Value(1.0, "a"), Value(-1.0, "b")
    L = (a + b) * 1e308
    L.backward()
    assert a.grad == b.grad == 1e308


@pytest.mark.parametrize("exponent", [2, 2.0, np.float64(2.0), Fraction(2)], ids=repr)
def test_a_number_exponent_of_any_real_type_is_named_by_its_value(exponent):
    """A whole exact exponent (an int, a Fraction n/1) is an int exponent, a float a float."""
    square = Value(3.0) ** exponent
    assert square.op == ("**2.0" if isinstance(exponent, float) else "**2")
    assert square.data == 9.0 and square.local_grads == (6.0,)


def test_a_refused_op_leaves_the_graph_as_it_was():
    x = Value(0.0, "x")
    y = x * 3
    with pytest.raises(ValueError):
        y.log()
    assert topological_order(y) == [x, y.parents[1], y]
    y.backward()
    assert x.grad == 3.0


def test_importing_microbp_loads_none_of_numpy_graphviz_hypothesis_or_rich():
    check = (
        "import sys, microbp; "
        "print(sorted(m for m in ('numpy', 'graphviz', 'hypothesis', 'rich') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    # ... while microbp.compare, the one lazy name, still works.
    assert microbp.compare(microbp.MLP([2, 2], seed=0), [1.0, -1.0], 0).ok


# ---- faults: huge exponents, NaN written into data, numpy, threads, deep copies ----


@given(
    n=st.integers(2**53, 2**80),
    sign=st.sampled_from([1.0, -1.0]),
    x=st.sampled_from([-1.0, 1.0, -(1 + 2**-52), 1 - 2**-53]),
)
def test_the_power_rule_keeps_the_sign_of_an_odd_power_for_exponents_past_2_to_the_53(n, sign, x):
    exponent = sign * float(n)  # a float this large is an even integer, so n − 1 is odd
    try:
        _, d = derivative_of(lambda v: v**exponent, x)
    except OverflowError:
        return  # |x|ⁿ leaves the floats: refused, never a wrong number
    with mpmath.workprec(256):  # enough bits that n − 1 is exact
        exact = float(exponent * mpmath.power(mpmath.mpf(x), int(exponent) - 1))
    assert d == pytest.approx(exact, rel=1e-12, abs=0.0)
    assert math.copysign(1.0, d) == math.copysign(1.0, exact)


def test_minus_one_to_the_power_2_to_the_54_has_derivative_minus_2_to_the_54():
    x = Value(-1.0)
    (x**2**54).backward()
    assert x.grad == -(2.0**54)


def test_zero_to_the_power_zero_is_one_with_derivative_zero():
    x = Value(0.0)
    y = x**0
    y.backward()
    assert (y.data, x.grad) == (1.0, 0.0)


def test_a_local_derivative_that_overflows_is_refused_even_when_the_result_is_finite():
    with pytest.raises(OverflowError, match="overflows a float"):
        1.0 / Value(1e-200)  # the result 1e200 is finite; −1/x² = −1e400 is not


OPS_ON_ONE = {
    "+": lambda v: v + 1.0,
    "*": lambda v: v * 2.0,
    "/": lambda v: v / 2.0,
    "**": lambda v: v**2,
    "exp": Value.exp,
    "log": Value.log,
    "tanh": Value.tanh,
    "sigmoid": Value.sigmoid,
    "relu": Value.relu,
    "neg": lambda v: -v,
    "sum": lambda v: sum_values([v, v]),
    "affine": lambda v: affine(v, [v], [1.0]),
}


@pytest.mark.parametrize("op", sorted(OPS_ON_ONE))
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf], ids=repr)
def test_nan_or_inf_written_into_data_is_refused_by_every_op_as_such(op, bad):
    x = Value(1.0, "x")
    x.data = bad
    with pytest.raises(ValueError, match="NaN or infinite"):
        OPS_ON_ONE[op](x)


def test_numpy_arrays_do_not_swallow_a_value():
    with pytest.raises(TypeError, match="real number"):
        np.array([1.0, 2.0]) + Value(2.0)
    with pytest.raises(TypeError, match="real number"):
        Value(2.0) * np.array([1.0, 2.0])
    assert (np.float64(1.5) + Value(2.0)).data == 3.5  # a numpy scalar is a number


@pytest.mark.parametrize("bad", [[1.0], [Value(1.0), "x"], None])
def test_zero_grad_of_anything_but_values_is_a_type_error(bad):
    with pytest.raises(TypeError):
        zero_grad(bad)


def test_error_messages_stay_short_however_large_the_operands():
    wide = affine(0.0, [Value(1e290)] * 10_000, [Value(1e10)] * 10_000)
    with pytest.raises(OverflowError) as overflow:
        wide * 1e300
    with pytest.raises(TypeError) as wrong_type:
        Value(list(range(1_000_000)))  # type: ignore[arg-type]
    with pytest.raises(OverflowError) as huge_sum:
        sum_values([1e308] * 100_000)
    for error in (overflow, wrong_type, huge_sum):
        assert len(str(error.value)) < 500


def test_concurrent_backward_passes_over_shared_parameters_are_exact():
    import threading

    net = microbp.MLP([6, 16, 16, 3], seed=1)
    y_hat = net([0.5, -1.0, 2.0, 0.1, -0.3, 1.5])  # one graph, shared by every loss below
    points = [[(i * 7 + j) % 5 - 2.0 for j in range(6)] for i in range(4)]
    losses = [microbp.cross_entropy(net(x), i % 3) for i, x in enumerate(points)]
    losses += [y_hat[c] * float(c + 1) for c in range(3)] + [y_hat[0].log(), y_hat[1].exp()]
    microbp.zero_grad(net.parameters())
    for L in losses:
        L.backward()
    expected = [p.grad for p in net.parameters()]
    microbp.zero_grad(net.parameters())
    start = threading.Barrier(len(losses))

    def run(L: Value) -> None:
        start.wait()
        for _ in range(20):
            L.backward()

    threads = [threading.Thread(target=run, args=(L,)) for L in losses]
    run_interleaved(threads)
    for p, e in zip(net.parameters(), expected):
        assert p.grad == pytest.approx(20 * e, rel=1e-12, abs=1e-300)


def test_grad_computed_is_read_only():
    x = Value(1.0)
    with pytest.raises(AttributeError):
        x.grad_computed = True  # type: ignore[misc]
    assert not x.grad_computed


def test_a_derivative_with_respect_to_a_node_outside_the_graph_is_zero_whatever_it_holds():
    x, outside = Value(2.0, "x"), Value(1.0, "outside")
    outside.pass_grad = 7.0
    assert derivatives(x * 3.0, [x, outside]) == [3.0, 0.0]


@given(seed=st.integers(0, 10**6))
def test_derivatives_are_backwards_grads_and_change_no_grad(seed):
    net = microbp.MLP([3, 4, 2], hidden="tanh", seed=seed)
    x = [Value(0.3, "x1"), Value(-0.7, "x2"), Value(1.1, "x3")]
    L = microbp.cross_entropy(net(x), seed % 2)
    wrt = [*x, *net.parameters()]
    found = derivatives(L, wrt)
    assert all(v.grad == 0.0 and not v.grad_computed for v in topological_order(L))
    L.backward()
    assert found == [v.grad for v in wrt]
    assert derivatives(L, [Value(1.0)]) == [0.0]


@pytest.mark.parametrize("k", [2**53 + 1, 2**54 + 1, -(2**54) - 1, 10**20 + 1, 2**60 + 1, 2**53])
@pytest.mark.parametrize("x", [-1.0, -(1 + 2**-52), 1 - 2**-53])
def test_an_int_exponent_of_any_size_keeps_its_parity(k, x):
    with mpmath.workprec(256):
        exact_data = mpmath.power(mpmath.mpf(x), k)
        exact_grad = k * mpmath.power(mpmath.mpf(x), k - 1)
    v = Value(x)
    if max(abs(exact_data), abs(exact_grad)) > sys.float_info.max:
        with pytest.raises(OverflowError):
            v**k
        return
    y = v**k
    y.backward()
    assert y.op == f"**{k}"
    assert y.data == pytest.approx(float(exact_data), rel=1e-12, abs=1e-300)
    assert v.grad == pytest.approx(float(exact_grad), rel=1e-12, abs=1e-300)
    if abs(float(exact_grad)) > 1e-300:
        assert math.copysign(1.0, v.grad) == math.copysign(1.0, float(exact_grad))


def test_a_refused_backward_marks_its_nodes_reached_and_refused_derivatives_mark_none():
    x = Value(1e-300, "x")
    w = x
    for _ in range(6):
        w = w**0.5
    L = (w * 1e10) * 1e10
    with pytest.raises(OverflowError):
        derivatives(L, [x])
    assert not any(v.grad_computed for v in topological_order(L))
    with pytest.raises(OverflowError):
        L.backward()
    assert all(v.grad_computed and v.grad == 0.0 for v in topological_order(L))
    assert all(v.pass_grad == 0.0 for v in topological_order(L))
