"""Uploads: validate at once, book the quota race-free, store the file and the row together;
what the participant says about the method (metadata), set at upload and edited by the owner.
Which of them count for final is :mod:`benchmark.services.finals`."""

import datetime as dt
import hashlib
from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import F
from django.utils import timezone

import scoring
from benchmark.errors import (
    MetadataInvalid,
    NotOwner,
    NotReady,
    PayloadTooLarge,
    PhaseClosed,
    QuotaExceeded,
    SubmissionInvalid,
)
from benchmark.models import (
    DESCRIPTION_MAX,
    METHOD_MAX,
    URL_MAX,
    Access,
    AnyUser,
    DailyUsage,
    Entrant,
    Submission,
    Team,
    Track,
)
from benchmark.permissions import track_organizes
from benchmark.services import io
from benchmark.services.jobs import job_enqueue
from benchmark.services.registrations import participation_check
from benchmark.services.teams import quota_holder, team_of

#: The metadata of a submission, in the order forms and tables show them.
METADATA_FIELDS = ("method", "description", "paper_url", "code_url", "access")
#: Only web links: a ``javascript:`` or ``data:`` URL on the leaderboard would run in visitors'
#: browsers, and ``ftp:`` or ``file:`` links lead nowhere useful.
HTTP_URL = URLValidator(
    schemes=["http", "https"], message="Enter a URL that starts with http:// or https://."
)
_LIMITS = {
    "method": METHOD_MAX,
    "description": DESCRIPTION_MAX,
    "paper_url": URL_MAX,
    "code_url": URL_MAX,
}


def metadata_clean(*, values: Mapping[str, Any]) -> dict[str, str]:
    """Check a submission's metadata: the fields given (any of ``METADATA_FIELDS``), stripped.

    An empty string clears a field. ``method`` has at most 100 characters, ``description``
    1,000, the URLs 500 and only ``http``/``https``; ``access`` is ``white-box``,
    ``black-box`` or empty.

    Raises
    ------
    MetadataInvalid
        Naming the first bad field; ``extra["fields"]`` lists every problem per field (400).
    """
    problems: dict[str, list[str]] = {}
    cleaned: dict[str, str] = {}
    for name, value in values.items():
        if name not in METADATA_FIELDS:
            raise ValueError(f"{name!r} is not a submission metadata field")
        if not isinstance(value, str):
            problems[name] = ["Must be text."]
            continue
        value = value.strip()
        limit = _LIMITS.get(name)
        if limit is not None and len(value) > limit:
            problems[name] = [f"Ensure this field has no more than {limit} characters."]
        elif name in ("paper_url", "code_url") and value:
            try:
                HTTP_URL(value)
            except ValidationError as error:
                problems[name] = [str(message) for message in error.messages]
        elif name == "access" and value not in ("", *Access.values):
            problems[name] = [f"Must be one of {', '.join(Access.values)} (or empty)."]
        elif "\x00" in value:
            problems[name] = ["Null characters are not allowed."]
        cleaned[name] = value
    if problems:
        name, reasons = next(iter(problems.items()))
        raise MetadataInvalid(f"{name}: {reasons[0]}", extra={"fields": problems})
    return cleaned


def utc_day_bounds(now: dt.datetime | None = None) -> tuple[dt.date, dt.datetime]:
    """Today's UTC date and the instant the per-day quotas reset."""
    now = now or timezone.now()
    today = now.astimezone(dt.UTC).date()
    return today, dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


def _in_benchmark(track: Track) -> bool:
    """True when uploads now go to the benchmark phase (after the deadline, once opened)."""
    return track.benchmark_opened_at is not None and timezone.now() >= track.final_deadline


def _check_phase(track: Track) -> None:
    now = timezone.now()
    if now < track.dev_opens:
        raise PhaseClosed(
            f"submissions to {track.slug} open at {track.dev_opens.isoformat()}",
            extra={"dev_opens": track.dev_opens.isoformat()},
        )
    if now >= track.final_deadline and not _in_benchmark(track):
        raise PhaseClosed(
            f"the final deadline of {track.slug} was {track.final_deadline.isoformat()}; "
            "submissions are closed",
            extra={"final_deadline": track.final_deadline.isoformat()},
        )


