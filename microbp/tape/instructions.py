"""The replay's instructions: one group of nodes of one op, run forward and backward over a batch.

Every node's numbers live in `Registers`: a node that varies per sample (an input, any op's
result) has a row of ``values`` (one column per sample) and of ``grads``; a parameter or
constant has one entry of ``uniform``, the same for every sample, and one of ``uniform_grads``,
where its grad contributions arrive summed over the batch. An instruction's operands say which
rows or entries it reads (`operand`), and its output is a contiguous block of rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from microbp.tape.rules import BINARY, UNARY, Array, BinaryRule, UnaryRule, power_rule


@dataclass
class Registers:
    """The numbers of one replay: per-sample rows, and the parameters' and constants' entries."""

    values: Array  # (rows, batch): every input's and op result's data, per sample
    uniform: Array  # (entries,): every parameter's, then every constant's data
    grads: Array  # (rows, batch): ∂L/∂node per sample; filled by the backward pass
    uniform_grads: Array  # (entries,): Σ over the batch of ∂L/∂θ


class Operand(Protocol):
    """The nodes one operand of an instruction reads, and adds its grad contributions to."""

    def read(self, r: Registers) -> Array:
        """Their data, shaped as the operand's rows then the batch (or 1, when uniform)."""
        ...

    def add(self, r: Registers, contribution: Array) -> None:
        """Add ∂L/∂node (per sample, shaped as `read`'s result) into their grads."""
        ...


class Instruction(Protocol):
    """One group of nodes computed together; ``out`` is their block of per-sample rows."""

    out: slice

    def forward(self, r: Registers) -> None:
        """Write the group's data into ``r.values[out]`` from its operands' data."""
        ...

    def backward(self, r: Registers) -> None:
        """Add ∂L/∂operand into the operands' grads from ``r.grads[out]`` (already complete)."""
        ...


def _as_slice(rows: Array) -> slice | Array:
    """A 1-d run of consecutive rows as a slice (a view, cheaper than gathering), else ``rows``."""
    if rows.ndim == 1 and rows.size and (rows == np.arange(rows[0], rows[0] + rows.size)).all():
        return slice(int(rows[0]), int(rows[0]) + rows.size)
    return rows


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


class _SampleRows:
    """Rows of ``values``: inputs and op results."""

    def __init__(self, rows: Array) -> None:
        self.index = _as_slice(rows)
        self.shape = rows.shape
        self.scatter = None if len(np.unique(rows)) == rows.size else _Scatter(rows)

    def read(self, r: Registers) -> Array:
        return r.values[self.index]

    def add(self, r: Registers, contribution: Array) -> None:
        if self.scatter is None:
            r.grads[self.index] += contribution
        else:
            batch = r.grads.shape[1]
            full = np.broadcast_to(contribution, (*self.shape, batch)).reshape(-1, batch)
            self.scatter.add(r.grads, full)


class _UniformRows:
    """Entries of ``uniform``: parameters and constants, the same for every sample."""

    def __init__(self, entries: Array) -> None:
        self.index = _as_slice(entries)
        self.shape = entries.shape
        self.scatter = None if len(np.unique(entries)) == entries.size else _Scatter(entries)

    def read(self, r: Registers) -> Array:
        return r.uniform[self.index][..., None]

    def add(self, r: Registers, contribution: Array) -> None:
        full_shape = (*self.shape, r.grads.shape[1])
        if contribution.shape != full_shape:
            contribution = np.broadcast_to(contribution, full_shape)
        total = contribution.sum(axis=-1)
        if self.scatter is None:
            r.uniform_grads[self.index] += total
        else:
            self.scatter.add(r.uniform_grads, total.ravel())


class _MixedRows:
    """Some rows of ``values`` and some entries of ``uniform``, for an operand that has both."""

    def __init__(self, rows: Array, uniform: Array) -> None:
        self.mask, self.shape = uniform, rows.shape
        self.rows, self.entries = rows[~uniform], rows[uniform]
        self.row_scatter, self.entry_scatter = _Scatter(self.rows), _Scatter(self.entries)

    def read(self, r: Registers) -> Array:
        data = np.empty((*self.shape, r.values.shape[1]))
        data[~self.mask] = r.values[self.rows]
        data[self.mask] = r.uniform[self.entries][:, None]
        return data

    def add(self, r: Registers, contribution: Array) -> None:
        full = np.broadcast_to(contribution, (*self.shape, r.grads.shape[1]))
        self.row_scatter.add(r.grads, full[~self.mask])
        self.entry_scatter.add(r.uniform_grads, full[self.mask].sum(axis=-1))


def operand(rows: Array, uniform: Array) -> Operand:
    """The operand reading positions ``rows`` (any shape), each of ``uniform`` where the mask is
    true (a parameter's or constant's entry) and of ``values`` where it is false."""
    if not uniform.any():
        return _SampleRows(rows)
    if uniform.all():
        return _UniformRows(rows)
    return _MixedRows(rows, uniform)


