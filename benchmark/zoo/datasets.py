"""Dataset registry: every dataset is a function returning tensors; nothing is downloaded.

Registering a dataset is one decorated function::

    @register_dataset("my-data")
    def my_data(*, path: str, size: int, seed: int) -> TensorData:
        ...

Built in: ``purchase-synthetic`` (a Purchase-100-style basket generator), ``digits``
(scikit-learn's 8×8 digits), ``purchase100`` (Shokri et al.'s ``dataset_purchase`` file) and
``cifar10`` (the ``cifar-10-batches-py`` folder, train then test, as MICO concatenated them);
:mod:`benchmark.zoo.text` adds ``sentiment-synthetic`` and ``sst2``.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

# MICO's CIFAR-10 statistics (per-channel mean and std over the training images).
CIFAR10_MEAN = (0.49139968, 0.48215841, 0.44653091)
CIFAR10_STD = (0.24703223, 0.24348513, 0.26158784)


@dataclasses.dataclass(frozen=True)
class FeatureSpace:
    """The inputs a model of a dataset takes: one point's shape and the range of its values.

    Attributes
    ----------
    shape : tuple of int
        One input, e.g. ``(600,)`` for Purchase, ``(1, 8, 8)`` for Digits.
    low, high : float
        Every value lies in ``[low, high]`` (the dataset's own minimum and maximum).
    binary : bool
        Every value is 0 or 1 (Purchase's baskets).
    masked : bool
        The last channel is an attention mask over the tokens (top-k text points:
        :func:`benchmark.zoo.text.encode` with ``layers``); perturbations leave it and the
        padding as they are.
    """

    shape: tuple[int, ...]
    low: float
    high: float
    binary: bool
    masked: bool = False

    def check(self, inputs: np.ndarray) -> str | None:
        """Why ``inputs`` (shape (N, *shape)) are not points of this space, or None."""
        if inputs.ndim != len(self.shape) + 1 or tuple(inputs.shape[1:]) != self.shape:
            return (
                f"inputs must have shape (N, {', '.join(map(str, self.shape))}), got {inputs.shape}"
            )
        finite = np.isfinite(inputs)
        if not finite.all():
            where = np.unravel_index(int(np.flatnonzero(~finite)[0]), inputs.shape)
            return f"inputs are not finite at index {tuple(int(i) for i in where)}"
        if self.binary:
            bad = np.flatnonzero((inputs != 0) & (inputs != 1))
            what = "0 or 1"
        else:
            bad = np.flatnonzero((inputs < self.low) | (inputs > self.high))
            what = f"in [{self.low:.6g}, {self.high:.6g}]"
        if bad.size:
            where = np.unravel_index(int(bad[0]), inputs.shape)
            value = inputs[where]
            return f"inputs must be {what}; index {tuple(int(i) for i in where)} is {value:g}"
        return None


@dataclasses.dataclass(frozen=True)
class TensorData:
    """A whole dataset in memory.

    Attributes
    ----------
    x : torch.Tensor, shape (N, ...), float32
    y : torch.Tensor, shape (N,), int64, values in ``0 .. num_classes - 1``
    num_classes : int
    name : str
    masked : bool
        ``x``'s last channel is an attention mask (:attr:`FeatureSpace.masked`).
    """

    x: torch.Tensor
    y: torch.Tensor
    num_classes: int
    name: str
    masked: bool = False

    def __post_init__(self) -> None:
        if self.x.dtype != torch.float32 or self.y.dtype != torch.int64:
            raise ValueError(f"{self.name}: x must be float32 and y int64")
        if len(self.x) != len(self.y):
            raise ValueError(f"{self.name}: x has {len(self.x)} rows but y has {len(self.y)}")

    def __len__(self) -> int:
        return len(self.y)

    def feature_space(self) -> FeatureSpace:
        """Where inputs of this dataset live: what a query API accepts and synthesis draws."""
        x = self.x
        binary = bool(torch.all((x == 0) | (x == 1)))
        return FeatureSpace(
            shape=tuple(int(d) for d in x.shape[1:]),
            low=float(x.min()) if len(x) else 0.0,
            high=float(x.max()) if len(x) else 1.0,
            binary=binary,
            masked=self.masked,
        )

    def checksum(self) -> str:
        """SHA-256 of the raw tensors, recorded in bundle manifests."""
        digest = hashlib.sha256()
        digest.update(self.x.numpy().tobytes())
        digest.update(self.y.numpy().tobytes())
        return digest.hexdigest()


#: ``loader(*, path, size, seed)``; text loaders also take ``encoder``, ``max_length``,
#: ``layers`` and ``tokens``.
DatasetLoader = Callable[..., TensorData]


DATASETS: dict[str, DatasetLoader] = {}


def register_dataset(name: str) -> Callable[[DatasetLoader], DatasetLoader]:
    """Decorator adding a loader to :data:`DATASETS` under ``name``."""

    def decorate(loader: DatasetLoader) -> DatasetLoader:
        if name in DATASETS:
            raise ValueError(f"dataset {name!r} is already registered")
        DATASETS[name] = loader
        return loader

    return decorate


@functools.lru_cache(maxsize=4)
def load_dataset(
    name: str,
    *,
    path: str = "",
    size: int = 0,
    seed: int = 0,
    encoder: str = "",
    max_length: int = 0,
    layers: int = 0,
    tokens: bool = False,
) -> TensorData:
    """Load a registered dataset (cached per process).

    Parameters
    ----------
    name : str
        Registry name, e.g. ``"digits"``.
    path : str, keyword-only
        File or folder for file datasets.
    size : int, keyword-only
        Number of records for generated datasets (0: the loader's default).
    seed : int, keyword-only
        Seed of generated datasets.
    encoder, max_length : keyword-only
        Text datasets (:mod:`benchmark.zoo.text`): the frozen encoder's ``model_path`` and the
        tokens per sentence (empty and 0: the dataset's defaults).
    layers : int, keyword-only
        Text datasets for top-k fine-tuning: the points are the hidden states entering the
        encoder's last ``layers`` layers (:func:`benchmark.zoo.text.encode`); 0: sentence
        activations.
    tokens : bool, keyword-only
        Text datasets for full fine-tuning: the points are token ids and attention masks.

    Returns
    -------
    TensorData
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}")
    text = {"encoder": encoder, "max_length": max_length} if encoder or max_length else {}
    if layers:
        text["layers"] = layers
    if tokens:
        text["tokens"] = True
    return DATASETS[name](path=path, size=size, seed=seed, **text)


@register_dataset("purchase-synthetic")
def purchase_synthetic(*, path: str, size: int, seed: int) -> TensorData:
    """Purchase-100-style baskets: 600 binary products, 100 classes from k-means.

    Customers belong to one of 100 segments and borrow 15% of their taste from a second
    one; product popularity is Zipf-skewed and each segment favours its own products
    (about 30 of them). A basket holds each product independently with probability
    ``1 - exp(-size * w)``, ``size`` log-normal around 40 items. As Shokri et al. did for
    Purchase-100, classes are k-means clusters (k = 100) of the baskets (k-means++ seeding,
    on length-normalised baskets so that large baskets do not become singleton clusters).
    """
    n = size or 20_000
    if n < 100:
        raise ValueError(f"purchase-synthetic needs size >= 100, got {n}")
    rng = np.random.default_rng(seed)
    products, segments = 600, 100
    popularity = rng.permutation(1.0 / np.arange(1, products + 1) ** 0.8)
    taste = popularity * np.exp(rng.normal(0.0, 1.0, (segments, products)))
    favourites = rng.random((segments, products)) < 0.05
    taste = np.where(favourites, taste * 40.0, taste)
    taste /= taste.sum(axis=1, keepdims=True)
    primary = rng.integers(segments, size=n)
    secondary = rng.integers(segments, size=n)
    weights = 0.85 * taste[primary] + 0.15 * taste[secondary]
    basket = rng.lognormal(np.log(40.0), 0.5, size=(n, 1))
    x = (rng.random((n, products)) < -np.expm1(-basket * weights)).astype(np.float32)
    features = torch.from_numpy(x)
    unit = features / features.norm(dim=1, keepdim=True).clamp(min=1.0)
    labels = kmeans_labels(unit, clusters=100, seed=seed)
    return TensorData(features, labels, 100, "purchase-synthetic")


def kmeans_labels(
    x: torch.Tensor, *, clusters: int, seed: int, iterations: int = 30
) -> torch.Tensor:
    """Lloyd's k-means after k-means++ seeding; an empty cluster takes the worst-fit row.

    Returns
    -------
    torch.Tensor, shape (N,), int64 cluster index of every row.
    """
    generator = torch.Generator().manual_seed(seed)
    sq_norms = x.pow(2).sum(dim=1, keepdim=True)
    first = int(torch.randint(len(x), (1,), generator=generator))
    chosen = [first]
    nearest = (sq_norms.flatten() - 2 * x @ x[first] + sq_norms[first]).clamp(min=0)
    for _ in range(clusters - 1):
        pick = int(torch.multinomial(nearest + 1e-12, 1, generator=generator))
        chosen.append(pick)
        distance = (sq_norms.flatten() - 2 * x @ x[pick] + sq_norms[pick]).clamp(min=0)
        nearest = torch.minimum(nearest, distance)
    centres = x[chosen].clone()
    labels = torch.zeros(len(x), dtype=torch.int64)
    for _ in range(iterations):
        distances = sq_norms - 2 * x @ centres.T + centres.pow(2).sum(dim=1)
        labels = distances.argmin(dim=1)
        counts = torch.bincount(labels, minlength=clusters)
        sums = torch.zeros_like(centres).index_add_(0, labels, x)
        centres = sums / counts.clamp(min=1).unsqueeze(1).float()
        empty = torch.nonzero(counts == 0).flatten()
        if len(empty):
            worst = distances.gather(1, labels[:, None]).flatten().topk(len(empty)).indices
            centres[empty] = x[worst]
    return labels


@register_dataset("digits")
def digits(*, path: str, size: int, seed: int) -> TensorData:
    """scikit-learn's 1,797 8×8 digit images as (N, 1, 8, 8) in [0, 1]."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.tensor(bunch.images / 16.0, dtype=torch.float32).unsqueeze(1)
    return TensorData(x, torch.tensor(bunch.target, dtype=torch.int64), 10, "digits")


@register_dataset("purchase100")
def purchase100(*, path: str, size: int, seed: int) -> TensorData:
    """Shokri et al.'s ``dataset_purchase``: per line, a label 1..100 then 600 binary features."""
    file = Path(path)
    if file.is_dir():
        file = file / "dataset_purchase"
    if not file.is_file():
        raise ValueError(f"purchase100: dataset_path {path!r} is not the dataset_purchase file")
    table = np.loadtxt(file, delimiter=",", dtype=np.int64, ndmin=2)
    if table.shape[1] != 601:
        raise ValueError(f"purchase100: expected 601 columns per line, got {table.shape[1]}")
    labels = table[:, 0]
    if labels.min() < 1 or labels.max() > 100:
        raise ValueError(
            f"purchase100: labels must lie in 1..100, got {labels.min()}..{labels.max()}"
        )
    x = torch.from_numpy(table[:, 1:].astype(np.float32))
    return TensorData(x, torch.from_numpy(labels - 1), 100, "purchase100")


@register_dataset("cifar10")
def cifar10(*, path: str, size: int, seed: int) -> TensorData:
    """CIFAR-10 from ``cifar-10-batches-py``: 50,000 train then 10,000 test images, normalised."""
    folder = Path(path)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        raise ValueError(f"cifar10: dataset_path {path!r} lacks {', '.join(missing)}")
    images, labels = [], []
    for name in names:
        with open(folder / name, "rb") as handle:
            batch = pickle.load(handle, encoding="bytes")
        images.append(np.asarray(batch[b"data"], dtype=np.uint8))
        labels.append(np.asarray(batch[b"labels"], dtype=np.int64))
    x = torch.from_numpy(np.concatenate(images)).reshape(-1, 3, 32, 32).float() / 255.0
    mean = torch.tensor(CIFAR10_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR10_STD).view(1, 3, 1, 1)
    y = torch.from_numpy(np.concatenate(labels))
    return TensorData((x - mean) / std, y, 10, "cifar10")


# Text datasets register themselves (their encoder loads lazily, at first use).
from benchmark.zoo import text as _text  # noqa: E402, F401
