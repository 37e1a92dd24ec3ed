"""LiRA against a literal per-point implementation of the formulas, and on known answers."""

import numpy as np
import pytest
from scipy.special import expit
from scipy.stats import norm

from attacks import lira
from attacks.logodds import to_unit_interval


def literal_lira(target_phi, shadow_phi, shadow_in, *, online, global_variance):
    """The issue's formulas, one point and augmentation at a time: the log-likelihood ratio
    (online) or the log-odds of the mean of Φ (offline)."""
    n_shadows, n_points, n_augs = shadow_phi.shape
    mu_in = np.empty((n_points, n_augs))
    mu_out = np.empty((n_points, n_augs))
    sd_in = np.empty((n_points, n_augs))
    sd_out = np.empty((n_points, n_augs))
    for p in range(n_points):
        for a in range(n_augs):
            ins = [shadow_phi[s, p, a] for s in range(n_shadows) if shadow_in[s, p]]
            outs = [shadow_phi[s, p, a] for s in range(n_shadows) if not shadow_in[s, p]]
            mu_in[p, a], mu_out[p, a] = np.median(ins), np.median(outs)
            sd_in[p, a], sd_out[p, a] = np.std(ins), np.std(outs)
    if global_variance:
        for a in range(n_augs):
            residual_in, residual_out = [], []
            for s in range(n_shadows):
                for p in range(n_points):
                    if shadow_in[s, p]:
                        residual_in.append(shadow_phi[s, p, a] - mu_in[p, a])
                    else:
                        residual_out.append(shadow_phi[s, p, a] - mu_out[p, a])
            sd_in[:, a], sd_out[:, a] = np.std(residual_in), np.std(residual_out)
    sd_in, sd_out = np.maximum(sd_in, lira.MIN_STD), np.maximum(sd_out, lira.MIN_STD)
    scores = np.empty(n_points)
    for p in range(n_points):
        values = []
        for a in range(n_augs):
            x = target_phi[p, a]
            if online:
                values.append(
                    norm.logpdf(x, mu_in[p, a], sd_in[p, a])
                    - norm.logpdf(x, mu_out[p, a], sd_out[p, a])
                )
            else:
                values.append(norm.cdf((x - mu_out[p, a]) / sd_out[p, a]))
        mean = np.mean(values)
        scores[p] = mean if online else np.log(mean) - np.log(1.0 - mean)
    return scores


def shadows(seed, n_shadows=9, n_points=30, n_augs=2, shift=1.5):
    rng = np.random.default_rng(seed)
    shadow_in = rng.random((n_shadows, n_points)) < 0.5
    shadow_in[0], shadow_in[1] = True, False  # every point has IN and OUT shadows
    difficulty = rng.normal(0, 2, (n_points, 1))
    phi = difficulty + shift * shadow_in[..., None] + rng.normal(size=(n_shadows, n_points, n_augs))
    target = difficulty + rng.normal(size=(n_points, n_augs))
    return target, phi, shadow_in


