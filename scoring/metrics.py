"""MICO's metrics computed from one sort and two cumulative sums.

The numbers are those of MICO's ``score.py``, which calls scikit-learn's ``roc_curve`` (with its
default ``drop_intermediate=True``) and ``roc_auc_score``; this module reproduces them bit for bit,
ties included, without scikit-learn's per-call overhead and with one ROC per call instead of eight.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.integrate import trapezoid

#: The FPR levels of MICO's ``TPR_FPR_<10000 * level>`` metrics.
FPR_LEVELS: tuple[float, ...] = (0.001, 0.01, 0.05, 0.1, 0.15, 0.2)

#: The scalar metrics of MICO, in the order of its score table.
METRIC_KEYS: tuple[str, ...] = (
    *(f"TPR_FPR_{round(1e4 * level)}" for level in FPR_LEVELS),
    "AUC",
    "MIA",
    "accuracy",
)


def _first_bad(mask: NDArray[np.bool_]) -> int:
    return int(np.flatnonzero(mask)[0])


def check_labels_scores(
    labels: ArrayLike, scores: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Validate one set of membership labels and attack scores.

    Parameters
    ----------
    labels : array-like of shape (n,)
        Membership, 1 for member and 0 for non-member; both classes must be present.
    scores : array-like of shape (n,)
        Attack confidence that the point is a member, finite and within [0, 1].

    Returns
    -------
    labels, scores : ndarray of shape (n,), float64

    Raises
    ------
    ValueError
        Naming the first offending index or value.
    """
    y = np.asarray(labels)
    s = np.asarray(scores)
    if y.ndim != 1 or s.ndim != 1:
        raise ValueError(f"labels and scores must be 1-D, got shapes {y.shape} and {s.shape}")
    if y.shape[0] != s.shape[0]:
        raise ValueError(f"labels and scores differ in length: {y.shape[0]} != {s.shape[0]}")
    if y.shape[0] == 0:
        raise ValueError("labels and scores are empty")
    try:
        y = y.astype(np.float64)
        s = s.astype(np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"labels and scores must be numbers: {error}") from None
    bad = ~((y == 0) | (y == 1))
    if bad.any():
        i = _first_bad(bad)
        raise ValueError(f"labels must be 0 or 1, got {y[i]:g} at index {i}")
    if y.min() == y.max():
        raise ValueError(f"only one class is present in labels (all {int(y[0])})")
    for name, test in (("NaN", np.isnan), ("inf", np.isinf)):
        bad = test(s)
        if bad.any():
            raise ValueError(f"scores contain {name} at index {_first_bad(bad)}")
    bad = (s < 0) | (s > 1)
    if bad.any():
        i = _first_bad(bad)
        raise ValueError(f"scores must lie in [0, 1], got {float(s[i])!r} at index {i}")
    return y, s


def roc_counts(
    labels: NDArray[np.float64], scores: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.intp], NDArray[np.intp]]:
    """Cumulative true and false positives at every distinct score, highest score first.

    Parameters
    ----------
    labels, scores : ndarray of shape (n,)
        Validated by :func:`check_labels_scores`.

    Returns
    -------
    tps, fps : ndarray of shape (t,)
        Members and non-members scored at or above each of the t distinct scores (no origin).
    order : ndarray of shape (n,)
        The permutation sorting ``scores`` in decreasing order.
    group : ndarray of shape (n,)
        For each sorted point, the index of its distinct score in ``tps``/``fps``.
    """
    order = np.argsort(-scores, kind="stable")
    sorted_scores = scores[order]
    step = np.diff(sorted_scores) != 0
    ends = np.append(np.flatnonzero(step), sorted_scores.shape[0] - 1)
    tps = np.cumsum(labels[order])[ends]
    fps = 1 + ends - tps
    group = np.concatenate(([0], np.cumsum(step)))
    return tps, fps, order, group


