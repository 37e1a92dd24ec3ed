"""Seeded splits: the public population, then MICO's ``ChallengeDataset`` per model.

::

    dataset (N) --population seed--> population (public, never trained on) + pool
    pool --seed_challenge--> challenge (2m) + rest
    challenge --seed_membership--> nonmember (m) + member (m)
    rest --seed_training--> training (n - m) + evaluation
    each model trains on member + training (n points)

Every arrow is ``torch.utils.data.random_split`` semantics: ``torch.randperm(len, generator=
torch.Generator().manual_seed(seed))``, the first part of the permutation going to the first
split. All indices are row numbers of the full dataset.

MICO drew its permutations with torchcsprng's ``create_mt19937_generator(seed)``. torchcsprng
no longer installs, but its generator is ``std::mt19937`` seeded with the seed's low 32 bits and
its ``randperm`` is PyTorch's own CPU loop, so it draws the same permutations as a
``torch.Generator`` seeded alike (``tests/zoo/test_mico_splits.py`` checks this with a literal
MT19937 at MICO's sizes and seeds). With no population (``population = 0``: the pool is every
row, in order) and the rows in MICO's order, MICO's seeds rebuild MICO's splits exactly;
:class:`benchmark.zoo.mico.ChallengeDataset` is MICO's class on these splits.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, NamedTuple

import torch

from benchmark.zoo.datasets import TensorData

MANIFEST = "dataset.json"
POPULATION = "population.csv"


def _perm(length: int, seed: int) -> torch.Tensor:
    return torch.randperm(length, generator=torch.Generator().manual_seed(int(seed)))


def population_split(
    n_records: int, population: int, *, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Split ``range(n_records)`` into the public population and the pool models draw from.

    Parameters
    ----------
    n_records : int
        Size of the dataset.
    population : int
        Number of reserved public non-members.
    seed : int, keyword-only
        Seed of the permutation.

    Returns
    -------
    population, pool : torch.Tensor of int64, shapes (population,) and (n_records - population,)
        Both sorted ascending.
    """
    if not 0 <= population < n_records:
        raise ValueError(f"population must lie in [0, {n_records}), got {population}")
    perm = _perm(n_records, seed)
    return perm[:population].sort().values, perm[population:].sort().values


@dataclasses.dataclass(frozen=True)
class ModelSplit:
    """One model's splits as dataset row indices (``None`` where the seed is unknown).

    Attributes
    ----------
    challenge : (2m,) int64, in the order predictions follow
    member, nonmember : (m,) int64 or None
    training : (n - m,) int64 or None, non-challenge training points
    evaluation : (P - n - m,) int64 or None
    rest : (P - 2m,) int64, the pool outside the challenge in the order ``seed_training``
        splits it (MICO's ``ChallengeDataset.rest``)
    """

    challenge: torch.Tensor
    member: torch.Tensor | None
    nonmember: torch.Tensor | None
    training: torch.Tensor | None
    evaluation: torch.Tensor | None
    rest: torch.Tensor

    @property
    def membership(self) -> torch.Tensor | None:
        """(2m,) bool, True where the challenge point is a member (the solution)."""
        if self.member is None:
            return None
        return torch.isin(self.challenge, self.member)

    @property
    def train_set(self) -> torch.Tensor:
        """(n,) int64: member then training, the points the model trains on."""
        if self.member is None or self.training is None:
            raise ValueError("the training set needs seed_membership and seed_training")
        return torch.cat([self.member, self.training])


