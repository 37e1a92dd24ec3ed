"""The leaderboard: one row per participant, baselines beside them, in a fixed number of queries.

The number of queries does not depend on how many submissions there are: the chosen submission
of each participant is picked by one aggregate query, their scores come in one query, and the
tie marks come from the cache of paired bootstraps that scoring fills
(:mod:`benchmark.services.ties`).
"""

import itertools
from typing import Any

from django.db.models import Avg, BigIntegerField, Case, F, Max, QuerySet, When

from benchmark.models import (
    AnyUser,
    LeaderboardEntry,
    PairComparison,
    ScenarioScore,
    Submission,
    TeamMember,
    Track,
    TrackOrganizer,
)
from benchmark.permissions import track_organizes
from benchmark.services.scores import SCORER_VERSION
from benchmark.services.submissions import METADATA_FIELDS
from scoring.figures import roc_figure

#: The boards: dev and final of the competition, and the benchmark phase after the reveal
#: (scored on the final models).
PHASES = ("dev", "final", "benchmark")


def check_phase(phase: str) -> str:
    if phase not in PHASES:
        from benchmark.errors import ApplicationError

        raise ApplicationError(f"phase must be dev, final or benchmark, got {phase!r}")
    return phase


def scored_phase(board: str) -> str:
    """The models a board's figures come from: the benchmark board's are the final ones."""
    return "final" if board == "benchmark" else board


def final_visible(*, track: Track, user: AnyUser) -> bool:
    """Final figures are shown to staff and the track's organizers always, to everybody else
    only after the reveal."""
    return track.revealed_at is not None or track_organizes(track=track, user=user)


def _eligible(track: Track) -> QuerySet[Submission]:
    return Submission.objects.filter(
        track=track,
        status=Submission.Status.SCORED,
        hidden=False,
        disqualified=False,
    )


def _who(prefix: str = "") -> Case:
    """Who a leaderboard row stands for: a team (its id, negated) or a participant alone;
    ``prefix`` reaches the submission from another row (``"submission__"``)."""
    return Case(
        When(**{f"{prefix}team_id__isnull": False}, then=-F(f"{prefix}team_id")),
        default=F(f"{prefix}owner_id"),
        output_field=BigIntegerField(),
    )


def _best_per_who(submissions: QuerySet[Submission], phase: str) -> dict[int, int]:
    """Per team or participant, the submission with the best mean primary metric on ``phase``."""
    means = (
        ScenarioScore.objects.filter(submission__in=submissions, phase=phase, is_current=True)
        .annotate(who=_who("submission__"))
        .values("submission_id", "who")
        .annotate(mean=Avg("primary"))
    )
    best: dict[int, tuple[float, int]] = {}
    for row in means:
        key = (row["mean"], row["submission_id"])
        if row["who"] not in best or key > best[row["who"]]:
            best[row["who"]] = key
    return {who: submission_id for who, (_, submission_id) in best.items()}


def _latest_per_who(submissions: QuerySet[Submission]) -> dict[int, int]:
    return dict(
        submissions.annotate(who=_who())
        .values("who")
        .annotate(latest=Max("id"))
        .values_list("who", "latest")
    )


