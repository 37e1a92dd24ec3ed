"""Scoring attacks on targets with known membership, as MICO scores a scenario.

Attacks use :func:`tpr_at_fpr` to tune options on held-out shadow models; the report uses
:func:`evaluate`. Both pool every target's points and use one global threshold, as MICO does,
through :func:`scoring.score`.
"""

from __future__ import annotations

import numpy as np

import scoring

__all__ = ["REPORT_KEYS", "evaluate", "holdout_indices", "tpr_at_fpr"]

REPORT_KEYS = ("TPR_FPR_10", "TPR_FPR_100", "TPR_FPR_1000", "AUC")
"""MICO's names for TPR at FPR below 0.1%, 1% and 10%, and the AUC."""


def evaluate(members: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """MICO's metrics of pooled predictions (:func:`scoring.score`), keys :data:`REPORT_KEYS`.

    Parameters
    ----------
    members : ndarray of bool, any shape
    scores : ndarray of float in [0, 1], same shape; higher means member

    Returns
    -------
    dict
        With one class only, TPRs are 0 and the AUC ½ (nothing can be told apart).
    """
    members = np.asarray(members, dtype=bool).ravel()
    if members.all() or not members.any():
        return {key: 0.5 if key == "AUC" else 0.0 for key in REPORT_KEYS}
    result = scoring.score(members.astype(np.float64), np.asarray(scores).ravel())
    return {key: float(result[key]) for key in REPORT_KEYS}


def tpr_at_fpr(members: np.ndarray, scores: np.ndarray, fpr: float) -> float:
    """Highest TPR at a false-positive rate strictly below ``fpr``, 0.001, 0.01 or 0.1.

    Raises
    ------
    ValueError
        If ``fpr`` is not one of MICO's reported levels.
    """
    key = {0.001: "TPR_FPR_10", 0.01: "TPR_FPR_100", 0.1: "TPR_FPR_1000"}.get(fpr)
    if key is None:
        raise ValueError(f"fpr must be 0.001, 0.01 or 0.1, got {fpr}")
    return evaluate(members, scores)[key]


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
