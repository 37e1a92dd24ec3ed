"""The Django admin: every model listed, a track created from a file, hide/disqualify actions."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from benchmark import services
from benchmark.models import Submission, Track
from tests.benchmark.factories import make_user, ready_track, track_toml
from tests.benchmark.helpers import scored

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_():
    client = Client()
    client.force_login(make_user(username="root", is_staff=True, is_superuser=True))
    return client


def test_every_model_has_a_working_changelist(admin_client_):
    track = ready_track()
    told = make_user(email="told@example.org")
    services.email_preferences_update(user=told, submission_results=True)
    scored(track, told)  # an e-mail row too
    for model in ("track", "scenario", "zoomodel", "submission", "scenarioscore",
                  "leaderboardentry", "paircomparison", "entrant", "dailyusage",
                  "workerheartbeat", "outgoingemail", "emailpreferences"):  # fmt: skip
        response = admin_client_.get(f"/admin/benchmark/{model}/")
        assert response.status_code == 200, model


def test_a_track_is_created_from_an_uploaded_file(
    admin_client_, django_capture_on_commit_callbacks
):
    assert admin_client_.get("/admin/benchmark/track/from-file/").status_code == 200
    upload = SimpleUploadedFile("t.toml", track_toml("via-admin").encode())
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client_.post("/admin/benchmark/track/from-file/", {"file": upload})
    assert response.status_code == 302
    assert Track.objects.filter(slug="via-admin").exists() and len(callbacks) == 1
    bad = SimpleUploadedFile("t.toml", b'slug = "x"')
    response = admin_client_.post("/admin/benchmark/track/from-file/", {"file": bad})
    assert response.status_code == 200 and b"is missing" in response.content


def test_hide_and_disqualify_actions(admin_client_):
    track = ready_track()
    submission = scored(track, make_user())
    for action, field in (("hide", "hidden"), ("disqualify", "disqualified")):
        response = admin_client_.post(
            "/admin/benchmark/submission/",
            {"action": action, "_selected_action": [submission.pk]},
        )
        assert response.status_code == 302
        assert getattr(Submission.objects.get(pk=submission.pk), field)


def test_the_build_action_queues_only_unbuilt_zoos(
    admin_client_, django_capture_on_commit_callbacks
):
    built = ready_track("built")
    pending = ready_track("pending")
    Track.objects.filter(pk=pending.pk).update(build_status=Track.BuildStatus.FAILED)
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client_.post(
            "/admin/benchmark/track/",
            {"action": "build", "_selected_action": [built.pk, pending.pk]},
        )
    assert response.status_code == 302
    assert len(callbacks) == 1
