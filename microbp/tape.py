"""Trace once, replay fast: a loss's scalar graph recorded as a tape, replayed over batches.

A feed-forward loss has the same graph for every sample; only the numbers change. `record`
walks the graph of a loss built once with the engine and lays it out flat: each node gets a row,
its op and its parents' rows; leaves are *inputs* (per-sample numbers such as the ``x[j]`` and
the targets), *parameters* (read from their ``.data`` at every replay, their summed grads added
into ``.grad`` so `SGD` works unchanged) or *constants* (frozen at their recorded value). The
replay runs every node as a numpy array over the batch, with each op's forward rule and local
derivatives the engine's own, vectorised: nodes of one op at one depth become one instruction,
and the affine nodes of a dense layer one matrix product. The scalar graph stays the single
source of truth; the tape is only a faster way to run it.

Honest limits:

- Python control flow is frozen at record time, as in the tracing of the big frameworks. A
  number the Python code computed from ``.data`` becomes a constant: softmax's shift
  m = max_j a_j is replayed as the *recorded* example's m, not each sample's own. The softmax is
  shift-invariant, so the results agree up to rounding; a replay in which a_j − m overflows
  exp raises `OverflowError` naming the node (record again on a nearer example).
- A graph whose *shape* depends on the data is not supported. `Value` has no comparisons, so
  ``if v > 0`` already raises TypeError; but ``if v.data > 0``, or cross-entropy's label picking
  which ŷ enters the loss, cannot be seen by a replay. `Tape.check_same_graph` detects it for
  a graph built on another sample; `network_loss` records cross-entropy label-independently.
- Not bit for bit: numpy's vectorised exp, log, tanh and power may round differently from the
  C library's (within an ulp or so), matrix products and grouped sums add in a different order
  than the engine's left-to-right sums, and a node's grad contributions arrive in group order.
  The property tests hold replay and engine together within 1e-12.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from itertools import chain

import numpy as np

from microbp.engine import Value, affine, affine_parts, sum_values, topological_order
from microbp.formulas import sigmoid
from microbp.nn import MLP
from microbp.validate import check_label, check_loss, check_target

__all__ = [
    "Tape",
    "TapeError",
    "network_batch",
    "network_loss",
    "record",
    "record_network",
]

_INPUT, _PARAMETER, _CONSTANT = "input", "parameter", "constant"
_data = operator.attrgetter("data")


class TapeError(ValueError):
    """A graph the tape cannot record, a batch it cannot replay, or a graph that differs."""


# ---- each op: its numpy forward rule and its local derivatives, the engine's rules vectorised ----


def _sigmoid_local(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))
    return e / (1.0 + e) ** 2


def _tanh_local(x: np.ndarray) -> np.ndarray:
    e = np.exp(-2.0 * np.abs(x))  # as the engine: exact where 1 − tanh² loses every digit
    return 4.0 * e / (1.0 + e) ** 2


# op → (forward f(x), local derivative ∂y/∂x as a function of x and y = f(x))
_UNARY: dict[str, tuple[Callable, Callable]] = {
    "neg": (np.negative, lambda x, y: -1.0),
    "exp": (np.exp, lambda x, y: y),
    "log": (np.log, lambda x, y: 1.0 / x),
    "tanh": (np.tanh, lambda x, y: _tanh_local(x)),
    "sigmoid": (sigmoid, lambda x, y: _sigmoid_local(x)),
    "relu": (lambda x: np.where(x > 0.0, x, 0.0), lambda x, y: np.where(x > 0.0, 1.0, 0.0)),
}


def _pow_value(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    # the engine refuses a negative base with a Value exponent; NaN makes the replay refuse too
    return np.where(x < 0.0, np.nan, np.power(x, y))


def _pow_value_locals(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, ...]:
    d_base = np.where(y != 0.0, y * np.power(x, y - 1.0), 0.0)
    d_exponent = np.where(x > 0.0, z * np.log(np.where(x > 0.0, x, 1.0)), 0.0)
    return d_base, d_exponent


# op → (forward f(x, y), local derivatives (∂z/∂x, ∂z/∂y) as a function of x, y and z = f(x, y))
_BINARY: dict[str, tuple[Callable, Callable]] = {
    "+": (np.add, lambda x, y, z: (1.0, 1.0)),
    "-": (np.subtract, lambda x, y, z: (1.0, -1.0)),
    "*": (np.multiply, lambda x, y, z: (y, x)),
    "/": (np.divide, lambda x, y, z: (1.0 / y, -z / y)),
    "**": (_pow_value, _pow_value_locals),
}

# the same ops on Values, to let the engine itself name what went wrong in a failed replay
_ENGINE_BINARY = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": operator.pow,
}


def _power_exponent(op: str) -> float | None:
    """The n of an op ``**n`` (a power with a number exponent), None for any other op."""
    if not op.startswith("**") or op == "**":
        return None
    try:
        return float(op[2:])
    except ValueError:
        raise TapeError(
            f"cannot read the exponent of the op {op!r}; build powers with a Python int or "
            "float exponent"
        ) from None


def _engine_apply(op: str, parents: list[Value]) -> Value:
    """Run ``op`` on ``parents`` with the engine, which raises its own error for bad operands."""
    n = _power_exponent(op)
    if n is not None:
        return parents[0] ** n
    if op in _ENGINE_BINARY:
        return _ENGINE_BINARY[op](parents[0], parents[1])
    if op == "neg":
        return -parents[0]
    if op == "sum":
        return sum_values(parents)
    if op == "affine":
        return affine(*affine_parts(parents))
    return getattr(Value, op)(parents[0])


# ---- instructions: one group of nodes of one op at one depth, rows laid out contiguously ----


class _Rows:
    """The rows one operand of an instruction reads, and adds its grad contributions to."""

    __slots__ = ("index", "unique")

    def __init__(self, rows: list[int] | list[list[int]]) -> None:
        nested = bool(rows) and isinstance(rows[0], list)
        flat = [r for row in rows for r in row] if nested else rows  # type: ignore[union-attr]
        self.unique = len(set(flat)) == len(flat)
        first = flat[0] if flat else 0
        if not nested and flat == list(range(first, first + len(flat))):
            self.index: slice | np.ndarray = slice(first, first + len(flat))
        else:
            self.index = np.array(rows, dtype=np.intp)

    def read(self, D: np.ndarray) -> np.ndarray:
        return D[self.index]

    def add(self, G: np.ndarray, values: np.ndarray) -> None:
        if self.unique:
            G[self.index] += values
        else:  # a row appears twice (x*x, a shared total): add every contribution
            np.add.at(G, self.index, np.broadcast_to(values, (*self.index.shape, G.shape[1])))


class _Unary:
    def __init__(self, op: str, out: slice, parent: list[int]) -> None:
        n = _power_exponent(op)
        if n is None:
            self.f, self.local = _UNARY[op]
        else:
            self.f = lambda x: np.power(x, n)
            self.local = lambda x, y: n * np.power(x, n - 1.0) if n != 0.0 else 0.0
        self.out, self.x = out, _Rows(parent)

    def forward(self, D: np.ndarray, U: np.ndarray) -> None:
        D[self.out] = self.f(self.x.read(D))

    def backward(self, D: np.ndarray, G: np.ndarray, U: np.ndarray, T: np.ndarray) -> None:
        self.x.add(G, self.local(self.x.read(D), D[self.out]) * G[self.out])


class _Binary:
    def __init__(self, op: str, out: slice, left: list[int], right: list[int]) -> None:
        self.f, self.locals = _BINARY[op]
        self.out, self.x, self.y = out, _Rows(left), _Rows(right)

    def forward(self, D: np.ndarray, U: np.ndarray) -> None:
        D[self.out] = self.f(self.x.read(D), self.y.read(D))

    def backward(self, D: np.ndarray, G: np.ndarray, U: np.ndarray, T: np.ndarray) -> None:
        g = G[self.out]
        local_x, local_y = self.locals(self.x.read(D), self.y.read(D), D[self.out])
        self.x.add(G, local_x * g)
        self.y.add(G, local_y * g)


class _Sum:
    def __init__(self, out: slice, terms: list[list[int]]) -> None:
        self.out, self.terms = out, _Rows(terms)

    def forward(self, D: np.ndarray, U: np.ndarray) -> None:
        D[self.out] = self.terms.read(D).sum(axis=1)

    def backward(self, D: np.ndarray, G: np.ndarray, U: np.ndarray, T: np.ndarray) -> None:
        self.terms.add(G, G[self.out][:, None, :])  # ∂sum/∂term = 1 for every term


class _Affine:
    """a_i = b_i + Σ_j w_ij h_ij for nodes whose weights may vary per sample."""

    def __init__(self, out: slice, b: list[int], w: list[list[int]], h: list[list[int]]) -> None:
        self.out, self.b, self.w, self.h = out, _Rows(b), _Rows(w), _Rows(h)

    def forward(self, D: np.ndarray, U: np.ndarray) -> None:
        D[self.out] = self.b.read(D) + (self.w.read(D) * self.h.read(D)).sum(axis=1)

    def backward(self, D: np.ndarray, G: np.ndarray, U: np.ndarray, T: np.ndarray) -> None:
        g = G[self.out]
        self.b.add(G, g)
        self.w.add(G, self.h.read(D) * g[:, None, :])
        self.h.add(G, self.w.read(D) * g[:, None, :])


class _Dense:
    """a = b + W h for affine nodes sharing their inputs h, with weights that are parameters or
    constants: one matrix product forward, ∇W = Σ_batch ∇a hᵀ and ∇h = Wᵀ ∇a backward."""

    def __init__(self, out: slice, b: list[int], w: list[list[int]], h: list[int]) -> None:
        self.out, self.b, self.h = out, _Rows(b), _Rows(h)
        self.w = np.array(w, dtype=np.intp)  # positions in U, the parameters and constants
        self.w_unique = len(set(self.w.flat)) == self.w.size

    def forward(self, D: np.ndarray, U: np.ndarray) -> None:
        D[self.out] = self.b.read(D) + U[self.w] @ self.h.read(D)

    def backward(self, D: np.ndarray, G: np.ndarray, U: np.ndarray, T: np.ndarray) -> None:
        grad_a = G[self.out]
        self.b.add(G, grad_a)
        self.h.add(G, U[self.w].T @ grad_a)
        grad_W = grad_a @ self.h.read(D).T
        if self.w_unique:
            T[self.w] += grad_W
        else:
            np.add.at(T, self.w, grad_W)


# ---- the tape ----


def _signature(
    loss: Value, inputs: Sequence[Value], parameters: Sequence[Value]
) -> tuple[list[Value], list[tuple]]:
    """The graph in topological order, and each node's (kind, op, parent positions)."""
    nodes = topological_order(loss)
    position = {v: i for i, v in enumerate(nodes)}
    kind = dict.fromkeys(nodes, _CONSTANT)
    for role, values in ((_INPUT, inputs), (_PARAMETER, parameters)):
        for i, v in enumerate(values):
            if v in kind:
                kind[v] = (role, i)
    signature = [
        (kind[v], v.op, tuple(position[p] for p in v.parents)) if v.op else (kind[v],)
        for v in nodes
    ]
    return nodes, signature