def keep_mask(tps: NDArray[np.float64], fps: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Points scikit-learn keeps with ``drop_intermediate=True``, along the last axis.

    A point is dropped when the steps to its two neighbours are equal in both counts (it lies in
    the middle of a straight segment); the first and last points are kept. Columns where neither
    count grows (a distinct score with no point in a bootstrap resample) are not points: they
    are never kept, and the neighbours of a point are its nearest growing columns.

    Parameters
    ----------
    tps, fps : ndarray of shape (b, t)
        Cumulative counts as returned by :func:`roc_counts` (without the origin), integers
        stored as floats.

    Returns
    -------
    ndarray of shape (b, t), bool
    """
    rows, t = tps.shape
    # Both counts are integers, so one number holds the pair and one diff gives both steps.
    packed = tps * (fps[:, -1:].max() + 1) + fps
    step = np.diff(packed, axis=1, prepend=0).ravel()
    real = step > 0
    flat = np.arange(rows * t)
    row_start = np.repeat(np.arange(rows) * t, t)
    previous = np.maximum.accumulate(np.where(real, flat, -1).reshape(rows, t), axis=1).ravel()
    previous = np.concatenate(([-1], previous[:-1]))
    has_previous = real & (previous >= row_start)
    keep = real.copy()
    later = np.flatnonzero(has_previous)
    earlier = previous[later]
    straight = step[later] == step[earlier]
    # A point is dropped when the next point's step equals its own, unless it is the first.
    first = ~has_previous[earlier]
    keep[earlier[straight & ~first]] = False
    return keep.reshape(rows, t)


def metrics_from_counts(
    tps: NDArray[np.float64],
    fps: NDArray[np.float64],
    *,
    keys: Sequence[str] = METRIC_KEYS,
    totals: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None,
) -> dict[str, NDArray[np.float64]]:
    """MICO's scalar metrics for many ROC curves given by cumulative (weighted) counts.

    Parameters
    ----------
    tps, fps : ndarray of shape (b, t)
        One curve per row, on the columns of :func:`roc_counts` (no origin); every row needs
        both classes. Columns where neither count grows are ignored (see :func:`keep_mask`).
    keys : sequence of str
        Which of :data:`METRIC_KEYS` to compute.
    totals : (ndarray of shape (b,), ndarray of shape (b,)), optional
        Members and non-members of each row, when the columns stop early (enough for the
        ``TPR_FPR`` metrics if they run one column past the last FPR below the level).

    Returns
    -------
    dict mapping each of ``keys`` to an ndarray of shape (b,)

    Notes
    -----
    Points scikit-learn drops as intermediate are masked out of the maxima, so every row gives
    exactly what :func:`score` gives on the same (repeated) points. The AUC integrates every
    column; dropped points lie on straight segments, so only the last bits can differ.
    """
    rows = tps.shape[0]
    tp_total, fp_total = (tps[:, -1], fps[:, -1]) if totals is None else totals
    keep = np.ones((rows, 1), bool)
    if set(keys) != {"AUC"}:
        keep = np.concatenate((keep, keep_mask(tps, fps)), axis=1)
    zero = np.zeros((rows, 1))
    fpr = np.concatenate((zero, fps), axis=1) / fp_total[:, None]
    tpr = np.concatenate((zero, tps), axis=1) / tp_total[:, None]
    levels = dict(zip(METRIC_KEYS, FPR_LEVELS, strict=False))
    out: dict[str, NDArray[np.float64]] = {}
    for key in keys:
        if key in levels:
            out[key] = np.where(keep & (fpr < levels[key]), tpr, -np.inf).max(axis=1)
        elif key == "AUC":
            out[key] = trapezoid(tpr, fpr, axis=1)
        elif key == "MIA":
            out[key] = np.where(keep, tpr - fpr, -np.inf).max(axis=1)
        elif key == "accuracy":
            out[key] = np.where(keep, 1 - (fpr + (1 - tpr)) / 2, -np.inf).max(axis=1)
        else:
            raise ValueError(f"unknown metric {key!r}; expected one of {', '.join(METRIC_KEYS)}")
    return out


def roc_curve(labels: ArrayLike, scores: ArrayLike) -> tuple[NDArray[np.float64], ...]:
    """The ROC curve of scikit-learn's ``roc_curve`` with its defaults.

    Parameters
    ----------
    labels, scores : array-like of shape (n,)

    Returns
    -------
    fpr, tpr : ndarray of shape (k,)
        Starting at (0, 0), without the intermediate collinear points scikit-learn drops.

    Examples
    --------
    >>> fpr, tpr = roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> fpr.tolist(), tpr.tolist()
    ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0])
    """
    y, s = check_labels_scores(labels, scores)
    tps, fps, _, _ = roc_counts(y, s)
    keep = keep_mask(tps[None], fps[None])[0]
    tps = np.concatenate(([0.0], tps[keep]))
    fps = np.concatenate(([0.0], fps[keep]))
    return fps / fps[-1], tps / tps[-1]


def metrics_from_roc(fpr: NDArray[np.float64], tpr: NDArray[np.float64]) -> dict[str, float]:
    """MICO's scalar metrics from an exact ROC curve as :func:`roc_curve` returns it."""
    out = {
        key: float(tpr[fpr < level].max())
        for level, key in zip(FPR_LEVELS, METRIC_KEYS, strict=False)
    }
    out["AUC"] = float(trapezoid(tpr, fpr))
    out["MIA"] = float(np.max(tpr - fpr))
    out["accuracy"] = float(np.max(1 - (fpr + (1 - tpr)) / 2))
    return out


