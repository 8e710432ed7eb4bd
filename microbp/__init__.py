"""microbp: scalar autograd that reproduces, entry by entry, the matrix formulas of backprop."""

from typing import TYPE_CHECKING

from microbp.check import GradcheckError, gradcheck
from microbp.engine import (
    Value,
    affine,
    derivatives,
    sum_values,
    topological_order,
    zero_grad,
)
from microbp.nn import MLP, SGD, Layer, cross_entropy, squared_error
from microbp.second_order import hessian, hvp, newton_step

__all__ = [
    "MLP",
    "SGD",
    "GradcheckError",
    "Layer",
    "Value",
    "affine",
    "compare",
    "cross_entropy",
    "derivatives",
    "gradcheck",
    "hessian",
    "hvp",
    "newton_step",
    "squared_error",
    "sum_values",
    "topological_order",
    "zero_grad",
]
__version__ = "0.1.0"

if TYPE_CHECKING:  # imported on first use instead (see __getattr__)
    from microbp.comparison import compare


def __getattr__(name: str) -> object:
    """``microbp.compare`` imports numpy (via microbp.comparison) only when first used."""
    if name == "compare":
        from microbp.comparison import compare

        return compare
    raise AttributeError(f"module 'microbp' has no attribute {name!r}")
