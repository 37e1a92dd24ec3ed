"""Choquette-Choo et al.'s label-only attack: perturbations, robustness and the calibrated score."""

from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

import attacks
from attacks.bundle import _load, _save
from attacks.evaluation import evaluate
from attacks.label_only import label_only, model_robustness, perturb, robustness
from attacks.oracle import LocalOracle
from benchmark.zoo.datasets import FeatureSpace, load_dataset
from benchmark.zoo.engine import TrainConfig, forward_many, train_group
from benchmark.zoo.models import architecture, unstack
from benchmark.zoo.release import Defence
from tests.attacks.synthetic import make_observations

BINARY = FeatureSpace(shape=(600,), low=0.0, high=1.0, binary=True)
IMAGES = FeatureSpace(shape=(1, 8, 8), low=0.0, high=16.0, binary=False)


class Constant(nn.Module):
    """Logits that do not depend on the input."""

    def __init__(self, logits):
        super().__init__()
        self.logits = torch.tensor(logits, dtype=torch.float32)

    def forward(self, x):
        return self.logits.expand(len(x), -1)


def test_perturb_flips_binary_features_at_the_rate():
    x = (np.random.default_rng(0).random((200, 600)) < 0.1).astype(np.float32)
    copies = perturb(x, BINARY, copies=5, rate=0.1, generator=np.random.default_rng(1))
    assert copies.shape == (5, 200, 600) and copies.dtype == np.float32
    assert np.isin(copies, (0.0, 1.0)).all()
    # 600,000 Bernoulli(0.1) flips: the standard deviation of their mean is 4e-4.
    assert abs((copies != x).mean() - 0.1) < 0.003
    # Each feature flips independently: ones flip to zero as often as zeros to one.
    assert abs((copies[:, x == 1] == 0).mean() - 0.1) < 0.01


def test_perturb_adds_clipped_gaussian_noise_to_continuous_features():
    middle = np.full((100, 1, 8, 8), 8.0, dtype=np.float32)
    noisy = perturb(middle, IMAGES, copies=4, rate=0.05, generator=np.random.default_rng(0))
    assert noisy.shape == (4, 100, 1, 8, 8)
    assert abs((noisy - middle).std() - 0.05 * 16.0) < 0.02
    edge = np.zeros((100, 1, 8, 8), dtype=np.float32)
    clipped = perturb(edge, IMAGES, copies=4, rate=0.5, generator=np.random.default_rng(0))
    assert clipped.min() == 0.0 and clipped.max() <= 16.0
    assert 0.4 < (clipped == 0.0).mean() < 0.6  # half the noise is below 0, clipped to it


def test_perturb_keeps_the_attention_mask_and_padding_of_token_points():
    """Top-k text points (T, H + 1): only the states of real tokens move."""
    space = FeatureSpace(shape=(4, 3), low=-5.0, high=5.0, binary=False, masked=True)
    x = np.zeros((2, 4, 3), dtype=np.float32)
    x[0, :3, -1] = 1  # three tokens, one padding
    x[1, :1, -1] = 1
    x[..., :-1] = np.where(x[..., -1:] > 0, 0.5, 0.0)
    noisy = perturb(x, space, copies=3, rate=0.1, generator=np.random.default_rng(0))
    assert np.array_equal(noisy[..., -1], np.broadcast_to(x[..., -1], (3, 2, 4)))
    real = x[..., -1] > 0
    assert np.array_equal(noisy[:, ~real], np.broadcast_to(x[~real], (3, *x[~real].shape)))
    assert (noisy[:, real, :-1] != x[real, :-1]).all()


def test_perturb_is_seeded_and_zero_noise_copies_the_points():
    x = np.eye(3, 600, dtype=np.float32)
    one = perturb(x, BINARY, copies=2, rate=0.3, generator=np.random.default_rng(7))
    two = perturb(x, BINARY, copies=2, rate=0.3, generator=np.random.default_rng(7))
    np.testing.assert_array_equal(one, two)
    same = perturb(x, BINARY, copies=2, rate=0.0, generator=np.random.default_rng(7))
    np.testing.assert_array_equal(same, np.broadcast_to(x, (2, *x.shape)))


