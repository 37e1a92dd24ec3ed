"""Black-box queries: a participant's rows through a scenario's release, budgeted per UTC day.

A query names one model (``<scenario>/<phase>/<index>``) and sends points of the dataset's
feature space; the answer is what the scenario releases of the model's outputs
(:func:`benchmark.zoo.release.release`, the function the baselines' observations use too).
Models are loaded once per process and kept (keyed by their file's path and modification
time), so a query costs one batched forward pass.

The budget counts rows, not requests, per participant, track and UTC day. It is booked after
the model answered, by one conditional ``UPDATE`` (``queries + n <= limit``), so concurrent
requests can never spend more than the budget, and a query that fails for a reason that is not
the participant's (a model file missing, a bug) spends nothing.
"""

import dataclasses
import datetime as dt
import functools
import os
from typing import Any

import numpy as np
import torch
from django.contrib.auth.models import User
from django.db.models import F
from torch import nn

from benchmark.errors import ApplicationError, NotReady, QuotaExceeded
from benchmark.models import DailyUsage, Track
from benchmark.services.files import zoo_pull
from benchmark.services.io import model_path, zoo_root
from benchmark.services.registrations import participation_check
from benchmark.services.submissions import utc_day_bounds
from benchmark.services.teams import quota_holder
from benchmark.zoo.datasets import FeatureSpace, load_dataset
from benchmark.zoo.models import architecture
from benchmark.zoo.release import Defence, release
from benchmark.zoo.splits import track_files

__all__ = ["QueryBudget", "QueryResult", "query_budget", "track_query"]

PHASES = ("train", "dev", "final")


class QueryUnavailable(ApplicationError):
    """The model could not answer for a reason that is not the participant's."""

    status_code = 503


@dataclasses.dataclass(frozen=True)
class QueryBudget:
    """Rows a participant may still query today on a track."""

    limit: int
    used: int
    resets_at: dt.datetime

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


@dataclasses.dataclass(frozen=True)
class QueryResult:
    """What a query released: vectors (N, C) or labels (N,), and the budget after it."""

    model: str
    outputs: np.ndarray
    label_only: bool
    defence: str
    budget: QueryBudget


def query_budget(*, track: Track, user: User) -> QueryBudget:
    """Today's query budget of ``user`` on ``track``."""
    today, resets_at = utc_day_bounds()
    holder, _ = quota_holder(track=track, user=user)
    used = (
        DailyUsage.objects.filter(entrant=holder, day=today)
        .values_list("queries", flat=True)
        .first()
    )
    return QueryBudget(limit=track.queries_per_day, used=int(used or 0), resets_at=resets_at)


def _scenario_entry(track: Track, key: str) -> tuple[dict[str, Any], str, int]:
    """The spec entry, phase and index a model key names; 400 naming what is wrong."""
    parts = key.split("/") if isinstance(key, str) else []
    if len(parts) != 3:
        raise ApplicationError(
            f"model must be <scenario>/<phase>/<index>, got {key!r}", extra={"field": "model"}
        )
    slug, phase, index_text = parts
    scenarios = {str(s["slug"]): s for s in track.spec.get("scenarios", [])}
    if slug not in scenarios:
        raise ApplicationError(
            f"model {key!r}: {track.slug} has no scenario {slug!r} "
            f"(scenarios: {', '.join(scenarios)})",
            extra={"field": "model"},
        )
    if phase not in PHASES:
        raise ApplicationError(
            f"model {key!r}: phase must be one of {', '.join(PHASES)}, got {phase!r}",
            extra={"field": "model"},
        )
    counts = track.spec["models"]
    first = {"train": 0, "dev": counts["train"], "final": counts["train"] + counts["dev"]}[phase]
    indices = range(first, first + int(counts[phase]))
    if not index_text.isdigit() or int(index_text) not in indices:
        raise ApplicationError(
            f"model {key!r}: {phase} models of {track.slug} are "
            f"{indices.start}..{indices.stop - 1}",
            extra={"field": "model"},
        )
    return scenarios[slug], phase, int(index_text)


@functools.lru_cache(maxsize=32)
def _dataset_space(name: str, path: str, size: int, seed: int) -> FeatureSpace:
    return load_dataset(name, path=path, size=size, seed=seed).feature_space()


def _feature_space(track: Track, entry: dict[str, Any]) -> FeatureSpace:
    """The scenario's feature space: from the manifest (written at build), else its dataset."""
    files = track_files(zoo_root() / track.slug)
    manifest = _manifest(str(files.manifest), os.stat(files.manifest).st_mtime_ns)
    folder = manifest.get("folders", {}).get(str(entry.get("folder")), manifest)
    features = folder.get("features") or manifest.get("features")
    if features:
        return FeatureSpace(
            shape=tuple(features["shape"]),
            low=float(features["low"]),
            high=float(features["high"]),
            binary=bool(features["binary"]),
            masked=bool(features.get("masked", False)),
        )
    return _dataset_space(
        str(entry["dataset"]),
        str(entry.get("dataset_path", "")),
        int(entry.get("dataset_size", 0)),
        int(entry.get("dataset_seed", 0)),
    )


