"""MICO's starting kit, with only its imports changed, on a bundle the platform built.

The track reserves no population (as MICO's tracks) and reads a Purchase-style
``dataset_purchase`` file, so the kit's ``load_purchase100(dataset_dir=...)`` reads it. The
steps follow ``starting-kit/purchase100.ipynb``: loop over ``os.listdir(CHALLENGE)``, phases
dev, final and train, ``ChallengeDataset.from_path``, one batch of 2m, ``load_model``, the
loss attack, ``csv.writer(f).writerow(predictions)``; score train with MICO's ``score``; zip
dev and final with ``ZipFile.write(path)``. The zip is then scored by :mod:`scoring`.
"""

import csv
import doctest
import importlib
import os
import pickle
import zipfile

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score, roc_curve

import scoring
from benchmark.zoo import challenge_points, load_dataset
from benchmark.zoo import models as zoo_models
from benchmark.zoo.__main__ import main
from benchmark.zoo.datasets import CIFAR10_MEAN, CIFAR10_STD, purchase_synthetic
from benchmark.zoo.mico import (
    CNN,
    MLP,
    ChallengeDataset,
    load_cifar10,
    load_model,
    load_purchase100,
)
from benchmark.zoo.mico import scoring as mico_scoring
from scoring.cli import score_submission

TRACK = """
slug = "kit"
name = "Starting kit"
dataset = "purchase100"
dataset_path = "{path}"
population = 0
architecture = "mlp-purchase"
challenge = 100
training_size = 300
models = {{ train = 2, dev = 2, final = 2 }}
chunk = 2
accountant = "rdp"

[training]
optimizer = "adam"
lr = 0.003
epochs = 3
batch = 50
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

RECORDS = 600


def write_dataset_purchase(path, *, size, seed):
    """A Purchase-style dataset in Shokri et al.'s format: label 1..100, then 600 0/1 features."""
    data = purchase_synthetic(path="", size=size, seed=seed)
    table = np.concatenate([data.y.numpy()[:, None] + 1, data.x.numpy().astype(np.int64)], axis=1)
    path.parent.mkdir(parents=True)
    np.savetxt(path, table, fmt="%d", delimiter=",")


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    """``(root, data_dir)``: the track built into ``root/out`` and zipped to ``root/kit.zip``;
    ``data_dir/purchase100/dataset_purchase`` is its dataset."""
    root = tmp_path_factory.mktemp("kit")
    data_dir = root / "data"
    write_dataset_purchase(data_dir / "purchase100" / "dataset_purchase", size=RECORDS, seed=0)
    track = root / "kit.toml"
    track.write_text(TRACK.format(path=data_dir / "purchase100" / "dataset_purchase"))
    command = ["build", str(track), "--out", str(root / "out"), "--zip", str(root / "kit.zip")]
    assert main(command) == 0
    return root, data_dir


