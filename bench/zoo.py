"""Benchmark of the zoo's training engine on ``mlp-purchase`` against MICO-style baselines.

Measured in one run on the same data (random Purchase-like baskets, n scaled down; speed does
not depend on the labels), MICO hyperparameters (Adam, lr 1e-3, batch 512):

- plain: our engine (K models at once, the demo tracks' dtype) vs a MICO-style loop (one
  model at a time, DataLoader, Adam, float32) -> ``speedup_plain``;
- ``peak_fraction``: achieved FLOP/s of our plain engine / FLOP/s of a large float32 matmul;
- DP: our engine vs Opacus ``make_private`` (same σ, C, q, Poisson sampling) -> ``speedup_dp``;
- ``mico_purchase_hours``: hours to build tracks/purchase100.toml (600 models, n = 150,000,
  30 epochs, evaluation included) projected from the measured throughput.

Usage: ``python bench/zoo.py [--threads 1] [--n 10240] [--models 16]``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmark.zoo.engine import DPSettings, TrainConfig, forward_many, train_group
from benchmark.zoo.models import MLP
from benchmark.zoo.tracks import load_track

ROOT = Path(__file__).resolve().parents[1]
FLOPS_PER_SAMPLE = 6 * (600 * 128 + 128 * 100)  # forward 2, backward 4 per weight
SIGMA, CLIP = 1.0, 2.6


def matmul_flops() -> float:
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    a @ b
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - started)
    return 2 * 2048**3 / best


def mico_plain(x: torch.Tensor, y: torch.Tensor, epochs: int) -> float:
    """Seconds per model-epoch of MICO's loop: one model, DataLoader, Adam, float32."""
    model = MLP()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(TensorDataset(x, y), batch_size=512, shuffle=True)
    started = time.perf_counter()
    for _ in range(epochs):
        for inputs, targets in loader:
            optimizer.zero_grad()
            F.cross_entropy(model(inputs), targets).backward()
            optimizer.step()
    return (time.perf_counter() - started) / epochs


def opacus_dp(x: torch.Tensor, y: torch.Tensor, epochs: int) -> float:
    """Seconds per model-epoch of Opacus make_private with Poisson sampling."""
    from opacus import PrivacyEngine

    model = MLP()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(TensorDataset(x, y), batch_size=512, shuffle=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model, optimizer, loader = PrivacyEngine(accountant="prv").make_private(
            module=model,
            optimizer=optimizer,
            data_loader=loader,
            noise_multiplier=SIGMA,
            max_grad_norm=CLIP,
            poisson_sampling=True,
        )
        started = time.perf_counter()
        for _ in range(epochs):
            for inputs, targets in loader:
                optimizer.zero_grad()
                F.cross_entropy(model(inputs), targets).backward()
                optimizer.step()
    return (time.perf_counter() - started) / epochs


def ours(
    x: torch.Tensor, y: torch.Tensor, *, models: int, epochs: int, dtype: str, dp: DPSettings | None
) -> float:
    """Seconds per model-epoch of our engine training ``models`` models together."""
    rows = torch.stack([torch.randperm(len(x)) for _ in range(models)])
    config = TrainConfig("adam", 1e-3, epochs, 512, 5, 0.9, dtype, dp=dp)
    seeds = list(range(models))
    result = train_group(
        "mlp-purchase",
        x,
        y,
        rows,
        config=config,
        init_seeds=seeds,
        order_seeds=seeds,
        noise_seeds=seeds if dp else None,
    )
    return result.wall_s / (models * epochs)


def forward_seconds_per_point(x: torch.Tensor, models: int, dtype: str) -> float:
    params = {
        k: v.unsqueeze(0).repeat(models, *[1] * v.ndim) for k, v in MLP().state_dict().items()
    }
    started = time.perf_counter()
    forward_many(params, "mlp-purchase", x, dtype=dtype)
    return (time.perf_counter() - started) / (models * len(x))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--n", type=int, default=10240)
    parser.add_argument("--models", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    track = load_track(ROOT / "tracks" / "purchase100.toml")
    dtype = load_track(ROOT / "tracks" / "demo-purchase.toml").train_defaults.dtype
    generator = torch.Generator().manual_seed(0)
    x = (torch.rand(args.n, 600, generator=generator) < 0.05).float()
    y = torch.randint(0, 100, (args.n,), generator=generator)
    peak = matmul_flops()
    print(f"threads {args.threads}, n {args.n}, {args.models} models per group, dtype {dtype}")
    print(f"float32 2048x2048 matmul: {peak / 1e9:.1f} GFLOP/s")
    base_plain = mico_plain(x, y, args.epochs)
    our_plain = ours(x, y, models=args.models, epochs=args.epochs, dtype=dtype, dp=None)
    achieved = FLOPS_PER_SAMPLE * args.n / our_plain
    print(
        f"plain, s per model-epoch: MICO-style {base_plain:.3f}, ours {our_plain:.3f}"
        f" ({achieved / 1e9:.1f} GFLOP/s)"
    )
    dp = DPSettings(SIGMA, CLIP, 512 / args.n)
    base_dp = opacus_dp(x, y, 1)
    our_dp = ours(x, y, models=args.models, epochs=1, dtype=dtype, dp=dp)
    print(f"DP-SGD, s per model-epoch: Opacus {base_dp:.3f}, ours {our_dp:.3f}")
    forward = forward_seconds_per_point(x, args.models, dtype)
    records = 197_324
    per_model = {}
    for scenario in track.scenarios:
        epoch = our_dp if scenario.private else our_plain
        train_s = epoch * track.training / args.n * scenario.training.epochs
        per_model[scenario.slug] = train_s + forward * (records - track.population)
    models = track.models.train + track.models.dev + track.models.final
    hours = sum(per_model.values()) * models / 3600
    print(
        f"purchase100 projection: {models} models x {len(track.scenarios)} scenarios, "
        + ", ".join(f"{k} {v:.0f} s/model" for k, v in per_model.items())
    )
    print(f"speedup_plain: {base_plain / our_plain:.2f}")
    print(f"peak_fraction: {achieved / peak:.2f}")
    print(f"speedup_dp: {base_dp / our_dp:.2f}")
    print(f"mico_purchase_hours: {hours:.2f}")


if __name__ == "__main__":
    main()