def _locked_usage(track: Track, user: User) -> tuple[Entrant, DailyUsage, Team | None]:
    """The quota that the participant's uploads spend (their team's, or their own), locked
    until the transaction ends, with today's usage row.

    Every upload of one participant to one track takes their own row's lock first (see
    :func:`benchmark.services.teams.quota_holder`), so the checks and the increments below
    cannot interleave (no count-then-insert race), for a team's members as for one person.
    """
    holder, team = quota_holder(track=track, user=user, lock=True)
    today, _ = utc_day_bounds()
    usage, _ = DailyUsage.objects.get_or_create(entrant=holder, day=today)
    return holder, usage, team


def _who_has(team: Team | None) -> str:
    return "you have" if team is None else f"team {team.name} has"


def _quota_message(track: Track, what: str, limit: int, team: Team | None = None) -> str:
    _, resets_at = utc_day_bounds()
    return (
        f"{_who_has(team)} used all {limit} {what} uploads to {track.slug} allowed per UTC day; "
        f"the count resets at {resets_at.isoformat()}"
    )


def _book_invalid(track: Track, user: User, problems: list[dict[str, str]]) -> None:
    with transaction.atomic():
        _, usage, team = _locked_usage(track, user)
        if usage.invalid >= track.invalid_per_day:
            raise QuotaExceeded(
                _quota_message(track, "invalid", track.invalid_per_day, team),
                extra={"problems": problems},
            )
        DailyUsage.objects.filter(pk=usage.pk).update(invalid=F("invalid") + 1)


def _book_valid(track: Track, user: User, *, benchmark: bool) -> Team | None:
    """Spend one upload of the participant's (or their team's) quota; returns the team."""
    entrant, usage, team = _locked_usage(track, user)
    if benchmark:
        if usage.benchmark >= track.benchmark_per_day:
            raise QuotaExceeded(_quota_message(track, "benchmark", track.benchmark_per_day, team))
        DailyUsage.objects.filter(pk=usage.pk).update(benchmark=F("benchmark") + 1)
        return team
    if usage.valid >= track.per_day:
        raise QuotaExceeded(_quota_message(track, "valid", track.per_day, team))
    if entrant.valid_total >= track.total:
        raise QuotaExceeded(f"{_who_has(team)} used all {track.total} submissions to {track.slug}")
    DailyUsage.objects.filter(pk=usage.pk).update(valid=F("valid") + 1)
    Entrant.objects.filter(pk=entrant.pk).update(valid_total=F("valid_total") + 1)
    return team


def _refuse(
    track: Track,
    user: User | None,
    counted: bool,
    problems: list[dict[str, str]],
    error: type[SubmissionInvalid] | type[PayloadTooLarge] = SubmissionInvalid,
    *,
    count: int | None = None,
) -> None:
    """Refuse an upload listing ``problems``; ``count`` of them refuse it (the rest are the
    files it would not have scored), all of them by default."""
    if counted and user is not None:
        _book_invalid(track, user, problems)
    count = len(problems) if count is None else count
    raise error(
        f"the zip was refused: {count} problem{'s' if count != 1 else ''} "
        f"(first: {problems[0]['path'] or 'zip'}: {problems[0]['reason']})",
        extra={"problems": problems},
    )