@pytest.fixture
def participant(kit, tmp_path, monkeypatch):
    """The participant zip extracted into the working directory, as the kit's notebook sees it."""
    root, _ = kit
    with zipfile.ZipFile(root / "kit.zip") as archive:
        archive.extractall(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_starting_kit_runs_on_a_bundle_and_its_zip_scores(kit, participant):
    # The notebook's imports, changed from mico_competition to benchmark.zoo.mico.
    from benchmark.zoo.mico import ChallengeDataset, load_model, load_purchase100
    from benchmark.zoo.mico.scoring import score, tpr_at_fpr

    root, data_dir = kit
    CHALLENGE = "kit"
    LEN_TRAINING = 300
    LEN_CHALLENGE = 100

    scenarios = os.listdir(CHALLENGE)
    phases = ["dev", "final", "train"]

    dataset = load_purchase100(dataset_dir=str(data_dir))

    criterion = torch.nn.CrossEntropyLoss(reduction="none")

    for scenario in scenarios:
        for phase in phases:
            root_dir = os.path.join(CHALLENGE, scenario, phase)
            for model_folder in sorted(os.listdir(root_dir), key=lambda d: int(d.split("_")[1])):
                path = os.path.join(root_dir, model_folder)
                challenge_dataset = ChallengeDataset.from_path(
                    path, dataset=dataset, len_training=LEN_TRAINING
                )
                challenge_points = challenge_dataset.get_challenges()

                model = load_model("purchase100", path)
                challenge_dataloader = torch.utils.data.DataLoader(
                    challenge_points, batch_size=2 * LEN_CHALLENGE
                )
                features, labels = next(iter(challenge_dataloader))
                output = model(features)
                predictions = -criterion(output, labels).detach().numpy()
                min_prediction = np.min(predictions)
                max_prediction = np.max(predictions)
                predictions = (predictions - min_prediction) / (max_prediction - min_prediction)

                assert np.all((0 <= predictions) & (predictions <= 1))  # noqa: SIM300 (the kit)

                with open(os.path.join(path, "prediction.csv"), "w") as f:
                    csv.writer(f).writerow(predictions)

    assert sorted(scenarios) == ["kit_hi", "kit_inf"]

    # Scoring the train models, as the notebook does.
    all_scores = {}
    for scenario in scenarios:
        all_scores[scenario] = {}
        for phase in ["train"]:
            predictions = []
            solutions = []
            root_dir = os.path.join(CHALLENGE, scenario, phase)
            for model_folder in sorted(os.listdir(root_dir), key=lambda d: int(d.split("_")[1])):
                path = os.path.join(root_dir, model_folder)
                predictions.append(np.loadtxt(os.path.join(path, "prediction.csv"), delimiter=","))
                solutions.append(np.loadtxt(os.path.join(path, "solution.csv"), delimiter=","))
            predictions = np.concatenate(predictions)
            solutions = np.concatenate(solutions)
            scores = score(solutions, predictions)
            all_scores[scenario][phase] = scores
            assert len(predictions) == 2 * 2 * LEN_CHALLENGE
            assert scores["TPR_FPR_1000"] == tpr_at_fpr(solutions, predictions)
            assert list(scores) == list(mico_scoring.MICO_KEYS)
    # Members of a model trained 3 epochs on 300 points have lower losses: the attack works.
    assert all_scores["kit_inf"]["train"]["AUC"] > 0.6

    # Packaging, as the notebook does.
    with zipfile.ZipFile("predictions_kit.zip", "w") as zipf:
        for scenario in scenarios:
            for phase in ["dev", "final"]:
                root_dir = os.path.join(CHALLENGE, scenario, phase)
                for model_folder in sorted(
                    os.listdir(root_dir), key=lambda d: int(d.split("_")[1])
                ):
                    path = os.path.join(root_dir, model_folder)
                    file = os.path.join(path, "prediction.csv")
                    if os.path.exists(file):
                        zipf.write(file)
                    else:
                        raise FileNotFoundError(f"`prediction.csv` not found in {path}.")

    result = score_submission(root / "out" / "solutions", participant / "predictions_kit.zip")
    assert sorted(result["scenarios"]) == ["kit_hi", "kit_inf"]
    for name, phases_scored in result["scenarios"].items():
        assert sorted(phases_scored) == ["dev", "final"]
        for phase, scored in phases_scored.items():
            folders = sorted((participant / CHALLENGE / name / phase).iterdir())
            hidden = root / "out" / "solutions" / CHALLENGE / name / phase
            solutions = np.concatenate(
                [np.loadtxt(hidden / f.name / "solution.csv", delimiter=",") for f in folders]
            )
            predictions = np.concatenate(
                [np.loadtxt(f / "prediction.csv", delimiter=",") for f in folders]
            )
            assert scored["AUC"] == score(solutions, predictions)["AUC"]
            assert scored["TPR_FPR_1000"] == score(solutions, predictions)["TPR_FPR_1000"]


def model_dirs(bundle):
    return sorted((bundle / "kit").glob("kit_*/*/model_*"))


def test_challenge_dataset_is_the_zoo_challenge_points(kit, participant):
    _, data_dir = kit
    dataset = load_dataset("purchase100", path=str(data_dir / "purchase100" / "dataset_purchase"))
    kit_dataset = load_purchase100(data_dir)
    folders = model_dirs(participant)
    assert len(folders) == 2 * 6
    for folder in folders:
        mico = ChallengeDataset.from_path(folder, dataset=kit_dataset, len_training=300)
        zoo = challenge_points(folder, dataset)
        features, labels = next(
            iter(torch.utils.data.DataLoader(mico.get_challenges(), batch_size=200))
        )
        assert mico.get_challenges().indices == zoo.indices.tolist()
        assert torch.equal(features, zoo.x) and torch.equal(labels, zoo.y)
        if folder.parent.name != "train":
            assert zoo.membership is None
            for needs_a_seed in (mico.get_solutions, mico.get_train_dataset, mico.get_eval_dataset):
                with pytest.raises(ValueError, match="seed"):
                    needs_a_seed()
            continue
        solution = (folder / "solution.csv").read_text().strip().split(",")
        assert mico.get_solutions() == [int(v) for v in solution] == zoo.membership.int().tolist()
        train_rows = [row for part in mico.get_train_dataset().datasets for row in rows_of(part)]
        members = [row for row, m in zip(zoo.indices.tolist(), mico.get_solutions()) if m]
        assert sorted(train_rows[:100]) == sorted(members)
        assert train_rows[100:] == zoo.training.tolist()
        evaluation = rows_of(mico.get_eval_dataset())
        assert len(set(evaluation) | set(train_rows) | set(zoo.indices.tolist())) == RECORDS


def rows_of(subset):
    """The dataset rows of nested ``Subset``\\ s."""
    indices = list(subset.indices)
    while isinstance(subset.dataset, torch.utils.data.Subset):
        subset = subset.dataset
        indices = [subset.indices[i] for i in indices]
    return indices


def test_from_path_reads_the_seeds_a_folder_has(participant, tmp_path):
    folder = participant / "kit" / "kit_inf" / "train" / "model_0"
    dataset = torch.utils.data.TensorDataset(torch.arange(RECORDS))
    full = ChallengeDataset.from_path(folder, dataset=dataset, len_training=300)
    ddp = tmp_path / "ddp"
    ddp.mkdir()
    for name in ("seed_challenge", "seed_training"):
        (ddp / name).write_text((folder / name).read_text())
    distinguisher = ChallengeDataset.from_path(ddp, dataset=dataset, len_training=300)
    assert rows_of(distinguisher.get_eval_dataset()) == rows_of(full.get_eval_dataset())
    with pytest.raises(ValueError, match="members/non-members"):
        distinguisher.get_train_dataset()
    with pytest.raises(ValueError, match="seed_challenge"):
        ChallengeDataset.from_path(tmp_path, dataset=dataset, len_training=300)
    with pytest.raises(ValueError, match="challenge"):
        ChallengeDataset.from_path(ddp, dataset=dataset, len_training=RECORDS)


def test_from_path_refuses_a_bundle_it_cannot_rebuild(participant):
    folder = participant / "kit" / "kit_inf" / "dev" / "model_2"
    dataset = torch.utils.data.TensorDataset(torch.arange(RECORDS))
    for wrong, message in (
        ({"len_training": 150_000}, "len_training is 150000, but track 'kit' has 300"),
        ({"len_training": 300, "len_challenge": 10}, "len_challenge is 10, but track 'kit'"),
    ):
        with pytest.raises(ValueError, match=message):
            ChallengeDataset.from_path(folder, dataset=dataset, **wrong)
    small = torch.utils.data.TensorDataset(torch.arange(RECORDS - 1))
    with pytest.raises(ValueError, match="len\\(dataset\\) is 599"):
        ChallengeDataset.from_path(folder, dataset=small, len_training=300)
    manifest = participant / "kit.dataset.json"
    manifest.write_text(manifest.read_text().replace('"population": 0', '"population": 50'))
    with pytest.raises(ValueError, match="reserves a population of 50 rows"):
        ChallengeDataset.from_path(folder, dataset=dataset, len_training=300)


def test_load_model_drops_opacus_prefix_and_evaluates(tmp_path):
    for task, cls, shape in (("purchase100", MLP, (4, 600)), ("cifar10", CNN, (2, 3, 32, 32))):
        torch.manual_seed(0)
        trained = cls()
        state = {f"_module.{key}": value for key, value in trained.state_dict().items()}
        folder = tmp_path / task
        folder.mkdir()
        torch.save(state, folder / "model.pt")
        model = load_model(task, folder)
        assert isinstance(model, cls) and not model.training
        assert isinstance(model, zoo_models.MLP if task == "purchase100" else zoo_models.CNN)
        x = torch.randn(shape)
        assert torch.equal(model(x), trained(x))
        torch.save(trained.state_dict(), folder / "model.pt")
        assert torch.equal(cls.load(folder / "model.pt")(x), trained(x))
    with pytest.raises(ValueError, match="does not fit mlp-purchase"):
        load_model("purchase100", tmp_path / "cifar10")
    with pytest.raises(ValueError, match=r"neither a Hugging Face model nor a model\.pt"):
        load_model("sst2", tmp_path)
    with pytest.raises(ValueError, match="'mnist'"):
        load_model("mnist", tmp_path)


def test_load_purchase100_reads_mico_folder(tmp_path):
    file = tmp_path / "purchase100" / "dataset_purchase"
    write_dataset_purchase(file, size=150, seed=3)
    table = np.loadtxt(file, delimiter=",", dtype=np.int64)
    dataset = load_purchase100(dataset_dir=tmp_path)
    x, y = dataset[7]
    assert len(dataset) == 150 and x.dtype == torch.float32 and y.dtype == torch.int64
    assert torch.equal(x, torch.tensor(table[7, 1:], dtype=torch.float32))
    assert int(y) == table[7, 0] - 1
    with pytest.raises(ValueError, match="dataset_purchase"):
        load_purchase100(tmp_path / "missing")


def test_load_cifar10_is_torchvision_totensor_and_normalize(tmp_path):
    folder = tmp_path / "cifar10" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    images, labels = [], []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (3, 3072), dtype=np.uint8), b"labels": [1, 2, 3]}
        (folder / name).write_bytes(pickle.dumps(batch))
        images.append(batch[b"data"])
        labels += batch[b"labels"]
    dataset = load_cifar10(dataset_dir=str(tmp_path))
    # torchvision's CIFAR10: rows to HWC images; ToTensor: CHW / 255; Normalize: (x - mean) / std.
    hwc = np.concatenate(images).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    mean = torch.tensor(CIFAR10_MEAN)[:, None, None]
    std = torch.tensor(CIFAR10_STD)[:, None, None]
    assert len(dataset) == 18
    for i in (0, 4, 17):
        tensor = torch.from_numpy(hwc[i]).permute(2, 0, 1).contiguous().float().div(255)
        x, y = dataset[i]
        assert torch.allclose(x, (tensor - mean) / std, rtol=0, atol=1e-6)
        assert int(y) == labels[i] and y.dtype == torch.int64
    with pytest.raises(ValueError, match="downloads nothing"):
        load_cifar10(dataset_dir=str(tmp_path), download=True)
    with pytest.raises(ValueError, match="cifar-10-batches-py"):
        load_cifar10(dataset_dir=str(tmp_path / "missing"))


