"""Observations of one scenario of a model bundle, computed once and cached.

A bundle is MICO's layout: ``<track>/<track>_<scenario>/<phase>/model_<i>/`` holding ``model.pt``
and seeds, with the zoo's manifest and population beside ``<track>/`` (``<track>.dataset.json``,
``<track>.population.csv``; inside it in older bundles, see
:func:`benchmark.zoo.splits.track_files`). Train models reveal their seeds, so their full
training sets, hence their membership of every challenge point, are rebuilt with the zoo's
split functions.

>>> obs = observe("bundle/demo-digits/demo-digits_inf", cache_dir="var/cache")  # doctest: +SKIP
>>> predictions = attacks.run("lira-offline", obs)  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import torch

from attacks import label_only, outputs
from attacks.observations import Observations
from attacks.released import as_logits
from benchmark.zoo.datasets import TensorData, load_dataset
from benchmark.zoo.release import Defence
from benchmark.zoo.splits import POPULATION, challenge_points, track_files
from benchmark.zoo.tracks import TrackSpec

__all__ = [
    "CACHE_VERSION",
    "Track",
    "model_dirs",
    "observe",
    "observe_zoo",
    "open_track",
    "scenario_dirs",
    "scenario_track",
    "shadows_and_targets",
    "track_from_spec",
]

CACHE_VERSION = 1
"""Bumped whenever the cached arrays change meaning; part of every cache key."""

_MODEL = re.compile(r"model_(\d+)")

Targets = Literal["dev+final", "train"]


@dataclass(frozen=True)
class Track:
    """What observing a bundle needs besides the models.

    Attributes
    ----------
    root : Path
        The track directory ``<track>/`` (its scenario folders).
    slug : str
    dataset : TensorData
    architecture : str
        The zoo's architecture name.
    population : ndarray of int, shape (Z,)
        Dataset rows no model trains on.
    manifest : dict
    defence : Defence
        What the scenario releases of its models' outputs (a black-box track's; the vector
        unchanged otherwise): every observation goes through it.
    """

    root: Path
    slug: str
    dataset: TensorData
    architecture: str
    population: np.ndarray
    manifest: dict
    defence: Defence = field(default_factory=Defence)

    @property
    def black_box(self) -> bool:
        """True for a black-box track: its models are queried, never read (no gradients)."""
        return self.manifest.get("access") == "black-box"


def open_track(track_dir: str | Path, *, dataset: TensorData | None = None) -> Track:
    """Read a bundle's manifest and load its dataset (or take ``dataset``).

    Parameters
    ----------
    track_dir : path
        The track directory ``<track>/``; its manifest and population lie beside it (or, in
        older bundles, inside it).
    dataset : TensorData, keyword-only
        The track's dataset, if already loaded.

    Raises
    ------
    ValueError
        If the manifest is missing or lacks the dataset or architecture.
    """
    root = Path(track_dir)
    files = track_files(root)
    manifest = json.loads(files.manifest.read_text())
    if dataset is None:
        dataset = _load_dataset(manifest, files.manifest)
    architecture = manifest.get("architecture")
    if not isinstance(architecture, str):
        raise ValueError(f"{files.manifest} names no architecture")
    population = np.array(files.population.read_text().split(), dtype=np.int64)
    slug = str(manifest.get("track", manifest.get("slug", root.name)))
    return Track(root, slug, dataset, architecture, population, manifest)


def _load_dataset(manifest: dict, source: Path) -> TensorData:
    """The dataset a manifest describes, as ``{"dataset": {"name", "path", "size", "seed"}}``
    (older zoo manifests said ``path_hint`` for ``path``) or with flat ``dataset``,
    ``dataset_path``, ``dataset_size`` and ``dataset_seed`` keys."""
    spec = manifest.get("dataset")
    text: dict = {}
    if isinstance(spec, dict):
        name, path = spec.get("name"), spec.get("path", spec.get("path_hint", ""))
        size, seed = spec.get("size", 0), spec.get("seed", 0)
        keys = ("encoder", "max_length", "layers", "tokens")
        text = {key: spec[key] for key in keys if spec.get(key)}
    else:
        name, path = spec, manifest.get("dataset_path", "")
        size, seed = manifest.get("dataset_size", 0), manifest.get("dataset_seed", 0)
    if not isinstance(name, str):
        raise ValueError(f"{source} names no dataset")
    return load_dataset(
        name, path=str(path or ""), size=int(size or 0), seed=int(seed or 0), **text
    )


def track_from_spec(spec: TrackSpec, root: str | Path) -> Track:
    """The :class:`Track` of a platform zoo built from a track file under ``root``."""
    directory = Path(root) / spec.slug
    from benchmark.zoo.build import track_dataset

    track = open_track(directory, dataset=track_dataset(spec))
    return replace(track, slug=spec.slug, architecture=spec.architecture)


def scenario_track(track: Track, scenario_dir: str | Path) -> Track:
    """The :class:`Track` a scenario folder is observed with: the track's own, or, for a
    scenario with a dataset, architecture or population of its own (MICO's DP-distinguisher
    track, ``ddp/purchase100_ddp``), one with those, as the manifest's ``folders`` entry
    describes them."""
    entry = track.manifest.get("folders", {}).get(Path(scenario_dir).name)
    if not isinstance(entry, dict):
        return track
    track = replace(track, defence=Defence(**entry.get("release", {})))
    own_file = entry.get("population_file", f"{track.slug}.{POPULATION}")
    same_data = entry.get("dataset") == track.manifest.get("dataset") and own_file == (
        track.manifest.get("population_file", own_file)
    )
    architecture = str(entry.get("architecture") or track.architecture)
    if same_data:
        return replace(track, architecture=architecture)
    files = track_files(track.root)
    population_path = files.manifest.parent / str(own_file)
    population = np.array(population_path.read_text().split(), dtype=np.int64)
    dataset = _load_dataset(entry, files.manifest)
    return replace(track, dataset=dataset, architecture=architecture, population=population)


def observe_zoo(
    spec: TrackSpec,
    scenario: str,
    *,
    root: str | Path,
    cache_dir: str | Path | None = None,
    **options: Any,
) -> Observations:
    """:func:`observe` for a scenario of the platform's zoo (what a baseline task calls).

    Parameters
    ----------
    spec : TrackSpec
        The parsed track file.
    scenario : str
        Scenario slug.
    root : path, keyword-only
        The zoo root; the track lives in ``<root>/<track slug>``.
    cache_dir : path, keyword-only
        Defaults to ``<root>/observations``.
    **options
        Passed to :func:`observe`.
    """
    folder = spec.scenario(scenario).folder  # raises ValueError naming an unknown scenario
    track = track_from_spec(spec, root)
    return observe(
        track.root / folder,
        track=track,
        cache_dir=Path(root) / "observations" if cache_dir is None else cache_dir,
        **options,
    )


def scenario_dirs(track: Track) -> dict[str, Path]:
    """Every scenario directory of a track, ``{scenario slug: <track>/<folder>}``: the
    manifest's ``folders`` where it lists them, else every ``<track>_<scenario>`` folder (a
    MICO archive, an older bundle)."""
    folders = track.manifest.get("folders")
    if isinstance(folders, dict) and folders:
        return {
            str(entry.get("scenario", name)): track.root / name
            for name, entry in sorted(folders.items())
            if (track.root / name).is_dir()
        }
    prefix = f"{track.root.name}_"
    return {
        path.name[len(prefix) :]: path
        for path in sorted(track.root.iterdir())
        if path.is_dir() and path.name.startswith(prefix)
    }


def model_dirs(scenario_dir: Path, phase: str, *, weights: bool = True) -> list[tuple[int, Path]]:
    """``(index, directory)`` of every model of a phase, by index: those holding ``model.pt``,
    or (``weights=False``, a black-box bundle) those holding their seeds."""
    phase_dir = scenario_dir / phase
    if not phase_dir.is_dir():
        return []
    marker = "model.pt" if weights else "seed_challenge"
    found = [
        (int(match.group(1)), path)
        for path in phase_dir.iterdir()
        if (match := _MODEL.fullmatch(path.name)) and (path / marker).is_file()
    ]
    return sorted(found)


def shadows_and_targets(
    scenario_dir: Path, targets: Targets, *, weights: bool = True
) -> tuple[list[tuple[int, Path]], list[tuple[str, int, Path]]]:
    """The shadow models (``(index, dir)``) and targets (``(phase, index, dir)``) of a scenario:
    train models and dev + final ones, or the two halves of the train models.

    Raises
    ------
    ValueError
        If either side is empty.
    """
    train = model_dirs(scenario_dir, "train", weights=weights)
    if targets == "train":
        half = len(train) // 2
        shadows, target_models = train[:half], [("train", i, d) for i, d in train[half:]]
    else:
        shadows = train
        target_models = [
            (phase, i, d)
            for phase in ("dev", "final")
            for i, d in model_dirs(scenario_dir, phase, weights=weights)
        ]
    if not shadows or not target_models:
        raise ValueError(
            f"{scenario_dir}: need shadow and target models, found {len(shadows)} and "
            f"{len(target_models)}"
        )
    return shadows, target_models


def _training_set(track: Track, model_dir: Path) -> np.ndarray:
    """Rows a train model trained on (its members and other training points), from its seeds."""
    points = challenge_points(model_dir, track.dataset)
    if points.membership is None or points.training is None:
        raise ValueError(f"{model_dir}: a train model must reveal all three seeds")
    return torch.cat([points.indices[points.membership], points.training]).numpy()


def _fingerprint(track: Track, dirs: list[Path], options: dict) -> str:
    """Hash of every model file, seed, the manifest and the options: the cache key."""
    digest = hashlib.sha256(json.dumps({**options, "v": CACHE_VERSION}).encode())
    for path in track_files(track.root):
        digest.update(path.read_bytes())
    for directory in dirs:
        for file in sorted(directory.iterdir()):
            if file.is_file():
                digest.update(file.name.encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()[:20]


def observe(
    scenario_dir: str | Path,
    *,
    track: Track | None = None,
    targets: Targets = "dev+final",
    queries: int = 1,
    population: int = 2000,
    gradients: bool = True,
    cache_dir: str | Path | None = None,
    seed: int = 0,
    device: torch.device | str = "cpu",
    robustness: int = 0,
) -> Observations:
    """Observations of one scenario: every model's logits on every point it matters for.

    Parameters
    ----------
    scenario_dir : path
        ``<track>/<track>_<scenario>``.
    track : Track, keyword-only
        From :func:`open_track`; read from the parent directory when omitted.
    targets : {"dev+final", "train"}, keyword-only
        ``"dev+final"``: train models are shadows, dev and final models the targets (a
        submission). ``"train"``: the first half of the train models are shadows, the second
        half targets with known membership (an experiment, see ``python -m attacks report``).
    queries : int, keyword-only
        Queries per point (images only above 1): the original, then a horizontal flip and
        one-pixel shifts. 1 by default: the zoo trains without augmentation, and queries a
        model never saw in training add noise (on the demo digits a flip halves the loss
        attack's AUC gain), as MICO's runner-up found.
    population : int, keyword-only
        Population points to use (a seeded sample of the reserved population; all if fewer).
    gradients : bool, keyword-only
        Also compute per-sample gradient norms (white-box attacks).
    cache_dir : path, keyword-only
        Where to keep ``<track>_<scenario>-<fingerprint>.npz``; the fingerprint covers every
        model file, so rebuilding the zoo invalidates the cache.
    seed : int, keyword-only
        Seed of the population sample.
    device : keyword-only
        Where the models run (a CUDA worker's GPU); the observations do not depend on it
        beyond float rounding, so the cache is shared across devices.
    robustness : int, keyword-only
        Perturbed copies per point for the label-only attack's robustness (0: none; it costs
        ``copies + 1`` forward passes per model and point).

    Returns
    -------
    Observations

    Raises
    ------
    ValueError
        If the scenario has no train models or no targets, or a train model lacks its seeds.
    """
    scenario_dir = Path(scenario_dir)
    track = scenario_track(track or open_track(scenario_dir.parent), scenario_dir)
    shadows, target_models = shadows_and_targets(scenario_dir, targets)
    options = {
        "targets": targets,
        "queries": queries,
        "population": population,
        "gradients": gradients and not track.black_box,
        "robustness": robustness,
        "seed": seed,
    }
    every_dir = [d for _, d in shadows] + [d for _, _, d in target_models]
    cache = None
    if cache_dir is not None:
        key = _fingerprint(track, every_dir, options)
        cache = Path(cache_dir) / f"{scenario_dir.name}-{key}.npz"
        if cache.is_file():
            return _load(cache)
    models = LocalModels(track, queries, robustness, seed, torch.device(device))
    obs = _compute(track, shadows, target_models, options, models, torch.device(device))
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        _save(obs, cache)
    return obs


class Models(Protocol):
    """How observations read a scenario's models: logits as an attacker sees them (the
    scenario's release applied) and the robustness of their labels. :class:`LocalModels`
    reads model files; :class:`attacks.remote.RemoteModels` queries the platform's API."""

    def logits(self, dirs: list[Path], x: torch.Tensor) -> np.ndarray:
        """Shape (M, N, A, C) for points (N, ...) shared by the models or (M, N, ...)."""
        ...

    def robustness(self, dirs: list[Path], x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
        """Shape (M, N): :func:`attacks.label_only.robustness` of each model's labels."""
        ...


@dataclass(frozen=True)
class LocalModels:
    """The models of a bundle on disk (white-box bundles; the platform's own zoo)."""

    track: Track
    queries: int
    copies: int
    seed: int
    device: torch.device

    def logits(self, dirs: list[Path], x: torch.Tensor) -> np.ndarray:
        raw = outputs.logits(
            dirs, self.track.architecture, x, queries=self.queries, device=self.device
        )
        return as_logits(raw, self.track.defence)

    def robustness(self, dirs: list[Path], x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
        space = self.track.dataset.feature_space()
        shared = x.ndim == len(space.shape) + 1
        rows = []
        for m, directory in enumerate(dirs):
            module = outputs.load_module(directory, self.track.architecture)
            points, labels = (x, y) if shared else (x[m], y[m])
            rows.append(
                label_only.model_robustness(
                    [module], points.numpy(), labels.numpy(), space=space,
                    defence=self.track.defence, copies=self.copies, seed=self.seed,
                )[0]
            )  # fmt: skip
        return np.stack(rows)


def _compute(
    track: Track,
    shadows: list[tuple[int, Path]],
    target_models: list[tuple[str, int, Path]],
    options: dict,
    models: Models,
    device: torch.device | str = "cpu",
) -> Observations:
    data, name = track.dataset, track.architecture
    points = [challenge_points(d, data) for _, _, d in target_models]
    rows = torch.stack([p.indices for p in points]).numpy()
    union, target_points = np.unique(rows, return_inverse=True)
    target_points = target_points.reshape(rows.shape)
    shadow_in = np.stack([np.isin(union, _training_set(track, d)) for _, d in shadows])
    z, shadow_population_in = _reference_points(track, union, shadows, options)
    shadow_dirs = [d for _, d in shadows]
    target_dirs = [d for _, _, d in target_models]
    x_points, y_points = data.x[torch.from_numpy(union)], data.y[torch.from_numpy(union)]
    x_targets, y_targets = data.x[torch.from_numpy(rows)], data.y[torch.from_numpy(rows)]
    x_z = data.x[torch.from_numpy(z)]
    extra = {}
    if options["gradients"]:
        extra = {
            "shadow_grad_norms": outputs.gradient_norms(
                shadow_dirs, name, x_points, y_points, device=device
            ),
            "target_grad_norms": outputs.gradient_norms(
                target_dirs, name, x_targets, y_targets, device=device
            ),
        }
    if options["robustness"]:
        extra |= {
            "shadow_robustness": models.robustness(shadow_dirs, x_points, y_points),
            "target_robustness": models.robustness(target_dirs, x_targets, y_targets),
        }
    membership = [p.membership for p in points]
    known = all(m is not None for m in membership)
    return Observations(
        labels=y_points.numpy(),
        shadow_logits=models.logits(shadow_dirs, x_points),
        shadow_in=shadow_in,
        target_points=target_points,
        target_logits=models.logits(target_dirs, x_targets),
        population_labels=data.y[torch.from_numpy(z)].numpy(),
        shadow_population_logits=models.logits(shadow_dirs, x_z),
        target_population_logits=models.logits(target_dirs, x_z),
        target_ids=tuple((phase, i) for phase, i, _ in target_models),
        target_in=np.stack([m.numpy() for m in membership if m is not None]) if known else None,
        shadow_population_in=shadow_population_in,
        **extra,
    )


def _reference_points(
    track: Track, challenge: np.ndarray, shadows: list[tuple[int, Path]], options: dict
) -> tuple[np.ndarray, np.ndarray | None]:
    """A seeded sample of the track's reserved population, never trained on; or, for a track
    that reserves none (MICO's), of the dataset's other rows, with which shadow trained on
    which (targets may have trained on some of them too: their membership is the secret)."""
    rng = np.random.default_rng(options["seed"])
    if len(track.population):
        count = min(options["population"], len(track.population))
        return np.sort(rng.choice(track.population, count, replace=False)), None
    others = np.setdiff1d(np.arange(len(track.dataset)), challenge)
    count = min(options["population"], len(others))
    z = np.sort(rng.choice(others, count, replace=False))
    return z, np.stack([np.isin(z, _training_set(track, d)) for _, d in shadows])


def _save(obs: Observations, path: Path) -> None:
    arrays = {
        f.name: getattr(obs, f.name)
        for f in fields(obs)
        if f.name != "target_ids" and getattr(obs, f.name) is not None
    }
    arrays["target_phases"] = np.array([phase for phase, _ in obs.target_ids])
    arrays["target_indices"] = np.array([index for _, index in obs.target_ids])
    temporary = path.with_suffix(".tmp.npz")
    np.savez(temporary, **arrays)
    temporary.replace(path)


def _load(path: Path) -> Observations:
    with np.load(path) as archive:
        arrays = {key: archive[key] for key in archive.files}
    phases, indices = arrays.pop("target_phases"), arrays.pop("target_indices")
    ids = tuple((str(p), int(i)) for p, i in zip(phases, indices))
    return Observations(**arrays, target_ids=ids)
