import copy
import dataclasses
import datetime as dt
import math
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmark.zoo.tracks import TrainingSpec, load_track, parse_track
from benchmark.zoo.tracks.schema import ScenarioTable
from benchmark.zoo.tracks.spec import SCENARIO_TRAINING_KEYS
from tests.zoo.conftest import TRACK

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


@pytest.mark.parametrize(
    "name", ["demo-purchase", "demo-digits", "demo-text", "purchase100", "cifar10"]
)
def test_shipped_tracks_validate(name):
    track = load_track(ROOT / "tracks" / f"{name}.toml")
    assert track.slug == name
    assert [s.slug for s in track.scenarios] == ["inf", "hi", "lo"]
    assert track.models.train >= 16, "enough shadows for LiRA and the other attacks"


@pytest.mark.parametrize("name", ["demo-purchase", "demo-digits", "demo-text"])
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


def test_specs_are_hashable_and_plain_dataclasses(track_text):
    """build.py caches on specs; services store ``dataclasses.asdict(spec)``."""
    one, two = parse_track(track_text), parse_track(track_text)
    assert hash(one) == hash(two) and {one: 1}[two] == 1
    stored = dataclasses.asdict(one)
    assert stored["scenarios"][1]["training"]["batch"] == 25
    assert stored["scenarios"][1]["folder"] == "tiny_hi"
    changed = dataclasses.replace(one.train_defaults, dtype="bfloat16")
    assert changed.dtype == "bfloat16" and one.train_defaults.dtype == "float32"


def test_scenario_values_default_to_the_track(track_text):
    track = parse_track(track_text)
    for scenario in track.scenarios:
        assert scenario.folder == f"tiny_{scenario.slug}"
        assert (scenario.dataset, scenario.dataset_path, scenario.dataset_size) == (
            "purchase-synthetic",
            "",
            500,
        )
        assert (scenario.dataset_seed, scenario.architecture, scenario.population) == (
            0,
            "mlp-purchase",
            100,
        )
        assert (scenario.challenge, scenario.training_size) == (10, 100)


DDP = """
[[scenario]]
slug = "purchase"
epsilon = 10.0
delta = 1e-5
clip = 2.6
folder = "purchase100_ddp"

[[scenario]]
slug = "digits"
epsilon = 4.0
delta = 1e-5
clip = 2.6
folder = "digits_ddp"
dataset = "digits"
architecture = "cnn-digits"
population = 50
challenge = 20
training_size = 150
batch = 50
"""


def ddp_track(track_text: str, scenarios: str = DDP) -> str:
    """``track_text`` as a DP-distinguisher track: one scenario per dataset."""
    head = track_text[: track_text.index("[[scenario]]")]
    return head.replace('slug = "tiny"', 'slug = "ddp"') + scenarios


def test_dp_distinguisher_scenarios_have_their_own_dataset(track_text):
    track = parse_track(ddp_track(track_text))
    purchase, digits = track.scenarios
    assert [s.folder for s in track.scenarios] == ["purchase100_ddp", "digits_ddp"]
    assert (purchase.dataset, purchase.dataset_size, purchase.architecture) == (
        "purchase-synthetic",
        500,
        "mlp-purchase",
    )
    assert (digits.dataset, digits.architecture, digits.population) == ("digits", "cnn-digits", 50)
    assert (digits.challenge, digits.training_size, digits.training.batch) == (20, 150, 50)
    assert digits.dataset_size == 0, "another dataset does not inherit the track's size"
    assert (track.dataset, track.architecture, track.challenge) == (
        "purchase-synthetic",
        "mlp-purchase",
        10,
    )


def test_naming_the_tracks_dataset_keeps_its_path_size_and_seed(track_text):
    text = track_text.replace('slug = "hi"', 'slug = "hi"\ndataset = "purchase-synthetic"')
    assert parse_track(text).scenario("hi").dataset_size == 500


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('folder = "digits_ddp"', 'folder = "Digits/ddp"', "scenario[1].folder must match"),
        ('folder = "digits_ddp"', 'folder = "purchase100_ddp"', "scenario[1].folder 'purchase100_"),
        ('dataset = "digits"', 'dataset = "mnist"', "scenario[1].dataset must be one of"),
        ('architecture = "cnn-digits"', "architecture = 3", "scenario[1].architecture must be a"),
        (
            'architecture = "cnn-digits"',
            'architecture = "cnn-digits"\ndtype = "float32"',
            "scenario[1].dtype is not a known key",
        ),
        ("population = 50", "population = -1", "scenario[1].population must be an integer >= 0"),
        ("challenge = 20", "challenge = 0", "scenario[1].challenge must be an integer >= 1, got 0"),
        (
            "challenge = 20\ntraining_size = 150",
            "challenge = 200",
            "scenario[1].challenge must be below training_size (100), got 200",
        ),
        ("training_size = 150", "training_size = 15", "scenario[1].training_size must exceed"),
        ("batch = 50", "batch = 0.5", "scenario[1].batch must be an integer >= 1, got 0.5"),
        ("batch = 50", "shuffle = 1", "scenario[1].shuffle must be true or false, got 1"),
    ],
)
def test_scenario_keys_errors_name_the_key(track_text, old, new, message):
    text = ddp_track(track_text)
    assert old in text
    with pytest.raises(ValueError, match=r"^tracks/ddp\.toml: ") as error:
        parse_track(text.replace(old, new, 1), source="tracks/ddp.toml")
    assert message in str(error.value)


