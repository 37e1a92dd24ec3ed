"""MICO's track files reproduce MICO's training scripts (microsoft/MICO, training/*.sh):
optimizers, schedules, batch sizes, unshuffled ε = ∞ loaders, and the noise multipliers
MICO's prv_accountant calibration gave (σ within 1%)."""

from pathlib import Path

import pytest

from benchmark.zoo.build import dp_settings
from benchmark.zoo.tracks import load_track

TRACKS = Path(__file__).resolve().parents[2] / "tracks"

#: σ from MICO's find_noise_multiplier(q = 1 / len(loader), steps, ε, δ = 1e-5, eps_error=0.1).
MICO_SIGMA = {
    ("purchase100", "hi"): 0.5416,
    ("purchase100", "lo"): 0.7067,
    ("cifar10", "hi"): 0.6986,
    ("cifar10", "lo"): 1.0440,
}


@pytest.mark.slow
@pytest.mark.parametrize(("track", "scenario"), list(MICO_SIGMA))
def test_the_noise_multiplier_is_micos_within_one_percent(track, scenario):
    spec = load_track(TRACKS / f"{track}.toml")
    settings = dp_settings(spec, spec.scenario(scenario))
    assert settings is not None
    assert settings.noise_multiplier == pytest.approx(MICO_SIGMA[track, scenario], rel=0.01)


def test_purchase100_is_micos_recipe():
    spec = load_track(TRACKS / "purchase100.toml")
    assert (spec.training, spec.challenge, spec.eps_error, spec.population) == (
        150_000,
        100,
        0.1,
        0,
    )
    for scenario in spec.scenarios:
        t = scenario.training
        assert (t.optimizer, t.lr, t.epochs, t.batch, t.lr_step, t.lr_gamma) == (
            "adam", 0.001, 30, 512, 5, 0.9
        )  # fmt: skip
        assert t.shuffle is False or scenario.private, "ε = ∞: members first, not shuffled"
    settings = dp_settings(spec, spec.scenario("hi"))
    assert settings is not None
    assert settings.sample_rate == 1 / 293 and settings.expected_batch(150_000) == 511
    assert settings.clip == 2.6


def test_cifar10_is_micos_recipe():
    spec = load_track(TRACKS / "cifar10.toml")
    assert (spec.training, spec.challenge, spec.eps_error, spec.population) == (50_000, 100, 0.1, 0)
    plain, *private = spec.scenarios
    t = plain.training
    assert (t.optimizer, t.lr, t.epochs, t.batch, t.lr_step, t.lr_gamma, t.shuffle) == (
        "sgd", 0.005, 50, 32, 1, 0.96, False
    )  # fmt: skip
    for scenario in private:
        t = scenario.training
        assert (t.optimizer, t.lr, t.epochs, t.batch, t.lr_step, t.lr_gamma) == (
            "sgd", 0.5, 50, 512, 1, 0.96
        )  # fmt: skip
        assert (scenario.clip, scenario.delta, t.momentum) == (2.6, 1e-5, 0.0)
