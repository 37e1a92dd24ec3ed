"""MICO's ``ChallengeDataset`` on the zoo's splits (:func:`benchmark.zoo.splits.model_split`).

MICO drew each split with ``random_split(..., generator=create_mt19937_generator(seed))``; the
zoo draws the same permutations from ``torch.Generator().manual_seed(seed)`` (see
:mod:`benchmark.zoo.splits`), over every row of ``dataset`` in order, as MICO did. The pieces
are the same nested ``Subset``\\ s as MICO's: ``challenge`` and ``rest`` index ``dataset``,
``member``/``nonmember`` index ``challenge``, ``training``/``evaluation`` index ``rest``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sized
from pathlib import Path
from typing import Any, Self

import torch
from torch.utils.data import ConcatDataset, Dataset, Subset

from benchmark.zoo.splits import find_track_files, folder_facts, model_split, read_seed

#: MICO's m: 100 members and 100 non-members among each model's challenge points.
LEN_CHALLENGE = 100


def _positions(rows: torch.Tensor, within: torch.Tensor, size: int) -> list[int]:
    """Where each of ``rows`` sits in ``within`` (both distinct rows of ``range(size)``)."""
    place = torch.empty(size, dtype=torch.int64)
    place[within] = torch.arange(len(within))
    return place[rows].tolist()


def _check_bundle(directory: Path, records: int, len_training: int, len_challenge: int) -> None:
    """Refuse a platform bundle's model whose splits :class:`ChallengeDataset` cannot rebuild."""
    try:
        files = find_track_files(directory)
    except ValueError:
        return  # no manifest: a MICO archive, or a folder of seeds
    manifest = json.loads(files.manifest.read_text())
    facts = folder_facts(manifest, directory) or manifest
    if facts["population"]:
        raise ValueError(
            f"{directory}: track {manifest['track']!r} reserves a population of "
            f"{facts['population']} rows, so MICO's ChallengeDataset (which draws from every "
            f"row) cannot rebuild its splits; use benchmark.zoo.challenge_points(model_dir, data)"
        )
    given = {"records": records, "training": len_training, "challenge": len_challenge}
    names = {"records": "len(dataset)", "training": "len_training", "challenge": "len_challenge"}
    for key, value in given.items():
        if facts[key] != value:
            raise ValueError(
                f"{directory}: {names[key]} is {value}, but track {manifest['track']!r} has "
                f"{facts[key]} ({files.manifest.name}: {key})"
            )


