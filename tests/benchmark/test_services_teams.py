"""Teams: one quota and one leaderboard row, the joining rule, freezing, and races."""

import datetime as dt
import threading

import pytest
from django.db import connection, connections
from django.utils import timezone

from benchmark import selectors, services
from benchmark.errors import PhaseClosed, QuotaExceeded
from benchmark.models import DailyUsage, Submission, Team, TeamMember, Track
from benchmark.services.teams import TeamRefused
from tests.benchmark.factories import make_user, ready_track, submission_zip
from tests.benchmark.helpers import client_for, scored

pytestmark = pytest.mark.django_db


def _team_track(size=3, **options):
    track = ready_track(**options)
    Track.objects.filter(pk=track.pk).update(max_team_size=size)
    track.refresh_from_db()
    return track


def _upload(track, user, seed=0):
    return services.submission_create(
        track=track, user=user, upload=submission_zip(track, seed=seed), filename="p.zip"
    )


def test_a_team_shares_one_quota_and_one_leaderboard_row():
    track = _team_track(per_day=3, total=10)
    alice, bob, carol = make_user(username="alice"), make_user(username="bob"), make_user()
    team = services.team_create(track=track, user=alice, name="Owls")
    services.team_join(track=track, user=bob, invite_code=team.invite_code)
    scored(track, alice, seed=1)
    scored(track, bob, skill=2.0, seed=2)
    scored(track, carol, seed=3)
    _upload(track, alice, seed=4)
    with pytest.raises(QuotaExceeded, match="team Owls has used all 3 valid uploads"):
        _upload(track, bob, seed=5)
    assert DailyUsage.objects.get(entrant__team=team).valid == 3
    rows = selectors.leaderboard_for_phase(track=track, phase="dev", user=alice)["rows"]
    people = [row for row in rows if not row["is_baseline"]]
    assert sorted(row["username"] for row in people) == ["Owls", carol.username]
    owls = next(row for row in people if row["team"] == "Owls")
    assert owls["members"] == ["alice", "bob"]
    quota = selectors.quota_for_user(track=track, user=bob)
    assert (quota["per_day_left"], quota["team"]) == (0, "Owls")


def test_members_see_each_others_submissions_and_nobody_else_does():
    track = _team_track()
    alice, bob, eve = make_user(), make_user(), make_user()
    team = services.team_create(track=track, user=alice, name="Owls")
    services.team_join(track=track, user=bob, invite_code=team.invite_code)
    mine = scored(track, alice)
    assert list(selectors.submissions_for_user(track=track, user=bob)) == [mine]
    assert selectors.submission_get(submission_id=mine.pk, user=bob) == mine
    assert client_for(eve).get(f"/api/v1/submissions/{mine.pk}/").status_code == 404
    assert client_for(bob).get(f"/api/v1/submissions/{mine.pk}/").json()["team"] == "Owls"


def test_teams_change_only_before_a_members_first_submission():
    track = _team_track()
    alice, bob = make_user(), make_user()
    team = services.team_create(track=track, user=alice, name="Owls")
    scored(track, bob)
    with pytest.raises(TeamRefused, match="you have submitted there already"):
        services.team_join(track=track, user=bob, invite_code=team.invite_code)
    with pytest.raises(TeamRefused, match="submitted there already"):
        services.team_create(track=track, user=bob, name="Bats")
    scored(track, alice)
    with pytest.raises(TeamRefused, match="leave your team"):
        services.team_leave(track=track, user=alice)


def test_a_full_team_a_wrong_code_a_second_team_and_no_teams_are_refused():
    track = _team_track(size=2)
    alice, bob, carol = make_user(), make_user(), make_user()
    team = services.team_create(track=track, user=alice, name="Owls")
    services.team_join(track=track, user=bob, invite_code=team.invite_code)
    with pytest.raises(TeamRefused, match=r"full \(2 of 2 members\)"):
        services.team_join(track=track, user=carol, invite_code=team.invite_code)
    with pytest.raises(TeamRefused, match="no team of tiny has that invite code"):
        services.team_join(track=track, user=carol, invite_code="nope")
    with pytest.raises(TeamRefused, match="in a team of tiny already"):
        services.team_create(track=track, user=bob, name="Bats")
    with pytest.raises(TeamRefused, match="exists"):
        services.team_create(track=track, user=carol, name="owls")
    solo = ready_track("solo")
    with pytest.raises(TeamRefused, match="has no teams"):
        services.team_create(track=solo, user=carol, name="Bats")


