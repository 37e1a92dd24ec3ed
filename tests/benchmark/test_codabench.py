"""``manage.py track_export_codabench``: a Codabench bundle whose YAML keeps to Codabench's
documented keys and whose scoring program, run as a Codabench worker runs it, gives the
arena's own scores."""

import datetime as dt
import io
import itertools
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from benchmark import services
from benchmark.models import LeaderboardEntry, Track
from scoring.codalab import program_files
from tests.benchmark.factories import make_user, ready_track, submission_zip

pytestmark = pytest.mark.django_db

# The keys of a version-2 competition.yaml, from Codabench's documentation and its unpacker:
# - "YAML Structure" (docs.codabench.org/latest/Organizers/Benchmark_Creation/Yaml-Structure/;
#   codalab/codabench documentation/docs/Organizers/Benchmark_Creation/Yaml-Structure.md):
#   competition properties, pages, phases, tasks, solutions, fact_sheet, leaderboards, columns,
#   which are required and which optional, the `YYYY-MM-DD HH:MM:SS` datetimes;
# - "Competition Bundle Structure" (same folder): files referenced by their path in the
#   bundle, a scoring program with a metadata.yaml holding `command`;
# - src/apps/competitions/unpackers/v2.py: what the unpacker refuses without (title, image,
#   terms, pages, phases with tasks, tasks with index and scoring_program, `leaderboards`;
#   the bundle page's example says `leaderboard:`, which the unpacker does not read).
TEXT = {"type": "string", "minLength": 1}
INDEX = {"type": "integer", "minimum": 0}
FLAG = {"type": "boolean"}
DATETIME = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"}
PAGE = {
    "type": "object",
    "required": ["title", "file"],
    "additionalProperties": False,
    "properties": {"title": TEXT, "file": TEXT},
}
PHASE = {
    "type": "object",
    "required": ["name", "start", "tasks"],
    "additionalProperties": False,
    "properties": {
        "index": INDEX,
        "name": TEXT,
        "description": {"type": "string"},
        "start": DATETIME,
        "end": DATETIME,
        "tasks": {"type": "array", "items": INDEX, "minItems": 1},
        "max_submissions": INDEX,
        "max_submissions_per_day": INDEX,
        "auto_migrate_to_this_phase": FLAG,
        "execution_time_limit": INDEX,
        "hide_output": FLAG,
        "hide_prediction_output": FLAG,
        "hide_score_output": FLAG,
        "starting_kit": TEXT,
        "public_data": TEXT,
        "accepts_only_result_submissions": FLAG,
    },
}
TASK = {
    "type": "object",
    "required": ["index", "name", "scoring_program"],
    "additionalProperties": False,
    "properties": {
        "index": INDEX,
        "name": TEXT,
        "description": {"type": "string"},
        "scoring_program": TEXT,
        "reference_data": TEXT,
        "input_data": TEXT,
        "ingestion_program": TEXT,
        "ingestion_only_during_scoring": FLAG,
    },
}
SOLUTION = {
    "type": "object",
    "required": ["index", "tasks", "path"],
    "additionalProperties": False,
    "properties": {"index": INDEX, "tasks": {"type": "array", "items": INDEX}, "path": TEXT},
}
COLUMN = {
    "type": "object",
    "required": ["title", "key", "index"],
    "additionalProperties": False,
    "properties": {
        "title": TEXT,
        "key": TEXT,
        "index": INDEX,
        "sorting": {"enum": ["asc", "desc"]},
        "computation": {"enum": ["sum", "avg", "min", "max"]},
        "computation_indexes": {"type": "array", "items": INDEX},
        "precision": INDEX,
        "hidden": FLAG,
    },
}
LEADERBOARD = {
    "type": "object",
    "required": ["title", "key", "columns"],
    "additionalProperties": False,
    "properties": {
        "title": TEXT,
        "key": TEXT,
        "columns": {"type": "array", "items": COLUMN, "minItems": 1},
        "submission_rule": {
            "enum": [
                "Add",
                "Add_And_Delete",
                "Add_And_Delete_Multiple",
                "Force_Last",
                "Force_Latest_Multiple",
                "Force_Best",
            ]
        },
        "hidden": FLAG,
    },
}
COMPETITION = {
    "type": "object",
    "required": ["version", "title", "image", "terms", "pages", "phases", "tasks", "leaderboards"],
    "additionalProperties": False,
    "properties": {
        "version": {"const": 2},
        "title": TEXT,
        "image": TEXT,
        "terms": TEXT,
        "description": {"type": "string"},
        "registration_auto_approve": FLAG,
        "docker_image": TEXT,
        "make_programs_available": FLAG,
        "make_input_data_available": FLAG,
        "queue": TEXT,
        "enable_detailed_results": FLAG,
        "show_detailed_results_in_submission_panel": FLAG,
        "show_detailed_results_in_leaderboard": FLAG,
        "contact_email": TEXT,
        "reward": TEXT,
        "auto_run_submissions": FLAG,
        "can_participants_make_submissions_public": FLAG,
        "forum_enabled": FLAG,
        "pages": {"type": "array", "items": PAGE},
        "phases": {"type": "array", "items": PHASE, "minItems": 1},
        "tasks": {"type": "array", "items": TASK, "minItems": 1},
        "solutions": {"type": "array", "items": SOLUTION},
        "fact_sheet": {"type": "object"},
        "leaderboards": {"type": "array", "items": LEADERBOARD, "minItems": 1},
    },
}


