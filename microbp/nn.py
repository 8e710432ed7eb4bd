"""Feed-forward networks in the notes' notation, built from `Value`s only.

Layer k computes a_ki = b_ki + Σ_j W_kij h_{k-1,j} as ONE `affine` node named ``ak[i]`` and
h_ki = g(a_ki) named ``hk[i]``; indices in names count from 1 as the notes do, Python lists
from 0 (``net.layers[1].W[0][2]`` is ``W2[1,3]``). Losses and the SGD update rule live here too.
"""

from __future__ import annotations

import math
import numbers
import random
import sys
from collections.abc import Callable, Iterable, Sequence
from itertools import pairwise
from typing import Any

from microbp.engine import Value, affine_node, max_value, sum_values, zero_grad
from microbp.passes import describe_node
from microbp.validate import (
    brief,
    check_choice,
    check_count,
    check_label,
    check_loss,
    check_number,
    check_sequence,
    check_target,
)

#: The most weights and biases an `MLP` is built with: each is a Python object of about 200
#: bytes, and each forward pass makes as many nodes again.
MAX_PARAMETERS = 2_000_000

HIDDEN_ACTIVATIONS = ("sigmoid", "tanh", "relu", "linear")
OUTPUT_ACTIVATIONS = ("softmax", "linear")
ACTIVATIONS = (*HIDDEN_ACTIVATIONS, "softmax")


def _initial_weight_bound(n_in: int, n_out: int, activation: str) -> float:
    """Half-width of the uniform initialisation: He for relu, Xavier/Glorot otherwise.

    He uniform, U(±√(6/n_in)), keeps the variance of relu layers' outputs steady; Glorot
    uniform, U(±√(6/(n_in+n_out))), does the same for sigmoid, tanh, linear and softmax.
    """
    if activation == "relu":
        return math.sqrt(6.0 / n_in)
    return math.sqrt(6.0 / (n_in + n_out))


def softmax(a: Sequence[Value]) -> list[Value]:
    """ŷ_i = exp(a_i − m) / Σ_j exp(a_j − m), with m = max_j a_j taken as a constant.

    Subtracting m changes nothing mathematically (the softmax is shift-invariant) but keeps
    every exp ≤ 1, so large pre-activations do not overflow. m is a `max_value` node, which
    passes no gradient: in the graph, so a replay (`microbp.tape`) shifts each sample by its own.
    """
    m = max_value(a)
    e = [(v - m).exp() for v in a]
    total = sum_values(e)
    return [ei / total for ei in e]


def _activate(a: list[Value], activation: str) -> list[Value]:
    if activation == "softmax":
        return softmax(a)
    if activation == "linear":
        return [sum_values([v]) for v in a]  # h = a as its own node, ∂h/∂a = 1
    return list(map(getattr(Value, activation), a))


