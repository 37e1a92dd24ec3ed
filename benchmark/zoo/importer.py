"""Import a zoo trained elsewhere (MICO's released archives) into the platform's layout.

A release holds ``<track>/<track>_<scenario>/<phase>/model_<i>/`` with ``model.pt`` and the seed
files only, as MICO's extracted archives do; its solutions (``--solutions``) hold
``<track>/…/solution.csv`` for the dev and final models, as MICO's ``ref/`` does.
:func:`check_release` lists every problem with its path; :func:`import_release` writes the same
participant tree and organizer tree a build writes (:mod:`benchmark.zoo.bundles`), training
nothing. Weights trained by other code load into any architecture of the registry; Opacus's
``_module.`` prefix (MICO's DP models) is dropped.

When the track's dataset is available, the train models' ``solution.csv`` is checked against the
membership their seeds rebuild (a seed file that does not belong to its model shows there).
MICO's seeds rebuild MICO's challenge points when the track reserves no population
(``population = 0``) and the dataset's rows are in MICO's order; nothing in a release can prove
the row order, so the track file must get it right (see README, "Hosting MICO's benchmark").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import torch

from benchmark.zoo import bundles
from benchmark.zoo.build import (
    ModelRecord,
    manifest,
    population_and_pool,
    scenario_dataset,
    track_populations,
)
from benchmark.zoo.datasets import TensorData
from benchmark.zoo.engine import accuracy
from benchmark.zoo.models import architecture, stack
from benchmark.zoo.splits import model_split
from benchmark.zoo.tracks import PHASES, ScenarioSpec, TrackSpec

#: Opacus's ``GradSampleModule`` prefixes every key of a DP model's ``state_dict``.
OPACUS_PREFIX = "_module."


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong with a release, named by its path."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class ReleaseError(ValueError):
    """A release that does not match its track file; ``problems`` lists every problem."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        count = len(problems)
        shown = "\n".join(f"  {problem}" for problem in problems[:20])
        more = f"\n  ... and {count - 20} more" if count > 20 else ""
        plural = "s" if count != 1 else ""
        super().__init__(f"{count} problem{plural} in the release:\n{shown}{more}")


@dataclasses.dataclass(frozen=True)
class Release:
    """Where a release's track folder and its solutions are."""

    track_dir: Path
    solutions_dir: Path

    @classmethod
    def locate(cls, track: TrackSpec, release: str | Path, solutions: str | Path) -> Release:
        """``release`` may be the folder holding ``<track>/`` or ``<track>/`` itself; likewise
        ``solutions`` (MICO's ``ref/``)."""
        slug = track.slug
        return cls(_track_folder(Path(release), slug), _track_folder(Path(solutions), slug))

    def model(self, track: TrackSpec, scenario: str, phase: str, index: int) -> Path:
        folder = track.scenario(scenario).folder
        return self.track_dir / folder / phase / f"model_{index}"

    def solution(self, track: TrackSpec, scenario: str, phase: str, index: int) -> Path:
        folder = track.scenario(scenario).folder
        return self.solutions_dir / folder / phase / f"model_{index}" / "solution.csv"


def _track_folder(path: Path, slug: str) -> Path:
    return path / slug if (path / slug).is_dir() else path


def load_state(path: Path, architecture_name: str) -> dict[str, torch.Tensor]:
    """A ``model.pt`` as the registry's architecture's ``state_dict`` (``_module.`` dropped).

    Raises
    ------
    ValueError
        Naming what does not fit: unreadable file, missing or unexpected keys, wrong shapes.
    """
    if not path.is_file():
        raise FileNotFoundError(path)
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a pickle error, a truncated file, not a state_dict
        kind = type(error).__name__
        raise ValueError(f"cannot be read as a state_dict ({kind}: {error})") from None
    if not isinstance(raw, dict):
        raise ValueError(f"holds a {type(raw).__name__}, not a state_dict")
    state = {key.removeprefix(OPACUS_PREFIX): value for key, value in raw.items()}
    module = architecture(architecture_name)()
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise ValueError(
            f"does not fit {architecture_name}: missing {missing[:3]}, unexpected {unexpected[:3]}"
        )
    for key, value in expected.items():
        if not isinstance(state[key], torch.Tensor) or state[key].shape != value.shape:
            got = getattr(state[key], "shape", type(state[key]).__name__)
            needs = tuple(value.shape)
            raise ValueError(f"{key} has shape {tuple(got)}, {architecture_name} needs {needs}")
    return {key: state[key].float() for key in expected}


