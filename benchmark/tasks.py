"""Celery tasks: each takes ids, loads rows, calls a service, nothing else."""

from celery import Task, shared_task

from benchmark import services


@shared_task(name="benchmark.heartbeat", bind=True, acks_late=True, ignore_result=True)
def heartbeat(self: Task, queue: str = "scoring") -> None:
    """Proves a worker consumes ``queue`` and can write to the database (shown on /healthz)."""
    services.heartbeat_record(hostname=self.request.hostname or "unknown", queue=queue)
