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
    task : {"cifar10", "purchase100", "sst2"}
        Which architecture: :class:`CNN` or :class:`MLP`. Bundles of the platform's own
        Purchase-style tracks (architecture ``mlp-purchase``) load as ``"purchase100"``;
        ``"sst2"`` loads a text model (:func:`load_text_model`), which takes sentences.
    path : str or PathLike
        A model folder ``<track>/<track>_<scenario>/<phase>/model_<i>/``.

    Raises
    ------
    ValueError
        For any other task, or a ``model.pt`` that does not fit the task's architecture.
    """
    if task == "cifar10":
        return CNN.load(Path(path) / "model.pt")
    if task == "purchase100":
        return MLP.load(Path(path) / "model.pt")
    if task == "sst2":
        return load_text_model(path)
    raise ValueError(f"`task` must be one of {{'cifar10', 'purchase100', 'sst2'}}, got {task!r}")


def load_text_model(path: str | os.PathLike[str]) -> nn.Module:
    """A text model from its folder, in eval mode: MICO's own (a ``save_pretrained`` folder,
    loaded as MICO did with ``AutoModelForSequenceClassification.from_pretrained(path,
    num_labels=2)``, offline), or one of the platform's text bundles: the head's ``model.pt``
    and the base model its manifest names, checked against the manifest's SHA-256, rebuilt as
    :class:`benchmark.zoo.text.TextClassifier` (call it on a list of sentences).

    Raises
    ------
    ValueError
        When the folder is neither, or the base model differs from the one the bundle names.
    """
    import json

    from benchmark.zoo import text
    from benchmark.zoo.splits import track_files

    folder = Path(path)
    if (folder / "config.json").is_file():
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from transformers import AutoModelForSequenceClassification

        hf = AutoModelForSequenceClassification.from_pretrained(
            folder, num_labels=2, local_files_only=True
        )
        return hf.eval()
    if not (folder / "model.pt").is_file():
        raise ValueError(f"{folder} holds neither a Hugging Face model nor a model.pt")
    facts = json.loads(track_files(folder.parents[2]).manifest.read_text())
    base = facts.get("base_model")
    if not isinstance(base, dict):
        raise ValueError(f"the bundle of {folder} names no base model: not a text track")
    found = text.encoder_reference(str(base["model_path"]))
    if found["sha256"] != base["sha256"]:
        raise ValueError(
            f"base model {base['model_path']!r} here has weights {found['sha256'][:12]}..., "
            f"the bundle was trained on {str(base['sha256'])[:12]}..."
        )
    entry = facts.get("folders", {}).get(folder.parents[1].name, facts)
    name = str(entry.get("architecture") or facts["architecture"])
    head = models.architecture(name)()
    head.load_state_dict(load_state(folder / "model.pt", name))
    max_length = int(facts["dataset"].get("max_length") or text.MAX_LENGTH)
    return text.TextClassifier(str(base["model_path"]), head, max_length=max_length).eval()
