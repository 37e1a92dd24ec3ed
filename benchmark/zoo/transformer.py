"""K fine-tuned copies of a pre-trained transformer's top layers, computed at once.

Top-k fine-tuning trains the last ``k`` encoder layers of a BERT-family model (BERT, MiniLM,
RoBERTa: the same layer) and a head, with everything below frozen. The frozen part's output
(the hidden states entering layer ``L - k``) is the same for every model of a track, so it is
computed once (:func:`frozen_hidden`) and the K trained copies run on it with batched kernels:
each ``Linear`` of a layer is one ``baddbmm`` over the K models, as in
:mod:`benchmark.zoo.stacked`. Parameters are stacked ``{"<layer>.<HF key>": (K, *shape)}``,
``<layer>`` the index in ``encoder.layer`` (e.g. ``"5.attention.self.query.weight"``), so one
model's slice loads into Hugging Face's own layer with ``load_state_dict``.

DP-SGD clips each sample's gradient over exactly the trained parameters. Its norm comes
without per-sample gradients: a ``Linear`` over the tokens is a convolution over positions
(:func:`benchmark.zoo.dp.per_sample_sq_norms`' ghost or direct form), and a ``LayerNorm``'s
per-sample gradients are small (two vectors of the hidden size) and formed directly. The layers
run without dropout (the one-model reference and Opacus are compared in ``eval`` mode).

As a track option, top-k fine-tuning is an architecture (:class:`TopLayers`): ``text-top1-minilm``,
``text-top2-minilm`` and ``text-top6-minilm`` (all-MiniLM-L6-v2's last one, two or all six
layers and ``text-mlp-384``), ``text-top1-roberta-base``, ``text-top2-roberta-base`` and
``text-top12-roberta-base`` (MICO's RoBERTa-base and ``text-mlp-768``); with every layer, only
the embeddings stay frozen. Its points are the frozen hidden states with the attention mask as
a last channel (:func:`points`); the zoo's engine trains it like any architecture, starting
from the pre-trained layers (:func:`init_params`), and attacks run on it unchanged.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence
from typing import Any, ClassVar, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from benchmark.zoo import dp
from benchmark.zoo.models import (
    Stacked,
    ZooModule,
    architecture,
    init_stacked,
    register_architecture,
)
from benchmark.zoo.stacked import LayerRecord, stacked_forward

#: A BERT-family layer's linear maps, in the order the forward pass meets them.
LINEARS = (
    "attention.self.query",
    "attention.self.key",
    "attention.self.value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
)
NORMS = ("attention.output.LayerNorm", "output.LayerNorm")


@dataclasses.dataclass(frozen=True)
class LayerShape:
    """What the stacked layer needs of a Hugging Face config."""

    hidden: int
    heads: int
    intermediate: int
    eps: float

    @classmethod
    def of(cls, config: Any) -> LayerShape:
        """From a ``transformers`` config (``encoder.config``)."""
        if getattr(config, "hidden_act", "gelu") != "gelu":
            raise ValueError(f"only gelu layers are supported, got {config.hidden_act!r}")
        return cls(
            int(config.hidden_size),
            int(config.num_attention_heads),
            int(config.intermediate_size),
            float(config.layer_norm_eps),
        )


@dataclasses.dataclass
class NormRecord:
    """A LayerNorm seen in a recorded pass: normalised input and output, (K, B, T, H)."""

    prefix: str
    normalized: torch.Tensor
    outputs: torch.Tensor


def _frozen_count(encoder: Any, k: int) -> int:
    """How many of ``encoder``'s layers stay frozen when the last ``k`` train."""
    total = len(encoder.encoder.layer)
    if not 1 <= k <= total:
        raise ValueError(f"top-k fine-tuning needs 1 <= k <= {total} layers, got {k}")
    return total - k


def top_layers(encoder: Any, k: int) -> Stacked:
    """The pre-trained parameters of the last ``k`` layers as one model's stack ``(1, ...)``."""
    layers = encoder.encoder.layer
    first = _frozen_count(encoder, k)
    return {
        f"{first + i}.{key}": value.detach().float().unsqueeze(0).clone()
        for i, layer in enumerate(layers[first:])
        for key, value in layer.state_dict().items()
    }


