"""Trace once, replay fast: a loss's scalar graph recorded as a tape, replayed over batches.

A feed-forward loss has the same graph for every sample; only the numbers change. `record`
walks the graph of a loss built once with the engine and compiles it (`recording`): each node
gets a place, its op and its parents' places; leaves are *inputs* (per-sample numbers such as
the ``x[j]`` and the targets), *parameters* (read from their ``.data`` at every replay, their
summed grads added into ``.grad`` so `SGD` works unchanged) or *constants* (frozen at their
recorded value). The replay (`replay`) runs every node as a numpy array over the batch, with
each op's forward rule and local derivatives the engine's own, vectorised (`rules`): nodes of
one op at one depth become one instruction (`instructions`), the affine nodes of a dense layer
one matrix product, with the layer's activation in the same step. The scalar graph stays the
single source of truth; the tape is only a faster way to run it.

Honest limits:

- Python control flow is frozen at record time, as in the tracing of the big frameworks. A
  number the Python code computed from ``.data`` becomes a constant. What the graph itself
  computes is replayed per sample: softmax's shift m = max_j a_j is a ``max`` node
  (`engine.max_value`), so each sample is shifted by its own m, as the engine shifts it.
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

from microbp.tape.errors import TapeError
from microbp.tape.networks import network_batch, network_loss, record_network
from microbp.tape.replay import Tape, record

__all__ = [
    "Tape",
    "TapeError",
    "network_batch",
    "network_loss",
    "record",
    "record_network",
]
