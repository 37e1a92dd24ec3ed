"""Reads that shape selector results for the server-rendered pages (the REST API does not
need them): table columns and cells in display order, since templates cannot index dicts."""

from collections.abc import Iterable
from typing import Any

from benchmark.models import AnyUser, ScenarioScore, Submission, Track
from benchmark.selectors import final_visible
from benchmark.zoo.release import Defence

# MICO's metrics in MICO's order, with the labels of the leaderboard's column headers.
METRICS: tuple[tuple[str, str], ...] = (
    ("TPR_FPR_10", "TPR@0.1%"),
    ("TPR_FPR_100", "TPR@1%"),
    ("TPR_FPR_500", "TPR@5%"),
    ("TPR_FPR_1000", "TPR@10%"),
    ("TPR_FPR_1500", "TPR@15%"),
    ("TPR_FPR_2000", "TPR@20%"),
    ("AUC", "AUC"),
    ("MIA", "MIA"),
    ("accuracy", "Accuracy"),
)
METRIC_LABELS = dict(METRICS)


def _epsilon_label(epsilon: float | None) -> str:
    return "∞" if epsilon is None else f"{epsilon:g}"


def scenario_headers(*, track: Track) -> list[dict[str, Any]]:
    """Each scenario of ``track`` in order: slug, declared ε (``"∞"`` when not DP) and δ."""
    return [
        {
            "slug": s.slug,
            "epsilon": _epsilon_label(s.epsilon),
            "is_dp": s.epsilon is not None,
            "delta": s.delta,
            "defence": Defence(**(s.release or {})).describe(),
        }
        for s in track.scenarios.all()
    ]


def _fmt(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def leaderboard_table(
    board: dict[str, Any],
    *,
    track: Track,
    limit: int | None,
    user: AnyUser,
    full: bool | None = None,
    skip: int = 0,
) -> dict[str, Any]:
    """The leaderboard of ``leaderboard_for_phase`` as header and rows of formatted cells.

    Full boards get a column per metric per scenario; the track page's board only the primary
    metric (``full`` defaults to ``limit is None``). Participants ranked ``skip + 1`` to
    ``skip + limit`` are kept (all after ``skip`` when ``limit`` is None); baselines always.
    Numbers are formatted here, once, rather than by template filters per cell.
    Every scenario ends with its empirical ε lower bound.
    """
    full = limit is None if full is None else full
    keys = [key for key, _ in METRICS] if full else [track.primary]
    labels = [METRIC_LABELS.get(key, key) for key in keys]
    by_slug = {s["slug"]: s for s in scenario_headers(track=track)}
    scenarios = [
        {**by_slug.get(slug, {"slug": slug, "epsilon": "?", "is_dp": False}), "labels": labels}
        for slug in board["scenarios"]
    ]
    username = user.get_username() if user.is_authenticated else None
    rows = []
    participants = 0
    for row in board["rows"]:
        if not row["is_baseline"]:
            participants += 1
            if participants <= skip or (limit is not None and participants > skip + limit):
                continue
        cells = []
        for slug in board["scenarios"]:
            values = row["per_scenario"].get(slug) or {}
            cells.append(
                {
                    "values": [_fmt(values.get(key), 4) for key in keys],
                    "eps_lb": _fmt(values.get("eps_lb"), 2),
                }
            )
        ci = row.get("ci") or (None, None)
        rows.append(
            {
                **row,
                "cells": cells,
                "score_text": _fmt(row.get("score"), 4),
                "ci_text": f"[{_fmt(ci[0], 3)}, {_fmt(ci[1], 3)}]",
                "mine": username is not None and username in row["members"],
            }
        )
    return {
        "scenarios": scenarios,
        "rows": rows,
        "columns_per_scenario": len(keys) + 1,
        "columns": 3 + len(scenarios) * (len(keys) + 1),
        "primary_label": METRIC_LABELS.get(track.primary, track.primary),
        "participants": participants,
        "truncated": limit is not None and participants > skip + limit,
    }


def submission_rows(
    *, track: Track, submissions: Iterable[Submission], user: AnyUser
) -> dict[str, Any]:
    """The "my submissions" table: each submission with its primary metric per scenario and
    phase (final only when ``final_visible``), in one query for every score."""
    submissions = list(submissions)
    phases = ["dev", "final"] if final_visible(track=track, user=user) else ["dev"]
    columns = [(s["slug"], phase) for s in scenario_headers(track=track) for phase in phases]
    primary = {
        (submission_id, slug, phase): value
        for submission_id, slug, phase, value in ScenarioScore.objects.filter(
            submission__in=submissions, is_current=True, phase__in=phases
        ).values_list("submission_id", "scenario__slug", "phase", "primary")
    }
    return {
        "columns": [{"scenario": slug, "phase": phase} for slug, phase in columns],
        "rows": [
            {
                "submission": submission,
                "cells": [primary.get((submission.pk, slug, phase)) for slug, phase in columns],
            }
            for submission in submissions
        ],
    }