def export(track, path, *extra):
    call_command("track_export_codabench", track.slug, str(path), *extra, stdout=io.StringIO())
    return zipfile.ZipFile(path)


def members(archive, name):
    return zipfile.ZipFile(io.BytesIO(archive.read(name)))


def when(text):
    return dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC)


@pytest.fixture
def bundle(tmp_path):
    track = ready_track()
    return track, export(track, tmp_path / "bundle.zip")


def test_the_yaml_keeps_to_codabenchs_documented_keys(bundle):
    _, archive = bundle
    document = yaml.safe_load(archive.read("competition.yaml"))
    jsonschema.validate(document, COMPETITION)
    names = set(archive.namelist())
    referenced = [document["image"], document["terms"]]
    referenced += [page["file"] for page in document["pages"]]
    for task in document["tasks"]:
        referenced += [task["scoring_program"], task["reference_data"]]
    assert set(referenced) <= names
    tasks = {task["index"] for task in document["tasks"]}
    assert all(set(phase["tasks"]) <= tasks for phase in document["phases"])
    phases = document["phases"]
    assert all("end" in phase for phase in phases[:-1]), "every phase but the last ends"
    for before, after in itertools.pairwise(phases):
        assert when(after["start"]) >= when(before["end"]), "phases are sequential"
    assert "auto_migrate_to_this_phase" not in phases[0]


def test_phases_limits_and_final_rule_are_the_tracks(bundle):
    track, archive = bundle
    document = yaml.safe_load(archive.read("competition.yaml"))
    development, final = document["phases"]
    assert when(development["start"]) == track.dev_opens.replace(microsecond=0)
    assert when(development["end"]) == when(final["start"])
    assert when(final["start"]) == track.final_deadline.replace(microsecond=0)
    assert final["auto_migrate_to_this_phase"] is True and "end" not in final
    for phase in (development, final):
        assert (phase["max_submissions_per_day"], phase["max_submissions"]) == (5, 20)
    assert [task["reference_data"] for task in document["tasks"]] == [
        "reference_data_dev.zip",
        "reference_data_final.zip",
    ]
    (leaderboard,) = document["leaderboards"]
    assert leaderboard["submission_rule"] == "Force_Last"
    assert [(c["key"], c["title"]) for c in leaderboard["columns"]] == [
        ("average_TPR_FPR_1000", "Average TPR@10%FPR"),
        ("scenario1_TPR_FPR_1000", "inf (ε = ∞): TPR@10%FPR"),
        ("scenario2_TPR_FPR_1000", "lo (ε = 4): TPR@10%FPR"),
    ]
    assert document["docker_image"] == "codalab/codalab-legacy:py312"


def test_a_best_ranked_track_keeps_its_best_submission(tmp_path):
    track = ready_track(final_rule="best-dev")
    document = yaml.safe_load(export(track, tmp_path / "b.zip").read("competition.yaml"))
    assert document["leaderboards"][0]["submission_rule"] == "Force_Best"


def test_reference_data_is_micos_ref_layout_of_each_phase(bundle, settings):
    _, archive = bundle
    root = Path(settings.ARENA_ZOO_ROOT) / "solutions"
    for phase, models in (("dev", range(2, 6)), ("final", range(6, 10))):
        ref = members(archive, f"reference_data_{phase}.zip")
        expected = [
            f"tiny/tiny_{scenario}/{phase}/model_{model}/solution.csv"
            for scenario in ("inf", "lo")
            for model in models
        ]
        assert sorted(ref.namelist()) == sorted(expected)
        assert all(ref.read(name) == (root / name).read_bytes() for name in expected)


def test_the_scoring_program_is_score_py_with_the_scoring_package(bundle):
    _, archive = bundle
    program = members(archive, "scoring_program.zip")
    assert sorted(program.namelist()) == sorted(program_files())
    assert all(program.read(name) == data for name, data in program_files().items())
    metadata = yaml.safe_load(program.read("metadata.yaml"))
    assert metadata == {"command": "python3 /app/program/score.py /app/input /app/output"}
    legacy = yaml.safe_load(program.read("metadata"))
    assert legacy == {"command": "python3 $program/score.py $input $output"}


