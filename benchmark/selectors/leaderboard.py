"""The leaderboard: one row per participant, baselines beside them, in a fixed number of queries.

The number of queries does not depend on how many submissions there are: the chosen submission
of each participant is picked by one aggregate query, their scores come in one query, and the
tie marks come from the cache of paired bootstraps that scoring fills
(:mod:`benchmark.services.ties`).
"""

import itertools
from typing import Any

from django.db.models import Avg, Max, QuerySet

from benchmark.models import (
    AnyUser,
    LeaderboardEntry,
    PairComparison,
    ScenarioScore,
    Submission,
    Track,
)
from benchmark.services.scores import SCORER_VERSION
from benchmark.services.submissions import METADATA_FIELDS
from scoring.figures import roc_figure

PHASES = ("dev", "final")


def check_phase(phase: str) -> str:
    if phase not in PHASES:
        from benchmark.errors import ApplicationError

        raise ApplicationError(f"phase must be dev or final, got {phase!r}")
    return phase


def final_visible(*, track: Track, user: AnyUser) -> bool:
    """Final figures are shown to staff always, to everybody else only after the reveal."""
    return track.revealed_at is not None or bool(getattr(user, "is_staff", False))


def _eligible(track: Track) -> QuerySet[Submission]:
    return Submission.objects.filter(
        track=track,
        status=Submission.Status.SCORED,
        hidden=False,
        disqualified=False,
    )


def chosen_submissions(*, track: Track) -> tuple[list[int], list[int]]:
    """The submission that represents each participant, and the latest of each baseline attack.

    Participants: staff never; only submissions made before the final deadline; the latest one
    (MICO's rule) or, with ``ranking = "best"``, the one with the best mean dev primary metric
    (the same one then counts for final).
    """
    participants = _eligible(track).filter(
        is_baseline=False, owner__is_staff=False, created_at__lt=track.final_deadline
    )
    if track.ranking == Track.Ranking.BEST:
        means = (
            ScenarioScore.objects.filter(submission__in=participants, phase="dev", is_current=True)
            .values("submission_id", "submission__owner_id")
            .annotate(mean=Avg("primary"))
        )
        best: dict[int, tuple[float, int]] = {}
        for row in means:
            key = (row["mean"], row["submission_id"])
            owner = row["submission__owner_id"]
            if owner not in best or key > best[owner]:
                best[owner] = key
        chosen = [submission_id for _, submission_id in best.values()]
    else:
        chosen = list(
            participants.values("owner_id")
            .annotate(latest=Max("id"))
            .values_list("latest", flat=True)
        )
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
    visible = phase == "dev" or final_visible(track=track, user=user)
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
        submission_id__in=list(wanted), phase=phase, is_current=True
    ).values_list("submission_id", "per_scenario"):
        wanted[submission_id]["per_scenario"] = per_scenario
    board["rows"] = rows
    return board


def ranked_rows(*, track: Track, phase: str, details: bool = True) -> list[dict[str, Any]]:
    """The rows of :func:`leaderboard_for_phase`, whoever asks (callers check visibility).

    Reads one :class:`LeaderboardEntry` per chosen submission (written at scoring time);
    without ``details`` the per-scenario figures are not loaded (``per_scenario`` is empty).
    """
    chosen, baselines = chosen_submissions(track=track)
    entries = (
        LeaderboardEntry.objects.filter(
            submission_id__in=chosen + baselines, phase=phase, is_current=True
        )
        .order_by("-score", "submission_id")
        .values_list(
            "submission_id",
            "score",
            "ci_low",
            "ci_high",
            "per_scenario" if details else "phase",
            "submission__owner__username",
            "submission__is_baseline",
            "submission__attack",
            *(f"submission__{name}" for name in METADATA_FIELDS),
        )
    )
    rows = [
        {
            "rank": None,
            "username": username or "",
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
            is_baseline,
            attack,
            *metadata,
        ) in entries
    ]
    ranked = [row for row in rows if not row["is_baseline"]]
    separated = {
        (better, worse): flag
        for better, worse, flag in PairComparison.objects.filter(
            phase=phase,
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
            submission_id__in=list(names), phase=phase, is_current=True
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
