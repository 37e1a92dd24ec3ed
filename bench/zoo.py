"""Benchmark of the zoo's training engine on ``mlp-purchase`` against MICO-style baselines.

Measured in one run on the same data (random Purchase-like baskets, n scaled down; speed does
not depend on the labels), MICO's hyperparameters (Adam, lr 1e-3, batch 512):

- plain: our engine (K models at once, in the auto dtype of ``benchmark.zoo.device``) vs a
  MICO-style loop (one model, DataLoader, Adam, float32) on the same cores -> ``speedup_plain``;
- ``peak_fraction``: achieved FLOP/s of our plain engine (6 FLOPs per weight and sample) / a
  large matmul in the same dtype on the same cores;
- DP: our engine vs Opacus ``make_private`` (same σ, C, q, Poisson sampling) -> ``speedup_dp``;
- ``mico_purchase_hours``: hours to build tracks/purchase100.toml (600 models, n = 150,000,
  30 epochs, accuracy evaluation included) on this machine, projected from the measured
  throughput on all cores.

Every core can be used two ways, and both are measured: one process with every core as torch
threads ("threads"), or one process per core with one thread each, each training its own group
("groups", what a zoo worker with ``--concurrency <cores>`` does). The faster one counts.
Each figure is the best of ``--repeat`` runs after a warm-up (oneDNN compiles its bfloat16
kernels on first use).

Usage: ``python bench/zoo.py [--device auto] [--n 10240] [--models 16] [--epochs 2]``.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmark.zoo.build import dp_settings
from benchmark.zoo.device import cores, cpu_flags, resolve_device, resolve_dtype
from benchmark.zoo.engine import DPSettings, TrainConfig, forward_many, train_group
from benchmark.zoo.models import MLP
from benchmark.zoo.tracks import load_track

ROOT = Path(__file__).resolve().parents[1]
FLOPS_PER_SAMPLE = 6 * (600 * 128 + 128 * 100)  # forward 2, backward 4 per weight
SIGMA, CLIP = 1.0, 2.6


def data(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    x = (torch.rand(n, 600, generator=generator) < 0.05).float()
    return x, torch.randint(0, 100, (n,), generator=generator)


def matmul_flops(dtype: str, device: torch.device) -> float:
    kind = torch.bfloat16 if dtype == "bfloat16" else torch.float32
    a = torch.randn(2048, 2048, device=device).to(kind)
    b = torch.randn(2048, 2048, device=device).to(kind)
    best = float("inf")
    for _ in range(12):
        started = time.perf_counter()
        a @ b
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - started)
    return 2 * 2048**3 / best


def mico_plain(x: torch.Tensor, y: torch.Tensor, epochs: int, device: torch.device) -> float:
    """Seconds per model-epoch of MICO's loop: one model, DataLoader, Adam, float32."""
    model = MLP().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(TensorDataset(x, y), batch_size=512, shuffle=True)
    started = time.perf_counter()
    for _ in range(epochs):
        for inputs, targets in loader:
            optimizer.zero_grad()
            F.cross_entropy(model(inputs.to(device)), targets.to(device)).backward()
            optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - started) / epochs


def opacus_dp(x: torch.Tensor, y: torch.Tensor, epochs: int, device: torch.device) -> float:
    """Seconds per model-epoch of Opacus make_private with Poisson sampling."""
    from opacus import PrivacyEngine

    model = MLP().to(device)
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
                F.cross_entropy(model(inputs.to(device)), targets.to(device)).backward()
                optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - started) / epochs


def ours(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    models: int,
    epochs: int,
    dtype: str,
    dp: DPSettings | None,
    device: torch.device,
    architecture: str = "mlp-purchase",
    config: TrainConfig | None = None,
) -> float:
    """Seconds per model-epoch of our engine training ``models`` models together."""
    rows = torch.stack([torch.randperm(len(x)) for _ in range(models)])
    config = config or TrainConfig("adam", 1e-3, epochs, 512, 5, 0.9, dtype, dp=dp)
    seeds = list(range(models))
    result = train_group(
        architecture,
        x,
        y,
        rows,
        config=config,
        init_seeds=seeds,
        order_seeds=seeds,
        noise_seeds=seeds if dp else None,
        device=device,
    )
    return result.wall_s / (models * epochs)