def _check_leaves(values: Sequence[Value], what: str) -> list[Value]:
    values = list(values)
    for i, v in enumerate(values):
        if not isinstance(v, Value):
            raise TypeError(f"{what}[{i}] must be a Value, got {type(v).__name__} {v!r}")
        if v.op:
            raise TapeError(
                f"{what}[{i}] ({v.name or v.op}) is made by the op {v.op!r}; {what} must be "
                "leaves (Values the graph starts from)"
            )
    if len(set(values)) != len(values):
        raise TapeError(f"{what} lists the same Value twice")
    return values


def _label(v: Value) -> str:
    """How errors name a node: its name, else its op, else "a constant"."""
    if v.name:
        return v.name
    return f"({v.op})" if v.op else "a constant"


class Tape:
    """A recorded loss graph, replayed over batches: `forward`, `backward`, or both with `run`.

    Make one with `record` (any graph) or `record_network` (an `MLP` and its loss).
    """

    def __init__(self, loss: Value, inputs: Sequence[Value], parameters: Sequence[Value]) -> None:
        inputs = _check_leaves(inputs, "inputs")
        parameters = _check_leaves(parameters, "parameters")
        if set(inputs) & set(parameters):
            raise TapeError("a Value cannot be both an input and a parameter")
        nodes, self._signature = _signature(loss, inputs, parameters)
        in_graph = set(nodes)
        for i, v in enumerate(inputs):
            if v not in in_graph:
                raise TapeError(
                    f"inputs[{i}] ({_label(v)}) is not in the loss's graph: its values would be "
                    "ignored; leave it out of inputs"
                )
        self.inputs = inputs
        self.parameters = parameters
        self.loss = loss
        self._layout(nodes, set(inputs), [p for p in parameters if p in in_graph])
        self._D: np.ndarray | None = None
        self._U: np.ndarray | None = None
        self._G: np.ndarray | None = None

    # -- layout: inputs, parameters, constants, then each instruction's nodes contiguously --

    def _layout(self, nodes: list[Value], inputs: set[Value], params: list[Value]) -> None:
        param_set = set(params)
        constants = [v for v in nodes if not v.op and v not in inputs and v not in param_set]
        depth: dict[Value, int] = {}
        groups: dict[tuple, list[Value]] = {}
        uniform_leaves = param_set.union(constants)
        for v in nodes:
            if not v.op:
                depth[v] = 0
                continue
            depth[v] = d = 1 + max(depth[p] for p in v.parents)
            groups.setdefault((d, *self._group_key(v, uniform_leaves)), []).append(v)
        order = [*self.inputs, *params, *constants]
        self._n_inputs = len(self.inputs)
        self._uniform = (len(self.inputs), len(order))  # rows of parameters and constants
        self._n_params = len(params)
        self._params_in_graph = params
        self._constants = np.array([c.data for c in constants], dtype=float)
        keys = sorted(groups, key=lambda key: key[0])  # by depth; dicts keep first-seen order
        for key in keys:
            order.extend(groups[key])
        self._row = {v: i for i, v in enumerate(order)}
        self._nodes = order
        self._instructions = []
        start = len(order) - sum(len(groups[key]) for key in keys)
        for key in keys:
            group = groups[key]
            out = slice(start, start + len(group))
            start += len(group)
            self._instructions.append(self._instruction(key[1], out, group))
        self._root = self._row[self.loss]

    @staticmethod
    def _group_key(v: Value, uniform_leaves: set[Value]) -> tuple:
        op = v.op
        if op == "affine":
            _, w, h = affine_parts(v.parents)
            if all(w_j in uniform_leaves for w_j in w):
                return ("dense", h)  # shares its inputs with its group
            return ("affine", len(w))
        if op == "sum":
            return ("sum", len(v.parents))
        if op in _UNARY or op in _BINARY:
            return (op,)
        if _power_exponent(op) is not None:
            return (op,)
        raise TapeError(
            f"cannot record the op {op!r} of node {_label(v)}: the tape knows "
            f"{', '.join([*_UNARY, *_BINARY, '**n', 'sum', 'affine'])}"
        )

    def _instruction(self, kind: str, out: slice, group: list[Value]):
        row = self._row
        parents = [[row[p] for p in v.parents] for v in group]
        if kind in ("dense", "affine"):
            b, w, h = zip(*map(affine_parts, parents))
            if kind == "dense":
                first = self._uniform[0]
                return _Dense(out, list(b), [[r - first for r in w_i] for w_i in w], h[0])
            return _Affine(out, list(b), list(w), list(h))
        if kind == "sum":
            return _Sum(out, parents)
        if kind in _BINARY:
            return _Binary(kind, out, [p[0] for p in parents], [p[1] for p in parents])
        return _Unary(kind, out, [p[0] for p in parents])

    # -- replay --

    @property
    def n_inputs(self) -> int:
        """How many numbers one sample has: the width of a batch."""
        return self._n_inputs

    @property
    def n_nodes(self) -> int:
        """How many nodes the recorded graph has."""
        return len(self._nodes)

    def _check_batch(self, batch: object) -> np.ndarray:
        try:
            X = np.asarray(batch, dtype=float)
        except (TypeError, ValueError):
            raise TapeError(
                f"a batch must be a (batch size, {self.n_inputs}) array of numbers, one row per "
                "sample"
            ) from None
        if X.ndim != 2 or X.shape[1] != self.n_inputs or X.shape[0] < 1:
            raise TapeError(
                f"the tape was recorded with {self.n_inputs} inputs per sample "
                f"({', '.join(_label(v) for v in self.inputs) or 'none'}), so a batch must have "
                f"shape (batch size ≥ 1, {self.n_inputs}); got shape {X.shape}"
                + ("; for one sample pass [sample]" if X.ndim == 1 else "")
            )
        if not np.isfinite(X).all():
            sample, column = np.argwhere(~np.isfinite(X))[0]
            raise ValueError(
                f"batch[{sample}, {column}] ({_label(self.inputs[column])}) is "
                f"{float(X[sample, column])!r}; NaN and ±inf cannot enter a graph"
            )
        return X

    def forward(self, batch: object) -> np.ndarray:
        """Every node's data for each sample (rows of ``batch``, ordered as ``inputs``); the loss
        of each sample, shape (batch size,). Parameters are read from their ``.data`` now."""
        X = self._check_batch(batch)
        first, end = self._uniform
        U = np.concatenate([np.fromiter(map(_data, self._params_in_graph), float), self._constants])
        D = np.empty((len(self._nodes), X.shape[0]))
        D[: self._n_inputs] = X.T
        D[first:end] = U[:, None]
        self._D = self._G = None
        with np.errstate(all="ignore"):
            for instruction in self._instructions:
                instruction.forward(D, U)
        if not np.isfinite(D).all():
            self._refuse(D, np.isfinite(D))
        self._D, self._U = D, U
        return D[self._root].copy()

    def backward(self) -> None:
        """Add Σ over the batch of ∂L/∂θ into ``θ.grad`` for every parameter θ (after `forward`).

        Only parameters' ``.grad`` change: the per-sample grads of the other nodes are read with
        `grad_of`. Nothing changes if a local derivative is not finite (then an error says where).
        """
        D, U = self._D, self._U
        if D is None or U is None:
            raise TapeError(
                "backward needs a forward pass first: call forward(batch) or run(batch)"
            )
        G = np.zeros_like(D)
        G[self._root] = 1.0
        T = np.zeros_like(U)
        with np.errstate(all="ignore"):
            for instruction in reversed(self._instructions):
                instruction.backward(D, G, U, T)
        first, end = self._uniform
        T += G[first:end].sum(axis=1)
        finite = np.isfinite(G)
        if not finite.all() or not np.isfinite(T).all():
            self._refuse(D, finite)
        for p, total in zip(self._params_in_graph, T[: self._n_params].tolist()):
            p.grad += total
        self._G = G

    def run(self, batch: object) -> np.ndarray:
        """`forward` then `backward`: the loss of each sample, grads summed into ``.grad``."""
        losses = self.forward(batch)
        self.backward()
        return losses

    def _refuse(self, D: np.ndarray, finite: np.ndarray) -> None:
        """Raise the engine's own error for the first sample and node where the replay failed."""
        sample = int(np.argwhere(~finite.all(axis=0))[0][0]) if not finite.all() else 0
        row = self._row
        for v in self._nodes[self._uniform[1] :]:
            data = [float(D[row[p], sample]) for p in v.parents]
            if not np.isfinite(data).all():
                break  # numpy overflowed where the engine's rules did not object
            try:
                _engine_apply(v.op, [Value(x) for x in data])
            except (ArithmeticError, ValueError) as error:
                raise type(error)(f"replaying sample {sample}, node {_label(v)}: {error}") from None
        raise OverflowError(
            f"replaying sample {sample}: a value or gradient overflowed a float; scale the "
            "inputs or parameters down"
        )

    # -- reading the replay --

    def _row_of(self, v: Value) -> int:
        try:
            return self._row[v]
        except (KeyError, TypeError):
            raise TapeError(f"{v!r} is not a node of the recorded graph") from None

    def data_of(self, v: Value) -> np.ndarray:
        """The replayed data of node ``v`` of the recorded graph, one entry per sample."""
        if self._D is None:
            raise TapeError("no replay yet: call forward(batch) or run(batch) first")
        return self._D[self._row_of(v)].copy()

    def grad_of(self, v: Value) -> np.ndarray:
        """∂L/∂v for each sample, for an input or interior node ``v`` (after `backward`)."""
        row = self._row_of(v)
        if self._uniform[0] <= row < self._uniform[1]:
            raise TapeError(
                f"{_label(v)} is a parameter or constant: its grads are summed over the batch "
                "(into .grad for a parameter), not kept per sample"
            )
        if self._G is None:
            raise TapeError("no backward pass yet: call backward() or run(batch) first")
        return self._G[row].copy()

    def check_same_graph(
        self, loss: Value, inputs: Sequence[Value], parameters: Sequence[Value]
    ) -> None:
        """Refuse (TapeError) if ``loss``, built by the same code on another sample, has a graph
        of another shape than the recorded one: the tape would replay the wrong computation.

        Ops, exponents, parent links and which leaves are inputs or parameters must agree;
        constants' values may differ (they are frozen, see the module's notes).
        """
        nodes, signature = _signature(loss, inputs, parameters)
        for i, (recorded, now) in enumerate(zip(self._signature, signature)):
            if recorded != now:
                raise TapeError(
                    f"the graph differs from the recorded one at node {i} ({_label(nodes[i])}): "
                    f"recorded {recorded}, now {now}. Its shape depends on the data (Python "
                    "control flow on .data, or a label choosing which ŷ enters the loss), which "
                    "a tape cannot replay; record the loss in a data-independent form"
                )
        if len(signature) != len(self._signature):
            raise TapeError(
                f"the graph has {len(signature)} nodes, the recorded one {len(self._signature)}: "
                "its shape depends on the data, which a tape cannot replay"
            )


