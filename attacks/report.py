"""Every attack on a bundle: a participant's first experiment, and a baseline submission.

``report`` scores every attack on a bundle's train models (the first half as shadows, the second
half as targets with known membership); ``predict_bundle`` produces a submission's predictions for
the dev and final models.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from attacks import label_only
from attacks.bundle import Targets, Track, observe, open_track, scenario_dirs
from attacks.evaluation import evaluate
from attacks.observations import ModelId, Observations
from attacks.registry import REGISTRY, get, run
from benchmark.zoo.device import resolve_device
from benchmark.zoo.splits import is_track_dir

__all__ = [
    "Row",
    "bundle_folders",
    "find_tracks",
    "format_table",
    "predict_bundle",
    "report",
    "with_solutions",
]


@dataclass(frozen=True)
class Row:
    """One attack on one scenario: MICO's metrics and the time the attack took."""

    track: str
    scenario: str
    attack: str
    metrics: dict[str, float]
    seconds: float


def find_tracks(bundle_dir: str | Path) -> list[Path]:
    """Track directories at or one level below ``bundle_dir``: folders whose manifest lies
    beside them (``<track>.dataset.json``) or, in older bundles, inside them.

    Raises
    ------
    ValueError
        If there is none.
    """
    root = Path(bundle_dir)
    if is_track_dir(root):
        return [root]
    found = sorted(p for p in root.iterdir() if is_track_dir(p)) if root.is_dir() else []
    if not found:
        raise ValueError(
            f"{root} holds no track bundle (no <track>.dataset.json here or one level down)"
        )
    return found


def _observations(
    track: Track,
    targets: Targets,
    cache_dir: str | Path | None,
    queries: int,
    device: str,
    names: Sequence[str],
) -> Iterable[tuple[str, Observations]]:
    where = resolve_device(device)
    robust = any(get(name).needs_robustness for name in names)
    for scenario, directory in scenario_dirs(track).items():
        yield (
            scenario,
            observe(
                directory,
                track=track,
                targets=targets,
                cache_dir=cache_dir,
                queries=queries,
                device=where,
                gradients=any(get(name).white_box for name in names),
                robustness=label_only.COPIES if robust else 0,
            ),
        )


def with_solutions(obs: Observations, solutions: Path, phase: str = "dev") -> Observations:
    """Keep the targets of ``phase`` and attach their membership from the organizer's tree.

    Parameters
    ----------
    obs : Observations
        Of dev and final targets.
    solutions : Path
        ``solutions/<track>/<track>_<scenario>`` of a zoo build (``<phase>/model_<i>/
        solution.csv``).

    Raises
    ------
    ValueError
        If a target of ``phase`` has no solution file.
    """
    rows = [row for row, (p, _) in enumerate(obs.target_ids) if p == phase]
    members = []
    for row in rows:
        path = solutions / phase / f"model_{obs.target_ids[row][1]}" / "solution.csv"
        if not path.is_file():
            raise ValueError(f"no solution for {obs.target_ids[row]}: {path} is missing")
        members.append([value.strip() == "1" for value in path.read_text().split(",")])
    grads, robust = obs.target_grad_norms, obs.target_robustness
    return replace(
        obs,
        target_points=obs.target_points[rows],
        target_logits=obs.target_logits[rows],
        target_population_logits=obs.target_population_logits[rows],
        target_grad_norms=None if grads is None else grads[rows],
        target_robustness=None if robust is None else robust[rows],
        target_ids=tuple(obs.target_ids[row] for row in rows),
        target_in=np.array(members, dtype=bool),
    )