def submission_create(
    *,
    track: Track,
    user: AnyUser | None,
    upload: bytes,
    filename: str,
    attack: str = "",
    metadata: Mapping[str, Any] | None = None,
) -> Submission:
    """Validate a submission zip at once, then store it and queue its scoring.

    Files of the zip that are not scored (train models' predictions, a README) are kept on the
    row as ``notices``, not refused. Participants are held to the track's phases and quotas;
    staff uploads and baselines (``attack`` set) are not, and are never ranked among
    participants. ``metadata`` (see :func:`metadata_clean`) is checked first: a bad field
    refuses the upload before anything is counted or stored.

    Raises
    ------
    MetadataInvalid
        With ``extra["fields"]`` (400).
    SubmissionInvalid
        With ``extra["problems"]``: every problem as ``{"path", "reason"}`` (400).
    PayloadTooLarge, QuotaExceeded, PhaseClosed, NotReady
    """
    owner = user if isinstance(user, User) else None
    if owner is None and not attack:
        raise PermissionDenied("log in to submit")
    described = metadata_clean(values=metadata or {})
    privileged = bool(attack) or (owner is not None and track_organizes(track=track, user=owner))
    if track.build_status != Track.BuildStatus.READY:
        raise NotReady(
            f"the zoo of {track.slug} is still being built "
            f"({track.models_built}/{track.models_total} models); submissions open when it is ready"
        )
    if not privileged and owner is not None:
        participation_check(track=track, user=owner)
        _check_phase(track)
    benchmark = _in_benchmark(track) and not attack
    if len(upload) > track.max_bytes:
        reason = f"{len(upload)} bytes; the limit is {track.max_bytes} bytes"
        _refuse(
            track, owner, not privileged, [{"path": filename, "reason": reason}], PayloadTooLarge
        )
    scenarios = list(track.scenarios.values_list("slug", flat=True))
    try:
        _, notices = io.read_predictions_with_notices(
            data=upload, expected=io.expected_for_track(track=track, scenarios=scenarios)
        )
    except scoring.SubmissionError as error:
        _refuse(track, owner, not privileged, io.problems_of(error), count=len(error.problems))
    digest = hashlib.sha256(upload).hexdigest()
    with transaction.atomic():
        counted = not privileged and owner is not None
        team = None
        if counted and owner is not None:
            team = _book_valid(track, owner, benchmark=benchmark)
        elif owner is not None:
            team = team_of(track=track, user=owner)
        submission = Submission(
            track=track,
            owner=owner,
            counted=counted,
            filename=filename[:255],
            sha256=digest,
            size=len(upload),
            is_baseline=bool(attack),
            attack=attack,
            team=team,
            benchmark=benchmark,
            notices=notices,
            **described,
        )
        submission.file.save(f"{digest}.zip", ContentFile(upload), save=False)
        submission.save()
        from benchmark import tasks

        job_enqueue(task=tasks.score_submission, args=[submission.pk], key=score_key(submission.pk))
    return submission


def score_key(submission_id: int) -> str:
    """The coalescing key of a submission's scoring job."""
    return f"score:{submission_id}"


def quota_refund(*, submission: Submission) -> bool:
    """Give a counted upload back to the quota it spent (its owner's or their team's: the day
    it was made, and the total; a benchmark upload its benchmark day).

    For failures that were not the participant's; call inside a transaction. Returns whether
    anything was given back (an upload is refunded at most once).
    """
    if not submission.counted or submission.owner_id is None:
        return False
    if submission.team_id is not None:
        entrant = Entrant.objects.select_for_update().get(team_id=submission.team_id)
    else:
        entrant = Entrant.objects.select_for_update().get(
            track_id=submission.track_id, user_id=submission.owner_id
        )
    day = submission.created_at.astimezone(dt.UTC).date()
    usage = DailyUsage.objects.filter(entrant=entrant, day=day)
    if submission.benchmark:
        usage.filter(benchmark__gt=0).update(benchmark=F("benchmark") - 1)
    else:
        usage.filter(valid__gt=0).update(valid=F("valid") - 1)
        Entrant.objects.filter(pk=entrant.pk, valid_total__gt=0).update(
            valid_total=F("valid_total") - 1
        )
    Submission.objects.filter(pk=submission.pk).update(counted=False)
    submission.counted = False
    return True


def submission_metadata_update(
    *, submission: Submission, user: AnyUser, values: Mapping[str, Any]
) -> Submission:
    """Change what the owner says about a submission's method (only the fields in ``values``).

    Raises
    ------
    NotOwner
        For anyone but the submission's owner, organizers included (403).
    MetadataInvalid
        See :func:`metadata_clean` (400).
    """
    if submission.owner_id is None or submission.owner_id != user.pk:
        raise NotOwner("only the participant who uploaded a submission can edit its metadata")
    cleaned = metadata_clean(values=values)
    for name, value in cleaned.items():
        setattr(submission, name, value)
    if cleaned:
        submission.save(update_fields=list(cleaned))
    return submission


def submission_set_flags(
    *, submission: Submission, hidden: bool | None = None, disqualified: bool | None = None
) -> Submission:
    """Hide or disqualify an entry (organizers); it leaves every leaderboard."""
    if hidden is not None:
        submission.hidden = hidden
    if disqualified is not None:
        submission.disqualified = disqualified
    submission.save(update_fields=["hidden", "disqualified"])
    return submission