class ChallengeDataset:
    """A model's challenge points, membership, training and evaluation sets, from its seeds.

    As MICO's ``mico_competition.ChallengeDataset``::

        dataset (N) --seed_challenge--> challenge (2m) + rest (N - 2m)
        challenge --seed_membership--> nonmember (m) + member (m)
        rest --seed_training--> training (n - m) + evaluation (N - n - m)

    The model trained on ``member + training`` (:meth:`get_train_dataset`). Standard scenarios
    reveal ``seed_challenge`` for dev and final models, the DP-distinguisher scenarios
    ``seed_training`` too; train models reveal all three.

    Parameters
    ----------
    dataset : torch Dataset with ``__len__``
        The track's dataset, every row in MICO's order (:func:`load_purchase100`,
        :func:`load_cifar10`), or any dataset of the same length and order.
    len_training : int
        n, the size of each model's training set.
    len_challenge : int
        m.
    seed_challenge : int
    seed_training, seed_membership : int or None
        ``None`` where the seed is not revealed.

    Attributes
    ----------
    challenge, rest : Subset of ``dataset``
    nonmember, member : Subset of ``challenge``, or None without ``seed_membership``
    training, evaluation : Subset of ``rest``, or None without ``seed_training``

    Raises
    ------
    ValueError
        If ``dataset`` has no length or the sizes do not fit (``1 <= m < n``, ``N >= n + m + 1``).

    Examples
    --------
    >>> from torch.utils.data import TensorDataset
    >>> points = ChallengeDataset(TensorDataset(torch.arange(1000)), 300, 100, 1, 2, 3)
    >>> len(points.get_challenges()), len(points.get_train_dataset()), sum(points.get_solutions())
    (200, 300, 100)
    """

    def __init__(
        self,
        dataset: Dataset[Any],
        len_training: int,
        len_challenge: int,
        seed_challenge: int,
        seed_training: int | None,
        seed_membership: int | None,
    ) -> None:
        if not isinstance(dataset, Sized):
            raise ValueError(f"dataset must have a length, got {type(dataset).__name__}")
        size = len(dataset)
        split = model_split(
            torch.arange(size),
            challenge=len_challenge,
            training=len_training,
            seed_challenge=seed_challenge,
            seed_membership=seed_membership,
            seed_training=seed_training,
        )
        self._membership = split.membership
        self.challenge: Subset[Any] = Subset(dataset, split.challenge.tolist())
        self.rest: Subset[Any] = Subset(dataset, split.rest.tolist())
        self.nonmember: Subset[Any] | None = None
        self.member: Subset[Any] | None = None
        self.training: Subset[Any] | None = None
        self.evaluation: Subset[Any] | None = None
        if split.member is not None and split.nonmember is not None:
            self.nonmember = Subset(
                self.challenge, _positions(split.nonmember, split.challenge, size)
            )
            self.member = Subset(self.challenge, _positions(split.member, split.challenge, size))
        if split.training is not None and split.evaluation is not None:
            self.training = Subset(self.rest, _positions(split.training, split.rest, size))
            self.evaluation = Subset(self.rest, _positions(split.evaluation, split.rest, size))

    def get_challenges(self) -> Subset[Any]:
        """The 2m challenge points, in the order ``prediction.csv`` follows."""
        return self.challenge

    def get_train_dataset(self) -> ConcatDataset[Any]:
        """``member`` then ``training``: the n points the model trained on.

        Raises
        ------
        ValueError
            Without ``seed_training`` or ``seed_membership``.
        """
        if self.training is None:
            raise ValueError("The seed to generate the training dataset has not been set.")
        if self.member is None:
            raise ValueError(
                "The seed to split challenges into members/non-members has not been set."
            )
        return ConcatDataset([self.member, self.training])

    def get_eval_dataset(self) -> Subset[Any]:
        """``evaluation``: the points outside the challenge the model did not train on.

        Raises
        ------
        ValueError
            Without ``seed_training``.
        """
        if self.evaluation is None:
            raise ValueError("The seed to generate the evaluation dataset has not been set.")
        return self.evaluation

    def get_solutions(self) -> list[int]:
        """Membership of the challenge points (1 member, 0 non-member), in challenge order.

        Raises
        ------
        ValueError
            Without ``seed_membership``.
        """
        if self._membership is None:
            raise ValueError(
                "The seed to split challenges into members/non-members has not been set."
            )
        return [int(value) for value in self._membership.tolist()]

    @classmethod
    def from_path(
        cls,
        path: str | os.PathLike[str],
        dataset: Dataset[Any],
        len_training: int,
        len_challenge: int = LEN_CHALLENGE,
    ) -> Self:
        """The splits of the model in folder ``path``, from the seed files it holds.

        ``seed_challenge`` is required; ``seed_training`` and ``seed_membership`` are read
        where present. A model of a platform bundle (a ``<track>.dataset.json`` beside its
        ``<track>/`` folder; MICO's archives have none) is checked against the manifest: the
        track must reserve no population, and ``len(dataset)``, ``len_training`` and
        ``len_challenge`` must be the track's, or the splits would silently be other points.

        Raises
        ------
        ValueError
            If ``path`` has no ``seed_challenge``, or its bundle's manifest disagrees.
        """
        directory = Path(path)
        seed_challenge = read_seed(directory, "seed_challenge")
        if seed_challenge is None:
            raise ValueError(f"`seed_challenge` was not found in {path}")
        if isinstance(dataset, Sized):
            _check_bundle(directory, len(dataset), len_training, len_challenge)
        return cls(
            dataset=dataset,
            len_training=len_training,
            len_challenge=len_challenge,
            seed_challenge=seed_challenge,
            seed_training=read_seed(directory, "seed_training"),
            seed_membership=read_seed(directory, "seed_membership"),
        )
