"""A MICO-layout release written the way MICO made its archives, for import tests.

A Purchase-format ``dataset_purchase`` file (label 1..100, then 600 binary features); per
model, three 64-bit seeds drawn as MICO's training scripts drew them, MICO's ``ChallengeDataset``
split procedure with ``torch.utils.data.random_split`` (the same mt19937 stream as
torchcsprng's), a model's ``state_dict`` (not trained: import does not care) with Opacus's
``_module.`` prefix on the DP scenarios' models, the seed files MICO shipped, train models'
``solution.csv``, and MICO's ``ref/`` tree with the dev and final solutions.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Subset, TensorDataset, random_split

from benchmark.zoo.models import init_module

TRACK = """
slug = "{slug}"
name = "MICO-style import"
dataset = "purchase100"
dataset_path = "{data}"
population = 0
architecture = "mlp-purchase"
challenge = {m}
training_size = {n}
models = {{ train = {train}, dev = {dev}, final = {final} }}
chunk = 4
reveal_training_seeds = {reveal}
eps_error = 0.1

[training]
optimizer = "adam"
lr = 0.001
epochs = 1
batch = 32
lr_step = 5
lr_gamma = 0.9

[limits]
per_day = 30
total = 1000
invalid_per_day = 30
max_bytes = 2_000_000

[phases]
dev_opens = 2026-01-01T00:00:00Z
final_deadline = 2030-12-31T23:59:00Z

[[scenario]]
slug = "inf"
epsilon = "inf"

[[scenario]]
slug = "lo"
epsilon = 4.0
delta = 1e-5
clip = 2.6
"""


def write_purchase_file(path: Path, records: int = 400, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    labels = rng.integers(1, 101, records)
    features = (rng.random((records, 600)) < 0.05).astype(int)
    rows = np.column_stack([labels, features])
    np.savetxt(path, rows, fmt="%d", delimiter=",")
    return path


def mico_splits(n_records: int, *, m: int, n: int, seeds: tuple[int, int, int]):
    """MICO's ChallengeDataset on ``range(n_records)``: challenge, member, training rows."""
    seed_challenge, seed_training, seed_membership = seeds
    rows = TensorDataset(torch.arange(n_records))
    challenge: Subset[tuple[torch.Tensor, ...]]
    rest: Subset[tuple[torch.Tensor, ...]]
    challenge, rest = random_split(
        rows,
        [2 * m, n_records - 2 * m],
        generator=torch.Generator().manual_seed(seed_challenge),
    )
    # The training split consumes seed_training, as MICO's does; the rows it picks are not needed.
    random_split(
        rest, [n - m, len(rest) - (n - m)], generator=torch.Generator().manual_seed(seed_training)
    )
    _nonmember, member = random_split(
        challenge, [m, m], generator=torch.Generator().manual_seed(seed_membership)
    )
    challenge_rows = list(challenge.indices)  # dataset rows, in challenge order
    member_rows = {challenge.indices[i] for i in member.indices}
    return challenge_rows, [1 if row in member_rows else 0 for row in challenge_rows]


def write_release(
    root: Path,
    *,
    slug: str = "micoish",
    m: int = 10,
    n: int = 60,
    train: int = 2,
    dev: int = 2,
    final: int = 2,
    reveal: bool = False,
    records: int = 400,
) -> dict:
    """``root/release/<slug>/``, ``root/ref/<slug>/`` and the track file; returns their paths
    and every model's challenge rows and labels."""
    root.mkdir(parents=True, exist_ok=True)
    data = write_purchase_file(root / "dataset_purchase", records)
    toml = root / f"{slug}.toml"
    toml.write_text(
        TRACK.format(slug=slug, data=data, m=m, n=n, train=train, dev=dev, final=final,
                     reveal=str(reveal).lower())
    )  # fmt: skip
    generator = torch.Generator().manual_seed(1234)
    truth = {}
    for scenario in ("inf", "lo"):
        for phase, indices in (
            ("train", range(train)),
            ("dev", range(train, train + dev)),
            ("final", range(train + dev, train + dev + final)),
        ):
            for index in indices:
                # MICO: torch.empty(3, dtype=torch.int64).random_(0, to=None, generator=...)
                seeds = tuple(int(s) for s in torch.empty(3, dtype=torch.int64).random_(
                    0, to=None, generator=generator))  # fmt: skip
                rows, labels = mico_splits(records, m=m, n=n, seeds=seeds)  # type: ignore[arg-type]
                truth[(scenario, phase, index)] = (rows, labels)
                folder = root / "release" / slug / f"{slug}_{scenario}" / phase / f"model_{index}"
                folder.mkdir(parents=True)
                state = init_module("mlp-purchase", index).state_dict()
                if scenario == "lo":
                    state = {f"_module.{key}": value for key, value in state.items()}
                torch.save(state, folder / "model.pt")
                names = ["seed_challenge", "seed_training", "seed_membership"]
                reveal_here = {"seed_challenge"} | ({"seed_training"} if reveal else set())
                for name, seed in zip(names, seeds):
                    if phase == "train" or name in reveal_here:
                        (folder / name).write_text(f"{seed}\n")
                if phase == "train":
                    target = folder / "solution.csv"
                else:
                    target = root / "ref" / slug / f"{slug}_{scenario}" / phase / f"model_{index}"
                    target.mkdir(parents=True)
                    target = target / "solution.csv"
                with open(target, "w", newline="") as handle:
                    csv.writer(handle).writerow(labels)
    return {
        "track": toml,
        "release": root / "release",
        "solutions": root / "ref",
        "data": data,
        "truth": truth,
    }
