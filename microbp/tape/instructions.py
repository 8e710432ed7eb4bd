"""The replay's instructions: one group of nodes of one op, run forward and backward over a batch.

Every node's numbers live in `Registers`: a node that varies per sample (an input, any op's
result) has a row of ``values`` (one column per sample) and of ``grads``; a parameter or
constant has one entry of ``uniform``, the same for every sample, and one of ``uniform_grads``,
where its grad contributions arrive summed over the batch. An instruction's operands say which
rows or entries it reads (`operand`), and its output is a contiguous block of rows.

An instruction is bound to the registers of one batch size (`Instruction.bind`): its operands
become numpy views made once, and its forward and backward steps closures over them, so that a
replay is a loop of calls with no slicing, lookups or temporaries it can avoid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from microbp.tape.rules import BINARY, UNARY, Array, UnaryRule, power_rule

Thunk = Callable[[], None]


@dataclass
class Registers:
    """The numbers of one replay: per-sample rows, and the parameters' and constants' entries."""

    values: Array  # (rows, batch): every input's and op result's data, per sample
    uniform: Array  # (entries,): every parameter's, then every constant's data
    grads: Array  # (rows, batch): ∂L/∂node per sample, filled by the backward pass
    uniform_grads: Array  # (entries,): Σ over the batch of ∂L/∂θ
    first_graded_row: int = 0  # rows before it (inputs) get no grads, when no one reads them


@dataclass(frozen=True)
class Bound:
    """An operand bound to registers: ``read()`` its data, shaped as its positions then the
    batch (or 1, when uniform); ``add(c)`` adds ∂L/∂node per sample, shaped as ``read()``."""

    read: Callable[[], Array]
    add: Callable[[Array], None]
    graded: bool = True  # False: no one reads these grads, so contributions need not be formed


class Operand(Protocol):
    """The nodes one operand of an instruction reads, and adds its grad contributions to."""

    def bind(self, r: Registers) -> Bound:
        """This operand's reader and adder over ``r``."""
        ...


@dataclass(frozen=True)
class Steps:
    """An instruction bound to registers: its forward step, then its backward step."""

    forward: Thunk
    backward: Thunk


class Instruction(Protocol):
    """One group of nodes computed together; ``out`` is their block of per-sample rows."""

    out: slice

    def bind(self, r: Registers) -> Steps:
        """Forward writes the group's data into ``r.values[out]`` from its operands' data;
        backward adds ∂L/∂operand into the operands' grads from ``r.grads[out]`` (complete by
        then: instructions run backward in the reverse of their forward order)."""
        ...


def _consecutive(positions: Array) -> bool:
    flat = positions.ravel()
    return bool(flat.size) and bool((flat == np.arange(flat[0], flat[0] + flat.size)).all())


def _view(array: Array, positions: Array) -> Array | None:
    """``array[positions]`` as a view, if the positions allow one (consecutive, or one row
    repeated, which broadcasts); None if only a copy can gather them."""
    if _consecutive(positions):
        start = int(positions.ravel()[0])
        block = array[start : start + positions.size]
        return block.reshape(*positions.shape, *array.shape[1:])
    if positions.ndim == 1 and (positions == positions[0]).all():
        row = int(positions[0])
        return np.broadcast_to(array[row : row + 1], (positions.size, *array.shape[1:]))
    return None


#: The most entries a scatter matrix may have; a larger scatter adds with ``np.add.at``.
_SCATTER_MATRIX_LIMIT = 1 << 20


class _Scatter:
    """Adds contributions into positions that repeat (x*x, a shared total): the contributions
    to each distinct position summed by one product with a 0/1 matrix, far cheaper than
    ``np.add.at`` for the small groups of a network; ``np.add.at`` for big ones."""

    def __init__(self, positions: Array) -> None:
        self.positions = positions.ravel()
        self.targets, inverse = np.unique(self.positions, return_inverse=True)
        self.matrix: Array | None = None
        if self.targets.size * self.positions.size <= _SCATTER_MATRIX_LIMIT:
            self.matrix = np.zeros((self.targets.size, self.positions.size))
            self.matrix[inverse.ravel(), np.arange(self.positions.size)] = 1.0

    def add(self, into: Array, contribution: Array) -> None:
        """``into[positions[i]] += contribution[i]`` for every i (rows of a flat contribution)."""
        if self.matrix is None:
            np.add.at(into, self.positions, contribution)
        else:
            into[self.targets] += self.matrix @ contribution


