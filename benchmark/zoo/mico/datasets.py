"""MICO's ``load_purchase100`` and ``load_cifar10`` on the zoo's file loaders (no downloads).

Both read the folders MICO's loaders read and return every row in MICO's order (Purchase-100 in
file order; CIFAR-10's five training batches, then its test batch), as a ``TensorDataset`` of
``(features float32, label int64)``: the items MICO's datasets give, and what
:class:`~benchmark.zoo.mico.ChallengeDataset` needs for MICO's seeds to give MICO's splits.
"""

from __future__ import annotations

import os
from pathlib import Path

from torch.utils.data import TensorDataset

from benchmark.zoo.datasets import load_dataset

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar.html"
PURCHASE100_URL = "https://www.comp.nus.edu.sg/~reza/files/datasets.html"


def load_purchase100(dataset_dir: str | os.PathLike[str] = ".") -> TensorDataset:
    """Shokri et al.'s Purchase-100 from ``<dataset_dir>/purchase100/dataset_purchase``.

    Returns
    -------
    TensorDataset
        197,324 items ``(x, y)`` for the real file: ``x`` of shape (600,), float32 0/1,
        ``y`` the file's label minus 1 (0..99), int64.

    Raises
    ------
    ValueError
        If the file is missing or malformed.
    """
    file = Path(dataset_dir) / "purchase100" / "dataset_purchase"
    if not file.is_file():
        raise ValueError(
            f"Purchase-100 dataset not found: {file} does not exist. Unpack "
            f"dataset_purchase.tgz ({PURCHASE100_URL}) into {Path(dataset_dir) / 'purchase100'}"
        )
    data = load_dataset("purchase100", path=str(file))
    return TensorDataset(data.x, data.y)


def load_cifar10(
    dataset_dir: str | os.PathLike[str] = ".", download: bool = False
) -> TensorDataset:
    """CIFAR-10 from ``<dataset_dir>/cifar10/cifar-10-batches-py``, train then test, normalised.

    MICO's loader read torchvision's ``CIFAR10(root=f"{dataset_dir}/cifar10")``, that is the
    same folder, with ``ToTensor()`` and ``Normalize`` by MICO's per-channel statistics
    (:data:`benchmark.zoo.datasets.CIFAR10_MEAN`, ``CIFAR10_STD``), and concatenated the
    training and test sets; the items here are the same tensors, without torchvision.

    Parameters
    ----------
    dataset_dir : str or PathLike
    download : bool
        Must be false: the platform downloads nothing (MICO's default was true).

    Returns
    -------
    TensorDataset
        60,000 items ``(x, y)``: ``x`` of shape (3, 32, 32), float32; ``y`` in 0..9, int64.

    Raises
    ------
    ValueError
        If ``download`` is true, or the folder or one of its batches is missing.
    """
    folder = Path(dataset_dir) / "cifar10" / "cifar-10-batches-py"
    if download:
        raise ValueError(
            f"load_cifar10(download=True): benchmark.zoo.mico downloads nothing. Unpack CIFAR-10's "
            f"python version ({CIFAR10_URL}) so that {folder} holds data_batch_1..5 and "
            f"test_batch, and call load_cifar10({str(dataset_dir)!r})"
        )
    if not folder.is_dir():
        raise ValueError(
            f"CIFAR-10 dataset not found: {folder} does not exist. Unpack CIFAR-10's python "
            f"version ({CIFAR10_URL}) into {folder.parent}"
        )
    data = load_dataset("cifar10", path=str(folder))
    return TensorDataset(data.x, data.y)
