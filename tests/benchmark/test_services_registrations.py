"""Registration: terms, e-mail domains and approval gate the bundle, queries, teams and
uploads; organizers decide, and the participant is told by e-mail."""

import pytest

from benchmark import services
from benchmark.models import OutgoingEmail, Registration, Track, TrackOrganizer
from benchmark.services.registrations import RegistrationRequired
from tests.benchmark.factories import make_user, ready_track, submission_zip
from tests.benchmark.helpers import client_for

pytestmark = pytest.mark.django_db


def _gated(**fields):
    track = ready_track()
    Track.objects.filter(pk=track.pk).update(**fields)
    track.refresh_from_db()
    return track


def _upload(track, user):
    return client_for(user).post(
        f"/api/v1/tracks/{track.slug}/submissions/",
        {"file": __import__("io").BytesIO(submission_zip(track))},
        format="multipart",
    )


def test_terms_must_be_accepted_before_download_and_upload():
    track = _gated(terms="Do not attack the organizers.")
    alice = make_user()
    client = client_for(alice)
    bundle = f"/api/v1/tracks/{track.slug}/bundle/"
    refused = client.get(bundle)
    assert refused.status_code == 403
    assert refused.json()["extra"]["registration"] is None
    assert "accept its terms" in refused.json()["message"]
    with pytest.raises(RegistrationRequired):
        services.submission_create(
            track=track, user=alice, upload=submission_zip(track), filename="p.zip"
        )
    no = client.post(f"/api/v1/tracks/{track.slug}/registration/", {}, format="json")
    assert no.status_code == 400 and "accept the terms" in no.json()["message"]
    yes = client.post(
        f"/api/v1/tracks/{track.slug}/registration/", {"accept_terms": True}, format="json"
    )
    assert yes.status_code == 201 and yes.json()["status"] == "approved"
    assert Registration.objects.get(user=alice).terms_accepted == track.terms
    assert client.get(bundle).status_code == 200
    assert _upload(track, alice).status_code == 202


def test_an_email_domain_outside_the_allow_list_is_refused_and_nothing_recorded():
    track = _gated(email_domains=["uni.edu"])
    outsider = make_user(email="eve@example.com")
    with pytest.raises(RegistrationRequired, match=r"uni\.edu"):
        services.registration_apply(track=track, user=outsider, accept_terms=True)
    assert not Registration.objects.exists()
    insider = make_user(email="ada@cs.uni.edu")
    registration = services.registration_apply(track=track, user=insider, accept_terms=False)
    assert registration.status == "approved"


def test_approval_pending_refused_and_approved_with_emails():
    track = _gated(requires_approval=True)
    alice = make_user(email="alice@example.org")
    organizer = make_user()
    TrackOrganizer.objects.create(track=track, user=organizer, roles=["moderation"])
    client = client_for(alice)
    pending = client.post(f"/api/v1/tracks/{track.slug}/registration/", {}, format="json")
    assert pending.json()["status"] == "pending"
    refused = _upload(track, alice)
    assert refused.status_code == 403 and "waits for the organizers" in refused.json()["message"]
    listed = client_for(organizer).get(f"/api/v1/tracks/{track.slug}/registrations/").json()
    assert [(row["username"], row["status"]) for row in listed] == [(alice.username, "pending")]
    decide = f"/api/v1/tracks/{track.slug}/registrations/{listed[0]['id']}/"
    answer = client_for(organizer).post(
        decide, {"decision": "refuse", "reason": "Not a student."}, format="json"
    )
    assert answer.json()["status"] == "refused"
    assert (
        "Not a student."
        in client.post(f"/api/v1/tracks/{track.slug}/registration/", {}, format="json").json()[
            "reason"
        ]
    )
    client_for(organizer).post(decide, {"decision": "approve"}, format="json")
    assert _upload(track, alice).status_code == 202
    mails = OutgoingEmail.objects.filter(kind="registration-decided").order_by("id")
    assert [mail.to for mail in mails] == [alice.email, alice.email]
    assert "refused" in mails[0].subject and "approved" in mails[1].subject
    assert "Not a student." in mails[0].body


def test_forming_a_team_needs_the_registration_too():
    track = _gated(requires_approval=True, max_team_size=3)
    alice = make_user()
    with pytest.raises(RegistrationRequired):
        services.team_create(track=track, user=alice, name="Owls")


def test_the_track_page_offers_the_terms_and_registers():
    from django.test import Client

    track = _gated(terms="Be kind to the models.")
    alice = make_user()
    page = Client()
    page.force_login(alice)
    body = page.get(f"/tracks/{track.slug}/").content.decode()
    assert "Be kind to the models." in body and "I accept the terms" in body
    assert "Download the participant bundle" not in body
    page.post(f"/tracks/{track.slug}/register/", {"accept_terms": "1"})
    body = page.get(f"/tracks/{track.slug}/").content.decode()
    assert "Download the participant bundle" in body