class Layer:
    """Layer k: weights W (a tuple of n_out rows, each a tuple of n_in Values), biases b (a
    tuple of n_out Values), activation g. Neither can be replaced; train them via ``data``.

    After a forward pass it keeps ``h_prev`` (its inputs), ``a`` (pre-activations) and ``h``.
    """

    def __init__(
        self,
        n_in: int,
        n_out: int,
        activation: str = "sigmoid",
        *,
        k: int = 1,
        rng: random.Random | None = None,
    ) -> None:
        self.n_in = check_count(n_in, "a layer's number of inputs n_in")
        self.n_out = check_count(n_out, "a layer's number of outputs n_out")
        if (n_in + 1) * n_out > MAX_PARAMETERS:
            raise ValueError(
                f"a layer of {n_in:,} inputs and {n_out:,} outputs has {(n_in + 1) * n_out:,} "
                f"weights and biases, more than the {MAX_PARAMETERS:,} a network of scalar "
                "Values is built with; use smaller layers"
            )
        self.k = check_count(k, "a layer's index k (counting from 1)")
        self.activation = check_choice(activation, ACTIVATIONS, "activation")
        if rng is not None and not isinstance(rng, random.Random):
            raise TypeError(
                f"rng must be a random.Random (e.g. random.Random(0)) or None, got "
                f"{type(rng).__name__} {brief(rng)}"
            )
        rng = rng or random.Random()
        bound = _initial_weight_bound(n_in, n_out, activation)
        # Read-only tuples: the forward pass reads these Values' data without checking them.
        self._W = tuple(
            tuple(Value(rng.uniform(-bound, bound), f"W{k}[{i + 1},{j + 1}]") for j in range(n_in))
            for i in range(n_out)
        )
        self._b = tuple(Value(0.0, f"b{k}[{i + 1}]") for i in range(n_out))
        symbol = "x" if k == 1 else f"h{k - 1}"
        self._input_names = [f"{symbol}[{j + 1}]" for j in range(n_in)]
        self._a_names = [f"a{k}[{i + 1}]" for i in range(n_out)]
        self._h_names = [f"h{k}[{i + 1}]" for i in range(n_out)]
        self.h_prev: list[Value] = []
        self.a: list[Value] = []
        self.h: list[Value] = []

    @property
    def W(self) -> tuple[tuple[Value, ...], ...]:
        """W_k, n_out rows of n_in Values: the layer's own, for good; train them via ``data``."""
        return self._W

    @property
    def b(self) -> tuple[Value, ...]:
        """b_k, n_out Values: the layer's own, for good; train them via ``data``."""
        return self._b

    def __call__(self, h_prev: Sequence[float | Value]) -> list[Value]:
        """Forward: a_ki = b_ki + Σ_j W_kij h_{k-1,j} (one affine node each), h_ki = g(a_ki).

        Numbers in ``h_prev`` become `Value`s named ``x[j]`` (layer 1) or ``h{k-1}[j]``; Values
        are used as they are, so derivatives with respect to them can be read.
        """
        h_prev, a, h = self.forward_pass(h_prev)
        self.h_prev, self.a, self.h = h_prev, a, h
        return h

    def forward_pass(
        self, h_prev: Sequence[float | Value]
    ) -> tuple[list[Value], list[Value], list[Value]]:
        """(h_prev as Values, a, h) of one pass, keeping nothing: a failed pass changes nothing."""
        if len(h_prev) != self.n_in:
            raise ValueError(
                f"layer {self.k} expects {self.n_in} inputs h{self.k - 1}, got {len(h_prev)}"
            )
        inputs = [
            v if isinstance(v, Value) else Value(check_number(v, name), name)
            for v, name in zip(h_prev, self._input_names)
        ]
        h_data = [v.data for v in inputs]
        a = [
            affine_node((b_i, *w_i, *inputs), b_i.data, [w.data for w in w_i], h_data)
            for b_i, w_i in zip(self._b, self._W)
        ]
        h = _activate(a, self.activation)
        for a_i, h_i, a_name, h_name in zip(a, h, self._a_names, self._h_names):
            a_i.name, h_i.name = a_name, h_name
        return inputs, a, h

    def parameters(self) -> list[Value]:
        """W row by row, then b."""
        return [w for row in self.W for w in row] + list(self.b)

    def __repr__(self) -> str:
        return f"Layer(k={self.k}, {self.n_in} → {self.n_out}, {self.activation})"


