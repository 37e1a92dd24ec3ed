"""What an attack reads of a black-box release: released outputs as log-probabilities.

Every output-based attack reads logits (``log_softmax`` of them is all it uses), so a release
(:func:`benchmark.zoo.release.release`) enters every attack through one conversion,
:func:`as_logits`, and the baselines of a black-box scenario see exactly what a participant
querying the API sees:

- **Top-k zeros.** The classes a top-k release withholds (and probabilities rounded to 0) get
  the unreleased mass ``1 - sum(released)`` shared evenly, at least ``FLOOR`` and at most the
  least released probability (top-k withholds only smaller ones); with rounding a zero means
  ``p < 0.5 * 10**-decimals``, so a share is capped there too. The vector is then
  renormalised. A point whose true class is withheld therefore has a large loss, as it should.
- **Rounding ties.** Points whose vectors round to the same values get the same
  log-probabilities, hence the same statistic: attacks tie them (the scores of tied points are
  equal), they never break ties on information the release withheld.
- **Label only.** The released label becomes a one-hot vector smoothed by ``FLOOR`` per other
  class: every output attack degrades to "correctly classified or not" (the gap attack of
  Yeom et al.); ``label-only`` (Choquette-Choo et al.) reads the label's robustness instead.

>>> import numpy as np
>>> from benchmark.zoo.release import Defence
>>> logits = np.log(np.array([[0.7, 0.2, 0.06, 0.04]]))
>>> np.exp(as_logits(logits, Defence(top_k=2))).round(3)
array([[0.7 , 0.2 , 0.05, 0.05]])
"""

from __future__ import annotations

import numpy as np

from benchmark.zoo.release import Defence, release

__all__ = ["FLOOR", "as_logits", "from_release"]

FLOOR = 1e-12
"""The least probability a withheld or zero class is given (its log is about -27.6)."""


def from_release(released: np.ndarray, defence: Defence, *, classes: int) -> np.ndarray:
    """Log-probabilities of released outputs, as :mod:`attacks` reads logits.

    Parameters
    ----------
    released : ndarray
        What :func:`~benchmark.zoo.release.release` returned: float vectors of shape
        (..., C), or int labels of shape (...) when ``defence.label_only``.
    defence : Defence
        The release that made them.
    classes : int, keyword-only
        C (needed for labels).

    Returns
    -------
    ndarray of float64, shape (..., C)

    Raises
    ------
    ValueError
        If the shapes do not match the release, or a label is out of range.
    """
    if defence.label_only:
        labels = np.asarray(released)
        if labels.size and (labels.min() < 0 or labels.max() >= classes):
            raise ValueError(f"labels must lie in 0..{classes - 1}, got {labels.min()}..")
        p = np.full((*labels.shape, classes), FLOOR)
        np.put_along_axis(p, labels[..., None], 1.0 - FLOOR * (classes - 1), axis=-1)
        return np.log(p)
    p = np.asarray(released, dtype=np.float64)
    if p.ndim < 1 or p.shape[-1] != classes:
        raise ValueError(f"released vectors must have {classes} classes, got shape {p.shape}")
    zero = p <= 0.0
    count = zero.sum(axis=-1, keepdims=True)
    unreleased = np.clip(1.0 - p.sum(axis=-1, keepdims=True), 0.0, None)
    share = np.where(count > 0, unreleased / np.maximum(count, 1), 0.0)
    # a withheld class is no likelier than the least likely class released with it
    least = np.where(zero, np.inf, p).min(axis=-1, keepdims=True)
    share = np.minimum(share, np.where(np.isfinite(least), least, 1.0))
    if defence.decimals is not None:
        share = np.minimum(share, 0.5 * 10.0**-defence.decimals)
    p = np.where(zero, np.maximum(share, FLOOR), p)
    return np.log(p / p.sum(axis=-1, keepdims=True))


def as_logits(logits: np.ndarray, defence: Defence) -> np.ndarray:
    """The log-probabilities an attack reads of a model's ``logits`` under ``defence``:
    ``from_release(release(logits, defence), defence)``; the logits themselves when the
    release is the model's vector unchanged."""
    logits = np.asarray(logits, dtype=np.float64)
    if defence.none:
        return logits
    return from_release(release(logits, defence), defence, classes=logits.shape[-1])
