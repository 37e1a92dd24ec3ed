"""Shokri et al.'s mitigation table on the demo-defences track, beside the paper's Purchase rows.

For every scenario (a defence) of ``tracks/demo-defences.toml``: the held-out accuracy of its
dev models, then what the baselines see through the scenario's release (the same observations
the platform's baselines read): Shokri's attack (train models as shadows, per-class models) as
the paper measured it on balanced challenge points — its accuracy and precision at its own
decision threshold (score 0.5) — and what the paper did not measure, the TPR at 1% and 0.1% FPR
of LiRA (online) and RMIA, and of the label-only attack (Choquette-Choo et al.).

    .venv/bin/python bench/mitigation.py --zoo DIR     # builds the track into DIR if needed
    .venv/bin/python bench/mitigation.py --zoo DIR --synthesis

``--synthesis`` prints instead what Shokri's SYNTHESIZE costs against one dev model of every
scenario that releases vectors: two chains per class (200), the share that produced a record
and the queries spent per record (failed chains included).

The paper's figures are Shokri et al. 2017 as the reference slides give them (Purchase-100,
Google-style API): test accuracy; attack accuracy and precision.
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import attacks  # noqa: E402
from attacks import label_only  # noqa: E402
from attacks.bundle import (  # noqa: E402
    Track,
    model_dirs,
    observe,
    open_track,
    scenario_dirs,
    scenario_track,
)
from attacks.evaluation import evaluate  # noqa: E402
from attacks.oracle import LocalOracle  # noqa: E402
from attacks.outputs import load_module  # noqa: E402
from attacks.report import with_solutions  # noqa: E402
from attacks.synthesis import synthesize  # noqa: E402
from benchmark.zoo.__main__ import main as zoo_main  # noqa: E402

TRACK = ROOT / "tracks" / "demo-defences.toml"

#: Shokri et al. 2017, Purchase: (test accuracy, attack accuracy, attack precision).
PAPER = {
    "none": ("no mitigation", 0.66, 0.92, 0.87),
    "top3": ("top k = 3", 0.66, 0.92, 0.87),
    "top1": ("top k = 1", 0.66, 0.89, 0.83),
    "label": ("top k = 1, label", 0.66, 0.66, 0.60),
    "round3": ("rounding d = 3", 0.66, 0.92, 0.87),
    "round1": ("rounding d = 1", 0.66, 0.89, 0.83),
    "temp5": ("temperature t = 5", 0.66, 0.88, 0.86),
    "temp20": ("temperature t = 20", 0.66, 0.84, 0.83),
    "l2-1e-4": ("L2 λ = 1e-4", 0.68, 0.87, 0.81),
    "l2-1e-3": ("L2 λ = 1e-3", 0.72, 0.77, 0.73),
    "l2-1e-2": ("L2 λ = 1e-2", 0.63, 0.53, 0.54),
}


def _test_accuracy(solutions: Path) -> float:
    records = [json.loads(p.read_text()) for p in sorted(solutions.glob("dev/model_*/record.json"))]
    return float(np.mean([r["eval_acc"] for r in records]))


def synthesis_costs(track: Track) -> None:
    """SYNTHESIZE through a LocalOracle of each scenario's first dev model and its release."""
    print("| defence | chains with a record | queries per record |")
    print("|---|---|---|")
    space = track.dataset.feature_space()
    directories = scenario_dirs(track)
    for scenario, (label, *_) in PAPER.items():
        scoped = scenario_track(track, directories[scenario])
        if scoped.defence.label_only:
            print(f"| {label} | refused: a label gives no confidence to climb | — |")
            continue
        _, model_dir = model_dirs(directories[scenario], "dev")[0]
        oracle = LocalOracle(load_module(model_dir, track.architecture), defence=scoped.defence)
        result = synthesize(oracle, space, np.repeat(np.arange(100), 2), seed=0)
        made = len(result.records) / (len(result.records) + result.failed)
        print(f"| {label} | {made:.3f} | {result.queries_per_record:.0f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zoo", type=Path, required=True, help="build directory")
    parser.add_argument("--synthesis", action="store_true", help="SYNTHESIZE's cost instead")
    args = parser.parse_args()
    out = args.zoo
    if not (out / "demo-defences.dataset.json").is_file():
        assert zoo_main(["build", str(TRACK), "--out", str(out)]) == 0
    track = open_track(out / "demo-defences")
    if args.synthesis:
        synthesis_costs(track)
        return
    print(
        "| defence | paper: test acc / attack acc / precision | test acc | Shokri acc | "
        "Shokri precision | LiRA TPR@1% / 0.1% | RMIA TPR@1% / 0.1% | label-only TPR@1% / 0.1% |"
    )
    print("|---|---|---|---|---|---|---|---|")
    directories = scenario_dirs(track)
    for scenario in PAPER:  # the paper's order
        directory = directories[scenario]
        solutions = out / "solutions" / "demo-defences" / directory.name
        obs = observe(
            directory, track=track, cache_dir=out / "observations", gradients=False,
            robustness=label_only.COPIES,
        )  # fmt: skip
        obs = with_solutions(obs, solutions, phase="dev")
        assert obs.target_in is not None
        members = obs.target_in.ravel()
        shokri = np.concatenate(list(attacks.run("shokri", obs).values()))
        guess = shokri > 0.5
        accuracy = float(np.mean(guess == members))
        precision = float(members[guess].mean()) if guess.any() else float("nan")
        cells = []
        for name in ("lira-online", "rmia", "label-only"):
            scores = np.concatenate(list(attacks.run(name, obs).values()))
            metrics = evaluate(members, scores)
            cells.append(f"{metrics['TPR_FPR_100']:.3f} / {metrics['TPR_FPR_10']:.3f}")
        label, *paper = PAPER[scenario]
        print(
            f"| {label} | {paper[0]:.2f} / {paper[1]:.2f} / {paper[2]:.2f} | "
            f"{_test_accuracy(solutions):.3f} | {accuracy:.3f} | {precision:.3f} | "
            + " | ".join(cells)
            + " |",
            flush=True,
        )


if __name__ == "__main__":
    main()
