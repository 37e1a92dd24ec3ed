import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score, roc_curve

import scoring
from scoring.testing import (
    make_labels,
    make_predictions,
    make_predictions_zip,
    write_mico_tree,
)
from tests.scoring.reference import literal_score

ROOT = Path(__file__).resolve().parents[2]
MODELS = {"train": [0, 1], "dev": [100, 101, 102], "final": [150, 151, 152]}


def run(*arguments):
    return subprocess.run(
        [sys.executable, "-m", "scoring", *map(str, arguments)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def mico_score(solutions, predictions):
    """MICO's score.py on the concatenated arrays, as its scoring program computes them."""
    out = {}
    fpr, tpr, _ = roc_curve(solutions, predictions)
    for level in scoring.FPR_LEVELS:
        out[f"TPR_FPR_{int(1e4 * level)}"] = max(tpr[fpr < level])
    out["AUC"] = roc_auc_score(solutions, predictions)
    out["MIA"] = np.max(tpr - fpr)
    out["accuracy"] = np.max(1 - (fpr + (1 - tpr)) / 2)
    return out


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("mico")
    labels = make_labels(models=MODELS)
    write_mico_tree(root / "ref", labels, solutions=("dev", "final"))
    write_mico_tree(root / "bundle", labels, solutions=("train",), seeds=True)
    predictions = make_predictions(labels)
    (root / "submission.zip").write_bytes(make_predictions_zip(predictions))
    return root


def test_cli_prints_mico_numbers_for_a_kit_submission(tree):
    completed = run("--solutions", tree / "ref", "--predictions", tree / "submission.zip")
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    assert result["track"] == "purchase100"
    assert set(result["scenarios"]) == {"purchase100_hi", "purchase100_inf", "purchase100_lo"}
    with zipfile.ZipFile(tree / "submission.zip") as archive:
        for name, phases in result["scenarios"].items():
            assert set(phases) == {"dev", "final"}
            for phase, scores in phases.items():
                folders = [f"{name}/{phase}/model_{m}" for m in MODELS[phase]]
                solutions = np.concatenate(
                    [
                        np.loadtxt(tree / "ref/purchase100" / f / "solution.csv", delimiter=",")
                        for f in folders
                    ]
                )
                predictions = np.concatenate(
                    [
                        np.loadtxt(
                            io.BytesIO(archive.read(f"purchase100/{f}/prediction.csv")),
                            delimiter=",",
                        )
                        for f in folders
                    ]
                )
                mico = mico_score(solutions, predictions)
                literal = literal_score(solutions, predictions)
                assert set(scores) == {*scoring.METRIC_KEYS, "ci", "eps_lb"}
                for key in scoring.METRIC_KEYS:
                    assert scores[key] == mico[key], key
                    assert scores[key] == pytest.approx(literal[key], abs=1e-12)
                assert scores["ci"][0] <= scores["TPR_FPR_1000"] <= scores["ci"][1]
                assert scores["eps_lb"] >= 0
    for phase in ("dev", "final"):
        primary = [result["scenarios"][name][phase]["TPR_FPR_1000"] for name in result["scenarios"]]
        assert result["rank"][phase] == pytest.approx(np.mean(primary))


def test_cli_options_roc_primary_and_html(tree):
    report = tree / "report.html"
    completed = run(
        "--solutions",
        tree / "ref",
        "--predictions",
        tree / "submission.zip",
        "--primary",
        "AUC",
        "--roc",
        "--html",
        report,
        "--track",
        "purchase100",
    )
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    scores = result["scenarios"]["purchase100_hi"]["dev"]
    assert len(scores["roc"]["fpr"]) == len(scores["roc"]["tpr"]) > 2
    assert scores["ci"][0] <= scores["AUC"] <= scores["ci"][1]
    assert result["rank"]["dev"] == pytest.approx(
        np.mean([phases["dev"]["AUC"] for phases in result["scenarios"].values()])
    )
    page = report.read_text()
    assert page.count("Plotly.newPlot(") == 6
    assert "<script src=" not in page and "plotly.js v" in page.lower()


def test_cli_scores_only_the_phases_present(tree, tmp_path):
    labels = make_labels(models={"dev": MODELS["dev"]})
    write_mico_tree(tmp_path, labels, solutions=("dev",))
    completed = run("--solutions", tmp_path, "--predictions", tree / "submission.zip")
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    assert set(result["rank"]) == {"dev"}
    assert all(set(phases) == {"dev"} for phases in result["scenarios"].values())


def test_cli_invalid_submission_exits_3_listing_problems(tree, tmp_path):
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(tree / "submission.zip") as source, zipfile.ZipFile(bad, "w") as target:
        names = source.namelist()
        for name in names[2:]:
            target.writestr(name, source.read(name))
        target.writestr(names[1], b"0.5,2.0")
        target.writestr("../escape.csv", b"0.5")
    completed = run("--solutions", tree / "ref", "--predictions", bad)
    assert completed.returncode == 3
    assert completed.stdout == ""
    lines = completed.stderr.splitlines()
    assert f"{names[0]}: missing" in lines
    assert f"{names[1]}: expected 200 values, found 2" in lines
    assert f"{names[1]}: 1 value outside [0, 1] (first: index 1, 2.0)" in lines
    assert "../escape.csv: path escapes the archive ('..')" in lines
    assert len(lines) == 4


def test_cli_usage_error_is_status_2():
    assert run("--predictions", "x.zip").returncode == 2


def test_validate_accepts_a_good_zip_against_the_bundle(tree):
    completed = run("validate", tree / "submission.zip", "--bundle", tree / "bundle")
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("ok: 18 predictions of 200 values for track purchase100")


def test_validate_lists_problems_with_status_3(tree, tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(make_predictions_zip({("hi", "dev", 100): [0.5] * 199}))
    completed = run("validate", bad, "--bundle", tree / "bundle")
    assert completed.returncode == 3
    lines = completed.stderr.splitlines()
    assert (
        "purchase100/purchase100_hi/dev/model_100/prediction.csv: expected 200 values, found 199"
        in lines
    )
    assert len(lines) == 1 + 17


def test_cli_unreadable_solutions_exit_1_with_the_reason(tmp_path):
    completed = run("--solutions", tmp_path / "nowhere", "--predictions", tmp_path / "x.zip")
    assert completed.returncode == 1
    assert completed.stderr.startswith("error: ") and "is not a directory" in completed.stderr


def test_files_that_are_not_scored_are_listed_beside_the_scores(tree, tmp_path):
    predictions = make_predictions(make_labels(models=MODELS))
    kit = tmp_path / "kit.zip"
    kit.write_bytes(make_predictions_zip(predictions, phases=("train", "dev", "final")))
    train = [
        f"purchase100/purchase100_{s}/train/model_{m}/prediction.csv"
        for s in ("hi", "inf", "lo")
        for m in MODELS["train"]
    ]
    completed = run("--solutions", tree / "ref", "--predictions", kit)
    assert completed.returncode == 0, completed.stderr
    notices = json.loads(completed.stdout)["notices"]
    assert notices == [{"path": path, "reason": "not scored: a train model"} for path in train]
    completed = run("validate", kit, "--bundle", tree / "bundle")
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines()[1:] == [f"{p}: not scored: a train model" for p in train]


def test_a_kit_submission_has_no_notices(tree):
    completed = run("--solutions", tree / "ref", "--predictions", tree / "submission.zip")
    assert json.loads(completed.stdout)["notices"] == []
