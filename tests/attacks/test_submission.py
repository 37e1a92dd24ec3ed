"""Submission zips written here read back through the platform's own reader."""

import io
import zipfile

import numpy as np
import pytest

import attacks
import scoring


def test_zip_reads_back_through_scoring():
    rng = np.random.default_rng(0)
    predictions = {
        scenario: {(phase, i): rng.random(4) for phase, i in (("dev", 2), ("dev", 3), ("final", 4))}
        for scenario in ("inf", "lo")
    }
    buffer = io.BytesIO()
    attacks.write_submission_zip(predictions, buffer, track="demo-digits")
    expected = scoring.Expected("demo-digits", ("inf", "lo"), {"dev": (2, 3), "final": (4,)}, 4)
    read = scoring.read_submission(buffer.getvalue(), expected)
    for scenario, models in predictions.items():
        for (phase, index), scores in models.items():
            np.testing.assert_array_equal(read[(scenario, phase, index)], scores)


def test_zip_layout_is_micos(tmp_path):
    path = tmp_path / "submission.zip"
    attacks.write_submission_zip({"hi": {("final", 7): np.array([0.5])}}, path, track="p")
    assert zipfile.ZipFile(path).namelist() == ["p/p_hi/final/model_7/prediction.csv"]


@pytest.mark.parametrize(
    ("predictions", "track", "message"),
    [
        ({"inf": {("dev", 1): np.array([0.5])}}, "a_b", "track slug"),
        ({"in_f": {("dev", 1): np.array([0.5])}}, "t", "scenario slug"),
        ({"inf": {("dev", 1): np.array([1.5])}}, "t", r"model_1/prediction.csv: score 1.5"),
        ({"inf": {("dev", 1): np.zeros((1, 1))}}, "t", "1-d"),
    ],
)
def test_bad_predictions_are_rejected(predictions, track, message):
    with pytest.raises(ValueError, match=message):
        attacks.write_submission_zip(predictions, io.BytesIO(), track=track)
