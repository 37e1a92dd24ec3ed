"""``python -m scoring codalab``: MICO's scoring program on a CodaLab/Codabench input folder.

The expected ``scores.txt`` is written here from what MICO's ``score.py`` does: for the k-th
scenario folder of ``ref/<track>/`` in sorted order, ``scenario<k>_<metric>: <value>`` for AUC,
MIA and accuracy (MICO: in a set's iteration order, which varies from run to run) and then
``TPR_FPR_{10,100,500,1000,1500,2000}``, each value formatted by an f-string (a float's repr),
then ``average_TPR_FPR_1000: <mean>`` with no newline after it; the numbers come from
scikit-learn, as MICO's do.
"""

import io
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from sklearn.metrics import roc_auc_score, roc_curve

from scoring import codalab
from scoring.testing import make_labels, make_predictions, make_predictions_zip, write_mico_tree

ROOT = Path(__file__).resolve().parents[2]
MODELS = {"train": range(0, 3), "dev": range(3, 7), "final": range(7, 11)}
SCENARIOS = ("inf", "hi", "lo")
LINE = re.compile(
    r"(scenario[1-9][0-9]*_(AUC|MIA|accuracy|TPR_FPR_(10|100|500|1000|1500|2000))"
    r"|average_TPR_FPR_1000): (\S+)"
)


def sklearn_metrics(solutions, predictions):
    """MICO's ``score`` on the concatenated arrays, with scikit-learn."""
    fpr, tpr, _ = roc_curve(solutions, predictions)
    out = {
        f"TPR_FPR_{int(1e4 * level)}": max(tpr[fpr < level])
        for level in (0.001, 0.01, 0.05, 0.1, 0.15, 0.2)
    }
    out["AUC"] = roc_auc_score(solutions, predictions)
    out["MIA"] = np.max(tpr - fpr)
    out["accuracy"] = np.max(1 - (fpr + (1 - tpr)) / 2)
    return out


def mico_lines(input_dir, phase):
    """scores.txt as MICO writes it for ``input_dir`` (AUC, MIA, accuracy in that order)."""
    ref = input_dir / "ref" / "purchase100"
    res = input_dir / "res" / "purchase100"
    scores = []
    for scenario in sorted(path.name for path in ref.iterdir()):
        models = sorted((ref / scenario / phase).iterdir())
        solutions = np.concatenate(
            [np.loadtxt(model / "solution.csv", delimiter=",") for model in models]
        )
        predictions = np.concatenate(
            [
                np.loadtxt(res / scenario / phase / model.name / "prediction.csv", delimiter=",")
                for model in models
            ]
        )
        scores.append(sklearn_metrics(solutions, predictions))
    lines = []
    for number, metrics in enumerate(scores, 1):
        for key in ("AUC", "MIA", "accuracy"):
            lines.append(f"scenario{number}_{key}: {metrics[key]}")
        for level in (0.001, 0.01, 0.05, 0.1, 0.15, 0.2):
            key = f"TPR_FPR_{int(1e4 * level)}"
            lines.append(f"scenario{number}_{key}: {metrics[key]}")
    average = np.mean([metrics["TPR_FPR_1000"] for metrics in scores])
    return "\n".join(lines) + f"\naverage_TPR_FPR_1000: {average}"


def make_input(root, phase="dev", *, prefix=True, extra=()):
    """A CodaLab input folder: ``ref/`` with one phase's solutions (as MICO's reference data),
    ``res/`` with a kit submission holding train, dev and final predictions, extracted."""
    labels = make_labels(scenarios=SCENARIOS, models=MODELS)
    write_mico_tree(
        root / "ref",
        {key: value for key, value in labels.items() if key[1] == phase},
        solutions=(phase,),
    )
    data = make_predictions_zip(
        make_predictions(labels), phases=("train", "dev", "final"), prefix=prefix
    )
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        archive.extractall(root / "res")
    for name, content in extra:
        (root / "res" / name).write_bytes(content)
    return root


@pytest.fixture(scope="module")
def dev_input(tmp_path_factory):
    return make_input(tmp_path_factory.mktemp("codalab") / "input", extra=[("metadata", b"x")])


