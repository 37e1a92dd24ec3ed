import zipfile

import pytest

from benchmark.zoo.__main__ import main
from benchmark.zoo.tracks import load_track

TRACK = """
slug = "tiny"
name = "Tiny"
dataset = "purchase-synthetic"
dataset_size = 500
population = 100
architecture = "mlp-purchase"
challenge = 10
training_size = 100
models = { train = 3, dev = 1, final = 1 }
chunk = 2
accountant = "rdp"

[training]
optimizer = "adam"
lr = 0.003
epochs = 2
batch = 25
lr_step = 5
lr_gamma = 0.9
dtype = "float32"

[limits]
per_day = 30
total = 1000
invalid_per_day = 30
max_bytes = 2_000_000

[phases]
dev_opens = 2026-12-01T00:00:00Z
final_deadline = 2027-01-26T23:59:00Z

[[scenario]]
slug = "inf"
epsilon = "inf"

[[scenario]]
slug = "hi"
epsilon = 10.0
delta = 1e-5
clip = 2.6
"""


@pytest.fixture
def track_text() -> str:
    return TRACK


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """``(root, track)``: TRACK built by the command line into ``root/out``, zipped to
    ``root/tiny.zip``. Tests read it and never change it."""
    root = tmp_path_factory.mktemp("zoo")
    (root / "tiny.toml").write_text(TRACK)
    command = ["build", str(root / "tiny.toml"), "--out", str(root / "out")]
    assert main([*command, "--zip", str(root / "tiny.zip")]) == 0
    return root, load_track(root / "tiny.toml")


@pytest.fixture(scope="session")
def unzipped(built, tmp_path_factory):
    """The participant zip of ``built``, extracted (read only: copy it to write in it)."""
    root, _ = built
    folder = tmp_path_factory.mktemp("unzipped")
    with zipfile.ZipFile(root / "tiny.zip") as archive:
        archive.extractall(folder)
    return folder
