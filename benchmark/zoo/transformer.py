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
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from benchmark.zoo import dp
from benchmark.zoo.engine import TrainConfig, gather
from benchmark.zoo.models import Stacked, init_stacked
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


def top_layers(encoder: Any, k: int) -> Stacked:
    """The pre-trained parameters of the last ``k`` layers as one model's stack ``(1, ...)``."""
    layers = encoder.encoder.layer
    if not 1 <= k <= len(layers):
        raise ValueError(f"top-k fine-tuning needs 1 <= k <= {len(layers)} layers, got {k}")
    first = len(layers) - k
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
    ``(B, T)``: what every model of a top-k track shares."""
    out = encoder(**tokens, output_hidden_states=True)
    layers = len(encoder.encoder.layer)
    return out.hidden_states[layers - k].float(), tokens["attention_mask"].float()


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


def _norm(
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
    x = _norm(params, prefix + NORMS[0] + ".", attended + x, shape.eps, norms)
    inner = F.gelu(_linear(params, prefix + LINEARS[4] + ".", x, records))
    out = _linear(params, prefix + LINEARS[5] + ".", inner, records)
    return _norm(params, prefix + NORMS[1] + ".", out + x, shape.eps, norms)


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
) -> torch.Tensor:
    """Logits of K models: their top layers on ``hidden`` (K, B, T, H), the mean over the
    unmasked tokens, then the head (registry architecture ``head``, keys ``head.<key>``)."""
    x = hidden
    for prefix in layer_prefixes(params):
        x = layer_forward(params, prefix, x, mask, shape, records=records, norms=norms)
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
    logits = top_forward(params, head, hidden, mask, shape, records=records, norms=norms)
    losses = F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="none")
    outputs = [r.outputs for r in records] + [r.outputs for r in norms]
    deltas = torch.autograd.grad((losses.reshape(y.shape) * weights).sum(), outputs)
    linear_deltas, norm_deltas = deltas[: len(records)], deltas[len(records) :]
    per_norm = [  # (K, B, H) per-sample gradients of each LayerNorm's weight and bias
        ((d * r.normalized).sum(dim=2), d.sum(dim=2)) for r, d in zip(norms, norm_deltas)
    ]
    squares = [dp.per_sample_sq_norms(r, d.detach()) for r, d in zip(records, linear_deltas)]
    squares += [w.square().sum(dim=-1) + b.square().sum(dim=-1) for w, b in per_norm]
    sample_norms = torch.stack(squares).sum(dim=0).sqrt()
    factors = (clip / (sample_norms + 1e-6)).clamp(max=1.0) * weights
    grads: Stacked = {}
    for record, delta in zip(records, linear_deltas):
        grads.update(dp.weighted_sum(record, delta.detach(), factors))
    for norm, (w, b) in zip(norms, per_norm):
        grads[norm.prefix + "weight"] = torch.einsum("kb,kbh->kh", factors, w.detach())
        grads[norm.prefix + "bias"] = torch.einsum("kb,kbh->kh", factors, b.detach())
    return grads, sample_norms.detach()


def init_top(encoder: Any, k: int, head: str, seeds: Sequence[int]) -> Stacked:
    """K models' starting point: the pre-trained last ``k`` layers (the same for all) and the
    head ``head`` initialised under each seed (:func:`benchmark.zoo.models.init_stacked`)."""
    layers = {
        key: v.expand(len(seeds), *v.shape[1:]).clone() for key, v in top_layers(encoder, k).items()
    }
    heads = {f"head.{key}": v for key, v in init_stacked(head, seeds).items()}
    return layers | heads


def train_top_group(
    params: Stacked,
    head: str,
    hidden: torch.Tensor,
    mask: torch.Tensor,
    y: torch.Tensor,
    train_idx: torch.Tensor,
    shape: LayerShape,
    *,
    config: TrainConfig,
    order_seeds: Sequence[int],
    noise_seeds: Sequence[int] | None = None,
) -> Stacked:
    """Fine-tune K top-k models together on the shared frozen ``hidden`` (N, T, H) and
    ``mask`` (N, T): Adam, the orders, Poisson batches and noise of
    :func:`benchmark.zoo.engine.train_group` (one generator per model), DP-SGD when
    ``config.dp`` is set. Returns the trained parameters, detached."""
    k, n = train_idx.shape
    params = {
        key: v.detach().clone().requires_grad_(config.dp is None) for key, v in params.items()
    }
    optimizer = torch.optim.Adam(list(params.values()), lr=config.lr, fused=True)
    generators = [torch.Generator().manual_seed(int(s)) for s in order_seeds]
    noise_generators = [torch.Generator().manual_seed(int(s)) for s in noise_seeds or []]
    if config.dp is not None and len(noise_generators) != k:
        raise ValueError(f"DP training needs {k} noise_seeds")
    sizes = [v[0].numel() for v in params.values()]
    for _ in range(config.epochs):
        if config.dp is None:
            order = torch.stack([torch.randperm(n, generator=g) for g in generators])
            rows = train_idx.gather(1, order)
            for start in range(0, n, config.batch):
                batch = rows[:, start : start + config.batch]
                logits = top_forward(
                    params, head, gather(hidden, batch), gather(mask, batch), shape
                )
                losses = F.cross_entropy(
                    logits.flatten(0, 1), gather(y, batch).flatten(), reduction="none"
                )
                optimizer.zero_grad(set_to_none=True)
                losses.reshape(k, -1).mean(dim=1).sum().backward()
                optimizer.step()
            continue
        settings = config.dp
        steps = config.steps_per_epoch(n)
        drawn = [
            dp.poisson_positions(g, n=n, rate=settings.sample_rate, steps=steps) for g in generators
        ]
        for step in range(steps):
            width = max(max(int(c[step]) for _, c in drawn), 1)
            pos = torch.stack(
                [
                    p[step, :width]
                    if p.shape[1] >= width
                    else F.pad(p[step], (0, width - p.shape[1]), value=n)
                    for p, _ in drawn
                ]
            )
            weights = (pos < n).float()
            rows = train_idx.gather(1, pos.clamp(max=n - 1))
            grads, _ = clipped_gradient(
                params,
                head,
                gather(hidden, rows),
                gather(mask, rows),
                gather(y, rows),
                weights,
                shape,
                clip=settings.clip,
            )
            noise = torch.stack([torch.randn(sum(sizes), generator=g) for g in noise_generators])
            expected = settings.expected_batch(n)
            for (key, param), part in zip(params.items(), noise.split(sizes, dim=1)):
                param.grad = (
                    grads[key]
                    + settings.noise_multiplier * settings.clip * part.reshape(param.shape)
                ) / expected
            optimizer.step()
    return {key: v.detach() for key, v in params.items()}
