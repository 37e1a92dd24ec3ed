"""Functions that read. Views and API views call these."""

from typing import Any

from django.db import connection
from django.db.models import Count, Min
from django.utils import timezone

from benchmark.models import Job, Submission, WorkerHeartbeat


def _age_s(then: Any) -> float | None:
    return None if then is None else round((timezone.now() - then).total_seconds(), 1)


def queue_report() -> dict[str, Any]:
    """What waits: submissions not yet scored (and the oldest one's wait), jobs the broker has
    not taken yet (the outbox), and jobs per state."""
    waiting = Submission.objects.filter(
        status__in=[Submission.Status.QUEUED, Submission.Status.SCORING]
    ).aggregate(count=Count("pk"), oldest=Min("status_changed_at"))
    pending = Job.objects.filter(state=Job.State.PENDING).aggregate(
        count=Count("pk"), oldest=Min("created_at")
    )
    states = dict(
        Job.objects.filter(state__in=Job.ACTIVE)
        .values_list("state")
        .annotate(count=Count("pk"))
        .values_list("state", "count")
    )
    return {
        "submissions_waiting": waiting["count"],
        "oldest_queued_submission_s": _age_s(waiting["oldest"]),
        "jobs_waiting_for_broker": pending["count"],
        "oldest_pending_job_s": _age_s(pending["oldest"]),
        "jobs": {state: states.get(state, 0) for state in Job.ACTIVE},
    }


def health_report(*, ping_timeout: float = 1.0) -> dict[str, Any]:
    """Reachability of the database, the broker and the workers, for ``GET /healthz``."""
    from config.celery import app

    report: dict[str, Any] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        report["database"] = {"ok": True, "vendor": connection.vendor}
    except Exception as exc:  # any driver error means "unreachable"
        report["database"] = {"ok": False, "error": str(exc)}
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=ping_timeout)
        report["broker"] = {"ok": True, "transport": app.conf.broker_url.split(":", 1)[0]}
    except Exception as exc:  # kombu raises many kinds
        report["broker"] = {"ok": False, "error": str(exc)}
    workers: list[str] = []
    if report["broker"]["ok"]:
        try:
            replies = app.control.ping(timeout=ping_timeout) or []
            workers = sorted(name for reply in replies for name in reply)
        except Exception as exc:
            report["workers_error"] = str(exc)
    heartbeats = (
        list(
            WorkerHeartbeat.objects.order_by("-seen_at").values("hostname", "queue", "seen_at")[:20]
        )
        if report["database"]["ok"]
        else []
    )
    report["workers"] = {"ok": bool(workers), "alive": workers, "heartbeats": heartbeats}
    if report["database"]["ok"]:
        report["queue"] = queue_report()
    report["ok"] = all(report[k]["ok"] for k in ("database", "broker", "workers"))
    return report
