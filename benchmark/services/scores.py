"""Scoring a stored submission against the zoo's solutions."""

from django.db import transaction
from django.utils import timezone

import scoring
from benchmark.models import LeaderboardEntry, ScenarioScore, Submission
from benchmark.services import io
from benchmark.services.emails import submission_result_notify
from benchmark.services.jobs import job_enqueue
from benchmark.services.submissions import quota_refund

#: Written on every score row; a change of scoring rules bumps it (and the tie cache with it).
SCORER_VERSION = "mico-1"
#: Seed of the bootstrap intervals, fixed so a re-score reproduces them.
BOOTSTRAP_SEED = 0


def _claim(submission_id: int) -> Submission | None:
    with transaction.atomic():
        submission = (
            Submission.objects.select_for_update()
            .select_related("track")
            .filter(pk=submission_id)
            .first()
        )
        if submission is None or submission.status not in (
            Submission.Status.QUEUED,
            Submission.Status.SCORING,
        ):
            return None
        submission.status = Submission.Status.SCORING
        submission.status_changed_at = timezone.now()
        submission.scoring_attempts += 1
        submission.save(update_fields=["status", "status_changed_at", "scoring_attempts"])
        return submission


def _compute(submission: Submission) -> list[ScenarioScore]:
    track = submission.track
    scenarios = list(track.scenarios.all())
    expected = io.expected_for_track(track=track, scenarios=[s.slug for s in scenarios])
    with submission.file.open("rb") as handle:
        predictions = io.read_predictions(data=handle.read(), expected=expected)
    labels = io.read_labels(track=track, expected=expected)
    indices = io.model_indices(track=track)
    rows = []
    for scenario in scenarios:
        for phase in io.SUBMITTED_PHASES:
            result = scoring.score_scenario(
                io.per_model(labels, scenario=scenario.slug, phase=phase, indices=indices[phase]),
                io.per_model(
                    predictions, scenario=scenario.slug, phase=phase, indices=indices[phase]
                ),
                primary=track.primary,
                delta=scenario.delta or 1e-5,
                seed=BOOTSTRAP_SEED,
            )
            low, high = (float(x) for x in result["ci"])
            rows.append(
                ScenarioScore(
                    submission=submission,
                    scenario=scenario,
                    phase=phase,
                    primary=float(result[track.primary]),
                    metrics={key: float(result[key]) for key in scoring.METRIC_KEYS},
                    ci_low=low,
                    ci_high=high,
                    eps_lb=None if result.get("eps_lb") is None else float(result["eps_lb"]),
                    roc={
                        "fpr": [float(x) for x in result["roc"]["fpr"]],
                        "tpr": [float(x) for x in result["roc"]["tpr"]],
                    },
                    scorer_version=SCORER_VERSION,
                    zoo_fingerprint=track.zoo_fingerprint,
                )
            )
    return rows


def _shown(value: float) -> float:
    """A figure as the leaderboard shows it: 6 decimals (ScenarioScore keeps full precision;
    the ranking uses the unrounded mean). Halves the bytes a 1,000-row leaderboard moves."""
    return round(float(value), 6)


def leaderboard_entries(
    submission: Submission, rows: list[ScenarioScore]
) -> list[LeaderboardEntry]:
    """Per phase, the leaderboard line: the mean over scenarios and every scenario's figures."""
    entries = []
    for phase in io.SUBMITTED_PHASES:
        scores = [row for row in rows if row.phase == phase]
        count = len(scores)
        entries.append(
            LeaderboardEntry(
                submission=submission,
                phase=phase,
                score=sum(row.primary for row in scores) / count,
                ci_low=sum(row.ci_low for row in scores) / count,
                ci_high=sum(row.ci_high for row in scores) / count,
                per_scenario={
                    row.scenario.slug: {
                        **{key: _shown(value) for key, value in row.metrics.items()},
                        "ci": [_shown(row.ci_low), _shown(row.ci_high)],
                        "eps_lb": None if row.eps_lb is None else _shown(row.eps_lb),
                        "epsilon": row.scenario.epsilon,
                    }
                    for row in scores
                },
            )
        )
    return entries


