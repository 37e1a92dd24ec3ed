"""Tie marks of the leaderboard: paired bootstraps of neighbouring entries, computed once.

After a submission is scored, the neighbours on each phase's leaderboard are compared with
``scoring.paired_bootstrap`` over models on every scenario, and the verdict is cached per pair,
so the leaderboard itself only reads a table. Two entries are *separated* when the paired
bootstrap separates them at 95% on at least one scenario; otherwise the lower one is marked tied
with the one above. (A bootstrap of the mean over scenarios would need the resampled
differences, which ``scoring.paired_bootstrap`` summarises away.)
"""

import itertools

import numpy as np

import scoring
from benchmark.models import PairComparison, Submission, Track
from benchmark.services import io
from benchmark.services.scores import BOOTSTRAP_SEED, SCORER_VERSION


def _predictions(
    submission: Submission, expected: "scoring.Expected"
) -> dict[tuple[str, str, int], np.ndarray]:
    with submission.file.open("rb") as handle:
        return io.read_predictions(data=handle.read(), expected=expected)


def _separated(
    track: Track,
    phase: str,
    labels: dict,
    better: dict,
    worse: dict,
    scenarios: list[str],
) -> bool:
    indices = io.model_indices(track=track)[phase]
    for slug in scenarios:
        result = scoring.paired_bootstrap(
            io.per_model(labels, scenario=slug, phase=phase, indices=indices),
            io.per_model(better, scenario=slug, phase=phase, indices=indices),
            io.per_model(worse, scenario=slug, phase=phase, indices=indices),
            metric=track.primary,
            seed=BOOTSTRAP_SEED,
        )
        if result["separated"]:
            return True
    return False


def leaderboard_compare(*, track: Track) -> int:
    """Fill the tie cache for every neighbouring pair of every board (dev, final, and the
    benchmark board once it is open); returns pairs computed."""
    from benchmark.selectors.leaderboard import ranked_rows, scored_phase

    scenarios = list(track.scenarios.order_by("position").values_list("slug", flat=True))
    expected = io.expected_for_track(track=track, scenarios=scenarios)
    labels = None
    cache: dict[int, dict] = {}
    computed = 0
    boards = [*io.SUBMITTED_PHASES, *(["benchmark"] if track.benchmark_opened_at else [])]
    for board in boards:
        phase = scored_phase(board)
        rows = ranked_rows(track=track, phase=board)
        ranked = [row["submission_id"] for row in rows if not row["is_baseline"]]
        known = set(
            PairComparison.objects.filter(
                phase=phase, scorer_version=SCORER_VERSION, better_id__in=ranked
            ).values_list("better_id", "worse_id")
        )
        for better_id, worse_id in itertools.pairwise(ranked):
            if (better_id, worse_id) in known:
                continue
            if labels is None:
                labels = io.read_labels(track=track, expected=expected)
            for submission_id in (better_id, worse_id):
                if submission_id not in cache:
                    cache[submission_id] = _predictions(
                        Submission.objects.get(pk=submission_id), expected
                    )
            separated = _separated(
                track, phase, labels, cache[better_id], cache[worse_id], scenarios
            )
            PairComparison.objects.get_or_create(
                better_id=better_id,
                worse_id=worse_id,
                phase=phase,
                scorer_version=SCORER_VERSION,
                defaults={"separated": separated},
            )
            computed += 1
    return computed
