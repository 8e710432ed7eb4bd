"""microbp: scalar autograd that reproduces, entry by entry, the matrix formulas of backprop."""

from microbp.engine import Value, affine, sum_values, topological_order, zero_grad

__all__ = ["Value", "affine", "sum_values", "topological_order", "zero_grad"]
__version__ = "0.1.0"
