"""Celery tasks: each takes ids, loads rows, calls a service, nothing else.

Every task is idempotent (its service takes a row lock and checks the status), acknowledged
late and rejected back to the queue if its worker dies, named explicitly and time-limited; its
queue comes from CELERY_TASK_ROUTES in the settings. Only transient infrastructure errors
(database or broker unreachable) are retried.
"""

import datetime as dt

from celery import Task, shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from benchmark import services

TRANSIENT = (OperationalError, InterfaceError, ConnectionError)
COMMON = {
    "bind": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "ignore_result": True,
}


@shared_task(name="benchmark.heartbeat", **COMMON)
def heartbeat(self: Task, queue: str = "scoring") -> None:
    """Proves a worker consumes ``queue`` and can write to the database (shown on /healthz)."""
    services.heartbeat_record(hostname=self.request.hostname or "unknown", queue=queue)


@shared_task(
    name="benchmark.score_submission",
    autoretry_for=TRANSIENT,
    retry_backoff=5,
    max_retries=3,
    soft_time_limit=540,
    time_limit=600,
    **COMMON,
)
def score_submission(self: Task, submission_id: int) -> None:
    services.submission_score(
        submission_id=submission_id, max_attempts=settings.ARENA_SCORING_MAX_ATTEMPTS
    )


@shared_task(
    name="benchmark.leaderboard_compare",
    autoretry_for=TRANSIENT,
    retry_backoff=5,
    max_retries=3,
    soft_time_limit=540,
    time_limit=600,
    **COMMON,
)
def leaderboard_compare(self: Task, track_id: int) -> None:
    from benchmark.models import Track

    services.leaderboard_compare(track=Track.objects.get(pk=track_id))


@shared_task(name="benchmark.zoo_build_track", time_limit=300, **COMMON)
def zoo_build_track(self: Task, track_id: int) -> None:
    """Fan out one ``zoo_build_chunk`` per chunk of the track's plan."""
    chunks = services.zoo_build_start(track_id=track_id)
    for chunk_index in range(chunks):
        zoo_build_chunk.delay(track_id, chunk_index)


@shared_task(
    name="benchmark.zoo_build_chunk",
    autoretry_for=TRANSIENT,
    retry_backoff=10,
    max_retries=3,
    soft_time_limit=3 * 3600,
    time_limit=3 * 3600 + 60,
    **COMMON,
)
def zoo_build_chunk(self: Task, track_id: int, chunk_index: int) -> None:
    try:
        services.zoo_build_chunk(track_id=track_id, chunk_index=chunk_index)
    except TRANSIENT:
        raise
    except Exception as error:
        services.zoo_build_fail(
            track_id=track_id, message=f"chunk {chunk_index}: {type(error).__name__}: {error}"
        )
        raise


@shared_task(
    name="benchmark.run_attack",
    autoretry_for=TRANSIENT,
    retry_backoff=10,
    max_retries=3,
    soft_time_limit=2 * 3600,
    time_limit=2 * 3600 + 60,
    **COMMON,
)
def run_attack(self: Task, track_id: int, attack: str, by_id: int | None = None) -> None:
    services.attack_run(track_id=track_id, attack=attack, by_id=by_id)


@shared_task(name="benchmark.watchdog", time_limit=120, **COMMON)
def watchdog(self: Task) -> None:
    """Re-queue submissions stuck in ``queued``/``scoring``; fail them after a few tries."""
    services.submissions_watchdog(
        stuck_after=dt.timedelta(seconds=settings.ARENA_SCORING_STUCK_AFTER),
        max_attempts=settings.ARENA_SCORING_MAX_ATTEMPTS,
    )
