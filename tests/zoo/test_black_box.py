"""Black-box tracks in the zoo: release keys in track files, bundles without weights, L2."""

import json
import zipfile

import pytest
import torch

from benchmark.zoo.__main__ import main
from benchmark.zoo.build import train_config
from benchmark.zoo.engine import TrainConfig, train_group
from benchmark.zoo.release import Defence
from benchmark.zoo.tracks import load_track, parse_track
from tests.zoo.conftest import TRACK

_DEFENDED = 'slug = "inf"\nepsilon = "inf"\ntop_k = 3\nweight_decay = 0.001'
BLACK_BOX = TRACK.replace('accountant = "rdp"', 'accountant = "rdp"\naccess = "black-box"').replace(
    'slug = "inf"\nepsilon = "inf"', _DEFENDED
)


@pytest.fixture(scope="module")
def black_box_build(tmp_path_factory):
    root = tmp_path_factory.mktemp("black-box")
    (root / "tiny.toml").write_text(BLACK_BOX)
    command = ["build", str(root / "tiny.toml"), "--out", str(root / "out")]
    assert main([*command, "--zip", str(root / "tiny.zip")]) == 0
    return root, load_track(root / "tiny.toml")


def test_the_track_file_declares_access_and_each_scenarios_release(black_box_build):
    _, track = black_box_build
    assert track.black_box
    inf, hi = track.scenarios
    assert inf.defence == Defence(top_k=3) and hi.defence.none
    assert inf.training.weight_decay == 0.001 and hi.training.weight_decay == 0.0
    assert train_config(track, inf).weight_decay == 0.001


def test_a_black_box_bundle_holds_seeds_and_train_solutions_but_no_weights(black_box_build):
    root, _ = black_box_build
    names = zipfile.ZipFile(root / "tiny.zip").namelist()
    assert not [name for name in names if name.endswith("model.pt")]
    assert "tiny/tiny_inf/train/model_0/solution.csv" in names
    assert "tiny/tiny_inf/dev/model_3/seed_challenge" in names
    # the platform keeps the weights it serves queries from
    assert (root / "out" / "tiny" / "tiny_inf" / "dev" / "model_3" / "model.pt").is_file()


def test_the_manifest_describes_access_release_and_recipe(black_box_build):
    root, _ = black_box_build
    manifest = json.loads((root / "out" / "tiny.dataset.json").read_text())
    assert manifest["access"] == "black-box"
    inf, hi = manifest["folders"]["tiny_inf"], manifest["folders"]["tiny_hi"]
    assert inf["release"] == {
        "temperature": 1.0, "top_k": 3, "decimals": None, "label_only": False
    }  # fmt: skip
    assert inf["recipe"]["optimizer"] == "adam" and inf["recipe"]["weight_decay"] == 0.001
    assert inf["recipe"]["epsilon"] == "inf" and "clip" not in inf["recipe"]
    assert (hi["recipe"]["epsilon"], hi["recipe"]["delta"], hi["recipe"]["clip"]) == (
        10.0, 1e-5, 2.6
    )  # fmt: skip


def test_the_bundle_readme_says_how_to_query(black_box_build):
    root, _ = black_box_build
    text = (root / "out" / "tiny.README.md").read_text()
    assert "black-box" in text and "/api/v1/tracks/tiny/query/" in text
    assert "top-3" in text


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("top_k = 3\n", "top_k = 3\n"), None),
        (('access = "black-box"', 'access = "white-box"'), r"scenario\[0\]\.top_k is only for"),
        (("top_k = 3", "top_k = 3\nlabel_only = true"), r"top_k does not apply with label_only"),
        (("top_k = 3", "top_k = 0"), r"scenario\[0\]\.top_k must be an integer >= 1"),
        (("top_k = 3", "temperature = 0.0"), r"scenario\[0\]\.temperature must be a positive"),
        (("top_k = 3", "decimals = -1"), r"scenario\[0\]\.decimals must be an integer >= 0"),
        (("weight_decay = 0.001", "weight_decay = -1.0"), r"weight_decay must be a non-negative"),
        (('access = "black-box"', 'access = "grey"'), r"access must be one of white-box"),
    ],
)
def test_release_keys_are_checked(edit, message):
    import tomllib

    text = BLACK_BOX.replace(*edit)
    if message is None:
        assert parse_track(tomllib.loads(text)).black_box
        return
    with pytest.raises(ValueError, match=message):
        parse_track(tomllib.loads(text))


def test_weight_decay_shrinks_the_weights_it_trains():
    torch.manual_seed(0)
    x = torch.rand(256, 600).round()
    y = torch.randint(0, 100, (256,))
    rows = torch.arange(200).repeat(2, 1)

    def norm(decay: float) -> float:
        config = TrainConfig(
            optimizer="adam", lr=0.01, epochs=5, batch=50, lr_step=5, lr_gamma=1.0,
            weight_decay=decay,
        )  # fmt: skip
        result = train_group(
            "mlp-purchase", x, y, rows, config=config, init_seeds=[1, 2], order_seeds=[3, 4]
        )
        return float(sum(p.pow(2).sum() for p in result.params.values()))

    assert norm(0.5) < 0.5 * norm(0.0)
