"""Background work as rows: every Celery task call is a ``Job``, so nothing depends on the
broker keeping a message.

The database is the source of truth; a broker message only wakes a worker up. A job is written
in the caller's transaction (a transactional outbox), published to the broker after the commit
and again by the sweeper whenever its message may be lost, and claimed under a row lock with a
lease that the running worker renews. See ``benchmark.services.jobs``.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone


class Job(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "pending (not yet handed to the broker)"
        QUEUED = "queued", "queued (published to the broker)"
        RUNNING = "running", "running (leased by a worker)"
        DONE = "done", "done"
        FAILED = "failed", "failed (gave up)"

    WAITING = (State.PENDING, State.QUEUED)
    ACTIVE = (State.PENDING, State.QUEUED, State.RUNNING)

    task = models.CharField(max_length=100, help_text="The Celery task name.")
    args = models.JSONField(default=list, blank=True)
    queue = models.CharField(max_length=32)
    key = models.CharField(
        max_length=200, blank=True, help_text="Calls with one key coalesce while they wait."
    )
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Runs started so far.")
    publishes = models.PositiveSmallIntegerField(default=0, help_text="Messages sent so far.")
    created_at = models.DateTimeField(auto_now_add=True)
    not_before = models.DateTimeField(default=timezone.now, help_text="Publish no earlier.")
    published_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=255, blank=True, help_text="host:pid of the runner.")
    error = models.TextField(blank=True, help_text="The last error (publishing or running).")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state", "not_before"], name="job_state_not_before"),
            models.Index(fields=["state", "lease_expires_at"], name="job_state_lease"),
            models.Index(fields=["state", "published_at"], name="job_state_published"),
            models.Index(fields=["key", "state"], name="job_key_state"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["pending", "queued", "running", "done", "failed"]),
                name="job_state_valid",
            ),
            models.UniqueConstraint(
                fields=["key"],
                condition=Q(state__in=["pending", "queued"]) & ~Q(key=""),
                name="job_one_waiting_per_key",
            ),
        ]

    def __str__(self) -> str:
        return f"job {self.pk} {self.task}{tuple(self.args)} ({self.state})"


class WorkerHeartbeat(models.Model):
    """The last time a worker took a heartbeat task off a queue and wrote to the database."""

    hostname = models.CharField(max_length=255)
    queue = models.CharField(max_length=32)
    seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["hostname", "queue"], name="heartbeat_host_queue")
        ]

    def __str__(self) -> str:
        return f"{self.hostname} on {self.queue} at {self.seen_at:%Y-%m-%d %H:%M:%S}"
