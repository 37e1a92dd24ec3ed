"""A tiny bundle in MICO's layout, written with the zoo's own split functions.

Models keep their seeded initial weights (no training): observations only need their outputs.
The manifest and population go beside ``<track>/`` (the zoo's layout) unless ``beside=False``
(the older layout, which still loads).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from benchmark.zoo.datasets import load_dataset
from benchmark.zoo.models import init_module
from benchmark.zoo.splits import TrackFiles, model_split, population_split

CHALLENGE, TRAINING, POPULATION = 10, 300, 150


def write_tiny_bundle(
    root: Path,
    *,
    train: int = 4,
    dev: int = 2,
    final: int = 1,
    beside: bool = True,
    population: int = POPULATION,
) -> Path:
    """``<root>/tiny/`` with one scenario ``inf`` of digits CNNs; returns the track directory.

    ``beside``: write ``<root>/tiny.dataset.json`` and ``<root>/tiny.population.csv`` (the
    zoo's layout); ``False`` writes ``tiny/dataset.json`` and ``tiny/population.csv`` instead.
    ``population=0`` reserves none, as MICO's tracks.
    """
    data = load_dataset("digits")
    track = root / "tiny"
    track.mkdir(parents=True)
    reserved, pool = population_split(len(data), population, seed=1)
    manifest = {
        "records": len(data),
        "challenge": CHALLENGE,
        "training": TRAINING,
        "dataset": {"name": "digits", "path": "", "size": 0, "seed": 0},
        "architecture": "cnn-digits",
    }
    files = TrackFiles.beside(track) if beside else TrackFiles.inside(track)
    files.manifest.write_text(json.dumps(manifest))
    files.population.write_text("\n".join(str(int(i)) for i in reserved))
    phases = {"train": range(train), "dev": range(train, train + dev)}
    phases["final"] = range(train + dev, train + dev + final)
    for phase, indices in phases.items():
        for index in indices:
            directory = track / "tiny_inf" / phase / f"model_{index}"
            directory.mkdir(parents=True)
            seeds = {"seed_challenge": 100 + index, "seed_membership": 200 + index}
            seeds["seed_training"] = 300 + index
            torch.save(init_module("cnn-digits", index).state_dict(), directory / "model.pt")
            shown = seeds if phase == "train" else {"seed_challenge": seeds["seed_challenge"]}
            for name, value in shown.items():
                (directory / name).write_text(str(value))
            if phase == "train":
                split = model_split(pool, challenge=CHALLENGE, training=TRAINING, **seeds)
                membership = split.membership
                assert membership is not None
                (directory / "solution.csv").write_text(
                    ",".join(str(int(v)) for v in membership) + "\n"
                )
    return track
