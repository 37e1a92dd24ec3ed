"""submission_create and scoring: validation at once, quotas, phases, scores with history."""

import datetime as dt
import io
import zipfile

import pytest
from django.utils import timezone

from benchmark import services
from benchmark.errors import (
    NotReady,
    PayloadTooLarge,
    PhaseClosed,
    QuotaExceeded,
    SubmissionInvalid,
)
from benchmark.models import DailyUsage, Job, ScenarioScore, Submission, Track
from benchmark.services.jobs import job_run
from tests.benchmark.factories import (
    broken_zip,
    make_staff,
    make_user,
    ready_track,
    submission_zip,
)

pytestmark = pytest.mark.django_db


def test_a_valid_zip_is_stored_and_its_scoring_queued_on_commit(django_capture_on_commit_callbacks):
    track = ready_track()
    user = make_user()
    data = submission_zip(track)
    with django_capture_on_commit_callbacks() as callbacks:
        submission = services.submission_create(
            track=track, user=user, upload=data, filename="a.zip"
        )
    assert len(callbacks) == 1, "exactly the scoring task is queued, after the commit"
    assert submission.status == Submission.Status.QUEUED
    assert submission.file.read() == data
    assert submission.size == len(data) and len(submission.sha256) == 64


def test_scoring_writes_a_score_per_scenario_and_phase():
    track = ready_track()
    submission = services.submission_create(
        track=track, user=make_user(), upload=submission_zip(track, skill=3.0), filename="a.zip"
    )
    services.submission_score(submission_id=submission.pk)
    submission.refresh_from_db()
    assert submission.status == Submission.Status.SCORED, submission.message
    scores = ScenarioScore.objects.filter(submission=submission, is_current=True)
    assert sorted((s.scenario.slug, s.phase) for s in scores) == [
        ("inf", "dev"),
        ("inf", "final"),
        ("lo", "dev"),
        ("lo", "final"),
    ]
    for score in scores:
        assert score.metrics["AUC"] > 0.9, "a skilled attack scores well"
        assert score.ci_low <= score.primary <= score.ci_high
        assert score.roc["fpr"][0] == 0.0


def test_rescoring_keeps_the_old_scores_as_history():
    track = ready_track()
    submission = services.submission_create(
        track=track, user=make_user(), upload=submission_zip(track), filename="a.zip"
    )
    services.submission_score(submission_id=submission.pk)
    queued = services.track_rescore(track=track)
    assert queued == 1
    services.submission_score(submission_id=submission.pk)
    assert ScenarioScore.objects.filter(submission=submission).count() == 8
    assert ScenarioScore.objects.filter(submission=submission, is_current=True).count() == 4


def test_scoring_is_idempotent():
    track = ready_track()
    submission = services.submission_create(
        track=track, user=make_user(), upload=submission_zip(track), filename="a.zip"
    )
    services.submission_score(submission_id=submission.pk)
    assert services.submission_score(submission_id=submission.pk) is None
    assert ScenarioScore.objects.filter(submission=submission).count() == 4


def test_an_invalid_zip_lists_every_problem_and_counts_only_as_invalid():
    track = ready_track()
    user = make_user()
    with pytest.raises(SubmissionInvalid) as caught:
        services.submission_create(
            track=track, user=user, upload=broken_zip(track), filename="b.zip"
        )
    problems = caught.value.extra["problems"]
    reasons = " ".join(p["reason"] for p in problems)
    assert len(problems) >= 2, problems
    assert any(p["path"].endswith("notes.txt") for p in problems), problems
    assert "1.5" in reasons or "[0, 1]" in reasons, reasons
    usage = DailyUsage.objects.get(entrant__user=user)
    assert (usage.valid, usage.invalid) == (0, 1)
    assert not Submission.objects.exists()


def test_invalid_uploads_stop_at_their_own_limit():
    track = ready_track(invalid_per_day=2)
    user = make_user()
    for _ in range(2):
        with pytest.raises(SubmissionInvalid):
            services.submission_create(track=track, user=user, upload=b"junk", filename="x.zip")
    with pytest.raises(QuotaExceeded, match="resets at"):
        services.submission_create(track=track, user=user, upload=b"junk", filename="x.zip")
    services.submission_create(
        track=track, user=user, upload=submission_zip(track), filename="a.zip"
    )


def test_per_day_and_total_limits():
    track = ready_track(per_day=2, total=3)
    user = make_user()
    data = submission_zip(track)
    for _ in range(2):
        services.submission_create(track=track, user=user, upload=data, filename="a.zip")
    with pytest.raises(QuotaExceeded, match="per UTC day"):
        services.submission_create(track=track, user=user, upload=data, filename="a.zip")
    today = timezone.now().date()
    DailyUsage.objects.update(day=today - dt.timedelta(days=1))
    services.submission_create(track=track, user=user, upload=data, filename="a.zip")
    DailyUsage.objects.filter(day=today).update(day=today - dt.timedelta(days=2))
    with pytest.raises(QuotaExceeded, match="all 3 submissions"):
        services.submission_create(track=track, user=user, upload=data, filename="a.zip")