def run_as_codabench(archive, phase, submission, root):
    """What a Codabench worker does: unpack the program, the phase's reference data and the
    submission (plus the ``metadata`` file it writes beside it), run metadata.yaml's command."""
    members(archive, "scoring_program.zip").extractall(root / "program")
    members(archive, f"reference_data_{phase}.zip").extractall(root / "input/ref")
    zipfile.ZipFile(io.BytesIO(submission)).extractall(root / "input/res")
    (root / "input/res/metadata").write_text("exitCode: 0\n")
    command = yaml.safe_load((root / "program/metadata.yaml").read_text())["command"]
    for inside, outside in (("/app/", f"{root}/"), ("python3 ", f"{sys.executable} ")):
        command = command.replace(inside, outside)
    completed = subprocess.run(
        shlex.split(command),
        cwd=root / "program",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    return yaml.safe_load((root / "output/scores.txt").read_text())


@pytest.mark.parametrize("phase", ["dev", "final"])
def test_the_bundle_scores_a_submission_as_the_arena_does(bundle, tmp_path, phase):
    track, archive = bundle
    data = submission_zip(track, skill=1.5)
    train = {
        f"tiny/tiny_{scenario}/train/model_{model}/prediction.csv": b"0.5," * 19 + b"0.5\n"
        for scenario in ("inf", "lo")
        for model in (0, 1)
    }
    with_train = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(with_train, "w") as out:
        for name in source.namelist():
            out.writestr(name, source.read(name))
        for name, content in train.items():
            out.writestr(name, content)
    scores = run_as_codabench(archive, phase, with_train.getvalue(), tmp_path)
    document = yaml.safe_load(archive.read("competition.yaml"))
    columns = [column["key"] for column in document["leaderboards"][0]["columns"]]
    assert set(columns) <= set(scores)
    assert (tmp_path / "output/scores.html").stat().st_size > 0
    submission = services.submission_create(
        track=track, user=make_user(), upload=data, filename="a.zip"
    )
    services.submission_score(submission_id=submission.pk)
    entry = LeaderboardEntry.objects.get(submission=submission, phase=phase, is_current=True)
    assert scores["average_TPR_FPR_1000"] == pytest.approx(entry.score, abs=1e-12)
    for number, scenario in ((1, "inf"), (2, "lo")):
        arena = entry.per_scenario[scenario]
        assert scores[f"scenario{number}_AUC"] == pytest.approx(arena["AUC"], abs=1e-6)
        assert scores[f"scenario{number}_TPR_FPR_1000"] == pytest.approx(
            arena["TPR_FPR_1000"], abs=1e-6
        )


def test_the_same_track_exports_the_same_bytes(tmp_path):
    track = ready_track()
    export(track, tmp_path / "a.zip")
    export(track, tmp_path / "b.zip")
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()


def test_options_terms_logo_and_data_url(tmp_path):
    track = ready_track()
    (tmp_path / "terms.md").write_text("# Our terms\n")
    (tmp_path / "logo.png").write_bytes(b"\x89PNG logo")
    archive = export(
        track,
        tmp_path / "bundle.zip",
        "--terms",
        str(tmp_path / "terms.md"),
        "--logo",
        str(tmp_path / "logo.png"),
        "--data-url",
        "https://arena.example/tracks/tiny/",
        "--docker-image",
        "me/mia-arena:1",
    )
    assert archive.read("terms.md") == b"# Our terms\n"
    assert archive.read("logo.png") == b"\x89PNG logo"
    assert b"https://arena.example/tracks/tiny/" in archive.read("data.md")
    assert yaml.safe_load(archive.read("competition.yaml"))["docker_image"] == "me/mia-arena:1"


def test_the_default_logo_is_a_png(bundle):
    _, archive = bundle
    assert archive.read("logo.png").startswith(b"\x89PNG\r\n\x1a\n")


def test_unknown_unbuilt_and_incomplete_tracks_are_refused(tmp_path, settings):
    with pytest.raises(CommandError, match="no track 'nope'"):
        call_command("track_export_codabench", "nope", str(tmp_path / "x.zip"))
    track = ready_track()
    Track.objects.filter(pk=track.pk).update(build_status=Track.BuildStatus.BUILDING)
    with pytest.raises(CommandError, match="is not built"):
        export(track, tmp_path / "x.zip")
    Track.objects.filter(pk=track.pk).update(build_status=Track.BuildStatus.READY)
    missing = Path(settings.ARENA_ZOO_ROOT) / "solutions/tiny/tiny_lo/final/model_9/solution.csv"
    missing.unlink()
    with pytest.raises(CommandError, match=r"model_9/solution\.csv"):
        export(track, tmp_path / "x.zip")
    assert not (tmp_path / "x.zip").exists()