def _adder(into: Array, positions: Array, shape: tuple[int, ...]) -> Callable[[Array], None]:
    """Adds a contribution of ``shape`` (positions' shape, then the batch or nothing) into the
    rows or entries ``positions`` of ``into``, each contribution to a repeated one counted."""
    view = _view(into, positions)
    unique = len(np.unique(positions)) == positions.size
    if view is not None and unique:

        def add_into_view(contribution: Array) -> None:
            np.add(view, contribution, out=view)

        return add_into_view
    if positions.ndim == 1 and (positions == positions[0]).all():  # one row, shared
        row = int(positions[0])
        shared = into[row : row + 1]

        def add_to_shared(contribution: Array) -> None:
            if contribution.shape != shape:
                contribution = np.broadcast_to(contribution, shape)
            np.add(shared, np.add.reduce(contribution, axis=0, keepdims=True), out=shared)

        return add_to_shared
    scatter = _Scatter(positions)
    flat = (positions.size, *shape[positions.ndim :])

    def scatter_add(contribution: Array) -> None:
        scatter.add(into, np.broadcast_to(contribution, shape).reshape(flat))

    return scatter_add


class _SampleRows:
    """Rows of ``values``: inputs and op results."""

    def __init__(self, rows: Array) -> None:
        self.rows = rows

    def bind(self, r: Registers) -> Bound:
        rows = self.rows
        view = _view(r.values, rows)
        if view is not None:
            data = view  # bound once: a view sees each replay's numbers

            def read() -> Array:
                return data
        else:
            values = r.values

            def read() -> Array:
                gathered: Array = values[rows]
                return gathered

        if rows.max(initial=-1) < r.first_graded_row:
            return Bound(read, _ignore, graded=False)
        return Bound(read, _adder(r.grads, rows, (*rows.shape, r.grads.shape[1])))


class _UniformRows:
    """Entries of ``uniform``: parameters and constants, the same for every sample."""

    def __init__(self, entries: Array) -> None:
        self.entries = entries

    def bind(self, r: Registers) -> Bound:
        entries = self.entries
        view = _view(r.uniform, entries)
        if view is not None and view.shape == entries.shape:
            data = view[..., None]

            def read() -> Array:
                return data
        else:
            uniform = r.uniform

            def read() -> Array:
                gathered: Array = uniform[entries][..., None]
                return gathered

        full = (*entries.shape, r.grads.shape[1])
        add_total = _adder(r.uniform_grads, entries, entries.shape)

        def add(contribution: Array) -> None:
            if contribution.shape != full:
                contribution = np.broadcast_to(contribution, full)
            add_total(np.add.reduce(contribution, axis=-1))

        return Bound(read, add)


class _MixedRows:
    """Some rows of ``values`` and some entries of ``uniform``, for an operand that has both."""

    def __init__(self, positions: Array, uniform: Array) -> None:
        self.mask, self.shape = uniform, positions.shape
        self.rows, self.entries = positions[~uniform], positions[uniform]

    def bind(self, r: Registers) -> Bound:
        mask, rows, entries = self.mask, self.rows, self.entries
        full = (*self.shape, r.values.shape[1])
        add_rows = _adder(r.grads, rows, (rows.size, full[-1]))
        add_entries = _adder(r.uniform_grads, entries, entries.shape)

        def read() -> Array:
            data = np.empty(full)
            data[~mask] = r.values[rows]
            data[mask] = r.uniform[entries][:, None]
            return data

        def add(contribution: Array) -> None:
            spread = np.broadcast_to(contribution, full)
            add_rows(spread[~mask])
            add_entries(spread[mask].sum(axis=-1))

        return Bound(read, add)


