"""A text track on the platform: built, its bundle downloaded, a baseline attack and a
participant's submission scored."""

import io
import zipfile

import pytest

from benchmark import services
from benchmark.models import Submission, Track
from benchmark.services.zoo import zoo_build_chunk, zoo_build_start
from tests.benchmark.factories import make_user
from tests.benchmark.helpers import client_for
from tests.zoo.test_text import TRACK as TEXT_TRACK

TRACK = TEXT_TRACK.replace("max_bytes = 1000", "max_bytes = 100000").replace(
    "per_day = 1\n", "per_day = 5\n"
)

pytestmark = pytest.mark.django_db


def test_a_text_track_builds_downloads_and_scores(settings, tmp_path):
    settings.ARENA_ZOO_ROOT = tmp_path
    settings.ARENA_AUTO_BASELINES = []
    track = services.track_create(spec_text=TRACK, created_by=None)
    for index in range(zoo_build_start(track_id=track.pk)):
        zoo_build_chunk(track_id=track.pk, chunk_index=index)
    track.refresh_from_db()
    assert track.build_status == Track.BuildStatus.READY, track.build_message

    alice = make_user()
    response = client_for(alice).get(f"/api/v1/tracks/{track.slug}/bundle/")
    assert response.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).namelist()
    assert "texty/texty_inf/dev/model_1/model.pt" in names

    baseline = services.attack_run(track_id=track.pk, attack="loss", by_id=None)
    services.submission_score(submission_id=baseline.pk)
    baseline.refresh_from_db()
    assert baseline.status == Submission.Status.SCORED, baseline.message

    with baseline.file.open("rb") as handle:
        upload = handle.read()
    mine = services.submission_create(
        track=track, user=alice, upload=upload, filename="loss.zip", metadata={"method": "loss"}
    )
    services.submission_score(submission_id=mine.pk)
    mine.refresh_from_db()
    assert mine.status == Submission.Status.SCORED, mine.message
    assert {score.scenario.slug for score in mine.scores.all()} == {"inf", "lo"}
