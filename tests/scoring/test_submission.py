import io
import zipfile

import numpy as np
import pytest

from scoring import (
    Expected,
    SubmissionError,
    read_prediction_tree,
    read_solutions,
    read_submission,
    read_submission_with_notices,
)
from scoring.testing import (
    make_labels,
    make_predictions,
    make_predictions_zip,
    prediction_csv,
    write_mico_tree,
)

MODELS = {"dev": (100, 101), "final": (150, 151)}
EXPECTED = Expected("purchase100", ("hi", "lo"), MODELS, 200)
OURS = "not a prediction.csv of track purchase100"
NOT_OURS = f"not scored: {OURS}"


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
    assert len(caught.value.problems) == 4
    assert reasons[entries[0][0]] == "expected 200 values, found 201"
    assert reasons[entries[1][0]].startswith("1 value NaN or infinite (first: index 199")
    assert reasons[entries[2][0]] == "1 value outside [0, 1] (first: index 199, 1.5)"
    assert reasons["purchase100/purchase100_hi/final/model_151/prediction.csv"] == "missing"
    assert caught.value.notices == [("purchase100/notes.txt", NOT_OURS)]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("purchase100/purchase100_hi/train/model_1/prediction.csv", "a train model"),
        (
            "purchase100/purchase100_xx/dev/model_100/prediction.csv",
            "no scenario 'xx' in this track",
        ),
        ("purchase100/purchase100_hi/dev/model_999/prediction.csv", "no model 999 in phase dev"),
        ("purchase100/purchase100_hi/test/model_1/prediction.csv", "no phase 'test'"),
        ("purchase100/purchase100_hi/dev/model_0100/prediction.csv", OURS),
        ("other/other_hi/dev/model_100/prediction.csv", OURS),
        ("purchase100/purchase100_hi/dev/model_100/predictions.csv", OURS),
        ("purchase100/README.md", OURS),
    ],
)
def test_harmless_unscored_files_are_noticed_not_refused(predictions, name, reason):
    data = rezip([*kit_entries(predictions), (name, b"0.5")])
    values, notices = read_submission_with_notices(data, EXPECTED)
    assert set(values) == set(EXPECTED.model_keys())
    assert notices == [(name, f"not scored: {reason}")]
    assert read_submission(data, EXPECTED).keys() == values.keys()