def test_teams_freeze():
    track = _team_track()
    Track.objects.filter(pk=track.pk).update(teams_freeze=timezone.now() - dt.timedelta(hours=1))
    track.refresh_from_db()
    with pytest.raises(PhaseClosed, match="froze"):
        services.team_create(track=track, user=make_user(), name="Late")


def test_leaving_an_unused_team_deletes_it():
    track = _team_track()
    alice = make_user()
    services.team_create(track=track, user=alice, name="Owls")
    services.team_leave(track=track, user=alice)
    assert not Team.objects.exists()
    services.team_create(track=track, user=alice, name="Owls again")


def test_the_team_api_and_the_track_page():
    track = _team_track()
    alice, bob = make_user(), make_user()
    created = client_for(alice).post(
        f"/api/v1/tracks/{track.slug}/team/", {"name": " Owls  "}, format="json"
    )
    assert created.status_code == 201, created.content
    code = created.json()["team"]["invite_code"]
    joined = client_for(bob).post(
        f"/api/v1/tracks/{track.slug}/team/join/", {"invite_code": code}, format="json"
    )
    assert joined.json()["team"]["members"] == [alice.username, bob.username]
    refused = client_for(make_user()).post(
        f"/api/v1/tracks/{track.slug}/team/join/", {"invite_code": "x"}, format="json"
    )
    assert refused.status_code == 409
    assert set(refused.json()) == {"message", "extra"}
    from django.test import Client

    page = Client()
    page.force_login(bob)
    body = page.get(f"/tracks/{track.slug}/").content.decode()
    assert "You are in <strong>Owls</strong>" in body and code in body


@pytest.mark.django_db(transaction=True)
def test_concurrent_joins_fill_a_team_exactly(settings):
    """Five participants race for the last two places: two get in."""
    assert connection.vendor == "postgresql", "the race is tested on PostgreSQL"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    track = _team_track(size=3)
    team = services.team_create(track=track, user=make_user(), name="Owls")
    racers = [make_user() for _ in range(5)]
    barrier = threading.Barrier(len(racers))
    outcomes: list[str] = []
    lock = threading.Lock()

    def join(user) -> None:
        try:
            barrier.wait()
            services.team_join(track=track, user=user, invite_code=team.invite_code)
            outcome = "joined"
        except TeamRefused:
            outcome = "refused"
        except Exception as error:  # reported below, so the test names it
            outcome = repr(error)
        finally:
            connections.close_all()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=join, args=(user,)) for user in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["joined"] * 2 + ["refused"] * 3, outcomes
    assert TeamMember.objects.filter(team=team).count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_join_racing_ones_first_upload_lets_only_one_through(settings):
    """The join rule holds under a race: either the upload is one's own (no membership) or the
    join came first (the upload is the team's); never a member with a solo submission."""
    assert connection.vendor == "postgresql"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    for round_ in range(3):
        track = _team_track(size=3, slug=f"race{round_}")
        team = services.team_create(track=track, user=make_user(), name="Owls")
        bob = make_user()
        _race_join_and_upload(track, team, bob)
        submission = Submission.objects.get(track=track, owner=bob)
        member = TeamMember.objects.filter(track=track, user=bob).exists()
        assert (submission.team_id == team.pk) == member


def _race_join_and_upload(track, team, user) -> None:
    barrier = threading.Barrier(2)

    def join() -> None:
        try:
            barrier.wait()
            services.team_join(track=track, user=user, invite_code=team.invite_code)
        except TeamRefused:
            pass
        finally:
            connections.close_all()

    def upload() -> None:
        try:
            barrier.wait()
            _upload(track, user)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=join), threading.Thread(target=upload)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