def mico_score(solutions, predictions):
    """MICO's score.py, literally (scikit-learn's roc_curve and roc_auc_score)."""
    scores = {}
    for max_fpr in [0.001, 0.01, 0.05, 0.1, 0.15, 0.2]:
        fpr, tpr, _ = roc_curve(solutions, predictions)
        scores[f"TPR_FPR_{int(1e4 * max_fpr)}"] = max(tpr[fpr < max_fpr])
    fpr, tpr, _ = roc_curve(solutions, predictions)
    scores["fpr"] = fpr
    scores["tpr"] = tpr
    scores["AUC"] = roc_auc_score(solutions, predictions)
    scores["MIA"] = np.max(tpr - fpr)
    scores["accuracy"] = np.max(1 - (fpr + (1 - tpr)) / 2)
    return scores


@pytest.mark.parametrize("ties", [False, True])
def test_mico_scoring_gives_mico_scores(ties):
    rng = np.random.default_rng(ties)
    solutions = rng.permutation(np.repeat([0, 1], 500))
    predictions = np.clip(0.5 + 0.2 * solutions + 0.3 * rng.standard_normal(1000), 0, 1)
    if ties:
        predictions = np.round(predictions, 1)
    ours, theirs = mico_scoring.score(solutions, predictions), mico_score(solutions, predictions)
    assert list(ours) == list(theirs)
    for key, value in theirs.items():
        assert np.array_equal(ours[key], value), key
    for max_fpr in (0.001, 0.1, 0.37, 1.0):
        fpr, tpr, _ = roc_curve(solutions, predictions)
        assert mico_scoring.tpr_at_fpr(solutions, predictions, max_fpr) == max(tpr[fpr < max_fpr])
    with pytest.raises(ValueError, match="max_fpr"):
        mico_scoring.tpr_at_fpr(solutions, predictions, max_fpr=0)
    assert set(mico_scoring.MICO_KEYS) == {*scoring.METRIC_KEYS, "fpr", "tpr"}


@pytest.mark.parametrize("module", ["challenge", "scoring"])
def test_docstring_examples(module):
    failures, tried = doctest.testmod(importlib.import_module(f"benchmark.zoo.mico.{module}"))
    assert tried > 0 and failures == 0
