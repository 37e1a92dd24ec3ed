"""A model as a black-box participant sees it: inputs in, released outputs out, rows counted.

Attacks that need queries of their own (label-only robustness, Shokri's shadow-data synthesis)
take an :class:`Oracle`, so the same code runs against a model of the platform's query API
(:class:`attacks.remote.RemoteOracle`) and against a downloaded or local model
(:class:`LocalOracle`). Both release outputs through :func:`benchmark.zoo.release.release`.

>>> import torch
>>> from benchmark.zoo.release import Defence
>>> oracle = LocalOracle(torch.nn.Linear(3, 2), defence=Defence(label_only=True))
>>> oracle.query(np.zeros((4, 3), dtype=np.float32)).shape, oracle.spent
((4,), 4)
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import torch
from torch import nn

from benchmark.zoo.release import Defence, release

__all__ = ["BudgetExhausted", "LocalOracle", "Oracle"]


class BudgetExhausted(RuntimeError):
    """The oracle's query budget cannot pay for the rows asked; nothing was spent."""


@runtime_checkable
class Oracle(Protocol):
    """What an attack may ask of a black-box model.

    Attributes
    ----------
    classes : int
        C, the length of a released vector.
    label_only : bool
        True when :meth:`query` releases labels, not vectors.
    spent : int
        Rows queried so far through this oracle.
    """

    classes: int
    label_only: bool
    spent: int

    def query(self, inputs: np.ndarray) -> np.ndarray:
        """The released outputs of ``inputs`` (shape (N, *input shape)).

        Returns an ndarray of float64, shape (N, C), the released probability vectors, or of
        int64, shape (N,), the predicted labels when ``label_only``. Raises
        :class:`BudgetExhausted` when the budget cannot pay for N rows (nothing spent) and
        ``ValueError`` for inputs outside the model's feature space.
        """
        ...


class LocalOracle:
    """An :class:`Oracle` over a torch module in this process.

    Parameters
    ----------
    module : nn.Module
        Maps a batch of inputs to logits (float32); evaluated in ``eval()`` mode, no gradients.
    defence : Defence, keyword-only
        The release (default: the probability vector unchanged).
    budget : int or None, keyword-only
        Rows this oracle may answer in all (None: unlimited).
    batch : int, keyword-only
        Rows per forward pass.
    """

    def __init__(
        self,
        module: nn.Module,
        *,
        defence: Defence | None = None,
        budget: int | None = None,
        batch: int = 4096,
    ) -> None:
        if budget is not None and budget < 0:
            raise ValueError(f"budget must be 0 or more, got {budget}")
        if batch < 1:
            raise ValueError(f"batch must be at least 1, got {batch}")
        self.module = module.eval()
        self.defence = defence or Defence()
        self.budget = budget
        self.batch = batch
        self.spent = 0
        self.label_only = self.defence.label_only
        self.classes = 0  # known after the first query

    def query(self, inputs: np.ndarray) -> np.ndarray:
        x = np.asarray(inputs, dtype=np.float32)
        if x.ndim < 2:
            raise ValueError(f"inputs must be a batch (N, ...), got shape {x.shape}")
        if self.budget is not None and self.spent + len(x) > self.budget:
            raise BudgetExhausted(
                f"{len(x)} rows asked, {self.budget - self.spent} left of {self.budget}"
            )
        logits = []
        with torch.no_grad():
            for start in range(0, len(x), self.batch):
                chunk = torch.from_numpy(x[start : start + self.batch])
                logits.append(self.module(chunk).float().numpy())
        out = np.concatenate(logits) if logits else np.zeros((0, max(self.classes, 2)))
        self.classes = int(out.shape[-1])
        self.spent += len(x)
        return release(out, self.defence)
