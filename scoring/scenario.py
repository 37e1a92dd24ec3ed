"""Scoring one scenario and phase: metrics on the concatenation, interval, ε bound, ROC."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scoring.audit import eps_lb
from scoring.bootstrap import model_counts, percentile_interval
from scoring.metrics import FPR_LEVELS, METRIC_KEYS, concatenate_models, metrics_from_roc, roc_curve
from scoring.resample import ResampledCurves

#: Points of the log-spaced and of the linear FPR grid used to thin a ROC for display.
_LOG_POINTS = 160
_LINEAR_POINTS = 80


def downsample_roc(
    fpr: NDArray[np.float64], tpr: NDArray[np.float64], *, max_points: int = 500
) -> dict[str, list[float]]:
    """Thin an exact ROC curve for display, faithful on linear and log-log axes.

    The kept points are a subset of the curve's own points: at each FPR of a grid that is
    log-spaced from the smallest non-zero FPR to 1 (dense where a log-log plot needs it) and
    linear over [0, 1], plus MICO's FPR levels, both the first and the last point at or around
    that FPR are kept, so vertical steps keep their shape; so are the two end points and the
    points MICO's ``TPR_FPR`` metrics read, so the thinned curve shows the same values.

    Parameters
    ----------
    fpr, tpr : ndarray of shape (k,)
        An exact ROC curve, FPR non-decreasing.
    max_points : int
        Upper bound on the number of points returned.

    Returns
    -------
    dict
        ``{"fpr": [...], "tpr": [...]}`` as lists of floats; never use it for a metric.
    """
    if fpr.shape[0] <= max_points:
        return {"fpr": fpr.tolist(), "tpr": tpr.tolist()}
    positive = fpr[fpr > 0]
    smallest = float(positive.min()) if positive.size else 1.0
    budget = max(2, (max_points - 2 - len(FPR_LEVELS)) // 2 - len(FPR_LEVELS))
    n_log = budget * _LOG_POINTS // (_LOG_POINTS + _LINEAR_POINTS)
    grid = np.concatenate(
        (
            np.geomspace(smallest, 1.0, n_log),
            np.linspace(0.0, 1.0, budget - n_log),
            np.asarray(FPR_LEVELS),
        )
    )
    last_at = np.searchsorted(fpr, grid, side="right") - 1
    first_at = np.searchsorted(fpr, grid, side="left")
    # The point each TPR_FPR metric reads (the last with FPR strictly below the level).
    metric_at = np.searchsorted(fpr, FPR_LEVELS, side="left") - 1
    ends = [0, fpr.shape[0] - 1]
    chosen = np.unique(np.concatenate((ends, last_at, first_at, metric_at)))
    chosen = chosen[(chosen >= 0) & (chosen < fpr.shape[0])]
    return {"fpr": fpr[chosen].tolist(), "tpr": tpr[chosen].tolist()}


def score_scenario(
    labels_by_model: Sequence[ArrayLike],
    scores_by_model: Sequence[ArrayLike],
    *,
    primary: str = "TPR_FPR_1000",
    delta: float = 1e-5,
    seed: int = 0,
    n_boot: int = 1000,
) -> dict[str, Any]:
    """Score one scenario and phase of a submission, with MICO's one global threshold.

    Parameters
    ----------
    labels_by_model : sequence of array-like of shape (n_j,)
        Membership (0/1) of each model's challenge points.
    scores_by_model : sequence of array-like of shape (n_j,)
        The submission's predictions for the same points, in [0, 1].
    primary : str
        The metric the interval is given for, one of :data:`scoring.METRIC_KEYS`.
    delta : float
        δ of the privacy audit.
    seed : int
        Seed of the bootstrap; the same seed gives the same interval.
    n_boot : int
        Bootstrap resamples.

    Returns
    -------
    dict
        The MICO metrics of :func:`scoring.score` computed on the concatenation of all models
        (without ``fpr``/``tpr``), plus ``ci`` (95% percentile bootstrap interval [low, high] of
        ``primary``, resampling whole models since a model's points share one training run),
        ``eps_lb`` (see :func:`scoring.audit.eps_lb` for the test and its assumptions) and
        ``roc`` (``{"fpr": [...], "tpr": [...]}``, at most 500 points, for display only).

    Raises
    ------
    ValueError
        On invalid labels or scores (naming the model and index), an unknown ``primary`` or
        ``delta`` outside [0, 1).
    """
    if primary not in METRIC_KEYS:
        raise ValueError(f"primary must be one of {', '.join(METRIC_KEYS)}, got {primary!r}")
    if not 0 <= delta < 1:
        raise ValueError(f"delta must lie in [0, 1), got {delta}")
    labels, scores, model = concatenate_models(labels_by_model, scores_by_model)
    fpr, tpr = roc_curve(labels, scores)
    result: dict[str, Any] = metrics_from_roc(fpr, tpr)
    counts = model_counts(len(labels_by_model), n_boot=n_boot, seed=seed)
    resampled = ResampledCurves(labels, scores, model).metric(counts, primary)
    result["ci"] = percentile_interval(resampled, 0.95)
    result["eps_lb"] = eps_lb(labels, scores, model, delta=delta)
    result["roc"] = downsample_roc(fpr, tpr)
    return result
