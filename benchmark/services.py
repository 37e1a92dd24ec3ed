"""Functions that write. Views, API views, tasks and commands call these."""

from django.utils import timezone

from benchmark.models import WorkerHeartbeat


def heartbeat_record(*, hostname: str, queue: str) -> WorkerHeartbeat:
    heartbeat, _ = WorkerHeartbeat.objects.update_or_create(
        hostname=hostname, queue=queue, defaults={"seen_at": timezone.now()}
    )
    return heartbeat
