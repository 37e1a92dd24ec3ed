"""The full path: upload over the API → a real worker on Redis scores it → the leaderboard."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from tests.benchmark.factories import make_user, ready_track, submission_zip
from tests.benchmark.helpers import client_for
from tests.integration.conftest import log_tail, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_upload_is_scored_by_the_worker_and_reaches_the_leaderboard(
    celery_worker_process, settings
):
    assert connection.vendor == "postgresql"
    settings.MEDIA_ROOT = celery_worker_process.media_root
    settings.ARENA_ZOO_ROOT = celery_worker_process.media_root / "zoo"
    track = ready_track("flow")
    alice = make_user(username="alice-flow")
    client = client_for(alice)
    response = client.post(
        "/api/v1/tracks/flow/submissions/",
        {"file": SimpleUploadedFile("p.zip", submission_zip(track, skill=2.0))},
        format="multipart",
    )
    assert response.status_code == 202, response.content
    submission_id = response.json()["id"]

    def status():
        body = client.get(f"/api/v1/submissions/{submission_id}/").json()
        return body if body["status"] in ("scored", "failed") else None

    logs = log_tail(celery_worker_process.log_path)
    body = wait_for(status, timeout=90, what="scoring", logs=logs)
    assert body["status"] == "scored", body
    assert set(body["scores"]) == {"inf", "lo"}
    assert set(body["scores"]["inf"]) == {"dev"}, "final scores stay hidden before the reveal"

    board = client_for(None).get("/api/v1/tracks/flow/leaderboard/?phase=dev").json()
    assert [(row["rank"], row["username"]) for row in board["rows"]] == [(1, "alice-flow")]
