"""Jobs: the outbox, claims under a lease, the sweeper, giving up (tasks run eagerly here; the
real worker, broker outage and SIGKILL cases are in tests/integration/test_recovery.py)."""

import datetime as dt

import pytest
from django.utils import timezone

from benchmark import services, tasks
from benchmark.models import DailyUsage, Job, ScenarioScore, Submission
from benchmark.services import jobs
from benchmark.services.scores import _claim, _compute, _store
from tests.benchmark.factories import make_user, ready_track, submission_zip

pytestmark = pytest.mark.django_db


def _upload(track, user=None):
    return services.submission_create(
        track=track, user=user or make_user(), upload=submission_zip(track), filename="a.zip"
    )


def _job(submission):
    return Job.objects.get(key=f"score:{submission.pk}")


def test_an_upload_writes_its_job_and_publishes_it_after_the_commit(
    django_capture_on_commit_callbacks,
):
    track = ready_track()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        submission = _upload(track)
    job = _job(submission)
    assert (job.state, job.task, job.args, job.queue) == (
        Job.State.PENDING,
        "benchmark.score_submission",
        [submission.pk],
        "scoring",
    )
    assert len(callbacks) == 1
    callbacks[0]()  # the commit: published, and (eagerly) run
    job.refresh_from_db()
    submission.refresh_from_db()
    assert job.state == Job.State.DONE and job.attempts == 1 and job.publishes == 1
    assert submission.status == Submission.Status.SCORED


def test_calls_with_one_key_coalesce_while_one_waits(django_capture_on_commit_callbacks):
    track = ready_track()
    with django_capture_on_commit_callbacks(execute=False):
        first = jobs.job_enqueue(task=tasks.leaderboard_compare, args=[track.pk], key="k")
        second = jobs.job_enqueue(task=tasks.leaderboard_compare, args=[track.pk], key="k")
    assert first.pk == second.pk
    Job.objects.filter(pk=first.pk).update(state=Job.State.RUNNING)
    with django_capture_on_commit_callbacks(execute=False):
        third = jobs.job_enqueue(task=tasks.leaderboard_compare, args=[track.pk], key="k")
    assert third.pk != first.pk, "a running job does not swallow a later call"


def _running(job, *, lease_in_s, worker="elsewhere:1", attempts=1):
    Job.objects.filter(pk=job.pk).update(
        state=Job.State.RUNNING,
        attempts=attempts,
        worker=worker,
        lease_expires_at=timezone.now() + dt.timedelta(seconds=lease_in_s),
    )


def test_a_duplicate_message_for_a_job_under_a_live_lease_or_done_is_dropped(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=False):
        job = _job(_upload(ready_track()))
    _running(job, lease_in_s=30)
    assert jobs.job_run(job_id=job.pk) == "skipped"
    Job.objects.filter(pk=job.pk).update(state=Job.State.DONE)
    assert jobs.job_run(job_id=job.pk) == "skipped"
    assert jobs.job_run(job_id=job.pk + 10_000) == "skipped", "an unknown job is dropped"


def test_a_job_whose_lease_ran_out_or_whose_runner_died_is_taken_over(
    django_capture_on_commit_callbacks,
):
    import subprocess
    import sys

    track = ready_track()
    with django_capture_on_commit_callbacks(execute=False):
        expired = _job(_upload(track))
        dead = _job(_upload(track))
    _running(expired, lease_in_s=-1)
    assert jobs.job_run(job_id=expired.pk) == "done"
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    host = jobs.this_worker().rpartition(":")[0]
    _running(dead, lease_in_s=30, worker=f"{host}:{int(gone.stdout)}")
    assert jobs.job_run(job_id=dead.pk) == "done", "a dead process on this host holds nothing"
    dead.refresh_from_db()
    assert dead.attempts == 2


