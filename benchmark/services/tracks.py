"""Track lifecycle: create from a track file, reveal the final phase, re-score."""

import dataclasses
import math
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from benchmark.errors import ApplicationError, NotReady
from benchmark.models import ROLES, AnyUser, Scenario, Submission, Track, TrackOrganizer
from benchmark.services.emails import reveal_notify_queue
from benchmark.services.jobs import job_enqueue
from benchmark.services.submissions import score_key
from benchmark.zoo.tracks import TrackSpec, parse_track


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def spec_to_json(spec: TrackSpec) -> dict[str, Any]:
    return dict(_jsonable(dataclasses.asdict(spec)))


def track_spec(*, track: Track) -> TrackSpec:
    """The validated track file of ``track`` (the zoo library's description)."""
    return parse_track(track.spec_text, source=f"track {track.slug}")


def _parse(spec_text: str, source: str) -> TrackSpec:
    try:
        return parse_track(spec_text, source=source)
    except ValueError as error:
        raise ApplicationError(str(error)) from error


@transaction.atomic
def track_create(
    *, spec_text: str, created_by: AnyUser | None, source: str = "track file"
) -> Track:
    """Register a track from its TOML file and queue its zoo build (on commit).

    Raises ``ApplicationError`` naming the bad key, or when the slug is taken.
    """
    track = _track_rows(_parse(spec_text, source), spec_text, created_by)
    from benchmark.services.zoo import zoo_build_queue

    zoo_build_queue(track=track)
    return track


def track_import(
    *,
    spec_text: str,
    release: str,
    solutions: str,
    created_by: AnyUser | None,
    source: str = "track file",
    queue: bool = True,
) -> Track:
    """Register a track whose zoo was trained elsewhere (MICO's released archives): the
    release is checked at once, then copied into the zoo's layout by a ``zoo`` job
    (``queue=False``: here and now, as ``manage.py track_import`` does), and the track becomes
    ready as a built one does — bundle, baselines, leaderboard.

    Raises
    ------
    ApplicationError
        A bad track file, a taken slug, or a release that does not match the track file:
        ``extra["problems"]`` lists every problem as ``{"path", "reason"}``; nothing is
        created then.
    """
    from benchmark.zoo.importer import Release, check_release

    spec = _parse(spec_text, source)
    located = Release.locate(spec, release, solutions)
    problems = check_release(spec, located)
    if problems:
        raise ApplicationError(
            f"the release does not match {spec.slug}'s track file: {len(problems)} problem"
            f"{'s' if len(problems) != 1 else ''} (first: {problems[0]})",
            extra={"problems": [{"path": p.path, "reason": p.reason} for p in problems]},
        )
    from benchmark import tasks
    from benchmark.services.jobs import job_enqueue
    from benchmark.services.zoo import zoo_import_run

    with transaction.atomic():
        track = _track_rows(spec, spec_text, created_by)
        Track.objects.filter(pk=track.pk).update(build_status=Track.BuildStatus.BUILDING)
        if queue:
            job_enqueue(
                task=tasks.zoo_import,
                args=[track.pk, str(located.track_dir), str(located.solutions_dir)],
                key=f"zoo:{track.pk}",
            )
    if not queue:
        zoo_import_run(
            track_id=track.pk, release=str(located.track_dir), solutions=str(located.solutions_dir)
        )
    track.refresh_from_db()
    return track


