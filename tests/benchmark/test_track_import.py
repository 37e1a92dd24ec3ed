"""Registering a zoo trained elsewhere: `manage.py track_import` and the admin's import page."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError

from benchmark.models import Job, Track, ZooModel
from tests.zoo.mico_release import write_release

pytestmark = pytest.mark.django_db


@pytest.fixture
def release(tmp_path, settings):
    settings.ARENA_AUTO_BASELINES = ["loss"]
    return write_release(tmp_path / "mico")


def _command(release, *extra):
    out = io.StringIO()
    call_command(
        "track_import", str(release["track"]), "--release", str(release["release"]),
        "--solutions", str(release["solutions"]), *extra, stdout=out, stderr=out,
    )  # fmt: skip
    return out.getvalue()


def test_a_release_becomes_a_ready_track_with_its_bundle_and_baselines(release, settings):
    output = _command(release)
    assert "12 of 12 models imported; ready" in output
    track = Track.objects.get(slug="micoish")
    assert track.build_status == Track.BuildStatus.READY and track.bundle.name
    assert (settings.ARENA_ZOO_ROOT / track.bundle.name).is_file()
    models = ZooModel.objects.filter(scenario__track=track)
    assert models.count() == 12 and set(models.values_list("dtype", flat=True)) == {"imported"}
    assert Job.objects.filter(key=f"attack:{track.pk}:loss").exists(), "its baselines are queued"


def test_a_bad_release_is_refused_with_every_problem_and_nothing_is_created(release):
    (release["release"] / "micoish" / "micoish_lo" / "dev" / "model_2" / "model.pt").unlink()
    with pytest.raises(CommandError, match="1 problem"):
        _command(release)
    assert not Track.objects.filter(slug="micoish").exists()


def test_the_admin_queues_an_import_or_lists_the_problems(release, admin_client):
    client = admin_client
    form = {
        "file": SimpleUploadedFile("t.toml", release["track"].read_bytes()),
        "release": str(release["release"]),
        "solutions": str(release["solutions"] / "nowhere"),
    }
    page = client.post("/admin/benchmark/track/import/", form)
    assert page.status_code == 200 and "solution.csv</code>: missing" in page.content.decode()
    form["file"].seek(0)
    form["solutions"] = str(release["solutions"])
    done = client.post("/admin/benchmark/track/import/", form)
    assert done.status_code == 302
    track = Track.objects.get(slug="micoish")
    assert track.build_status == Track.BuildStatus.BUILDING
    assert Job.objects.get(key=f"zoo:{track.pk}").task == "benchmark.zoo_import"