def chosen_submissions(*, track: Track, phase: str = "dev") -> tuple[list[int], list[int]]:
    """The submission that represents each participant (or team) on a board, and the latest of
    each baseline attack.

    Participants: never staff or the track's organizers. On dev and final, only submissions
    made before the final deadline, chosen by the track's ``final`` rule: the latest (MICO's
    rule); with ``"best-dev"`` the best mean dev primary metric (the same one counts for
    final); with ``"selected"`` the latest on dev and, on final, the best on final of those the
    participant marked (the latest when they marked none): the dev board never depends on
    final scores. On the benchmark board, the latest of the benchmark-phase uploads.
    """
    organizers = TrackOrganizer.objects.filter(track=track).values("user_id")
    participants = (
        _eligible(track)
        .filter(is_baseline=False, owner__is_staff=False)
        .exclude(owner_id__in=organizers)
    )
    if phase == "benchmark":
        chosen = list(_latest_per_who(participants.filter(benchmark=True)).values())
    else:
        participants = participants.filter(benchmark=False, created_at__lt=track.final_deadline)
        if track.final == Track.Final.BEST_DEV:
            chosen = list(_best_per_who(participants, "dev").values())
        elif track.final == Track.Final.SELECTED and phase == "final":
            picked = _latest_per_who(participants)
            picked.update(_best_per_who(participants.filter(selected=True), "final"))
            chosen = list(picked.values())
        else:
            chosen = list(_latest_per_who(participants).values())
    baselines = list(
        _eligible(track)
        .filter(is_baseline=True)
        .values("attack")
        .annotate(latest=Max("id"))
        .values_list("latest", flat=True)
    )
    return chosen, baselines


def leaderboard_for_phase(
    *, track: Track, phase: str, user: AnyUser, ranks: tuple[int, int] | None = None
) -> dict[str, Any]:
    """The leaderboard of ``track`` on ``phase`` (``"dev"`` or ``"final"``).

    With ``ranks=(first, last)`` only the baselines and the participants ranked ``first`` to
    ``last`` carry their per-scenario figures (one page of a long board); the others have an
    empty ``per_scenario``. The ranking itself always covers every participant.

    Returns
    -------
    dict
        ``phase``, ``revealed`` (final figures may be shown to this user), ``primary``,
        ``scenarios`` (slugs in track order) and ``rows``: participants ranked by the primary
        metric averaged over scenarios (``rank`` 1, 2, ...; ``tied_with_above`` when a paired
        bootstrap over models does not separate the entry from the one above at 95%), with the
        baselines interleaved by score as unranked rows (``rank`` None, ``is_baseline``). Each
        row carries its submission's metadata (``method``, ``description``, ``paper_url``,
        ``code_url``, ``access``): an entry's metadata is shown exactly where the entry is.
        Before the reveal, the final phase has no rows for anyone but staff.
    """
    check_phase(phase)
    scenarios = list(track.scenarios.order_by("position").values_list("slug", flat=True))
    visible = (
        phase == "dev"
        or (phase == "final" and final_visible(track=track, user=user))
        or (phase == "benchmark" and track.benchmark_opened_at is not None)
    )
    board: dict[str, Any] = {
        "phase": phase,
        "revealed": track.revealed_at is not None,
        "visible": visible,
        "primary": track.primary,
        "scenarios": scenarios,
        "rows": [],
    }
    if not visible:
        return board
    if ranks is None:
        board["rows"] = ranked_rows(track=track, phase=phase)
        return board
    rows = ranked_rows(track=track, phase=phase, details=False)
    first, last = ranks
    wanted = {
        row["submission_id"]: row
        for row in rows
        if row["is_baseline"] or first <= row["rank"] <= last
    }
    for submission_id, per_scenario in LeaderboardEntry.objects.filter(
        submission_id__in=list(wanted), phase=scored_phase(phase), is_current=True
    ).values_list("submission_id", "per_scenario"):
        wanted[submission_id]["per_scenario"] = per_scenario
    board["rows"] = rows
    return board


