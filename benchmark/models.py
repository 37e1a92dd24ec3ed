"""ORM models of the competition app."""

from django.db import models


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