def best_of(repeat: int, run: Callable[[], float]) -> float:
    run()  # warm-up: kernel selection, oneDNN's bfloat16 code generation
    return min(run() for _ in range(repeat))


def _group_process(args: tuple, barrier: object, out: object) -> None:
    """One of the "groups": a process with one thread training its own group."""
    n, models, epochs, dtype, private, repeat = args
    torch.set_num_threads(1)
    x, y = data(n)
    dp = DPSettings(SIGMA, CLIP, 512 / n) if private else None
    kwargs = {"models": models, "dtype": dtype, "dp": dp, "device": torch.device("cpu")}
    ours(x, y, epochs=1, **kwargs)  # warm-up
    best = float("inf")
    for _ in range(repeat):
        barrier.wait()  # type: ignore[attr-defined]
        started = time.perf_counter()
        ours(x, y, epochs=epochs, **kwargs)
        best = min(best, time.perf_counter() - started)
    out.put(best)  # type: ignore[attr-defined]


def groups(n: int, models: int, epochs: int, dtype: str, private: bool, repeat: int) -> float:
    """Seconds per model-epoch of ``cores()`` single-thread processes training side by side."""
    count = cores()
    context = mp.get_context("spawn")
    barrier, out = context.Barrier(count), context.Queue()
    args = (n, models, epochs, dtype, private, repeat)
    workers = [
        context.Process(target=_group_process, args=(args, barrier, out)) for _ in range(count)
    ]
    for worker in workers:
        worker.start()
    walls = [out.get() for _ in workers]
    for worker in workers:
        worker.join()
    return max(walls) / (count * models * epochs)


def forward_seconds_per_point(
    x: torch.Tensor, models: int, dtype: str, device: torch.device
) -> float:
    params = {
        k: v.unsqueeze(0).repeat(models, *[1] * v.ndim).to(device)
        for k, v in MLP().state_dict().items()
    }
    forward_many(params, "mlp-purchase", x, dtype=dtype)
    started = time.perf_counter()
    forward_many(params, "mlp-purchase", x, dtype=dtype)
    return (time.perf_counter() - started) / (models * len(x))


def measure(args: argparse.Namespace, threads: int, device: torch.device, dtype: str) -> dict:
    torch.set_num_threads(threads)
    x, y = data(args.n)
    dp = DPSettings(SIGMA, CLIP, 512 / args.n)
    common = {"models": args.models, "dtype": dtype, "device": device}
    return {
        "peak": matmul_flops(dtype, device),
        "mico": best_of(1, lambda: mico_plain(x, y, args.epochs, device)),
        "opacus": best_of(1, lambda: opacus_dp(x, y, 1, device)),
        "plain": best_of(args.repeat, lambda: ours(x, y, epochs=args.epochs, dp=None, **common)),
        "dp": best_of(args.repeat, lambda: ours(x, y, epochs=1, dp=dp, **common)),
        "forward": forward_seconds_per_point(x, args.models, dtype, device),
    }


def projection_hours(plain: float, private: float, forward: float, n: int) -> float:
    """tracks/purchase100.toml on this machine: every model's training and evaluation."""
    track = load_track(ROOT / "tracks" / "purchase100.toml")
    records = 197_324
    seconds = 0.0
    for scenario in track.scenarios:
        epoch = private if dp_settings(track, scenario) is not None else plain
        train_s = epoch * track.training / n * scenario.training.epochs
        models = track.models.train + track.models.dev + track.models.final
        seconds += models * (train_s + forward * (records - track.population))
    return seconds / 3600