def operand(positions: Array, uniform: Array) -> Operand:
    """The operand reading ``positions`` (any shape), each of ``uniform`` where the mask is
    true (a parameter's or constant's entry) and of ``values`` where it is false."""
    if not uniform.any():
        return _SampleRows(positions)
    if uniform.all():
        return _UniformRows(positions)
    return _MixedRows(positions, uniform)


def _ignore(contribution: Array) -> None:
    """The adder of grads no one reads."""


def _times(local: Array | float, g: Array) -> Array:
    """local · g, without the pass when local is the number 1."""
    if isinstance(local, float) and local == 1.0:
        return g
    product: Array = local * g
    return product


class Unary:
    """y = f(x) elementwise: ``neg``, ``exp``, ``log``, the activations and ``**n``."""

    def __init__(self, op: str, out: slice, x: Operand, n: float | None = None) -> None:
        self.f, self.local = UNARY[op] if n is None else power_rule(n)
        self.out, self.x = out, x

    def bind(self, r: Registers) -> Steps:
        x, y, g = self.x.bind(r), r.values[self.out], r.grads[self.out]
        f, local = self.f, self.local

        if isinstance(f, np.ufunc):

            def forward() -> None:
                f(x.read(), out=y)
        else:

            def forward() -> None:
                y[...] = f(x.read())

        def backward() -> None:
            if x.graded:
                x.add(_times(local(x.read(), y), g))

        return Steps(forward, backward)


class Binary:
    """z = f(x, y) elementwise: ``+``, ``-``, ``*``, ``/`` and ``**`` of two nodes."""

    def __init__(self, op: str, out: slice, x: Operand, y: Operand) -> None:
        self.f, self.locals = BINARY[op]
        self.op, self.out, self.x, self.y = op, out, x, y

    def bind(self, r: Registers) -> Steps:
        x, y = self.x.bind(r), self.y.bind(r)
        z, g = r.values[self.out], r.grads[self.out]
        f, locals_ = self.f, self.locals

        if isinstance(f, np.ufunc):

            def forward() -> None:
                f(x.read(), y.read(), out=z)
        else:

            def forward() -> None:
                z[...] = f(x.read(), y.read())

        if self.op == "+":  # ∂z/∂x = ∂z/∂y = 1: no product to form

            def backward() -> None:
                x.add(g)
                y.add(g)
        elif self.op == "-":  # ∂z/∂x = 1, ∂z/∂y = −1

            def backward() -> None:
                x.add(g)
                if y.graded:
                    y.add(-g)
        else:

            def backward() -> None:
                local_x, local_y = locals_(x.read(), y.read(), z)
                if x.graded:
                    x.add(_times(local_x, g))
                if y.graded:
                    y.add(_times(local_y, g))

        return Steps(forward, backward)


def _reduction(ufunc: np.ufunc, terms: Bound, out: Array) -> Thunk:
    """Writes ``ufunc`` reduced over each node's terms into ``out`` (written in place, unless
    the terms are all uniform and their result needs spreading over the batch)."""
    if terms.read().shape[-1] == out.shape[-1]:

        def reduce_in_place() -> None:
            ufunc.reduce(terms.read(), axis=1, out=out)

        return reduce_in_place

    def reduce_and_spread() -> None:
        out[...] = ufunc.reduce(terms.read(), axis=1)

    return reduce_and_spread


class Sum:
    """s = Σ_t term_t, for nodes with the same number of terms (``terms`` is nodes × terms)."""

    def __init__(self, out: slice, terms: Operand) -> None:
        self.out, self.terms = out, terms

    def bind(self, r: Registers) -> Steps:
        terms, s, g = self.terms.bind(r), r.values[self.out], r.grads[self.out]
        g_each = g[:, None, :]

        forward = _reduction(np.add, terms, s)

        def backward() -> None:
            terms.add(g_each)  # ∂sum/∂term = 1 for every term

        return Steps(forward, backward)


