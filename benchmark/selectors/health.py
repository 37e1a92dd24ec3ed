"""Functions that read. Views and API views call these."""

from typing import Any

from django.db import connection

from benchmark.models import WorkerHeartbeat


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
    report["ok"] = all(report[k]["ok"] for k in ("database", "broker", "workers"))
    return report
