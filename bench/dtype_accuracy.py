"""Accuracy and time by compute dtype on the demo tracks: float32 against bfloat16.

For every scenario of tracks/demo-purchase.toml and tracks/demo-digits.toml, trains the same
16 train models (same seeds) in float32 and in bfloat16 on all cores, and prints a Markdown
table of mean train / held-out accuracy and the seconds the group took.

    .venv/bin/python bench/dtype_accuracy.py [--models 16]
"""

import argparse
import dataclasses
import sys
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmark.zoo.build import Chunk, build_chunk  # noqa: E402
from benchmark.zoo.device import Compute, cpu_has_native_bfloat16, use_cores  # noqa: E402
from benchmark.zoo.tracks import TrackSpec, load_track  # noqa: E402
from benchmark.zoo.tracks.rules import Dtype  # noqa: E402


def with_dtype(spec: TrackSpec, dtype: Dtype) -> TrackSpec:
    scenarios = tuple(
        dataclasses.replace(s, training=dataclasses.replace(s.training, dtype=dtype))
        for s in spec.scenarios
    )
    defaults = dataclasses.replace(spec.train_defaults, dtype=dtype)
    return dataclasses.replace(spec, scenarios=scenarios, train_defaults=defaults)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=16)
    args = parser.parse_args()
    threads = use_cores()
    native = cpu_has_native_bfloat16()
    print(f"{threads} threads; native bfloat16: {native}")
    print("| track, scenario | float32 | bfloat16 |")
    print("| --- | --- | --- |")
    for name in ("demo-purchase", "demo-digits"):
        spec = load_track(ROOT / "tracks" / f"{name}.toml")
        for scenario in spec.scenarios:
            cells = []
            dtypes: tuple[Dtype, ...] = ("float32", "bfloat16")
            for dtype in dtypes:
                chunk = Chunk(scenario.slug, "train", tuple(range(args.models)))
                records = build_chunk(
                    with_dtype(spec, dtype),
                    chunk,
                    tempfile.mkdtemp(),
                    compute=Compute(torch.device("cpu"), dtype),
                )
                train = sum(r.train_acc or 0.0 for r in records) / len(records)
                held = sum(r.eval_acc or 0.0 for r in records) / len(records)
                wall = sum(r.wall_s for r in records)
                cells.append(f"{train:.3f} / {held:.3f} ({wall:.1f} s)")
            epsilon = "∞" if not scenario.private else f"{scenario.epsilon:g}"
            print(f"| {name} ε={epsilon} | {cells[0]} | {cells[1]} |", flush=True)


if __name__ == "__main__":
    main()
