"""The participant's `arena` command line against a real server (gunicorn) and a real worker
(Celery on Redis): login, tracks, download with its checksum, validate, submit --wait to a
scored submission, leaderboard."""

import json
import subprocess
import sys
import zipfile

import pytest
from django.contrib.auth.models import User

from benchmark.models import Submission, Track
from tests.benchmark.factories import ready_track, submission_zip
from tests.conftest import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def arena(*args, config, password=None):
    env = {"ARENA_CONFIG": str(config), "PATH": "/usr/bin:/bin"}
    if password:
        env["ARENA_PASSWORD"] = password
    return subprocess.run(
        [sys.executable, "-m", "arena", *args], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=180,
    )  # fmt: skip


def test_from_login_to_a_scored_submission(
    http_server, celery_worker_process, shared_media, tmp_path
):
    track = ready_track("cli")
    User.objects.create_user("carol", password="a-long-password-1")
    config = tmp_path / "arena.json"

    bad = arena("login", http_server, "--username", "carol", config=config, password="wrong")
    assert bad.returncode == 1 and "Unable to log in" in bad.stderr
    login = arena("login", http_server, "--username", "carol", config=config,
                  password="a-long-password-1")  # fmt: skip
    assert login.returncode == 0, login.stderr
    assert json.loads(config.read_text())["token"] and oct(config.stat().st_mode)[-3:] == "600"

    tracks = arena("tracks", config=config)
    assert tracks.returncode == 0 and "cli" in tracks.stdout and "ready 20/20" in tracks.stdout

    bundle = tmp_path / "cli.zip"
    download = arena("download", "cli", "-o", str(bundle), config=config)
    assert download.returncode == 0, download.stderr
    assert "(checked)" in download.stdout and zipfile.is_zipfile(bundle)

    upload = tmp_path / "predictions.zip"
    upload.write_bytes(submission_zip(track, skill=2.0))
    refused_metadata = arena("submit", "cli", str(upload), "--paper-url", "ftp://example.org/p",
                             config=config)  # fmt: skip
    assert refused_metadata.returncode == 1 and "paper_url" in refused_metadata.stderr
    assert not Submission.objects.exists(), "bad metadata refuses the upload"
    submit = arena("submit", "cli", str(upload), "--method", "a test attack", "--access",
                   "black-box", "--paper-url", "https://example.org/paper", "--description",
                   "loss threshold", "--code-url", "https://example.org/code", "--wait",
                   config=config)  # fmt: skip
    assert submit.returncode == 0, submit.stdout + submit.stderr
    assert "queued" in submit.stdout and "scored" in submit.stdout
    assert "TPR@10%FPR" in submit.stdout and "inf" in submit.stdout
    stored = Submission.objects.get()
    assert (stored.method, stored.access, stored.description) == (
        "a test attack",
        "black-box",
        "loss threshold",
    )
    assert (stored.paper_url, stored.code_url) == (
        "https://example.org/paper",
        "https://example.org/code",
    )

    board = arena("leaderboard", "cli", config=config)
    assert board.returncode == 0 and "carol" in board.stdout
    hidden = arena("leaderboard", "cli", "--phase", "final", config=config)
    assert "hidden until it is revealed" in hidden.stdout

    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"not a zip")
    refused = arena("submit", "cli", str(broken), config=config)
    assert refused.returncode == 1 and "the zip was refused" in refused.stderr


def test_without_a_login_the_cli_says_how_to_log_in(tmp_path):
    result = arena("tracks", config=tmp_path / "none.json")
    assert result.returncode == 1 and "arena login <url>" in result.stderr


def test_register_form_a_team_join_it_and_select_for_final(http_server, tmp_path):
    """Competition operations from the command line: terms, a team of two, a selection."""
    track = ready_track("ops", final_rule="selected")
    Track.objects.filter(pk=track.pk).update(max_team_size=2, terms="Attack only the models.")
    for name in ("dana", "erin"):
        User.objects.create_user(name, password="a-long-password-1")
    dana, erin = tmp_path / "dana.json", tmp_path / "erin.json"
    for name, config in (("dana", dana), ("erin", erin)):
        login = arena("login", http_server, "--username", name, config=config,
                      password="a-long-password-1")  # fmt: skip
        assert login.returncode == 0, login.stderr

    unaccepted = arena("register", "ops", config=dana)
    assert unaccepted.returncode == 2 and "Attack only the models." in unaccepted.stdout
    refused = arena("team", "ops", "--create", "Owls", config=dana)
    assert refused.returncode == 1 and "register first" in refused.stderr
    for config in (dana, erin):
        registered = arena("register", "ops", "--accept-terms", config=config)
        assert "registration approved" in registered.stdout, registered.stderr
    created = arena("team", "ops", "--create", "Owls", config=dana)
    assert created.returncode == 0, created.stderr
    code = created.stdout.rsplit("invite code ", 1)[1].strip()
    joined = arena("team", "ops", "--join", code, config=erin)
    assert "team Owls (2 of 2): dana, erin" in joined.stdout, joined.stderr

    upload = tmp_path / "predictions.zip"
    upload.write_bytes(submission_zip(track, skill=2.0))
    submitted = arena("submit", "ops", str(upload), config=erin)
    assert submitted.returncode == 0, submitted.stderr
    submission = Submission.objects.get()
    assert submission.team.name == "Owls"
    selected = arena("select", str(submission.pk), config=dana)
    assert selected.returncode == 0, selected.stderr
    assert f"submission {submission.pk} counts for final" in selected.stdout
    submission.refresh_from_db()
    assert submission.selected