def test_a_default_folder_may_not_be_taken(track_text):
    text = track_text.replace('slug = "hi"', 'slug = "hi"\nfolder = "tiny_inf"')
    with pytest.raises(ValueError, match=r"scenario\[1\].folder 'tiny_inf' is repeated"):
        parse_track(text)


def test_privacy_keys_of_plain_training_are_refused(track_text):
    text = track_text.replace('epsilon = "inf"', 'epsilon = "inf"\nclip = 1.0')
    with pytest.raises(ValueError, match=r"scenario\[0\].clip is only for DP-SGD"):
        parse_track(text)


def test_every_problem_is_listed(track_text):
    text = track_text.replace("chunk = 2", "chunk = 0").replace("lr = 0.003", 'lr = "fast"')
    with pytest.raises(ValueError) as error:
        parse_track(text, source="x.toml")
    assert str(error.value) == (
        "x.toml: chunk must be an integer >= 1, got 0; "
        "training.lr must be a positive number, got 'fast'"
    )


def test_tables_and_uploads(track_text):
    data = tomllib.loads(track_text)
    data["phases"] = {"dev_opens": "2026-12-01T00:00:00Z", "final_deadline": "2027-01-01T00:00Z"}
    assert parse_track(data).phases.dev_opens.tzinfo is not None
    with pytest.raises(ValueError, match="models must be a table, got 3"):
        parse_track({**data, "models": 3})
    with pytest.raises(ValueError, match=r"scenario must be a non-empty array of tables"):
        parse_track({**data, "scenario": []})
    with pytest.raises(ValueError, match=r"training must be a table, got 100 \(n is training_size"):
        parse_track({**data, "training": 100})
    with pytest.raises(ValueError, match=r"^track: track must be a table"):
        parse_track([])


def test_scenarios_override_every_training_key_but_dtype():
    assert set(SCENARIO_TRAINING_KEYS) == {f.name for f in dataclasses.fields(TrainingSpec)} - {
        "dtype"
    }
    assert set(SCENARIO_TRAINING_KEYS) <= set(ScenarioTable.model_fields)


TOML_VALUES = st.recursive(
    st.one_of(
        st.integers(-2, 300),
        st.floats(allow_nan=True),
        st.booleans(),
        st.text(max_size=8),
        st.sampled_from(["inf", "sgd", "bfloat16", "rdp", "AUC", "digits", "cnn-digits", "x_y"]),
        st.sampled_from(["", " ", "tiny_hi", "ddp-1", 0.5, 2.6, 1e-5, 1000]),
        st.datetimes(timezones=st.sampled_from([None, dt.UTC])),
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=4,
)


def _entries(table: dict[str, Any], at: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], Any]:
    """Every key of ``table``, nested ones too, by path (``("scenario", 1, "clip")``)."""
    entries = {}
    for key, value in table.items():
        entries[(*at, key)] = value
        if isinstance(value, dict):
            entries |= _entries(value, (*at, key))
        if isinstance(value, list):
            for i, item in enumerate(value):
                entries |= _entries(item, (*at, key, i))
    return entries


def _like(value: Any) -> st.SearchStrategy[Any]:
    """Values of the kind of ``value``, which often pass its key's rule."""
    if isinstance(value, bool):
        return st.booleans()
    if isinstance(value, int):
        return st.integers(0, 10**6)
    if isinstance(value, float):
        return st.floats(0, 10, exclude_min=True)
    if isinstance(value, str):
        return st.text("abz09-_", min_size=1, max_size=6)
    if isinstance(value, dt.datetime):
        return st.datetimes(timezones=st.just(dt.UTC))
    return st.nothing()


def mutated(base: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """``base`` with one to three keys given any TOML value, removed, or added."""
    leaves = _entries(base)
    extra = [("scenario", i, key) for i in (0, 1) for key in ScenarioTable.model_fields]
    paths = [*sorted(set(leaves) | set(extra), key=str), ("colour",), ("models", "test")]
    change = st.sampled_from(paths).flatmap(
        lambda path: st.tuples(
            st.just(path), TOML_VALUES | _like(leaves.get(path)) | st.just(DELETE)
        )
    )

    def apply(changes: list[tuple[tuple[Any, ...], Any]]) -> dict[str, Any]:
        data = copy.deepcopy(base)
        for path, value in changes:
            table: Any = data
            for part in path[:-1]:  # a change under a key an earlier one removed is skipped
                inside = isinstance(table, dict) and part in table
                inside = inside or (isinstance(table, list) and part < len(table))
                table = table[part] if inside else None
            if not isinstance(table, dict):
                continue
            if value is DELETE:
                table.pop(path[-1], None)
            else:
                table[path[-1]] = value
        return data

    return st.lists(change, min_size=1, max_size=3).map(apply)


DELETE = object()


@given(data=st.data())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_every_error_is_a_sentence_naming_a_key(data):
    track = data.draw(mutated(tomllib.loads(TRACK)))
    try:
        parse_track(track, source="tracks/h.toml")
    except ValueError as error:
        message = str(error)
        assert message.startswith("tracks/h.toml: ")
        for raw in ("Input should", "validation error", "is not valid (", "pydantic"):
            assert raw not in message
