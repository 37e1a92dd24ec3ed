"""Full fine-tuning: K copies of a whole pre-trained transformer trained at once.

MICO's SST-2 models fine-tuned all of RoBERTa-base: the embeddings, every encoder layer and
the classification head on the first token (``AutoModelForSequenceClassification``). Here that
is an architecture like the top-k ones (:class:`benchmark.zoo.transformer.TopLayers`) whose
points are the sentences' token ids with the attention mask as a last channel, ``(T, 2)``
(:func:`benchmark.zoo.text.encode` with ``tokens``). Nothing is shared between the models, so
every model runs the whole network; the K models still run as one batched pass, each
``Linear`` one ``baddbmm``, and each embedding table one gather from the stacked tables.

Parameters are stacked under Hugging Face's keys: ``embeddings.<key>`` (word, position and
token-type tables and their LayerNorm), ``<layer>.<key>`` for every layer and ``head.<key>``.
DP-SGD clips each sample's gradient over all of them, without per-sample gradients for the
tables either: a sample's gradient of a table is the sum over its tokens of the output's
gradient placed at the token's row, so its squared norm is ``Σ_{t,t'} [id_t = id_t']
<g_t, g_t'>``, a (T, T) product per sample (:class:`TableLookup`).

``text-full-minilm``: all-MiniLM-L6-v2 with ``text-mlp-384`` on the mean over the tokens (the
demo's encoder and pooling). ``text-full-roberta-base``: MICO's model, RoBERTa-base with its
classification head (``text-cls-768``) on the first token's state. The heads start from
PyTorch's default initialisation under each model's seed (Hugging Face draws them from a
normal of standard deviation 0.02); the models run without dropout.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import nn

from benchmark.zoo.models import Stacked, register_architecture
from benchmark.zoo.stacked import LayerRecord
from benchmark.zoo.text import encoder_path
from benchmark.zoo.transformer import (
    MINILM_LAYER,
    ROBERTA_BASE_LAYER,
    LayerShape,
    NormRecord,
    TopLayers,
    clip_recorded,
    init_top,
    layer_norm,
    top_forward,
)

WORD = "embeddings.word_embeddings.weight"
POSITION = "embeddings.position_embeddings.weight"
TYPE = "embeddings.token_type_embeddings.weight"


@dataclasses.dataclass(frozen=True)
class EmbeddingShape:
    """What the stacked embeddings need of a Hugging Face config.

    ``offset`` is the first token's position: 0 for BERT; RoBERTa counts positions from its
    padding index + 1 and puts padding at the padding index.
    """

    vocab: int
    positions: int
    types: int
    offset: int

    @classmethod
    def of(cls, config: Any) -> EmbeddingShape:
        """From a ``transformers`` config (``encoder.config``)."""
        roberta = config.model_type in ("roberta", "xlm-roberta", "camembert")
        return cls(
            int(config.vocab_size),
            int(config.max_position_embeddings),
            int(config.type_vocab_size),
            int(config.pad_token_id) + 1 if roberta else 0,
        )


def position_ids(mask: torch.Tensor, shape: EmbeddingShape) -> torch.Tensor:
    """Each token's position id, (..., T) int64, as the Hugging Face model numbers them."""
    if shape.offset == 0:
        return torch.arange(mask.shape[-1], device=mask.device).expand(mask.shape)
    present = (mask > 0).long()
    return present.cumsum(dim=-1) * present + (shape.offset - 1)


@dataclasses.dataclass
class TableLookup:
    """The summed embeddings of K models' tokens before their LayerNorm, (K, B, T, H), and the
    row of every table each token read: a :class:`benchmark.zoo.transformer.Lookup`."""

    outputs: torch.Tensor
    rows: dict[str, torch.Tensor]  # table key -> (K, B, T) int64
    sizes: dict[str, int]  # table key -> rows of the table

    def sq_norms(self, delta: torch.Tensor) -> torch.Tensor:
        """``Σ_{t,t'} [row_t = row_t'] <δ_t, δ_t'>`` per sample and table, summed: (K, B)."""
        gram = delta @ delta.transpose(-1, -2)
        return sum(
            (gram * (ids[..., :, None] == ids[..., None, :])).sum(dim=(-1, -2))
            for ids in self.rows.values()
        )  # type: ignore[return-value]

    def weighted_sum(self, delta: torch.Tensor, factors: torch.Tensor) -> Stacked:
        """Every table's gradient with sample ``b`` of model ``k`` scaled by ``factors[k, b]``."""
        k, _, _, h = delta.shape
        scaled = (delta * factors[:, :, None, None]).reshape(-1, h)
        models = torch.arange(k, device=delta.device)[:, None, None]
        grads: Stacked = {}
        for key, ids in self.rows.items():
            size = self.sizes[key]
            flat = (ids + models * size).reshape(-1)
            table = torch.zeros(k * size, h, dtype=delta.dtype, device=delta.device)
            grads[key] = table.index_add_(0, flat, scaled).reshape(k, size, h)
        return grads


