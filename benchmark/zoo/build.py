"""Build a track's zoo in chunks: the unit of work of one Celery task.

``plan(track)`` lists the chunks (one scenario, one phase, at most ``track.chunk`` models);
``build_chunk`` trains and writes one chunk and is idempotent: a chunk whose files all exist
is skipped (files are written atomically, so an existing file is complete), and a re-run
produces identical files because every seed derives from (track, scenario, phase, index).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from benchmark.zoo import bundles, dp, text, transformer
from benchmark.zoo.datasets import TensorData, load_dataset
from benchmark.zoo.device import Compute, resolve_dtype
from benchmark.zoo.engine import DPSettings, TrainConfig, accuracy, train_group
from benchmark.zoo.models import unstack
from benchmark.zoo.splits import POPULATION, model_split, population_split
from benchmark.zoo.text import encoder_reference
from benchmark.zoo.tracks import PHASES, ScenarioSpec, TrackSpec

SEED_KINDS = ("challenge", "membership", "training", "init", "order", "noise")


@dataclasses.dataclass(frozen=True)
class Chunk:
    """Models ``indices`` of one scenario and phase, trained together."""

    scenario: str
    phase: str
    indices: tuple[int, ...]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Chunk:
        """Inverse of ``dataclasses.asdict`` (for task arguments)."""
        return cls(
            str(data["scenario"]), str(data["phase"]), tuple(int(i) for i in data["indices"])
        )


@dataclasses.dataclass(frozen=True)
class ModelRecord:
    """What the build records about one model (``record.json`` in the organizer tree).

    ``epsilon_spent`` and ``noise_multiplier`` are ``None`` for plain training (and for imported
    models, as are the accuracies a release's hidden seeds keep from being measured); ``wall_s`` is
    the chunk's training time divided by its number of models; ``dtype`` and ``device`` say
    what it trained in and on.
    """

    track: str
    scenario: str
    phase: str
    index: int
    seeds: dict[str, int]
    train_acc: float | None
    eval_acc: float | None
    epsilon_spent: float | None
    noise_multiplier: float | None
    dtype: str
    wall_s: float
    device: str = "cpu"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def derive_seed(track: str, scenario: str, phase: str, index: int, kind: str) -> int:
    """A 62-bit seed from SHA-256 of ``track/scenario/phase/index/kind``."""
    if kind not in SEED_KINDS:
        raise ValueError(f"seed kind must be one of {SEED_KINDS}, got {kind!r}")
    digest = hashlib.sha256(f"{track}/{scenario}/{phase}/{index}/{kind}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 2


def population_seed(track: TrackSpec, scenario: ScenarioSpec | None = None) -> int:
    """Seed of the track's population split (of a scenario's, for data of its own)."""
    where = track.slug
    if scenario is not None and not shares_track_data(track, scenario):
        where = f"{track.slug}/{scenario.folder}"
    digest = hashlib.sha256(f"{where}/population".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 2


def plan(track: TrackSpec) -> list[Chunk]:
    """Every chunk of the track: per scenario, per phase, ``track.chunk`` models at a time."""
    chunks = []
    for scenario in track.scenarios:
        for phase in PHASES:
            indices = list(track.models.phase_range(phase))
            for start in range(0, len(indices), track.chunk):
                chunks.append(
                    Chunk(scenario.slug, phase, tuple(indices[start : start + track.chunk]))
                )
    return chunks


def track_dataset(track: TrackSpec) -> TensorData:
    """The track's dataset (cached per process)."""
    return load_dataset(
        track.dataset,
        path=track.dataset_path,
        size=track.dataset_size,
        seed=track.dataset_seed,
        **text_options(track),
    )


def _scenario_text(track: TrackSpec, scenario: ScenarioSpec | None) -> dict[str, Any]:
    same = scenario is None or shares_track_data(track, scenario)
    return text_options(track) if same else {}


def text_options(track: TrackSpec) -> dict[str, Any]:
    """A text track's encoder and tokens per sentence, as ``load_dataset`` takes them."""
    options: dict[str, Any] = {}
    if track.model_path:
        options["encoder"] = track.model_path
    if track.max_length:
        options["max_length"] = track.max_length
    top = transformer.top_architecture(track.architecture)
    if top is not None and top.tokens:  # full fine-tuning: the points are token ids
        options["tokens"] = True
    elif top is not None:  # top-k fine-tuning: the points are the hidden states below the top
        options["layers"] = top.layers
    return options


def scenario_dataset(track: TrackSpec, scenario: ScenarioSpec) -> TensorData:
    """A scenario's dataset: the track's, or its own (MICO's DP-distinguisher track)."""
    if shares_track_data(track, scenario):
        return track_dataset(track)
    return load_dataset(
        scenario.dataset,
        path=scenario.dataset_path,
        size=scenario.dataset_size,
        seed=scenario.dataset_seed,
    )