def score(labels: ArrayLike, scores: ArrayLike) -> dict[str, Any]:
    """Score a membership inference attack exactly as MICO does.

    Parameters
    ----------
    labels : array-like of shape (n,)
        1 for members, 0 for non-members; both classes present.
    scores : array-like of shape (n,)
        Membership confidence in [0, 1], higher meaning "member".

    Returns
    -------
    dict
        ``TPR_FPR_10`` ... ``TPR_FPR_2000`` (the largest TPR of a ROC point whose FPR is strictly
        below 0.001, 0.01, 0.05, 0.1, 0.15, 0.2), ``AUC``, ``MIA`` (max TPR - FPR), ``accuracy``
        (max of 1 - (FPR + 1 - TPR) / 2) as floats, and ``fpr``, ``tpr``: the exact ROC as
        ndarrays, equal to scikit-learn's ``roc_curve``.

    Raises
    ------
    ValueError
        If the input is empty, of different lengths, labels are not 0/1 or of one class, or
        scores are NaN, infinite or outside [0, 1].

    Examples
    --------
    >>> result = score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> result["AUC"], result["TPR_FPR_1000"], result["MIA"]
    (0.75, 0.5, 0.5)
    """
    fpr, tpr = roc_curve(labels, scores)
    return {**metrics_from_roc(fpr, tpr), "fpr": fpr, "tpr": tpr}


def concatenate_models(
    labels_by_model: Sequence[ArrayLike], scores_by_model: Sequence[ArrayLike]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.intp]]:
    """Validate per-model arrays and concatenate them (MICO's one global threshold).

    Parameters
    ----------
    labels_by_model, scores_by_model : sequence of array-like of shape (n_j,)
        One pair per model, in the same order.

    Returns
    -------
    labels, scores : ndarray of shape (sum n_j,)
    model : ndarray of shape (sum n_j,)
        The position in the sequence of the model each point belongs to.

    Raises
    ------
    ValueError
        Naming the model and index of the first problem.
    """
    if len(labels_by_model) != len(scores_by_model):
        raise ValueError(
            f"got {len(labels_by_model)} label arrays but {len(scores_by_model)} score arrays"
        )
    if len(labels_by_model) == 0:
        raise ValueError("no models given")
    ys = [np.asarray(y) for y in labels_by_model]
    ss = [np.asarray(s) for s in scores_by_model]
    for j, (y, s) in enumerate(zip(ys, ss, strict=True)):
        if y.shape != s.shape or y.ndim != 1:
            raise ValueError(f"model {j}: labels {y.shape} and scores {s.shape} differ in shape")
    lengths = np.array([y.shape[0] for y in ys])
    model = np.repeat(np.arange(len(ys)), lengths)
    try:
        labels, scores = check_labels_scores(np.concatenate(ys), np.concatenate(ss))
    except ValueError as error:
        message = str(error)
        if " at index " not in message:
            raise
        head, index = message.rsplit(" at index ", 1)
        i = int(index)
        j = int(model[i])
        raise ValueError(f"{head} at index {i - lengths[:j].sum()} of model {j}") from None
    return labels, scores, model