def _track_rows(spec: TrackSpec, spec_text: str, created_by: AnyUser | None) -> Track:
    """The track's and its scenarios' rows (its zoo not built yet)."""
    if Track.objects.filter(slug=spec.slug).exists():
        raise ApplicationError(f"a track with slug {spec.slug!r} already exists")
    for position, scenario in enumerate(spec.scenarios):
        if scenario.challenge != spec.challenge:
            # scoring.Expected has one number of values per prediction.csv for the track.
            raise ApplicationError(
                f"scenario[{position}].challenge: {scenario.challenge} differs from the "
                f"track's challenge = {spec.challenge}; the platform scores every scenario of "
                "a track with the same number of challenge points"
            )
    per_phase = spec.models.train + spec.models.dev + spec.models.final
    track = Track.objects.create(
        slug=spec.slug,
        name=spec.name,
        spec_text=spec_text,
        spec=spec_to_json(spec),
        primary=spec.primary,
        dev_opens=spec.phases.dev_opens,
        final_deadline=spec.phases.final_deadline,
        per_day=spec.limits.per_day,
        total=spec.limits.total,
        invalid_per_day=spec.limits.invalid_per_day,
        max_bytes=spec.limits.max_bytes,
        access=spec.access,
        queries_per_day=spec.limits.queries_per_day,
        query_batch=spec.limits.query_batch,
        challenge=spec.challenge,
        final=spec.competition.final,
        select_final=spec.competition.select_final,
        max_team_size=spec.competition.max_team_size,
        teams_freeze=spec.competition.teams_freeze,
        terms=spec.competition.terms,
        requires_approval=spec.competition.requires_approval,
        email_domains=list(spec.competition.email_domains),
        benchmark_per_day=spec.competition.benchmark_per_day,
        models_total=per_phase * len(spec.scenarios),
        created_by=created_by if isinstance(created_by, User) else None,
    )
    if isinstance(created_by, User):
        TrackOrganizer.objects.create(track=track, user=created_by, roles=list(ROLES))
    Scenario.objects.bulk_create(
        Scenario(
            track=track,
            slug=scenario.slug,
            position=position,
            epsilon=scenario.epsilon if math.isfinite(scenario.epsilon) else None,
            delta=scenario.delta,
            clip=scenario.clip,
            release={} if scenario.defence.none else dataclasses.asdict(scenario.defence),
        )
        for position, scenario in enumerate(spec.scenarios)
    )
    return track


@transaction.atomic
def track_reveal(*, track: Track, by: AnyUser | None) -> Track:
    """Publish the final leaderboard (and queue the e-mails of the participants who asked to
    be told). Allowed once the deadline has passed."""
    track = Track.objects.select_for_update().get(pk=track.pk)
    if track.revealed_at is not None:
        return track
    if timezone.now() < track.final_deadline:
        raise NotReady(
            f"the final phase closes at {track.final_deadline.isoformat()}; reveal after that"
        )
    track.revealed_at = timezone.now()
    track.save(update_fields=["revealed_at"])
    reveal_notify_queue(track=track)
    return track


@transaction.atomic
def track_benchmark_open(*, track: Track) -> Track:
    """Keep a revealed track open as a benchmark: new uploads are scored on the final models
    and ranked on the benchmark board, with their own per-day limit; the competition's boards
    stay as they were at the deadline."""
    track = Track.objects.select_for_update().get(pk=track.pk)
    if track.revealed_at is None:
        raise NotReady(f"reveal the final phase of {track.slug} before opening its benchmark")
    if track.benchmark_opened_at is None:
        track.benchmark_opened_at = timezone.now()
        track.save(update_fields=["benchmark_opened_at"])
    return track


@transaction.atomic
def track_rescore(*, track: Track) -> int:
    """Queue every scored or failed-at-scoring submission of ``track`` for scoring again.

    The old scores stay (``is_current`` flips when the new ones are written). Returns how many
    submissions were queued.
    """
    if track.build_status != Track.BuildStatus.READY:
        raise NotReady(f"track {track.slug!r} is not built yet ({track.build_status})")
    ids = list(
        Submission.objects.select_for_update()
        .filter(track=track, status__in=[Submission.Status.SCORED, Submission.Status.FAILED])
        .values_list("pk", flat=True)
    )
    Submission.objects.filter(pk__in=ids).update(
        status=Submission.Status.QUEUED, status_changed_at=timezone.now()
    )
    from benchmark import tasks

    for submission_id in ids:
        job_enqueue(task=tasks.score_submission, args=[submission_id], key=score_key(submission_id))
    return len(ids)
