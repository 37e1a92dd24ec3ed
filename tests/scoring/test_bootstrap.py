import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scoring
from scoring.metrics import concatenate_models
from scoring.resample import ResampledCurves


def scenario(seed, *, n_models=12, n_points=20, signal=0.3):
    rng = np.random.default_rng(seed)
    labels = [rng.permutation(np.repeat([0, 1], n_points // 2)) for _ in range(n_models)]
    scores = [
        np.clip(0.5 + signal * (y - 0.5) + 0.2 * rng.standard_normal(n_points), 0, 1).round(2)
        for y in labels
    ]
    return labels, scores


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.lists(st.integers(0, 3), min_size=12, max_size=12))
def test_a_resample_scores_like_its_repeated_models(seed, counts):
    labels, scores = scenario(seed)
    if not any(counts):
        counts[0] = 1
    curves = ResampledCurves(*concatenate_models(labels, scores))
    repeated = [j for j, c in enumerate(counts) for _ in range(c)]
    expected = scoring.score(
        np.concatenate([labels[j] for j in repeated]), np.concatenate([scores[j] for j in repeated])
    )
    weights = np.array([counts], dtype=float)
    for key in scoring.METRIC_KEYS:
        value = curves.metric(weights, key)[0]
        if key == "AUC":
            assert value == pytest.approx(expected[key], abs=1e-12)
        else:
            assert value == expected[key], key


def test_interval_is_reproducible_from_the_seed():
    labels, scores = scenario(1)
    a = scoring.bootstrap_ci(labels, scores, seed=3, n_boot=200)
    assert a == scoring.bootstrap_ci(labels, scores, seed=3, n_boot=200)
    assert a != scoring.bootstrap_ci(labels, scores, seed=4, n_boot=200)
    assert a[0] <= a[1]


def test_interval_surrounds_the_estimate_and_shrinks_with_more_models():
    small = scenario(2, n_models=10)
    large = scenario(2, n_models=160)
    for labels, scores in (small, large):
        low, high = scoring.bootstrap_ci(labels, scores, metric="AUC", n_boot=300)
        auc = scoring.score(np.concatenate(labels), np.concatenate(scores))["AUC"]
        assert low <= auc <= high
    width = [
        np.diff(scoring.bootstrap_ci(*data, metric="AUC", n_boot=300))[0] for data in (small, large)
    ]
    assert width[1] < width[0] / 2


def test_paired_bootstrap_of_a_submission_against_itself_is_a_tie():
    labels, scores = scenario(3)
    result = scoring.paired_bootstrap(labels, scores, scores, metric="AUC", n_boot=200)
    assert result == {"difference": 0.0, "ci": [0.0, 0.0], "p_value": 1.0, "separated": False}


def test_paired_bootstrap_separates_a_real_difference():
    labels, strong = scenario(4, n_models=30, signal=0.6)
    _, weak = scenario(5, n_models=30, signal=0.0)
    result = scoring.paired_bootstrap(labels, strong, weak, metric="TPR_FPR_1000", n_boot=300)
    assert result["difference"] > 0
    assert result["separated"] is True
    assert result["ci"][0] > 0
    assert result["p_value"] < 0.01


def test_unknown_metric_is_refused():
    labels, scores = scenario(6)
    with pytest.raises(ValueError, match="metric must be one of"):
        scoring.bootstrap_ci(labels, scores, metric="TPR")
