"""The participant bundle: MICO's starting kit runs on it, its README is true, old bundles load."""

import doctest
import json
import os
import re
import shutil
import zipfile

import pytest
import torch

import scoring.cli
from benchmark.zoo import bundle_readme, challenge_points, load_dataset, splits
from benchmark.zoo.build import manifest
from benchmark.zoo.bundles import write_track_files, zip_participant_bundle
from benchmark.zoo.splits import TrackFiles, find_track_files, is_track_dir, track_files
from benchmark.zoo.tracks import PRIMARY_METRICS, parse_track


def mico_starting_kit_folders(challenge):
    """MICO's starting-kit loop over a bundle, as its notebooks walk it: every scenario, every
    phase, every model folder sorted by ``int(name.split("_")[1])``."""
    folders = []
    for scenario in os.listdir(challenge):
        for phase in ("train", "dev", "final"):
            root = os.path.join(challenge, scenario, phase)
            for model_folder in sorted(os.listdir(root), key=lambda d: int(d.split("_")[1])):
                folders.append(os.path.join(root, model_folder))
    return folders


@pytest.mark.parametrize("where", ["build", "zip"])
def test_micos_starting_kit_loop_finds_folders_only(built, unzipped, where):
    root, _ = built
    bundle = root / "out" if where == "build" else unzipped
    challenge = bundle / "tiny"
    assert sorted(os.listdir(challenge)) == ["tiny_hi", "tiny_inf"]
    for scenario in os.listdir(challenge):
        assert sorted(os.listdir(challenge / scenario)) == ["dev", "final", "train"]
    folders = mico_starting_kit_folders(challenge)
    assert len(folders) == 2 * 5
    assert all(os.path.isdir(folder) for folder in folders)
    train = [folder for folder in folders if "tiny_hi/train" in folder]
    assert train == [str(challenge / "tiny_hi" / "train" / f"model_{i}") for i in range(3)]


def test_zip_puts_readme_manifest_and_population_beside_the_track(built, unzipped):
    root, _ = built
    names = zipfile.ZipFile(root / "tiny.zip").namelist()
    top = sorted({name.split("/")[0] for name in names})
    assert top == ["README.md", "tiny", "tiny.dataset.json", "tiny.population.csv"]
    assert {name.split("/")[1] for name in names if name.startswith("tiny/")} == {
        "tiny_hi",
        "tiny_inf",
    }
    assert not any("solutions" in name or name.endswith("record.json") for name in names)
    for phase in ("dev", "final"):
        inside = [name for name in names if f"/{phase}/" in name]
        assert inside and all(name.endswith(("model.pt", "seed_challenge")) for name in inside)
    build = root / "out"
    assert (build / "tiny.README.md").read_text() == (unzipped / "README.md").read_text()
    for name in ("tiny.dataset.json", "tiny.population.csv"):
        assert (build / name).read_bytes() == (unzipped / name).read_bytes()
    assert not (build / "tiny" / "dataset.json").exists()


def test_readme_describes_the_track(built, unzipped):
    _, track = built
    text = (unzipped / "README.md").read_text()
    assert text.startswith("# Tiny (`tiny`): participant bundle")
    assert "| `inf` | `tiny/tiny_inf/` | ε = ∞ (no differential privacy) |" in text
    assert "| `hi` | `tiny/tiny_hi/` | DP-SGD, ε = 10, δ = 1e-05, clip 2.6 |" in text
    assert "2m = 20 challenge points" in text and "m = 10:" in text
    assert "3 train (`model_0` … `model_2`" in text
    assert "1 dev (`model_3`, the live" in text and "1 final (`model_4`, hidden" in text
    assert "30 submissions a day and 1,000 in all" in text and "2,000,000 bytes" in text
    assert 'load_dataset(**manifest["dataset"])' in text
    assert "challenge_points(" in text
    assert "tiny_<scenario>/<phase>/model_<i>/prediction.csv" in text
    assert "python -m scoring validate submission.zip --bundle ." in text
    assert "TPR at FPR < 10%" in text and "one global threshold per scenario" in text
    assert "latest valid submission" in text and "final scores stay hidden" in text
    assert f"{track.population} dataset rows that no model trains on" in text