def _read_seed(path: Path) -> int:
    text = path.read_text().strip()
    if not text.lstrip("-").isdigit():
        raise ValueError(f"is not an integer seed: {text[:40]!r}")
    return int(text)


def read_solution(path: Path, challenge: int) -> torch.Tensor:
    """A ``solution.csv``: 2m comma-separated 0/1 values, m of them 1 (MICO allows ``#`` lines)."""
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    values = [value.strip() for line in lines for value in line.split(",") if value.strip()]
    if len(values) != 2 * challenge or set(values) - {"0", "1"}:
        raise ValueError(f"must hold {2 * challenge} values 0 or 1, found {len(values)}")
    membership = torch.tensor([value == "1" for value in values])
    if int(membership.sum()) != challenge:
        raise ValueError(f"must mark {challenge} members, marks {int(membership.sum())}")
    return membership


def _models(track: TrackSpec) -> Iterator[tuple[str, str, int]]:
    for scenario in track.scenarios:
        for phase in PHASES:
            for index in track.models.phase_range(phase):
                yield scenario.slug, phase, index


def _seed_files(track: TrackSpec, phase: str) -> tuple[str, ...]:
    names = bundles.participant_files(track, phase)
    return tuple(name for name in names if name.startswith("seed_"))


def _solution(release: Release, track: TrackSpec, scenario: str, phase: str, index: int) -> Path:
    """Train models carry their solution; dev and final ones are in the solutions tree."""
    if phase == "train":
        return release.model(track, scenario, phase, index) / "solution.csv"
    return release.solution(track, scenario, phase, index)


def check_release(
    track: TrackSpec, release: Release, *, datasets: Mapping[str, TensorData] | None = None
) -> list[Problem]:
    """Every problem of a release against its track file, each with its path (empty: fine).

    Checks that every model of the track is there and loads into the track's architecture, has
    the seed files the track reveals, that train models carry a ``solution.csv`` marking m of
    2m points, that the solutions hold one for every dev and final model, that nothing is there
    the track does not count, and, given the ``dataset``, that the seeds rebuild each train
    model's membership (``datasets``: scenario slug to its dataset).
    """
    problems: list[Problem] = []
    if not release.track_dir.is_dir():
        return [Problem(str(release.track_dir), f"no {track.slug}/ folder here")]
    pools = {
        s.slug: population_and_pool(track, s, datasets[s.slug])[1]
        for s in track.scenarios
        if datasets is not None
    }
    for scenario, phase, index in _models(track):
        spec = track.scenario(scenario)
        pool = pools.get(scenario)
        folder = release.model(track, scenario, phase, index)
        if not folder.is_dir():
            problems.append(Problem(str(folder), "missing"))
            continue
        try:
            load_state(folder / "model.pt", spec.architecture)
        except FileNotFoundError:
            problems.append(Problem(str(folder / "model.pt"), "missing"))
        except ValueError as error:
            problems.append(Problem(str(folder / "model.pt"), str(error)))
        seeds = {}
        for name in _seed_files(track, phase):
            try:
                seeds[name] = _read_seed(folder / name)
            except FileNotFoundError:
                problems.append(Problem(str(folder / name), "missing (the track file reveals it)"))
            except ValueError as error:
                problems.append(Problem(str(folder / name), str(error)))
        solution = _solution(release, track, scenario, phase, index)
        try:
            membership = read_solution(solution, spec.challenge)
        except FileNotFoundError:
            problems.append(Problem(str(solution), "missing"))
            continue
        except ValueError as error:
            problems.append(Problem(str(solution), str(error)))
            continue
        if phase == "train" and pool is not None and len(seeds) == 3:
            split = model_split(
                pool,
                challenge=spec.challenge,
                training=spec.training_size,
                seed_challenge=seeds["seed_challenge"],
                seed_membership=seeds["seed_membership"],
                seed_training=seeds["seed_training"],
            )
            rebuilt = split.membership
            if rebuilt is None or not torch.equal(rebuilt, membership):
                problems.append(Problem(str(solution), (
                    "differs from the membership its seed_membership rebuilds: the seed files "
                    "are not this model's"
                )))  # fmt: skip
    problems += _unexpected(track, release)
    return problems


