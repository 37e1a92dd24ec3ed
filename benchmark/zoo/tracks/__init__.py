"""Track files: the declarative TOML format organizers use to define a track.

A track is one dataset and one architecture by default, with scenarios that differ in the
privacy of training; a scenario may name its own dataset and architecture (MICO's
DP-distinguisher track ``ddp`` has one per modality). :func:`load_track` reads a file from
``tracks/``; :func:`parse_track` validates text or an already-parsed mapping (an upload).
Every error is a ``ValueError`` naming the offending keys, e.g. ``tracks/x.toml:
scenario[1].epsilon must be a positive number or "inf", got -3``; all the problems found are
listed, separated by ``; ``. The format is declared once, as pydantic models
(:mod:`benchmark.zoo.tracks.schema`), whose JSON Schema (:func:`track_schema`, ``python -m
benchmark.zoo schema``, committed as ``tracks/track.schema.json``) lets editors check files.

Keys (all required unless a default is given). The issue's draft named n ``training``, but a
top-level ``training = 2500`` and a ``[training]`` table cannot coexist in TOML, so n is
``training_size``; the spec's field stays ``TrackSpec.training``.

- ``slug`` (``[a-z0-9-]+``), ``name``, ``dataset`` (registry name), ``dataset_path``
  (default ``""``), ``dataset_size`` (default 0: the dataset's natural size),
  ``dataset_seed`` (default 0, generated datasets), ``population``, ``architecture``,
  ``challenge`` (m), ``training_size`` (n, above m), ``models = {train, dev, final}``,
  ``chunk``, ``reveal_training_seeds`` (default false), ``primary`` (default
  ``"TPR_FPR_1000"``), ``accountant`` (``"prv"`` or ``"rdp"``, default ``"prv"``),
  ``eps_error`` (default 0.01: the PRV accountant's ε error; MICO calibrated with 0.1).
- ``[training]``: ``optimizer`` (``adam``/``sgd``), ``lr``, ``epochs``, ``batch``,
  ``lr_step``, ``lr_gamma``, ``dtype`` (``auto``, the default: bfloat16 where the hardware runs
  it natively, see :mod:`benchmark.zoo.device`; or ``float32``/``bfloat16``), ``momentum``
  (default 0, SGD only), ``shuffle`` (default true: a new order every epoch; false visits the
  training set in its order, members first, every epoch, as MICO's ε = ∞ loaders did; DP-SGD
  always samples Poisson batches).
- ``[limits]``: ``per_day``, ``total``, ``invalid_per_day``, ``max_bytes``.
- ``[phases]``: ``dev_opens``, ``final_deadline`` (timezone-aware datetimes, the deadline
  after the opening).
- ``[competition]`` (every key optional): ``final`` (``"latest"``, MICO's rule and the
  default; ``"best-dev"``; ``"selected"``), ``select_final`` (default 2), ``max_team_size``
  (default 1: no teams), ``teams_freeze`` (default: the final deadline, not after it),
  ``terms`` (text accepted at registration), ``requires_approval`` (default false),
  ``email_domains`` (e-mail domains allowed to register; default any),
  ``benchmark_per_day`` (uploads per day in the benchmark phase after the reveal, default 5).
- ``[[scenario]]`` (one or more, unique slugs): ``slug``, ``epsilon`` (positive number or
  ``"inf"``), and for finite ε ``delta`` (below 1) and ``clip`` (refused for ``"inf"``).
  Optional, each defaulting to the track's value:

  - any ``[training]`` key except ``dtype`` (one compute dtype per track build; MICO's
    CIFAR-10 uses batch 32 without DP and 512 with DP);
  - ``architecture``, ``population``, ``challenge``, ``training_size`` (above the scenario's
    challenge);
  - ``dataset``, and ``dataset_path``, ``dataset_size``, ``dataset_seed``: these three are the
    track's when the scenario keeps the track's dataset, and ``""``, 0, 0 when it names
    another (a path belongs to its dataset);
  - ``folder``: the scenario's folder in the bundle and in submissions, ``[a-z0-9_-]+``,
    unique in the track; default ``<track>_<scenario>`` (MICO's ``ddp`` track:
    ``purchase100_ddp``, ``cifar10_ddp``).

  :class:`ScenarioSpec` carries every one resolved; :class:`TrackSpec` keeps the track's.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from benchmark.zoo.tracks.rules import (
    ACCOUNTANTS,
    DTYPES,
    OPTIMIZERS,
    PHASES,
    PRIMARY_METRICS,
    SLUG_RE,
    TRAINING_HINT,
    sentences,
)
from benchmark.zoo.tracks.schema import (
    CompetitionSpec,
    LimitsSpec,
    ModelCounts,
    PhasesSpec,
    TrackFile,
    TrainingSpec,
    track_schema,
)
from benchmark.zoo.tracks.spec import ScenarioSpec, TrackSpec, resolve

__all__ = [
    "ACCOUNTANTS",
    "DTYPES",
    "OPTIMIZERS",
    "PHASES",
    "PRIMARY_METRICS",
    "SLUG_RE",
    "CompetitionSpec",
    "LimitsSpec",
    "ModelCounts",
    "PhasesSpec",
    "ScenarioSpec",
    "TrackSpec",
    "TrainingSpec",
    "load_track",
    "parse_track",
    "track_schema",
]


def parse_track(data: str | Mapping[str, Any], *, source: str = "track") -> TrackSpec:
    """Validate a track given as TOML text or as a parsed mapping.

    Parameters
    ----------
    data : str or Mapping
        TOML text (e.g. an uploaded file) or the dict ``tomllib`` produced (datetimes may be
        RFC 3339 strings, as in JSON).
    source : str, keyword-only
        Prefix of error messages (the file name).

    Returns
    -------
    TrackSpec

    Raises
    ------
    ValueError
        Naming every bad key found, e.g. ``"track: challenge must be an integer >= 1, got 0"``;
        several are separated by ``"; "``.

    Examples
    --------
    >>> parse_track('slug = "x_y"', source="x.toml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: x.toml: slug must match [a-z0-9-]+ (no '_'), got 'x_y'; name is missing; ...
    """
    if isinstance(data, str):
        try:
            data = tomllib.loads(data)
        except tomllib.TOMLDecodeError as error:
            hint = f" {TRAINING_HINT}" if "overwrite" in str(error) else ""
            raise ValueError(f"{source}: not valid TOML: {error}{hint}") from None
    if not isinstance(data, Mapping):
        raise ValueError(f"{source}: track must be a table, got {data!r}")
    try:
        return resolve(TrackFile.model_validate(data))
    except ValidationError as error:
        problems = list(sentences(error))
    except ValueError as error:
        problems = list(error.args)
    raise ValueError(f"{source}: {'; '.join(problems)}")


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
