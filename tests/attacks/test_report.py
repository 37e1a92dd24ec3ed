"""The command line on a tiny bundle: a report on train models and a submission zip."""

import numpy as np
import pytest

import scoring
from attacks.__main__ import main
from attacks.bundle import observe
from attacks.report import report, with_solutions
from tests.attacks.tiny_bundle import CHALLENGE, write_tiny_bundle


@pytest.fixture(scope="module")
def track_dir(tmp_path_factory):
    return write_tiny_bundle(tmp_path_factory.mktemp("bundle"), train=6)


def test_report_prints_a_row_per_attack_and_scenario(track_dir, capsys):
    assert main(["report", str(track_dir.parent), "--attacks", "loss,lira-offline"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    table = lines[lines.index("") + 1 :]
    assert table[0].split()[:4] == ["track", "scenario", "attack", "TPR@0.1%FPR"]
    assert [line.split()[:3] for line in table[1:]] == [
        ["tiny", "inf", "loss"],
        ["tiny", "inf", "lira-offline"],
    ]


def test_report_scores_train_halves_with_their_membership(track_dir):
    rows = report(track_dir, names=["confidence"])
    assert len(rows) == 1
    assert 0.0 <= rows[0].metrics["AUC"] <= 1.0


def test_unknown_attack_is_an_error(track_dir, capsys):
    assert main(["report", str(track_dir), "--attacks", "nope"]) == 2
    assert "unknown attack 'nope'" in capsys.readouterr().err


def test_predict_writes_a_valid_submission(track_dir, tmp_path):
    output = tmp_path / "loss.zip"
    assert main(["predict", str(track_dir), "loss", "-o", str(output)]) == 0
    expected = scoring.Expected("tiny", ("inf",), {"dev": (6, 7), "final": (8,)}, 2 * CHALLENGE)
    read = scoring.read_submission(output.read_bytes(), expected)
    assert len(read) == 3


def test_with_solutions_keeps_dev_models_and_their_membership(track_dir, tmp_path):
    obs = observe(track_dir / "tiny_inf", gradients=False, population=20)
    solutions = tmp_path / "tiny_inf"
    for index, row in ((6, "1,0"), (7, "0,1")):
        directory = solutions / "dev" / f"model_{index}"
        directory.mkdir(parents=True)
        (directory / "solution.csv").write_text(",".join([row] * CHALLENGE) + "\n")
    dev = with_solutions(obs, solutions)
    assert dev.target_ids == (("dev", 6), ("dev", 7))
    assert dev.target_in is not None
    np.testing.assert_array_equal(dev.target_in[1, :4], [False, True, False, True])
    np.testing.assert_array_equal(dev.target_logits[1], obs.target_logits[1])
    (solutions / "dev/model_7/solution.csv").unlink()
    with pytest.raises(ValueError, match=r"no solution for \('dev', 7\)"):
        with_solutions(obs, solutions)