class MLP:
    """A multilayer perceptron with layer sizes ``sizes`` = [n_0 (inputs), n_1, …, n_L].

    Hidden layers use ``hidden`` (sigmoid, tanh, relu, linear), the output layer ``output``
    (softmax or linear). Weights start He-uniform for relu layers and Glorot-uniform otherwise,
    drawn from ``random.Random(seed)`` (same seed, same weights); biases start at 0.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        hidden: str = "sigmoid",
        output: str = "softmax",
        seed: int | None = None,
    ) -> None:
        if isinstance(sizes, str) or not isinstance(sizes, Sequence):
            raise TypeError(f"sizes must be a list of ints, got {type(sizes).__name__}")
        if len(sizes) < 2:
            raise ValueError(
                f"sizes needs at least two entries (inputs and outputs), got {brief(sizes)}; "
                "e.g. MLP([2, 3, 2]) has 2 inputs, 3 hidden units and 2 outputs"
            )
        try:
            sizes = [check_count(n, "every layer size") for n in sizes]
        except (TypeError, ValueError) as error:  # the sizes named only now: there may be many
            raise type(error)(f"{error} (in sizes={brief(sizes)})") from None
        n_parameters = sum((n_in + 1) * n_out for n_in, n_out in pairwise(sizes))
        if n_parameters > MAX_PARAMETERS:
            raise ValueError(
                f"sizes={brief(sizes)} makes {n_parameters:,} weights and biases, more than the "
                f"{MAX_PARAMETERS:,} a network of scalar Values is built with (each is a Python "
                "object); use smaller layers"
            )
        check_choice(hidden, HIDDEN_ACTIVATIONS, "hidden activation")
        check_choice(output, OUTPUT_ACTIVATIONS, "output activation")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
            raise TypeError(f"seed must be an int or None, got {type(seed).__name__} {brief(seed)}")
        rng = random.Random(None if seed is None else int(seed))
        n_layers = len(sizes) - 1
        self.sizes = sizes
        self.hidden = hidden
        self.output = output
        self.layers = [
            Layer(n_in, n_out, hidden if k < n_layers else output, k=k, rng=rng)
            for k, (n_in, n_out) in enumerate(pairwise(sizes), start=1)
        ]

    @classmethod
    def from_weights(
        cls,
        weights: Sequence[Sequence[Sequence[float]]],
        biases: Sequence[Sequence[float]],
        hidden: str = "sigmoid",
        output: str = "softmax",
    ) -> MLP:
        """The network with W_k = ``weights[k-1]`` (n_k × n_{k-1}) and b_k = ``biases[k-1]``."""
        matrices = check_sequence(weights, "weights", "one n_k × n_{k-1} matrix per layer")
        vectors = check_sequence(biases, "biases", "one vector of n_k numbers per layer")
        if len(matrices) != len(vectors) or not matrices:
            raise ValueError(
                f"need one weight matrix and one bias vector per layer, at least one layer; "
                f"got {len(matrices)} weight matrices and {len(vectors)} bias vectors"
            )
        W_rows = [
            [
                check_sequence(row, f"W{k}'s rows", "numbers")
                for row in check_sequence(W, f"W{k}", "rows")
            ]
            for k, W in enumerate(matrices, start=1)
        ]
        b_lists = [check_sequence(b, f"b{k}", "numbers") for k, b in enumerate(vectors, start=1)]
        sizes = [len(W_rows[0][0]) if W_rows[0] else 0]  # n_0, from W_1's first row
        for k, (rows, b) in enumerate(zip(W_rows, b_lists), start=1):
            if not rows or any(len(row) != sizes[-1] for row in rows) or len(b) != len(rows):
                raise ValueError(
                    f"W{k} must have n_{k} rows of n_{k - 1} = {sizes[-1]} entries and b{k} "
                    f"n_{k} entries; got rows of lengths {brief([len(r) for r in rows])} and "
                    f"{len(b)} biases"
                )
            sizes.append(len(rows))
        net = cls(sizes, hidden, output)
        for layer, W, b in zip(net.layers, W_rows, b_lists):
            k = layer.k
            for i, row in enumerate(W):
                for j, w in enumerate(row):
                    layer.W[i][j].data = check_number(w, f"W{k}[{i + 1},{j + 1}]")
            for i, b_i in enumerate(b):
                layer.b[i].data = check_number(b_i, f"b{k}[{i + 1}]")
        return net

    def __call__(self, x: Sequence[float | Value]) -> list[Value]:
        """Forward pass; returns the output layer's h (ŷ for softmax). Numbers become ``x[j]``.

        Values in ``x`` are used as they are, so derivatives with respect to inputs can be read.
        """
        entries = check_sequence(x, "the input", f"{self.sizes[0]} numbers (or Values)")
        if len(entries) != self.sizes[0]:
            raise ValueError(
                f"the network takes {self.sizes[0]} inputs, got {len(entries)}: {brief(x)}"
            )
        passes = []
        h: Sequence[float | Value] = entries
        for layer in self.layers:
            passes.append(layer.forward_pass(h))
            h = passes[-1][2]
        # Every layer keeps its part only once the whole pass has succeeded.
        for layer, (h_prev, a, h_k) in zip(self.layers, passes):
            layer.h_prev, layer.a, layer.h = h_prev, a, h_k
        return passes[-1][2]

    def parameters(self) -> list[Value]:
        """Every weight and bias, layer by layer (W row by row, then b)."""
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        return f"MLP({self.sizes}, hidden={self.hidden!r}, output={self.output!r})"


def softmax_parts(y_hat_i: Value) -> tuple[Value, Value] | None:
    """(s_i, Σ) when ``y_hat_i`` is a quotient exp(s_i) / Σ, as `softmax` makes ŷ_i (s_i = a_i − m),
    else None: then −log ŷ_i = log Σ − s_i, finite even where ŷ_i underflows to 0."""
    if y_hat_i.op != "/":
        return None
    e_i, total = y_hat_i.parents
    if e_i.op != "exp" or total.data <= 0.0:
        return None
    return e_i.parents[0], total


def cross_entropy(y_hat: Sequence[Value], label: int) -> Value:
    """L = −log ŷ_label, ``label`` counting from 0 (class ℓ = label + 1 in the notes).

    Where a softmax's ŷ_label is below the smallest normal float (a confident wrong prediction,
    a logit margin of ~700 or more), −log ŷ_label would be imprecise or infinite: L is then
    log Σ_j e^(a_j − m) − (a_label − m), built from the softmax's own nodes, the same number
    and the same ∇a_L = ŷ − e(ℓ), with ŷ itself off the loss's path.
    """
    label = check_label(label, len(y_hat))
    p = y_hat[label]
    parts = softmax_parts(p) if p.data < sys.float_info.min else None
    if parts is not None:
        s_label, total = parts
        loss = total.log() - s_label
    elif p.data > 0.0:
        loss = -p.log()
    else:
        raise ValueError(
            f"cross_entropy needs ŷ[{label}] > 0 (a probability), got {p.data!r}; "
            "use a softmax output (its underflowed ŷ are handled), or keep the "
            "pre-activations small enough not to underflow"
        )
    loss.name = "L"
    return loss


def squared_error(y_hat: Sequence[Value], target: Sequence[float]) -> Value:
    """L = Σ_i (ŷ_i − y_i)²."""
    y = check_target(target, len(y_hat))
    loss = sum_values([(p - t) ** 2 for p, t in zip(y_hat, y)])
    loss.name = "L"
    return loss


class SGD:
    """Plain gradient descent: θ ← θ − η ∇θ L for every parameter θ (W_k and b_k alike)."""

    def __init__(self, params: Iterable[Value], lr: float) -> None:
        self.params = list(params)
        for p in self.params:
            if not isinstance(p, Value):
                raise TypeError(f"SGD optimises Values, got {type(p).__name__} {p!r}")
        self.lr = check_number(lr, "the learning rate lr")
        if self.lr <= 0.0:
            raise ValueError(f"the learning rate lr must be positive, got {lr!r}")

    def step(self) -> None:
        """W ← W − η ∇W, b ← b − η ∇b; refuses (changing nothing) if a result is not finite."""
        updated = [p.data - self.lr * p.grad for p in self.params]
        for p, new in zip(self.params, updated):
            if not math.isfinite(new):
                raise OverflowError(
                    f"the SGD step makes {describe_node(p)} non-finite "
                    f"({p.data!r} − {self.lr!r}·{p.grad!r}); lower the learning rate"
                )
        for p, new in zip(self.params, updated):
            p.data = new

    def zero_grad(self) -> None:
        """Set every parameter's grad to 0, ready for the next backward pass."""
        zero_grad(self.params)


#: The losses by name (`validate.LOSS_NAMES`), as `comparison.compare` and the strategies take them.
LOSSES: dict[str, Callable[[Sequence[Value], Any], Value]] = {
    "cross_entropy": cross_entropy,
    "squared_error": squared_error,
}


def loss_of(loss: str, y_hat: Sequence[Value], target: object) -> Value:
    """The loss named ``loss`` of ``y_hat`` against ``target``: a 0-based label for
    cross-entropy, a vector of numbers for squared error."""
    return LOSSES[check_loss(loss)](y_hat, target)