def _fail(submission_id: int, *, attempt: int, message: str, errors: list) -> None:
    """Fail the submission for a problem of its zip, unless a later run claimed it; its owner
    is told when they asked to be."""
    with transaction.atomic():
        failed = Submission.objects.filter(
            pk=submission_id, status=Submission.Status.SCORING, scoring_attempts=attempt
        ).update(
            status=Submission.Status.FAILED,
            message=message,
            errors=errors,
            status_changed_at=timezone.now(),
        )
        if failed:
            submission_result_notify(submission=Submission.objects.get(pk=submission_id))


def submission_score(*, submission_id: int) -> Submission | None:
    """Score a queued submission on every scenario and phase; idempotent.

    A submission that is already scored or failed is left alone. A problem with the zip fails
    it with a message a person understands; any other error propagates with the submission
    still in ``scoring``, for the job to run again (``submission_abandon`` ends it when the
    job gives up). Each run claims the submission with a new attempt number and writes its
    scores only if no later run has claimed it since, so two runs never both write.
    """
    submission = _claim(submission_id)
    if submission is None:
        return None
    attempt = submission.scoring_attempts
    try:
        rows = _compute(submission)
    except scoring.SubmissionError as error:
        problems = io.problems_of(error)
        _fail(
            submission_id,
            attempt=attempt,
            message=f"the zip could not be scored: {problems[0]['reason']}",
            errors=problems,
        )
        return Submission.objects.get(pk=submission_id)
    _store(submission_id, attempt=attempt, rows=rows)
    return Submission.objects.get(pk=submission_id)


def _store(submission_id: int, *, attempt: int, rows: list[ScenarioScore]) -> bool:
    """Write one run's scores and mark the submission scored, unless a later run claimed it
    (or it is no longer being scored). Returns whether this run's scores were written."""
    with transaction.atomic():
        locked = Submission.objects.select_for_update().get(pk=submission_id)
        if locked.status != Submission.Status.SCORING or locked.scoring_attempts != attempt:
            return False
        ScenarioScore.objects.filter(submission=locked, is_current=True).update(is_current=False)
        ScenarioScore.objects.bulk_create(rows)
        LeaderboardEntry.objects.filter(submission=locked, is_current=True).update(is_current=False)
        LeaderboardEntry.objects.bulk_create(leaderboard_entries(locked, rows))
        locked.status = Submission.Status.SCORED
        locked.message = ""
        locked.errors = []
        locked.status_changed_at = timezone.now()
        locked.save(update_fields=["status", "message", "errors", "status_changed_at"])
        submission_result_notify(submission=locked)
        from benchmark import tasks

        job_enqueue(
            task=tasks.leaderboard_compare,
            args=[locked.track_id],
            key=f"compare:{locked.track_id}",
        )
    return True


def submission_abandon(*, submission_id: int, reason: str) -> Submission | None:
    """Fail a submission whose scoring could not finish for a reason outside the zip (a worker
    lost, a time limit, a bug), and give its upload back to the participant's quota."""
    with transaction.atomic():
        submission = Submission.objects.select_for_update().filter(pk=submission_id).first()
        if submission is None or submission.status not in (
            Submission.Status.QUEUED,
            Submission.Status.SCORING,
        ):
            return submission
        refunded = quota_refund(submission=submission)
        submission.status = Submission.Status.FAILED
        submission.message = (
            f"scoring could not finish ({reason}); this is not a problem with your zip"
            + (", and the upload no longer counts against your quota" if refunded else "")
            + ". The organizers can re-score it."
        )
        submission.status_changed_at = timezone.now()
        submission.save(update_fields=["status", "message", "status_changed_at"])
        submission_result_notify(submission=submission)
    return submission
