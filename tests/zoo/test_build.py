import dataclasses
import json
import zipfile

import pytest
import torch
from torch import nn

from benchmark.zoo import challenge_points
from benchmark.zoo.__main__ import main
from benchmark.zoo.build import Chunk, build_chunk, is_chunk_complete, plan, track_dataset
from benchmark.zoo.models import load_stacked
from benchmark.zoo.stacked import forward_many


class MicoMLP(nn.Module):
    """MICO's mico_competition.MLP, as a participant has it."""

    def __init__(self):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(600, 128), nn.Tanh(), nn.Linear(128, 100))

    def forward(self, x):
        return self.mlp(x)


def test_plan_covers_every_model_once(track_text):
    from benchmark.zoo.tracks import parse_track

    chunks = plan(parse_track(track_text))
    assert [(c.scenario, c.phase, c.indices) for c in chunks] == [
        (s, p, i)
        for s in ("inf", "hi")
        for p, i in (("train", (0, 1)), ("train", (2,)), ("dev", (3,)), ("final", (4,)))
    ]
    assert Chunk.from_dict({"scenario": "hi", "phase": "dev", "indices": [3]}) == chunks[6]


def test_layout_is_micos(built):
    root, _ = built
    tree, solutions = root / "out" / "tiny", root / "out" / "solutions" / "tiny"
    for scenario in ("inf", "hi"):
        base = tree / f"tiny_{scenario}"
        for i in range(3):
            names = {p.name for p in (base / "train" / f"model_{i}").iterdir()}
            assert names == {
                "model.pt",
                "seed_challenge",
                "seed_training",
                "seed_membership",
                "solution.csv",
            }
        for phase, i in (("dev", 3), ("final", 4)):
            assert {p.name for p in (base / phase / f"model_{i}").iterdir()} == {
                "model.pt",
                "seed_challenge",
            }
            theirs = solutions / f"tiny_{scenario}" / phase / f"model_{i}"
            assert {p.name for p in theirs.iterdir()} == {"solution.csv", "record.json"}
    assert (root / "out/tiny.dataset.json").is_file()
    population = [int(v) for v in (root / "out/tiny.population.csv").read_text().split()]
    assert len(population) == 100 == len(set(population))


def test_models_load_with_mico_code_and_predict_like_the_stack(built):
    root, track = built
    folder = root / "out" / "tiny" / "tiny_inf" / "train" / "model_0"
    model = MicoMLP()
    model.load_state_dict(torch.load(folder / "model.pt"))
    data = track_dataset(track)
    points = challenge_points(folder, data)
    folders = [folder.parent / f"model_{i}" for i in range(3)]
    logits = forward_many(load_stacked(folders, "mlp-purchase"), "mlp-purchase", points.x)
    with torch.no_grad():
        torch.testing.assert_close(logits[0], model(points.x), rtol=1e-4, atol=1e-5)
    assert logits.shape == (3, 20, 100)


def test_challenge_points_match_solution_and_records(built):
    root, track = built
    data = track_dataset(track)
    folder = root / "out" / "tiny" / "tiny_hi" / "train" / "model_2"
    points = challenge_points(folder, data)
    solution = [int(v) for v in (folder / "solution.csv").read_text().strip().split(",")]
    assert points.membership.int().tolist() == solution and sum(solution) == 10
    assert points.x.shape == (20, 600) and torch.equal(points.y, data.y[points.indices])
    population = {int(v) for v in (root / "out/tiny.population.csv").read_text().split()}
    assert not population & set(points.indices.tolist())
    assert not population & set(points.training.tolist())
    dev = challenge_points(root / "out" / "tiny" / "tiny_hi" / "dev" / "model_3", data)
    assert dev.membership is None and dev.training is None
    hidden = root / "out/solutions/tiny/tiny_hi/dev/model_3"
    assert len((hidden / "solution.csv").read_text().split(",")) == 20
    record = json.loads((hidden / "record.json").read_text())
    assert record["phase"] == "dev" and record["index"] == 3
    assert 0 < record["epsilon_spent"] <= 10.0 and record["noise_multiplier"] > 0
    assert 0 <= record["eval_acc"] <= 1 and record["wall_s"] > 0


def test_zip_has_no_hidden_membership(built):
    root, _ = built
    names = zipfile.ZipFile(root / "tiny.zip").namelist()
    assert "tiny.dataset.json" in names and "tiny/tiny_inf/train/model_0/solution.csv" in names
    hidden = [n for n in names if "/dev/" in n or "/final/" in n]
    assert hidden and all(n.endswith(("model.pt", "seed_challenge")) for n in hidden)
    assert not any(n.startswith("solutions") for n in names)


def test_rebuild_skips_complete_chunks_and_is_deterministic(built, tmp_path):
    root, track = built
    chunk = plan(track)[0]
    out = root / "out"
    model_file = out / "tiny" / "tiny_inf" / "train" / "model_0" / "model.pt"
    stamp = model_file.stat().st_mtime_ns
    assert is_chunk_complete(track, chunk, out)
    records = build_chunk(track, chunk, out)
    assert model_file.stat().st_mtime_ns == stamp
    assert [r.index for r in records] == [0, 1]
    fresh = build_chunk(track, chunk, tmp_path)
    timeless = [dataclasses.replace(r, wall_s=0.0) for r in records]
    assert [dataclasses.replace(r, wall_s=0.0) for r in fresh] == timeless
    again = (tmp_path / "tiny/tiny_inf/train/model_0/model.pt").read_bytes()
    assert again == model_file.read_bytes()
    (tmp_path / "tiny/tiny_inf/train/model_1/seed_membership").unlink()
    assert not is_chunk_complete(track, chunk, tmp_path)
    with pytest.raises(ValueError, match="not dev models"):
        build_chunk(track, Chunk("inf", "dev", (0,)), tmp_path)


def test_cli_rejects_invalid_track(tmp_path, capsys):
    (tmp_path / "bad.toml").write_text('slug = "Bad"')
    assert main(["build", str(tmp_path / "bad.toml"), "--out", str(tmp_path)]) == 2
    assert "slug must match" in capsys.readouterr().err


def test_revealed_training_seeds_reach_dev_and_final(track_text):
    from benchmark.zoo.bundles import organizer_files, participant_files
    from benchmark.zoo.tracks import parse_track

    hidden = parse_track(track_text)
    reveal = "chunk = 2\nreveal_training_seeds = true"
    revealed = parse_track(track_text.replace("chunk = 2", reveal))
    assert participant_files(hidden, "dev") == ("model.pt", "seed_challenge")
    assert participant_files(revealed, "final") == ("model.pt", "seed_challenge", "seed_training")
    assert "seed_membership" in participant_files(hidden, "train")
    assert organizer_files("dev") == ("solution.csv", "record.json")
