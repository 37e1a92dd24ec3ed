"""Scoring a MICO-size submission: our in-memory path against MICO's scoring program.

A submission of 3 scenarios x (50 dev + 50 final) models x 200 points, written exactly as MICO's
starting kit writes it, is scored both ways in this process, several times alternately:

- ours: ``Expected`` from the solutions tree, ``read_solutions``, ``read_submission`` (the zip
  read and validated in memory), then ``scoring.score`` once per scenario and phase;
- MICO: extract the zip to a temporary folder, ``np.loadtxt`` every solution and prediction,
  then MICO's ``score`` (scikit-learn's ``roc_curve`` for each TPR@FPR level, for the curve, and
  ``roc_auc_score``) per scenario and phase.

Both must give the same numbers. The bootstrap interval and the ε lower bound, which MICO does
not compute, are timed separately. Run from the repository root:

    .venv/bin/python bench/scoring.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import zipfile
from io import BytesIO
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import scoring
from scoring.audit import eps_lb
from scoring.metrics import concatenate_models
from scoring.testing import (
    make_labels,
    make_predictions,
    make_predictions_zip,
    write_mico_tree,
)

MODELS = {"dev": range(100, 150), "final": range(150, 200)}
RUNS = 7


def mico_score(solutions, predictions):
    """MICO's ``score.py`` ``score`` function, verbatim in behaviour."""
    scores = {}
    for max_fpr in scoring.FPR_LEVELS:
        fpr, tpr, _ = roc_curve(solutions, predictions)
        scores[f"TPR_FPR_{int(1e4 * max_fpr)}"] = max(tpr[fpr < max_fpr])
    fpr, tpr, _ = roc_curve(solutions, predictions)
    scores["fpr"] = fpr
    scores["tpr"] = tpr
    scores["AUC"] = roc_auc_score(solutions, predictions)
    scores["MIA"] = np.max(tpr - fpr)
    scores["accuracy"] = np.max(1 - (fpr + (1 - tpr)) / 2)
    return scores


def baseline(ref: Path, submission: bytes) -> dict:
    """MICO's scoring program: extract, ``np.loadtxt`` each file, score each scenario/phase."""
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        zipfile.ZipFile(BytesIO(submission)).extractall(folder)
        (track,) = os.listdir(ref)
        for scenario in sorted(os.listdir(ref / track)):
            for phase in os.listdir(ref / track / scenario):
                solutions, predictions = [], []
                for model_id in os.listdir(ref / track / scenario / phase):
                    base = Path(track, scenario, phase, model_id)
                    solutions.append(np.loadtxt(ref / base / "solution.csv", delimiter=","))
                    predictions.append(
                        np.loadtxt(Path(folder) / base / "prediction.csv", delimiter=",")
                    )
                labels = np.concatenate(solutions)
                scores = np.concatenate(predictions)
                assert len(scores) == len(labels)
                assert np.all(scores >= 0) and np.all(scores <= 1)
                results[scenario, phase] = mico_score(labels, scores)
    return results


def ours(ref: Path, submission: bytes) -> dict:
    """Our path: everything in memory, one ROC per scenario and phase."""
    expected = scoring.Expected.from_solutions_tree(ref)
    labels = scoring.read_solutions(ref, expected)
    values = scoring.read_submission(submission, expected)
    results = {}
    for scenario in expected.scenarios:
        for phase, models in expected.models.items():
            keys = [(scenario, phase, model) for model in models]
            results[f"{expected.track}_{scenario}", phase] = scoring.score(
                np.concatenate([labels[key] for key in keys]),
                np.concatenate([values[key] for key in keys]),
            )
    return results


def per_scenario(ref: Path, submission: bytes) -> list[tuple[list, list]]:
    expected = scoring.Expected.from_solutions_tree(ref)
    labels = scoring.read_solutions(ref, expected)
    values = scoring.read_submission(submission, expected)
    pairs = []
    for scenario in expected.scenarios:
        for phase, models in expected.models.items():
            keys = [(scenario, phase, model) for model in models]
            pairs.append(([labels[key] for key in keys], [values[key] for key in keys]))
    return pairs


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def main() -> None:
    labels = make_labels(models=MODELS)
    submission = make_predictions_zip(make_predictions(labels, signal=1.5))
    with tempfile.TemporaryDirectory() as folder:
        ref = Path(folder) / "ref"
        write_mico_tree(ref, labels, solutions=("dev", "final"))
        print(f"submission: 3 scenarios x 100 models x 200 points, {len(submission)} bytes zipped")
        ours_times, mico_times = [], []
        for _ in range(RUNS):
            seconds, mine = timed(ours, ref, submission)
            ours_times.append(seconds)
            seconds, theirs = timed(baseline, ref, submission)
            mico_times.append(seconds)
        assert mine.keys() == theirs.keys()
        for key, result in mine.items():
            for metric in scoring.METRIC_KEYS:
                assert result[metric] == theirs[key][metric], (key, metric)
            np.testing.assert_array_equal(result["fpr"], theirs[key]["fpr"])
            np.testing.assert_array_equal(result["tpr"], theirs[key]["tpr"])
        print(f"numbers equal: {len(mine)} scenario-phases x {len(scoring.METRIC_KEYS)} metrics")

        pairs = per_scenario(ref, submission)
        concatenated = [concatenate_models(*pair) for pair in pairs]
        ci_seconds, _ = timed(lambda: [scoring.bootstrap_ci(*pair) for pair in pairs])
        eps_seconds, _ = timed(lambda: [eps_lb(*arrays) for arrays in concatenated])
    ours_median = statistics.median(ours_times)
    mico_median = statistics.median(mico_times)
    print(f"ours (read zip, validate, metrics): median {ours_median * 1e3:.1f} ms of {RUNS}")
    print(f"MICO (extract, loadtxt, metrics): median {mico_median * 1e3:.1f} ms of {RUNS}")
    print(f"ci (1000 model resamples, 6 scenario-phases): {ci_seconds * 1e3:.0f} ms")
    print(f"eps_lb (one-run audit, 6 scenario-phases): {eps_seconds * 1e3:.0f} ms")
    print(f"speedup: {mico_median / ours_median:.2f}")


if __name__ == "__main__":
    main()
