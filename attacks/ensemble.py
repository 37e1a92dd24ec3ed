"""A published feature-ensemble attack: output features plus LiRA into trained classifiers.

Ten output features (:data:`attacks.features.FEATURE_NAMES`) and the offline LiRA score feed a
random forest, LightGBM and an MLP trained on the shadow models' challenge points; the classifier
with the best TPR at 10% FPR on held-out shadow models scores the targets by its membership
log-odds (:func:`attacks.classifiers.log_odds`), mapped into (0, 1) by
:func:`attacks.logodds.to_unit_interval`. There is no calibration: a strictly increasing one
would change no ranking, and the isotonic one this attack had (averaging three fold classifiers)
tied every point of a step, 58 distinct scores among 2,000 points of a synthetic scenario where
the chosen classifier's own log-odds take 478 values. Points a forest's trees all agree on still
tie, at infinite log-odds.
"""

from __future__ import annotations

import numpy as np
from lightgbm import LGBMClassifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from attacks import classifiers, features, lira
from attacks.evaluation import tpr_at_fpr
from attacks.logodds import to_unit_interval
from attacks.observations import Observations
from attacks.shadow_based import phis

__all__ = ["CANDIDATES", "ensemble"]

CANDIDATES = ("random-forest", "lightgbm", "mlp")
"""The classifiers the ensemble attack chooses from."""


def _candidate(name: str, seed: int) -> Pipeline:
    """An untrained classifier, behind a standard scaler."""
    if name == "random-forest":
        base = RandomForestClassifier(
            n_estimators=60, max_depth=10, min_samples_leaf=5, random_state=seed
        )
    elif name == "lightgbm":
        base = LGBMClassifier(
            n_estimators=200,
            learning_rate=0.05,
            num_leaves=31,
            n_jobs=1,  # LightGBM's OpenMP threads stall on a busy two-core machine
            verbose=-1,
            random_state=seed,
        )
    else:
        base = MLPClassifier((64, 32), max_iter=200, early_stopping=True, random_state=seed)
    return make_pipeline(StandardScaler(), base)


def _features(logits: np.ndarray, labels: np.ndarray, lira_score: np.ndarray) -> np.ndarray:
    """Ten output features averaged over queries, plus LiRA: shape (..., 11)."""
    output = features.output_features(logits, labels).mean(axis=-2)
    return np.concatenate([output, lira_score[..., None]], axis=-1)


def _shadow_lira(shadow_phi: np.ndarray, shadow_in: np.ndarray) -> np.ndarray:
    """Offline LiRA of every shadow, fitted on the other half of the shadows (cross-fitting)."""
    n_shadows = shadow_phi.shape[0]
    halves = (np.arange(n_shadows) % 2 == 0, np.arange(n_shadows) % 2 == 1)
    scores = np.empty(shadow_in.shape)
    for scored, reference in (halves, halves[::-1]):
        gaussians = lira.fit(shadow_phi[reference], shadow_in[reference], global_variance=True)
        scores[scored] = lira.offline_scores(shadow_phi[scored], gaussians)
    return scores


def ensemble(obs: Observations, *, max_samples: int = 10_000, seed: int = 0) -> np.ndarray:
    """Feature-ensemble attack: the best of three classifiers on 11 features.

    Shadows' LiRA scores are cross-fitted (each half of the shadows against the other); targets'
    use every shadow. A quarter of the shadow models is held out to choose the classifier.

    Parameters
    ----------
    obs : Observations
        Needs at least 4 shadow models.
    max_samples : int, keyword-only
        Cap on the (shadow, point) samples used for training.
    seed : int, keyword-only

    Returns
    -------
    ndarray of float64 in (0, 1), shape (T, K)

    Raises
    ------
    ValueError
        With fewer than 4 shadow models or without shadow members and non-members.
    """
    if obs.n_shadows < 4:
        raise ValueError(f"ensemble needs at least 4 shadow models, got {obs.n_shadows}")
    if obs.shadow_in.all() or not obs.shadow_in.any():
        raise ValueError("ensemble needs shadow members and non-members")
    shadow_phi, target_phi = phis(obs)
    target_lira = lira.offline_scores(
        target_phi,
        lira.at_points(
            lira.fit(shadow_phi, obs.shadow_in, global_variance=True), obs.target_points
        ),
    )
    shadow_x = _features(
        obs.shadow_logits, obs.labels[None, :, None], _shadow_lira(shadow_phi, obs.shadow_in)
    )
    target_x = _features(obs.target_logits, obs.target_labels[..., None], target_lira)

    rng = np.random.default_rng(seed)
    n_shadows, n_points = obs.shadow_in.shape
    validation = rng.permutation(n_shadows) < max(1, n_shadows // 4)
    per_model = max(1, max_samples // n_shadows)
    chosen = np.argsort(rng.random((n_shadows, n_points)), axis=1)[:, :per_model]
    x = np.take_along_axis(shadow_x, chosen[..., None], axis=1)
    y = np.take_along_axis(obs.shadow_in, chosen, axis=1)
    fit_x, fit_y = x[~validation].reshape(-1, x.shape[-1]), y[~validation].ravel()
    val_x, val_y = x[validation].reshape(-1, x.shape[-1]), y[validation].ravel()

    best, best_result = None, -1.0
    for name in CANDIDATES:
        model = _candidate(name, seed).fit(fit_x, fit_y)
        result = tpr_at_fpr(val_y, to_unit_interval(classifiers.log_odds(model, val_x)), 0.1)
        if result > best_result:
            best, best_result = model, result
    assert best is not None
    flat = target_x.reshape(-1, target_x.shape[-1])
    return to_unit_interval(classifiers.log_odds(best, flat).reshape(obs.target_points.shape))
