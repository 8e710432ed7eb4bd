"""The `train` work written by hand: the notes' batched matrix formulas in numpy, and in PyTorch.

A minibatch is a matrix X with one column per point. Forward, for k = 1..L:
A_k = W_k H_{k−1} + b_k 1ᵀ, H_k = tanh(A_k) (softmax for k = L, shifted per column by its max).
Backward from ∇A_L = Ŷ − Y (softmax with cross-entropy, Y one-hot), for k = L..1:
∇W_k = ∇A_k H_{k−1}ᵀ, ∇b_k = ∇A_k 1, ∇H_{k−1} = W_kᵀ ∇A_k, ∇A_{k−1} = ∇H_{k−1} ⊙ (1 − H_{k−1}²).
Then θ ← θ − η ∇θ / |B|, the minibatches shuffled exactly as `microbp.training.train` does.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import numpy as np


class NumpyTrainer:
    """Minibatch SGD of a tanh network with a softmax output and cross-entropy, in numpy."""

    def __init__(self, W: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> None:
        self.initial = [w.copy() for w in W], [v.copy() for v in b]
        self.reset()

    def reset(self) -> None:
        self.W = [w.copy() for w in self.initial[0]]
        self.b = [v.copy() for v in self.initial[1]]

    def weights(self) -> list[float]:
        """W row by row then b, layer by layer: the order of `MLP.parameters`."""
        return [x for W, b in zip(self.W, self.b) for x in (*W.ravel().tolist(), *b.tolist())]

    def train(
        self, X: np.ndarray, labels: np.ndarray, epochs: int, lr: float, batch: int, seed: int
    ) -> list[float]:
        """Train for ``epochs``; the mean loss of each (X: points × inputs, labels: ints)."""
        n_out = self.W[-1].shape[0]
        Y = np.eye(n_out)[labels].T  # one-hot columns
        XT = np.ascontiguousarray(X.T)
        rng = random.Random(seed)
        history = []
        for _ in range(epochs):
            order = list(range(X.shape[0]))
            rng.shuffle(order)
            total = 0.0
            for start in range(0, len(order), batch):
                columns = order[start : start + batch]
                total += self.step(XT[:, columns], Y[:, columns], lr)
            history.append(total / len(order))
        return history

    def step(self, H0: np.ndarray, Y: np.ndarray, lr: float) -> float:
        """One SGD step on the minibatch H0 (inputs × points); the summed loss."""
        W, b = self.W, self.b
        H = [H0]
        for k in range(len(W) - 1):
            H.append(np.tanh(W[k] @ H[-1] + b[k][:, None]))
        A = W[-1] @ H[-1] + b[-1][:, None]
        shifted = A - A.max(axis=0)
        E = np.exp(shifted)
        total = E.sum(axis=0)
        loss = float((np.log(total) - (shifted * Y).sum(axis=0)).sum())
        grad_A = E / total - Y
        scale = lr / H0.shape[1]
        for k in range(len(W) - 1, -1, -1):
            grad_W = grad_A @ H[k].T
            grad_b = grad_A.sum(axis=1)
            if k:
                grad_A = (W[k].T @ grad_A) * (1.0 - H[k] * H[k])
            W[k] -= scale * grad_W
            b[k] -= scale * grad_b
        return loss


class TorchTrainer:
    """The same training in PyTorch: float64 tensors on the CPU, one thread, autograd."""

    def __init__(self, W: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> None:
        import torch

        torch.set_num_threads(1)
        self.torch = torch
        self.initial = [w.copy() for w in W], [v.copy() for v in b]
        self.reset()

    def reset(self) -> None:
        torch = self.torch
        self.W = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in self.initial[0]]
        self.b = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in self.initial[1]]

    def weights(self) -> list[float]:
        return [
            x
            for W, b in zip(self.W, self.b)
            for x in (*W.detach().ravel().tolist(), *b.detach().tolist())
        ]

    def train(
        self, X: np.ndarray, labels: np.ndarray, epochs: int, lr: float, batch: int, seed: int
    ) -> list[float]:
        torch = self.torch
        inputs = torch.tensor(X, dtype=torch.float64)
        targets = torch.tensor(labels, dtype=torch.int64)
        rng = random.Random(seed)
        history = []
        parameters: list[Any] = [*self.W, *self.b]
        for _ in range(epochs):
            order = list(range(len(X)))
            rng.shuffle(order)
            total = 0.0
            for start in range(0, len(order), batch):
                rows = torch.tensor(order[start : start + batch])
                h = inputs[rows]
                for W, b in zip(self.W[:-1], self.b[:-1]):
                    h = torch.tanh(h @ W.T + b)
                logits = h @ self.W[-1].T + self.b[-1]
                loss = torch.nn.functional.cross_entropy(logits, targets[rows], reduction="sum")
                loss.backward()
                total += loss.item()
                with torch.no_grad():
                    for p in parameters:
                        p -= lr * (p.grad / len(rows))
                        p.grad = None
            history.append(total / len(order))
        return history
