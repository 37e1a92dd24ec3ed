"""Scoring a stored submission against the zoo's solutions; the watchdog that keeps none stuck."""

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

import scoring
from benchmark.models import LeaderboardEntry, ScenarioScore, Submission
from benchmark.services import io

logger = logging.getLogger(__name__)

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


def _finish(
    submission_id: int, *, status: str, message: str = "", errors: list | None = None
) -> None:
    Submission.objects.filter(pk=submission_id, status=Submission.Status.SCORING).update(
        status=status, message=message, errors=errors or [], status_changed_at=timezone.now()
    )


def submission_score(*, submission_id: int, max_attempts: int = 3) -> Submission | None:
    """Score a queued submission on every scenario and phase; idempotent.

    A submission that is already scored or failed is left alone. Whatever happens, the
    submission does not stay in ``scoring``: a problem with the zip fails it with a message a
    person understands; any other error puts it back in the queue (or fails it after
    ``max_attempts``) and propagates, so the task can retry transient errors.
    """
    submission = _claim(submission_id)
    if submission is None:
        return None
    try:
        rows = _compute(submission)
    except scoring.SubmissionError as error:
        problems = io.problems_of(error)
        _finish(
            submission_id,
            status=Submission.Status.FAILED,
            message=f"the zip could not be scored: {problems[0]['reason']}",
            errors=problems,
        )
        return Submission.objects.get(pk=submission_id)
    except BaseException as error:
        logger.exception("scoring submission %s failed", submission_id)
        if submission.scoring_attempts >= max_attempts:
            _finish(
                submission_id,
                status=Submission.Status.FAILED,
                message=(
                    f"scoring failed {submission.scoring_attempts} times "
                    f"({type(error).__name__}); the organizers can re-score it"
                ),
            )
        else:
            _finish(submission_id, status=Submission.Status.QUEUED)
        raise
    with transaction.atomic():
        locked = Submission.objects.select_for_update().get(pk=submission_id)
        if locked.status != Submission.Status.SCORING:
            return locked
        ScenarioScore.objects.filter(submission=locked, is_current=True).update(is_current=False)
        ScenarioScore.objects.bulk_create(rows)
        LeaderboardEntry.objects.filter(submission=locked, is_current=True).update(is_current=False)
        LeaderboardEntry.objects.bulk_create(leaderboard_entries(locked, rows))
        locked.status = Submission.Status.SCORED
        locked.message = ""
        locked.errors = []
        locked.status_changed_at = timezone.now()
        locked.save(update_fields=["status", "message", "errors", "status_changed_at"])
        from benchmark import tasks

        tasks.leaderboard_compare.delay_on_commit(submission.track_id)
    return locked


def submissions_watchdog(*, stuck_after: dt.timedelta, max_attempts: int) -> dict[str, int]:
    """Re-queue submissions stuck in ``queued``/``scoring`` past ``stuck_after``; fail them
    with a message once they have had ``max_attempts`` tries."""
    cutoff = timezone.now() - stuck_after
    requeued: list[int] = []
    failed = 0
    with transaction.atomic():
        stuck = (
            Submission.objects.select_for_update(skip_locked=True)
            .filter(
                status__in=[Submission.Status.QUEUED, Submission.Status.SCORING],
                status_changed_at__lt=cutoff,
            )
            .only("pk", "status", "scoring_attempts")
        )
        for submission in stuck:
            if submission.scoring_attempts >= max_attempts:
                Submission.objects.filter(pk=submission.pk).update(
                    status=Submission.Status.FAILED,
                    status_changed_at=timezone.now(),
                    message=(
                        f"scoring did not finish after {submission.scoring_attempts} tries "
                        "(a worker may have stopped); the organizers can re-score it"
                    ),
                )
                failed += 1
            else:
                requeued.append(submission.pk)
        Submission.objects.filter(pk__in=requeued).update(
            status=Submission.Status.QUEUED, status_changed_at=timezone.now()
        )
        from benchmark import tasks

        for submission_id in requeued:
            tasks.score_submission.delay_on_commit(submission_id)
    return {"requeued": len(requeued), "failed": failed}
