"""The watchdog: nothing stays in `queued`/`scoring` forever."""

import datetime as dt

import pytest
from django.utils import timezone

from benchmark import services
from benchmark.models import Submission
from tests.benchmark.factories import make_user, ready_track, submission_zip

pytestmark = pytest.mark.django_db


def _stuck(track, *, attempts, age_minutes):
    submission = services.submission_create(
        track=track, user=make_user(), upload=submission_zip(track), filename="a.zip"
    )
    Submission.objects.filter(pk=submission.pk).update(
        status=Submission.Status.SCORING,
        scoring_attempts=attempts,
        status_changed_at=timezone.now() - dt.timedelta(minutes=age_minutes),
    )
    return submission


def test_stuck_submissions_are_requeued_then_failed_with_a_message(
    django_capture_on_commit_callbacks,
):
    track = ready_track()
    retry = _stuck(track, attempts=1, age_minutes=30)
    give_up = _stuck(track, attempts=3, age_minutes=30)
    recent = _stuck(track, attempts=1, age_minutes=1)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = services.submissions_watchdog(stuck_after=dt.timedelta(minutes=15), max_attempts=3)
    assert result == {"requeued": 1, "failed": 1}
    assert callbacks, "the requeued one is sent to the scoring queue"
    retry.refresh_from_db()
    give_up.refresh_from_db()
    recent.refresh_from_db()
    assert retry.status == Submission.Status.SCORED, "requeued and scored (tasks run eagerly)"
    assert give_up.status == Submission.Status.FAILED
    assert "did not finish after 3 tries" in give_up.message
    assert recent.status == Submission.Status.SCORING


def test_the_watchdog_task_is_scheduled():
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["watchdog"]
    assert entry["task"] == "benchmark.watchdog"
    from benchmark import tasks

    assert tasks.watchdog.name == "benchmark.watchdog"
    for task in (tasks.score_submission, tasks.zoo_build_chunk, tasks.run_attack):
        assert task.acks_late and task.reject_on_worker_lost and task.time_limit
