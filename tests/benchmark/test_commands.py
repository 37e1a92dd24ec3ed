"""Management commands: track_create, track_reveal, attack_run, arena_bootstrap."""

import datetime as dt
import io
import re

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from benchmark.models import Job, Track
from tests.benchmark.factories import ready_track, track_toml

pytestmark = pytest.mark.django_db


def _run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_track_create_registers_the_track_and_queues_its_zoo(
    tmp_path, django_capture_on_commit_callbacks
):
    path = tmp_path / "t.toml"
    path.write_text(track_toml("from-file", train=2, dev=2, final=2))
    with django_capture_on_commit_callbacks() as callbacks:
        output = _run("track_create", str(path))
    track = Track.objects.get(slug="from-file")
    assert "12 models" in output and track.models_total == 12
    assert list(track.scenarios.values_list("slug", flat=True)) == ["inf", "lo"]
    assert track.scenarios.get(slug="lo").epsilon == 4.0
    assert len(callbacks) == 1, "the zoo build is queued on commit"
    with pytest.raises(CommandError, match="already exists"):
        _run("track_create", str(path))


def test_track_create_names_the_bad_key(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(track_toml("bad").replace("challenge = 10", "challenge = 0"))
    with pytest.raises(CommandError, match="challenge"):
        _run("track_create", str(path))


def test_track_reveal_waits_for_the_deadline():
    track = ready_track()
    with pytest.raises(CommandError, match="reveal after that"):
        _run("track_reveal", track.slug)
    Track.objects.filter(pk=track.pk).update(
        final_deadline=timezone.now() - dt.timedelta(seconds=1)
    )
    assert "revealed" in _run("track_reveal", track.slug)
    track.refresh_from_db()
    assert track.revealed_at is not None


def test_attack_run_queues_a_known_attack(django_capture_on_commit_callbacks):
    track = ready_track()
    with pytest.raises(CommandError, match="unknown attack"):
        _run("attack_run", track.slug, "no-such-attack")
    with django_capture_on_commit_callbacks() as callbacks:
        assert "queued" in _run("attack_run", track.slug, "loss")
    assert len(callbacks) == 1


def test_bootstrap_creates_the_organizer_once_and_registers_tracks_once(
    tmp_path, settings, django_capture_on_commit_callbacks
):
    path = tmp_path / "demo.toml"
    path.write_text(track_toml("demo-tiny"))
    settings.ARENA_DEMO_TRACKS = [str(path)]
    with django_capture_on_commit_callbacks():
        first = _run("arena_bootstrap")
    password = re.search(r"password: (\S+)", first).group(1)
    organizer = User.objects.get(username=settings.ARENA_ORGANIZER)
    assert organizer.is_staff and organizer.check_password(password)
    assert password not in organizer.password, "only the hash is stored"
    assert Track.objects.filter(slug="demo-tiny").exists()
    Job.objects.filter(task="benchmark.zoo_build_track").update(state=Job.State.FAILED)
    with django_capture_on_commit_callbacks() as callbacks:
        second = _run("arena_bootstrap")
    assert "password" not in second
    assert "queued again" in second and len(callbacks) == 1, "an unbuilt zoo resumes"
    with django_capture_on_commit_callbacks() as callbacks:
        _run("arena_bootstrap")
    assert not callbacks, "a build already waiting for a worker is not queued twice"
    waiting = Job.objects.filter(task="benchmark.zoo_build_track", state=Job.State.PENDING)
    assert waiting.count() == 1
    assert Track.objects.count() == 1 and User.objects.count() == 1
