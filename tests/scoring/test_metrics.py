import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score, roc_curve

import scoring
from tests.scoring.reference import literal_score

SCALARS = scoring.METRIC_KEYS


@st.composite
def labelled_scores(draw, max_size=60):
    """Both classes present; scores continuous, heavily tied, constant or ordered by label."""
    n = draw(st.integers(2, max_size))
    labels = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    labels[0], labels[1] = 0, 1
    kind = draw(st.sampled_from(["continuous", "tied", "constant", "by_label", "against_label"]))
    if kind == "continuous":
        scores = draw(st.lists(st.floats(0, 1), min_size=n, max_size=n))
    elif kind == "tied":
        values = draw(st.lists(st.floats(0, 1), min_size=1, max_size=4))
        scores = [values[draw(st.integers(0, len(values) - 1))] for _ in range(n)]
    elif kind == "constant":
        scores = [draw(st.floats(0, 1))] * n
    else:
        ranks = np.argsort(np.argsort(labels, kind="stable"), kind="stable")
        sign = 1 if kind == "by_label" else -1
        scores = list((0.5 + sign * (ranks - n / 2) / (2 * n)).round(2))
    return np.array(labels), np.array(scores, dtype=float)


@settings(max_examples=200, deadline=None)
@given(labelled_scores())
def test_score_equals_scikit_learn(data):
    labels, scores = data
    result = scoring.score(labels, scores)
    fpr, tpr, _ = roc_curve(labels, scores)
    np.testing.assert_array_equal(result["fpr"], fpr)
    np.testing.assert_array_equal(result["tpr"], tpr)
    assert result["AUC"] == roc_auc_score(labels, scores)
    for level in scoring.FPR_LEVELS:
        assert result[f"TPR_FPR_{round(level * 1e4)}"] == max(tpr[fpr < level])
    assert result["MIA"] == np.max(tpr - fpr)
    assert result["accuracy"] == np.max(1 - (fpr + (1 - tpr)) / 2)


@settings(max_examples=100, deadline=None)
@given(labelled_scores(max_size=30))
def test_score_equals_literal_reference(data):
    labels, scores = data
    result = scoring.score(labels, scores)
    expected = literal_score(labels, scores)
    np.testing.assert_array_equal(result["fpr"], expected["fpr"])
    np.testing.assert_array_equal(result["tpr"], expected["tpr"])
    for key in SCALARS:
        assert result[key] == pytest.approx(expected[key], abs=1e-12), key


def test_score_keys_and_types():
    result = scoring.score([0, 1, 0, 1], [0.1, 0.9, 0.4, 0.3])
    assert set(result) == {*SCALARS, "fpr", "tpr"}
    assert all(type(result[key]) is float for key in SCALARS)
    assert isinstance(result["fpr"], np.ndarray)


@settings(max_examples=60, deadline=None)
@given(labelled_scores(), st.randoms(use_true_random=False))
def test_score_ignores_the_order_of_points(data, random):
    labels, scores = data
    permutation = list(range(labels.shape[0]))
    random.shuffle(permutation)
    a = scoring.score(labels, scores)
    b = scoring.score(labels[permutation], scores[permutation])
    for key in SCALARS:
        assert a[key] == b[key]
    np.testing.assert_array_equal(a["fpr"], b["fpr"])


@settings(max_examples=60, deadline=None)
@given(labelled_scores())
def test_score_depends_only_on_the_ranking(data):
    labels, scores = data
    distinct, rank = np.unique(scores, return_inverse=True)
    a = scoring.score(labels, scores)
    b = scoring.score(labels, (rank + 1) / distinct.shape[0])
    for key in SCALARS:
        assert a[key] == b[key]


def test_constant_scores_are_a_coin_flip():
    result = scoring.score([0, 1, 1, 0, 1], [0.3] * 5)
    assert result["fpr"].tolist() == [0.0, 1.0]
    assert result["tpr"].tolist() == [0.0, 1.0]
    assert all(result[f"TPR_FPR_{round(level * 1e4)}"] == 0.0 for level in scoring.FPR_LEVELS)
    assert (result["AUC"], result["MIA"], result["accuracy"]) == (0.5, 0.0, 0.5)


def test_ties_across_classes_count_as_one_threshold():
    # One member and one non-member share the top score: the first ROC point has FPR 1/2.
    result = scoring.score([1, 0, 1, 0], [0.9, 0.9, 0.2, 0.1])
    assert result["fpr"].tolist() == [0.0, 0.5, 0.5, 1.0]
    assert result["TPR_FPR_2000"] == 0.0


def test_fpr_level_is_strict():
    # 10 non-members: the point at FPR exactly 0.1 must not count for TPR_FPR_1000.
    labels = [1] * 5 + [0] * 10
    scores = [0.9, 0.8, 0.2, 0.2, 0.2, 0.85, *[0.1] * 9]
    result = scoring.score(labels, scores)
    assert result["TPR_FPR_1000"] == 0.2
    assert result["TPR_FPR_1500"] == 1.0


@pytest.mark.parametrize(
    ("labels", "scores", "message"),
    [
        ([0, 1], [0.5], "differ in length: 2 != 1"),
        ([], [], "empty"),
        ([0, 2, 1], [0.1, 0.2, 0.3], "labels must be 0 or 1, got 2 at index 1"),
        ([1, 1], [0.1, 0.2], "only one class"),
        ([0, 1, 0], [0.1, math.nan, math.nan], "NaN at index 1"),
        ([0, 1, 0], [0.1, 0.2, math.inf], "inf at index 2"),
        ([0, 1, 0], [0.1, 1.5, 0.2], "must lie in \\[0, 1\\], got 1.5 at index 1"),
        ([0, 1, 0], [0.1, -0.2, 0.2], "got -0.2 at index 1"),
        ([0, 1], ["a", "b"], "must be numbers"),
        ([[0, 1]], [[0.1, 0.2]], "1-D"),
    ],
)
def test_invalid_input_is_refused_naming_the_problem(labels, scores, message):
    with pytest.raises(ValueError, match=message):
        scoring.score(labels, scores)
