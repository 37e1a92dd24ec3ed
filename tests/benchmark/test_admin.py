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


def test_registrations_are_decided_from_the_admin_and_the_participant_told(admin_client_):
    from benchmark.models import OutgoingEmail, Registration
    from tests.benchmark.factories import make_user, ready_track

    track = ready_track()
    alice = make_user(email="alice@example.org")
    registration = Registration.objects.create(track=track, user=alice)
    response = admin_client_.post(
        "/admin/benchmark/registration/",
        {"action": "approve", "_selected_action": [registration.pk]},
    )
    assert response.status_code == 302
    registration.refresh_from_db()
    assert registration.status == "approved"
    assert OutgoingEmail.objects.get(kind="registration-decided").to == alice.email


def test_organizer_roles_are_chosen_from_the_list(admin_client_):
    from benchmark.models import TrackOrganizer
    from tests.benchmark.factories import make_user, ready_track

    track = ready_track()
    bob = make_user()
    response = admin_client_.post(
        "/admin/benchmark/trackorganizer/add/",
        {"track": track.pk, "user": bob.pk, "roles": ["reveal", "moderation"]},
    )
    assert response.status_code == 302, response.content[:500]
    assert TrackOrganizer.objects.get(user=bob).roles == ["reveal", "moderation"]
    wrong = admin_client_.post(
        "/admin/benchmark/trackorganizer/add/",
        {"track": track.pk, "user": make_user().pk, "roles": ["everything"]},
    )
    assert wrong.status_code == 200 and b"not one of the available choices" in wrong.content
