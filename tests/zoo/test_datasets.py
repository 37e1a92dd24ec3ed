import pickle

import numpy as np
import pytest
import torch

from benchmark.zoo import datasets
from benchmark.zoo.datasets import DATASETS, load_dataset, register_dataset


def test_purchase_synthetic_is_deterministic_and_shaped():
    a = datasets.purchase_synthetic(path="", size=300, seed=3)
    b = datasets.purchase_synthetic(path="", size=300, seed=3)
    c = datasets.purchase_synthetic(path="", size=300, seed=4)
    assert a.x.shape == (300, 600) and a.y.shape == (300,)
    assert a.x.dtype == torch.float32 and a.y.dtype == torch.int64
    assert set(a.x.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert not torch.equal(a.x, c.x)
    assert a.y.min() >= 0 and a.y.max() < 100 and len(a.y.unique()) == 100
    assert a.checksum() == b.checksum() != c.checksum()


def test_digits_ships_with_sklearn():
    data = load_dataset("digits")
    assert data.x.shape == (1797, 1, 8, 8) and data.num_classes == 10
    assert data.x.min() >= 0.0 and data.x.max() <= 1.0


def test_purchase100_file(tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.integers(1, 101, size=5)
    rows = np.concatenate([labels[:, None], rng.integers(0, 2, size=(5, 600))], axis=1)
    file = tmp_path / "dataset_purchase"
    np.savetxt(file, rows, fmt="%d", delimiter=",")
    data = datasets.purchase100(path=str(tmp_path), size=0, seed=0)
    assert torch.equal(data.y, torch.from_numpy(labels - 1))
    assert torch.equal(data.x, torch.from_numpy(rows[:, 1:].astype(np.float32)))
    np.savetxt(file, rows[:, :300], fmt="%d", delimiter=",")
    with pytest.raises(ValueError, match="601 columns"):
        datasets.purchase100(path=str(file), size=0, seed=0)
    with pytest.raises(ValueError, match="dataset_path"):
        datasets.purchase100(path=str(tmp_path / "missing"), size=0, seed=0)


def test_cifar10_folder_concatenates_train_then_test(tmp_path):
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for i, name in enumerate(names):
        batch = {b"data": np.full((2, 3072), i, dtype=np.uint8), b"labels": [i, 9 - i]}
        (tmp_path / name).write_bytes(pickle.dumps(batch))
    data = datasets.cifar10(path=str(tmp_path), size=0, seed=0)
    assert data.x.shape == (12, 3, 32, 32)
    assert data.y.tolist() == [0, 9, 1, 8, 2, 7, 3, 6, 4, 5, 5, 4]
    expected = (5 / 255 - datasets.CIFAR10_MEAN[1]) / datasets.CIFAR10_STD[1]
    assert data.x[-1, 1, 0, 0].item() == pytest.approx(expected, rel=1e-5)
    (tmp_path / "test_batch").unlink()
    with pytest.raises(ValueError, match="test_batch"):
        datasets.cifar10(path=str(tmp_path), size=0, seed=0)


def test_registering_a_dataset_is_one_function():
    @register_dataset("test-constant")
    def constant(*, path, size, seed):
        return datasets.TensorData(
            torch.zeros(size, 2), torch.zeros(size, dtype=torch.int64), 1, "c"
        )

    try:
        assert len(load_dataset("test-constant", size=7)) == 7
        with pytest.raises(ValueError, match="already registered"):
            register_dataset("test-constant")(constant)
    finally:
        DATASETS.pop("test-constant")
        load_dataset.cache_clear()
    with pytest.raises(ValueError, match="unknown dataset 'nope'"):
        load_dataset("nope")
