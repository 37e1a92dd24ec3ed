"""Output statistics against their textbook formulas."""

import numpy as np

from attacks import features


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def test_statistics_match_their_formulas():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (7, 6))
    labels = rng.integers(0, 6, 7)
    for row, label in zip(logits, labels):
        p = softmax(row)
        mentr = -(1 - p[label]) * np.log(p[label]) - sum(
            p[i] * np.log(1 - p[i]) for i in range(6) if i != label
        )
        f = features.output_features(row, label)
        top = np.sort(p)[::-1]
        expected = [
            top[0],
            -np.log(p[label]),
            -(p * np.log(p)).sum(),
            mentr,
            top[0] - top[1],
            p[label],
            float(np.argmax(row) == label),
            row.max(),
            row[label],
            np.linalg.norm(p - np.eye(6)[label]),
        ]
        np.testing.assert_allclose(f, expected, rtol=1e-10)
        np.testing.assert_allclose(features.modified_entropy(row, label), mentr, rtol=1e-10)
        np.testing.assert_allclose(features.cross_entropy(row, label), -np.log(p[label]))
        np.testing.assert_allclose(features.entropy(row), -(p * np.log(p)).sum())
    assert len(features.FEATURE_NAMES) == features.output_features(logits, labels).shape[-1]


def test_modified_entropy_stays_finite_when_a_probability_rounds_to_one():
    logits = np.array([[60.0, 0.0, 0.0], [0.0, 60.0, 0.0]])
    m = features.modified_entropy(logits, np.array([0, 0]))
    assert np.isfinite(m).all()
    assert m[0] < 1e-20
    # Wrong and confident: -(1 - p_0) log p_0 = 60 and -p_1 log(1 - p_1) = 60 - log 2.
    np.testing.assert_allclose(m[1], 120.0 - np.log(2.0), rtol=1e-9)


def test_features_broadcast_labels_over_leading_axes():
    logits = np.random.default_rng(1).normal(size=(3, 4, 2, 5))
    labels = np.array([0, 1, 2, 3])[None, :, None]
    out = features.output_features(logits, labels)
    assert out.shape == (3, 4, 2, 10)
    np.testing.assert_allclose(out[2, 3, 1], features.output_features(logits[2, 3, 1], 3))


def test_confident_predictions_keep_small_positive_losses_and_entropies():
    # A margin of 50: p_y = 1 / (1 + 2e^-50) rounds to 1.0, and scipy's log_softmax to 0.
    logits = np.array([[50.0, 0.0, 0.0], [60.0, 0.0, 0.0]])
    rest = 2.0 * np.exp(-np.array([50.0, 60.0]))
    log_top = -np.log1p(rest)
    log_other = -np.array([50.0, 60.0]) + log_top
    np.testing.assert_allclose(features.log_softmax(logits)[:, 0], log_top, rtol=1e-15)
    np.testing.assert_allclose(features.cross_entropy(logits, 0), -log_top, rtol=1e-15)
    entropy = -np.exp(log_top) * log_top - rest * np.exp(log_top) * log_other
    np.testing.assert_allclose(features.entropy(logits), entropy, rtol=1e-14)
    # -(1 - p_y) log p_y - 2 p_j log(1 - p_j), with 1 - p_y = rest / (1 + rest).
    p_other = np.exp(log_other)
    mentr = rest / (1.0 + rest) * -log_top - 2.0 * p_other * np.log1p(-p_other)
    np.testing.assert_allclose(features.modified_entropy(logits, 0), mentr, rtol=1e-14)
    assert (np.diff(features.cross_entropy(logits, 0)) < 0).all()