def _unexpected(track: TrackSpec, release: Release) -> list[Problem]:
    known = {s.folder for s in track.scenarios}
    problems = []
    for entry in sorted(release.track_dir.iterdir()):
        if entry.name not in known:
            problems.append(Problem(str(entry), "not a scenario of the track file"))
            continue
        for phase in sorted(entry.iterdir()):
            if phase.name not in PHASES:
                problems.append(Problem(str(phase), "not a phase (train, dev, final)"))
                continue
            allowed = {f"model_{i}" for i in track.models.phase_range(phase.name)}
            for model in sorted(phase.iterdir()):
                if model.name not in allowed:
                    reason = f"not a {phase.name} model of the track file"
                    problems.append(Problem(str(model), reason))
    return problems


def _accuracies(
    scenario: ScenarioSpec,
    dataset: TensorData,
    pool: torch.Tensor,
    seeds: dict[str, int],
    state: dict[str, torch.Tensor],
) -> tuple[float, float | None]:
    split = model_split(
        pool,
        challenge=scenario.challenge,
        training=scenario.training_size,
        seed_challenge=seeds["challenge"],
        seed_membership=seeds["membership"],
        seed_training=seeds["training"],
    )
    params = stack([state])

    def on(rows: torch.Tensor) -> float:
        architecture = scenario.architecture
        return float(accuracy(params, architecture, dataset.x, dataset.y, rows[None])[0])

    rest = split.evaluation
    return on(split.train_set), (on(rest) if rest is not None and len(rest) else None)


def import_release(
    track: TrackSpec,
    release: Release,
    out_dir: str | Path,
    *,
    check_dataset: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> list[ModelRecord]:
    """Check a release and write it in the platform's layout under ``out_dir``.

    Train models get their accuracy on their training set and on the rest (their seeds are
    known); dev and final models, whose training seeds a release keeps, record ``None``.

    Raises
    ------
    ReleaseError
        With every problem, before anything is written.
    """
    datasets = (
        {s.slug: scenario_dataset(track, s) for s in track.scenarios} if check_dataset else None
    )
    problems = check_release(track, release, datasets=datasets)
    if problems:
        raise ReleaseError(problems)
    bundles.write_track_files(
        track, out_dir, manifest=manifest(track), populations=track_populations(track)
    )
    records = []
    total = sum(1 for _ in _models(track))
    for done, (scenario, phase, index) in enumerate(_models(track), start=1):
        spec = track.scenario(scenario)
        folder = release.model(track, scenario, phase, index)
        state = load_state(folder / "model.pt", spec.architecture)
        seeds = {
            name.removeprefix("seed_"): _read_seed(folder / name)
            for name in _seed_files(track, phase)
        }
        membership = read_solution(
            _solution(release, track, scenario, phase, index), spec.challenge
        )
        train_acc = eval_acc = None
        if datasets is not None and {"challenge", "membership", "training"} <= set(seeds):
            pool = population_and_pool(track, spec, datasets[scenario])[1]
            train_acc, eval_acc = _accuracies(spec, datasets[scenario], pool, seeds, state)
        record = ModelRecord(
            track=track.slug, scenario=scenario, phase=phase, index=index, seeds=seeds,
            train_acc=train_acc, eval_acc=eval_acc, epsilon_spent=None, noise_multiplier=None,
            dtype="imported", wall_s=0.0, device="",
        )  # fmt: skip
        bundles.write_model(track, record, state, membership, out_dir)
        records.append(record)
        if progress is not None:
            progress(done, total)
    return records