def embed(
    params: Stacked,
    ids: torch.Tensor,
    mask: torch.Tensor,
    shape: EmbeddingShape,
    eps: float,
    *,
    lookups: list[TableLookup] | None = None,
    norms: list[NormRecord] | None = None,
) -> torch.Tensor:
    """K models' embeddings of their tokens ``ids`` (K, B, T): word + position + token type
    (all type 0), then the LayerNorm; (K, B, T, H)."""
    models = torch.arange(ids.shape[0], device=ids.device)[:, None, None]
    rows = {WORD: ids, POSITION: position_ids(mask, shape), TYPE: torch.zeros_like(ids)}
    summed = sum(params[key][models, index] for key, index in rows.items())
    assert isinstance(summed, torch.Tensor)
    if lookups is not None:
        if not summed.requires_grad:
            summed.requires_grad_()
        sizes = {key: int(params[key].shape[1]) for key in rows}
        lookups.append(TableLookup(summed, rows, sizes))
    return layer_norm(params, "embeddings.LayerNorm.", summed, eps, norms)


def split_tokens(x: torch.Tensor, vocab: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Token points ``(..., T, 2)`` as ids ``(..., T')`` int64 and a 0/1 mask ``(..., T')``,
    cut after the last token any sentence has. Perturbed points (attacks move them) are
    rounded to the nearest id in the vocabulary and their mask to 0 or 1; the first token
    (``[CLS]``, ``<s>``), which every tokenized sentence has, is always attended, so that no
    point is all padding (whose attention would depend on the batch's width)."""
    mask = (x[..., 1] > 0.5).to(torch.float32)
    mask[..., 0] = 1.0
    used = mask.flatten(0, -2).amax(dim=0).nonzero()
    width = int(used[-1]) + 1 if len(used) else 1
    ids = x[..., :width, 0].float().round().clamp(0, vocab - 1).long()
    return ids, mask[..., :width]


class FullModel(TopLayers):
    """Base of the full fine-tuning architectures: the embeddings and every layer of a
    pre-trained encoder and the head ``head_name``, all trained. A point is a sentence's
    token ids and attention mask, ``(T, 2)``."""

    tokens = True
    embedding: ClassVar[EmbeddingShape]

    def __init__(self) -> None:
        super().__init__()
        h, shape = self.shape.hidden, self.embedding
        embeddings = nn.Module()
        embeddings.add_module("word_embeddings", nn.Embedding(shape.vocab, h))
        embeddings.add_module("position_embeddings", nn.Embedding(shape.positions, h))
        embeddings.add_module("token_type_embeddings", nn.Embedding(shape.types, h))
        embeddings.add_module("LayerNorm", nn.LayerNorm(h, eps=self.shape.eps))
        self.add_module("embeddings", embeddings)

    @classmethod
    def _forward(
        cls,
        params: Stacked,
        x: torch.Tensor,
        *,
        records: list[LayerRecord] | None = None,
        norms: list[NormRecord] | None = None,
        lookups: list[TableLookup] | None = None,
    ) -> torch.Tensor:
        ids, mask = split_tokens(x, cls.embedding.vocab)
        eps = cls.shape.eps
        hidden = embed(params, ids, mask, cls.embedding, eps, lookups=lookups, norms=norms)
        return top_forward(
            params,
            cls.head_name,
            hidden,
            mask,
            cls.shape,
            records=records,
            norms=norms,
            pooling=cls.pooling,
        )

    @classmethod
    def stacked_logits(
        cls, params: Stacked, x: torch.Tensor, *, records: list[LayerRecord] | None = None
    ) -> torch.Tensor:
        """Logits (K, B, 2) of K models on token points ``x`` (K, B, T, 2)."""
        return cls._forward(params, x, records=records)

    @classmethod
    def clipped_gradient(
        cls, params: Stacked, x: torch.Tensor, y: torch.Tensor, weights: torch.Tensor, clip: float
    ) -> tuple[Stacked, torch.Tensor]:
        """Each sample's gradient over every parameter clipped to ``clip``, summed per model
        (:func:`benchmark.zoo.transformer.clip_recorded`); the per-sample norms, (K, B)."""
        if clip <= 0:
            raise ValueError(f"clip must be positive, got {clip}")
        records: list[LayerRecord] = []
        norms: list[NormRecord] = []
        lookups: list[TableLookup] = []
        logits = cls._forward(params, x, records=records, norms=norms, lookups=lookups)
        return clip_recorded(
            logits, y, weights, clip=clip, records=records, norms=norms, lookups=lookups
        )

    @classmethod
    def check_encoder(cls, name: str, encoder: Any) -> None:
        super().check_encoder(name, encoder)
        found = EmbeddingShape.of(encoder.config)
        if found != cls.embedding:
            raise ValueError(
                f"{name} fine-tunes embeddings shaped {cls.embedding}; "
                f"the track's model_path has {found}"
            )

    @classmethod
    def init_from(cls, encoder: Any, seeds: Sequence[int]) -> Stacked:
        """The pre-trained embeddings, then every layer and the head as the top-k start has them
        (:func:`benchmark.zoo.transformer.init_top` with every layer)."""
        k = len(seeds)
        embeddings = {
            f"embeddings.{key}": value.detach().float().expand(k, *value.shape).clone()
            for key, value in encoder.embeddings.named_parameters()
        }
        return embeddings | init_top(encoder, cls.encoder_layers, cls.head_name, seeds)


MINILM_EMBEDDINGS = EmbeddingShape(vocab=30522, positions=512, types=2, offset=0)
ROBERTA_BASE_EMBEDDINGS = EmbeddingShape(vocab=50265, positions=514, types=1, offset=2)


def register_full(
    name: str,
    *,
    encoder_layers: int,
    shape: LayerShape,
    embedding: EmbeddingShape,
    head: str,
    pooling: str,
) -> type[FullModel]:
    """Register the full fine-tuning architecture ``name``: an encoder of ``encoder_layers``
    layers shaped ``shape`` with embeddings shaped ``embedding``, the registry head ``head``
    on the ``pooling`` of the last layer's states."""
    cls = type(
        "Full",
        (FullModel,),
        {
            "__doc__": f"Every one of {encoder_layers} layers, the embeddings and {head}.",
            "input_shape": (0, 2),
            "encoder_layers": encoder_layers,
            "layers": encoder_layers,
            "shape": shape,
            "embedding": embedding,
            "head_name": head,
            "pooling": pooling,
        },
    )
    return register_architecture(name)(cls)  # type: ignore[return-value]


register_full(
    "text-full-minilm",
    encoder_layers=6,
    shape=MINILM_LAYER,
    embedding=MINILM_EMBEDDINGS,
    head="text-mlp-384",
    pooling="mean",
)
register_full(
    "text-full-roberta-base",
    encoder_layers=12,
    shape=ROBERTA_BASE_LAYER,
    embedding=ROBERTA_BASE_EMBEDDINGS,
    head="text-cls-768",
    pooling="cls",
)


def hugging_face_model(state: dict[str, torch.Tensor], model_path: str) -> Any:
    """A fully fine-tuned ``text-full-roberta-base`` model (one model's ``state``, the keys of
    :class:`FullModel`) as ``transformers``' ``RobertaForSequenceClassification`` on the
    config of ``model_path`` (the base model's folder), in eval mode: what MICO's SST-2 models
    were, so ``save_pretrained`` writes a folder that MICO's ``load_model('sst2', path)`` reads.
    """
    from transformers import AutoConfig, AutoModelForSequenceClassification

    config = AutoConfig.from_pretrained(encoder_path(model_path), num_labels=2)
    if config.model_type != "roberta":
        raise ValueError(f"{model_path} is a {config.model_type} model, not RoBERTa")
    model = AutoModelForSequenceClassification.from_config(config)
    names = {"head.mlp.0.": "classifier.dense.", "head.mlp.2.": "classifier.out_proj."}
    renamed = {}
    for key, value in state.items():
        head = next((key.replace(a, b, 1) for a, b in names.items() if key.startswith(a)), None)
        if head is not None:
            renamed[head] = value
        elif key.startswith("embeddings."):
            renamed[f"roberta.{key}"] = value
        else:
            renamed[f"roberta.encoder.layer.{key}"] = value
    missing, unexpected = model.load_state_dict(renamed, strict=False)
    if unexpected or any(not key.endswith("position_ids") for key in missing):
        raise ValueError(
            f"not a text-full-roberta-base state: missing {missing}, extra {unexpected}"
        )
    return model.eval()