class Max:
    """m = max_t term_t, which passes no gradient (``engine.max_value``): nothing to add back."""

    def __init__(self, out: slice, terms: Operand) -> None:
        self.out, self.terms = out, terms

    def bind(self, r: Registers) -> Steps:
        terms, m = self.terms.bind(r), r.values[self.out]

        forward = _reduction(np.maximum, terms, m)

        def backward() -> None:
            return None  # ∂m/∂term = 0 for every term

        return Steps(forward, backward)


class Affine:
    """a_i = b_i + Σ_j w_ij h_ij for nodes whose weights or inputs differ from node to node."""

    def __init__(self, out: slice, b: Operand, w: Operand, h: Operand) -> None:
        self.out, self.b, self.w, self.h = out, b, w, h

    def bind(self, r: Registers) -> Steps:
        b, w, h = self.b.bind(r), self.w.bind(r), self.h.bind(r)
        a, g = r.values[self.out], r.grads[self.out]
        g_each = g[:, None, :]

        def forward() -> None:
            a[...] = b.read() + (w.read() * h.read()).sum(axis=1)

        def backward() -> None:
            b.add(g)
            if w.graded:
                w.add(h.read() * g_each)
            if h.graded:
                h.add(w.read() * g_each)

        return Steps(forward, backward)


class Dense:
    """A layer's a = b + W h, for affine nodes sharing their inputs h (rows of ``values``), with
    weights W that are parameters or constants: one matrix product forward, ∇h = Wᵀ ∇a and
    ∇W = Σ_batch ∇a hᵀ backward. With an activation (`fuse`), h_out = g(a) in the same step.
    """

    def __init__(self, out: slice, b: Operand, W: Array, h: Operand) -> None:
        self.out, self.b, self.W, self.h = out, b, W, h
        self.activation: UnaryRule | None = None
        self.h_out = out

    def fuse(self, op: str, h_out: slice) -> None:
        """Also compute h_out = g(a) for the activation ``op`` (rows ``h_out``)."""
        self.activation, self.h_out = UNARY[op], h_out

    def _weights(self, r: Registers) -> tuple[Callable[[], Array], Callable[[Array], None]]:
        """W's reader and the adder of ∇W (a view of the uniform vector when W is laid out row
        by row, as a layer's parameters are)."""
        entries = self.W
        if _consecutive(entries):
            block = slice(int(entries[0, 0]), int(entries[0, 0]) + entries.size)
            W = r.uniform[block].reshape(entries.shape)
            grad_W = r.uniform_grads[block].reshape(entries.shape)

            def read() -> Array:
                return W

            def add(contribution: Array) -> None:
                np.add(grad_W, contribution, out=grad_W)

            return read, add
        uniform = r.uniform

        def gather() -> Array:
            gathered: Array = uniform[entries]
            return gathered

        return gather, _adder(r.uniform_grads, entries, entries.shape)

    def bind(self, r: Registers) -> Steps:
        b, h = self.b.bind(r), self.h.bind(r)
        read_W, add_grad_W = self._weights(r)
        a, grad_a = r.values[self.out], r.grads[self.out]
        y, grad_y = r.values[self.h_out], r.grads[self.h_out]

        def affine() -> None:
            np.matmul(read_W(), h.read(), out=a)
            np.add(a, b.read(), out=a)

        def affine_back() -> None:
            b.add(grad_a)
            if h.graded:
                h.add(read_W().T @ grad_a)
            add_grad_W(grad_a @ h.read().T)

        if self.activation is None:
            return Steps(affine, affine_back)
        g, local = self.activation

        if isinstance(g, np.ufunc):

            def forward() -> None:
                affine()
                g(a, out=y)
        else:

            def forward() -> None:
                affine()
                y[...] = g(a)

        def backward() -> None:
            np.add(grad_a, local(a, y) * grad_y, out=grad_a)
            affine_back()

        return Steps(forward, backward)