def shares_track_data(track: TrackSpec, scenario: ScenarioSpec) -> bool:
    """True when the scenario draws from the track's dataset and population."""
    own = (scenario.dataset, scenario.dataset_path, scenario.dataset_size, scenario.dataset_seed)
    theirs = (track.dataset, track.dataset_path, track.dataset_size, track.dataset_seed)
    return own == theirs and scenario.population == track.population


def population_file(track: TrackSpec, scenario: ScenarioSpec | None = None) -> str:
    """The population's file name beside ``<track>/``: one for the track, and one per scenario
    with data of its own (``<track>.<folder>.population.csv``)."""
    if scenario is None or shares_track_data(track, scenario):
        return f"{track.slug}.{POPULATION}"
    return f"{track.slug}.{scenario.folder}.{POPULATION}"


def population_and_pool(
    track: TrackSpec, scenario: ScenarioSpec | None = None, dataset: TensorData | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The public population and the pool models draw from, of a scenario (or the track), as
    rows of its dataset; with ``population = 0`` the pool is every row, in order, as MICO's
    splits need."""
    if scenario is not None and shares_track_data(track, scenario):
        scenario = None
    if dataset is None:
        return _population(track, scenario)
    return _split_population(track, scenario, dataset)


@functools.lru_cache(maxsize=8)
def _population(
    track: TrackSpec, scenario: ScenarioSpec | None
) -> tuple[torch.Tensor, torch.Tensor]:
    data = track_dataset(track) if scenario is None else scenario_dataset(track, scenario)
    return _split_population(track, scenario, data)


def _split_population(
    track: TrackSpec, scenario: ScenarioSpec | None, data: TensorData
) -> tuple[torch.Tensor, torch.Tensor]:
    population = track.population if scenario is None else scenario.population
    challenge = track.challenge if scenario is None else scenario.challenge
    training = track.training if scenario is None else scenario.training_size
    needed = population + training + challenge + 1
    if len(data) < needed:
        where = track.slug if scenario is None else f"{track.slug}_{scenario.slug}"
        raise ValueError(
            f"{where}: dataset has {len(data)} records, population + training + "
            f"challenge + 1 = {needed} needed"
        )
    return population_split(len(data), population, seed=population_seed(track, scenario))


def track_populations(track: TrackSpec) -> dict[str, torch.Tensor]:
    """Every population file of the track and its rows."""
    files = {population_file(track): population_and_pool(track)[0]}
    for scenario in track.scenarios:
        files.setdefault(population_file(track, scenario), population_and_pool(track, scenario)[0])
    return files


def _features(data: Any) -> dict[str, Any]:
    """The dataset's feature space as JSON holds it (the shape a list)."""
    space = dataclasses.asdict(data.feature_space())
    return {**space, "shape": list(space["shape"])}


def _data_entry(track: TrackSpec, scenario: ScenarioSpec | None) -> dict[str, Any]:
    data = track_dataset(track) if scenario is None else scenario_dataset(track, scenario)
    source = track if scenario is None else scenario
    return {
        "dataset": {
            "name": source.dataset,
            "path": Path(source.dataset_path).name,
            "size": source.dataset_size,
            "seed": source.dataset_seed,
            **(
                text_options(track)
                if scenario is None or shares_track_data(track, scenario)
                else {}
            ),
        },
        "records": len(data),
        "num_classes": data.num_classes,
        "features": _features(data),
        "checksum_sha256": data.checksum(),
        "architecture": source.architecture,
        "population": source.population,
        "population_seed": population_seed(track, scenario),
        "population_file": population_file(track, scenario),
        "challenge": source.challenge,
        "training": track.training if scenario is None else scenario.training_size,
    }


def manifest(track: TrackSpec) -> dict[str, Any]:
    """The participant-facing ``<track>.dataset.json``.

    ``manifest["dataset"]`` holds exactly :func:`~benchmark.zoo.load_dataset`'s arguments, so
    ``load_dataset(**manifest["dataset"])`` loads the track's data (a text track's sentences
    as its frozen encoder's activations; ``manifest["base_model"]`` names that encoder with the
    SHA-256 of its weights: a bundle holds the trained heads, not the base model). Its
    ``path`` is the name of the organizer's file or folder (``""`` for generated datasets): a
    participant runs from the folder holding it, or passes their own ``path``.
    ``manifest["folders"]`` gives each scenario folder its scenario and the same facts for its
    data (a scenario may have a dataset and architecture of its own, as in MICO's
    DP-distinguisher track).
    """
    base = {"base_model": encoder_reference(track.model_path)} if track.model_path else {}
    return {
        "track": track.slug,
        "access": track.access,
        **base,
        **_data_entry(track, None),
        "scenarios": [s.slug for s in track.scenarios],
        "folders": {
            s.folder: {
                "scenario": s.slug,
                **_data_entry(track, s),
                "recipe": _recipe(s),
                "release": dataclasses.asdict(s.defence),
            }
            for s in track.scenarios
        },
    }


def _recipe(scenario: ScenarioSpec) -> dict[str, Any]:
    """How the scenario's models trained, for participants who train shadows (a black-box
    bundle holds no weights): the [training] values and the privacy of training."""
    recipe: dict[str, Any] = dataclasses.asdict(scenario.training)
    recipe["epsilon"] = "inf" if not scenario.private else scenario.epsilon
    if scenario.private:
        recipe |= {"delta": scenario.delta, "clip": scenario.clip}
    return recipe


@functools.lru_cache(maxsize=32)
def dp_settings(track: TrackSpec, scenario: ScenarioSpec) -> DPSettings | None:
    """σ calibrated once per scenario to (ε, δ) for the planned steps; ``None`` without DP.

    As Opacus's ``make_private`` does with a data loader of ``batch``: ``steps = ceil(n /
    batch)`` per epoch and ``q = 1 / steps`` (MICO's ``1 / len(train_loader)``; not
    ``batch / n``), calibrated with the track's accountant and ``eps_error``.
    """
    if not scenario.private:
        return None
    assert scenario.delta is not None and scenario.clip is not None
    config = scenario.training
    per_epoch = math.ceil(scenario.training_size / config.batch)
    rate = 1 / per_epoch
    sigma = dp.noise_multiplier(
        epsilon=scenario.epsilon,
        delta=scenario.delta,
        sample_rate=rate,
        steps=config.epochs * per_epoch,
        accountant=track.accountant,
        eps_error=track.eps_error,
    )
    return DPSettings(noise_multiplier=sigma, clip=scenario.clip, sample_rate=rate)


def train_config(
    track: TrackSpec, scenario: ScenarioSpec, compute: Compute | None = None
) -> TrainConfig:
    """The engine configuration of a scenario, its dtype resolved for ``compute``'s device."""
    t = scenario.training
    where = compute.device if compute is not None else torch.device("cpu")
    return TrainConfig(
        optimizer=t.optimizer,
        lr=t.lr,
        epochs=t.epochs,
        batch=t.batch,
        lr_step=t.lr_step,
        lr_gamma=t.lr_gamma,
        dtype=resolve_dtype(t.dtype, where),
        momentum=t.momentum,
        dp=dp_settings(track, scenario),
        shuffle=t.shuffle,
        weight_decay=t.weight_decay,
        physical_batch=t.physical_batch,
    )


def _check_chunk(track: TrackSpec, chunk: Chunk) -> ScenarioSpec:
    scenario = track.scenario(chunk.scenario)
    allowed = track.models.phase_range(chunk.phase)
    outside = [i for i in chunk.indices if i not in allowed]
    if not chunk.indices or outside:
        raise ValueError(
            f"chunk indices {outside or '[]'} are not {chunk.phase} models of {track.slug}"
        )
    return scenario


def is_chunk_complete(track: TrackSpec, chunk: Chunk, out_dir: str | Path) -> bool:
    """True when every file of every model of the chunk exists (hence is complete)."""
    _check_chunk(track, chunk)
    for index in chunk.indices:
        where = (track, chunk.scenario, chunk.phase, index)
        mine = bundles.model_dir(out_dir, *where)
        theirs = bundles.solution_dir(out_dir, *where)
        if not all(
            (mine / name).is_file() for name in bundles.participant_files(track, chunk.phase)
        ):
            return False
        if not all((theirs / name).is_file() for name in bundles.organizer_files(chunk.phase)):
            return False
    return True


def _read_records(track: TrackSpec, chunk: Chunk, out_dir: str | Path) -> list[ModelRecord]:
    records = []
    for index in chunk.indices:
        folder = bundles.solution_dir(out_dir, track, chunk.scenario, chunk.phase, index)
        records.append(ModelRecord(**json.loads((folder / bundles.RECORD).read_text())))
    return records


def build_chunk(
    track: TrackSpec,
    chunk: Chunk | Mapping[str, Any],
    out_dir: str | Path,
    *,
    progress: Callable[[float], None] | None = None,
    compute: Compute | None = None,
) -> list[ModelRecord]:
    """Train and write one chunk (or read its records back if it is already complete).

    Parameters
    ----------
    track : TrackSpec
    chunk : Chunk or its ``dataclasses.asdict`` form
    out_dir : str or Path
        Build directory: participant tree ``<out>/<track>/`` with ``<out>/<track>.README.md``,
        ``<out>/<track>.dataset.json`` and ``<out>/<track>.population.csv`` beside it,
        organizer tree ``<out>/solutions/<track>/`` (see :mod:`benchmark.zoo.bundles`).
    progress : callable, keyword-only
        Called with the fraction of the chunk done, in [0, 1].
    compute : Compute, keyword-only
        Device and what the track's ``dtype`` means there (default: ``Compute.resolve()``,
        CUDA if present); each record says the dtype and device it trained on.

    Returns
    -------
    list[ModelRecord]
        One per model, in ``chunk.indices`` order.
    """
    chunk = chunk if isinstance(chunk, Chunk) else Chunk.from_dict(chunk)
    scenario = _check_chunk(track, chunk)
    pool = population_and_pool(track, scenario)[1]
    bundles.write_track_files(
        track, out_dir, manifest=manifest(track), populations=track_populations(track)
    )
    if is_chunk_complete(track, chunk, out_dir):
        if progress is not None:
            progress(1.0)
        return _read_records(track, chunk, out_dir)
    seeds = [
        {kind: derive_seed(track.slug, chunk.scenario, chunk.phase, i, kind) for kind in SEED_KINDS}
        for i in chunk.indices
    ]
    splits = [
        model_split(
            pool,
            challenge=scenario.challenge,
            training=scenario.training_size,
            seed_challenge=s["challenge"],
            seed_membership=s["membership"],
            seed_training=s["training"],
        )
        for s in seeds
    ]
    compute = compute or Compute.resolve()
    config = train_config(track, scenario, compute)
    data = scenario_dataset(track, scenario)
    train_rows = torch.stack([split.train_set for split in splits])
    eval_rows = torch.stack([split.evaluation for split in splits if split.evaluation is not None])

    init = None
    if transformer.top_architecture(scenario.architecture) is not None:
        encoder = text.encoder_model(track.model_path)
        init = transformer.init_params(scenario.architecture, encoder, [s["init"] for s in seeds])

    def report(epoch: int, epochs: int) -> None:
        if progress is not None:
            progress(0.95 * epoch / epochs)

    result = train_group(
        scenario.architecture,
        data.x,
        data.y,
        train_rows,
        config=config,
        init_seeds=[s["init"] for s in seeds],
        order_seeds=[s["order"] for s in seeds],
        noise_seeds=[s["noise"] for s in seeds] if config.dp else None,
        progress=report,
        device=compute.device,
        init=init,
    )
    train_acc, eval_acc = (
        accuracy(
            result.params,
            scenario.architecture,
            data.x,
            data.y,
            rows,
            dtype=config.dtype,
            device=compute.device,
        )
        for rows in (train_rows, eval_rows)
    )
    epsilon = None
    if config.dp is not None:
        assert scenario.delta is not None
        epsilon = dp.epsilon_spent(
            sigma=config.dp.noise_multiplier,
            delta=scenario.delta,
            sample_rate=config.dp.sample_rate,
            steps=config.epochs * config.steps_per_epoch(scenario.training_size),
            accountant=track.accountant,
            eps_error=track.eps_error,
        )
    records = []
    for k, (index, state) in enumerate(zip(chunk.indices, unstack(result.params))):
        record = ModelRecord(
            track=track.slug,
            scenario=chunk.scenario,
            phase=chunk.phase,
            index=index,
            seeds=seeds[k],
            train_acc=float(train_acc[k]),
            eval_acc=float(eval_acc[k]),
            epsilon_spent=epsilon,
            noise_multiplier=config.dp.noise_multiplier if config.dp else None,
            dtype=config.dtype,
            wall_s=result.wall_s / len(chunk.indices),
            device=compute.device.type,
        )
        membership = splits[k].membership
        assert membership is not None
        bundles.write_model(track, record, state, membership, out_dir)
        records.append(record)
    if progress is not None:
        progress(1.0)
    return records


def build_track(
    track: TrackSpec,
    out_dir: str | Path,
    progress: Callable[[float, int], None] | None = None,
    *,
    compute: Compute | None = None,
) -> list[ModelRecord]:
    """Build every chunk in order on ``compute`` (default: ``Compute.resolve()``), calling
    ``progress(models_done, models_total)`` as it goes (fractional within a chunk)."""
    compute = compute or Compute.resolve()
    chunks = plan(track)
    total = sum(len(c.indices) for c in chunks)
    done = 0
    records: list[ModelRecord] = []
    for chunk in chunks:

        def within(fraction: float, base: int = done, size: int = len(chunk.indices)) -> None:
            if progress is not None:
                progress(base + fraction * size, total)

        records.extend(build_chunk(track, chunk, out_dir, progress=within, compute=compute))
        done += len(chunk.indices)
    return records