def model_split(
    pool: torch.Tensor,
    *,
    challenge: int,
    training: int,
    seed_challenge: int,
    seed_membership: int | None = None,
    seed_training: int | None = None,
) -> ModelSplit:
    """MICO's ``ChallengeDataset`` over ``pool``.

    Parameters
    ----------
    pool : torch.Tensor, shape (P,), int64
        Dataset rows outside the population.
    challenge : int, keyword-only
        m, the number of members (and of non-members) among the challenge points.
    training : int, keyword-only
        n, the training-set size (m members plus n - m other points).
    seed_challenge, seed_membership, seed_training : int, keyword-only
        The model's seeds; the last two may be ``None`` (not revealed).

    Returns
    -------
    ModelSplit
    """
    size = len(pool)
    if challenge < 1 or training <= challenge or size < training + challenge + 1:
        raise ValueError(
            f"need 1 <= challenge < training and pool >= training + challenge + 1, "
            f"got challenge={challenge}, training={training}, pool={size}"
        )
    order = pool[_perm(size, seed_challenge)]
    chosen, rest = order[: 2 * challenge], order[2 * challenge :]
    member = nonmember = train = evaluation = None
    if seed_membership is not None:
        split = chosen[_perm(2 * challenge, seed_membership)]
        nonmember, member = split[:challenge], split[challenge:]
    if seed_training is not None:
        split = rest[_perm(len(rest), seed_training)]
        train, evaluation = split[: training - challenge], split[training - challenge :]
    return ModelSplit(chosen, member, nonmember, train, evaluation, rest)


@dataclasses.dataclass(frozen=True)
class ChallengePoints:
    """The 2m challenge points of one model, in prediction order.

    Attributes
    ----------
    x : torch.Tensor, shape (2m, ...), float32
    y : torch.Tensor, shape (2m,), int64
    indices : torch.Tensor, shape (2m,), dataset rows
    membership : (2m,) bool or None (train models only: ``seed_membership`` present)
    training : (n - m,) int64 or None (where ``seed_training`` is present)
    """

    x: torch.Tensor
    y: torch.Tensor
    indices: torch.Tensor
    membership: torch.Tensor | None
    training: torch.Tensor | None


def read_seed(directory: Path, name: str) -> int | None:
    """The integer in ``directory / name``, or ``None`` when there is no such file."""
    file = directory / name
    return int(file.read_text().strip()) if file.is_file() else None


class TrackFiles(NamedTuple):
    """Where a track's manifest (``dataset.json``) and population (``population.csv``) live.

    A bundle keeps them beside the track folder, as ``<track>.dataset.json`` and
    ``<track>.population.csv``, so that ``<track>/`` holds scenario folders only, as MICO's
    archives do (MICO's starting kit loops over ``os.listdir("<track>")``). Bundles written
    before kept them inside, as ``<track>/dataset.json`` and ``<track>/population.csv``; they
    are still read.
    """

    manifest: Path
    population: Path

    @classmethod
    def beside(cls, track_dir: str | Path) -> TrackFiles:
        """The files of ``track_dir`` in today's layout (whether or not they exist)."""
        folder = Path(track_dir).resolve()
        return cls(
            folder.parent / f"{folder.name}.{MANIFEST}",
            folder.parent / f"{folder.name}.{POPULATION}",
        )

    @classmethod
    def inside(cls, track_dir: str | Path) -> TrackFiles:
        """The files of ``track_dir`` in the older layout (whether or not they exist)."""
        folder = Path(track_dir).resolve()
        return cls(folder / MANIFEST, folder / POPULATION)


def track_files(track_dir: str | Path) -> TrackFiles:
    """The manifest and population of the track folder ``track_dir``: beside it, or inside it.

    Raises
    ------
    ValueError
        If ``track_dir`` has a manifest in neither place, or a manifest but no population.
    """
    for files in (TrackFiles.beside(track_dir), TrackFiles.inside(track_dir)):
        if files.manifest.is_file():
            if not files.population.is_file():
                raise ValueError(f"{files.manifest} has no {files.population.name} beside it")
            return files
    beside = TrackFiles.beside(track_dir).manifest
    raise ValueError(
        f"{track_dir} is not a track bundle folder: neither {beside} nor "
        f"{Path(track_dir) / MANIFEST} exists"
    )


def is_track_dir(path: str | Path) -> bool:
    """True when ``path`` is a track folder with a manifest (beside it or inside it)."""
    return Path(path).is_dir() and any(
        files.manifest.is_file() for files in (TrackFiles.beside(path), TrackFiles.inside(path))
    )


def find_track_files(model_dir: str | Path) -> TrackFiles:
    """The :class:`TrackFiles` of the track ``<track>/<track>_<scenario>/<phase>/model_<i>`` is in.

    ``model_dir`` may also be a scenario, phase or track folder.
    """
    directory = Path(model_dir).resolve()
    for folder in [directory, *directory.parents][:4]:
        if is_track_dir(folder):
            return track_files(folder)
    raise ValueError(
        f"no {MANIFEST} found for {model_dir}: expected <track>.{MANIFEST} beside the "
        f"<track>/ folder it is in"
    )


