"""Reference attacks: vectorised LiRA against a literal per-point loop, then the demo baselines.

1. LiRA offline and online (per-point variance) on 100 shadow models x 20,000 points x 2
   augmentations. The literal implementation loops over points in Python (numpy over the
   shadows of one point); it runs on a subset of points and its time is scaled linearly to
   20,000 points (each point costs the same), and its scores must equal ours on that subset.
   Prints ``lira_speedup: X`` (literal time / our time, offline + online).
2. ``baselines_demo_s: Y``: computing the observations of every scenario of the demo Purchase
   track (no cache) and running every attack of the registry on them. Pass a built zoo with
   ``--zoo DIR`` (``python -m benchmark.zoo build tracks/demo-purchase.toml --out DIR``);
   without it the track is built into a temporary directory first (not timed).

Run from the repository root::

    .venv/bin/python bench/attacks.py [--zoo DIR] [--subset 1000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.special import ndtr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import attacks
from attacks import lira
from attacks.logodds import to_unit_interval

SHADOWS, POINTS, AUGMENTATIONS = 100, 20_000, 2


def literal_lira(target_phi, shadow_phi, shadow_in, *, online):
    """LiRA's statistics one point at a time: the formulas of the issue, numpy over one point's
    shadows; the log-likelihood ratio (online) or the log-odds of the mean of Φ (offline)."""
    scores = np.empty(target_phi.shape[0])
    for p in range(target_phi.shape[0]):
        ins = shadow_phi[shadow_in[:, p], p, :]
        outs = shadow_phi[~shadow_in[:, p], p, :]
        mu_out = np.median(outs, axis=0)
        sd_out = np.maximum(np.std(outs, axis=0), lira.MIN_STD)
        x = target_phi[p]
        if online:
            mu_in = np.median(ins, axis=0)
            sd_in = np.maximum(np.std(ins, axis=0), lira.MIN_STD)
            log_in = -0.5 * ((x - mu_in) / sd_in) ** 2 - np.log(sd_in)
            log_out = -0.5 * ((x - mu_out) / sd_out) ** 2 - np.log(sd_out)
            scores[p] = np.mean(log_in - log_out)
        else:
            mean = np.mean(ndtr((x - mu_out) / sd_out))
            scores[p] = np.log(mean) - np.log1p(-mean)
    return scores


def lira_speedup(subset: int) -> float:
    rng = np.random.default_rng(0)
    shadow_in = rng.random((SHADOWS, POINTS)) < 0.5
    difficulty = rng.normal(0, 2, (POINTS, 1))
    shadow_phi = difficulty + 2.0 * shadow_in[..., None]
    shadow_phi = shadow_phi + rng.normal(size=(SHADOWS, POINTS, AUGMENTATIONS))
    target_phi = difficulty + 2.0 * (rng.random((POINTS, 1)) < 0.5)
    target_phi = target_phi + rng.normal(size=(POINTS, AUGMENTATIONS))

    fast_s = 0.0
    fast = {}
    for online in (False, True):
        attack = lira.online if online else lira.offline
        start = time.perf_counter()
        fast[online] = attack(target_phi, shadow_phi, shadow_in)
        fast_s += time.perf_counter() - start

    literal_s = 0.0
    for online in (False, True):
        start = time.perf_counter()
        slow = literal_lira(
            target_phi[:subset], shadow_phi[:, :subset], shadow_in[:, :subset], online=online
        )
        literal_s += time.perf_counter() - start
        np.testing.assert_allclose(
            fast[online][:subset], to_unit_interval(slow), rtol=1e-9, atol=1e-12
        )
    literal_scaled = literal_s * POINTS / subset
    print(f"lira: {SHADOWS} shadows x {POINTS} points x {AUGMENTATIONS} augmentations")
    print(f"lira_vectorised_s: {fast_s:.3f}  (offline + online)")
    print(
        f"lira_literal_s: {literal_scaled:.2f}  (measured on {subset} points: "
        f"{literal_s:.3f} s, scaled linearly to {POINTS})"
    )
    return literal_scaled / fast_s


def demo_baselines(zoo: Path | None) -> float:
    from benchmark.zoo.build import build_track
    from benchmark.zoo.tracks import load_track

    spec = load_track(Path(__file__).resolve().parent.parent / "tracks/demo-purchase.toml")
    with tempfile.TemporaryDirectory() as scratch:
        if zoo is None:
            zoo = Path(scratch) / "zoo"
            print(f"building {spec.slug} into {zoo} (not timed) ...", flush=True)
            build_track(spec, zoo, None)
        start = time.perf_counter()
        rows = []
        for scenario in spec.scenarios:
            obs = attacks.observe_zoo(spec, scenario.slug, root=zoo, cache_dir=Path(scratch) / "c")
            for name in attacks.REGISTRY:
                began = time.perf_counter()
                attacks.run(name, obs)
                rows.append((scenario.slug, name, time.perf_counter() - began))
        total = time.perf_counter() - start
    for scenario_slug, name, seconds in rows:
        print(f"  {scenario_slug:4s} {name:16s} {seconds:7.2f} s")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--zoo", type=Path, help="a build directory holding demo-purchase")
    parser.add_argument("--subset", type=int, default=1000, help="points for the literal LiRA")
    parser.add_argument("--skip-demo", action="store_true", help="only the LiRA comparison")
    args = parser.parse_args()
    print(f"lira_speedup: {lira_speedup(args.subset):.1f}", flush=True)
    if not args.skip_demo:
        print(f"baselines_demo_s: {demo_baselines(args.zoo):.1f}")


if __name__ == "__main__":
    main()