def ranked_rows(*, track: Track, phase: str, details: bool = True) -> list[dict[str, Any]]:
    """The rows of :func:`leaderboard_for_phase`, whoever asks (callers check visibility).

    Reads one :class:`LeaderboardEntry` per chosen submission (written at scoring time);
    without ``details`` the per-scenario figures are not loaded (``per_scenario`` is empty).
    """
    chosen, baselines = chosen_submissions(track=track, phase=phase)
    entries = (
        LeaderboardEntry.objects.filter(
            submission_id__in=chosen + baselines, phase=scored_phase(phase), is_current=True
        )
        .order_by("-score", "submission_id")
        .values_list(
            "submission_id",
            "score",
            "ci_low",
            "ci_high",
            "per_scenario" if details else "phase",
            "submission__owner__username",
            "submission__team_id",
            "submission__team__name",
            "submission__is_baseline",
            "submission__attack",
            *(f"submission__{name}" for name in METADATA_FIELDS),
        )
    )
    teams = {team_id for (_, _, _, _, _, _, team_id, *_) in entries if team_id is not None}
    members: dict[int, list[str]] = {}
    if teams:
        for team_id, member in (
            TeamMember.objects.filter(team_id__in=teams)
            .order_by("joined_at", "id")
            .values_list("team_id", "user__username")
        ):
            members.setdefault(team_id, []).append(member)
    rows = [
        {
            "rank": None,
            "username": team_name or username or "",
            "team": team_name or "",
            "members": members.get(team_id, []) if team_id else [username] if username else [],
            "is_baseline": is_baseline,
            "attack": attack,
            "submission_id": submission_id,
            "score": score,
            "ci": [low, high],
            "tied_with_above": False,
            **dict(zip(METADATA_FIELDS, metadata, strict=True)),
            "per_scenario": per_scenario if details else {},
        }
        for (
            submission_id,
            score,
            low,
            high,
            per_scenario,
            username,
            team_id,
            team_name,
            is_baseline,
            attack,
            *metadata,
        ) in entries
    ]
    ranked = [row for row in rows if not row["is_baseline"]]
    separated = {
        (better, worse): flag
        for better, worse, flag in PairComparison.objects.filter(
            phase=scored_phase(phase),
            scorer_version=SCORER_VERSION,
            better__track=track,
        ).values_list("better_id", "worse_id", "separated")
    }
    for position, row in enumerate(ranked, start=1):
        row["rank"] = position
    for above, below in itertools.pairwise(ranked):
        flag = separated.get((above["submission_id"], below["submission_id"]))
        below["tied_with_above"] = flag is False
    return rows


def leaderboard_figures(
    *,
    track: Track,
    phase: str,
    user: AnyUser,
    top: int = 5,
    rows: list[dict[str, Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Per scenario, the log-log ROC of the ``top`` ranked entries and every baseline.

    ``rows``, the rows of a :func:`leaderboard_for_phase` already read, saves reading them again.
    """
    check_phase(phase)
    scenarios = list(track.scenarios.order_by("position").values_list("slug", flat=True))
    if phase == "final" and not final_visible(track=track, user=user):
        return {}
    if phase == "benchmark" and track.benchmark_opened_at is None:
        return {}
    if rows is None:
        rows = ranked_rows(track=track, phase=phase, details=False)
    ranked = [row for row in rows if not row["is_baseline"]][:top]
    baselines = sorted(
        (row for row in rows if row["is_baseline"]),
        key=lambda row: (row["attack"], row["submission_id"]),
    )
    # Rank order, then baselines by attack: every scenario's figure gives an entry the same colour.
    names = {row["submission_id"]: f"#{row['rank']} {row['username']}" for row in ranked}
    names.update({row["submission_id"]: f"baseline: {row['attack']}" for row in baselines})
    references = {names[row["submission_id"]] for row in baselines}
    curves: dict[str, dict[str, Any]] = {slug: {} for slug in scenarios}
    rocs = {
        (submission_id, slug): roc
        for submission_id, slug, roc in ScenarioScore.objects.filter(
            submission_id__in=list(names), phase=scored_phase(phase), is_current=True
        ).values_list("submission_id", "scenario__slug", "roc")
    }
    for slug in scenarios:
        for submission_id, name in names.items():
            if (submission_id, slug) in rocs:
                curves[slug][name] = rocs[submission_id, slug]
    return {
        slug: roc_figure(
            lines,
            log=True,
            title=f"{slug}: ROC (log-log)",
            references=references & set(lines),
        )
        for slug, lines in curves.items()
    }