def cifar_hours(device: torch.device, dtype: str, *, models: int, n: int) -> float:
    """tracks/cifar10.toml (600 CNNs, n = 50,000, 50 epochs, batch 32 plain, 512 with DP)
    projected from one epoch of ``models`` CNNs on ``n`` random 32×32 images."""
    track = load_track(ROOT / "tracks" / "cifar10.toml")
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(n, 3, 32, 32, generator=generator)
    y = torch.randint(0, 10, (n,), generator=generator)
    seconds = 0.0
    for scenario in track.scenarios:
        t = scenario.training
        dp = DPSettings(SIGMA, CLIP, t.batch / n) if scenario.private else None
        config = TrainConfig(t.optimizer, t.lr, 1, t.batch, t.lr_step, t.lr_gamma, dtype, dp=dp)

        def one_epoch(config: TrainConfig = config, dp: DPSettings | None = dp) -> float:
            return ours(x, y, models=models, epochs=1, dtype=dtype, dp=dp, device=device,
                        architecture="cnn-cifar", config=config)  # fmt: skip

        epoch = best_of(1, one_epoch)
        per_model = epoch * track.training / n * t.epochs
        print(f"cifar10_{scenario.slug}: {epoch:.3f} s per model-epoch on {n} images, "
              f"{per_model / 60:.1f} min per model")  # fmt: skip
        seconds += per_model * (track.models.train + track.models.dev + track.models.final)
    return seconds / 3600


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--n", type=int, default=10240)
    parser.add_argument("--models", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--cifar", action="store_true", help="also project tracks/cifar10.toml (for a GPU)"
    )
    args = parser.parse_args()
    device = resolve_device(args.device)
    dtype = resolve_dtype("auto", device)
    flags = sorted(f for f in cpu_flags() if f.startswith(("avx512", "amx", "avx2")))
    print(f"device {device.type}, auto dtype {dtype}, {cores()} cores; CPU flags: {flags}")
    print(f"n {args.n}, {args.models} models per group, best of {args.repeat}")
    every = cores() if device.type == "cpu" else torch.get_num_threads()
    rows = {}
    for threads in sorted({1, every}) if device.type == "cpu" else [every]:
        m = measure(args, threads, device, dtype)
        rows[threads] = m
        achieved = FLOPS_PER_SAMPLE * args.n / m["plain"]
        print(
            f"{threads} thread(s): {dtype} matmul {m['peak'] / 1e9:.0f} GFLOP/s; s per model-epoch:"
            f" MICO-style {m['mico']:.4f}, ours {m['plain']:.4f} ({achieved / 1e9:.0f} GFLOP/s);"
            f" DP: Opacus {m['opacus']:.4f}, ours {m['dp']:.4f}"
        )
    best = dict(rows[every])
    mode = "threads"
    if device.type == "cpu" and every > 1:
        side_plain = groups(args.n, args.models, args.epochs, dtype, False, args.repeat)
        side_dp = groups(args.n, args.models, 1, dtype, True, args.repeat)
        print(
            f"{every} groups side by side, 1 thread each: s per model-epoch plain {side_plain:.4f}"
            f" (threads: {best['plain']:.4f}), DP {side_dp:.4f} (threads: {best['dp']:.4f})"
        )
        print(f"groups_vs_threads_plain: {best['plain'] / side_plain:.2f}")
        print(f"groups_vs_threads_dp: {best['dp'] / side_dp:.2f}")
        if side_plain + 2 * side_dp < best["plain"] + 2 * best["dp"]:
            mode = "groups"
            best.update(plain=side_plain, dp=side_dp, forward=best["forward"])
    achieved = FLOPS_PER_SAMPLE * args.n / best["plain"]
    hours = projection_hours(best["plain"], best["dp"], best["forward"], args.n)
    one = rows.get(1, best)
    print(f"one thread: speedup_plain {one['mico'] / one['plain']:.2f}, peak_fraction "
          f"{FLOPS_PER_SAMPLE * args.n / one['plain'] / one['peak']:.2f}, "
          f"speedup_dp {one['opacus'] / one['dp']:.2f}")  # fmt: skip
    print(f"all cores as: {mode}")
    print(f"dtype: {dtype}")
    print(f"threads: {every}")
    print(f"speedup_plain: {best['mico'] / best['plain']:.2f}")
    print(f"peak_fraction: {achieved / best['peak']:.2f}")
    print(f"speedup_dp: {best['opacus'] / best['dp']:.2f}")
    print(f"mico_purchase_hours: {hours:.2f}")
    if args.cifar:
        cifar = cifar_hours(device, dtype, models=args.models, n=2048)
        print(f"mico_cifar{'_gpu' if device.type == 'cuda' else ''}_hours: {cifar:.2f}")


if __name__ == "__main__":
    main()
