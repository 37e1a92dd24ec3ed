"""The plumbing every flow stands on: a task goes through the real Redis broker to a real
worker process, which writes to the real PostgreSQL test database."""

import time

import pytest
from django.db import connection

from benchmark import tasks
from benchmark.models import WorkerHeartbeat

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_worker_runs_a_task_from_redis_and_writes_to_the_database(celery_worker_process):
    assert connection.vendor == "postgresql", "integration tests run on PostgreSQL"
    tasks.heartbeat.apply_async(args=("zoo",), queue="zoo")

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        row = WorkerHeartbeat.objects.filter(queue="zoo").first()
        if row is not None:
            break
        time.sleep(0.2)
    else:
        pytest.fail("the worker never ran the task: " + celery_worker_process.log_path.read_text())
    assert row.hostname.startswith("test-worker-")


def test_healthz_reports_the_live_worker(celery_worker_process, client):
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["database"]["ok"] and body["broker"]["ok"]
    assert any(name.startswith("test-worker-") for name in body["workers"]["alive"])
