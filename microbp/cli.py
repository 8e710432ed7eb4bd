"""The `microbp` command."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from microbp.engine import Value, affine


def demo() -> int:
    """Build one neuron a = b + Σ_j w_j h_j, h = σ(a), run backward, print each derivative."""
    x = [Value(0.5, "x[1]"), Value(-1.5, "x[2]")]
    w = [Value(0.3, "W1[1,1]"), Value(-0.8, "W1[1,2]")]
    b = Value(0.1, "b1[1]")
    a = affine(b, w, x)
    a.name = "a1[1]"
    h = a.sigmoid()
    h.name = "h1[1]"
    h.backward()
    print(f"a1[1] = b1[1] + Σ_j W1[1,j] x[j] = {a.data:.6f},  h1[1] = σ(a1[1]) = {h.data:.6f}")
    for v in (*w, b, *x):
        print(f"∂h1[1]/∂{v.name:8} = {v.grad: .6f}")
    print(f"∂h1[1]/∂W1[1,j] = ∂h1[1]/∂a1[1] · x[j]: {a.grad:.6f} · x[j]")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="microbp", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="one neuron, one backward pass, every derivative printed")
    args = parser.parse_args(argv)
    if args.command == "demo":
        return demo()
    parser.error(f"unknown command {args.command!r}")
    return 2
