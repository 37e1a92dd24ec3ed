"""The published JSON Schema of track files: current, complete, and never stricter than
``parse_track`` (an editor must not flag a file the platform takes)."""

import datetime as dt
import json
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmark.zoo.__main__ import main
from benchmark.zoo.tracks import parse_track, track_schema
from tests.zoo.conftest import TRACK
from tests.zoo.test_tracks import ddp_track, mutated

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "tracks" / "track.schema.json"
VALIDATOR = jsonschema.Draft202012Validator(track_schema())


def as_json(value: Any) -> Any:
    """A parsed TOML file as an editor validates it: datetimes are RFC 3339 strings."""
    if isinstance(value, dict):
        return {key: as_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_json(item) for item in value]
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return value


def schema_errors(data: Any) -> list[str]:
    return [error.message for error in VALIDATOR.iter_errors(as_json(data))]


def test_the_committed_schema_is_current():
    """Regenerate with ``python -m benchmark.zoo schema > tracks/track.schema.json``."""
    assert json.loads(COMMITTED.read_text(encoding="utf-8")) == track_schema()


def test_the_command_prints_the_schema(capsys):
    assert main(["schema"]) == 0
    assert capsys.readouterr().out == COMMITTED.read_text(encoding="utf-8")


def test_the_schema_is_valid_and_describes_every_key():
    jsonschema.Draft202012Validator.check_schema(track_schema())
    tables = [track_schema(), *track_schema()["$defs"].values()]
    for table in tables:
        assert table["description"] and table["additionalProperties"] is False
        for key, rule in table["properties"].items():
            assert rule.get("description"), f"{table['title']}.{key} has no description"


@pytest.mark.parametrize("path", sorted((ROOT / "tracks").glob("*.toml")), ids=lambda p: p.name)
def test_shipped_tracks_validate(path):
    assert schema_errors(tomllib.loads(path.read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize(
    ("old", "new", "error"),
    [
        ("challenge = 10", "challenge = 0", "0 is less than the minimum of 1"),
        ("chunk = 2", "chunk = 2\ncolour = 1", "'colour' was unexpected"),
        ('slug = "tiny"', 'slug = "ti_ny"', "does not match"),
        ("clip = 2.6", "", "'clip' is a required property"),
        ('epsilon = "inf"', 'epsilon = "inf"\ndelta = 1e-5', "should not be valid"),
        ('epsilon = "inf"', 'epsilon = "infinite"', "is not valid under any of the given schemas"),
        ('slug = "hi"', 'slug = "hi"\nfolder = "Hi/x"', "does not match"),
        ('slug = "hi"', 'slug = "hi"\ndtype = "float32"', "'dtype' was unexpected"),
    ],
)
def test_a_bad_file_fails_the_schema(old, new, error):
    assert old in TRACK
    data = tomllib.loads(TRACK.replace(old, new, 1))
    assert any(error in message for message in schema_errors(data)), schema_errors(data)
    with pytest.raises(ValueError):
        parse_track(data)


def test_a_dp_distinguisher_track_validates():
    data = tomllib.loads(ddp_track(TRACK))
    assert schema_errors(data) == [] and parse_track(data).scenarios[1].dataset == "digits"


@given(data=st.data())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_the_schema_takes_every_track_the_parser_takes(data):
    track = data.draw(mutated(tomllib.loads(TRACK)))
    try:
        parse_track(track)
    except ValueError:
        return
    assert schema_errors(track) == []
