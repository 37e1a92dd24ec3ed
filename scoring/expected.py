"""What a submission must contain: track, scenarios, phases, models and 2m points per model."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from scoring.parsing import split_values

#: The phases a submission holds predictions for.
PHASES: tuple[str, ...] = ("dev", "final")

_SLUG = re.compile(r"[a-z0-9-]+")
#: A scenario's folder: ``<track>_<scenario>``, or a name of its own (MICO's DDP track:
#: ``ddp/cifar10_ddp``).
_FOLDER = re.compile(r"[a-z0-9_-]+")
_MODEL = re.compile(r"model_(0|[1-9][0-9]*)")


@dataclass(frozen=True)
class Expected:
    """The shape of a submission for one track.

    Parameters
    ----------
    track : str
        Track slug (lowercase letters, digits and ``-``), e.g. ``"purchase100"``.
    scenarios : tuple of str
        Scenario slugs, e.g. ``("hi", "inf", "lo")``.
    models : mapping of str to tuple of int
        For each phase (a subset of :data:`PHASES`), the model indices of every scenario.
    n_points : int
        Challenge points per model (2m), the number of values in every ``prediction.csv``.
    folders : mapping of str to str, optional
        Each scenario's folder; ``<track>_<scenario>`` unless named (MICO's DDP track names
        its own: ``{"cifar10": "cifar10_ddp"}``).

    Examples
    --------
    >>> expected = Expected("purchase100", ("inf",), {"dev": (100, 101)}, 200)
    >>> expected.path("inf", "dev", 101)
    'purchase100/purchase100_inf/dev/model_101/prediction.csv'
    >>> expected.n_files
    2
    """

    track: str
    scenarios: tuple[str, ...]
    models: Mapping[str, tuple[int, ...]] = field(hash=False)
    n_points: int
    folders: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not _SLUG.fullmatch(self.track):
            raise ValueError(f"slug {self.track!r} must use only a-z, 0-9 and '-'")
        for slug in self.scenarios:
            if not _FOLDER.fullmatch(slug):
                raise ValueError(f"scenario {slug!r} must use only a-z, 0-9, '-' and '_'")
        folders = {s: self.folders.get(s, f"{self.track}_{s}") for s in self.scenarios}
        unknown = set(self.folders) - set(self.scenarios)
        if unknown:
            raise ValueError(f"folders name scenarios that are not expected: {sorted(unknown)}")
        for scenario, folder in folders.items():
            if not _FOLDER.fullmatch(folder):
                raise ValueError(f"folder {folder!r} of {scenario} must use only a-z, 0-9, - and _")
        if len(set(folders.values())) != len(folders):
            raise ValueError(f"two scenarios share a folder: {folders}")
        object.__setattr__(self, "folders", folders)
        if not self.scenarios or len(set(self.scenarios)) != len(self.scenarios):
            raise ValueError(f"scenarios must be distinct and not empty, got {self.scenarios}")
        unknown = set(self.models) - set(PHASES)
        if unknown or not self.models:
            raise ValueError(f"phases must be among {PHASES}, got {sorted(self.models)}")
        for phase, indices in self.models.items():
            if not indices or len(set(indices)) != len(indices) or min(indices) < 0:
                raise ValueError(f"phase {phase}: model indices must be distinct, got {indices}")
        if self.n_points < 2:
            raise ValueError(f"n_points must be at least 2, got {self.n_points}")
        ordered = {phase: tuple(sorted(self.models[phase])) for phase in PHASES if phase in self}
        object.__setattr__(self, "models", ordered)
        object.__setattr__(self, "scenarios", tuple(self.scenarios))

    def __contains__(self, phase: object) -> bool:
        return phase in self.models

    @property
    def phases(self) -> tuple[str, ...]:
        """The phases expected, in the order of :data:`PHASES`."""
        return tuple(self.models)

    @property
    def n_files(self) -> int:
        """How many ``prediction.csv`` files a complete submission holds."""
        return len(self.scenarios) * sum(len(indices) for indices in self.models.values())

    def model_keys(self) -> Iterator[tuple[str, str, int]]:
        """Every (scenario, phase, model) expected, scenario-major."""
        for scenario in self.scenarios:
            for phase, indices in self.models.items():
                for model in indices:
                    yield scenario, phase, model

    def folder(self, scenario: str, phase: str, model: int) -> str:
        """``<track>/<scenario folder>/<phase>/model_<i>``."""
        return f"{self.track}/{self.folders[scenario]}/{phase}/model_{model}"

    def scenario_of(self, folder: str) -> str | None:
        """The scenario whose folder ``folder`` is (None: no scenario of the track)."""
        for scenario, name in self.folders.items():
            if name == folder:
                return scenario
        return None

    def path(self, scenario: str, phase: str, model: int) -> str:
        """The canonical path of a model's ``prediction.csv`` inside a submission zip."""
        return f"{self.folder(scenario, phase, model)}/prediction.csv"

    @classmethod
    def from_solutions_tree(cls, root: str | Path, track: str | None = None) -> Expected:
        """Describe the submission a MICO-style solutions tree scores.

        ``root`` holds ``<track>/<track>_<scenario>/<phase>/model_<i>/solution.csv`` (like
        MICO's ``ref/``), for the phases present; 2m is the length of the first solution.
        """
        track_dir = find_track(Path(root), track)
        models, folders = _scan(track_dir, "solution.csv")
        first = next(_model_dirs(track_dir, models, folders))
        n_points = _count_values((first / "solution.csv").read_bytes())
        phases = _uniform(models, track_dir)
        return cls(track_dir.name, tuple(models), phases, n_points, folders)

    @classmethod
    def from_bundle(
        cls, root: str | Path, track: str | None = None, *, n_points: int | None = None
    ) -> Expected:
        """Describe the submission for a participant bundle (no dev/final solutions needed).

        ``root`` holds ``<track>/<track>_<scenario>/<phase>/model_<i>/seed_challenge``; 2m is
        ``n_points`` if given, else the length of a train model's ``solution.csv``.
        """
        track_dir = find_track(Path(root), track)
        models, folders = _scan(track_dir, "seed_challenge")
        if n_points is None:
            solutions = sorted(track_dir.glob("*/train/model_*/solution.csv"))
            if not solutions:
                raise ValueError(f"{track_dir}: no train solution.csv to infer 2m; pass n_points")
            n_points = _count_values(solutions[0].read_bytes())
        phases = _uniform(models, track_dir)
        return cls(track_dir.name, tuple(models), phases, n_points, folders)