def test_the_sweeper_takes_back_expired_jobs_and_gives_up_after_the_last_attempt(
    django_capture_on_commit_callbacks,
):
    track = ready_track()
    alice = make_user()
    with django_capture_on_commit_callbacks(execute=False):
        retry = _upload(track, alice)
        give_up = _upload(track, alice)
        alive = _upload(track, alice)
    usage = DailyUsage.objects.get(entrant__user=alice)
    assert usage.valid == 3
    Submission.objects.filter(pk__in=[retry.pk, give_up.pk, alive.pk]).update(
        status=Submission.Status.SCORING, scoring_attempts=1
    )
    _running(_job(retry), lease_in_s=-5)
    _running(_job(give_up), lease_in_s=-5, attempts=3)
    _running(_job(alive), lease_in_s=30)
    with django_capture_on_commit_callbacks(execute=True):
        counts = jobs.jobs_sweep()
    assert counts["taken_back"] == 1 and counts["failed"] == 1 and counts["published"] == 1
    for submission in (retry, give_up, alive):
        submission.refresh_from_db()
    assert retry.status == Submission.Status.SCORED, "taken back, published, run eagerly"
    assert give_up.status == Submission.Status.FAILED
    assert "the worker running it stopped 3 times" in give_up.message
    assert "not a problem with your zip" in give_up.message
    assert alive.status == Submission.Status.SCORING
    usage.refresh_from_db()
    assert usage.valid == 2, "the upload that failed on our side is given back"
    assert _job(give_up).state == Job.State.FAILED


def test_a_queued_job_whose_message_may_be_lost_is_published_again(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=False):
        submission = _upload(ready_track())
    job = _job(submission)
    long_ago = timezone.now() - dt.timedelta(seconds=tasks.score_submission.requeue_after + 1)
    Job.objects.filter(pk=job.pk).update(state=Job.State.QUEUED, published_at=long_ago, publishes=1)
    counts = jobs.jobs_sweep()
    assert counts["republished"] == 1
    job.refresh_from_db()
    assert job.state == Job.State.DONE and job.publishes == 2


def test_a_run_whose_claim_was_taken_over_does_not_write_its_scores():
    track = ready_track()
    submission = _upload(track)
    first = _claim(submission.pk)
    rows = _compute(first)
    second = _claim(submission.pk)
    assert second.scoring_attempts == first.scoring_attempts + 1
    assert _store(submission.pk, attempt=second.scoring_attempts, rows=_compute(second))
    assert not _store(submission.pk, attempt=first.scoring_attempts, rows=rows)
    current = ScenarioScore.objects.filter(submission=submission, is_current=True)
    assert current.count() == 4, "one current row per scenario and phase"


def test_a_bug_in_the_work_is_retried_then_given_up(
    django_capture_on_commit_callbacks, monkeypatch
):
    with django_capture_on_commit_callbacks(execute=False):
        submission = _upload(ready_track())
    job = _job(submission)

    def broken(**_):
        raise RuntimeError("the scorer broke")

    monkeypatch.setattr(services, "submission_score", broken)
    assert jobs.job_run(job_id=job.pk) == "retry"
    job.refresh_from_db()
    assert job.state == Job.State.PENDING and "the scorer broke" in job.error
    assert job.not_before > timezone.now(), "retried after a delay, not in a tight loop"
    Job.objects.filter(pk=job.pk).update(attempts=2)
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.job_run(job_id=job.pk) == "failed"
    submission.refresh_from_db()
    assert submission.status == Submission.Status.FAILED
    assert "RuntimeError: the scorer broke" in submission.message


def test_every_job_task_is_acknowledged_late_and_time_limited():
    from django.conf import settings

    assert settings.CELERY_BEAT_SCHEDULE["watchdog"]["task"] == tasks.watchdog.name
    for task in (
        tasks.score_submission,
        tasks.leaderboard_compare,
        tasks.zoo_build_track,
        tasks.zoo_build_chunk,
        tasks.run_attack,
    ):
        assert task.acks_late and task.reject_on_worker_lost
        assert task.time_limit > task.soft_time_limit
    assert jobs.queue_of(tasks.score_submission) == "scoring"
    assert jobs.queue_of(tasks.zoo_build_chunk) == "zoo"
    assert jobs.queue_of(tasks.run_attack) == "attacks"
