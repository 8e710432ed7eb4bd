"""A tape's replay for one batch size: its registers, its instructions bound to them, its passes.

The ordinary passes are loops of bound steps, checked once at the end. A pass that met a
non-finite number runs again on the failure path, for a float sum may have overflowed on the way
to a total that is a float (1e308 + 1e308 − 1e308): forward with each sum's non-finite totals
recomputed as the engine computes them (exactly), backward with its seed scaled down.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from microbp.tape.instructions import Steps, Thunk
from microbp.tape.operands import Registers
from microbp.tape.recording import Array, Place, Program

#: The backward pass's seed when its sums overflow, and the factor that undoes it (exactly).
_DOWN, _UP = 2.0**-64, 2.0**64


def all_finite(a: Array) -> bool:
    """Whether every entry of ``a`` is finite: their sum is, in one pass (a sum of finite
    numbers that overflows sends it to the exact check)."""
    total = float(np.add.reduce(a, axis=None))
    return total - total == 0.0 or bool(np.isfinite(a).all())


@dataclass(frozen=True)
class Plan:
    """A tape's registers for one batch size, and its instructions bound to them."""

    registers: Registers
    forwards: list[Thunk]
    backwards: list[Thunk]  # in the order backward runs them
    steps: list[Steps]  # for the failure paths
    root: Place

    def forward(self) -> bool:
        """Every node's data from the inputs and the uniform entries; whether all are finite
        (if not, `exact_forward` may make them so)."""
        with np.errstate(all="ignore"):
            for forward in self.forwards:
                forward()
            return all_finite(self.registers.values)

    def exact_forward(self) -> bool:
        """Forward again, each sum's non-finite totals recomputed as the engine computes them
        (the exact total of its terms, where a float sum overflowed) before the next step;
        whether every node's data is finite then. It stops at the first total that is not a
        float, which the replay will refuse."""
        with np.errstate(all="ignore"):
            for step in self.steps:
                step.forward()
                if step.exact is not None and not step.exact():
                    return False
            return all_finite(self.registers.values)

    def backward(self, seed: float = 1.0) -> bool:
        """Every node's grad times ``seed`` (∂L/∂L = seed for each sample), after `forward`;
        whether all are finite (if not, `backward_scaled_down` may make them so)."""
        r = self.registers
        r.grads.fill(0.0)
        r.uniform_grads.fill(0.0)
        uniform, position = self.root
        if uniform:
            r.uniform_grads[position] = seed * r.values.shape[1]
        else:
            r.grads[position] = seed
        with np.errstate(all="ignore"):
            for backward in self.backwards:
                backward()
            return all_finite(r.grads) and all_finite(r.uniform_grads)

    def backward_scaled_down(self) -> bool:
        """The backward pass again with its seed 2⁻⁶⁴, then times 2⁶⁴, for the grads the first
        left non-finite; whether every grad is finite then.

        Every grad is linear in the seed, and scaling by a power of two is exact, so a grad that
        a sum of finite contributions overflowed on the way to a finite total (over the batch,
        over a layer's units or a node's uses) comes out finite, within the rounding of the
        same sums, while a grad that is not a float stays infinite. Contributions below 2⁻⁹⁵⁸
        lose digits to subnormals, far below the rounding of the overflowing sum they join.
        """
        r = self.registers
        first = (r.grads.copy(), r.uniform_grads.copy())
        self.backward(_DOWN)
        with np.errstate(all="ignore"):
            for grads, kept in zip((r.grads, r.uniform_grads), first):
                np.multiply(grads, _UP, out=grads)
                np.copyto(grads, kept, where=np.isfinite(kept))
            return all_finite(r.grads) and all_finite(r.uniform_grads)


def plan(program: Program, batch_size: int, first_graded_row: int) -> Plan:
    """Registers for batches of ``batch_size`` and ``program``'s instructions bound to them;
    rows before ``first_graded_row`` (inputs) get no grads."""
    uniform = np.concatenate([np.zeros(len(program.parameters)), program.constants])
    r = Registers(
        np.empty((program.n_rows, batch_size)),
        uniform,
        np.zeros((program.n_rows, batch_size)),
        np.zeros_like(uniform),
        first_graded_row,
    )
    steps = [instruction.bind(r) for instruction in program.instructions]
    forwards, backwards = [s.forward for s in steps], [s.backward for s in reversed(steps)]
    return Plan(r, forwards, backwards, steps, program.root)
