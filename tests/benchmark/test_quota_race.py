"""Concurrent uploads by one participant on PostgreSQL: exactly the daily limit is accepted."""

import threading

import pytest
from django.db import connection, connections

from benchmark import services
from benchmark.errors import QuotaExceeded
from benchmark.models import DailyUsage, Submission
from tests.benchmark.factories import make_user, ready_track, submission_zip

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_uploads_accept_exactly_the_limit(settings):
    assert connection.vendor == "postgresql", "the race is tested on PostgreSQL"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    track = ready_track(per_day=3, total=100)
    user = make_user()
    data = submission_zip(track)
    threads_n = 8
    barrier = threading.Barrier(threads_n)
    outcomes: list[str] = []
    lock = threading.Lock()

    def upload() -> None:
        try:
            barrier.wait()
            services.submission_create(track=track, user=user, upload=data, filename="a.zip")
            outcome = "accepted"
        except QuotaExceeded:
            outcome = "refused"
        except Exception as error:  # reported below, so the test names it
            outcome = repr(error)
        finally:
            connections.close_all()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=upload) for _ in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["accepted"] * 3 + ["refused"] * 5, outcomes
    assert Submission.objects.filter(owner=user).count() == 3
    assert DailyUsage.objects.get(entrant__user=user).valid == 3
