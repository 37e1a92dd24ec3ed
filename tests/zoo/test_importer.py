"""Importing a zoo trained elsewhere: MICO's archive layout in, the platform's layout out, with
MICO's exact challenge points and every problem of a bad release listed with its path."""

import shutil

import pytest
import torch

from benchmark.zoo import challenge_points, load_dataset
from benchmark.zoo.bundles import model_dir, solution_dir
from benchmark.zoo.importer import Release, ReleaseError, check_release, import_release
from benchmark.zoo.models import load_stacked
from benchmark.zoo.tracks import load_track
from tests.zoo.mico_release import write_release


@pytest.fixture
def release(tmp_path):
    return write_release(tmp_path)


def _import(release, out):
    track = load_track(release["track"])
    located = Release.locate(track, release["release"], release["solutions"])
    return track, import_release(track, located, out)


def test_a_mico_release_imports_with_micos_exact_challenge_points(release, tmp_path):
    track, records = _import(release, tmp_path / "zoo")
    assert len(records) == 12 and {r.dtype for r in records} == {"imported"}
    data = load_dataset("purchase100", path=str(release["data"]))
    for (scenario, phase, index), (rows, labels) in release["truth"].items():
        folder = model_dir(tmp_path / "zoo", track, scenario, phase, index)
        points = challenge_points(folder, data)
        assert points.indices.tolist() == rows, "MICO's seeds rebuild MICO's challenge points"
        if phase == "train":
            assert points.membership.long().tolist() == labels
        else:
            solution = solution_dir(tmp_path / "zoo", track, scenario, phase, index)
            assert (solution / "solution.csv").read_text().strip() == ",".join(map(str, labels))
            assert not (folder / "seed_membership").exists(), "dev/final keep their secrets"
    dp = model_dir(tmp_path / "zoo", track, "lo", "dev", 2)
    params = load_stacked([dp], "mlp-purchase")
    assert not any(key.startswith("_module.") for key in params), "Opacus's prefix is dropped"
    trained = [r for r in records if r.phase == "train"]
    assert all(r.train_acc is not None and r.eval_acc is not None for r in trained)
    assert all(r.train_acc is None for r in records if r.phase != "train")


def test_every_problem_of_a_bad_release_is_listed_with_its_path(release, tmp_path):
    root = release["release"] / "micoish"
    shutil.rmtree(root / "micoish_inf" / "dev" / "model_2")
    (root / "micoish_inf" / "train" / "model_0" / "seed_membership").unlink()
    (root / "micoish_lo" / "train" / "model_1" / "solution.csv").write_text("1,0,1\n")
    torch.save({"weight": torch.zeros(3)}, root / "micoish_lo" / "final" / "model_4" / "model.pt")
    (root / "micoish_inf" / "dev" / "model_9").mkdir()
    (release["solutions"] / "micoish" / "micoish_lo" / "dev" / "model_3" / "solution.csv").unlink()
    track = load_track(release["track"])
    problems = check_release(track, Release.locate(track, release["release"], release["solutions"]))
    said = {(p.path.split("micoish/", 1)[-1], p.reason.split(" ")[0]) for p in problems}
    assert ("micoish_inf/dev/model_2", "missing") in said
    assert ("micoish_inf/train/model_0/seed_membership", "missing") in said
    assert ("micoish_lo/train/model_1/solution.csv", "must") in said
    assert ("micoish_lo/final/model_4/model.pt", "does") in said
    assert ("micoish_inf/dev/model_9", "not") in said
    assert ("micoish_lo/dev/model_3/solution.csv", "missing") in said
    with pytest.raises(ReleaseError, match="6 problems in the release"):
        import_release(track, Release.locate(track, release["release"], release["solutions"]),
                       tmp_path / "zoo")  # fmt: skip
    assert not (tmp_path / "zoo").exists(), "nothing is written from a bad release"


def test_a_seed_file_that_is_not_the_models_own_is_caught(release):
    root = release["release"] / "micoish" / "micoish_inf" / "train"
    (root / "model_0" / "seed_membership").write_text(
        (root / "model_1" / "seed_membership").read_text()
    )
    track = load_track(release["track"])
    problems = check_release(
        track,
        Release.locate(track, release["release"], release["solutions"]),
        datasets={
            s.slug: load_dataset("purchase100", path=str(release["data"])) for s in track.scenarios
        },
    )
    assert [p.path.split("micoish/", 1)[-1] for p in problems] == [
        "micoish_inf/train/model_0/solution.csv"
    ]
    assert "seed files are not this model's" in problems[0].reason


def test_the_command_line_imports_or_lists_the_problems(release, tmp_path, capsys):
    from benchmark.zoo.__main__ import main

    args = ["import", str(release["release"]), "--track", str(release["track"]),
            "--solutions", str(release["solutions"]), "--out", str(tmp_path / "zoo"),
            "--zip", str(tmp_path / "bundle.zip")]  # fmt: skip
    assert main(args) == 0
    assert "micoish: imported 12 models" in capsys.readouterr().out
    assert (tmp_path / "bundle.zip").is_file()
    (release["release"] / "micoish" / "micoish_inf" / "dev" / "model_2" / "model.pt").unlink()
    args[-3] = str(tmp_path / "again")
    assert main(args[:-2]) == 3
    assert "micoish_inf/dev/model_2/model.pt: missing" in capsys.readouterr().err