@pytest.mark.parametrize(
    ("x", "space", "options", "message"),
    [
        (np.full((2, 600), 0.5), BINARY, {}, "x: inputs must be 0 or 1"),
        (np.zeros((2, 5)), BINARY, {}, r"x: inputs must have shape \(N, 600\)"),
        (np.zeros((2, 600)), BINARY, {"rate": 1.5}, "rate must be in .0, 1. for binary"),
        (np.zeros((2, 1, 8, 8)), IMAGES, {"rate": -0.1}, "rate must be 0 or more, got -0.1"),
        (np.zeros((2, 600)), BINARY, {"copies": -1}, "copies must be 0 or more, got -1"),
    ],
)
def test_perturb_names_bad_arguments(x, space, options, message):
    arguments = {"copies": 2, "rate": 0.1, **options}
    with pytest.raises(ValueError, match=message):
        perturb(x, space, generator=np.random.default_rng(0), **arguments)


@pytest.mark.parametrize("defence", [Defence(), Defence(label_only=True), Defence(top_k=1)])
def test_a_constant_model_is_perfectly_robust_on_its_class_only(defence):
    oracle = LocalOracle(Constant([0.0, 0.0, 3.0, 1.0]), defence=defence)
    x = np.zeros((5, 600), dtype=np.float32)
    y = np.array([2, 0, 1, 2, 3])
    r = robustness(oracle, x, y, space=BINARY, copies=9, rate=0.2, seed=0)
    np.testing.assert_array_equal(r, [1.0, 0.0, 0.0, 1.0, 0.0])
    assert oracle.spent == 5 * 10


def test_rounded_ties_give_each_tied_class_an_equal_share():
    # Rounded to one decimal, classes 0 and 1 tie at 0.5: each earns half a hit. A label
    # release takes the argmax of the logits, which breaks the tie towards class 0.
    tied = Constant([0.0, -0.001, -9.0])
    y = np.array([0, 1, 2])
    x = np.zeros((3, 600), dtype=np.float32)
    rounded = LocalOracle(tied, defence=Defence(decimals=1))
    np.testing.assert_array_equal(robustness(rounded, x, y, space=BINARY, copies=3), [0.5, 0.5, 0])
    labels = LocalOracle(tied, defence=Defence(label_only=True))
    np.testing.assert_array_equal(robustness(labels, x, y, space=BINARY, copies=3), [1, 0, 0])


def test_robustness_agrees_with_a_literal_loop_over_points_and_copies():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(600, 4))
    x = (np.random.default_rng(0).random((6, 600)) < 0.2).astype(np.float32)
    y = np.array([0, 1, 2, 3, 0, 1])
    defence = Defence(decimals=1)
    fast = robustness(LocalOracle(model, defence=defence), x, y, space=BINARY, copies=7, seed=3)
    copies = perturb(x, BINARY, copies=7, rate=0.1, generator=np.random.default_rng(3))
    expected = []
    for n in range(6):
        hits = 0.0
        for query in [x[n], *copies[:, n]]:
            vector = LocalOracle(model, defence=defence).query(query[None])[0]
            tied = [c for c in range(4) if vector[c] == vector.max()]
            hits += (y[n] in tied) / len(tied)
        expected.append(hits / 8)
    np.testing.assert_allclose(fast, expected)


def test_model_robustness_stacks_models_on_shared_copies():
    models = [Constant([1.0, 0.0]), Constant([0.0, 1.0])]
    x = np.zeros((4, 600), dtype=np.float32)
    r = model_robustness(models, x, np.array([0, 1, 0, 1]), space=BINARY, copies=2, seed=0)
    np.testing.assert_array_equal(r, [[1, 0, 1, 0], [0, 1, 0, 1]])
    with pytest.raises(ValueError, match="at least one module"):
        model_robustness([], x, np.zeros(4, dtype=int), space=BINARY)
    with pytest.raises(ValueError, match=r"y has 5 at index 0, outside 0..1"):
        model_robustness(models, x, np.array([5, 0, 0, 0]), space=BINARY)


def test_label_only_calibrates_by_out_shadows_and_scores_inside_the_unit_interval():
    obs = make_observations(n_shadows=4, n_targets=2, n_points=30, per_target=10, seed=4)
    ones = replace(obs, target_robustness=np.ones_like(obs.target_robustness))
    scores = label_only(ones)
    assert ((scores > 0.0) & (scores < 1.0)).all()
    out = ~obs.shadow_in[:, ones.target_points]  # (S, T, K)
    reference = (out * obs.shadow_robustness[:, ones.target_points]).sum(0) / out.sum(0)
    np.testing.assert_allclose(scores, attacks.logodds.to_unit_interval(1.0 - reference))


