"""Before the reveal, no page, API response, CSV or error carries a final figure: walk every
URL as a participant and look for each final number; staff see them (so the search can fail)."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from benchmark import services
from benchmark.models import ROLES, LeaderboardEntry, ScenarioScore, Track, TrackOrganizer
from tests.benchmark.factories import make_staff, make_user, ready_track
from tests.benchmark.helpers import scored

pytestmark = pytest.mark.django_db


#: Distinctive numbers planted in every final score row, and how pages or the API print them.
SENTINELS = {
    "primary": 0.6180339887,
    "ci_low": 0.5772156649,
    "ci_high": 0.6931471805,
    "eps_lb": 2.7182818284,
    "AUC": 0.8414709848,
}
ROC_SENTINEL = {"fpr": [0.0, 0.0314159265, 1.0], "tpr": [0.0, 0.4142135623, 1.0]}


def _plant(track):
    """Make every final figure recognisable wherever it might surface."""
    for score in ScenarioScore.objects.filter(submission__track=track, phase="final"):
        score.primary = SENTINELS["primary"]
        score.ci_low, score.ci_high = SENTINELS["ci_low"], SENTINELS["ci_high"]
        score.eps_lb = SENTINELS["eps_lb"]
        score.metrics = {
            **score.metrics,
            "AUC": SENTINELS["AUC"],
            track.primary: SENTINELS["primary"],
        }
        score.roc = ROC_SENTINEL
        score.save()
    for entry in LeaderboardEntry.objects.filter(submission__track=track, phase="final"):
        entry.score = SENTINELS["primary"]
        entry.ci_low, entry.ci_high = SENTINELS["ci_low"], SENTINELS["ci_high"]
        for figures in entry.per_scenario.values():
            figures.update(AUC=SENTINELS["AUC"], eps_lb=SENTINELS["eps_lb"])
            figures[track.primary] = SENTINELS["primary"]
            figures["ci"] = [SENTINELS["ci_low"], SENTINELS["ci_high"]]
        entry.save()
    values = [*SENTINELS.values(), ROC_SENTINEL["fpr"][1], ROC_SENTINEL["tpr"][1]]
    return {text for value in values for text in (repr(value), f"{value:.4f}", f"{value:.2%}")}


def _urls(track, submission_ids):
    slug = track.slug
    urls = [
        "/",
        f"/tracks/{slug}/",
        f"/tracks/{slug}/leaderboard/?phase=dev",
        f"/tracks/{slug}/leaderboard/?phase=final",
        f"/tracks/{slug}/submissions/",
        "/api/v1/tracks/",
        f"/api/v1/tracks/{slug}/",
        f"/api/v1/tracks/{slug}/leaderboard/?phase=dev",
        f"/api/v1/tracks/{slug}/leaderboard/?phase=final",
        f"/api/v1/tracks/{slug}/leaderboard.csv?phase=dev",
        f"/api/v1/tracks/{slug}/leaderboard.csv?phase=final",
        f"/api/v1/tracks/{slug}/submissions/",
        f"/api/v1/tracks/{slug}/leaderboard/?phase=nonsense",
    ]
    for submission_id in submission_ids:
        urls += [f"/submissions/{submission_id}/", f"/api/v1/submissions/{submission_id}/"]
    return urls


def _walk(user, track, submission_ids):
    client = Client()
    client.force_login(user)
    bodies = {}
    for url in _urls(track, submission_ids):
        response = client.get(url)
        assert response.status_code in (200, 400, 404), (url, response.status_code)
        bodies[url] = response.content.decode()
    return bodies


def test_no_final_figure_anywhere_before_the_reveal():
    now = timezone.now()
    track = ready_track(dev=6, final=6, m=15)
    alice = make_user()
    mine = scored(track, alice, skill=1.3, seed=1)
    other = scored(track, make_user(), skill=0.7, seed=2)
    baseline = scored(track, None, attack="loss", skill=0.5, seed=3)
    Track.objects.filter(pk=track.pk).update(
        dev_opens=now - dt.timedelta(days=9), final_deadline=now - dt.timedelta(minutes=1)
    )
    track.refresh_from_db()
    needles = _plant(track)
    ids = [mine.pk, other.pk, baseline.pk]

    leaks = [
        (url, needle)
        for url, body in _walk(alice, track, ids).items()
        for needle in needles
        if needle in body
    ]
    assert not leaks, leaks[:10]

    staff_bodies = _walk(make_staff(), track, ids)
    assert any(needle in staff_bodies[f"/api/v1/submissions/{mine.pk}/"] for needle in needles)

    services.track_reveal(track=track, by=None)
    track.refresh_from_db()
    revealed = _walk(alice, track, ids)
    assert any(
        needle in revealed[f"/api/v1/tracks/{track.slug}/leaderboard/?phase=final"]
        for needle in needles
    )


def test_an_organizer_of_another_track_sees_no_final_figure():
    """Per-track organizers: the final preview is for this track's organizers, not another's."""
    now = timezone.now()
    track = ready_track(dev=6, final=6, m=15)
    elsewhere = ready_track("elsewhere")
    rival = make_user(username="rival")
    TrackOrganizer.objects.create(track=elsewhere, user=rival, roles=list(ROLES))
    mine = scored(track, make_user(), skill=1.3, seed=1)
    Track.objects.filter(pk=track.pk).update(
        dev_opens=now - dt.timedelta(days=9), final_deadline=now - dt.timedelta(minutes=1)
    )
    track.refresh_from_db()
    needles = _plant(track)
    leaks = [
        (url, needle)
        for url, body in _walk(rival, track, [mine.pk]).items()
        for needle in needles
        if needle in body
    ]
    assert not leaks, leaks[:10]
    organizer = make_user(username="org")
    TrackOrganizer.objects.create(track=track, user=organizer, roles=["moderation"])
    bodies = _walk(organizer, track, [mine.pk])
    assert any(needle in bodies[f"/api/v1/submissions/{mine.pk}/"] for needle in needles)
