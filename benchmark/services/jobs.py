"""Background jobs that survive a dead worker or an unreachable broker.

Every call of a job task (``benchmark.tasks``) is a :class:`~benchmark.models.Job` row:

- ``job_enqueue`` writes the row in the caller's transaction (a transactional outbox) and
  publishes it after the commit. When the broker does not answer, the row stays ``pending``
  and the request goes on; the sweeper and the next successful publish hand it over later.
- ``job_run`` (called by the task with the job's id) claims the row under a lock and a lease
  that a thread renews while the work runs. A second message for a job that is running, done
  or failed is dropped, so a redelivered or duplicated message never runs the work twice at
  once, and a late one never runs it again.
- ``jobs_sweep`` (periodic, and at worker start) takes back jobs whose lease ran out (their
  worker died), republishes jobs whose message may have been lost, publishes what is pending,
  and gives up after a task's ``max_attempts`` with a message from the task's ``abandon``.
"""

import contextlib
import datetime as dt
import logging
import os
import socket
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from benchmark.models import Job

logger = logging.getLogger(__name__)

#: Infrastructure errors that say nothing about the work itself: retried without counting.
TRANSIENT = (OperationalError, InterfaceError, ConnectionError)


def _task(name: str) -> Any:
    from config.celery import app

    return app.tasks[name]


def queue_of(task: Any) -> str:
    """The queue CELERY_TASK_ROUTES sends ``task`` to."""
    from config.celery import app

    return str(app.amqp.router.route({}, task.name)["queue"].name)


def _setting(task: Any, name: str) -> Any:
    """A task's job option (``lease_seconds``, ``requeue_after``, ``max_attempts``)."""
    value = getattr(task, name, None)
    return settings.ARENA_JOB_DEFAULTS[name] if value is None else value


def _now() -> dt.datetime:
    return timezone.now()


def this_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _runner_gone(worker: str) -> bool:
    """Whether the process that holds a lease is known to be dead (same host, pid gone or a
    zombie). Other hosts cannot be checked; their leases simply run out."""
    host, _, pid_text = worker.rpartition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        state = stat.read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return state in ("Z", "X")


def job_enqueue(*, task: Any, args: Sequence[Any] = (), key: str = "") -> Job:
    """Record a call of ``task`` and publish it once the current transaction commits.

    Calls with the same non-empty ``key`` coalesce while one waits (pending or queued): the
    waiting job is returned and no second one is made. Never raises for a broker problem.
    """
    args = list(args)
    if key:
        waiting = Job.objects.filter(key=key, state__in=Job.WAITING).first()
        if waiting is not None:
            return waiting
    try:
        with transaction.atomic():
            job = Job.objects.create(task=task.name, args=args, queue=queue_of(task), key=key)
    except IntegrityError:
        # Another transaction made the waiting job for this key a moment ago.
        return Job.objects.get(key=key, state__in=Job.WAITING)
    transaction.on_commit(lambda: job_publish(job_id=job.pk, drain=True))
    return job


def _send(job: Job) -> None:
    _task(job.task).apply_async(args=(job.pk,), queue=job.queue, retry=False)


def job_publish(*, job_id: int, drain: bool = False) -> bool:
    """Hand a pending job to the broker; on success, optionally publish the other pending jobs
    (the outbox drains on the first enqueue that works). Returns whether the broker took it."""
    now = _now()
    taken = Job.objects.filter(pk=job_id, state=Job.State.PENDING).update(
        state=Job.State.QUEUED, published_at=now, publishes=F("publishes") + 1
    )
    if not taken:
        return False
    try:
        _send(Job.objects.get(pk=job_id))
    except Exception as error:  # any broker or transport failure: keep the job for later
        logger.warning("job %s stays pending: the broker did not take it (%s)", job_id, error)
        Job.objects.filter(pk=job_id, state=Job.State.QUEUED).update(
            state=Job.State.PENDING, error=f"publish: {type(error).__name__}: {error}"[:2000]
        )
        return False
    if drain:
        jobs_publish_pending(limit=100)
    return True


def jobs_publish_pending(*, limit: int = 500) -> int:
    """Publish pending jobs that are due, oldest first; stops at the first broker failure."""
    published = 0
    due = Job.objects.filter(state=Job.State.PENDING, not_before__lte=_now())
    for job_id in due.order_by("not_before", "pk").values_list("pk", flat=True)[:limit]:
        if not job_publish(job_id=job_id):
            if Job.objects.filter(pk=job_id, state=Job.State.PENDING).exists():
                break  # the broker is down: the rest waits for the next sweep
            continue
        published += 1
    return published


def job_claim(*, job_id: int, worker: str | None = None) -> Job | None:
    """Take a job for this worker, or ``None`` when it is not this worker's to run.

    Claimable: pending or queued (its message arrived), or running with a lease that ran out
    or a runner known to be dead. A job that is done, failed, or running under a live lease
    is left alone, so duplicated and late messages are harmless.
    """
    worker = worker or this_worker()
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.state in (Job.State.DONE, Job.State.FAILED):
            return None
        task = _task(job.task)
        now = _now()
        if job.state == Job.State.RUNNING:
            lease_live = job.lease_expires_at is not None and job.lease_expires_at > now
            if lease_live and not _runner_gone(job.worker):
                return None
            if job.attempts >= _setting(task, "max_attempts"):
                _give_up(job, task, _lost_message(job))
                return None
        job.state = Job.State.RUNNING
        job.attempts += 1
        job.started_at = now
        job.lease_expires_at = now + dt.timedelta(seconds=_setting(task, "lease_seconds"))
        job.worker = worker
        job.save(update_fields=["state", "attempts", "started_at", "lease_expires_at", "worker"])
        return job