@functools.lru_cache(maxsize=16)
def _manifest(path: str, mtime_ns: int) -> dict[str, Any]:
    import json

    return dict(json.loads(open(path, encoding="utf-8").read()))


def _inputs(track: Track, entry: dict[str, Any], inputs: Any) -> np.ndarray:
    if not isinstance(inputs, list) or not inputs:
        raise ApplicationError("inputs must be a non-empty array of points", {"field": "inputs"})
    if len(inputs) > track.query_batch:
        raise ApplicationError(
            f"inputs: at most {track.query_batch} rows per request on {track.slug}, "
            f"got {len(inputs)}",
            extra={"field": "inputs", "query_batch": track.query_batch},
        )
    try:
        raw = np.array(inputs)
    except (TypeError, ValueError):
        raw = np.array([], dtype=object)
    if raw.dtype.kind not in "iuf" or raw.ndim < 2:
        raise ApplicationError(
            "inputs must be an array of equally shaped arrays of numbers (no strings, "
            "booleans or null)",
            extra={"field": "inputs"},
        )
    x = raw.astype(np.float32)
    problem = _feature_space(track, entry).check(x)
    if problem:
        raise ApplicationError(problem, extra={"field": "inputs"})
    return x


@functools.lru_cache(maxsize=64)
def _module(path: str, mtime_ns: int, name: str) -> nn.Module:
    """A model, loaded once per process (a new file, a new key)."""
    module = architecture(name)()
    module.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return module.eval()


def _answer(track: Track, entry: dict[str, Any], phase: str, index: int, x: np.ndarray):
    relative = model_path(track=track, scenario=str(entry["slug"]), phase=phase, index=index)
    path = zoo_root() / relative / "model.pt"
    try:
        module = _module(str(path), os.stat(path).st_mtime_ns, str(entry["architecture"]))
        with torch.inference_mode():
            logits = module(torch.from_numpy(x)).float().numpy()
    except (OSError, RuntimeError, ValueError) as error:
        raise QueryUnavailable(
            f"model {entry['slug']}/{phase}/{index} cannot answer now ({type(error).__name__}); "
            "nothing was counted, try again later"
        ) from error
    defence = Defence(**(entry.get("defence") or {}))
    return release(logits, defence), defence


def _book(track: Track, user: User, rows: int) -> QueryBudget:
    """Spend ``rows`` of today's budget, or refuse with nothing spent."""
    today, resets_at = utc_day_bounds()
    entrant, _ = quota_holder(track=track, user=user)
    usage, _ = DailyUsage.objects.get_or_create(entrant=entrant, day=today)
    limit = track.queries_per_day
    booked = DailyUsage.objects.filter(pk=usage.pk, queries__lte=limit - rows).update(
        queries=F("queries") + rows
    )
    used = DailyUsage.objects.values_list("queries", flat=True).get(pk=usage.pk)
    budget = QueryBudget(limit=limit, used=int(used), resets_at=resets_at)
    if not booked:
        raise QuotaExceeded(
            f"{rows} rows asked but {budget.remaining} of your {limit:,} query rows on "
            f"{track.slug} are left today; the budget resets at {resets_at.isoformat()}",
            extra={"remaining": budget.remaining, "limit": limit},
        )
    return budget


def track_query(*, track: Track, user: User, model: str, inputs: Any) -> QueryResult:
    """Answer a participant's query of one model of a black-box track.

    Raises
    ------
    ApplicationError
        A white-box track, a bad model key or bad inputs (400, naming the problem).
    NotReady
        The zoo is not built (409).
    QuotaExceeded
        The rows do not fit in today's budget (429); nothing is spent.
    QueryUnavailable
        The model could not answer (503); nothing is spent.
    """
    if track.access != "black-box":
        raise ApplicationError(
            f"{track.slug} is a white-box track: download its bundle, which holds the weights"
        )
    if track.build_status != Track.BuildStatus.READY:
        raise NotReady(f"the zoo of {track.slug} is not built yet ({track.build_status})")
    participation_check(track=track, user=user)
    entry, phase, index = _scenario_entry(track, model)
    zoo_pull(track=track, parts=("participant",))
    x = _inputs(track, entry, inputs)
    before = query_budget(track=track, user=user)
    if len(x) > before.remaining:  # refuse before any work; _book decides under races
        _book(track, user, len(x))
    outputs, defence = _answer(track, entry, phase, index, x)
    budget = _book(track, user, len(x))
    return QueryResult(
        model=model,
        outputs=outputs,
        label_only=defence.label_only,
        defence=defence.describe(),
        budget=budget,
    )
