"""One registry of every reference attack, and running one into submission-ready predictions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from attacks import ensemble, label_only, shadow_based, shokri, thresholds
from attacks.observations import ModelId, Observations

__all__ = ["REGISTRY", "Attack", "get", "run"]


@dataclass(frozen=True)
class Attack:
    """A reference attack.

    Attributes
    ----------
    name : str
        Registry key and baseline name, e.g. ``"lira-offline"``.
    function : callable
        ``function(observations) -> scores`` of shape (T, K) in [0, 1], higher means member: a
        strictly increasing map of the attack's statistic, the same for every target model,
        that ties no two points whose statistics differ and reaches neither 0 nor 1
        (:func:`attacks.logodds.to_unit_interval`).
    summary : str
        One line for listings and leaderboards.
    white_box : bool
        Needs gradient norms in the observations.
    needs_robustness : bool
        Needs the label robustness of the observations (``shadow_robustness`` and
        ``target_robustness``, :func:`attacks.label_only.model_robustness`); callers that did
        not compute it skip the attack.
    """

    name: str
    function: Callable[[Observations], np.ndarray]
    summary: str
    white_box: bool = False
    needs_robustness: bool = False


REGISTRY: dict[str, Attack] = {
    attack.name: attack
    for attack in (
        Attack("loss", thresholds.loss, "Yeom et al. 2018: low cross-entropy loss"),
        Attack("confidence", thresholds.confidence, "high true-class probability"),
        Attack("entropy", thresholds.entropy, "low entropy of the output distribution"),
        Attack(
            "mentropy",
            thresholds.mentropy,
            "Song & Mittal 2021: modified entropy, class-dependent thresholds",
        ),
        Attack(
            "calibrated-loss",
            thresholds.calibrated_loss,
            "Watson et al. 2022: loss minus the mean loss of OUT shadow models",
        ),
        Attack("shokri", shokri.shokri, "Shokri et al. 2017: per-class SVM on probabilities"),
        Attack(
            "lira-offline",
            shadow_based.lira_offline,
            "Carlini et al. 2022: one-sided test against OUT shadow Gaussians",
        ),
        Attack(
            "lira-online",
            shadow_based.lira_online,
            "Carlini et al. 2022: likelihood ratio of IN and OUT shadow Gaussians",
        ),
        Attack(
            "rmia",
            shadow_based.rmia_attack,
            "Zarifzadeh et al. 2024: likelihood ratios against population points",
        ),
        Attack(
            "ensemble",
            ensemble.ensemble,
            "10 output features + LiRA into calibrated RF / LightGBM / MLP",
        ),
        Attack(
            "gradient-norm",
            thresholds.gradient_norm,
            "white-box: small loss-gradient norm at the target's weights",
            white_box=True,
        ),
        Attack(
            "label-only",
            label_only.label_only,
            "Choquette-Choo et al. 2021: labels robust to noise, calibrated by OUT shadows",
            needs_robustness=True,
        ),
    )
}
"""Every reference attack by name, in the order of the leaderboard."""


def get(name: str) -> Attack:
    """The attack called ``name``.

    Raises
    ------
    ValueError
        If no attack has that name; the message lists the names.
    """
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown attack {name!r}; known attacks: {', '.join(REGISTRY)}") from None


def run(name: str, observations: Observations) -> dict[ModelId, np.ndarray]:
    """Run an attack and key its scores by target model, ready for a submission.

    Parameters
    ----------
    name : str
        A key of :data:`REGISTRY`.
    observations : Observations

    Returns
    -------
    dict
        ``(phase, model index) -> scores`` of shape (K,), float64 in [0, 1], in the order of
        that model's challenge points.

    Raises
    ------
    ValueError
        If the attack is unknown, cannot run on these observations, or returns scores of the
        wrong shape or outside [0, 1] (a bug in the attack).
    """
    scores = np.asarray(get(name).function(observations), dtype=np.float64)
    if scores.shape != observations.target_points.shape:
        raise ValueError(
            f"attack {name!r} returned shape {scores.shape}, "
            f"expected {observations.target_points.shape}"
        )
    bad = np.flatnonzero(~((scores >= 0.0) & (scores <= 1.0)))
    if bad.size:
        row, column = np.unravel_index(bad[0], scores.shape)
        raise ValueError(
            f"attack {name!r} scored {scores[row, column]} (outside [0, 1]) for point {column} "
            f"of model {observations.target_ids[row]}"
        )
    return {model: scores[row] for row, model in enumerate(observations.target_ids)}
