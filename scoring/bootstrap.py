"""Bootstrap over models: confidence intervals and paired comparisons of MICO metrics.

A model's challenge points share one training run, so they are not independent; the unit of
resampling is the model. All resamples are scored at once by :mod:`scoring.resample`, with no
Python loop over resamples or models.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scoring.metrics import METRIC_KEYS, concatenate_models
from scoring.resample import ResampledCurves


def _check_options(metric: str, n_boot: int) -> None:
    if metric not in METRIC_KEYS:
        raise ValueError(f"metric must be one of {', '.join(METRIC_KEYS)}, got {metric!r}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be positive, got {n_boot}")


def model_counts(n_models: int, *, n_boot: int, seed: int) -> NDArray[np.float64]:
    """How often each model is drawn in each of ``n_boot`` resamples with replacement.

    Returns
    -------
    ndarray of shape (n_boot, n_models)
    """
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_models, size=(n_boot, n_models))
    flat = (np.arange(n_boot)[:, None] * n_models + draws).ravel()
    return np.bincount(flat, minlength=n_boot * n_models).reshape(n_boot, n_models).astype(float)


def percentile_interval(values: NDArray[np.float64], level: float) -> list[float]:
    """The central ``level`` interval [low, high] of ``values`` (shape (b,)), ignoring NaN."""
    low, high = np.nanquantile(values, [(1 - level) / 2, (1 + level) / 2])
    return [float(low), float(high)]


def bootstrap_ci(
    labels_by_model: Sequence[ArrayLike],
    scores_by_model: Sequence[ArrayLike],
    *,
    metric: str = "TPR_FPR_1000",
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> list[float]:
    """Percentile bootstrap interval of a MICO metric, resampling whole models.

    Parameters
    ----------
    labels_by_model, scores_by_model : sequence of array-like of shape (n_j,)
        One pair of arrays per model.
    metric : str
        One of :data:`scoring.METRIC_KEYS`.
    n_boot : int
        Number of resamples.
    level : float
        Coverage of the interval.
    seed : int
        Seed of the resampling; the same seed gives the same interval.

    Returns
    -------
    [low, high] : list of two floats
    """
    _check_options(metric, n_boot)
    labels, scores, model = concatenate_models(labels_by_model, scores_by_model)
    counts = model_counts(int(model.max()) + 1, n_boot=n_boot, seed=seed)
    return percentile_interval(ResampledCurves(labels, scores, model).metric(counts, metric), level)


def paired_bootstrap(
    labels_by_model: Sequence[ArrayLike],
    scores_a_by_model: Sequence[ArrayLike],
    scores_b_by_model: Sequence[ArrayLike],
    *,
    metric: str = "TPR_FPR_1000",
    seed: int = 0,
    n_boot: int = 1000,
    level: float = 0.95,
) -> dict[str, float | bool | list[float]]:
    """Compare two submissions scored on the same models with a paired bootstrap.

    Both submissions are scored on the same resamples of models, so the interval is that of the
    difference ``metric(a) - metric(b)`` with the shared model-to-model variation removed.

    Parameters
    ----------
    labels_by_model : sequence of array-like of shape (n_j,)
        Membership labels per model.
    scores_a_by_model, scores_b_by_model : sequence of array-like of shape (n_j,)
        Scores of submission a and b per model.
    metric : str
        One of :data:`scoring.METRIC_KEYS`.
    seed, n_boot, level
        As in :func:`bootstrap_ci`.

    Returns
    -------
    dict
        ``difference`` (observed ``a - b``), ``ci`` ([low, high] of the difference),
        ``p_value`` (two-sided bootstrap p-value of "no difference") and ``separated`` (the
        interval excludes 0; the leaderboard marks entries that are not separated as tied).
    """
    _check_options(metric, n_boot)
    labels, scores_a, model = concatenate_models(labels_by_model, scores_a_by_model)
    _, scores_b, _ = concatenate_models(labels_by_model, scores_b_by_model)
    counts = model_counts(int(model.max()) + 1, n_boot=n_boot, seed=seed)
    observed = np.ones((1, counts.shape[1]))
    curves = (ResampledCurves(labels, scores_a, model), ResampledCurves(labels, scores_b, model))
    a, b = (curve.metric(observed, metric)[0] for curve in curves)
    difference = float(a - b)
    deltas = curves[0].metric(counts, metric) - curves[1].metric(counts, metric)
    deltas = deltas[~np.isnan(deltas)]
    low, high = percentile_interval(deltas, level)
    p_value = min(1.0, 2 * min(float(np.mean(deltas <= 0)), float(np.mean(deltas >= 0))))
    return {
        "difference": difference,
        "ci": [low, high],
        "p_value": p_value,
        "separated": bool(low > 0 or high < 0),
    }