def test_readme_code_writes_a_zip_that_validates(unzipped, tmp_path, monkeypatch, capsys):
    bundle = tmp_path / "bundle"
    shutil.copytree(unzipped, bundle)
    monkeypatch.chdir(bundle)
    text = (bundle / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert len(blocks) == 2
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)
    assert scoring.cli.main(["validate", "submission.zip", "--bundle", "."]) == 0
    assert "ok: 4 predictions of 20 values for track tiny" in capsys.readouterr().out
    names = zipfile.ZipFile("submission.zip").namelist()
    assert "tiny/tiny_inf/final/model_4/prediction.csv" in names


def test_challenge_points_docstring_runs(unzipped):
    globs = {"bundle": unzipped}
    result = doctest.testmod(splits, extraglobs=globs, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted >= 10
    assert doctest.testmod(bundle_readme).failed == 0


def test_manifest_dataset_is_load_datasets_arguments(built, unzipped):
    _, track = built
    written = json.loads((unzipped / "tiny.dataset.json").read_text())
    assert written == manifest(track)
    assert written["dataset"] == {"name": "purchase-synthetic", "path": "", "size": 500, "seed": 0}
    data = load_dataset(**written["dataset"])
    assert data.checksum() == written["checksum_sha256"]


def test_a_file_dataset_loads_from_the_folder_holding_its_file(track_text, tmp_path, monkeypatch):
    rows = [[1 + i % 100] + [(i * j) % 2 for j in range(600)] for i in range(5)]
    file = tmp_path / "organizer" / "dataset_purchase"
    file.parent.mkdir()
    file.write_text("\n".join(",".join(map(str, row)) for row in rows) + "\n")
    text = track_text.replace('dataset = "purchase-synthetic"', 'dataset = "purchase100"')
    text = text.replace("dataset_size = 500", f'dataset_path = "{file}"')
    written = manifest(parse_track(text))
    assert written["dataset"] == {
        "name": "purchase100",
        "path": "dataset_purchase",
        "size": 0,
        "seed": 0,
    }
    participant = tmp_path / "participant"
    participant.mkdir()
    shutil.copy(file, participant / "dataset_purchase")
    monkeypatch.chdir(participant)
    data = load_dataset(**written["dataset"])
    assert data.checksum() == written["checksum_sha256"] and len(data) == 5


def test_file_datasets_name_their_file_in_the_manifest(track_text):
    text = track_text.replace(
        'dataset = "purchase-synthetic"',
        'dataset = "purchase-synthetic"\ndataset_path = "/srv/data/dataset_purchase"',
    )
    readme = bundle_readme.bundle_readme(
        parse_track(text),
        {
            "dataset": {"name": "purchase100", "path": "dataset_purchase", "size": 0, "seed": 0},
            "records": 197_324,
            "num_classes": 100,
            "checksum_sha256": "0" * 64,
        },
    )
    assert "reads the file `dataset_purchase` from the folder you run in" in readme
    assert '"path": "/data/dataset_purchase"' in readme


def test_an_older_bundle_with_the_manifest_inside_still_loads(built, unzipped, tmp_path):
    _, track = built
    old = tmp_path / "old"
    shutil.copytree(unzipped / "tiny", old / "tiny")
    entry = json.loads((unzipped / "tiny.dataset.json").read_text())
    entry["dataset"] = {"name": "purchase-synthetic", "size": 500, "seed": 0, "path_hint": ""}
    (old / "tiny" / "dataset.json").write_text(json.dumps(entry))
    shutil.copy(unzipped / "tiny.population.csv", old / "tiny" / "population.csv")
    assert track_files(old / "tiny") == TrackFiles.inside(old / "tiny")
    data = load_dataset(track.dataset, size=track.dataset_size, seed=track.dataset_seed)
    for model in ("tiny_hi/train/model_2", "tiny_inf/dev/model_3"):
        before = challenge_points(unzipped / "tiny" / model, data)
        after = challenge_points(old / "tiny" / model, data)
        assert torch.equal(before.indices, after.indices)
        assert torch.equal(before.x, after.x)
        membership = before.membership
        assert membership is None or torch.equal(membership, after.membership)


def test_track_files_are_found_from_any_folder_of_the_track(unzipped, tmp_path):
    beside = TrackFiles.beside(unzipped / "tiny")
    assert beside.manifest == (unzipped / "tiny.dataset.json").resolve()
    for folder in ("tiny", "tiny/tiny_inf", "tiny/tiny_inf/dev", "tiny/tiny_inf/dev/model_3"):
        assert find_track_files(unzipped / folder) == beside
    assert is_track_dir(unzipped / "tiny") and not is_track_dir(unzipped / "tiny/tiny_inf")
    with pytest.raises(ValueError, match="not a track bundle folder"):
        track_files(unzipped / "tiny" / "tiny_inf")
    with pytest.raises(ValueError, match=r"no dataset\.json found"):
        find_track_files(tmp_path)
    (tmp_path / "lone").mkdir()
    (tmp_path / "lone.dataset.json").write_text("{}")
    with pytest.raises(ValueError, match=r"lone\.population\.csv"):
        track_files(tmp_path / "lone")


def test_rewriting_an_older_build_moves_its_files_beside_the_track(built, tmp_path):
    root, track = built
    out = tmp_path / "out"
    shutil.copytree(root / "out" / "tiny", out / "tiny")
    for name in ("dataset.json", "population.csv"):
        (out / "tiny" / name).write_text("stale")
    population = torch.tensor(
        [int(v) for v in (root / "out/tiny.population.csv").read_text().split()]
    )
    write_track_files(
        track, out, manifest=manifest(track), populations={"tiny.population.csv": population}
    )
    assert sorted(os.listdir(out / "tiny")) == ["tiny_hi", "tiny_inf"]
    assert sorted(os.listdir(out)) == [
        "tiny",
        "tiny.README.md",
        "tiny.dataset.json",
        "tiny.population.csv",
    ]
    names = zipfile.ZipFile(zip_participant_bundle(track, out, tmp_path / "b.zip")).namelist()
    assert "tiny/dataset.json" not in names and "README.md" in names


def test_zip_refuses_a_track_that_is_not_built(built, tmp_path):
    root, track = built
    with pytest.raises(ValueError, match=r"not a built track \(no tiny.dataset.json"):
        zip_participant_bundle(track, tmp_path, tmp_path / "b.zip")
    out = tmp_path / "out"
    shutil.copytree(root / "out" / "tiny" / "tiny_inf", out / "tiny" / "tiny_inf")
    for name in ("tiny.dataset.json", "tiny.population.csv"):
        shutil.copy(root / "out" / name, out / name)
    with pytest.raises(ValueError, match="tiny_hi is missing"):
        zip_participant_bundle(track, out, tmp_path / "b.zip")


def test_dp_distinguisher_and_population_free_tracks_say_so(built, track_text):
    _, track = built
    written = manifest(track)
    text = track_text.replace("population = 100", "population = 0")
    text = text.replace("chunk = 2", "chunk = 2\nreveal_training_seeds = true")
    readme = bundle_readme.bundle_readme(parse_track(text), written)
    assert "none (as in MICO; `tiny.population.csv` is empty)" in readme
    assert "dev/model_<i>/" in readme and "model.pt, seed_challenge, seed_training" in readme
    assert "reveals `seed_training` for dev and final models too" in readme


@pytest.mark.parametrize("metric", PRIMARY_METRICS)
def test_every_primary_metric_is_described(metric):
    assert bundle_readme.metric_description(metric).startswith(("TPR at FPR < ", metric))


def test_an_unknown_metric_is_refused():
    with pytest.raises(ValueError, match="metric must be one of"):
        bundle_readme.metric_description("TPR")
