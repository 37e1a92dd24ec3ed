import math
import tomllib
from pathlib import Path

import pytest

from benchmark.zoo.tracks import load_track, parse_track

ROOT = Path(__file__).resolve().parents[2]


def test_minimal_track_parses(track_text):
    track = parse_track(track_text)
    assert track.slug == "tiny"
    assert track.training == 100 and track.challenge == 10
    assert [s.slug for s in track.scenarios] == ["inf", "hi"]
    assert math.isinf(track.scenarios[0].epsilon) and not track.scenarios[0].private
    assert track.scenarios[1].private and track.scenarios[1].clip == 2.6
    assert track.scenarios[1].training == track.train_defaults
    assert track.models.phase_range("dev") == range(3, 4)


def test_dict_input_equals_text_input(track_text):
    assert parse_track(tomllib.loads(track_text)) == parse_track(track_text)


@pytest.mark.parametrize("name", ["demo-purchase", "demo-digits", "purchase100", "cifar10"])
def test_shipped_tracks_validate(name):
    track = load_track(ROOT / "tracks" / f"{name}.toml")
    assert track.slug == name
    assert [s.slug for s in track.scenarios] == ["inf", "hi", "lo"]
    assert track.models.train >= 16, "enough shadows for LiRA and the other attacks"


@pytest.mark.parametrize("name", ["demo-purchase", "demo-digits"])
def test_demo_tracks_score_3200_points_per_dev_scenario(name):
    """TPR at 1% FPR then rests on 16 non-members or more."""
    track = load_track(ROOT / "tracks" / f"{name}.toml")
    assert track.models.dev * 2 * track.challenge >= 3200
    assert track.train_defaults.dtype == "auto"


def test_mico_tracks_use_mico_settings():
    purchase = load_track(ROOT / "tracks" / "purchase100.toml")
    assert (purchase.training, purchase.challenge, purchase.architecture) == (
        150_000,
        100,
        "mlp-purchase",
    )
    t = purchase.train_defaults
    assert (t.optimizer, t.lr, t.epochs, t.batch, t.lr_step, t.lr_gamma) == (
        "adam",
        0.001,
        30,
        512,
        5,
        0.9,
    )
    assert [(s.epsilon, s.delta, s.clip) for s in purchase.scenarios[1:]] == [
        (10.0, 1e-5, 2.6),
        (4.0, 1e-5, 2.6),
    ]
    cifar = load_track(ROOT / "tracks" / "cifar10.toml")
    assert cifar.training == 50_000 and cifar.architecture == "cnn-cifar"
    assert [s.training.batch for s in cifar.scenarios] == [32, 512, 512]
    assert all(s.training.epochs == 50 for s in cifar.scenarios)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('slug = "tiny"', 'slug = "ti_ny"', "slug must match [a-z0-9-]+"),
        (
            "epsilon = 10.0",
            "epsilon = -3",
            'scenario[1].epsilon must be a positive number or "inf", got -3',
        ),
        ("delta = 1e-5", "delta = 2.0", "scenario[1].delta must be below 1"),
        ("clip = 2.6", "", "scenario[1].clip is missing"),
        ("challenge = 10", "challenge = 0", "challenge must be an integer >= 1, got 0"),
        ("training_size = 100", "training_size = 10", "training_size must exceed challenge"),
        ('dtype = "float32"', 'dtype = "float16"', "training.dtype must be one of"),
        ('optimizer = "adam"', 'optimizer = "lbfgs"', "training.optimizer must be one of"),
        (
            "models = { train = 3, dev = 1, final = 1 }",
            "models = { train = 3, dev = 1 }",
            "models.final is missing",
        ),
        ("chunk = 2", "chunk = 2\ncolour = 1", "colour is not a known key"),
        ('dataset = "purchase-synthetic"', 'dataset = "mnist"', "dataset must be one of"),
        ('architecture = "mlp-purchase"', 'architecture = "vit"', "architecture must be one of"),
        (
            "final_deadline = 2027-01-26T23:59:00Z",
            "final_deadline = 2026-01-26T23:59:00Z",
            "phases.final_deadline must be after",
        ),
        (
            "dev_opens = 2026-12-01T00:00:00Z",
            "dev_opens = 2026-12-01T00:00:00",
            "phases.dev_opens must be a datetime with a timezone",
        ),
        ('slug = "hi"', 'slug = "inf"', "scenario[1].slug 'inf' is repeated"),
        ("per_day = 30", "per_day = true", "limits.per_day must be an integer"),
    ],
)
def test_errors_name_the_key(track_text, old, new, message):
    assert old in track_text
    with pytest.raises(ValueError) as error:
        parse_track(track_text.replace(old, new, 1), source="tracks/x.toml")
    assert str(error.value).startswith("tracks/x.toml: ")
    assert message in str(error.value)


def test_issue_style_training_key_gets_a_hint(track_text):
    with pytest.raises(ValueError, match="training_size"):
        parse_track(track_text.replace("training_size = 100", "training = 100"))


def test_scenario_overrides_training_keys(track_text):
    track = parse_track(track_text.replace("clip = 2.6", "clip = 2.6\nbatch = 50\nlr = 0.01"))
    hi = track.scenario("hi")
    assert (hi.training.batch, hi.training.lr, hi.training.epochs) == (50, 0.01, 2)
    assert track.scenario("inf").training.batch == 25