def folder_facts(manifest: dict[str, Any], model_dir: str | Path) -> dict[str, Any] | None:
    """The manifest's facts for the scenario folder ``model_dir`` (``<folder>/<phase>/
    model_<i>``) is in: its dataset, architecture, population and sizes, which may be its own
    (MICO's DP-distinguisher track); ``None`` for a manifest without ``folders`` (older
    bundles), whose top level then describes every scenario."""
    entry = manifest.get("folders", {}).get(Path(model_dir).resolve().parents[1].name)
    return entry if isinstance(entry, dict) else None


def challenge_points(model_dir: str | Path, dataset: TensorData) -> ChallengePoints:
    """Rebuild a model's challenge points (and, if revealed, its membership) from its seeds.

    Parameters
    ----------
    model_dir : str or Path
        A bundle directory ``<track>/<track>_<scenario>/<phase>/model_<i>/`` holding
        ``seed_challenge`` (and ``seed_membership``/``seed_training`` where revealed). The
        track's manifest and population are found beside ``<track>/`` (see
        :class:`TrackFiles`; inside it in older bundles).
    dataset : TensorData
        The track's dataset: ``load_dataset(**manifest["dataset"])``. Its number of records
        is checked against the manifest; compare ``dataset.checksum()`` with
        ``manifest["checksum_sha256"]`` to check it is the same data.

    Returns
    -------
    ChallengePoints
        ``x``, ``y`` in the order ``prediction.csv`` must follow.

    Raises
    ------
    ValueError
        If no manifest is found, the dataset has the wrong size, or ``seed_challenge`` is
        missing.

    Examples
    --------
    With ``bundle`` the folder a track's bundle was unzipped into, here a tiny generated
    track ``tiny`` (the test suite runs this example on one):

    >>> import json
    >>> from benchmark.zoo import challenge_points, load_dataset
    >>> manifest = json.loads((bundle / "tiny.dataset.json").read_text())
    >>> data = load_dataset(**manifest["dataset"])
    >>> data.checksum() == manifest["checksum_sha256"]
    True
    >>> folder = bundle / "tiny" / "tiny_inf" / "train" / "model_0"
    >>> points = challenge_points(folder, data)
    >>> points.x.shape, points.y.shape
    (torch.Size([20, 600]), torch.Size([20]))
    >>> solution = (folder / "solution.csv").read_text().strip().split(",")
    >>> points.membership.tolist() == [value == "1" for value in solution]
    True
    >>> dev = challenge_points(bundle / "tiny" / "tiny_inf" / "dev" / "model_3", data)
    >>> dev.x.shape[0], dev.membership is None
    (20, True)
    """
    directory = Path(model_dir)
    files = find_track_files(directory)
    manifest = json.loads(files.manifest.read_text())
    scenario = folder_facts(manifest, directory)
    facts = scenario or manifest
    population_path = files.population  # the track's, wherever this bundle keeps it
    own = None if scenario is None else scenario["population_file"]
    if own is not None and own != f"{manifest['track']}.{POPULATION}":
        population_path = files.manifest.parent / own  # a scenario's own data
    if facts["records"] != len(dataset):
        raise ValueError(
            f"dataset has {len(dataset)} records, {files.manifest} says {facts['records']}"
        )
    population = torch.tensor(
        [int(v) for v in population_path.read_text().split()], dtype=torch.int64
    )
    keep = torch.ones(len(dataset), dtype=torch.bool)
    keep[population] = False
    pool = torch.nonzero(keep).flatten()
    seed_challenge = read_seed(directory, "seed_challenge")
    if seed_challenge is None:
        raise ValueError(f"{directory} has no seed_challenge")
    split = model_split(
        pool,
        challenge=facts["challenge"],
        training=facts["training"],
        seed_challenge=seed_challenge,
        seed_membership=read_seed(directory, "seed_membership"),
        seed_training=read_seed(directory, "seed_training"),
    )
    rows = split.challenge
    return ChallengePoints(dataset.x[rows], dataset.y[rows], rows, split.membership, split.training)