def report(
    bundle_dir: str | Path,
    *,
    names: Iterable[str] | None = None,
    cache_dir: str | Path | None = None,
    solutions: str | Path | None = None,
    queries: int = 1,
    device: str = "auto",
    progress: Callable[[Row], None] | None = None,
) -> list[Row]:
    """Score attacks on the train models of every scenario of every track of a bundle.

    With ``solutions`` (an organizer's ``solutions`` directory of a zoo build), score them on
    the dev models instead, every train model a shadow.

    Parameters
    ----------
    bundle_dir : path
        A track directory, or a directory holding track directories.
    names : iterable of str, keyword-only
        Attacks to run (default: the whole registry).
    cache_dir : path, keyword-only
        Observation cache (see :func:`attacks.observe`).
    solutions : path, keyword-only
        The organizer's ``solutions`` directory (``<track>/<track>_<scenario>/dev/...``).
    queries : int, keyword-only
        Queries per point (see :func:`attacks.observe`).
    device : {"auto", "cpu", "cuda"}, keyword-only
        Where the models run (auto: CUDA when present).
    progress : callable, keyword-only
        Called with each row as soon as it is computed.

    Returns
    -------
    list of Row
    """
    chosen = list(names) if names is not None else list(REGISTRY)
    for name in chosen:
        get(name)
    rows = []
    for track_dir in find_tracks(bundle_dir):
        track = open_track(track_dir)
        folders = {scenario: path.name for scenario, path in scenario_dirs(track).items()}
        targets: Targets = "train" if solutions is None else "dev+final"
        # a black-box track's attacks see released outputs only: none reads the weights
        runnable = [name for name in chosen if not (track.black_box and get(name).white_box)]
        for scenario, obs in _observations(track, targets, cache_dir, queries, device, runnable):
            if solutions is not None:
                scenario_solutions = Path(solutions) / track_dir.name
                obs = with_solutions(obs, scenario_solutions / folders[scenario])
            assert obs.target_in is not None
            for name in runnable:
                start = time.perf_counter()
                scores = get(name).function(obs)
                row = Row(
                    track.slug,
                    scenario,
                    name,
                    evaluate(obs.target_in, scores),
                    time.perf_counter() - start,
                )
                rows.append(row)
                if progress is not None:
                    progress(row)
    return rows


def bundle_folders(track_dir: str | Path) -> dict[str, str]:
    """``{scenario: folder}`` of a track bundle (``<track>_<scenario>`` unless a scenario
    names its own), as :func:`attacks.write_submission_zip` takes them."""
    return {scenario: path.name for scenario, path in scenario_dirs(open_track(track_dir)).items()}


def predict_bundle(
    track_dir: str | Path,
    name: str,
    *,
    cache_dir: str | Path | None = None,
    queries: int = 1,
    device: str = "auto",
    url: str | None = None,
    token: str | None = None,
) -> dict[str, dict[ModelId, np.ndarray]]:
    """An attack's predictions for every dev and final model of every scenario of a track.

    The result goes straight into :func:`attacks.write_submission_zip`, with
    ``folders=`` :func:`bundle_folders` of the track. With ``url`` (a black-box track, whose
    bundle holds no weights) the models are queried on that platform with ``token``
    (:func:`attacks.remote.observe_remote`), spending the day's query budget once per cache.
    """
    chosen = get(name)
    track = open_track(track_dir)
    if url is not None:
        from attacks.remote import observe_remote

        if chosen.white_box:
            raise ValueError(f"{name} reads the weights; a black-box track releases outputs only")
        robustness = label_only.COPIES if chosen.needs_robustness else 0
        return {
            scenario: run(
                name,
                observe_remote(
                    directory,
                    url=url,
                    token=token or "",
                    robustness=robustness,
                    cache_dir=cache_dir,
                    track=track,
                ),
            )
            for scenario, directory in scenario_dirs(track).items()
        }
    return {
        scenario: run(name, obs)
        for scenario, obs in _observations(track, "dev+final", cache_dir, queries, device, [name])
    }


HEADER = ("track", "scenario", "attack", "TPR@0.1%FPR", "TPR@1%FPR", "TPR@10%FPR", "AUC", "s")


def format_row(row: Row) -> tuple[str, ...]:
    """A row of :data:`HEADER` as strings."""
    m = row.metrics
    numbers = (m["TPR_FPR_10"], m["TPR_FPR_100"], m["TPR_FPR_1000"], m["AUC"])
    return (
        row.track,
        row.scenario,
        row.attack,
        *(f"{v:.3f}" for v in numbers),
        f"{row.seconds:.1f}",
    )


def format_table(rows: Iterable[Row]) -> str:
    """A plain-text table of rows under :data:`HEADER`, columns aligned."""
    cells = [HEADER, *(format_row(row) for row in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADER))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in cells
    )