def test_too_large_is_refused_with_the_limit():
    track = ready_track(max_bytes=100)
    with pytest.raises(PayloadTooLarge, match="limit is 100 bytes"):
        services.submission_create(
            track=track, user=make_user(), upload=submission_zip(track), filename="a.zip"
        )


def test_after_the_deadline_the_message_names_the_deadline():
    now = timezone.now()
    track = ready_track(
        dev_opens=now - dt.timedelta(days=10), final_deadline=now - dt.timedelta(hours=1)
    )
    with pytest.raises(PhaseClosed) as caught:
        services.submission_create(
            track=track, user=make_user(), upload=submission_zip(track), filename="a.zip"
        )
    assert track.final_deadline.isoformat() in caught.value.message


def test_before_dev_opens_submissions_are_refused():
    now = timezone.now()
    track = ready_track(
        dev_opens=now + dt.timedelta(days=1), final_deadline=now + dt.timedelta(days=9)
    )
    with pytest.raises(PhaseClosed, match="open at"):
        services.submission_create(
            track=track, user=make_user(), upload=submission_zip(track), filename="a.zip"
        )


def test_staff_are_held_to_neither_phase_nor_quota():
    now = timezone.now()
    track = ready_track(
        per_day=1, dev_opens=now - dt.timedelta(days=10), final_deadline=now - dt.timedelta(hours=1)
    )
    staff = make_staff()
    for _ in range(2):
        services.submission_create(
            track=track, user=staff, upload=submission_zip(track), filename="a.zip"
        )
    assert Submission.objects.filter(owner=staff).count() == 2


def test_a_track_still_building_takes_no_submissions():
    track = ready_track()
    Track.objects.filter(pk=track.pk).update(build_status=Track.BuildStatus.BUILDING)
    track.refresh_from_db()
    with pytest.raises(NotReady, match="still being built"):
        services.submission_create(
            track=track, user=make_user(), upload=submission_zip(track), filename="a.zip"
        )


def test_missing_solutions_fail_the_submission_with_a_message_not_stuck_in_scoring(
    settings, django_capture_on_commit_callbacks
):
    track = ready_track()
    with django_capture_on_commit_callbacks(execute=False):
        submission = services.submission_create(
            track=track, user=make_user(), upload=submission_zip(track), filename="a.zip"
        )
    job = Job.objects.get(key=f"score:{submission.pk}")
    settings.ARENA_ZOO_ROOT = settings.ARENA_ZOO_ROOT / "elsewhere"
    outcomes = []
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            outcomes.append(job_run(job_id=job.pk))
    assert outcomes == ["retry", "retry", "failed"]
    submission.refresh_from_db()
    assert submission.status == Submission.Status.FAILED
    assert submission.scoring_attempts == 3
    assert "failed 3 times" in submission.message and "re-score" in submission.message


def with_extras(data: bytes, extras: dict[str, bytes]) -> bytes:
    """``data`` (a zip) with more entries."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as archive:
        for name in source.namelist():
            archive.writestr(name, source.read(name))
        for name, content in extras.items():
            archive.writestr(name, content)
    return out.getvalue()


def test_train_predictions_and_a_readme_are_kept_as_notices_not_refused(client):
    track = ready_track()
    user = make_user()
    train = [f"tiny/tiny_{s}/train/model_{m}/prediction.csv" for s in ("inf", "lo") for m in (0, 1)]
    extras = {path: b"# train model\n" + b"0.5," * 19 + b"0.5\n" for path in train}
    extras["tiny/README.md"] = b"# our attack\n"
    upload = with_extras(submission_zip(track), extras)
    submission = services.submission_create(track=track, user=user, upload=upload, filename="a.zip")
    expected = [{"path": path, "reason": "not scored: a train model"} for path in train]
    expected.append(
        {"path": "tiny/README.md", "reason": "not scored: not a prediction.csv of track tiny"}
    )
    assert Submission.objects.get(pk=submission.pk).notices == expected
    services.submission_score(submission_id=submission.pk)
    submission.refresh_from_db()
    assert submission.status == Submission.Status.SCORED, submission.message
    assert submission.notices == expected
    client.force_login(user)
    assert client.get(f"/api/v1/submissions/{submission.pk}/").json()["notices"] == expected
    page = client.get(f"/submissions/{submission.pk}/").content.decode()
    assert "5 files of the zip were not scored" in page
    assert "<code>tiny/README.md</code>: not scored: not a prediction.csv of track tiny" in page


def test_a_refused_zip_lists_the_files_it_would_not_have_scored_after_its_problems():
    track = ready_track()
    with pytest.raises(SubmissionInvalid) as caught:
        services.submission_create(
            track=track, user=make_user(), upload=broken_zip(track), filename="b.zip"
        )
    problems = caught.value.extra["problems"]
    assert problems[-1] == {
        "path": "tiny/notes.txt",
        "reason": "not scored: not a prediction.csv of track tiny",
    }
    assert caught.value.message.startswith("the zip was refused: 1 problem (first: tiny/tiny_")
