"""Which submission counts (final = latest | best-dev | selected) and the benchmark phase."""

import datetime as dt

import pytest
from django.utils import timezone

from benchmark import selectors, services
from benchmark.errors import ApplicationError, NotReady, PhaseClosed, QuotaExceeded
from benchmark.models import LeaderboardEntry, Submission, Track
from tests.benchmark.factories import make_staff, make_user, ready_track
from tests.benchmark.helpers import client_for, scored

pytestmark = pytest.mark.django_db


def _final_score(submission):
    return LeaderboardEntry.objects.get(submission=submission, phase="final", is_current=True).score


def _board_ids(track, phase, user):
    rows = selectors.leaderboard_for_phase(track=track, phase=phase, user=user)["rows"]
    return [row["submission_id"] for row in rows if not row["is_baseline"]]


def _close(track):
    """Move the deadline a minute into the past, after the submissions made so far."""
    now = timezone.now()
    Submission.objects.filter(track=track).update(created_at=now - dt.timedelta(hours=1))
    Track.objects.filter(pk=track.pk).update(
        dev_opens=now - dt.timedelta(days=9), final_deadline=now - dt.timedelta(minutes=1)
    )
    track.refresh_from_db()


def test_selected_counts_the_best_marked_on_final_and_dev_shows_the_latest():
    track = ready_track(final_rule="selected", dev=6, final=6, m=15)
    alice = make_user()
    staff = make_staff()
    weak = scored(track, alice, skill=0.2, seed=1)
    strong = scored(track, alice, skill=3.0, seed=2)
    latest = scored(track, alice, skill=0.5, seed=3)
    assert _board_ids(track, "final", staff) == [latest.pk], "no marks: the latest counts"
    for submission in (weak, strong):
        services.submission_select(submission=submission, user=alice, selected=True)
    with pytest.raises(QuotaExceeded, match="2 submissions are selected already"):
        services.submission_select(submission=latest, user=alice, selected=True)
    assert _final_score(strong) > _final_score(weak)
    assert _board_ids(track, "final", staff) == [strong.pk]
    assert _board_ids(track, "dev", staff) == [latest.pk], "dev never depends on final scores"
    services.submission_select(submission=strong, user=alice, selected=False)
    assert _board_ids(track, "final", staff) == [weak.pk]
    _close(track)
    with pytest.raises(PhaseClosed):
        services.submission_select(
            submission=Submission.objects.get(pk=strong.pk), user=alice, selected=True
        )


def test_selecting_is_the_owners_and_only_on_selected_tracks():
    track = ready_track(final_rule="selected")
    alice, bob = make_user(), make_user()
    mine = scored(track, alice)
    response = client_for(bob).post(
        f"/api/v1/submissions/{mine.pk}/select/", {"selected": True}, format="json"
    )
    assert response.status_code == 404
    response = client_for(alice).post(
        f"/api/v1/submissions/{mine.pk}/select/", {"selected": True}, format="json"
    )
    assert response.json() == {"id": mine.pk, "selected": True}
    latest = ready_track("latest-rule")
    other = scored(latest, alice)
    with pytest.raises(ApplicationError, match="nothing to select"):
        services.submission_select(submission=other, user=alice, selected=True)


def test_best_dev_counts_the_same_submission_on_both_boards():
    track = ready_track(final_rule="best-dev")
    alice = make_user()
    best = scored(track, alice, skill=3.0, seed=1)
    scored(track, alice, skill=0.2, seed=2)
    staff = make_staff()
    assert _board_ids(track, "dev", staff) == [best.pk]
    assert _board_ids(track, "final", staff) == [best.pk]


def test_the_track_page_states_the_rule():
    from django.test import Client

    track = ready_track(final_rule="selected")
    body = Client().get(f"/tracks/{track.slug}/").content.decode()
    assert "mark up to 2 submissions" in body


def test_the_benchmark_phase_scores_new_uploads_on_a_third_board_and_freezes_the_final():
    track = ready_track(dev=6, final=6, m=15)
    alice, bob = make_user(), make_user()
    competed = scored(track, alice, skill=1.0, seed=1)
    _close(track)
    with pytest.raises(NotReady, match="reveal the final phase"):
        services.track_benchmark_open(track=track)
    with pytest.raises(PhaseClosed):
        scored(track, bob)
    services.track_reveal(track=track, by=None)
    track = services.track_benchmark_open(track=Track.objects.get(pk=track.pk))
    Track.objects.filter(pk=track.pk).update(benchmark_per_day=2)
    track.refresh_from_db()
    later = scored(track, bob, skill=3.0, seed=2)
    scored(track, bob, skill=2.0, seed=3)
    with pytest.raises(QuotaExceeded, match="2 benchmark uploads"):
        scored(track, bob, seed=4)
    assert later.benchmark and not competed.benchmark
    final = _board_ids(track, "final", bob)
    bench = selectors.leaderboard_for_phase(track=track, phase="benchmark", user=bob)
    assert final == [competed.pk], "the competition's final ranking stays frozen"
    assert bench["visible"]
    assert [row["username"] for row in bench["rows"] if not row["is_baseline"]] == [bob.username]
    response = client_for(None).get(f"/api/v1/tracks/{track.slug}/leaderboard/?phase=benchmark")
    assert response.status_code == 200 and response.json()["rows"]


def test_the_benchmark_board_is_empty_until_opened():
    track = ready_track()
    board = selectors.leaderboard_for_phase(track=track, phase="benchmark", user=make_user())
    assert board == {**board, "visible": False, "rows": []}
