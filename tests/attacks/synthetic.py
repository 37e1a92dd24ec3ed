"""Synthetic observations where the answer is known: members' true-class logit is shifted."""

from __future__ import annotations

import numpy as np

from attacks import Observations


def truth(obs: Observations) -> np.ndarray:
    """The targets' membership, shape (T, K); synthetic observations always carry it."""
    assert obs.target_in is not None
    return obs.target_in


def make_observations(
    *,
    shift: float = 3.0,
    n_shadows: int = 16,
    n_targets: int = 6,
    n_points: int = 120,
    per_target: int = 40,
    n_classes: int = 5,
    n_queries: int = 2,
    n_population: int = 60,
    noise: float = 0.5,
    disjoint: bool = False,
    seed: int = 0,
) -> Observations:
    """Observations of models whose true-class logit is a per-point difficulty plus ``shift`` on
    members plus Gaussian noise; other logits are standard normal. Half of every target's points
    are members (``target_in``), shadows are IN with probability one half, the population is OUT.
    Gradient norms shrink, and label robustness (a fraction of 31 queries) grows, as the
    true-class logit grows. With ``disjoint`` no two targets share a challenge point
    (``n_points`` must be at least ``n_targets * per_target``).
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_classes, n_points)
    population_labels = rng.integers(0, n_classes, n_population)
    difficulty = rng.normal(0.0, 2.0, n_points)
    population_difficulty = rng.normal(0.0, 2.0, n_population)

    def logits(true_logit: np.ndarray, label: np.ndarray) -> np.ndarray:
        out = rng.normal(size=(*true_logit.shape, n_queries, n_classes))
        true = true_logit[..., None] + noise * rng.normal(size=(*true_logit.shape, n_queries))
        onehot = np.arange(n_classes) == label[..., None, None]
        return np.where(onehot, true[..., None], out)

    shadow_in = rng.random((n_shadows, n_points)) < 0.5
    shadow_true = difficulty + shift * shadow_in
    if disjoint:
        target_points = rng.permutation(n_points)[: n_targets * per_target]
        target_points = target_points.reshape(n_targets, per_target)
    else:
        target_points = np.stack(
            [rng.choice(n_points, per_target, replace=False) for _ in range(n_targets)]
        )
    target_in = np.zeros((n_targets, per_target), dtype=bool)
    target_in[:, : per_target // 2] = True
    target_in = rng.permuted(target_in, axis=1)
    target_true = difficulty[target_points] + shift * target_in

    def grads(true_logit: np.ndarray) -> np.ndarray:
        return np.exp(-true_logit + 0.3 * rng.normal(size=true_logit.shape))

    def robustness(true_logit: np.ndarray) -> np.ndarray:
        return rng.binomial(31, 1.0 / (1.0 + np.exp(-(true_logit - 1.0) / 2.0))) / 31

    pop_true = np.broadcast_to(population_difficulty, (n_shadows + n_targets, n_population))
    pop_logits = logits(pop_true, np.broadcast_to(population_labels, pop_true.shape))
    return Observations(
        labels=labels,
        shadow_logits=logits(shadow_true, np.broadcast_to(labels, shadow_true.shape)),
        shadow_in=shadow_in,
        target_points=target_points,
        target_logits=logits(target_true, labels[target_points]),
        population_labels=population_labels,
        shadow_population_logits=pop_logits[:n_shadows],
        target_population_logits=pop_logits[n_shadows:],
        target_ids=tuple(("dev", 100 + t) for t in range(n_targets)),
        shadow_grad_norms=grads(shadow_true),
        target_grad_norms=grads(target_true),
        target_in=target_in,
        shadow_robustness=robustness(shadow_true),
        target_robustness=robustness(target_true),
    )