def record(loss: Value, inputs: Sequence[Value], parameters: Sequence[Value]) -> Tape:
    """Record the graph of ``loss`` (built once on an example) for fast batched replay.

    ``inputs``: the leaves whose numbers change per sample, in the order of a batch's columns;
    ``parameters``: the leaves to read at each replay and give grads to (``net.parameters()``).
    Every other leaf is a constant, frozen at its recorded value.
    """
    return Tape(loss, inputs, parameters)


# ---- networks: a loss whose graph does not depend on the label ----


def network_loss(
    net: MLP, loss: str, x: Sequence[float], target: Sequence[float]
) -> tuple[Value, list[Value]]:
    """The loss of ``net`` on one sample with the target as input leaves ``y[i]``, and the
    inputs ``x[j]`` then ``y[i]``: the same graph for every sample.

    ``squared_error``: L = Σ_i (ŷ_i − y_i)². ``cross_entropy``: L = −Σ_i y_i log ŷ_i with y the
    one-hot label e(ℓ), whose data and grads are exactly those of ``nn.cross_entropy`` (the other
    terms are 0·log ŷ_i), but every ŷ_i is in the graph, so every ŷ_i must be > 0.
    """
    check_loss(loss)
    n_out = net.sizes[-1]
    x_values = [Value(x_j, f"x[{j}]") for j, x_j in enumerate(x, start=1)]
    y_values = [Value(t, f"y[{i}]") for i, t in enumerate(check_target(target, n_out), start=1)]
    y_hat = net(x_values)
    if loss == "squared_error":
        L = sum_values([(p - t) ** 2 for p, t in zip(y_hat, y_values)])
    else:
        L = -sum_values([t * p.log() for p, t in zip(y_hat, y_values)])
    L.name = "L"
    return L, x_values + y_values