@pytest.fixture(scope="module")
def dev_output(dev_input, tmp_path_factory):
    output = tmp_path_factory.mktemp("output")
    completed = subprocess.run(
        [sys.executable, "-m", "scoring", "codalab", dev_input, output],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    return output, completed.stdout


def test_scores_txt_is_micos_text_line_for_line(dev_input, dev_output):
    output, _ = dev_output
    text = (output / "scores.txt").read_text()
    assert text == mico_lines(dev_input, "dev")
    lines = text.split("\n")
    assert len(lines) == 3 * 9 + 1 and not text.endswith("\n")
    for line in lines:
        match = LINE.fullmatch(line)
        assert match, line
        assert match.group(4) == repr(float(match.group(4)))
    assert [line.split(":")[0] for line in lines[:9]] == [
        "scenario1_AUC",
        "scenario1_MIA",
        "scenario1_accuracy",
        *(f"scenario1_TPR_FPR_{n}" for n in (10, 100, 500, 1000, 1500, 2000)),
    ]


def test_scenarios_are_numbered_by_sorted_folder_name(dev_output):
    _, stdout = dev_output
    assert "scenario1 = purchase100_hi" in stdout
    assert "scenario2 = purchase100_inf" in stdout
    assert "scenario3 = purchase100_lo" in stdout


def test_codabench_reads_the_scores_as_yaml(dev_output):
    output, _ = dev_output
    scores = yaml.safe_load((output / "scores.txt").read_text())
    assert len(scores) == 28 and all(isinstance(value, float) for value in scores.values())
    average = np.mean([scores[f"scenario{k}_TPR_FPR_1000"] for k in (1, 2, 3)])
    assert scores["average_TPR_FPR_1000"] == pytest.approx(average)


def test_scores_html_is_the_plotly_report_listing_what_was_not_scored(dev_output):
    output, stdout = dev_output
    page = (output / "scores.html").read_text()
    assert page.count("Plotly.newPlot(") == 6
    assert "<script src=" not in page and "plotly.js v" in page.lower()
    assert "9 files of the submission were not scored" in page
    assert "purchase100/purchase100_hi/train/model_0/prediction.csv</code>: not scored: a " in page
    assert "<code>metadata</code>" not in page, "the file Codabench writes is not a notice"
    assert stdout.count("not scored: a train model") == 9


def test_the_final_phase_is_scored_from_final_reference_data(tmp_path):
    root = make_input(tmp_path / "input", "final")
    result = codalab.score_codalab(root, tmp_path / "out")
    assert result["phase"] == "final" and set(result["rank"]) == {"final"}
    assert (tmp_path / "out/scores.txt").read_text() == mico_lines(root, "final")


def test_a_submission_without_the_track_folder_scores_the_same(dev_input, dev_output, tmp_path):
    root = make_input(tmp_path / "input", prefix=False)
    assert codalab.main([str(root), str(tmp_path / "out")]) == 0
    expected = (dev_output[0] / "scores.txt").read_text()
    assert (tmp_path / "out/scores.txt").read_text() == expected


def test_plotly_js_can_come_from_a_file(dev_input, tmp_path):
    (tmp_path / "plotly.min.js").write_text("/* plotly.js from the scoring program */")
    arguments = [dev_input, tmp_path / "out", "--plotly-js", tmp_path / "plotly.min.js"]
    assert codalab.main([str(argument) for argument in arguments]) == 0
    page = (tmp_path / "out/scores.html").read_text()
    assert "<script>/* plotly.js from the scoring program */</script>" in page


def test_another_primary_metric_adds_its_average_after_micos_lines(dev_input, tmp_path):
    assert codalab.main([str(dev_input), str(tmp_path), "--primary", "AUC"]) == 0
    lines = (tmp_path / "scores.txt").read_text().split("\n")
    auc = np.mean([float(line.split(": ")[1]) for line in lines if "_AUC: " in line])
    assert lines[-2].startswith("average_TPR_FPR_1000: ")
    assert lines[-1] == f"average_AUC: {auc}"


def test_an_invalid_submission_fails_with_every_problem_and_writes_no_scores(tmp_path, capsys):
    root = make_input(tmp_path / "input", extra=[("notes.txt", b"hello")])
    folder = root / "res/purchase100/purchase100_hi/dev"
    (folder / "model_3/prediction.csv").write_text("0.5," * 199 + "1.5\n")
    (folder / "model_4/prediction.csv").unlink()
    assert codalab.main([str(root), str(tmp_path / "out")]) == codalab.INVALID
    lines = capsys.readouterr().err.splitlines()
    assert lines[:2] == [
        "purchase100/purchase100_hi/dev/model_3/prediction.csv: "
        "1 value outside [0, 1] (first: index 199, 1.5)",
        "purchase100/purchase100_hi/dev/model_4/prediction.csv: missing",
    ]
    assert set(lines[2:]) == {
        "notes.txt: not scored: not a prediction.csv of track purchase100",
        *(
            f"purchase100/purchase100_{s}/train/model_{m}/prediction.csv: not scored: a train model"
            for s in SCENARIOS
            for m in MODELS["train"]
        ),
    }
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("phases", [("dev", "final"), ()])
def test_reference_data_of_other_than_one_phase_is_refused(tmp_path, capsys, phases):
    labels = make_labels(scenarios=SCENARIOS, models=MODELS)
    write_mico_tree(tmp_path / "input/ref", labels, solutions=phases)
    (tmp_path / "input/res").mkdir()
    assert codalab.main([str(tmp_path / "input"), str(tmp_path / "out")]) == 1
    assert capsys.readouterr().err.startswith("error: ")


def test_reference_data_of_two_tracks_is_refused(tmp_path, capsys):
    labels = make_labels(scenarios=("a",), models={"dev": [1]}, n_points=4)
    for track in ("one", "two"):
        write_mico_tree(tmp_path / "input/ref", labels, track=track, solutions=("dev",))
    assert codalab.main([str(tmp_path / "input"), str(tmp_path / "out")]) == 1
    assert "must hold one track folder, found ['one', 'two']" in capsys.readouterr().err


@pytest.mark.parametrize("primary", ["TPR_FPR_1000", "AUC"])
def test_a_scoring_program_folder_runs_as_micos_score_py(dev_input, dev_output, tmp_path, primary):
    """The files of ``program_files`` run as MICO's program ran (``score.py INPUT OUTPUT``)
    from any folder, with the copy of this package beside ``score.py``."""
    program = tmp_path / "program"
    for name, data in codalab.program_files(primary=primary).items():
        (program / name).parent.mkdir(parents=True, exist_ok=True)
        (program / name).write_bytes(data)
    assert (program / "scoring/codalab.py").read_bytes() == Path(codalab.__file__).read_bytes()
    completed = subprocess.run(
        [sys.executable, "-I", program / "score.py", dev_input, tmp_path / "output"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    text = (tmp_path / "output/scores.txt").read_text()
    mico = (dev_output[0] / "scores.txt").read_text()
    assert text == mico if primary == "TPR_FPR_1000" else text.startswith(mico + "\naverage_AUC: ")
    page = (tmp_path / "output/scores.html").read_text()
    assert (program / "plotly.min.js").read_text() in page


def test_program_files_refuse_an_unknown_metric():
    with pytest.raises(ValueError, match="primary must be one of"):
        codalab.program_files(primary="F1")