def _count_values(data: bytes) -> int:
    return len(split_values(data))


def find_track(root: Path, track: str | None) -> Path:
    """The track folder under ``root`` (or ``root`` itself if it is one)."""
    if not root.is_dir():
        raise ValueError(f"{root} is not a directory")

    def is_track(folder: Path) -> bool:
        """Holds scenario folders: ``<track>_<scenario>``, or any folder with phase folders."""
        return any(
            child.is_dir()
            and (
                child.name.startswith(folder.name + "_")
                or any((child / phase).is_dir() for phase in (*PHASES, "train"))
            )
            for child in folder.iterdir()
        )

    tracks = {child.name: child for child in root.iterdir() if child.is_dir() and is_track(child)}
    if not tracks and is_track(root):
        tracks = {root.name: root}
    if track is not None:
        if track not in tracks:
            raise ValueError(f"{root} holds no track {track!r} (found: {sorted(tracks)})")
        return tracks[track]
    if len(tracks) != 1:
        raise ValueError(f"{root} holds tracks {sorted(tracks)}; choose one (--track)")
    return next(iter(tracks.values()))


def _scan(
    track_dir: Path, marker: str
) -> tuple[dict[str, dict[str, tuple[int, ...]]], dict[str, str]]:
    """scenario -> phase -> model indices of the model folders holding ``marker``, and each
    scenario's folder: ``<track>_<scenario>`` names the scenario ``<scenario>``; a folder of
    another name (MICO's ``ddp/cifar10_ddp``) is a scenario of its own name."""
    found: dict[str, dict[str, tuple[int, ...]]] = {}
    folders: dict[str, str] = {}
    prefix = track_dir.name + "_"
    for scenario_dir in sorted(track_dir.iterdir()):
        if not scenario_dir.is_dir() or not _FOLDER.fullmatch(scenario_dir.name):
            continue
        phases = {}
        for phase in PHASES:
            indices = [
                int(match.group(1))
                for model_dir in (scenario_dir / phase).glob("model_*")
                if (match := _MODEL.fullmatch(model_dir.name)) and (model_dir / marker).is_file()
            ]
            if indices:
                phases[phase] = tuple(sorted(indices))
        if phases:
            name = scenario_dir.name
            scenario = name[len(prefix) :] if name.startswith(prefix) else name
            found[scenario] = phases
            folders[scenario] = name
    if not found:
        raise ValueError(f"{track_dir}: no <scenario>/<phase>/model_<i>/{marker} for dev or final")
    return found, folders


def _uniform(
    found: dict[str, dict[str, tuple[int, ...]]], track_dir: Path
) -> dict[str, tuple[int, ...]]:
    first = next(iter(found.values()))
    for scenario, phases in found.items():
        if phases != first:
            raise ValueError(f"{track_dir}: scenario {scenario} has other models than the rest")
    return first


def _model_dirs(
    track_dir: Path, found: dict[str, dict[str, tuple[int, ...]]], folders: dict[str, str]
) -> Iterator[Path]:
    for scenario, phases in found.items():
        for phase, indices in phases.items():
            for model in indices:
                yield track_dir / folders[scenario] / phase / f"model_{model}"
