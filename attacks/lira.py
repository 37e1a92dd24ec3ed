"""The likelihood-ratio attack (LiRA) of Carlini et al., "Membership Inference Attacks From First
Principles" (IEEE S&P 2022), online and offline, vectorised over points and augmentations.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> shadow_in = rng.random((64, 5)) < 0.5
>>> shadow_phi = rng.normal(size=(64, 5, 2)) + 3.0 * shadow_in[..., None]
>>> target_phi = np.array([[3.0, 3.0], [0.0, 0.0]])[[0, 1, 0, 1, 0]]
>>> scores = online(target_phi, shadow_phi, shadow_in)
>>> bool(scores[0] > 0.8 and scores[1] < 0.2)
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import log_ndtr, logsumexp

from attacks import logodds

__all__ = [
    "MIN_STD",
    "GaussianFit",
    "at_points",
    "fit",
    "offline",
    "offline_log_odds",
    "offline_scores",
    "online",
    "online_log_odds",
    "online_scores",
    "stable_logit_scaling",
]

MIN_STD = 1e-6
"""Floor on every standard deviation, so one shadow model (σ = 0) cannot divide by zero."""


def stable_logit_scaling(
    logits: np.ndarray, labels: ArrayLike, *, method: Literal["stable", "plain"] = "stable"
) -> np.ndarray:
    """LiRA's confidence statistic φ = log p_y − log Σ_{j≠y} p_j.

    ``"stable"`` computes φ = z_y − logsumexp_{j≠y} z_j in float64, exact even when ``p_y``
    rounds to 1. ``"plain"`` first rounds the softmax to float64 and takes
    ``log p_y − log(1 − p_y)``, the textbook formula: ``1 − p_y`` rounds to 0 and φ overflows to
    +inf once p_y rounds to 1 (a margin above 37). It is not what LiRA's and MICO's original code
    does: that sums the other classes' probabilities, ``log(p_y + 1e-45) − log(Σ_{j≠y} p_j +
    1e-45)``, which stays finite but stops growing near φ = 104, where the 1e-45 takes over.

    Parameters
    ----------
    logits : ndarray of float, shape (..., C)
    labels : ndarray of int, broadcastable to ``logits.shape[:-1]``
    method : {"stable", "plain"}, keyword-only

    Returns
    -------
    ndarray of float64, shape ``logits.shape[:-1]``

    Raises
    ------
    ValueError
        If a label is outside ``0..C-1``, ``method`` is unknown or there are fewer than 2 classes.

    Examples
    --------
    >>> float(stable_logit_scaling(np.array([2.0, 0.0]), np.array(0)))
    2.0
    """
    logits = np.asarray(logits, dtype=np.float64)
    n_classes = logits.shape[-1]
    if n_classes < 2:
        raise ValueError(f"logits need at least 2 classes on the last axis, got {n_classes}")
    labels = np.broadcast_to(np.asarray(labels), logits.shape[:-1])
    bad = np.flatnonzero((labels.ravel() < 0) | (labels.ravel() >= n_classes))
    if bad.size:
        raise ValueError(f"label {labels.ravel()[bad[0]]} at flat index {bad[0]} is not a class")
    is_true = np.arange(n_classes) == labels[..., None]
    true_logit = np.sum(np.where(is_true, logits, 0.0), axis=-1)
    if method == "stable":
        return true_logit - logsumexp(np.where(is_true, -np.inf, logits), axis=-1)
    if method == "plain":
        p_true = np.exp(true_logit - logsumexp(logits, axis=-1))
        with np.errstate(divide="ignore"):
            return np.log(p_true) - np.log(1.0 - p_true)
    raise ValueError(f"method must be 'stable' or 'plain', got {method!r}")


@dataclass(frozen=True)
class GaussianFit:
    """Per-point Gaussians of the IN and OUT shadow statistics, each of shape (P, A)."""

    mu_in: np.ndarray
    mu_out: np.ndarray
    sd_in: np.ndarray
    sd_out: np.ndarray


def _group_stats(values: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, ...]:
    """Median, per-point and global standard deviation of one group of shadow statistics.

    Parameters
    ----------
    values : ndarray, shape (S, P, A)
    mask : ndarray of bool, shape (S, P, A), the group's members (contiguous: numpy's
        elementwise functions are several times slower on a mask broadcast along a short axis)

    Returns
    -------
    median, sd_point : ndarray, shape (P, A); NaN where the group is empty
    sd_global : ndarray, shape (A,), over the residuals ``values - median`` of every point
    """
    count = mask.sum(axis=0)  # (P, A)
    ordered = np.where(mask, values, np.inf)
    ordered.sort(axis=0)  # the group first, in order, then the padding
    low = np.take_along_axis(ordered, np.maximum(count - 1, 0)[None] // 2, axis=0)[0]
    last = values.shape[0] - 1
    high = np.take_along_axis(ordered, np.minimum(count // 2, last)[None], axis=0)[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        median = np.where(count > 0, (low + high) / 2.0, np.nan)
        # Residuals from the median are small, so E[r²] − E[r]² loses no precision.
        residual = values - np.nan_to_num(median)  # an empty group has no residuals
        residual *= mask
        first = residual.sum(axis=0)
        second = np.einsum("spa,spa->pa", residual, residual)
        sd_point = np.sqrt(np.maximum(second / count - (first / count) ** 2, 0.0))
        total = count.sum(axis=0)
        mean_global = first.sum(axis=0) / total
        sd_global = np.sqrt(np.maximum(second.sum(axis=0) / total - mean_global**2, 0.0))
    return median, sd_point, sd_global


def _check(shadow_phi: np.ndarray, shadow_in: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    shadow_phi = np.asarray(shadow_phi, dtype=np.float64)
    shadow_in = np.asarray(shadow_in)
    if shadow_phi.ndim != 3:
        raise ValueError(
            f"shadow_phi must have shape (shadow models, points, augmentations), "
            f"got {shadow_phi.shape}"
        )
    if shadow_in.shape != shadow_phi.shape[:2]:
        raise ValueError(f"shadow_in must have shape {shadow_phi.shape[:2]}, got {shadow_in.shape}")
    if shadow_in.dtype != np.bool_:
        raise ValueError(f"shadow_in must be boolean, got dtype {shadow_in.dtype}")
    bad = np.flatnonzero(~np.isfinite(shadow_phi.ravel()))
    if bad.size:
        index = tuple(int(i) for i in np.unravel_index(bad[0], shadow_phi.shape))
        raise ValueError(f"shadow_phi is not finite at index {index}")
    return shadow_phi, shadow_in


def fit(
    shadow_phi: np.ndarray, shadow_in: np.ndarray, *, global_variance: bool = False
) -> GaussianFit:
    """Fit the IN and OUT Gaussians of every point and augmentation.

    μ_in and μ_out are the medians of all IN and OUT shadow statistics; σ_in and σ_out their
    standard deviations, or with ``global_variance`` the standard deviation of all IN (OUT)
    residuals φ − μ over points and shadows, per augmentation. Every σ is floored at
    :data:`MIN_STD`. A point with no IN (OUT) shadow takes μ_in (μ_out) from the other mean plus
    (minus) the median IN − OUT gap over the points that have both, and the global σ; when no
    point has both, the missing side stays NaN (the offline attack needs no IN shadow).

    Parameters
    ----------
    shadow_phi : ndarray of float, shape (S, P, A)
    shadow_in : ndarray of bool, shape (S, P)
    global_variance : bool, keyword-only

    Returns
    -------
    GaussianFit
        Arrays of shape (P, A).

    Raises
    ------
    ValueError
        If shapes disagree or a statistic is not finite.
    """
    shadow_phi, shadow_in = _check(shadow_phi, shadow_in)
    n_in = shadow_in.sum(axis=0)
    n_out = shadow_in.shape[0] - n_in
    mask = np.repeat(shadow_in[..., None], shadow_phi.shape[-1], axis=-1)
    mu_in, sd_in, global_in = _group_stats(shadow_phi, mask)
    mu_out, sd_out, global_out = _group_stats(shadow_phi, ~mask)
    if global_variance:
        sd_in = np.broadcast_to(global_in, mu_in.shape)
        sd_out = np.broadcast_to(global_out, mu_out.shape)
    missing_in, missing_out = n_in == 0, n_out == 0
    both = ~missing_in & ~missing_out
    if both.any() and not both.all():
        gap = np.median(mu_in[both] - mu_out[both], axis=0)
        mu_in = np.where(missing_in[:, None], mu_out + gap, mu_in)
        mu_out = np.where(missing_out[:, None], mu_in - gap, mu_out)
        sd_in = np.where(missing_in[:, None], global_in, sd_in)
        sd_out = np.where(missing_out[:, None], global_out, sd_out)
    return GaussianFit(
        mu_in=mu_in,
        mu_out=mu_out,
        sd_in=np.maximum(sd_in, MIN_STD),
        sd_out=np.maximum(sd_out, MIN_STD),
    )


def _normal_logpdf(x: np.ndarray, mu: np.ndarray, sd: np.ndarray) -> np.ndarray:
    return -0.5 * ((x - mu) / sd) ** 2 - np.log(sd) - 0.5 * np.log(2.0 * np.pi)


def _target(target_phi: np.ndarray, gaussians: GaussianFit) -> np.ndarray:
    target_phi = np.asarray(target_phi, dtype=np.float64)
    shape = gaussians.mu_out.shape
    if target_phi.ndim < 2 or target_phi.shape[-2] != shape[-2]:
        raise ValueError(
            f"target_phi must have shape (..., {shape[-2]}, augmentations), got {target_phi.shape}"
        )
    bad = np.flatnonzero(~np.isfinite(target_phi.ravel()))
    if bad.size:
        index = tuple(int(i) for i in np.unravel_index(bad[0], target_phi.shape))
        raise ValueError(f"target_phi is not finite at index {index}")
    return target_phi


def at_points(gaussians: GaussianFit, index: np.ndarray) -> GaussianFit:
    """The fit at ``index`` (any shape, into ``P``): arrays of shape ``index.shape + (A,)``.

    Scores targets whose challenge points are different subsets of the fitted points:
    ``online_scores(target_phi, at_points(fit, target_points))`` with ``target_phi`` of shape
    (T, K, A) and ``target_points`` (T, K).
    """
    return GaussianFit(
        mu_in=gaussians.mu_in[index],
        mu_out=gaussians.mu_out[index],
        sd_in=gaussians.sd_in[index],
        sd_out=gaussians.sd_out[index],
    )


def online_log_odds(target_phi: np.ndarray, gaussians: GaussianFit) -> np.ndarray:
    """Online LiRA's statistic: the log-likelihood ratio, averaged over augmentations.

    mean over augmentations of log N(φ; μ_in, σ_in) − log N(φ; μ_out, σ_out), of ``target_phi``
    (..., P, A) against a fit (P, A) or of the target's shape (see :func:`at_points`); shape
    (..., P); finite, and as large as ((φ − μ) / σ)² / 2: 5e11 at a distance of 1 with σ at its
    floor :data:`MIN_STD`, where the logistic has long rounded to 1.
    """
    target_phi = _target(target_phi, gaussians)
    if np.isnan(gaussians.mu_in).any() or np.isnan(gaussians.mu_out).any():
        raise ValueError("online LiRA needs IN and OUT shadow models; some point has neither")
    ratio = _normal_logpdf(target_phi, gaussians.mu_in, gaussians.sd_in) - _normal_logpdf(
        target_phi, gaussians.mu_out, gaussians.sd_out
    )
    return np.asarray(ratio.mean(axis=-1))


def offline_log_odds(target_phi: np.ndarray, gaussians: GaussianFit) -> np.ndarray:
    """Offline LiRA's statistic: the log-odds of the mean of Φ((φ − μ_out) / σ_out).

    Computed from ``log_ndtr`` of both tails (:func:`attacks.logodds.of_mean`), so it stays
    exact where Φ rounds to 1 (z above 8.3) or to 0 (below −38): the log-odds of z = 40 is about
    z²/2 = 800. ``target_phi`` (..., P, A) against a fit (P, A) or of the target's shape; shape
    (..., P).
    """
    target_phi = _target(target_phi, gaussians)
    if np.isnan(gaussians.mu_out).any():
        raise ValueError("offline LiRA needs OUT shadow models; no shadow is OUT on some point")
    z = (target_phi - gaussians.mu_out) / gaussians.sd_out
    return logodds.of_mean(log_ndtr(z), log_ndtr(-z))


def online_scores(target_phi: np.ndarray, gaussians: GaussianFit) -> np.ndarray:
    """Online LiRA scores: :func:`online_log_odds` through ``to_unit_interval``; in (0, 1)."""
    return logodds.to_unit_interval(online_log_odds(target_phi, gaussians))


def offline_scores(target_phi: np.ndarray, gaussians: GaussianFit) -> np.ndarray:
    """Offline LiRA scores: :func:`offline_log_odds` through ``to_unit_interval``; in (0, 1)."""
    return logodds.to_unit_interval(offline_log_odds(target_phi, gaussians))


def online(
    target_phi: np.ndarray,
    shadow_phi: np.ndarray,
    shadow_in: np.ndarray,
    *,
    global_variance: bool = False,
) -> np.ndarray:
    """Online LiRA: the likelihood ratio of the IN and OUT Gaussians.

    score = to_unit_interval(mean over augmentations of log N(φ; μ_in, σ_in) − log N(φ; μ_out,
    σ_out)), with the Gaussians of :func:`fit`. The paper's logistic of that log-ratio ties
    every point above 37 at exactly 1.0; :func:`attacks.logodds.to_unit_interval` ranks them
    the same way without reaching 1.

    Parameters
    ----------
    target_phi : ndarray of float, shape (P, A) or (..., P, A)
        The target model's statistic (:func:`stable_logit_scaling`) on every point and query;
        leading axes score several targets on the same points at once.
    shadow_phi : ndarray of float, shape (S, P, A)
    shadow_in : ndarray of bool, shape (S, P)
    global_variance : bool, keyword-only
        One σ_in and one σ_out per augmentation, from all residuals (better with few shadows).

    Returns
    -------
    ndarray of float64 in (0, 1), shape ``target_phi.shape[:-1]``; higher means member.

    Raises
    ------
    ValueError
        If shapes disagree or a statistic is not finite (see also :func:`fit`).
    """
    return online_scores(target_phi, fit(shadow_phi, shadow_in, global_variance=global_variance))


def offline(
    target_phi: np.ndarray,
    shadow_phi: np.ndarray,
    shadow_in: np.ndarray,
    *,
    global_variance: bool = False,
) -> np.ndarray:
    """Offline LiRA: the one-sided test against the OUT Gaussian, Φ((φ − μ_out) / σ_out).

    Averaged over augmentations, and mapped by its exact log-odds (:func:`offline_log_odds`)
    through :func:`attacks.logodds.to_unit_interval`: the same ranking as the mean of Φ, without
    the ties where Φ rounds to 1. Only OUT shadows matter (``shadow_in`` selects them), so no
    shadow model needs to train on the target's points.

    Parameters
    ----------
    target_phi : ndarray of float, shape (P, A) or (..., P, A)
    shadow_phi : ndarray of float, shape (S, P, A)
    shadow_in : ndarray of bool, shape (S, P)
    global_variance : bool, keyword-only

    Returns
    -------
    ndarray of float64 in (0, 1), shape ``target_phi.shape[:-1]``; higher means member.

    Raises
    ------
    ValueError
        If shapes disagree or a statistic is not finite (see also :func:`fit`).
    """
    return offline_scores(target_phi, fit(shadow_phi, shadow_in, global_variance=global_variance))
