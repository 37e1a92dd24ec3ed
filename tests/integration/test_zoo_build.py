"""A tiny track built through Celery by two worker processes, then its baselines: the `loss`
attack queued automatically when the zoo is ready, and another one queued by an organizer."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from benchmark.models import Submission, Track, ZooModel
from tests.benchmark.factories import make_staff, track_toml
from tests.benchmark.helpers import client_for
from tests.integration.conftest import log_tail, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_two_workers_build_a_zoo_and_the_baselines_follow(
    celery_worker_process, second_celery_worker, settings
):
    assert connection.vendor == "postgresql"
    settings.MEDIA_ROOT = celery_worker_process.media_root
    settings.ARENA_ZOO_ROOT = celery_worker_process.media_root / "zoo"
    organizer = make_staff(username="org-zoo")
    client = client_for(organizer)
    # One plain scenario: DP calibration is the zoo library's own tests' business.
    toml = track_toml("zoo-tiny", m=10, n=120, train=4, dev=2, final=2, chunk=2, dp=False)
    response = client.post(
        "/api/v1/tracks/", {"file": SimpleUploadedFile("t.toml", toml.encode())}, format="multipart"
    )
    assert response.status_code == 201, response.content
    assert response.json()["models_total"] == 8

    def ready():
        track = Track.objects.get(slug="zoo-tiny")
        if track.build_status == Track.BuildStatus.FAILED:
            pytest.fail(track.build_message)
        return track if track.build_status == Track.BuildStatus.READY else None

    log_path = celery_worker_process.log_path
    logs = log_tail(log_path)
    track = wait_for(ready, timeout=240, what="the zoo build", logs=logs)
    assert track.models_built == 8
    assert ZooModel.objects.filter(scenario__track=track).count() == 8
    phases = {m.phase for m in ZooModel.objects.filter(scenario__track=track)}
    assert phases == {"train", "dev", "final"}
    trained = set(ZooModel.objects.filter(scenario__track=track).values_list("dtype", "device"))
    assert trained == {("float32", "cpu")}, "each model records what it trained in"
    assert "float32 on cpu (8 models)" in client.get("/tracks/zoo-tiny/").content.decode()
    texts = [log_path.read_text(), second_celery_worker.log_path.read_text()]
    assert all("benchmark.zoo_build_chunk" in text for text in texts), "both workers built chunks"

    bundle = client.get("/api/v1/tracks/zoo-tiny/bundle/")
    assert bundle.status_code == 200
    assert b"".join(bundle.streaming_content).startswith(b"PK")

    def baseline(attack):
        row = Submission.objects.filter(track=track, attack=attack).first()
        return row if row is not None and row.status in ("scored", "failed") else None

    loss = wait_for(lambda: baseline("loss"), timeout=180, what="auto baseline", logs=logs)
    assert loss.status == "scored", loss.message
    queued = client.post(
        "/api/v1/tracks/zoo-tiny/attacks/", {"attack": "confidence"}, format="json"
    )
    assert queued.status_code == 202, queued.content
    confidence = wait_for(
        lambda: baseline("confidence"), timeout=180, what="queued attack", logs=logs
    )
    assert confidence.status == "scored", confidence.message

    board = client_for(None).get("/api/v1/tracks/zoo-tiny/leaderboard/?phase=dev").json()
    rows = {row["attack"]: row for row in board["rows"] if row["is_baseline"]}
    assert set(rows) == {"loss", "confidence"}
    assert all(row["rank"] is None for row in rows.values())
