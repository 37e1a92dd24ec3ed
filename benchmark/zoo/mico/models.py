"""MICO's ``CNN``, ``MLP`` and ``load_model``: the zoo's architectures with MICO's loading.

The classes are :class:`benchmark.zoo.models.CNN` and :class:`benchmark.zoo.models.MLP` (the
same layers and ``state_dict`` keys as MICO's) with MICO's ``load`` classmethod added; the
file is read by :func:`benchmark.zoo.importer.load_state`, which drops Opacus's ``_module.``
prefix (MICO's DP models) as MICO's ``load`` did.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar, Self

from torch import nn

from benchmark.zoo import models
from benchmark.zoo.importer import load_state


class _Loads(nn.Module):
    registry_name: ClassVar[str]

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Self:
        """The model whose ``state_dict`` is in file ``path``, in eval mode, on the CPU.

        Raises
        ------
        FileNotFoundError
            If there is no file ``path``.
        ValueError
            Naming ``path`` and what does not fit the architecture.
        """
        try:
            state = load_state(Path(path), cls.registry_name)
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None
        model = cls()
        model.load_state_dict(state)
        model.eval()
        return model


class CNN(models.CNN, _Loads):
    """MICO's CIFAR-10 network (:class:`benchmark.zoo.models.CNN`) with ``CNN.load(path)``."""

    registry_name = "cnn-cifar"


class MLP(models.MLP, _Loads):
    """MICO's Purchase-100 network (:class:`benchmark.zoo.models.MLP`) with ``MLP.load(path)``."""

    registry_name = "mlp-purchase"


def load_model(task: str, path: str | os.PathLike[str]) -> nn.Module:
    """The model in folder ``path`` (its ``model.pt``), in eval mode, as MICO's ``load_model``.

    Parameters
    ----------
    task : {"cifar10", "purchase100"}
        Which architecture: :class:`CNN` or :class:`MLP`. Bundles of the platform's own
        Purchase-style tracks (architecture ``mlp-purchase``) load as ``"purchase100"``.
    path : str or PathLike
        A model folder ``<track>/<track>_<scenario>/<phase>/model_<i>/``.

    Raises
    ------
    NotImplementedError
        For ``"sst2"`` (MICO's fine-tuned RoBERTa models), not supported yet.
    ValueError
        For any other task, or a ``model.pt`` that does not fit the task's architecture.
    """
    if task == "cifar10":
        return CNN.load(Path(path) / "model.pt")
    if task == "purchase100":
        return MLP.load(Path(path) / "model.pt")
    if task == "sst2":
        raise NotImplementedError(
            "load_model('sst2', ...): MICO's SST-2 models (RoBERTa, a Hugging Face folder) are "
            "not supported by benchmark.zoo.mico yet; 'cifar10' and 'purchase100' are"
        )
    raise ValueError(f"`task` must be one of {{'cifar10', 'purchase100', 'sst2'}}, got {task!r}")
