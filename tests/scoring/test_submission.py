import io
import zipfile

import numpy as np
import pytest

from scoring import Expected, SubmissionError, read_solutions, read_submission
from scoring.testing import (
    make_labels,
    make_predictions,
    make_predictions_zip,
    prediction_csv,
    write_mico_tree,
)

MODELS = {"dev": (100, 101), "final": (150, 151)}
EXPECTED = Expected("purchase100", ("hi", "lo"), MODELS, 200)


@pytest.fixture(scope="module")
def predictions():
    return make_predictions(make_labels(scenarios=("hi", "lo"), models=MODELS))


def rezip(entries, compression=zipfile.ZIP_STORED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


def kit_entries(predictions, prefix="purchase100/"):
    return [
        (f"{prefix}purchase100_{s}/{p}/model_{m}/prediction.csv", prediction_csv(v))
        for (s, p, m), v in sorted(predictions.items())
    ]


@pytest.mark.parametrize("prefix", [True, False])
@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_kit_zip_is_read_exactly(predictions, prefix, compression):
    data = make_predictions_zip(predictions, prefix=prefix, compression=compression)
    values = read_submission(data, EXPECTED)
    assert set(values) == set(EXPECTED.model_keys())
    for key, expected in predictions.items():
        np.testing.assert_array_equal(values[key], np.array([str(v) for v in expected], float))


def test_a_path_works_like_bytes(predictions, tmp_path):
    path = tmp_path / "submission.zip"
    path.write_bytes(make_predictions_zip(predictions))
    values = read_submission(path, EXPECTED)
    assert values.keys() == read_submission(str(path), EXPECTED).keys()


def test_one_value_per_line_whitespace_and_clutter_are_accepted(predictions):
    entries = [
        (name, ("\n".join(f"  {v} " for v in data.decode().strip().split(",")) + "\n\n").encode())
        for name, data in kit_entries(predictions)
    ]
    entries += [
        ("purchase100/", b""),
        ("purchase100/purchase100_hi/", b""),
        ("__MACOSX/purchase100/._prediction.csv", b"\x00\x05junk"),
        ("purchase100/.DS_Store", b"\x00junk"),
        ("purchase100/purchase100_hi/dev/model_100/.hidden", b"junk"),
    ]
    values = read_submission(rezip(entries), EXPECTED)
    assert len(values) == EXPECTED.n_files


def test_phases_the_solutions_lack_are_skipped(predictions):
    dev_only = Expected("purchase100", ("hi", "lo"), {"dev": [100, 101]}, 200)
    entries = [
        (name, b"garbage" if "/final/" in name else data) for name, data in kit_entries(predictions)
    ]
    values = read_submission(rezip(entries), dev_only)
    assert {phase for _, phase, _ in values} == {"dev"}


def test_every_problem_is_listed_at_once(predictions):
    entries = kit_entries(predictions)
    entries[0] = (entries[0][0], b"0.5," * 199 + b"0.5,0.5")
    entries[1] = (entries[1][0], b"0.5," * 199 + b"nan")
    entries[2] = (entries[2][0], b"0.5," * 199 + b"1.5")
    del entries[3]
    entries.append(("purchase100/notes.txt", b"hello"))
    with pytest.raises(SubmissionError) as caught:
        read_submission(rezip(entries), EXPECTED)
    reasons = dict(caught.value.problems)
    assert isinstance(caught.value, ValueError)
    assert len(caught.value.problems) == 5
    assert reasons[entries[0][0]] == "expected 200 values, found 201"
    assert reasons[entries[1][0]].startswith("1 value NaN or infinite (first: index 199")
    assert reasons[entries[2][0]] == "1 value outside [0, 1] (first: index 199, 1.5)"
    assert reasons["purchase100/purchase100_hi/final/model_151/prediction.csv"] == "missing"
    assert reasons["purchase100/notes.txt"] == "unexpected file"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("purchase100/purchase100_xx/dev/model_100/prediction.csv", "no scenario 'xx'"),
        ("purchase100/purchase100_hi/dev/model_999/prediction.csv", "no model 999 in phase dev"),
        ("purchase100/purchase100_hi/train/model_1/prediction.csv", "no phase 'train'"),
        ("purchase100/purchase100_hi/dev/model_0100/prediction.csv", "unexpected file"),
        ("other/other_hi/dev/model_100/prediction.csv", "unexpected file"),
        ("purchase100/purchase100_hi/dev/model_100/predictions.csv", "unexpected file"),
    ],
)
def test_unexpected_paths_are_named(predictions, name, reason):
    with pytest.raises(SubmissionError) as caught:
        read_submission(rezip([*kit_entries(predictions), (name, b"0.5")]), EXPECTED)
    assert any(path == name and reason in why for path, why in caught.value.problems)


def test_solutions_tree_gives_expected_and_labels(tmp_path):
    labels = make_labels(scenarios=("hi", "lo"), models=MODELS)
    write_mico_tree(tmp_path, labels, solutions=("dev", "final"))
    expected = Expected.from_solutions_tree(tmp_path)
    assert expected == EXPECTED
    loaded = read_solutions(tmp_path, expected)
    assert all(np.array_equal(loaded[key], labels[key]) for key in labels)
    assert read_solutions(tmp_path / "purchase100", expected).keys() == loaded.keys()


def test_bundle_gives_expected_without_solutions(tmp_path):
    models = {"train": [0, 1], **MODELS}
    write_mico_tree(tmp_path, make_labels(models=models), solutions=("train",), seeds=True)
    expected = Expected.from_bundle(tmp_path)
    assert expected == Expected("purchase100", ("hi", "inf", "lo"), MODELS, 200)
    assert Expected.from_bundle(tmp_path, n_points=50).n_points == 50


def test_tree_with_several_tracks_needs_a_choice(tmp_path):
    labels = make_labels(scenarios=("a",), models={"dev": [1]}, n_points=4)
    write_mico_tree(tmp_path, labels, track="one", solutions=("dev",))
    write_mico_tree(tmp_path, labels, track="two", solutions=("dev",))
    with pytest.raises(ValueError, match="holds tracks \\['one', 'two'\\]"):
        Expected.from_solutions_tree(tmp_path)
    assert Expected.from_solutions_tree(tmp_path, track="two").track == "two"


def test_malformed_solutions_are_listed(tmp_path):
    labels = make_labels(scenarios=("hi",), models={"dev": [1, 2]}, n_points=4)
    write_mico_tree(tmp_path, labels, solutions=("dev",))
    expected = Expected.from_solutions_tree(tmp_path)
    (tmp_path / "purchase100/purchase100_hi/dev/model_1/solution.csv").write_text("0,1,0.5,1\r\n")
    (tmp_path / "purchase100/purchase100_hi/dev/model_2/solution.csv").unlink()
    with pytest.raises(
        ValueError, match=r"(?s)model_1/solution.csv: labels must be 0 or 1.*model_2"
    ):
        read_solutions(tmp_path, expected)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("Purchase", ("hi",), {"dev": (1,)}, 4), "slug 'Purchase'"),
        (("p", ("a_b",), {"dev": (1,)}, 4), "slug 'a_b'"),
        (("p", ("hi",), {"test": (1,)}, 4), "phases must be among"),
        (("p", ("hi",), {"dev": (1, 1)}, 4), "distinct"),
        (("p", ("hi",), {"dev": (1,)}, 1), "n_points"),
    ],
)
def test_expected_refuses_nonsense(arguments, message):
    with pytest.raises(ValueError, match=message):
        Expected(*arguments)
