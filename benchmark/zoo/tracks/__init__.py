"""Track files: the declarative TOML format organizers use to define a track.

A track is one dataset and one architecture, with scenarios that differ only in the
privacy of training. :func:`load_track` reads a file from ``tracks/``; :func:`parse_track`
validates text or an already-parsed mapping (an upload). Every error is a ``ValueError``
naming the offending key, e.g. ``tracks/x.toml: scenario[1].epsilon must be a positive
number or "inf", got -3``.

Keys (all required unless a default is given). The issue's draft named n ``training``, but a
top-level ``training = 2500`` and a ``[training]`` table cannot coexist in TOML, so n is
``training_size``; the dataclass field stays ``TrackSpec.training``.

- ``slug`` (``[a-z0-9-]+``), ``name``, ``dataset`` (registry name), ``dataset_path``
  (default ``""``), ``dataset_size`` (default 0: the dataset's natural size),
  ``dataset_seed`` (default 0, generated datasets), ``population``, ``architecture``,
  ``challenge`` (m), ``training_size`` (n), ``models = {train, dev, final}``, ``chunk``,
  ``reveal_training_seeds`` (default false), ``primary`` (default ``"TPR_FPR_1000"``),
  ``accountant`` (``"prv"`` or ``"rdp"``, default ``"prv"``), ``eps_error`` (default 0.01:
  the PRV accountant's ε error; MICO calibrated with 0.1).
- ``[training]``: ``optimizer`` (``adam``/``sgd``), ``lr``, ``epochs``, ``batch``,
  ``lr_step``, ``lr_gamma``, ``dtype`` (``auto``, the default: bfloat16 where the hardware runs
  it natively, see :mod:`benchmark.zoo.device`; or ``float32``/``bfloat16``), ``momentum``
  (default 0, SGD only), ``shuffle`` (default true: a new order every epoch; false visits the
  training set in its order, members first, every epoch, as MICO's ε = ∞ loaders did; DP-SGD
  always samples Poisson batches).
- ``[limits]``: ``per_day``, ``total``, ``invalid_per_day``, ``max_bytes``.
- ``[phases]``: ``dev_opens``, ``final_deadline`` (timezone-aware datetimes).
- ``[[scenario]]``: ``slug``, ``epsilon`` (positive number or ``"inf"``), and for finite
  ε ``delta`` and ``clip``; any ``[training]`` key except ``dtype`` may be overridden
  per scenario (MICO's CIFAR-10 uses batch 32 without DP and 512 with DP).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SLUG_RE = re.compile(r"[a-z0-9-]+")
PRIMARY_METRICS = (
    "TPR_FPR_10",
    "TPR_FPR_100",
    "TPR_FPR_500",
    "TPR_FPR_1000",
    "TPR_FPR_1500",
    "TPR_FPR_2000",
    "AUC",
    "MIA",
    "accuracy",
)
PHASES = ("train", "dev", "final")
OPTIMIZERS = ("adam", "sgd")
DTYPES = ("auto", "float32", "bfloat16")
ACCOUNTANTS = ("prv", "rdp")


@dataclasses.dataclass(frozen=True)
class TrainingSpec:
    """Optimiser and schedule (MICO: Adam, lr 1e-3, 30 epochs, batch 512, StepLR(5, 0.9))."""

    optimizer: str
    lr: float
    epochs: int
    batch: int
    lr_step: int
    lr_gamma: float
    dtype: str = "auto"
    momentum: float = 0.0
    shuffle: bool = True


@dataclasses.dataclass(frozen=True)
class ScenarioSpec:
    """One privacy setting. ``epsilon`` is ``math.inf`` for plain (non-DP) training."""

    slug: str
    epsilon: float
    delta: float | None
    clip: float | None
    training: TrainingSpec

    @property
    def private(self) -> bool:
        """True when the scenario trains with DP-SGD."""
        return math.isfinite(self.epsilon)


@dataclasses.dataclass(frozen=True)
class ModelCounts:
    train: int
    dev: int
    final: int

    def phase_range(self, phase: str) -> range:
        """Model indices of ``phase`` (MICO numbering: train first, then dev, then final)."""
        if phase == "train":
            return range(0, self.train)
        if phase == "dev":
            return range(self.train, self.train + self.dev)
        if phase == "final":
            return range(self.train + self.dev, self.train + self.dev + self.final)
        raise ValueError(f"phase must be one of {PHASES}, got {phase!r}")


@dataclasses.dataclass(frozen=True)
class LimitsSpec:
    per_day: int
    total: int
    invalid_per_day: int
    max_bytes: int


@dataclasses.dataclass(frozen=True)
class PhasesSpec:
    dev_opens: dt.datetime
    final_deadline: dt.datetime


@dataclasses.dataclass(frozen=True)
class TrackSpec:
    """A validated track file. See the module docstring for the meaning of every key."""

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
    scenarios: tuple[ScenarioSpec, ...]
    eps_error: float = 0.01

    def scenario(self, slug: str) -> ScenarioSpec:
        """The scenario named ``slug``."""
        for scenario in self.scenarios:
            if scenario.slug == slug:
                return scenario
        raise ValueError(f"track {self.slug!r} has no scenario {slug!r}")


class _Reader:
    """Typed access to one TOML table, raising errors that name the full key path."""

    def __init__(self, source: str, table: Mapping[str, Any], prefix: str = "") -> None:
        if not isinstance(table, Mapping):
            raise ValueError(f"{source}: {prefix.rstrip('.') or 'track'} must be a table")
        self.source, self.table, self.prefix = source, table, prefix
        self.used: set[str] = set()

    def fail(self, key: str, message: str) -> ValueError:
        return ValueError(f"{self.source}: {self.prefix}{key} {message}")

    def get(self, key: str, default: Any = ...) -> Any:
        self.used.add(key)
        if key not in self.table:
            if default is ...:
                raise self.fail(key, "is missing")
            return default
        return self.table[key]

    def string(self, key: str, default: Any = ...) -> str:
        value = self.get(key, default)
        if not isinstance(value, str):
            raise self.fail(key, f"must be a string, got {value!r}")
        return value

    def slug(self, key: str) -> str:
        value = self.string(key)
        if not SLUG_RE.fullmatch(value):
            raise self.fail(key, f"must match [a-z0-9-]+ (no '_'), got {value!r}")
        return value

    def choice(self, key: str, options: tuple[str, ...], default: Any = ...) -> str:
        value = self.string(key, default)
        if value not in options:
            raise self.fail(key, f"must be one of {', '.join(options)}, got {value!r}")
        return value

    def integer(self, key: str, default: Any = ..., *, minimum: int = 1) -> int:
        value = self.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(key, f"must be an integer >= {minimum}, got {value!r}")
        return value

    def number(self, key: str, default: Any = ..., *, positive: bool = True) -> float:
        value = self.get(key, default)
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not math.isfinite(value) or (value <= 0 if positive else value < 0):
            kind = "a positive" if positive else "a non-negative"
            raise self.fail(key, f"must be {kind} number, got {value!r}")
        return float(value)

    def boolean(self, key: str, default: Any = ...) -> bool:
        value = self.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, got {value!r}")
        return value

    def datetime(self, key: str) -> dt.datetime:
        value = self.get(key)
        if isinstance(value, str):
            try:
                value = dt.datetime.fromisoformat(value)
            except ValueError:
                raise self.fail(key, f"must be an RFC 3339 datetime, got {value!r}") from None
        if not isinstance(value, dt.datetime) or value.tzinfo is None:
            raise self.fail(key, f"must be a datetime with a timezone, got {value!r}")
        return value

    def sub(self, key: str) -> _Reader:
        return _Reader(self.source, self.get(key), f"{self.prefix}{key}.")

    def finish(self) -> None:
        unknown = sorted(set(self.table) - self.used)
        if unknown:
            raise self.fail(unknown[0], "is not a known key")


def _training(reader: _Reader, base: TrainingSpec | None) -> TrainingSpec:
    def pick(name: str) -> Any:
        return ... if base is None else getattr(base, name)

    optimizer = reader.choice("optimizer", OPTIMIZERS, pick("optimizer"))
    return TrainingSpec(
        optimizer=optimizer,
        lr=reader.number("lr", pick("lr")),
        epochs=reader.integer("epochs", pick("epochs")),
        batch=reader.integer("batch", pick("batch")),
        lr_step=reader.integer("lr_step", pick("lr_step")),
        lr_gamma=reader.number("lr_gamma", pick("lr_gamma")),
        dtype=base.dtype if base is not None else reader.choice("dtype", DTYPES, "auto"),
        momentum=reader.number("momentum", 0.0 if base is None else base.momentum, positive=False),
        shuffle=reader.boolean("shuffle", True if base is None else base.shuffle),
    )


def _scenario(reader: _Reader, defaults: TrainingSpec) -> ScenarioSpec:
    slug = reader.slug("slug")
    raw = reader.get("epsilon")
    if raw == "inf":
        epsilon = math.inf
    else:
        ok = isinstance(raw, int | float) and not isinstance(raw, bool) and 0 < raw < math.inf
        if not ok:
            raise reader.fail("epsilon", f'must be a positive number or "inf", got {raw!r}')
        epsilon = float(raw)
    delta = clip = None
    if math.isfinite(epsilon):
        delta = reader.number("delta")
        if delta >= 1:
            raise reader.fail("delta", f"must be below 1, got {delta!r}")
        clip = reader.number("clip")
    training = _training(reader, defaults)
    reader.finish()
    return ScenarioSpec(slug=slug, epsilon=epsilon, delta=delta, clip=clip, training=training)


def parse_track(data: str | Mapping[str, Any], *, source: str = "track") -> TrackSpec:
    """Validate a track given as TOML text or as a parsed mapping.

    Parameters
    ----------
    data : str or Mapping
        TOML text (e.g. an uploaded file) or the dict ``tomllib`` produced.
    source : str, keyword-only
        Prefix of error messages (the file name).

    Returns
    -------
    TrackSpec

    Raises
    ------
    ValueError
        Naming the first bad key, e.g. ``"track: challenge must be an integer >= 1, got 0"``.
    """
    if isinstance(data, str):
        try:
            data = tomllib.loads(data)
        except tomllib.TOMLDecodeError as error:
            hint = ""
            if "overwrite" in str(error):
                hint = " (n is training_size: a top-level training = N clashes with [training])"
            raise ValueError(f"{source}: not valid TOML: {error}{hint}") from None
    top = _Reader(source, data)
    slug = top.slug("slug")
    name = top.string("name")
    if not name.strip():
        raise top.fail("name", "must not be empty")
    training_reader = top.sub("training")
    defaults = _training(training_reader, None)
    training_reader.finish()
    models_reader = top.sub("models")
    models = ModelCounts(
        train=models_reader.integer("train"),
        dev=models_reader.integer("dev"),
        final=models_reader.integer("final"),
    )
    models_reader.finish()
    limits_reader = top.sub("limits")
    limits = LimitsSpec(
        per_day=limits_reader.integer("per_day"),
        total=limits_reader.integer("total"),
        invalid_per_day=limits_reader.integer("invalid_per_day", minimum=0),
        max_bytes=limits_reader.integer("max_bytes"),
    )
    limits_reader.finish()
    phases_reader = top.sub("phases")
    phases = PhasesSpec(
        dev_opens=phases_reader.datetime("dev_opens"),
        final_deadline=phases_reader.datetime("final_deadline"),
    )
    phases_reader.finish()
    if phases.final_deadline <= phases.dev_opens:
        raise phases_reader.fail("final_deadline", "must be after phases.dev_opens")
    raw_scenarios = top.get("scenario")
    if not isinstance(raw_scenarios, list) or not raw_scenarios:
        raise top.fail("scenario", "must be a non-empty array of tables ([[scenario]])")
    scenarios = tuple(
        _scenario(_Reader(source, table, f"scenario[{i}]."), defaults)
        for i, table in enumerate(raw_scenarios)
    )
    seen: set[str] = set()
    for i, scenario in enumerate(scenarios):
        if scenario.slug in seen:
            raise ValueError(f"{source}: scenario[{i}].slug {scenario.slug!r} is repeated")
        seen.add(scenario.slug)
    spec = TrackSpec(
        slug=slug,
        name=name,
        dataset=top.string("dataset"),
        dataset_path=top.string("dataset_path", ""),
        dataset_size=top.integer("dataset_size", 0, minimum=0),
        dataset_seed=top.integer("dataset_seed", 0, minimum=0),
        population=top.integer("population", minimum=0),
        architecture=top.string("architecture"),
        challenge=top.integer("challenge"),
        training=top.integer("training_size"),
        models=models,
        chunk=top.integer("chunk"),
        reveal_training_seeds=top.boolean("reveal_training_seeds", False),
        primary=top.choice("primary", PRIMARY_METRICS, "TPR_FPR_1000"),
        accountant=top.choice("accountant", ACCOUNTANTS, "prv"),
        eps_error=top.number("eps_error", 0.01),
        train_defaults=defaults,
        limits=limits,
        phases=phases,
        scenarios=scenarios,
    )
    top.finish()
    if spec.training <= spec.challenge:
        raise top.fail(
            "training_size", f"must exceed challenge ({spec.challenge}), got {spec.training}"
        )
    _check_registries(spec, top)
    return spec


def _check_registries(spec: TrackSpec, top: _Reader) -> None:
    from benchmark.zoo.datasets import DATASETS
    from benchmark.zoo.models import ARCHITECTURES

    if spec.dataset not in DATASETS:
        raise top.fail(
            "dataset", f"must be one of {', '.join(sorted(DATASETS))}, got {spec.dataset!r}"
        )
    if spec.architecture not in ARCHITECTURES:
        known = ", ".join(sorted(ARCHITECTURES))
        raise top.fail("architecture", f"must be one of {known}, got {spec.architecture!r}")


def load_track(path: str | Path) -> TrackSpec:
    """Read and validate a track file.

    Parameters
    ----------
    path : str or Path
        A TOML file such as ``tracks/demo-purchase.toml``.

    Returns
    -------
    TrackSpec

    Examples
    --------
    >>> track = load_track("tracks/purchase100.toml")  # doctest: +SKIP
    >>> [s.slug for s in track.scenarios]  # doctest: +SKIP
    ['inf', 'hi', 'lo']
    """
    path = Path(path)
    return parse_track(path.read_text(encoding="utf-8"), source=str(path))
