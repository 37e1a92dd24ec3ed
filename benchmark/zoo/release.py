"""What a black-box scenario releases of a model's output: the one place the defences act.

The query API answers with it and the baselines' observations are made of it, so an attack
sees on the platform exactly what a participant sees. The defences are Shokri et al.'s
(2017, section VI): a temperature on the logits (raising the entropy of the vector), the top k
classes only, probabilities rounded to d decimals, or the label alone.

>>> import numpy as np
>>> logits = np.array([[2.0, 1.0, 0.1, -1.0]])
>>> release(logits, Defence(top_k=2, decimals=2))
array([[0.64, 0.23, 0.  , 0.  ]])
>>> release(logits, Defence(label_only=True))
array([0])
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["Defence", "release"]


@dataclasses.dataclass(frozen=True)
class Defence:
    """A scenario's release.

    Attributes
    ----------
    temperature : float
        Softmax temperature (1: the model's own probabilities; higher: flatter vectors).
    top_k : int or None
        Release the k largest probabilities, the other classes as 0 (not renormalised, as the
        prediction APIs Shokri et al. attacked).
    decimals : int or None
        Round every probability to this many decimals.
    label_only : bool
        Release only the predicted class.
    """

    temperature: float = 1.0
    top_k: int | None = None
    decimals: int | None = None
    label_only: bool = False

    def __post_init__(self) -> None:
        if not self.temperature > 0:
            raise ValueError(f"temperature must be positive, got {self.temperature}")
        if self.top_k is not None and self.top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {self.top_k}")
        if self.decimals is not None and self.decimals < 0:
            raise ValueError(f"decimals must be 0 or more, got {self.decimals}")

    @property
    def none(self) -> bool:
        """True when the release is the model's probability vector unchanged."""
        return self == Defence()

    def describe(self) -> str:
        """The defences in words, for pages and the API (``"none"`` when there is none)."""
        parts = []
        if self.label_only:
            parts.append("label only")
        if self.temperature != 1.0:
            parts.append(f"temperature {self.temperature:g}")
        if self.top_k is not None:
            parts.append(f"top-{self.top_k}")
        if self.decimals is not None:
            parts.append(f"rounded to {self.decimals} decimal{'s' if self.decimals != 1 else ''}")
        return ", ".join(parts) or "none"


def _softmax(logits: np.ndarray, temperature: float) -> np.ndarray:
    scaled = logits / temperature
    scaled = scaled - scaled.max(axis=-1, keepdims=True)
    exp = np.exp(scaled)
    return np.asarray(exp / exp.sum(axis=-1, keepdims=True))


def release(logits: np.ndarray, defence: Defence) -> np.ndarray:
    """What the scenario releases for each output.

    Parameters
    ----------
    logits : ndarray of float, shape (..., C)
        The model's logits (the release derives probabilities itself, so a temperature acts
        before any rounding).
    defence : Defence

    Returns
    -------
    ndarray
        Of float64, shape (..., C), the released probability vectors; with ``label_only``, of
        int64, shape (...), the predicted classes.

    Raises
    ------
    ValueError
        If ``logits`` has no class axis or holds NaN or infinite values.
    """
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim < 1 or logits.shape[-1] < 2:
        raise ValueError(f"logits must have a class axis of 2 or more, got shape {logits.shape}")
    if not np.all(np.isfinite(logits)):
        index = np.unravel_index(int(np.flatnonzero(~np.isfinite(logits))[0]), logits.shape)
        raise ValueError(f"logits are not finite at index {tuple(int(i) for i in index)}")
    if defence.label_only:
        return np.asarray(logits.argmax(axis=-1), dtype=np.int64)
    probabilities = _softmax(logits, defence.temperature)
    if defence.top_k is not None and defence.top_k < probabilities.shape[-1]:
        # The k largest per vector (ties broken towards the lower class index, as argsort is
        # stable); the rest are withheld as 0.
        order = np.argsort(-probabilities, axis=-1, kind="stable")
        withheld = order[..., defence.top_k :]
        np.put_along_axis(probabilities, withheld, 0.0, axis=-1)
    if defence.decimals is not None:
        probabilities = np.round(probabilities, defence.decimals)
    return probabilities