@torch.no_grad()
def frozen_hidden(
    encoder: Any, tokens: dict[str, torch.Tensor], k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The hidden states entering layer ``L - k`` and the attention mask, ``(B, T, H)``,
    ``(B, T)``: what every model of a top-k track shares. Only the embeddings and the frozen
    layers run (the encoder's ``hidden_states[L - k]``)."""
    layers = encoder.encoder.layer
    frozen = _frozen_count(encoder, k)
    mask = tokens["attention_mask"]
    x = encoder.embeddings(
        input_ids=tokens["input_ids"], token_type_ids=tokens.get("token_type_ids")
    )
    blocked = (1.0 - mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
    for layer in layers[:frozen]:
        out = layer(x, attention_mask=blocked)
        x = out[0] if isinstance(out, tuple) else out
    return x.float(), mask.float()


@functools.cache
def _template(features: int, outputs: int) -> nn.Linear:
    """A parameter-less Linear describing a record's layer (shapes, bias), made once."""
    with torch.device("meta"):
        return nn.Linear(features, outputs)


def _linear(
    params: Stacked, prefix: str, x: torch.Tensor, records: list[LayerRecord] | None
) -> torch.Tensor:
    weight, bias = params[prefix + "weight"], params[prefix + "bias"]
    k, b, t, _ = x.shape
    z = torch.baddbmm(bias.unsqueeze(1), x.reshape(k, b * t, -1), weight.transpose(1, 2))
    z = z.reshape(k, b, t, -1)
    if records is not None:
        if not z.requires_grad:
            z.requires_grad_()
        records.append(LayerRecord(prefix, _template(weight.shape[2], weight.shape[1]), x, z))
    return z


def layer_norm(
    params: Stacked, prefix: str, x: torch.Tensor, eps: float, records: list[NormRecord] | None
) -> torch.Tensor:
    normalized = F.layer_norm(x, x.shape[-1:], eps=eps)
    out = (
        normalized * params[prefix + "weight"][:, None, None]
        + params[prefix + "bias"][:, None, None]
    )
    if records is not None:
        if not out.requires_grad:
            out.requires_grad_()
        records.append(NormRecord(prefix, normalized, out))
    return out


def layer_forward(
    params: Stacked,
    prefix: str,
    x: torch.Tensor,
    mask: torch.Tensor,
    shape: LayerShape,
    *,
    records: list[LayerRecord] | None = None,
    norms: list[NormRecord] | None = None,
) -> torch.Tensor:
    """One BERT layer of K models: ``x`` (K, B, T, H), ``mask`` (K, B, T) of 0/1."""
    k, b, t, h = x.shape
    heads, size = shape.heads, h // shape.heads

    def split(z: torch.Tensor) -> torch.Tensor:  # (K, B, T, H) -> (K·B, heads, T, size)
        return z.reshape(k * b, t, heads, size).transpose(1, 2)

    q, key, v = (split(_linear(params, prefix + name + ".", x, records)) for name in LINEARS[:3])
    scores = q @ key.transpose(-1, -2) / math.sqrt(size)
    blocked = (mask.reshape(k * b, 1, 1, t) == 0) * torch.finfo(scores.dtype).min
    context = (scores + blocked).softmax(dim=-1) @ v
    context = context.transpose(1, 2).reshape(k, b, t, h)
    attended = _linear(params, prefix + LINEARS[3] + ".", context, records)
    x = layer_norm(params, prefix + NORMS[0] + ".", attended + x, shape.eps, norms)
    inner = F.gelu(_linear(params, prefix + LINEARS[4] + ".", x, records))
    out = _linear(params, prefix + LINEARS[5] + ".", inner, records)
    return layer_norm(params, prefix + NORMS[1] + ".", out + x, shape.eps, norms)


def layer_prefixes(params: Stacked) -> list[str]:
    """The stacked layers' prefixes in order (``"4."``, ``"5."``)."""
    indices = sorted({int(key.split(".", 1)[0]) for key in params if key[0].isdigit()})
    return [f"{index}." for index in indices]


def top_forward(
    params: Stacked,
    head: str,
    hidden: torch.Tensor,
    mask: torch.Tensor,
    shape: LayerShape,
    *,
    records: list[LayerRecord] | None = None,
    norms: list[NormRecord] | None = None,
    pooling: str = "mean",
) -> torch.Tensor:
    """Logits of K models: their top layers on ``hidden`` (K, B, T, H), pooled (``"mean"``
    over the unmasked tokens, or ``"cls"``: the first token's state, as RoBERTa's
    classification head takes it), then the head (registry architecture ``head``, keys
    ``head.<key>``)."""
    x = hidden
    for prefix in layer_prefixes(params):
        x = layer_forward(params, prefix, x, mask, shape, records=records, norms=norms)
    if pooling == "cls":
        pooled = x[:, :, 0]
    else:
        weights = mask.unsqueeze(-1)
        pooled = (x * weights).sum(dim=2) / weights.sum(dim=2).clamp(min=1)
    head_params = {
        key.removeprefix("head."): v for key, v in params.items() if key.startswith("head.")
    }
    head_records: list[LayerRecord] | None = [] if records is not None else None
    logits = stacked_forward(head_params, head, pooled, records=head_records)
    for record in head_records or []:
        record.prefix = "head." + record.prefix
        assert records is not None
        records.append(record)
    return logits


def clipped_gradient(
    params: Stacked,
    head: str,
    hidden: torch.Tensor,
    mask: torch.Tensor,
    y: torch.Tensor,
    weights: torch.Tensor,
    shape: LayerShape,
    *,
    clip: float,
    pooling: str = "mean",
) -> tuple[Stacked, torch.Tensor]:
    """:func:`benchmark.zoo.dp.clipped_gradient` for top-k models: each sample's gradient over
    every trained parameter (top layers and head) clipped to ``clip``, summed per model.

    Returns
    -------
    grads : ``{key: (K, *shape)}`` float32; norms : (K, B), 0 for padding.
    """
    if clip <= 0:
        raise ValueError(f"clip must be positive, got {clip}")
    records: list[LayerRecord] = []
    norms: list[NormRecord] = []
    logits = top_forward(
        params, head, hidden, mask, shape, records=records, norms=norms, pooling=pooling
    )
    return clip_recorded(logits, y, weights, clip=clip, records=records, norms=norms)


class Lookup(Protocol):
    """A recorded table lookup (embeddings): its output and its per-sample gradients' algebra."""

    outputs: torch.Tensor

    def sq_norms(self, delta: torch.Tensor) -> torch.Tensor:
        """Each sample's squared gradient norm over the tables, (K, B), from the output's."""
        ...

    def weighted_sum(self, delta: torch.Tensor, factors: torch.Tensor) -> Stacked:
        """The tables' gradients, each sample's scaled by ``factors`` (K, B), summed."""
        ...


def clip_recorded(
    logits: torch.Tensor,
    y: torch.Tensor,
    weights: torch.Tensor,
    *,
    clip: float,
    records: list[LayerRecord],
    norms: list[NormRecord],
    lookups: Sequence[Lookup] = (),
) -> tuple[Stacked, torch.Tensor]:
    """The clipped gradient sum of a recorded pass (:func:`clipped_gradient`): the loss's
    gradient with respect to every recorded output, each sample's norm over all of them, and
    the per-model sums of the clipped per-sample gradients."""
    losses = F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="none")
    outputs = [r.outputs for r in records] + [r.outputs for r in norms]
    outputs += [lookup.outputs for lookup in lookups]
    deltas = torch.autograd.grad((losses.reshape(y.shape) * weights).sum(), outputs)
    linear_deltas = deltas[: len(records)]
    norm_deltas = deltas[len(records) : len(records) + len(norms)]
    lookup_deltas = [d.detach() for d in deltas[len(records) + len(norms) :]]
    per_norm = [  # (K, B, H) per-sample gradients of each LayerNorm's weight and bias
        ((d * r.normalized).sum(dim=2), d.sum(dim=2)) for r, d in zip(norms, norm_deltas)
    ]
    squares = [dp.per_sample_sq_norms(r, d.detach()) for r, d in zip(records, linear_deltas)]
    squares += [w.square().sum(dim=-1) + b.square().sum(dim=-1) for w, b in per_norm]
    squares += [lookup.sq_norms(d) for lookup, d in zip(lookups, lookup_deltas)]
    sample_norms = torch.stack(squares).sum(dim=0).sqrt()
    factors = (clip / (sample_norms + 1e-6)).clamp(max=1.0) * weights
    grads: Stacked = {}
    for record, delta in zip(records, linear_deltas):
        grads.update(dp.weighted_sum(record, delta.detach(), factors))
    for norm, (w, b) in zip(norms, per_norm):
        grads[norm.prefix + "weight"] = torch.einsum("kb,kbh->kh", factors, w.detach())
        grads[norm.prefix + "bias"] = torch.einsum("kb,kbh->kh", factors, b.detach())
    for lookup, delta in zip(lookups, lookup_deltas):
        grads.update(lookup.weighted_sum(delta, factors))
    return grads, sample_norms.detach()


def init_top(encoder: Any, k: int, head: str, seeds: Sequence[int]) -> Stacked:
    """K models' starting point: the pre-trained last ``k`` layers (the same for all) and the
    head ``head`` initialised under each seed (:func:`benchmark.zoo.models.init_stacked`)."""
    layers = {
        key: v.expand(len(seeds), *v.shape[1:]).clone() for key, v in top_layers(encoder, k).items()
    }
    heads = {f"head.{key}": v for key, v in init_stacked(head, seeds).items()}
    return layers | heads


def points(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Top-k points ``(..., T, H + 1)``: hidden states with the attention mask as last channel."""
    return torch.cat([hidden, mask.unsqueeze(-1).to(hidden.dtype)], dim=-1)


def _node(**children: nn.Module) -> nn.Module:
    module = nn.Module()
    for name, child in children.items():
        module.add_module(name, child)
    return module


def bert_layer(shape: LayerShape) -> nn.Module:
    """A parameter holder with a Hugging Face BERT layer's keys (``attention.self.query``...)."""
    h, inner = shape.hidden, shape.intermediate
    return _node(
        attention=_node(
            self=_node(query=nn.Linear(h, h), key=nn.Linear(h, h), value=nn.Linear(h, h)),
            output=_node(dense=nn.Linear(h, h), LayerNorm=nn.LayerNorm(h, eps=shape.eps)),
        ),
        intermediate=_node(dense=nn.Linear(h, inner)),
        output=_node(dense=nn.Linear(inner, h), LayerNorm=nn.LayerNorm(h, eps=shape.eps)),
    )


def split_points(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A top-k point ``(..., T, H + 1)`` as hidden states ``(..., T', H)`` and mask
    ``(..., T')``, cut after the last token any sentence of the batch has (padding is right)."""
    mask = x[..., -1]
    used = mask.flatten(0, -2).amax(dim=0).nonzero()
    width = int(used[-1]) + 1 if len(used) else 1
    return x[..., :width, :-1], mask[..., :width]


class TopLayers(ZooModule):
    """Base of the top-k architectures: a pre-trained encoder's last ``layers`` layers (of
    ``encoder_layers``) and the head ``head_name`` on the mean of their outputs over the tokens.

    A point is a sentence's hidden states entering those layers with its attention mask as a
    last channel, ``(T, H + 1)`` for any number of tokens ``T`` (``input_shape`` says 0): what
    :func:`benchmark.zoo.text.encode` gives with ``layers``. The weights are
    ``{"<layer>.<Hugging Face key>", "head.<key>"}``; the stacked engine runs K models with
    :meth:`stacked_logits` and DP-SGD clips with :meth:`clipped_gradient`.
    """

    body = ""
    num_classes = 2
    #: How the head sees the top layer's states: ``"mean"`` over the tokens or ``"cls"``.
    pooling: ClassVar[str] = "mean"
    #: The points are token ids (:mod:`benchmark.zoo.finetune`), not hidden states.
    tokens: ClassVar[bool] = False
    encoder_layers: ClassVar[int]
    layers: ClassVar[int]
    shape: ClassVar[LayerShape]
    head_name: ClassVar[str]

    def __init__(self) -> None:
        super().__init__()
        for index in range(self.encoder_layers - self.layers, self.encoder_layers):
            self.add_module(str(index), bert_layer(self.shape))
        self.add_module("head", architecture(self.head_name)())

    def sequential(self) -> nn.Sequential:
        raise TypeError(f"{type(self).__name__} has no Sequential body; use stacked_logits")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        params = {key: value.unsqueeze(0) for key, value in self.named_parameters()}
        return self.stacked_logits(params, x.unsqueeze(0))[0]

    @classmethod
    def stacked_logits(
        cls, params: Stacked, x: torch.Tensor, *, records: list[LayerRecord] | None = None
    ) -> torch.Tensor:
        """Logits (K, B, 2) of K models on points ``x`` (K, B, T, H + 1)."""
        hidden, mask = split_points(x)
        return top_forward(
            params, cls.head_name, hidden, mask, cls.shape, records=records, pooling=cls.pooling
        )

    @classmethod
    def clipped_gradient(
        cls, params: Stacked, x: torch.Tensor, y: torch.Tensor, weights: torch.Tensor, clip: float
    ) -> tuple[Stacked, torch.Tensor]:
        """:func:`clipped_gradient` on points ``x`` (K, B, T, H + 1)."""
        hidden, mask = split_points(x.float())
        return clipped_gradient(
            params, cls.head_name, hidden, mask, y, weights, cls.shape, clip=clip,
            pooling=cls.pooling,
        )  # fmt: skip

    @classmethod
    def sample_norms(cls, params: Stacked, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Each point's loss-gradient norm over every trained parameter, (K, B)."""
        with torch.enable_grad():
            weights = torch.ones(y.shape, device=y.device)
            return cls.clipped_gradient(params, x, y, weights, math.inf)[1]

    @classmethod
    def check_encoder(cls, name: str, encoder: Any) -> None:
        """Raise ValueError naming the mismatch when ``encoder`` is not the one ``name``
        (this class) was registered for."""
        found = len(encoder.encoder.layer)
        if found != cls.encoder_layers or LayerShape.of(encoder.config) != cls.shape:
            raise ValueError(
                f"{name} fine-tunes an encoder of {cls.encoder_layers} layers shaped {cls.shape}; "
                f"the track's model_path has {found} shaped {LayerShape.of(encoder.config)}"
            )

    @classmethod
    def init_from(cls, encoder: Any, seeds: Sequence[int]) -> Stacked:
        """K models' starting point from ``encoder``'s pre-trained weights (:func:`init_top`)."""
        return init_top(encoder, cls.layers, cls.head_name, seeds)


MINILM_LAYER = LayerShape(hidden=384, heads=12, intermediate=1536, eps=1e-12)
ROBERTA_BASE_LAYER = LayerShape(hidden=768, heads=12, intermediate=3072, eps=1e-5)


def register_top(
    name: str, *, encoder_layers: int, layers: int, shape: LayerShape, head: str
) -> type[TopLayers]:
    """Register the top-``layers`` architecture ``name`` of an encoder of ``encoder_layers``
    layers shaped ``shape``, with the registry head ``head``."""
    if not 1 <= layers <= encoder_layers:
        raise ValueError(f"{name}: 1 <= layers <= {encoder_layers}, got {layers}")
    cls = type(
        f"Top{layers}",
        (TopLayers,),
        {
            "__doc__": f"The last {layers} of {encoder_layers} layers and {head}.",
            "input_shape": (0, shape.hidden + 1),
            "encoder_layers": encoder_layers,
            "layers": layers,
            "shape": shape,
            "head_name": head,
        },
    )
    return register_architecture(name)(cls)  # type: ignore[return-value]


for _k in (1, 2, 6):  # 6: every layer of MiniLM, only the embeddings frozen
    register_top(
        f"text-top{_k}-minilm", encoder_layers=6, layers=_k, shape=MINILM_LAYER, head="text-mlp-384"
    )
for _k in (1, 2, 12):  # 12: every layer of RoBERTa-base
    register_top(
        f"text-top{_k}-roberta-base",
        encoder_layers=12,
        layers=_k,
        shape=ROBERTA_BASE_LAYER,
        head="text-mlp-768",
    )


def top_architecture(name: str) -> type[TopLayers] | None:
    """The top-k class registered as ``name``, or None for other architectures."""
    cls = architecture(name)
    return cls if issubclass(cls, TopLayers) else None


def init_params(name: str, encoder: Any, seeds: Sequence[int]) -> Stacked:
    """K models of the top-k or full fine-tuning architecture ``name`` starting from
    ``encoder``'s pre-trained weights (:meth:`TopLayers.init_from`).

    Raises
    ------
    ValueError
        When ``encoder`` does not have the layers the architecture was registered for.
    """
    cls = top_architecture(name)
    if cls is None:
        raise ValueError(f"{name} is not a top-k architecture")
    cls.check_encoder(name, encoder)
    return cls.init_from(encoder, seeds)
