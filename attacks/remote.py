"""A black-box track's models through the platform's query API, as if they were local.

:class:`RemoteOracle` is one model behind ``POST /api/v1/tracks/<slug>/query/``: it splits
large queries into the track's ``query_batch``, counts the rows it spent and knows the budget
left (the ``X-Query-Budget-Remaining`` header). :func:`observe_remote` queries every model of
a scenario of a downloaded black-box bundle on its challenge and population points and returns
the :class:`~attacks.observations.Observations` every reference attack reads, so an attack
runs the same against the API as against a white-box bundle::

    obs = observe_remote("bundle/demo-defences/demo-defences_top3",
                         url="https://arena.example.org", token="...")
    scores = attacks.run("rmia", obs)

Standard library HTTP and orjson only: no Django, nothing of the server.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import orjson
import torch

from attacks import label_only
from attacks.bundle import (
    Track,
    _compute,
    _fingerprint,
    _load,
    _save,
    open_track,
    scenario_track,
    shadows_and_targets,
)
from attacks.observations import Observations
from attacks.oracle import BudgetExhausted
from attacks.released import from_release
from benchmark.zoo.splits import track_files

__all__ = ["ApiError", "RemoteModels", "RemoteOracle", "model_key", "observe_remote"]


class ApiError(RuntimeError):
    """The platform refused a query; ``status`` is the HTTP status, the message its own."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


