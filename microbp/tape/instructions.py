"""The replay's instructions: one group of nodes of one op, run forward and backward over a batch.

An instruction reads its operands (`operands`) and writes its output, a contiguous block of
per-sample rows. It is bound to the registers of one batch size (`Instruction.bind`): its
forward and backward steps become closures over views made once, so that a replay is a loop of
calls with no slicing, lookups or temporaries it can avoid.

A sum's float total leaves the floats when a partial sum does (1e308 + 1e308 − 1e308), though
the total is a float; the engine gives that total (`microbp.scalar_rules.exact_sum`). The
instructions that sum (`Sum`, `Affine`, `Dense`) have a third step for a replay that met a
non-finite number: each non-finite total recomputed as the engine computes it, from its finite
terms.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from microbp.scalar_rules import affine_parts_rule, exact_sum
from microbp.tape.operands import Bound, Operand, Registers, adder, consecutive
from microbp.tape.rules import BINARY, UNARY, Array, UnaryRule, power_rule

Thunk = Callable[[], None]


@dataclass(frozen=True)
class Steps:
    """An instruction bound to registers: its forward step, then its backward step; for a sum,
    the step that follows forward in a replay that met a non-finite number (`exact_totals`)."""

    forward: Thunk
    backward: Thunk
    exact: Callable[[], bool] | None = None


def exact_totals(out: Array, total: Callable[[int, int], float]) -> bool:
    """Each non-finite entry ``out[i, k]`` (node i, sample k) set to ``total(i, k)``, the engine's
    sum of its terms, which is a float where only a partial sum overflowed (float sums overflow
    there, the engine's do not); whether every one is a float now. It stops at the first that is
    not (its terms are not finite, or its total is not a float): the replay is refused then."""
    for i, k in np.argwhere(~np.isfinite(out)).tolist():
        try:
            out[i, k] = total(i, k)
        except (ArithmeticError, ValueError):
            return False
        if not np.isfinite(out[i, k]):  # NaN terms: fsum's total is NaN
            return False
    return True


def sample(x: Array, k: int) -> Array:
    """Sample k of an operand's data ``x`` (positions, then the batch or 1 when uniform)."""
    column: Array = x[..., k if x.shape[-1] > 1 else 0]
    return column


class Instruction(Protocol):
    """One group of nodes computed together; ``out`` is their block of per-sample rows."""

    out: slice

    def bind(self, r: Registers) -> Steps:
        """Forward writes the group's data into ``r.values[out]`` from its operands' data;
        backward adds ∂L/∂operand into the operands' grads from ``r.grads[out]`` (complete by
        then: instructions run backward in the reverse of their forward order)."""
        ...


def _times(local: Array | float, g: Array) -> Array:
    """local · g, without the pass when local is the number 1."""
    if isinstance(local, float) and local == 1.0:
        return g
    product: Array = local * g
    return product


class Unary:
    """y = f(x) elementwise: ``neg``, ``exp``, ``log``, the activations and ``pow`` (x ** n)."""

    def __init__(self, op: str, out: slice, x: Operand, n: int | float | None = None) -> None:
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
    """z = f(x, y) elementwise: ``add``, ``sub``, ``mul``, ``div`` and ``pow_value``."""

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

        return Steps(forward, _binary_backward(self.op, locals_, x, y, z, g))


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


def _binary_backward(
    op: str,
    locals_: Callable[[Array, Array, Array], tuple[Array | float, Array | float]],
    x: Bound,
    y: Bound,
    z: Array,
    g: Array,
) -> Thunk:
    """A binary instruction's backward step: x and y get ∂z/∂· times ∇z."""
    if op == "add":  # ∂z/∂x = ∂z/∂y = 1: no product to form

        def add_both() -> None:
            x.add(g)
            y.add(g)

        return add_both
    if op == "sub":  # ∂z/∂x = 1, ∂z/∂y = −1

        def add_and_subtract() -> None:
            x.add(g)
            if y.graded:
                y.add(-g)

        return add_and_subtract

    def backward() -> None:
        local_x, local_y = locals_(x.read(), y.read(), z)
        if x.graded:
            x.add(_times(local_x, g))
        if y.graded:
            y.add(_times(local_y, g))

    return backward


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

        def total(i: int, k: int) -> float:
            return exact_sum(sample(terms.read()[i], k).tolist(), "sum")

        return Steps(forward, backward, lambda: exact_totals(s, total))


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

        def total(i: int, k: int) -> float:
            w_i, h_i = sample(w.read()[i], k).tolist(), sample(h.read()[i], k).tolist()
            return affine_parts_rule(float(sample(b.read()[i], k)), w_i, h_i)[0]

        return Steps(forward, backward, lambda: exact_totals(a, total))


def _dense_total(b: Bound, read_W: Callable[[], Array], h: Bound) -> Callable[[int, int], float]:
    """b_i + Σ_j W_ij h_jk for node i and sample k, as the engine's affine rule computes it."""

    def total(i: int, k: int) -> float:
        W_i, h_k = read_W()[i].tolist(), sample(h.read(), k).tolist()
        return affine_parts_rule(float(sample(b.read()[i], k)), W_i, h_k)[0]

    return total


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
        if consecutive(entries):
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

        return gather, adder(r.uniform_grads, entries, entries.shape)

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

        total = _dense_total(b, read_W, h)
        if self.activation is None:
            return Steps(affine, affine_back, lambda: exact_totals(a, total))
        g, local = self.activation

        def exact() -> bool:
            fixed = exact_totals(a, total)
            y[...] = g(a)
            return fixed

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

        return Steps(forward, backward, exact)
