"""Replaying: a compiled graph run forward and backward over a batch, and its results read.

`Tape.forward` and `Tape.backward` work on the parameters' `Value`s (reading ``.data``, adding
into ``.grad``), as the scalar engine's backward does; `Tape.loss_and_gradient` works on a vector
of parameter values instead and touches no `Value`, for a training loop that keeps its
parameters in numpy between steps.
"""

from __future__ import annotations

import numbers
import operator
import threading
from collections.abc import Sequence

import numpy as np

from microbp.engine import Value
from microbp.tape.errors import TapeError
from microbp.tape.operands import Registers
from microbp.tape.plans import Plan, plan
from microbp.tape.recording import Array, compile_graph, label, signature
from microbp.validate import brief

_data = operator.attrgetter("data")


def _as_numbers(values: object, what: str = "a batch", layout: str = "one row per sample") -> Array:
    """``values`` as an array of numbers; TypeError for anything but ints and floats in it (a
    string, a bool, a Decimal, None), which the engine refuses too."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiu":
        return values
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{what} must be an array of numbers, {layout}; got {brief(values)}")
    cells = np.asarray(values, dtype=object)  # rows of different lengths: cells that are rows
    for cell in cells.flat:
        if isinstance(cell, (list, tuple, np.ndarray)):
            raise TapeError(f"{what} must be a rectangular array: every row as long")
        if isinstance(cell, (bool, np.bool_)) or not isinstance(cell, numbers.Real):
            raise TypeError(
                f"{what} must be an array of numbers (int or float), {layout}; got "
                f"{type(cell).__name__} {brief(cell)}"
            )
    try:
        return cells.astype(float)
    except OverflowError:
        raise OverflowError(f"{what} holds an int too large for a float") from None


#: How many batch sizes a tape keeps registers for (training meets two: the batch, the rest).
_PLANS_KEPT = 4


def _data_at(r: Registers, place: tuple[bool, int]) -> Array:
    """The data of the node at ``place``, one entry per sample (a copy)."""
    uniform, position = place
    if uniform:
        return np.full(r.values.shape[1], r.uniform[position])
    data: Array = r.values[position].copy()
    return data


class Tape:
    """A recorded loss graph, replayed over batches: `forward`, `backward`, or both with `run`.

    Make one with `record` (any graph) or `record_network` (an `MLP` and its loss).
    """

    def __init__(self, loss: Value, inputs: Sequence[Value], parameters: Sequence[Value]) -> None:
        self._program = compile_graph(loss, inputs, parameters)
        self.inputs = self._program.inputs
        self.parameters = list(parameters)
        self.loss = loss
        self._plans: dict[tuple[int, bool], Plan] = {}
        self._plan_used: Plan | None = None
        self._registers: Registers | None = None
        self._backward_done = False
        # One replay at a time: the registers are shared. Which thread replayed last, so that
        # another thread's backward or reading never takes that replay for its own.
        self._lock = threading.RLock()
        self._replayed_by: int | None = None

    @property
    def n_inputs(self) -> int:
        """How many numbers one sample has: the width of a batch."""
        return len(self.inputs)

    @property
    def n_nodes(self) -> int:
        """How many nodes the recorded graph has."""
        return len(self._program.signature)

    @property
    def graph_parameters(self) -> list[Value]:
        """The parameters the loss depends on, in the order of `parameter_vector`."""
        return list(self._program.parameters)

    def parameter_vector(self) -> Array:
        """The data of `graph_parameters`, as a vector for `loss_and_gradient`."""
        return np.fromiter(map(_data, self._program.parameters), float)

    def set_parameters(self, theta: Array) -> None:
        """Write ``theta`` (as from `parameter_vector`) into the parameters' ``.data``: all of
        it, or, if it is not one finite number per parameter, none of it (an error says why)."""
        for p, data in zip(self._program.parameters, self._parameter_values(theta).tolist()):
            p.data = data

    def _parameter_values(self, theta: object) -> Array:
        """``theta`` as a float vector of one finite number per graph parameter, or an error:
        TypeError for what is not a number, ValueError for a wrong length, NaN or ±inf."""
        parameters = self._program.parameters
        values = _as_numbers(theta, "theta", "one number per parameter").astype(float)
        if values.shape != (len(parameters),):
            raise ValueError(
                f"theta must hold one number per parameter in the graph ({len(parameters)}), "
                f"got shape {values.shape}"
            )
        if not np.isfinite(values).all():
            i = int(np.argwhere(~np.isfinite(values))[0][0])
            raise ValueError(
                f"theta[{i}] ({label(parameters[i])}) is {float(values[i])!r}; a parameter "
                "must be a finite number"
            )
        return values

    def _check_batch(self, batch: object) -> Array:
        X = _as_numbers(batch)
        if X.ndim != 2 or X.shape[1] != self.n_inputs or X.shape[0] < 1:
            raise TapeError(
                f"the tape was recorded with {self.n_inputs} inputs per sample "
                f"({', '.join(label(v) for v in self.inputs) or 'none'}), so a batch must have "
                f"shape (batch size ≥ 1, {self.n_inputs}); got shape {X.shape}"
                + ("; for one sample pass [sample]" if X.ndim == 1 else "")
            )
        return X

    def _refuse_inputs(self, X: Array) -> None:
        """Raise ValueError naming the first entry of the batch ``X`` that is NaN or ±inf."""
        if not np.isfinite(X).all():
            sample, column = np.argwhere(~np.isfinite(X))[0]
            raise ValueError(
                f"batch[{sample}, {column}] ({label(self.inputs[column])}) is "
                f"{float(X[sample, column])!r}; NaN and ±inf cannot enter a graph"
            )

    # -- replay --

    def _plan(self, batch_size: int, input_grads: bool) -> Plan:
        """The registers and bound instructions for batches of ``batch_size`` (kept for reuse),
        computing the inputs' per-sample grads or not."""
        found = self._plans.get((batch_size, input_grads))
        if found is None:
            found = plan(self._program, batch_size, 0 if input_grads else len(self.inputs))
            if len(self._plans) >= _PLANS_KEPT:
                del self._plans[next(iter(self._plans))]
            self._plans[batch_size, input_grads] = found
        return found

    def _forward(self, batch: object, theta: Array, input_grads: bool) -> Array:
        X = self._check_batch(batch)
        used = self._plan(X.shape[0], input_grads)
        r = used.registers
        self._registers, self._backward_done, self._plan_used = None, False, used
        self._replayed_by = threading.get_ident()
        r.values[: len(self.inputs)] = X.T
        r.uniform[: len(theta)] = theta
        if not used.forward():
            self._refuse_inputs(X)  # the batch's entries are rows of values too
            if not used.exact_forward():
                self._refuse(r.values, r.uniform, np.isfinite(r.values))
        self._registers = r
        return _data_at(r, self._program.root)

    def _backward(self) -> Array:
        """Σ over the batch of ∂L/∂θ for `graph_parameters`, after `_forward`."""
        r, used = self._own_registers(), self._plan_used
        if r is None or used is None:
            raise TapeError(
                "backward needs a forward pass first: call forward(batch) or run(batch)"
            )
        self._backward_done = False
        if not used.backward() and not used.backward_scaled_down():
            self._refuse(r.values, r.uniform, np.isfinite(r.grads))
        self._backward_done = True
        gradient: Array = r.uniform_grads[: len(self._program.parameters)].copy()
        return gradient

    def _own_registers(self) -> Registers | None:
        """The last replay's registers, refused if another thread made that replay."""
        if self._registers is not None and self._replayed_by != threading.get_ident():
            raise TapeError(
                "the tape's last replay was another thread's: threads sharing a tape each call "
                "run(batch) or loss_and_gradient(batch, theta), which replay and read under "
                "one lock, or record a tape per thread"
            )
        return self._registers

    def forward(self, batch: object) -> Array:
        """Every node's data for each sample (rows of ``batch``, ordered as ``inputs``); the loss
        of each sample, shape (batch size,). Parameters are read from their ``.data`` now."""
        with self._lock:
            return self._forward(batch, self.parameter_vector(), input_grads=True)

    def backward(self) -> None:
        """Add Σ over the batch of ∂L/∂θ into ``θ.grad`` for every parameter θ (after `forward`).

        Only parameters' ``.grad`` change: the per-sample grads of the other nodes are read with
        `grad_of`. Nothing changes if a local derivative is not finite (then an error says where).
        """
        with self._lock:
            for p, total in zip(self._program.parameters, self._backward().tolist()):
                p.grad += total

    def run(self, batch: object) -> Array:
        """`forward` then `backward`: the loss of each sample, grads summed into ``.grad``.
        Threads sharing the tape may call it at once: each replay runs whole, in turn."""
        with self._lock:
            losses = self.forward(batch)
            self.backward()
            return losses

    def loss_and_gradient(self, batch: object, theta: Array) -> tuple[Array, Array]:
        """The loss of each sample and Σ over the batch of ∂L/∂θ, with the parameters at
        ``theta`` (ordered as `graph_parameters`), changing no `Value`. Threads sharing the
        tape may call it at once: each replay runs whole, in turn."""
        theta = self._parameter_values(theta)
        with self._lock:
            losses = self._forward(batch, theta, input_grads=False)
            return losses, self._backward()

    def _refuse(self, values: Array, uniform: Array, finite: Array) -> None:
        """Raise the engine's own error for the first sample and node where the replay failed."""
        sample = int(np.argwhere(~finite.all(axis=0))[0][0]) if not finite.all() else 0
        place = self._program.place

        def data(v: Value) -> float:
            is_uniform, position = place[v]
            return float(uniform[position] if is_uniform else values[position, sample])

        for v in self._program.nodes[len(self.inputs) :]:
            operands = [data(p) for p in v.parents]
            if not np.isfinite(operands).all():
                break  # numpy overflowed where the engine's rules did not object
            assert v.operation is not None  # every node past the inputs is made by an op
            try:
                v.operation.apply(*operands)
            except (ArithmeticError, ValueError) as error:
                raise type(error)(f"replaying sample {sample}, node {label(v)}: {error}") from None
        raise OverflowError(
            f"replaying sample {sample}: a value or gradient overflowed a float; scale the "
            "inputs or parameters down"
        )

    # -- reading the replay --

    def _place_of(self, v: Value) -> tuple[bool, int]:
        try:
            return self._program.place[v]
        except (KeyError, TypeError):
            raise TapeError(f"{v!r} is not a node of the recorded graph") from None

    def data_of(self, v: Value) -> Array:
        """The replayed data of node ``v`` of the recorded graph, one entry per sample."""
        r = self._own_registers()
        if r is None:
            raise TapeError("no replay yet: call forward(batch) or run(batch) first")
        return _data_at(r, self._place_of(v))

    def grad_of(self, v: Value) -> Array:
        """∂L/∂v for each sample, for an input or interior node ``v`` (after `backward`)."""
        uniform, position = self._place_of(v)
        if uniform:
            raise TapeError(
                f"{label(v)} is a parameter or constant: its grads are summed over the batch "
                "(into .grad for a parameter), not kept per sample"
            )
        r = self._own_registers()
        if r is None or not self._backward_done:
            raise TapeError("no backward pass yet: call backward() or run(batch) first")
        if position < r.first_graded_row:
            raise TapeError(
                f"{label(v)} is an input: loss_and_gradient does not compute the inputs' "
                "per-sample grads; call run(batch) for them"
            )
        grads: Array = r.grads[position].copy()
        return grads

    def check_same_graph(
        self, loss: Value, inputs: Sequence[Value], parameters: Sequence[Value]
    ) -> None:
        """Refuse (TapeError) if ``loss``, built by the same code on another sample, has a graph
        of another shape than the recorded one: the tape would replay the wrong computation.

        Ops, exponents, parent links and which leaves are inputs or parameters must agree;
        constants' values may differ (they are frozen, see the package's notes).
        """
        recorded = self._program.signature
        nodes, now = signature(loss, inputs, parameters)
        for i, (mine, theirs) in enumerate(zip(recorded, now)):
            if mine != theirs:
                raise TapeError(
                    f"the graph differs from the recorded one at node {i} ({label(nodes[i])}): "
                    f"recorded {mine}, now {theirs}. Its shape depends on the data (Python "
                    "control flow on .data, or a label choosing which ŷ enters the loss), which "
                    "a tape cannot replay; record the loss in a data-independent form"
                )
        if len(now) != len(recorded):
            raise TapeError(
                f"the graph has {len(now)} nodes, the recorded one {len(recorded)}: "
                "its shape depends on the data, which a tape cannot replay"
            )


def record(loss: Value, inputs: Sequence[Value], parameters: Sequence[Value]) -> Tape:
    """Record the graph of ``loss`` (built once on an example) for fast batched replay.

    ``inputs``: the leaves whose numbers change per sample, in the order of a batch's columns;
    ``parameters``: the leaves to read at each replay and give grads to (``net.parameters()``).
    Every other leaf is a constant, frozen at its recorded value.
    """
    return Tape(loss, inputs, parameters)
