"""Hypothesis strategies for property tests of microbp, or of your own autograd engine.

``expression_dags()`` draws random expressions over a few leaves that reuse intermediate nodes,
so derivatives must add up along several paths. A drawn `ExpressionDag` is a recipe, not a
graph: ``build()`` makes microbp `Value`s from it, and ``evaluate(leaves, ops)`` runs the same
recipe on any numbers whose ``+ - * / **`` work, with ``ops`` supplying the named functions (one
for each op of `microbp.ops` written as a method, ``exp``, ``log``…, and ``sum``, ``max``,
``affine``) — HIPS autograd's numpy, plain floats for finite differences, or another engine.
Ops are named as in `microbp.ops` (``add``, ``pow``, ``softplus``…).

Example::

    from hypothesis import given
    from microbp.strategies import expression_dags

    @given(expression_dags())
    def test_grads_match_my_engine(dag):
        leaves, root = dag.build()
        root.backward()
        ...  # compare [v.grad for v in leaves] with your engine's on dag.evaluate(...)

``layer_sizes()``, ``networks()``, ``input_vectors(n)`` and ``network_cases()`` draw feed-forward
networks: shapes, weights, inputs and targets. A `NetworkCase` is a whole backprop problem::

    from hypothesis import given
    from microbp.comparison import compare
    from microbp.strategies import network_cases

    @given(network_cases(max_layers=3, hidden=["tanh", "relu"]))
    def test_engine_matches_the_matrix_formulas(case):
        assert compare(case.net, case.x, case.target, case.loss).ok
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import pairwise
from types import SimpleNamespace
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st

from microbp.engine import Value, affine, max_value, sum_values, topological_order
from microbp.nn import HIDDEN_ACTIVATIONS, MLP, OUTPUT_ACTIVATIONS, loss_of
from microbp.ops import AFFINE, OPS, Op
from microbp.scalar_rules import affine_parts
from microbp.validate import LOSS_NAMES, check_loss

#: The ops drawn expressions use, by their names in `microbp.ops`: every op of the table but
#: those whose zero derivatives are a choice (max), which other engines do not share.
DRAWN_OPS = tuple(op for op in OPS.values() if op.differentiable)
UNARY_OPS = tuple(op.name for op in DRAWN_OPS if op.arity == 1)
BINARY_OPS = tuple(op.name for op in DRAWN_OPS if op.arity == 2)
NARY_OPS = tuple(op.name for op in DRAWN_OPS if op.arity is None)

#: The functions `ExpressionDag.evaluate` needs, for microbp `Value`s: each op written as a
#: method (``x.exp()``), and the n-ary ones.
ENGINE_OPS = SimpleNamespace(
    **{op.name: getattr(Value, op.name) for op in OPS.values() if op.method},
    sum=sum_values,
    max=max_value,
    affine=affine,
)


def float_ops() -> SimpleNamespace:
    """The functions `ExpressionDag.evaluate` needs, for plain Python floats: each op's own
    rule in `microbp.ops` (its value alone), the sums correctly rounded."""
    return SimpleNamespace(
        **{op.name: partial(_value_of, op) for op in OPS.values() if op.method},
        sum=math.fsum,
        max=max,
        affine=lambda b, w, h: b + math.fsum(wj * hj for wj, hj in zip(w, h)),
    )


def _value_of(op: Op, *operands: float) -> float:
    return op.apply(*operands)[0]


@dataclass(frozen=True)
class Step:
    """One node of the recipe: the op named ``op`` in `microbp.ops` applied to earlier nodes
    ``args`` (indices), with ``const``.

    An operand where the op is undefined somewhere (its ``guarded`` operands) takes a safe form
    built from other ops, ``x*x + const`` (> 0): ``log``, the divisor of ``div``, the base of
    ``pow_value``. ``pow`` raises to the integer power ``const``.
    """

    op: str
    args: tuple[int, ...]
    const: float = 0.0


@dataclass(frozen=True)
class ExpressionDag:
    """A drawn expression: leaf values and the steps combining them; the last step is the root."""

    leaves: tuple[float, ...]
    steps: tuple[Step, ...]

    def build(self, names: Sequence[str] | None = None) -> tuple[list[Value], Value]:
        """Make the leaves as `Value`s (named ``x[1]``, ``x[2]``, … unless given) and the root."""
        names = names or [f"x[{i + 1}]" for i in range(len(self.leaves))]
        if len(names) != len(self.leaves):
            raise ValueError(
                f"build needs one name per leaf: {len(self.leaves)} leaves, {len(names)} names"
            )
        leaves = [Value(x, name) for x, name in zip(self.leaves, names)]
        return leaves, self.evaluate(leaves, ENGINE_OPS)

    def evaluate(self, leaves: Sequence[Any], ops: Any) -> Any:
        """Run the recipe on ``leaves`` with ``ops`` (ENGINE_OPS, float_ops, …); return the root."""
        nodes = list(leaves)
        for step in self.steps:
            nodes.append(_apply(step, [nodes[i] for i in step.args], ops))
        return nodes[-1]

    def function(self, ops: Any) -> Callable[..., Any]:
        """The recipe as a function of the leaves, e.g. for ``autograd.grad``."""
        return lambda *leaves: self.evaluate(leaves, ops)


def _apply(step: Step, args: list[Any], ops: Any) -> Any:
    """The value of ``step`` on its operands ``args``, by how `microbp.ops` says its op is
    applied: a Python operator, a function of ``ops`` named as the op, or an n-ary one."""
    op = OPS.get(step.op)
    if op is None:
        raise ValueError(f"unknown op {step.op!r} in an ExpressionDag step")
    args = [a * a + step.const if i in op.guarded else a for i, a in enumerate(args)]
    if op is AFFINE:
        return ops.affine(*affine_parts(args))
    if op.arity is None:
        return getattr(ops, op.name)(args)
    if "c" in op.operands:  # x ** n, the integer n
        args.append(int(step.const))
    if op.operator is not None:
        return op.operator(*args)
    return getattr(ops, op.name)(*args)


def _recent(available: int, i: int) -> int:
    """The later of node i and its mirror image among the ``available`` nodes."""
    return max(i, available - 1 - i)


@st.composite
def _steps(
    draw: st.DrawFn, n_leaves: int, min_ops: int, max_ops: int, ops: Sequence[str]
) -> tuple[Step, ...]:
    steps: list[Step] = []
    for _ in range(draw(st.integers(min_ops, max_ops))):
        available = n_leaves + len(steps)
        # Prefer recent nodes, so the expression grows deep as well as wide.
        index = st.integers(0, available - 1).map(partial(_recent, available))
        op = OPS[draw(st.sampled_from(ops))]
        if op is AFFINE:
            width = draw(st.integers(1, 3))
            args = tuple(draw(st.lists(index, min_size=1 + 2 * width, max_size=1 + 2 * width)))
        elif op.arity is None:
            args = tuple(draw(st.lists(index, min_size=1, max_size=4)))
        else:
            args = tuple(draw(index) for _ in range(op.arity))
        if "c" in op.operands:
            const = float(draw(st.integers(-2, 3)))
        elif op.guarded:
            const = draw(st.floats(0.25, 2.0))
        else:
            const = 0.0
        steps.append(Step(op.name, args, const))
    return tuple(steps)


@st.composite
def expression_dags(
    draw: st.DrawFn,
    *,
    min_leaves: int = 1,
    max_leaves: int = 4,
    min_ops: int = 1,
    max_ops: int = 10,
    min_value: float = -2.0,
    max_value: float = 2.0,
    ops: Sequence[str] = UNARY_OPS + BINARY_OPS + NARY_OPS,
) -> ExpressionDag:
    """Expressions over ``min_leaves``–``max_leaves`` leaves, ``min_ops``–``max_ops`` steps.

    Each step's op is drawn from ``ops``, names of `microbp.ops` (default: all of `UNARY_OPS`,
    `BINARY_OPS`, `NARY_OPS`), e.g. only the ones an engine under test supports.

    Leaves are drawn from [``min_value``, ``max_value``]; a drawn expression whose numbers leave
    a float's range (say exp of exp of exp) or whose numbers or local derivatives exceed 10⁶ in
    size is rejected, so every drawn one builds and is well-conditioned enough to difference.
    """
    if not 1 <= min_leaves <= max_leaves:
        raise ValueError(f"need 1 ≤ min_leaves ≤ max_leaves, got {min_leaves} and {max_leaves}")
    if not 1 <= min_ops <= max_ops:
        raise ValueError(f"need 1 ≤ min_ops ≤ max_ops, got {min_ops} and {max_ops}")
    unknown = [op for op in ops if op not in OPS]
    if unknown or not ops:
        raise ValueError(f"ops must name at least one op of {', '.join(OPS)}; got {list(ops)!r}")
    n = draw(st.integers(min_leaves, max_leaves))
    value = st.floats(min_value, max_value, allow_nan=False, allow_infinity=False)
    dag = ExpressionDag(
        tuple(draw(value) for _ in range(n)), draw(_steps(n, min_ops, max_ops, tuple(ops)))
    )
    try:
        _, root = dag.build()
    except (OverflowError, ValueError, ZeroDivisionError):
        assume(False)
    nodes = topological_order(root)
    assume(max(abs(v.data) for v in nodes) < 1e6)
    assume(max((abs(d) for v in nodes for d in v.local_grads), default=0.0) < 1e6)
    return dag


# ---- networks: shapes, weights, inputs and targets ----


@st.composite
def layer_sizes(
    draw: st.DrawFn,
    *,
    min_layers: int = 1,
    max_layers: int = 4,
    min_width: int = 1,
    max_width: int = 6,
) -> list[int]:
    """``sizes`` for an `MLP`: [n_0, n_1, …, n_L] with L in [min_layers, max_layers] and every
    width (inputs included) in [min_width, max_width]."""
    if not 1 <= min_layers <= max_layers:
        raise ValueError(f"need 1 ≤ min_layers ≤ max_layers, got {min_layers} and {max_layers}")
    if not 1 <= min_width <= max_width:
        raise ValueError(f"need 1 ≤ min_width ≤ max_width, got {min_width} and {max_width}")
    n_layers = draw(st.integers(min_layers, max_layers))
    return draw(
        st.lists(st.integers(min_width, max_width), min_size=n_layers + 1, max_size=n_layers + 1)
    )


def _numbers(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False)


@st.composite
def networks(
    draw: st.DrawFn,
    *,
    sizes: Sequence[int] | None = None,
    min_layers: int = 1,
    max_layers: int = 4,
    min_width: int = 1,
    max_width: int = 6,
    hidden: Sequence[str] = HIDDEN_ACTIVATIONS,
    output: Sequence[str] = OUTPUT_ACTIVATIONS,
    max_weight: float = 1.0,
) -> MLP:
    """`MLP`s of drawn shape (or the given ``sizes``), activations drawn from ``hidden`` and
    ``output``, and every weight and bias drawn from [−max_weight, max_weight]."""
    if sizes is None:
        sizes = draw(
            layer_sizes(
                min_layers=min_layers,
                max_layers=max_layers,
                min_width=min_width,
                max_width=max_width,
            )
        )
    weight = _numbers(-max_weight, max_weight)
    weights = [
        [[draw(weight) for _ in range(n_in)] for _ in range(n_out)]
        for n_in, n_out in pairwise(sizes)
    ]
    biases = [[draw(weight) for _ in range(n_out)] for n_out in sizes[1:]]
    return MLP.from_weights(
        weights, biases, draw(st.sampled_from(hidden)), draw(st.sampled_from(output))
    )


def input_vectors(
    size: int, *, min_value: float = -2.0, max_value: float = 2.0
) -> st.SearchStrategy[list[float]]:
    """Inputs x of length ``size``, every entry in [min_value, max_value]."""
    return st.lists(_numbers(min_value, max_value), min_size=size, max_size=size)


@dataclass(frozen=True)
class NetworkCase:
    """A network, an input, a target and the loss's name (one of ``LOSS_NAMES``): one problem.

    ``target`` is a 0-based label for cross-entropy, a vector for squared error.
    """

    net: MLP
    x: list[float]
    target: int | list[float]
    loss: str

    def loss_value(self) -> Value:
        """Forward pass and loss L with the engine, ready for ``backward()``."""
        return loss_of(self.loss, self.net(self.x), self.target)


@st.composite
def network_cases(
    draw: st.DrawFn,
    *,
    losses: Sequence[str] = LOSS_NAMES,
    min_layers: int = 1,
    max_layers: int = 4,
    min_width: int = 1,
    max_width: int = 6,
    hidden: Sequence[str] = HIDDEN_ACTIVATIONS,
    output: Sequence[str] = OUTPUT_ACTIVATIONS,
    max_weight: float = 1.0,
    max_input: float = 2.0,
    max_preactivation: float = 30.0,
) -> NetworkCase:
    """A drawn network with an input, a target and a loss.

    Cross-entropy gets a softmax output (ŷ must be probabilities) and a label; squared error an
    output drawn from ``output`` (softmax or linear) and a target vector in [−1, 1]; a loss
    whose output ``output`` leaves out is never drawn. Cases with some |a_ki| above
    ``max_preactivation``, or whose forward pass overflows, are rejected, so the losses stay
    finite and finite differences meaningful.
    """
    for loss in losses:
        check_loss(loss)
    if not output or any(g not in OUTPUT_ACTIVATIONS for g in output):
        raise ValueError(
            f"output must list outputs from {', '.join(OUTPUT_ACTIVATIONS)}, got {list(output)!r}"
        )
    drawable = [loss for loss in losses if loss != "cross_entropy" or "softmax" in output]
    if not drawable:
        raise ValueError(
            f"no loss of {list(losses)!r} fits the outputs {list(output)!r}: "
            "cross-entropy needs a softmax output"
        )
    loss = draw(st.sampled_from(drawable))
    net = draw(
        networks(
            min_layers=min_layers,
            max_layers=max_layers,
            min_width=min_width,
            max_width=max_width,
            hidden=hidden,
            output=("softmax",) if loss == "cross_entropy" else tuple(output),
            max_weight=max_weight,
        )
    )
    x = draw(input_vectors(net.sizes[0], min_value=-max_input, max_value=max_input))
    n_out = net.sizes[-1]
    if loss == "cross_entropy":
        target: int | list[float] = draw(st.integers(0, n_out - 1))
    else:
        target = draw(st.lists(_numbers(-1.0, 1.0), min_size=n_out, max_size=n_out))
    try:
        net(x)
    except OverflowError:  # weights near max_weight=1e308: a forward pass past the floats
        assume(False)
    assume(all(abs(a.data) <= max_preactivation for layer in net.layers for a in layer.a))
    return NetworkCase(net, x, target, loss)