def _target_row(loss: str, target: object, n_out: int) -> list[float]:
    if loss == "cross_entropy":
        row = [0.0] * n_out
        row[check_label(target, n_out)] = 1.0
        return row
    return check_target(target, n_out)  # type: ignore[arg-type]


def record_network(net: MLP, loss: str, example: Sequence[float] | None = None) -> Tape:
    """Record ``net`` with ``loss`` (``cross_entropy`` or ``squared_error``) for batches made by
    `network_batch`; the graph is built on ``example`` (default zeros), which fixes only the
    frozen constants such as softmax's shift."""
    check_loss(loss)
    x = [0.0] * net.sizes[0] if example is None else example
    n_out = net.sizes[-1]
    target = _target_row(loss, 0, n_out) if loss == "cross_entropy" else [0.0] * n_out
    L, inputs = network_loss(net, loss, x, target)
    return record(L, inputs, net.parameters())


def network_batch(
    X: Sequence[Sequence[float]], targets: Sequence[object], *, loss: str, net: MLP
) -> np.ndarray:
    """The batch for a `record_network` tape: row s is x_s then y_s (the target vector for
    squared error, the one-hot label for cross-entropy, whose targets are 0-based labels)."""
    check_loss(loss)
    if len(X) != len(targets):
        raise ValueError(f"need one target per sample, got {len(X)} samples and {len(targets)}")
    n_in, n_out = net.sizes[0], net.sizes[-1]
    rows = []
    for s, (x, target) in enumerate(zip(X, targets)):
        if len(x) != n_in:
            raise ValueError(f"sample {s} has {len(x)} inputs; the network takes {n_in}")
        rows.append(list(chain(x, _target_row(loss, target, n_out))))
    return np.array(rows, dtype=float).reshape(len(rows), n_in + n_out)