@pytest.mark.parametrize("global_variance", [False, True])
@pytest.mark.parametrize("online", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_literal_implementation(online, global_variance, seed):
    # Even and odd numbers of IN shadows per point exercise both median branches.
    target, phi, shadow_in = shadows(seed, n_shadows=8 + seed)
    attack = lira.online if online else lira.offline
    fast = attack(target, phi, shadow_in, global_variance=global_variance)
    slow = literal_lira(target, phi, shadow_in, online=online, global_variance=global_variance)
    np.testing.assert_allclose(fast, to_unit_interval(slow), rtol=1e-10, atol=1e-12)
    log_odds = lira.online_log_odds if online else lira.offline_log_odds
    gaussians = lira.fit(phi, shadow_in, global_variance=global_variance)
    np.testing.assert_allclose(log_odds(target, gaussians), slow, rtol=1e-9, atol=1e-12)


def test_leading_axes_score_several_targets_at_once():
    target, phi, shadow_in = shadows(3)
    stacked = np.stack([target, target + 1.0])
    scores = lira.online(stacked, phi, shadow_in)
    assert scores.shape == (2, target.shape[0])
    np.testing.assert_allclose(scores[1], lira.online(target + 1.0, phi, shadow_in))


def test_at_points_scores_targets_on_different_points():
    target, phi, shadow_in = shadows(4)
    points = np.array([[0, 5, 7], [3, 3, 1]])
    gaussians = lira.fit(phi, shadow_in)
    scores = lira.offline_scores(target[points], lira.at_points(gaussians, points))
    np.testing.assert_allclose(scores[1], lira.offline(target, phi, shadow_in)[[3, 3, 1]])


@pytest.mark.parametrize("attack", [lira.online, lira.offline])
def test_members_score_higher_by_the_known_shift(attack):
    rng = np.random.default_rng(5)
    shadow_in = rng.random((64, 200)) < 0.5
    phi = 4.0 * shadow_in[..., None] + rng.normal(size=(64, 200, 1))
    member = attack(np.full((200, 1), 4.0), phi, shadow_in)
    non_member = attack(np.zeros((200, 1)), phi, shadow_in)
    assert (member > to_unit_interval(np.log(0.95 / 0.05))).all()  # odds above 95 : 5
    assert non_member.mean() < 0.6


@pytest.mark.parametrize("online", [False, True])
def test_ratios_beyond_the_logistic_keep_their_order_and_never_reach_zero_or_one(online):
    # Shadows within 0.1 of 0 (OUT) and of 20 (IN), targets 10 to 100 away from both: log-ratios
    # and z-scores so large that the logistic and Φ round every one to exactly 0 or 1.
    rng = np.random.default_rng(9)
    shadow_in = rng.random((32, 1)) < 0.5
    phi = 20.0 * shadow_in[..., None] + 0.1 * rng.normal(size=(32, 1, 1))
    far = np.concatenate([np.linspace(-80.0, -10.0, 100), np.linspace(30.0, 100.0, 100)])
    target = far[:, None, None]  # 200 targets on the one point
    gaussians = lira.fit(phi, shadow_in)
    if online:
        statistic = lira.online_log_odds(target, gaussians)[:, 0]
        scores = lira.online(target, phi, shadow_in)[:, 0]
        rounded = expit(statistic)
    else:
        statistic = lira.offline_log_odds(target, gaussians)[:, 0]
        scores = lira.offline(target, phi, shadow_in)[:, 0]
        rounded = norm.cdf(far, gaussians.mu_out[0, 0], gaussians.sd_out[0, 0])
    assert set(rounded) == {0.0, 1.0}
    assert np.unique(statistic).size == 200
    assert (scores > 0.0).all() and (scores < 1.0).all()
    assert (np.diff(scores[np.argsort(statistic)]) > 0).all()


def test_offline_needs_no_in_shadow_and_online_refuses():
    target, phi, _ = shadows(6)
    all_out = np.zeros(phi.shape[:2], dtype=bool)
    scores = lira.offline(target, phi, all_out)
    assert np.isfinite(scores).all()
    with pytest.raises(ValueError, match="IN and OUT"):
        lira.online(target, phi, all_out)


def test_point_without_in_shadow_borrows_the_median_gap():
    rng = np.random.default_rng(7)
    shadow_in = rng.random((20, 10)) < 0.5
    shadow_in[:, 0] = False
    phi = 2.0 * shadow_in[..., None] + 0.1 * rng.normal(size=(20, 10, 1))
    gaussians = lira.fit(phi, shadow_in)
    assert gaussians.mu_in[0, 0] == pytest.approx(gaussians.mu_out[0, 0] + 2.0, abs=0.2)
    # It also takes the global σ_in, which the empty point does not poison.
    global_fit = lira.fit(phi, shadow_in, global_variance=True)
    assert gaussians.sd_in[0, 0] == global_fit.sd_in[5, 0]
    assert 0.05 < global_fit.sd_in[5, 0] < 0.2


def test_single_shadow_uses_the_standard_deviation_floor():
    phi = np.array([[[1.0]], [[3.0]]])
    gaussians = lira.fit(phi, np.array([[True], [False]]))
    assert gaussians.sd_in[0, 0] == lira.MIN_STD
    assert gaussians.mu_in[0, 0] == 1.0
    assert gaussians.mu_out[0, 0] == 3.0


def test_stable_logit_scaling_is_exact_where_plain_overflows():
    logits = np.array([[50.0, 0.0, 0.0], [1.0, 2.0, 3.0]])
    labels = np.array([0, 2])
    phi = lira.stable_logit_scaling(logits, labels)
    np.testing.assert_allclose(phi[0], 50.0 - np.log(2.0))
    p = np.exp(logits[1]) / np.exp(logits[1]).sum()
    np.testing.assert_allclose(phi[1], np.log(p[2]) - np.log(1 - p[2]))
    plain = lira.stable_logit_scaling(logits, labels, method="plain")
    assert plain[0] == np.inf
    np.testing.assert_allclose(plain[1], phi[1])


def test_stable_logit_scaling_broadcasts_labels():
    logits = np.random.default_rng(8).normal(size=(4, 3, 2, 5))
    labels = np.array([0, 4, 2])
    phi = lira.stable_logit_scaling(logits, labels[None, :, None])
    assert phi.shape == (4, 3, 2)
    np.testing.assert_allclose(phi[1, 1, 0], lira.stable_logit_scaling(logits[1, 1, 0], 4))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: lira.stable_logit_scaling(np.zeros((2, 3)), np.array([0, 3])), "label 3"),
        (lambda: lira.stable_logit_scaling(np.zeros((2, 1)), np.array([0, 0])), "2 classes"),
        (lambda: lira.stable_logit_scaling(np.zeros(3), 0, method="x"), "method"),  # type: ignore[arg-type]
        (lambda: lira.fit(np.zeros((2, 3)), np.zeros((2, 3), bool)), "shadow_phi"),
        (lambda: lira.fit(np.zeros((2, 3, 1)), np.zeros((2, 4), bool)), "shadow_in"),
        (lambda: lira.fit(np.zeros((2, 3, 1)), np.zeros((2, 3))), "boolean"),
        (
            lambda: lira.fit(np.full((2, 3, 1), np.nan), np.eye(2, 3, dtype=bool)),
            r"not finite at index \(0, 0, 0\)",
        ),
        (lambda: lira.offline(np.zeros((4, 1)), *shadows(0)[1:]), "target_phi"),
    ],
)
def test_invalid_input_is_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