def _lost_message(job: Job) -> str:
    times = f"{job.attempts} time{'s' if job.attempts != 1 else ''}"
    return f"the worker running it stopped {times}: killed, out of memory or lost"


def _give_up(job: Job, task: Any, message: str) -> None:
    """Mark the job failed and let its task record what that means (``abandon``)."""
    Job.objects.filter(pk=job.pk).update(
        state=Job.State.FAILED, finished_at=_now(), lease_expires_at=None, error=message[:2000]
    )
    abandon = getattr(task, "abandon", None)
    if abandon is None:
        return

    def record() -> None:
        try:
            abandon(*job.args, message=message)
        except Exception:
            logger.exception("job %s: recording that it was given up failed", job.pk)

    transaction.on_commit(record)


@contextlib.contextmanager
def _lease_kept(job: Job, seconds: float) -> Iterator[None]:
    """Renew the job's lease every third of ``seconds`` while the body runs (own thread, own
    database connection); the renewal stops when the job is no longer this run's."""
    stop = threading.Event()

    def renew() -> None:
        try:
            while not stop.wait(seconds / 3):
                try:
                    kept = Job.objects.filter(
                        pk=job.pk, state=Job.State.RUNNING, attempts=job.attempts
                    ).update(lease_expires_at=_now() + dt.timedelta(seconds=seconds))
                except TRANSIENT:
                    continue
                if not kept:
                    return
        finally:
            connection.close()

    thread = threading.Thread(target=renew, name=f"lease-job-{job.pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def _retry_delay(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(5 * 2 ** max(attempts - 1, 0), 300))


def job_run(*, job_id: int, worker: str | None = None, keep_lease: bool = True) -> str:
    """Claim the job and run its task's work; returns what happened (for logs and tests):
    ``skipped``, ``done``, ``retry`` or ``failed``. ``keep_lease=False`` (eager calls in one
    process) renews no lease."""
    job = job_claim(job_id=job_id, worker=worker)
    if job is None:
        return "skipped"
    task = _task(job.task)
    mine = Job.objects.filter(pk=job.pk, state=Job.State.RUNNING, attempts=job.attempts)
    try:
        lease = _lease_kept(job, _setting(task, "lease_seconds"))
        with lease if keep_lease else contextlib.nullcontext():
            task.work(*job.args)
    except TRANSIENT as error:
        logger.warning("job %s hit a transient error, retrying: %s", job.pk, error)
        with contextlib.suppress(*TRANSIENT):
            mine.update(
                state=Job.State.PENDING,
                attempts=F("attempts") - 1,
                not_before=_now() + _retry_delay(job.attempts),
                lease_expires_at=None,
                error=f"{type(error).__name__}: {error}"[:2000],
            )
        return "retry"
    except Exception as error:
        logger.exception("job %s (%s) failed", job.pk, job.task)
        text = f"{type(error).__name__}: {error}"
        if job.attempts >= _setting(task, "max_attempts"):
            with transaction.atomic():
                if mine.exists():
                    _give_up(job, task, f"failed {job.attempts} times; last: {text}")
            return "failed"
        mine.update(
            state=Job.State.PENDING,
            not_before=_now() + _retry_delay(job.attempts),
            lease_expires_at=None,
            error=text[:2000],
        )
        return "retry"
    mine.update(state=Job.State.DONE, finished_at=_now(), lease_expires_at=None)
    return "done"


def jobs_sweep() -> dict[str, int]:
    """Take back what dead workers held, republish what may be lost, publish what is pending.

    Runs every ``ARENA_JOB_SWEEP_EVERY`` seconds (beat) and when a worker starts.
    """
    now = _now()
    counts = {"taken_back": 0, "failed": 0, "republished": 0, "published": 0}
    with transaction.atomic():
        running = Job.objects.select_for_update(skip_locked=True).filter(state=Job.State.RUNNING)
        for job in running:
            expired = job.lease_expires_at is None or job.lease_expires_at <= now
            if not expired and not _runner_gone(job.worker):
                continue
            task = _task(job.task)
            if job.attempts >= _setting(task, "max_attempts"):
                _give_up(job, task, _lost_message(job))
                counts["failed"] += 1
                continue
            Job.objects.filter(pk=job.pk).update(
                state=Job.State.PENDING, not_before=now, lease_expires_at=None
            )
            counts["taken_back"] += 1
    queued = Job.objects.filter(state=Job.State.QUEUED).only(
        "pk", "task", "published_at", "publishes"
    )
    for job in queued.iterator():
        wait = _setting(_task(job.task), "requeue_after") * 2 ** max(job.publishes - 1, 0)
        if job.published_at is not None and job.published_at > now - dt.timedelta(seconds=wait):
            continue
        # The message may be lost (a broker restarted without persistence): send another one;
        # if the first turns up too, the claim drops it.
        if Job.objects.filter(pk=job.pk, state=Job.State.QUEUED).update(state=Job.State.PENDING):
            counts["republished"] += 1
    counts["published"] = jobs_publish_pending()
    return counts
