"""Class-dependent thresholds against brute force; each statistic attack on known answers."""

from dataclasses import replace

import numpy as np
import pytest

from attacks import thresholds
from attacks.evaluation import evaluate
from tests.attacks.synthetic import make_observations, truth


def balanced_accuracy(values, members, threshold):
    return 0.5 * ((values[members] <= threshold).mean() + (values[~members] > threshold).mean())


def brute_force_thresholds(values, classes, members, n_classes):
    out = np.full(n_classes, np.nan)
    for c in range(n_classes):
        v, m = values[classes == c], members[classes == c]
        if m.all() or not m.any():
            continue
        accuracy = [balanced_accuracy(v, m, t) for t in np.sort(v)]
        best = np.sort(v)[int(np.argmax(accuracy))]
        out[c] = best
    return out


@pytest.mark.parametrize("seed", range(5))
def test_class_thresholds_match_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = 300
    classes = rng.integers(0, 6, n)
    members = rng.random(n) < 0.4
    values = np.round(rng.normal(size=n) - members * classes * 0.3, 1)  # ties on purpose
    members[classes == 5] = True  # a class without non-members takes the overall threshold
    got = thresholds.class_thresholds(values, classes, members, n_classes=7)
    expected = brute_force_thresholds(values, classes, members, 7)
    overall = brute_force_thresholds(values, np.zeros(n, int), members, 1)[0]
    expected[np.isnan(expected)] = overall
    # Among tied best accuracies brute force keeps the smallest threshold, so compare accuracy.
    for c in range(7):
        v, m = values[classes == c], members[classes == c]
        if m.all() or not m.any():
            assert got[c] == overall
            continue
        assert balanced_accuracy(v, m, got[c]) == pytest.approx(
            balanced_accuracy(v, m, expected[c])
        )


def test_class_thresholds_need_both_kinds():
    with pytest.raises(ValueError, match="members and non-members"):
        thresholds.class_thresholds(np.zeros(3), np.zeros(3, int), np.ones(3, bool), n_classes=1)


def test_loss_equals_confidence_with_one_query():
    obs = make_observations(n_queries=1)
    np.testing.assert_allclose(thresholds.loss(obs), thresholds.confidence(obs))


def test_calibrated_loss_removes_point_difficulty():
    # Points differ widely in difficulty; calibration should beat the raw loss.
    obs = make_observations(shift=1.5, n_shadows=24, noise=0.3, seed=3)
    raw = evaluate(truth(obs), thresholds.loss(obs))["AUC"]
    calibrated = evaluate(truth(obs), thresholds.calibrated_loss(obs))["AUC"]
    assert calibrated > raw + 0.1


def test_gradient_norm_needs_gradients():
    obs = make_observations()
    with pytest.raises(ValueError, match="gradient norms"):
        thresholds.gradient_norm(replace(obs, shadow_grad_norms=None))
