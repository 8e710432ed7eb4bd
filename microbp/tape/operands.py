"""Where an instruction's numbers live (`Registers`), and its operands: the nodes it reads.

Every node's numbers live in `Registers`: a node that varies per sample (an input, any op's
result) has a row of ``values`` (one column per sample) and of ``grads``; a parameter or
constant has one entry of ``uniform``, the same for every sample, and one of ``uniform_grads``,
where its grad contributions arrive summed over the batch. An operand (`operand`) is bound to
the registers of one batch size: a view made once where its positions allow one, and an adder
of grad contributions that counts every contribution to a position that repeats.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from microbp.tape.rules import Array


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


def consecutive(positions: Array) -> bool:
    """Whether ``positions``, read in order, are consecutive rows or entries."""
    flat = positions.ravel()
    return bool(flat.size) and bool((flat == np.arange(flat[0], flat[0] + flat.size)).all())


def view_of(array: Array, positions: Array) -> Array | None:
    """``array[positions]`` as a view, if the positions allow one (consecutive, or one row
    repeated, which broadcasts); None if only a copy can gather them."""
    if consecutive(positions):
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


def adder(into: Array, positions: Array, shape: tuple[int, ...]) -> Callable[[Array], None]:
    """Adds a contribution of ``shape`` (positions' shape, then the batch or nothing) into the
    rows or entries ``positions`` of ``into``, each contribution to a repeated one counted."""
    view = view_of(into, positions)
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
        view = view_of(r.values, rows)
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
            return Bound(read, ignore, graded=False)
        return Bound(read, adder(r.grads, rows, (*rows.shape, r.grads.shape[1])))


class _UniformRows:
    """Entries of ``uniform``: parameters and constants, the same for every sample."""

    def __init__(self, entries: Array) -> None:
        self.entries = entries

    def bind(self, r: Registers) -> Bound:
        entries = self.entries
        view = view_of(r.uniform, entries)
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
        add_total = adder(r.uniform_grads, entries, entries.shape)

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
        add_rows = adder(r.grads, rows, (rows.size, full[-1]))
        add_entries = adder(r.uniform_grads, entries, entries.shape)

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


def ignore(contribution: Array) -> None:
    """The adder of grads no one reads."""
