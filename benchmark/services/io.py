"""Glue between the ORM rows and the pure libraries: where zoo files live, what a track expects.

Every call into ``scoring`` that needs a track's shape goes through :func:`expected_for_track`,
so the description of a valid submission is built from the database in one place.
"""

from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings

import scoring
from benchmark.models import Phase, Track

#: Phases a submission predicts and the scorer scores.
SUBMITTED_PHASES = (Phase.DEV.value, Phase.FINAL.value)


def zoo_root() -> Path:
    return Path(settings.ARENA_ZOO_ROOT)


def participant_dir(*, track: Track) -> Path:
    """The participant tree ``<root>/<track>/`` (weights, seeds, train solutions)."""
    return zoo_root() / track.slug


def solutions_dir(*, track: Track) -> Path:
    """The organizer-only tree ``<root>/solutions/<track>/`` holding dev/final solutions."""
    return zoo_root() / "solutions" / track.slug


def model_indices(*, track: Track) -> dict[str, range]:
    """MICO numbering: train models first, then dev, then final."""
    counts = track.spec["models"]
    train, dev, final = int(counts["train"]), int(counts["dev"]), int(counts["final"])
    return {
        "train": range(0, train),
        "dev": range(train, train + dev),
        "final": range(train + dev, train + dev + final),
    }


def scenario_folders(*, track: Track) -> dict[str, str]:
    """Each scenario's folder in the bundle and in submissions: ``<track>_<scenario>`` unless
    the track file names one (MICO's DP-distinguisher track, ``ddp/cifar10_ddp``)."""
    return {
        str(scenario["slug"]): str(scenario.get("folder") or f"{track.slug}_{scenario['slug']}")
        for scenario in track.spec.get("scenarios", [])
    }


def model_path(*, track: Track, scenario: str, phase: str, index: int) -> str:
    """A model's directory relative to the zoo root."""
    folder = scenario_folders(track=track).get(scenario, f"{track.slug}_{scenario}")
    return f"{track.slug}/{folder}/{phase}/model_{index}"


def expected_for_track(*, track: Track, scenarios: list[str]) -> "scoring.Expected":
    """What a valid submission to ``track`` holds, built from the database."""
    indices = model_indices(track=track)
    folders = scenario_folders(track=track)
    return scoring.Expected(
        track=track.slug,
        scenarios=tuple(scenarios),
        models={phase: tuple(indices[phase]) for phase in SUBMITTED_PHASES},
        n_points=2 * track.challenge,
        folders={slug: folders[slug] for slug in scenarios if slug in folders},
    )


def read_predictions(
    *, data: bytes, expected: "scoring.Expected"
) -> dict[tuple[str, str, int], np.ndarray]:
    """Predictions of a submission zip per (scenario, phase, model index).

    Raises ``scoring.SubmissionError`` listing every problem.
    """
    return read_predictions_with_notices(data=data, expected=expected)[0]


def read_predictions_with_notices(
    *, data: bytes, expected: "scoring.Expected"
) -> tuple[dict[tuple[str, str, int], np.ndarray], list[dict[str, str]]]:
    """:func:`read_predictions`, and the files of the zip it did not score as
    ``{"path", "reason"}`` dicts (train models' predictions, a README: not refused)."""
    values, notices = scoring.read_submission_with_notices(data, expected)
    return dict(values), [{"path": path, "reason": reason} for path, reason in notices]


def read_labels(
    *, track: Track, expected: "scoring.Expected"
) -> dict[tuple[str, str, int], np.ndarray]:
    """Membership labels of every dev and final challenge point (organizer-only files; pulled
    from object storage first where the zoo lives there)."""
    from benchmark.services.files import zoo_pull

    zoo_pull(track=track, parts=("solutions",))
    return dict(scoring.read_solutions(solutions_dir(track=track).parent, expected))


def problems_of(error: Exception) -> list[dict[str, str]]:
    """Every problem a ``scoring.SubmissionError`` carries, then the files it did not score
    (they refuse nothing but may explain a problem: a misnamed file beside a missing one), as
    ``{"path", "reason"}`` dicts."""
    problems: list[Any] = list(getattr(error, "problems", []) or [])
    if not problems:
        return [{"path": "", "reason": str(error)}]
    problems += list(getattr(error, "notices", []) or [])
    return [{"path": str(path), "reason": str(reason)} for path, reason in problems]


def per_model(
    values: dict[tuple[str, str, int], np.ndarray], *, scenario: str, phase: str, indices: range
) -> list[np.ndarray]:
    return [values[(scenario, phase, index)] for index in indices]
