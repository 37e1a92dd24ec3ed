"""Attacks that threshold one statistic of the target's output (or gradient).

``loss`` (Yeom et al. 2018), ``confidence``, ``entropy``, ``mentropy`` (Song and Mittal 2021,
class-dependent thresholds), ``calibrated-loss`` (Watson et al. 2022) and ``gradient-norm``
(white-box). Each computes its statistic exactly on an unbounded scale (a log-odds, a log-ratio, a
difference of losses), where a confident prediction is a large number rather than a probability
rounded to 1, and maps it into (0, 1) with :func:`attacks.logodds.to_unit_interval`, strictly
increasing and shared by every target model, so one global threshold means the same thing on
every model and distinct statistics do not tie.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

from attacks import features, logodds
from attacks.logodds import to_unit_interval
from attacks.observations import Observations

__all__ = [
    "calibrated_loss",
    "class_thresholds",
    "confidence",
    "entropy",
    "gradient_norm",
    "loss",
    "mentropy",
]


def _per_point(obs: Observations) -> tuple[np.ndarray, np.ndarray]:
    """Labels broadcast for shadows (S, P, A) and targets (T, K, A)."""
    return obs.labels[None, :, None], obs.target_labels[..., None]


def loss(obs: Observations) -> np.ndarray:
    """Yeom et al.'s loss attack on ℓ, the cross-entropy averaged over queries.

    Members have low loss. The score is strictly decreasing in ℓ, so any loss threshold is a
    score threshold: the log-odds of exp(−ℓ) through :func:`~attacks.logodds.to_unit_interval`.
    With one query it equals ``confidence``.

    Returns
    -------
    ndarray of float64 in (0, 1), shape (T, K)
    """
    _, target_labels = _per_point(obs)
    mean_loss = features.cross_entropy(obs.target_logits, target_labels).mean(axis=-1)
    return to_unit_interval(logodds.from_log_probability(-mean_loss))


def confidence(obs: Observations) -> np.ndarray:
    """True-class probability p_y averaged over queries, by its exact log-odds; (T, K) in (0, 1)."""
    _, target_labels = _per_point(obs)
    log_p = -features.cross_entropy(obs.target_logits, target_labels)
    return to_unit_interval(logodds.of_mean(log_p, logodds.log1mexp(log_p)))


def entropy(obs: Observations) -> np.ndarray:
    """1 − H̄ / log C, H̄ the entropy of the softmax averaged over queries, by its log-odds.

    Confident outputs score high; the log-odds log(log C − H̄) − log H̄ keeps an entropy of 1e-30
    apart from one of 1e-20. Shape (T, K), in (0, 1).
    """
    mean_entropy = features.entropy(obs.target_logits).mean(axis=-1)
    spare = np.maximum(np.log(obs.n_classes) - mean_entropy, 0.0)  # ≥ 0 despite rounding
    with np.errstate(divide="ignore"):
        return to_unit_interval(np.log(spare) - np.log(mean_entropy))


def class_thresholds(
    values: np.ndarray, classes: np.ndarray, members: np.ndarray, *, n_classes: int
) -> np.ndarray:
    """Per class, the threshold τ that best separates members (value ≤ τ) by balanced accuracy.

    A class without both members and non-members gets the threshold learned on all classes.

    Parameters
    ----------
    values : ndarray of float, shape (N,)
    classes : ndarray of int in 0..n_classes-1, shape (N,)
    members : ndarray of bool, shape (N,)
    n_classes : int, keyword-only

    Returns
    -------
    ndarray of float64, shape (n_classes,)

    Raises
    ------
    ValueError
        If there are no members or no non-members at all.
    """
    if members.all() or not members.any():
        raise ValueError("learning thresholds needs both members and non-members")
    overall = _best_thresholds(values, np.zeros_like(classes), members, n_classes=1)[0]
    best = _best_thresholds(values, classes, members, n_classes=n_classes)
    return np.where(np.isnan(best), overall, best)


def _best_thresholds(
    values: np.ndarray, classes: np.ndarray, members: np.ndarray, *, n_classes: int
) -> np.ndarray:
    """Thresholds of :func:`class_thresholds`, NaN for a class lacking members or non-members."""
    order = np.lexsort((values, classes))
    value, cls, member = values[order], classes[order], members[order]
    n_in = np.bincount(cls, weights=member, minlength=n_classes)
    n_out = np.bincount(cls, minlength=n_classes) - n_in
    start = np.searchsorted(cls, np.arange(n_classes))
    cum_in = np.concatenate([[0], np.cumsum(member)])
    cum_out = np.concatenate([[0], np.cumsum(~member)])
    in_below = cum_in[1:] - cum_in[start][cls]
    out_below = cum_out[1:] - cum_out[start][cls]
    with np.errstate(divide="ignore", invalid="ignore"):
        balanced = 0.5 * (in_below / n_in[cls] + 1.0 - out_below / n_out[cls])
    # Only the last of equal values is a threshold: "≤ τ" includes every tie.
    last = np.append((value[1:] != value[:-1]) | (cls[1:] != cls[:-1]), True)
    balanced = np.where(last & np.isfinite(balanced), balanced, -np.inf)
    ranked = np.lexsort((-balanced, cls))
    first = ranked[np.searchsorted(cls[ranked], np.arange(n_classes)).clip(max=len(cls) - 1)]
    usable = (n_in > 0) & (n_out > 0)
    return np.where(usable, value[first], np.nan)


def mentropy(obs: Observations) -> np.ndarray:
    """Song and Mittal's modified-entropy attack with class-dependent thresholds.

    Thresholds τ_c are learned on every shadow model's challenge points
    (:func:`class_thresholds`); the statistic is log τ_y − log Mentr, how many e-folds the modified
    entropy lies below its class's threshold, so a score above ½ is the paper's member decision.
    The ratio rather than the difference τ_y − Mentr keeps confident points apart: their Mentr
    (1e-30, 1e-20) vanishes against τ_y in a difference. Both are floored at the smallest normal
    float64.

    Returns
    -------
    ndarray of float64 in (0, 1), shape (T, K)
    """
    shadow_labels, target_labels = _per_point(obs)
    shadow_m = features.modified_entropy(obs.shadow_logits, shadow_labels).mean(axis=-1)
    target_m = features.modified_entropy(obs.target_logits, target_labels).mean(axis=-1)
    tau = class_thresholds(
        shadow_m.ravel(),
        np.broadcast_to(obs.labels, shadow_m.shape).ravel(),
        obs.shadow_in.ravel(),
        n_classes=obs.n_classes,
    )
    tiny = np.finfo(np.float64).tiny
    log_tau = np.log(np.maximum(tau[obs.target_labels], tiny))
    return to_unit_interval(log_tau - np.log(np.maximum(target_m, tiny)))


def calibrated_loss(obs: Observations) -> np.ndarray:
    """Watson et al.'s difficulty-calibrated loss: ℓ_target − mean ℓ of OUT shadows, per point.

    The statistic is mean OUT loss − target loss, through
    :func:`~attacks.logodds.to_unit_interval`. A point no shadow left out is calibrated by the
    mean OUT loss over every point. Being a difference, it ties the targets whose losses on the
    same point both lie below 1e-16 times that point's mean OUT loss.

    Returns
    -------
    ndarray of float64 in (0, 1), shape (T, K)
    """
    shadow_labels, target_labels = _per_point(obs)
    shadow_loss = features.cross_entropy(obs.shadow_logits, shadow_labels).mean(axis=-1)
    target_loss = features.cross_entropy(obs.target_logits, target_labels).mean(axis=-1)
    out = ~obs.shadow_in
    n_out = out.sum(axis=0)
    total = np.where(out, shadow_loss, 0.0).sum(axis=0)
    fallback = total.sum() / max(int(n_out.sum()), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        reference = np.where(n_out > 0, total / n_out, fallback)
    return to_unit_interval(reference[obs.target_points] - target_loss)


def gradient_norm(obs: Observations) -> np.ndarray:
    """White-box attack on the norm of the loss gradient at the target's weights.

    Members sit near a minimum of their own loss, so their gradients are small. A logistic
    regression of membership on log ‖∇ℓ‖ (norms floored at the smallest normal float64), fitted on
    every shadow's challenge points, maps the norm to log-odds shared by all targets, and
    :func:`~attacks.logodds.to_unit_interval` maps those into (0, 1).

    Returns
    -------
    ndarray of float64 in (0, 1), shape (T, K)

    Raises
    ------
    ValueError
        If the observations carry no gradient norms.
    """
    if obs.shadow_grad_norms is None or obs.target_grad_norms is None:
        raise ValueError("gradient-norm needs observations with gradient norms (white-box)")
    shadow_y = obs.shadow_in.ravel()
    if shadow_y.all() or not shadow_y.any():
        raise ValueError("gradient-norm needs shadow members and non-members")
    model = LogisticRegression(class_weight="balanced").fit(
        _log_norm(obs.shadow_grad_norms), shadow_y
    )
    log_odds = model.decision_function(_log_norm(obs.target_grad_norms))
    return to_unit_interval(log_odds.reshape(obs.target_grad_norms.shape))


def _log_norm(norms: np.ndarray) -> np.ndarray:
    """log ‖∇ℓ‖ as one column, norms floored at the smallest normal float64 (not 0)."""
    floored = np.maximum(np.asarray(norms, dtype=np.float64).ravel(), np.finfo(np.float64).tiny)
    return np.log(floored)[:, None]