def _post(url: str, token: str, body: dict[str, Any], timeout: float) -> tuple[dict, Any]:
    """POST JSON; a throttled request waits out ``Retry-After`` (at most 10 s, 30 times)."""
    data = orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    for _ in range(30):
        request = urllib.request.Request(url, data=data, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return orjson.loads(response.read()), response.headers
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                message = str(json.loads(raw).get("message", raw[:200]))
            except (ValueError, AttributeError):
                message = raw[:200].decode("utf-8", "replace")
            if error.code == 429 and "query rows" in message:
                raise BudgetExhausted(message) from None
            if error.code != 429:
                raise ApiError(error.code, message) from None
            time.sleep(min(10.0, float(error.headers.get("Retry-After") or 1)))
    raise ApiError(429, f"still throttled after 30 tries: {message}")


def _get(url: str, token: str, timeout: float) -> dict[str, Any]:
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return dict(orjson.loads(response.read()))
    except urllib.error.HTTPError as error:
        raise ApiError(error.code, error.read()[:200].decode("utf-8", "replace")) from None


def model_key(model_dir: str | Path) -> str:
    """``<scenario>/<phase>/<index>`` of a bundle's model folder
    (``<track>/<folder>/<phase>/model_<i>``), read with the manifest's folder names."""
    directory = Path(model_dir)
    scenario_dir = directory.parents[1]
    manifest = json.loads(track_files(scenario_dir.parent).manifest.read_text())
    entry = manifest.get("folders", {}).get(scenario_dir.name, {})
    prefix = f"{manifest.get('track', scenario_dir.parent.name)}_"
    scenario = entry.get("scenario") or scenario_dir.name.removeprefix(prefix)
    return f"{scenario}/{directory.parent.name}/{directory.name.removeprefix('model_')}"


@dataclass
class RemoteOracle:
    """One model of a black-box track, queried through the platform (an
    :class:`~attacks.oracle.Oracle`).

    Parameters
    ----------
    url : str
        The platform, e.g. ``https://arena.example.org``.
    token : str, keyword-only
        An API token (``arena login`` keeps one).
    track : str, keyword-only
        The track's slug.
    model : str, keyword-only
        ``<scenario>/<phase>/<index>``.
    timeout : float, keyword-only
        Seconds per request.

    Attributes
    ----------
    spent : int
        Rows this oracle queried.
    remaining : int or None
        Rows of today's budget left after the last query (None before the first).
    """

    url: str
    token: str
    track: str
    model: str
    timeout: float = 60.0
    spent: int = 0
    remaining: int | None = None
    classes: int = 0
    label_only: bool = False
    batch: int = 1000
    _checked: bool = field(default=False, repr=False)

    def _describe(self) -> None:
        """Read the scenario's release and the track's batch size once."""
        if self._checked:
            return
        detail = _get(f"{self.url.rstrip('/')}/api/v1/tracks/{self.track}/", self.token, 30)
        if detail.get("access") != "black-box":
            raise ValueError(f"{self.track} is not a black-box track: download its weights")
        slug = self.model.split("/")[0]
        scenarios = {s["slug"]: s for s in detail.get("scenarios", [])}
        if slug not in scenarios:
            raise ValueError(f"{self.track} has no scenario {slug!r}")
        self.label_only = bool((scenarios[slug].get("release") or {}).get("label_only", False))
        self.batch = int(detail.get("limits", {}).get("query_batch", self.batch))
        self._checked = True

    def query(self, inputs: np.ndarray) -> np.ndarray:
        """The released outputs of ``inputs`` (N, *input shape): vectors (N, C) or labels
        (N,); sent in requests of at most the track's ``query_batch`` rows.

        Raises
        ------
        BudgetExhausted
            The rows do not fit in today's budget (the requests before it were answered and
            counted; ``spent`` says how many).
        ApiError
            Any other refusal (bad inputs: 400, with the platform's message).
        """
        self._describe()
        x = np.asarray(inputs, dtype=np.float32)
        if x.ndim < 2 or not len(x):
            raise ValueError(f"inputs must be a non-empty batch (N, ...), got shape {x.shape}")
        endpoint = f"{self.url.rstrip('/')}/api/v1/tracks/{self.track}/query/"
        parts = []
        for start in range(0, len(x), self.batch):
            chunk = x[start : start + self.batch]
            body, headers = _post(endpoint, self.token, {"model": self.model, "inputs": chunk},
                                  self.timeout)  # fmt: skip
            self.spent += len(chunk)
            self.remaining = int(headers.get("X-Query-Budget-Remaining", -1))
            parts.append(np.asarray(body["outputs"]))
        out = np.concatenate(parts)
        if self.label_only:
            return out.astype(np.int64)
        self.classes = int(out.shape[-1])
        return out.astype(np.float64)


@dataclass
class RemoteModels:
    """The :class:`attacks.bundle.Models` of a black-box scenario, queried through the API."""

    track: Track
    url: str
    token: str
    copies: int = 0
    seed: int = 0
    oracles: dict[str, RemoteOracle] = field(default_factory=dict)

    def oracle(self, directory: Path) -> RemoteOracle:
        key = model_key(directory)
        if key not in self.oracles:
            self.oracles[key] = RemoteOracle(
                self.url, token=self.token, track=self.track.slug, model=key
            )
        return self.oracles[key]

    @property
    def spent(self) -> int:
        """Rows queried so far, every model together."""
        return sum(o.spent for o in self.oracles.values())

    def logits(self, dirs: list[Path], x: torch.Tensor) -> np.ndarray:
        classes = self.track.dataset.num_classes
        defence = self.track.defence
        rows = []
        for m, directory in enumerate(dirs):
            points = x if x.ndim == self.track.dataset.x.ndim else x[m]
            released = self.oracle(directory).query(points.numpy())
            rows.append(from_release(released, defence, classes=classes)[:, None, :])
        return np.stack(rows)

    def robustness(self, dirs: list[Path], x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
        shared = x.ndim == self.track.dataset.x.ndim
        return np.stack([
            label_only.robustness(
                self.oracle(d), (x if shared else x[m]).numpy(), (y if shared else y[m]).numpy(),
                space=self.track.dataset.feature_space(), copies=self.copies, seed=self.seed,
            )
            for m, d in enumerate(dirs)
        ])  # fmt: skip


def observe_remote(
    scenario_dir: str | Path,
    *,
    url: str,
    token: str,
    targets: Literal["dev+final", "train"] = "dev+final",
    population: int = 2000,
    robustness: int = 0,
    cache_dir: str | Path | None = None,
    seed: int = 0,
    track: Track | None = None,
) -> Observations:
    """:func:`attacks.bundle.observe` for a black-box bundle: the same observations, made of
    what the platform releases, each model queried on its points through the API.

    Train models are the shadows (their membership is in the bundle), the dev and final
    models the targets (``targets="train"``: half the train models each, for an experiment).
    It spends ``(S + T) × (P + Z)`` rows of the budget (plus ``robustness + 1`` per model and
    point for the label-only attack); ``cache_dir`` keeps the result, so it is spent once.

    Raises
    ------
    ValueError
        If the scenario has no train models or no targets.
    BudgetExhausted, ApiError
        When the platform refuses a query.
    """
    scenario_dir = Path(scenario_dir)
    track = scenario_track(track or open_track(scenario_dir.parent), scenario_dir)
    shadows, target_models = shadows_and_targets(scenario_dir, targets, weights=False)
    options = {
        "targets": targets,
        "queries": 1,
        "population": population,
        "gradients": False,
        "robustness": robustness,
        "seed": seed,
        "remote": url,
    }
    cache = None
    if cache_dir is not None:
        every_dir = [d for _, d in shadows] + [d for _, _, d in target_models]
        cache = (
            Path(cache_dir) / f"{scenario_dir.name}-{_fingerprint(track, every_dir, options)}.npz"
        )
        if cache.is_file():
            return _load(cache)
    models = RemoteModels(track, url, token, copies=robustness, seed=seed)
    obs = _compute(track, shadows, target_models, options, models)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        _save(obs, cache)
    return obs