def test_a_zip_of_the_whole_prediction_tree_of_a_mico_track_is_accepted(tmp_path):
    """MICO's kit writes a prediction.csv for train, dev and final models; zipping the whole
    tree (``zip -r``, directory entries included) adds 300 train predictions to the 300 scored
    ones, which fit the caps and are noticed."""
    labels = make_labels()
    predictions = make_predictions(labels)
    expected = Expected(
        "purchase100", ("hi", "inf", "lo"), {"dev": range(100, 150), "final": range(150, 200)}, 200
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for scenario in ("hi", "inf", "lo"):
            for phase in ("train", "dev", "final"):
                folder = f"purchase100/purchase100_{scenario}/{phase}"
                archive.writestr(f"{folder}/", b"")
                for (s, p, m), values in sorted(predictions.items()):
                    if (s, p) == (scenario, phase):
                        archive.writestr(f"{folder}/model_{m}/", b"")
                        archive.writestr(
                            f"{folder}/model_{m}/prediction.csv", prediction_csv(values)
                        )
    values, notices = read_submission_with_notices(buffer.getvalue(), expected)
    assert len(values) == 300 and len(notices) == 300
    assert {reason for _, reason in notices} == {"not scored: a train model"}


def test_comment_lines_are_allowed_in_predictions_and_solutions(predictions, tmp_path):
    entries = [
        (name, b"# predictions of the loss attack\n" + data.rstrip() + b"  # tuned on train\n")
        for name, data in kit_entries(predictions)
    ]
    values = read_submission(rezip(entries), EXPECTED)
    for key, expected in predictions.items():
        np.testing.assert_array_equal(values[key], np.array([str(v) for v in expected], float))
    labels = make_labels(scenarios=("hi", "lo"), models=MODELS)
    write_mico_tree(tmp_path, labels, solutions=("dev", "final"))
    for path in tmp_path.glob("**/solution.csv"):
        path.write_bytes(b"# membership\n" + path.read_bytes())
    expected = Expected.from_solutions_tree(tmp_path)
    assert expected == EXPECTED
    loaded = read_solutions(tmp_path, expected)
    assert all(np.array_equal(loaded[key], labels[key]) for key in labels)


def extract(data, root):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        archive.extractall(root)
    return root


@pytest.mark.parametrize("prefix", [True, False])
def test_an_extracted_tree_reads_as_its_zip(predictions, tmp_path, prefix):
    entries = kit_entries(predictions, prefix="purchase100/" if prefix else "")
    entries += [("README.md", b"hello"), (".hidden/x", b"junk"), ("__MACOSX/._y", b"junk")]
    data = rezip(entries)
    values, notices = read_prediction_tree(extract(data, tmp_path / "res"), EXPECTED)
    from_zip, zip_notices = read_submission_with_notices(data, EXPECTED)
    assert values.keys() == from_zip.keys()
    assert all(np.array_equal(values[key], from_zip[key]) for key in values)
    assert notices == zip_notices == [("README.md", NOT_OURS)]


def test_an_extracted_tree_refuses_links_and_oversized_files_and_names_the_missing(
    predictions, tmp_path
):
    root = extract(rezip(kit_entries(predictions)), tmp_path / "res")
    folder = root / "purchase100/purchase100_hi/dev"
    (folder / "model_100/prediction.csv").unlink()
    (folder / "model_100/prediction.csv").symlink_to("/etc/passwd")
    (folder / "model_101/prediction.csv").write_bytes(b"0.5," * 5000)
    (root / "purchase100/purchase100_lo/final").rename(root / "elsewhere")
    (root / "purchase100/purchase100_lo/final").symlink_to(root / "elsewhere")
    (root / "purchase100/inner.zip").write_bytes(b"PK")
    with pytest.raises(SubmissionError) as caught:
        read_prediction_tree(root, EXPECTED)
    problems = dict(caught.value.problems)
    assert problems["purchase100/purchase100_hi/dev/model_100/prediction.csv"] == "symbolic link"
    assert problems["purchase100/purchase100_hi/dev/model_101/prediction.csv"].startswith(
        "size 20000 bytes exceeds"
    )
    assert problems["purchase100/purchase100_lo/final"] == "symbolic link"
    assert problems["purchase100/inner.zip"] == "nested archive"
    assert problems["purchase100/purchase100_lo/final/model_150/prediction.csv"] == "missing"
    assert caught.value.notices == [
        (f"elsewhere/model_{m}/prediction.csv", NOT_OURS) for m in (150, 151)
    ]


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
        (("p", ("A",), {"dev": (1,)}, 4), "scenario 'A'"),
        (("p", ("hi", "lo"), {"dev": (1,)}, 4, {"hi": "x", "lo": "x"}), "share a folder"),
        (("p", ("hi",), {"dev": (1,)}, 4, {"zz": "x"}), "not expected"),
        (("p", ("hi",), {"test": (1,)}, 4), "phases must be among"),
        (("p", ("hi",), {"dev": (1, 1)}, 4), "distinct"),
        (("p", ("hi",), {"dev": (1,)}, 1), "n_points"),
    ],
)
def test_expected_refuses_nonsense(arguments, message):
    with pytest.raises(ValueError, match=message):
        Expected(*arguments)


def test_a_track_whose_scenarios_name_their_folders_reads_mico_ddp_layout(tmp_path):
    """MICO's DP-distinguisher track: ddp/cifar10_ddp/..., ddp/purchase100_ddp/..."""
    expected = Expected(
        "ddp", ("cifar10", "purchase100"), {"dev": (2,)}, 4,
        {"cifar10": "cifar10_ddp", "purchase100": "purchase100_ddp"},
    )  # fmt: skip
    assert expected.path("cifar10", "dev", 2) == "ddp/cifar10_ddp/dev/model_2/prediction.csv"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for folder in ("cifar10_ddp", "purchase100_ddp"):
            archive.writestr(f"ddp/{folder}/dev/model_2/prediction.csv", "0.1,0.2,0.3,0.4\n")
        archive.writestr("ddp/sst2_ddp/dev/model_2/prediction.csv", "0.1,0.2,0.3,0.4\n")
    values, notices = read_submission_with_notices(buffer.getvalue(), expected)
    assert set(values) == {("cifar10", "dev", 2), ("purchase100", "dev", 2)}
    assert [reason for _, reason in notices] == ["not scored: no scenario 'sst2_ddp' in this track"]
    for folder in ("cifar10_ddp", "purchase100_ddp"):
        model = tmp_path / "ref" / "ddp" / folder / "dev" / "model_2"
        model.mkdir(parents=True)
        (model / "solution.csv").write_text("0,1,0,1\n")
    tree = Expected.from_solutions_tree(tmp_path / "ref")
    assert tree.folders == {"cifar10_ddp": "cifar10_ddp", "purchase100_ddp": "purchase100_ddp"}
