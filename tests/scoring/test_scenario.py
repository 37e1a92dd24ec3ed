import numpy as np
import pytest

import scoring
from scoring.scenario import downsample_roc


def scenario(seed, *, n_models=20, n_points=100, signal=0.4):
    rng = np.random.default_rng(seed)
    labels = [rng.permutation(np.repeat([0, 1], n_points // 2)) for _ in range(n_models)]
    scores = [
        np.clip(0.5 + signal * (y - 0.5) + 0.2 * rng.standard_normal(n_points), 0, 1)
        for y in labels
    ]
    return labels, scores


def test_metrics_are_those_of_the_concatenation():
    labels, scores = scenario(0)
    result = scoring.score_scenario(labels, scores, n_boot=100)
    expected = scoring.score(np.concatenate(labels), np.concatenate(scores))
    assert set(result) == {*scoring.METRIC_KEYS, "ci", "eps_lb", "roc"}
    for key in scoring.METRIC_KEYS:
        assert result[key] == expected[key]
    low, high = result["ci"]
    assert low <= result["TPR_FPR_1000"] <= high
    assert result["eps_lb"] > 0


def test_primary_metric_and_seed_choose_the_interval():
    labels, scores = scenario(1)
    auc = scoring.score_scenario(labels, scores, primary="AUC", seed=5, n_boot=100)
    assert auc["ci"][0] <= auc["AUC"] <= auc["ci"][1]
    assert (
        auc["ci"] == scoring.score_scenario(labels, scores, primary="AUC", seed=5, n_boot=100)["ci"]
    )


def test_invalid_model_is_named():
    labels, scores = scenario(2, n_models=3)
    scores[1] = scores[1].copy()
    scores[1][7] = np.nan
    with pytest.raises(ValueError, match="scores contain NaN at index 7 of model 1"):
        scoring.score_scenario(labels, scores)


@pytest.mark.parametrize(
    ("options", "message"),
    [({"primary": "TPR"}, "primary must be one of"), ({"delta": 1.5}, "delta must lie")],
)
def test_invalid_options_are_refused(options, message):
    labels, scores = scenario(3, n_models=2)
    with pytest.raises(ValueError, match=message):
        scoring.score_scenario(labels, scores, **options)


def test_downsampled_roc_is_a_faithful_subset():
    labels, scores = scenario(4, n_models=100, n_points=200)
    fpr, tpr = scoring.roc_curve(np.concatenate(labels), np.concatenate(scores))
    assert fpr.shape[0] > 2000
    roc = downsample_roc(fpr, tpr)
    small_fpr, small_tpr = np.array(roc["fpr"]), np.array(roc["tpr"])
    assert small_fpr.shape[0] <= 500
    exact = set(zip(fpr.tolist(), tpr.tolist()))
    assert all(point in exact for point in zip(roc["fpr"], roc["tpr"]))
    assert (small_fpr[0], small_tpr[0]) == (0.0, 0.0)
    assert (small_fpr[-1], small_tpr[-1]) == (1.0, 1.0)
    # Dense at low FPR: every decade of a log-log plot keeps several points.
    smallest = fpr[fpr > 0].min()
    for decade in 10.0 ** np.arange(np.ceil(np.log10(smallest)), 0):
        assert np.sum((small_fpr >= decade) & (small_fpr < 10 * decade)) >= 20
    # MICO's levels are read off the thinned curve exactly.
    for level in scoring.FPR_LEVELS:
        assert small_tpr[small_fpr < level].max() == tpr[fpr < level].max()


def test_small_roc_is_returned_whole():
    roc = downsample_roc(np.array([0.0, 0.5, 1.0]), np.array([0.0, 1.0, 1.0]))
    assert roc == {"fpr": [0.0, 0.5, 1.0], "tpr": [0.0, 1.0, 1.0]}
