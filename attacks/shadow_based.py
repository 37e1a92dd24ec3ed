"""LiRA and RMIA run over observations, their options tuned on held-out shadow models.

The shadow models are the train models; tuning holds a quarter of them out as targets with known
membership (:meth:`Observations.holdout`) and keeps the option with the best TPR at 1% FPR.
"""

from __future__ import annotations

import itertools

import numpy as np

from attacks import features, lira, rmia
from attacks.evaluation import holdout_indices, tpr_at_fpr
from attacks.observations import Observations

__all__ = ["RMIA_A_GRID", "RMIA_GAMMA_GRID", "lira_offline", "lira_online", "rmia_attack"]

RMIA_A_GRID: tuple[float | None, ...] = (None, 0.0, 0.25, 0.5, 0.75, 1.0)
"""Values of RMIA's ``a`` tried when tuning (None is the online attack)."""

RMIA_GAMMA_GRID = (1.0, 1.5, 2.0, 4.0)
"""Values of RMIA's γ tried when tuning."""

_TUNING_FPR = 0.01


def phis(obs: Observations) -> tuple[np.ndarray, np.ndarray]:
    """LiRA statistics of the shadows (S, P, A) and the targets (T, K, A)."""
    shadow = lira.stable_logit_scaling(obs.shadow_logits, obs.labels[None, :, None])
    target = lira.stable_logit_scaling(obs.target_logits, obs.target_labels[..., None])
    return shadow, target


def _lira(obs: Observations, *, online: bool, global_variance: bool | None) -> np.ndarray:
    if global_variance is None:
        global_variance = _tune_lira(obs, online=online)
    shadow_phi, target_phi = phis(obs)
    gaussians = lira.at_points(
        lira.fit(shadow_phi, obs.shadow_in, global_variance=global_variance), obs.target_points
    )
    if online:
        return lira.online_scores(target_phi, gaussians)
    return lira.offline_scores(target_phi, gaussians)


def _tune_lira(obs: Observations, *, online: bool) -> bool:
    """Per-point or global variance, whichever wins on held-out shadows (global if too few)."""
    if obs.n_shadows < 4:
        return True
    held = obs.holdout(holdout_indices(obs.n_shadows))
    assert held.target_in is not None
    results = {
        choice: tpr_at_fpr(
            held.target_in, _lira(held, online=online, global_variance=choice), _TUNING_FPR
        )
        for choice in (True, False)
    }
    return results[True] >= results[False]


def lira_offline(obs: Observations, *, global_variance: bool | None = None) -> np.ndarray:
    """Offline LiRA (:func:`attacks.lira.offline`) of every target on its challenge points.

    Parameters
    ----------
    obs : Observations
    global_variance : bool or None, keyword-only
        None tunes it on held-out shadows.

    Returns
    -------
    ndarray of float64 in (0, 1), shape (T, K)
    """
    return _lira(obs, online=False, global_variance=global_variance)


def lira_online(obs: Observations, *, global_variance: bool | None = None) -> np.ndarray:
    """Online LiRA (:func:`attacks.lira.online`) of every target on its challenge points.

    Parameters
    ----------
    obs : Observations
    global_variance : bool or None, keyword-only
        None tunes it on held-out shadows.

    Returns
    -------
    ndarray of float64 in (0, 1), shape (T, K)
    """
    return _lira(obs, online=True, global_variance=global_variance)


def _true_class_probabilities(obs: Observations) -> dict[str, np.ndarray]:
    """p_y averaged over queries: shadows (S, P), targets (T, K), population (S, Z), (T, Z)."""
    return {
        "shadow": features.true_class_probability(
            obs.shadow_logits, obs.labels[None, :, None]
        ).mean(axis=-1),
        "target": features.true_class_probability(
            obs.target_logits, obs.target_labels[..., None]
        ).mean(axis=-1),
        "shadow_z": features.true_class_probability(
            obs.shadow_population_logits, obs.population_labels[None, :, None]
        ).mean(axis=-1),
        "target_z": features.true_class_probability(
            obs.target_population_logits, obs.population_labels[None, :, None]
        ).mean(axis=-1),
    }


def _rmia(
    obs: Observations, p: dict[str, np.ndarray], *, gamma: float, a: float | None
) -> np.ndarray:
    floor = np.finfo(np.float64).tiny
    p_x = np.maximum(rmia.reference_probability(p["shadow"], obs.shadow_in, a=a), floor)
    usable = _usable_population(obs, a)
    z_in = None if obs.shadow_population_in is None else obs.shadow_population_in[:, usable]
    p_z = np.maximum(rmia.reference_probability(p["shadow_z"][:, usable], z_in, a=a), floor)
    ratio_x = p["target"] / p_x[obs.target_points]
    ratio_z = p["target_z"][:, usable] / p_z
    return rmia.ratios_to_scores(ratio_x, ratio_z, gamma=gamma)


def _usable_population(obs: Observations, a: float | None) -> np.ndarray:
    """The population points RMIA can normalise: all of them online, and offline those some
    shadow did not train on (every point of a reserved population)."""
    n_population = obs.population_labels.shape[0]
    if a is None or obs.shadow_population_in is None:
        return np.ones(n_population, dtype=bool)
    return np.asarray((~obs.shadow_population_in).any(axis=0))


def _tune_rmia(obs: Observations) -> tuple[float, float | None]:
    """The (γ, a) of the grids with the best TPR at 1% FPR on held-out shadows."""
    held = obs.holdout(holdout_indices(obs.n_shadows))
    assert held.target_in is not None
    p = _true_class_probabilities(held)
    out_everywhere = (~held.shadow_in).any(axis=0).all()
    grid = [
        (gamma, a)
        for gamma, a in itertools.product(RMIA_GAMMA_GRID, RMIA_A_GRID)
        if a is None or out_everywhere
    ]
    results = [
        tpr_at_fpr(held.target_in, _rmia(held, p, gamma=gamma, a=a), _TUNING_FPR)
        for gamma, a in grid
    ]
    return grid[int(np.argmax(results))]


def rmia_attack(
    obs: Observations, *, tune: bool = True, gamma: float = 1.0, a: float | None = None
) -> np.ndarray:
    """RMIA (:func:`attacks.rmia.scores`) of every target, the shadows as reference models.

    Parameters
    ----------
    obs : Observations
    tune : bool, keyword-only
        Pick γ from :data:`RMIA_GAMMA_GRID` and ``a`` from :data:`RMIA_A_GRID` on held-out
        shadows (needs 2 shadows), ignoring ``gamma`` and ``a``.
    gamma : float > 0, keyword-only
    a : float in [0, 1] or None, keyword-only
        None is the online attack, a number the offline one.

    Returns
    -------
    ndarray of float64 in (0, 1), shape (T, K)
    """
    if tune:
        gamma, a = _tune_rmia(obs)
    return _rmia(obs, _true_class_probabilities(obs), gamma=gamma, a=a)