class Unary:
    """y = f(x) elementwise: ``neg``, ``exp``, ``log``, the activations and ``**n``."""

    def __init__(self, op: str, out: slice, x: Operand, n: float | None = None) -> None:
        self.f, self.local = UNARY[op] if n is None else power_rule(n)
        self.out, self.x = out, x

    def forward(self, r: Registers) -> None:
        r.values[self.out] = self.f(self.x.read(r))

    def backward(self, r: Registers) -> None:
        self.x.add(r, self.local(self.x.read(r), r.values[self.out]) * r.grads[self.out])


class Binary:
    """z = f(x, y) elementwise: ``+``, ``-``, ``*``, ``/`` and ``**`` of two nodes."""

    def __init__(self, op: str, out: slice, x: Operand, y: Operand) -> None:
        rule: BinaryRule = BINARY[op]
        self.f, self.locals = rule
        self.out, self.x, self.y = out, x, y

    def forward(self, r: Registers) -> None:
        r.values[self.out] = self.f(self.x.read(r), self.y.read(r))

    def backward(self, r: Registers) -> None:
        g = r.grads[self.out]
        local_x, local_y = self.locals(self.x.read(r), self.y.read(r), r.values[self.out])
        self.x.add(r, local_x * g)
        self.y.add(r, local_y * g)


class Sum:
    """s = Σ_t term_t, for nodes with the same number of terms (``terms`` is nodes × terms)."""

    def __init__(self, out: slice, terms: Operand) -> None:
        self.out, self.terms = out, terms

    def forward(self, r: Registers) -> None:
        r.values[self.out] = self.terms.read(r).sum(axis=1)

    def backward(self, r: Registers) -> None:
        self.terms.add(r, r.grads[self.out][:, None, :])  # ∂sum/∂term = 1 for every term


class Max:
    """m = max_t term_t, which passes no gradient (``engine.max_value``): nothing to add back."""

    def __init__(self, out: slice, terms: Operand) -> None:
        self.out, self.terms = out, terms

    def forward(self, r: Registers) -> None:
        r.values[self.out] = self.terms.read(r).max(axis=1)

    def backward(self, r: Registers) -> None:
        return None  # ∂m/∂term = 0 for every term


class Affine:
    """a_i = b_i + Σ_j w_ij h_ij for nodes whose weights or inputs differ from node to node."""

    def __init__(self, out: slice, b: Operand, w: Operand, h: Operand) -> None:
        self.out, self.b, self.w, self.h = out, b, w, h

    def forward(self, r: Registers) -> None:
        r.values[self.out] = self.b.read(r) + (self.w.read(r) * self.h.read(r)).sum(axis=1)

    def backward(self, r: Registers) -> None:
        g = r.grads[self.out]
        self.b.add(r, g)
        self.w.add(r, self.h.read(r) * g[:, None, :])
        self.h.add(r, self.w.read(r) * g[:, None, :])


class Dense:
    """A layer's a = b + W h, for affine nodes sharing their inputs h (rows of ``values``), with
    weights W that are parameters or constants: one matrix product forward, ∇h = Wᵀ ∇a and
    ∇W = Σ_batch ∇a hᵀ backward. With an ``activation`` (``fuse``), h_out = g(a) in the same step.
    """

    def __init__(self, out: slice, b: Operand, W: Array, h: Operand) -> None:
        self.out, self.b, self.h = out, b, h
        n_out, n_in = W.shape
        flat = _as_slice(W.ravel())
        if isinstance(flat, slice):  # W row by row, as a layer's parameters(): a view
            self.W: slice | Array = flat
        else:
            self.W = W
        self.shape = (n_out, n_in)
        self.W_unique = len(np.unique(W)) == W.size
        self.activation: UnaryRule | None = None
        self.h_out = out

    def fuse(self, op: str, h_out: slice) -> None:
        """Also compute h_out = g(a) for the activation ``op`` (rows ``h_out``)."""
        self.activation, self.h_out = UNARY[op], h_out

    def _weights(self, uniform: Array) -> Array:
        return uniform[self.W].reshape(self.shape)

    def forward(self, r: Registers) -> None:
        a = r.values[self.out]
        np.matmul(self._weights(r.uniform), self.h.read(r), out=a)
        a += self.b.read(r)
        if self.activation is not None:
            r.values[self.h_out] = self.activation[0](a)

    def backward(self, r: Registers) -> None:
        grad_a = r.grads[self.out]
        if self.activation is not None:
            local = self.activation[1](r.values[self.out], r.values[self.h_out])
            grad_a += local * r.grads[self.h_out]
        self.b.add(r, grad_a)
        W = self._weights(r.uniform)
        self.h.add(r, W.T @ grad_a)
        grad_W = grad_a @ self.h.read(r).T
        if isinstance(self.W, slice):
            r.uniform_grads[self.W] += grad_W.ravel()
        elif self.W_unique:
            r.uniform_grads[self.W] += grad_W
        else:
            np.add.at(r.uniform_grads, self.W, grad_W)
