"""Attack statistics on the log-odds scale, and the one map every attack takes into (0, 1).

Near 1, float64 numbers are 1.1e-16 apart: the logistic reaches exactly 1.0 above 37 and Φ above
8.3, so a block of confident points ties at the top, and one global threshold takes the block
(and any non-member in it) at once. Attacks therefore compute their statistic exactly on an
unbounded scale (a log-odds, a log-likelihood ratio, log p(x) / p̂(x)), with the helpers here,
and :func:`to_unit_interval` compresses it without reaching 0 or 1.

>>> import numpy as np
>>> scores = to_unit_interval(np.array([-np.inf, -40.0, 0.0, 40.0, 1e300]))
>>> bool(0.0 < scores[0] and scores[-1] < 1.0 and (np.diff(scores) > 0).all())
True
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import logsumexp

__all__ = ["from_log_probability", "log1mexp", "of_mean", "to_unit_interval"]

_LARGEST = np.finfo(np.float64).max


def to_unit_interval(statistic: ArrayLike) -> np.ndarray:
    """Map a statistic on ℝ ∪ {±∞} into (0, 1), strictly increasing, the same for every model.

    score = ½ + arctan(sign(t)·log1p(|t|)) / π, with ±∞ taken as the largest float64. Every score
    lies in [4.48e-4, 1 − 4.48e-4], so none is 0 or 1; 0 maps to ½ and −t to 1 − score(t), so a
    log-odds above 0 is a score above ½. Consecutive float64 scores near 1 are 1.1e-16 apart, so
    no map into [0, 1] separates every float64; this one separates t < t' whenever
    t' − t > 8e-16·(1 + |t|)·(1 + log1p(|t|)²): by 1e-15 near 0, by a relative 4e-10 at the
    largest float64, where the logistic ties every t above 37.

    Parameters
    ----------
    statistic : array_like of float
        Higher means member; any finite value, or ±∞.

    Returns
    -------
    ndarray of float64, same shape

    Raises
    ------
    ValueError
        If a statistic is NaN.
    """
    t = np.asarray(statistic, dtype=np.float64)
    nan = np.flatnonzero(np.isnan(t.ravel()))
    if nan.size:
        index = tuple(int(i) for i in np.unravel_index(nan[0], t.shape))
        raise ValueError(f"statistic is NaN at index {index}")
    t = np.clip(t, -_LARGEST, _LARGEST)
    return np.asarray(0.5 + np.arctan(np.sign(t) * np.log1p(np.abs(t))) / np.pi)


def log1mexp(x: ArrayLike) -> np.ndarray:
    """log(1 − eˣ) for x ≤ 0, exact at both ends (−∞ at x = 0).

    ``log(-expm1(x))`` near 0 and ``log1p(-exp(x))`` below −log 2 (Mächler, "Accurately
    computing log(1 − exp(−|a|))", 2012).
    """
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(
            x > -np.log(2.0), np.log(-np.expm1(np.minimum(x, 0.0))), np.log1p(-np.exp(x))
        )


def from_log_probability(log_p: ArrayLike) -> np.ndarray:
    """Log-odds log p − log(1 − p) of probabilities given as log p ≤ 0; +∞ where p = 1."""
    log_p = np.asarray(log_p, dtype=np.float64)
    return np.asarray(log_p - log1mexp(log_p))


def of_mean(log_p: ArrayLike, log_not_p: ArrayLike, *, axis: int = -1) -> np.ndarray:
    """Log-odds of the mean of probabilities along ``axis``, from log p and log(1 − p).

    Given both logarithms, each exact (e.g. ``log_ndtr(z)`` and ``log_ndtr(-z)``), the log-odds
    of the mean is ``logsumexp(log p) − logsumexp(log(1 − p))`` and stays exact when the mean
    rounds to 0 or 1.

    Parameters
    ----------
    log_p, log_not_p : array_like of float ≤ 0, same shape
    axis : int, keyword-only

    Returns
    -------
    ndarray of float64, the shape without ``axis``; ±∞ where every p is 0 or every p is 1.
    """
    return np.asarray(logsumexp(log_p, axis=axis) - logsumexp(log_not_p, axis=axis))
