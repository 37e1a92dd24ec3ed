"""Invariants of every registered attack, on synthetic observations with known answers."""

from dataclasses import replace

import numpy as np
import pytest

import attacks
from attacks import features
from attacks.evaluation import evaluate
from tests.attacks.synthetic import make_observations, truth

NAMES = list(attacks.REGISTRY)

LEARNED = {"shokri", "ensemble"}
"""Attacks whose statistic is a trained classifier's output, which ties points by itself: a
forest's vote fraction, an SVM on probability vectors whose true-class entries are all 1.0."""

DISCRETE = {"label-only"}
"""Attacks whose statistic takes few values by design: label-only's robustness is a fraction of
its queries."""


@pytest.fixture(scope="module")
def weak():
    return make_observations(shift=1.5, seed=1)


@pytest.fixture(scope="module")
def saturated():
    """Members 50 logits ahead, so p_y rounds to 1.0 on nearly every member; no two targets share
    a point, so every (target, point) has its own outputs and its own statistic."""
    obs = make_observations(
        shift=50.0, noise=4.0, n_targets=4, per_target=60, n_points=240, disjoint=True, seed=5
    )
    p = features.true_class_probability(obs.target_logits, obs.target_labels[..., None])
    assert (p.mean(axis=-1)[truth(obs)] == 1.0).mean() > 0.95
    return obs


def subset(obs, rows):
    """The same scenario with only some targets, in a new order."""
    return replace(
        obs,
        target_points=obs.target_points[rows],
        target_logits=obs.target_logits[rows],
        target_population_logits=obs.target_population_logits[rows],
        target_grad_norms=obs.target_grad_norms[rows],
        target_ids=tuple(obs.target_ids[r] for r in rows),
        target_in=obs.target_in[rows],
        target_robustness=obs.target_robustness[rows],
    )


@pytest.mark.parametrize("name", NAMES)
def test_scores_are_probabilities_per_target_and_independent_of_other_targets(name, weak):
    predictions = attacks.run(name, weak)
    assert list(predictions) == list(weak.target_ids)
    for scores in predictions.values():
        assert scores.shape == (weak.target_points.shape[1],)
        assert scores.dtype == np.float64
        assert ((scores >= 0) & (scores <= 1)).all()
    # No per-model normalisation and no transduction: a target's scores do not depend on which
    # other targets are scored with it, or in which order.
    rows = [4, 0]
    alone = attacks.run(name, subset(weak, rows))
    for row in rows:
        np.testing.assert_allclose(alone[weak.target_ids[row]], predictions[weak.target_ids[row]])


@pytest.mark.parametrize("name", NAMES)
def test_separable_members_are_found(name):
    obs = make_observations(shift=20.0, noise=0.1, seed=2)
    metrics = evaluate(truth(obs), attacks.get(name).function(obs))
    assert metrics["AUC"] > 0.97
    assert metrics["TPR_FPR_1000"] > 0.8


@pytest.mark.parametrize("name", NAMES)
def test_no_signal_is_near_chance(name):
    obs = make_observations(shift=0.0, n_targets=10, per_target=60, seed=3)
    metrics = evaluate(truth(obs), attacks.get(name).function(obs))
    assert abs(metrics["AUC"] - 0.5) < 0.12


@pytest.mark.parametrize("name", ["lira-offline", "lira-online", "rmia", "calibrated-loss"])
def test_shadow_based_attacks_beat_the_loss_on_points_of_varying_difficulty(name, weak):
    loss = evaluate(truth(weak), attacks.get("loss").function(weak))
    metrics = evaluate(truth(weak), attacks.get(name).function(weak))
    assert metrics["AUC"] > loss["AUC"] + 0.05


@pytest.mark.parametrize("name", NAMES)
def test_saturated_outputs_score_strictly_inside_the_unit_interval(name, saturated):
    scores = attacks.get(name).function(saturated)
    assert (scores > 0.0).all() and (scores < 1.0).all()


@pytest.mark.parametrize("name", [name for name in NAMES if name not in LEARNED | DISCRETE])
def test_saturated_outputs_that_differ_get_distinct_scores(name, saturated):
    # Every point's statistic differs, so as many distinct scores as points: no block of
    # confident points ties at the top of one global threshold.
    scores = attacks.get(name).function(saturated)
    assert np.unique(scores).size == scores.size


def test_unknown_attack_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown attack 'lira'.*lira-offline"):
        attacks.get("lira")


def test_white_box_flag_marks_the_attacks_needing_gradients(weak):
    without = replace(weak, shadow_grad_norms=None, target_grad_norms=None)
    for attack in attacks.REGISTRY.values():
        if attack.white_box:
            with pytest.raises(ValueError, match="gradient"):
                attack.function(without)


def test_needs_robustness_flag_marks_the_attacks_needing_robustness(weak):
    without = replace(weak, shadow_robustness=None, target_robustness=None)
    flagged = [attack for attack in attacks.REGISTRY.values() if attack.needs_robustness]
    assert [attack.name for attack in flagged] == ["label-only"]
    for attack in flagged:
        with pytest.raises(ValueError, match="shadow_robustness and target_robustness are None"):
            attack.function(without)
    for attack in attacks.REGISTRY.values():
        if not attack.needs_robustness and not attack.white_box:
            attack.function(without)


def test_run_rejects_scores_outside_the_unit_interval(weak, monkeypatch):
    broken = attacks.Attack("broken", lambda obs: np.full(obs.target_points.shape, 1.5), "")
    monkeypatch.setitem(attacks.REGISTRY, "broken", broken)
    with pytest.raises(ValueError, match=r"scored 1.5 .* point 0 of model \('dev', 100\)"):
        attacks.run("broken", weak)
