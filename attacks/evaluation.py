"""Scoring attacks on targets with known membership, as MICO scores a scenario.

Attacks use :func:`tpr_at_fpr` to tune options on held-out shadow models; the report uses
:func:`evaluate`. Both pool every target's points and use one global threshold, as MICO does.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

__all__ = ["evaluate", "holdout_indices", "tpr_at_fpr"]


def tpr_at_fpr(members: np.ndarray, scores: np.ndarray, fpr: float) -> float:
    """Highest true-positive rate at a false-positive rate strictly below ``fpr`` (MICO's rule).

    Parameters
    ----------
    members : ndarray of bool, any shape
    scores : ndarray of float, same shape; higher means member
    fpr : float in (0, 1]

    Returns
    -------
    float
        0.0 when only one class is present.
    """
    members = np.asarray(members, dtype=bool).ravel()
    scores = np.asarray(scores, dtype=np.float64).ravel()
    if members.all() or not members.any():
        return 0.0
    false_pos, true_pos, _ = roc_curve(members, scores)
    return float(true_pos[false_pos < fpr].max(initial=0.0))


def evaluate(members: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """TPR at 0.1%, 1% and 10% FPR and the AUC of pooled predictions.

    Parameters
    ----------
    members : ndarray of bool, shape (T, K)
    scores : ndarray of float, shape (T, K)

    Returns
    -------
    dict
        Keys ``TPR_FPR_10``, ``TPR_FPR_100``, ``TPR_FPR_1000`` (MICO's names: FPR below
        0.1%, 1%, 10%) and ``AUC``.
    """
    members = np.asarray(members, dtype=bool).ravel()
    scores = np.asarray(scores, dtype=np.float64).ravel()
    metrics = {
        f"TPR_FPR_{int(rate * 10_000)}": tpr_at_fpr(members, scores, rate)
        for rate in (0.001, 0.01, 0.1)
    }
    one_class = members.all() or not members.any()
    metrics["AUC"] = 0.5 if one_class else float(roc_auc_score(members, scores))
    return metrics


def holdout_indices(n_shadows: int, *, fraction: float = 0.25, seed: int = 0) -> np.ndarray:
    """Which shadow models an attack holds out to tune its options.

    Parameters
    ----------
    n_shadows : int ≥ 2
    fraction : float in (0, 1), keyword-only
    seed : int, keyword-only

    Returns
    -------
    ndarray of int, shape (H,), 1 ≤ H < n_shadows

    Raises
    ------
    ValueError
        If fewer than two shadows exist.
    """
    if n_shadows < 2:
        raise ValueError(f"tuning needs at least 2 shadow models, got {n_shadows}")
    count = min(max(1, round(fraction * n_shadows)), n_shadows - 1)
    return np.sort(np.random.default_rng(seed).permutation(n_shadows)[:count])