def test_a_point_without_out_shadows_is_scored_by_its_plain_robustness():
    obs = make_observations(n_shadows=4, n_targets=1, n_points=30, per_target=10, seed=4)
    shadow_in = obs.shadow_in.copy()
    shadow_in[:, obs.target_points[0, 0]] = True
    scores = label_only(replace(obs, shadow_in=shadow_in))
    out = ~shadow_in
    mean_out = (out * obs.shadow_robustness).sum() / out.sum()
    expected = attacks.logodds.to_unit_interval(obs.target_robustness[0, 0] - mean_out)
    assert scores[0, 0] == pytest.approx(expected)


def test_observations_validate_and_cache_robustness(tmp_path):
    obs = make_observations(n_shadows=4, n_targets=2, n_points=30, per_target=10, seed=4)
    with pytest.raises(ValueError, match=r"target_robustness must have shape \(2, 10\)"):
        replace(obs, target_robustness=obs.target_robustness[:, :3])
    with pytest.raises(ValueError, match=r"shadow_robustness is 1.5 at index \(0, 0\)"):
        replace(obs, shadow_robustness=np.full_like(obs.shadow_robustness, 1.5))
    held = obs.holdout(np.array([1]))
    np.testing.assert_array_equal(held.target_robustness, obs.shadow_robustness[[1]])
    np.testing.assert_array_equal(held.shadow_robustness, obs.shadow_robustness[[0, 2, 3]])
    _save(obs, tmp_path / "obs.npz")
    loaded = _load(tmp_path / "obs.npz")
    np.testing.assert_array_equal(loaded.shadow_robustness, obs.shadow_robustness)
    np.testing.assert_array_equal(loaded.target_robustness, obs.target_robustness)


@pytest.fixture(scope="module")
def overfit():
    """Eight purchase MLPs, each trained 40 epochs on a random half of 400 points: the first
    six are shadows, the last two targets on every point."""
    data = load_dataset("purchase-synthetic", size=1000, seed=0)
    rng = np.random.default_rng(0)
    points = np.sort(rng.choice(len(data), 400, replace=False))
    population = np.setdiff1d(np.arange(len(data)), points)[:50]
    halves = np.stack([np.sort(rng.permutation(400)[:200]) for _ in range(8)])
    members = np.zeros((8, 400), dtype=bool)
    np.put_along_axis(members, halves, True, axis=1)
    config = TrainConfig(optimizer="adam", lr=1e-3, epochs=40, batch=64, lr_step=40, lr_gamma=1)
    params = train_group(
        "mlp-purchase",
        data.x[points],
        data.y[points],
        torch.from_numpy(halves),
        config=config,
        init_seeds=range(8),
        order_seeds=range(100, 108),
    ).params
    modules = []
    for state in unstack(params):
        module = architecture("mlp-purchase")()
        module.load_state_dict(state)
        modules.append(module)
    x, y = data.x[points].numpy(), data.y[points].numpy()
    logits = forward_many(params, "mlp-purchase", data.x[points]).numpy()[:, :, None]
    z_logits = forward_many(params, "mlp-purchase", data.x[population]).numpy()[:, :, None]
    robust = model_robustness(modules, x, y, space=data.feature_space(), copies=20, seed=0)
    return attacks.Observations(
        labels=y,
        shadow_logits=logits[:6],
        shadow_in=members[:6],
        target_points=np.broadcast_to(np.arange(400), (2, 400)),
        target_logits=logits[6:],
        population_labels=data.y[population].numpy(),
        shadow_population_logits=z_logits[:6],
        target_population_logits=z_logits[6:],
        target_ids=(("dev", 0), ("dev", 1)),
        target_in=members[6:],
        shadow_robustness=robust[:6],
        target_robustness=robust[6:],
    )


def test_label_only_tells_members_of_an_overfit_model_apart(overfit):
    assert overfit.target_in is not None
    members = overfit.target_in
    assert overfit.target_robustness[members].mean() > overfit.target_robustness[~members].mean()
    metrics = evaluate(members, attacks.get("label-only").function(overfit))
    assert metrics["AUC"] > 0.85
    assert metrics["TPR_FPR_1000"] > 0.5  # TPR at 10% FPR, chance 0.1
