"""Per-query statistics of a model's output: losses, entropies, margins, the feature vector.

Every function takes logits of shape ``(..., C)`` and, where the true class matters, labels
broadcastable to ``logits.shape[:-1]``; it computes in float64 from :func:`log_softmax`, which
stays exact for the most probable class when its probability rounds to 1, so a loss, entropy or
modified entropy of a confident prediction is a small positive number, not 0.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from attacks.logodds import log1mexp

__all__ = [
    "FEATURE_NAMES",
    "cross_entropy",
    "entropy",
    "log_softmax",
    "modified_entropy",
    "output_features",
    "probabilities",
    "true_class_probability",
]

FEATURE_NAMES = (
    "max_probability",
    "loss",
    "entropy",
    "modified_entropy",
    "top2_margin",
    "true_class_probability",
    "correct",
    "max_logit",
    "true_logit",
    "gradient_proxy",
)
"""The ten features of the feature-ensemble attack, in the order of :func:`output_features`."""


def _true_class(values: np.ndarray, labels: ArrayLike) -> np.ndarray:
    """``values[..., labels]`` with labels broadcast to ``values.shape[:-1]``."""
    index = np.broadcast_to(np.asarray(labels, dtype=np.intp), values.shape[:-1])
    return np.take_along_axis(values, index[..., None], axis=-1)[..., 0]


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Log-probabilities log p_i = z_i − logsumexp(z) along the last axis, shape (..., C).

    logsumexp(z) is computed as max z + log1p(Σ of the other exp(z_j − max z)), so the most
    probable class gets log p = −log1p(rest), exact to the last bit where scipy's
    ``log_softmax`` rounds it to 0 (for a margin above 37).
    """
    logits = np.asarray(logits, dtype=np.float64)
    top = np.argmax(logits, axis=-1)[..., None]
    shifted = logits - np.take_along_axis(logits, top, axis=-1)
    is_top = np.arange(logits.shape[-1]) == top
    rest = np.sum(np.where(is_top, 0.0, np.exp(shifted)), axis=-1, keepdims=True)
    return np.asarray(shifted - np.log1p(rest))


def probabilities(logits: np.ndarray) -> np.ndarray:
    """Softmax of ``logits`` along the last axis, shape (..., C), float64."""
    return np.exp(log_softmax(logits))


def cross_entropy(logits: np.ndarray, labels: ArrayLike) -> np.ndarray:
    """Cross-entropy loss ``-log p_y``, shape ``logits.shape[:-1]``; exact when p_y rounds to 1."""
    return -_true_class(log_softmax(logits), labels)


def true_class_probability(logits: np.ndarray, labels: ArrayLike) -> np.ndarray:
    """Softmax probability of the true class ``p_y``, shape ``logits.shape[:-1]``."""
    return np.exp(-cross_entropy(logits, labels))


def entropy(logits: np.ndarray) -> np.ndarray:
    """Shannon entropy of the softmax, in nats, shape ``logits.shape[:-1]``."""
    log_p = log_softmax(logits)
    return -np.sum(np.exp(log_p) * log_p, axis=-1)


def modified_entropy(logits: np.ndarray, labels: ArrayLike) -> np.ndarray:
    """Song and Mittal's modified entropy, low for confident correct predictions.

    ``Mentr = -(1 - p_y) log p_y - sum_{i != y} p_i log(1 - p_i)``, with ``1 - p`` and
    ``log(1 - p)`` computed from the exact log-probabilities of :func:`log_softmax`, so it stays
    finite when a ``p_i`` rounds to 1 and positive when ``p_y`` does.

    Returns
    -------
    ndarray of float64, shape ``logits.shape[:-1]``
    """
    log_p = log_softmax(logits)
    labels = np.broadcast_to(labels, log_p.shape[:-1])
    is_true = np.arange(log_p.shape[-1]) == labels[..., None]
    term = np.where(is_true, np.expm1(log_p) * log_p, -np.exp(log_p) * log1mexp(log_p))
    return np.asarray(np.sum(term, axis=-1))


def output_features(logits: np.ndarray, labels: ArrayLike) -> np.ndarray:
    """The ten output features of :data:`FEATURE_NAMES`, stacked on a new last axis.

    ``gradient_proxy`` is ``||softmax - onehot(y)||_2``, the norm of the gradient of the loss
    with respect to the logits.

    Parameters
    ----------
    logits : ndarray, shape (..., C)
    labels : ndarray of int, broadcastable to ``logits.shape[:-1]``

    Returns
    -------
    ndarray of float64, shape (..., 10)
    """
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.broadcast_to(labels, logits.shape[:-1])
    log_p = log_softmax(logits)
    p = np.exp(log_p)
    top2 = -np.partition(-p, 1, axis=-1)[..., :2]
    p_true = _true_class(p, labels)
    onehot = np.arange(logits.shape[-1]) == labels[..., None]
    return np.stack(
        [
            top2[..., 0],
            -_true_class(log_p, labels),
            -np.sum(p * log_p, axis=-1),
            modified_entropy(logits, labels),
            top2[..., 0] - top2[..., 1],
            p_true,
            (np.argmax(logits, axis=-1) == labels).astype(np.float64),
            np.max(logits, axis=-1),
            _true_class(logits, labels),
            np.linalg.norm(p - onehot, axis=-1),
        ],
        axis=-1,
    )
