"""Faults on the real stack: a whole worker SIGKILLed while scoring, and a broker that goes away
while participants and organizers keep sending requests (real Redis, PostgreSQL, Celery
worker and beat processes, gunicorn)."""

import time

import psycopg
import pytest
from django.db import connection
from rest_framework.authtoken.models import Token

from benchmark import tasks
from benchmark.models import DailyUsage, Job, LeaderboardEntry, ScenarioScore, Submission, Track
from tests.benchmark.factories import make_staff, make_user, ready_track, submission_zip, track_toml
from tests.http import multipart, post_file, post_json, request
from tests.integration.conftest import kill_session, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _statuses(ids):
    return dict(Submission.objects.filter(pk__in=ids).values_list("pk", "status"))


def _all_scored(ids):
    return all(status == Submission.Status.SCORED for status in _statuses(ids).values())


def _lock_leaderboard_writes():
    """Another database session holding the leaderboard table: a worker that reaches its final
    write waits there, inside its scoring transaction, until this session ends."""
    s = connection.settings_dict
    session = psycopg.connect(
        host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432, user=s["USER"], dbname=s["NAME"]
    )
    session.execute("LOCK TABLE benchmark_leaderboardentry IN ACCESS EXCLUSIVE MODE")
    return session


def _token(user) -> str:
    return Token.objects.get_or_create(user=user)[0].key


def test_a_worker_killed_while_scoring_loses_nothing_and_scores_each_submission_once(stack):
    track = ready_track("killed")
    alice = make_user(username="alice-killed")
    stack.beat()
    worker, _, _ = stack.worker()
    base = stack.web()
    token = _token(alice)
    lock = _lock_leaderboard_writes()
    ids = []
    for seed in range(3):
        reply = post_file(
            f"{base}/api/v1/tracks/killed/submissions/",
            submission_zip(track, seed=seed),
            token=token,
        )
        assert reply.status == 202, reply.body
        ids.append(reply.json()["id"])
    wait_for(
        lambda: Submission.Status.SCORING in _statuses(ids).values(),
        timeout=60,
        what="the worker to start scoring",
        logs=stack.logs,
    )
    kill_session(worker)
    lock.close()
    in_flight = next(pk for pk, status in _statuses(ids).items() if status == "scoring")

    restarted = time.monotonic()
    stack.worker()
    up = time.monotonic()
    wait_for(lambda: _all_scored(ids), timeout=90, what="every submission scored", logs=stack.logs)
    print(f"restart {up - restarted:.1f} s, then scored in {time.monotonic() - up:.1f} s")
    for submission_id in ids:
        scores = ScenarioScore.objects.filter(submission_id=submission_id)
        assert scores.count() == 4, "one run wrote scores (two scenarios × dev, final)"
        assert scores.filter(is_current=True).count() == 4
        assert LeaderboardEntry.objects.filter(submission_id=submission_id).count() == 2
    killed_job = Job.objects.get(key=f"score:{in_flight}")
    assert killed_job.state == Job.State.DONE and killed_job.attempts == 2
    assert DailyUsage.objects.get(entrant__user=alice).valid == 3, "each upload counted once"

    # The old messages turn up again much later (a Redis restore, a replayed queue).
    for job in Job.objects.filter(key__in=[f"score:{pk}" for pk in ids]):
        tasks.score_submission.apply_async(args=(job.pk,))
    marker = time.time()
    tasks.heartbeat.apply_async(args=("scoring",), queue="scoring")

    def replay_consumed():
        from benchmark.models import WorkerHeartbeat

        return WorkerHeartbeat.objects.filter(seen_at__gte=_aware(marker)).exists()

    wait_for(replay_consumed, timeout=30, what="the replayed messages", logs=stack.logs)
    assert ScenarioScore.objects.filter(submission_id__in=ids).count() == 4 * len(ids)
    assert _all_scored(ids)


def _aware(timestamp: float):
    import datetime as dt

    return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC)


def test_requests_while_the_broker_is_down_are_accepted_and_run_when_it_returns(
    stack, private_redis
):
    track = ready_track("outage")
    alice = make_user(username="alice-outage")
    organizer = make_staff(username="organizer-outage")
    stack.worker()
    base = stack.web()
    token, staff = _token(alice), _token(organizer)
    url = f"{base}/api/v1/tracks/outage/submissions/"

    private_redis.stop()
    reply = post_file(url, submission_zip(track, seed=1), token=token)
    assert reply.status == 202, reply.body
    first = reply.json()["id"]
    assert Submission.objects.get(pk=first).status == Submission.Status.QUEUED
    job = Job.objects.get(key=f"score:{first}")
    assert job.state == Job.State.PENDING and "publish" in job.error
    body, content_type = multipart({"file": ("t.toml", track_toml("outage-new").encode())})
    created = request(
        "POST", f"{base}/api/v1/tracks/", body=body, token=staff,
        headers={"Content-Type": content_type},
    )  # fmt: skip
    assert created.status == 201, created.body
    attack = post_json(f"{base}/api/v1/tracks/outage/attacks/", {"attack": "loss"}, token=staff)
    assert attack.status == 202, attack.body
    rescore = request("POST", f"{base}/api/v1/tracks/outage/rescore/", token=staff)
    assert rescore.status == 202, rescore.body
    health = request("GET", f"{base}/healthz")
    assert health.status == 503
    report = health.json()
    assert not report["broker"]["ok"] and report["database"]["ok"]
    assert report["queue"]["jobs_waiting_for_broker"] == 3
    assert report["queue"]["oldest_queued_submission_s"] >= 0
    assert DailyUsage.objects.get(entrant__user=alice).valid == 1

    # The broker returns: the next upload that reaches it takes the waiting ones along.
    private_redis.start()
    second = wait_for(
        lambda: _accepted(post_file(url, submission_zip(track, seed=2), token=token)),
        timeout=30,
        what="an upload once the broker is back",
        logs=stack.logs,
    )
    t0 = time.monotonic()
    wait_for(lambda: _all_scored([first, second]), timeout=60, what="both scored", logs=stack.logs)
    print(f"both scored {time.monotonic() - t0:.1f} s after the broker returned")
    assert not Job.objects.filter(state=Job.State.PENDING).exists(), "the outbox drained"
    new_track = Track.objects.get(slug="outage-new")
    assert Job.objects.get(key=f"zoo:{new_track.pk}").state == Job.State.QUEUED

    # Down again, and nobody uploads after it returns: the sweeper (beat) hands it over.
    private_redis.stop()
    reply = post_file(url, submission_zip(track, seed=3), token=token)
    assert reply.status == 202, reply.body
    third = reply.json()["id"]
    private_redis.start()
    stack.beat()
    t0 = time.monotonic()
    wait_for(lambda: _all_scored([third]), timeout=60, what="the sweeper", logs=stack.logs)
    print(f"third scored {time.monotonic() - t0:.1f} s after the beat started")
    assert DailyUsage.objects.get(entrant__user=alice).valid == 3


def _accepted(reply):
    assert reply.status == 202, reply.body
    return reply.json()["id"]
