"""Celery tasks: each takes ids, loads rows, calls a service, nothing else.

Work that must happen is a *job task*: every call is a ``Job`` row written with the caller's
transaction and published after it (``benchmark.services.jobs``), and the message carries only
the job's id. The job row is claimed under a lease, so a redelivered, duplicated or late message
is harmless, a dead worker's job is taken back when its lease runs out, and an unreachable
broker delays work instead of losing it. Each job task states how long its lease lasts, when a
queued message is presumed lost (``requeue_after``), how many runs it gets, and what giving up
means (``abandon``). Periodic housekeeping (heartbeats, the sweeper) is plain tasks.

Queues (CELERY_TASK_ROUTES): ``scoring`` is fast (a submission takes well under a second),
``zoo`` and ``attacks`` run for minutes to hours. See README.md, "Deploying on several machines".
"""

import os
from collections.abc import Callable
from typing import Any

from celery import Task, shared_task
from celery.signals import worker_init, worker_ready

from benchmark import services
from benchmark.services import jobs

PERIODIC = {"bind": True, "acks_late": True, "ignore_result": True}


class JobTask(Task):
    """A task whose calls are ``Job`` rows; ``work`` is the service call it makes."""

    acks_late = True
    reject_on_worker_lost = True
    ignore_result = True
    lease_seconds: int | None = None
    requeue_after: int | None = None
    max_attempts: int | None = None
    abandon: Callable[..., None] | None = None

    @staticmethod
    def work(*args: Any) -> None:
        raise NotImplementedError


def job_task(
    name: str,
    *,
    requeue_after: int,
    max_attempts: int,
    soft_time_limit: int,
    abandon: Callable[..., None] | None = None,
) -> Callable[[Callable[..., None]], Any]:
    """Declare a job task: the decorated function is its work, called with the job's args."""

    def declare(work: Callable[..., None]) -> Any:
        def run(self: Task, job_id: int) -> str:
            return jobs.job_run(job_id=job_id, keep_lease=not self.request.is_eager)

        run.__name__ = run.__qualname__ = work.__name__
        run.__doc__ = work.__doc__
        return shared_task(
            name=name,
            bind=True,
            base=JobTask,
            work=staticmethod(work),
            abandon=staticmethod(abandon) if abandon else None,
            requeue_after=requeue_after,
            max_attempts=max_attempts,
            soft_time_limit=soft_time_limit,
            time_limit=soft_time_limit + 60,
        )(run)

    return declare


@shared_task(name="benchmark.heartbeat", **PERIODIC)
def heartbeat(self: Task, queue: str = "scoring") -> None:
    """Proves a worker consumes ``queue`` and can write to the database (shown on /healthz)."""
    services.heartbeat_record(hostname=self.request.hostname or "unknown", queue=queue)


@shared_task(name="benchmark.watchdog", time_limit=120, **PERIODIC)
def watchdog(self: Task) -> dict[str, int]:
    """Take back jobs of dead workers, republish lost messages, publish the outbox."""
    return jobs.jobs_sweep()


@worker_init.connect
def _remember_slots(sender: Any = None, **_: Any) -> None:
    # The pool processes fork from this one: they read it to share the cores among themselves.
    concurrency = getattr(sender, "concurrency", None)
    if isinstance(concurrency, int) and concurrency > 0:
        os.environ["ARENA_WORKER_SLOTS"] = str(concurrency)


@worker_ready.connect
def _sweep_when_a_worker_starts(**_: Any) -> None:
    # A worker that comes back takes back at once what it held when it died (same host).
    watchdog.delay()


def _submission_abandon(submission_id: int, *, message: str) -> None:
    services.submission_abandon(submission_id=submission_id, reason=message)


def _zoo_abandon(track_id: int, chunk_index: int | None = None, *, message: str) -> None:
    where = "the build" if chunk_index is None else f"chunk {chunk_index}"
    services.zoo_build_fail(track_id=track_id, message=f"{where}: {message}")


def _email_abandon(email_id: int, *, message: str) -> None:
    services.email_abandon(email_id=email_id, reason=message)


@job_task(
    "benchmark.score_submission",
    requeue_after=120,
    max_attempts=3,
    soft_time_limit=300,
    abandon=_submission_abandon,
)
def score_submission(submission_id: int) -> None:
    services.submission_score(submission_id=submission_id)


@job_task(
    "benchmark.leaderboard_compare",
    requeue_after=300,
    max_attempts=3,
    soft_time_limit=540,
)
def leaderboard_compare(track_id: int) -> None:
    from benchmark.models import Track

    services.leaderboard_compare(track=Track.objects.get(pk=track_id))


@job_task(
    "benchmark.zoo_build_track",
    requeue_after=300,
    max_attempts=3,
    soft_time_limit=240,
    abandon=_zoo_abandon,
)
def zoo_build_track(track_id: int) -> None:
    """Queue one ``zoo_build_chunk`` job per chunk of the track's plan."""
    services.zoo_build_fan_out(track_id=track_id)


@job_task(
    "benchmark.zoo_build_chunk",
    requeue_after=1800,
    max_attempts=2,
    soft_time_limit=3 * 3600,
    abandon=_zoo_abandon,
)
def zoo_build_chunk(track_id: int, chunk_index: int) -> None:
    services.zoo_build_chunk(track_id=track_id, chunk_index=chunk_index)


@job_task(
    "benchmark.zoo_import",
    requeue_after=1800,
    max_attempts=2,
    soft_time_limit=3 * 3600,
    abandon=_zoo_abandon,
)
def zoo_import(track_id: int, release: str, solutions: str) -> None:
    """Copy a released zoo into the platform's layout (``manage.py track_import``)."""
    services.zoo_import_run(track_id=track_id, release=release, solutions=solutions)


@job_task(
    "benchmark.run_attack",
    requeue_after=1800,
    max_attempts=2,
    soft_time_limit=2 * 3600,
)
def run_attack(track_id: int, attack: str, by_id: int | None = None) -> None:
    services.attack_run(track_id=track_id, attack=attack, by_id=by_id)


@job_task(
    "benchmark.send_email",
    requeue_after=120,
    max_attempts=8,
    soft_time_limit=120,
    abandon=_email_abandon,
)
def send_email(email_id: int) -> None:
    """Send one message; a mail server that is down is tried again, 8 times over about ten
    minutes (the jobs' growing delays), then the message is given up."""
    services.email_send(email_id=email_id)


@job_task(
    "benchmark.notify_reveal",
    requeue_after=300,
    max_attempts=3,
    soft_time_limit=600,
)
def notify_reveal(track_id: int) -> None:
    """Queue the reveal's messages to the participants of a track who asked for them."""
    services.reveal_notify(track_id=track_id)
