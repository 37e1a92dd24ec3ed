"""Validated tracks: a :class:`TrackSpec` with every scenario's values resolved.

:func:`resolve` turns a :class:`~benchmark.zoo.tracks.schema.TrackFile` (every key valid on
its own) into a spec, after the checks between keys that a schema cannot say.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TypeVar

from benchmark.zoo.release import Defence
from benchmark.zoo.tracks.schema import (
    CompetitionSpec,
    LimitsSpec,
    ModelCounts,
    PhasesSpec,
    ScenarioTable,
    TrackFile,
    TrainingSpec,
)

T = TypeVar("T")

#: The [training] keys a scenario may override (dtype is per track: one compute per build).
SCENARIO_TRAINING_KEYS = tuple(
    field.name for field in dataclasses.fields(TrainingSpec) if field.name != "dtype"
)


@dataclasses.dataclass(frozen=True)
class ScenarioSpec:
    """One privacy setting, with every value resolved (its own, else the track's).

    ``epsilon`` is ``math.inf`` for plain (non-DP) training. ``folder`` is the scenario's folder
    in the bundle and in submissions (``<track>_<scenario>`` unless the file names one).
    ``defence`` is what a black-box track releases of its models' outputs (none on a white-box
    track, whose participants hold the weights).
    """

    slug: str
    epsilon: float
    delta: float | None
    clip: float | None
    training: TrainingSpec
    folder: str
    dataset: str
    dataset_path: str
    dataset_size: int
    dataset_seed: int
    architecture: str
    population: int
    challenge: int
    training_size: int
    defence: Defence = dataclasses.field(default_factory=Defence)

    @property
    def private(self) -> bool:
        """True when the scenario trains with DP-SGD."""
        return math.isfinite(self.epsilon)


@dataclasses.dataclass(frozen=True)
class TrackSpec:
    """A validated track file; the track-level values are the scenarios' defaults.

    See :mod:`benchmark.zoo.tracks` for the meaning of every key. ``training`` is n (the
    file's ``training_size``), ``train_defaults`` the file's ``[training]`` table.
    """

    slug: str
    name: str
    dataset: str
    dataset_path: str
    dataset_size: int
    dataset_seed: int
    population: int
    architecture: str
    challenge: int
    training: int
    models: ModelCounts
    chunk: int
    reveal_training_seeds: bool
    primary: str
    accountant: str
    train_defaults: TrainingSpec
    limits: LimitsSpec
    phases: PhasesSpec
    competition: CompetitionSpec
    scenarios: tuple[ScenarioSpec, ...]
    eps_error: float = 0.01
    access: str = "white-box"
    model_path: str = ""
    max_length: int = 0

    @property
    def black_box(self) -> bool:
        """True when participants query the models instead of downloading them."""
        return self.access == "black-box"

    def scenario(self, slug: str) -> ScenarioSpec:
        """The scenario named ``slug``."""
        for scenario in self.scenarios:
            if scenario.slug == slug:
                return scenario
        raise ValueError(f"track {self.slug!r} has no scenario {slug!r}")


def _own(value: T | None, default: T) -> T:
    return default if value is None else value


def _scenario(table: ScenarioTable, file: TrackFile) -> ScenarioSpec:
    dataset = _own(table.dataset, file.dataset)
    same = dataset == file.dataset  # a path, size and seed belong to their dataset
    overrides = {key: getattr(table, key) for key in SCENARIO_TRAINING_KEYS}
    return ScenarioSpec(
        slug=table.slug,
        epsilon=math.inf if table.epsilon == "inf" else table.epsilon,
        delta=table.delta,
        clip=table.clip,
        training=dataclasses.replace(
            file.training, **{key: value for key, value in overrides.items() if value is not None}
        ),
        folder=_own(table.folder, f"{file.slug}_{table.slug}"),
        dataset=dataset,
        dataset_path=_own(table.dataset_path, file.dataset_path if same else ""),
        dataset_size=_own(table.dataset_size, file.dataset_size if same else 0),
        dataset_seed=_own(table.dataset_seed, file.dataset_seed if same else 0),
        architecture=_own(table.architecture, file.architecture),
        population=_own(table.population, file.population),
        challenge=_own(table.challenge, file.challenge),
        training_size=_own(table.training_size, file.training_size),
        defence=Defence(
            temperature=table.temperature,
            top_k=table.top_k,
            decimals=table.decimals,
            label_only=table.label_only,
        ),
    )


def _problems(file: TrackFile, scenarios: tuple[ScenarioSpec, ...]) -> list[str]:
    """The checks between keys, each a ``"<key path> <sentence>"``."""
    problems = []
    if file.phases.final_deadline <= file.phases.dev_opens:
        problems.append("phases.final_deadline must be after phases.dev_opens")
    freeze = file.competition.teams_freeze
    if freeze is not None and freeze > file.phases.final_deadline:
        problems.append("competition.teams_freeze must not be after phases.final_deadline")
    if file.training_size <= file.challenge:
        problems.append(
            f"training_size must exceed challenge ({file.challenge}), got {file.training_size}"
        )
    for i, (table, scenario) in enumerate(zip(file.scenario, scenarios, strict=True)):
        at = f"scenario[{i}]"
        for key in ("delta", "clip"):
            given = getattr(table, key) is not None
            if scenario.private and not given:
                problems.append(f"{at}.{key} is missing (a finite epsilon trains with DP-SGD)")
            if given and not scenario.private:
                problems.append(f'{at}.{key} is only for DP-SGD (a finite epsilon), not "inf"')
        n, m = scenario.training_size, scenario.challenge
        if n <= m and table.training_size is not None:
            problems.append(f"{at}.training_size must exceed challenge ({m}), got {n}")
        elif n <= m and table.challenge is not None:
            problems.append(f"{at}.challenge must be below training_size ({n}), got {m}")
        problems += _release_problems(at, table, file)
    repeated = _repeated(scenarios, "slug")
    # a repeated slug repeats its default folder: say it once
    return problems + (repeated or _repeated(scenarios, "folder"))


_RELEASE_KEYS = ("temperature", "top_k", "decimals", "label_only")


def _release_problems(at: str, table: ScenarioTable, file: TrackFile) -> list[str]:
    """A release defends only a black-box track, and a label releases no vector to shape."""
    given = [key for key in _RELEASE_KEYS if key in table.model_fields_set]
    if given and file.access != "black-box":
        return [
            f'{at}.{key} is only for black-box tracks (access = "black-box"): on a white-box '
            "track participants hold the weights"
            for key in given
        ]
    if table.label_only:
        return [
            f"{at}.{key} does not apply with label_only (a label is released, not a vector)"
            for key in given
            if key != "label_only"
        ]
    return []


def _repeated(scenarios: tuple[ScenarioSpec, ...], key: str) -> list[str]:
    first: dict[str, int] = {}
    problems = []
    for i, scenario in enumerate(scenarios):
        value = getattr(scenario, key)
        if value in first:
            problems.append(f"scenario[{i}].{key} {value!r} is repeated (scenario[{first[value]}])")
        first.setdefault(value, i)
    return problems


def resolve(file: TrackFile) -> TrackSpec:
    """The spec of a file whose keys each passed their rules.

    Raises
    ------
    ValueError
        Whose ``args`` are the problems between keys, each ``"<key path> <sentence>"``.
    """
    scenarios = tuple(_scenario(table, file) for table in file.scenario)
    problems = _problems(file, scenarios)
    if problems:
        raise ValueError(*problems)
    return TrackSpec(
        slug=file.slug,
        name=file.name,
        dataset=file.dataset,
        dataset_path=file.dataset_path,
        dataset_size=file.dataset_size,
        dataset_seed=file.dataset_seed,
        population=file.population,
        architecture=file.architecture,
        challenge=file.challenge,
        training=file.training_size,
        models=file.models,
        chunk=file.chunk,
        reveal_training_seeds=file.reveal_training_seeds,
        primary=file.primary,
        accountant=file.accountant,
        eps_error=file.eps_error,
        access=file.access,
        model_path=file.model_path,
        max_length=file.max_length,
        train_defaults=file.training,
        limits=file.limits,
        phases=file.phases,
        competition=file.competition,
        scenarios=scenarios,
    )
