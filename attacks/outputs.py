"""Batched model outputs for observations: logits under queries and per-sample gradient norms.

Models are loaded as stacked groups (:func:`benchmark.zoo.models.load_stacked`) and run together
by the zoo's batched forward, so a scenario's 200 models cost a few large matrix products
instead of 200 small ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, vmap

from attacks.queries import augment
from benchmark.zoo.dp import per_sample_sq_norms
from benchmark.zoo.models import Stacked, architecture, load_stacked
from benchmark.zoo.stacked import LayerRecord, forward_many, stacked_forward, template

__all__ = ["GROUP", "gradient_norms", "load_module", "logits"]

GROUP = 20
"""Models loaded and run at once."""

_POINTS = 512  # points per gradient pass


def _per_model(x: torch.Tensor, name: str, count: int) -> bool:
    """Whether ``x`` holds each model's own points (M, N, ...) rather than shared ones."""
    rank = len(architecture(name).input_shape)
    if x.ndim == rank + 2 and x.shape[0] == count:
        return True
    if x.ndim == rank + 1:
        return False
    raise ValueError(f"x must have shape (N, *input) or ({count}, N, *input), got {x.shape}")


def _groups(model_dirs: Sequence[Path], name: str) -> list[slice]:
    """Slices of models to run together: one at a time for convolutional networks.

    The zoo's stacked forward runs a convolution as a grouped convolution, which PyTorch's CPU
    kernels make about 40 times slower than one model's ordinary forward (measured on the demo
    digits CNN); linear layers batch well.
    """
    size = 1 if _convolutional(name) else GROUP
    return [slice(s, min(s + size, len(model_dirs))) for s in range(0, len(model_dirs), size)]


def _convolutional(name: str) -> bool:
    return any(isinstance(layer, nn.Conv2d) for layer in template(name).modules())


def load_module(model_dir: Path, name: str, device: torch.device | str = "cpu") -> nn.Module:
    """One model of a bundle, in eval mode on ``device``."""
    model = architecture(name)()
    model.load_state_dict(torch.load(model_dir / "model.pt", map_location="cpu", weights_only=True))
    return model.eval().to(device)


def _stacked(model_dirs: Sequence[Path], name: str, device: torch.device | str) -> Stacked:
    return {key: value.to(device) for key, value in load_stacked(model_dirs, name).items()}


def _forward(
    model_dirs: Sequence[Path], name: str, inputs: torch.Tensor, device: torch.device | str
) -> torch.Tensor:
    """Logits (k, N, C) on the CPU of a group of models on inputs (N, ...) or (k, N, ...),
    computed on ``device``."""
    if len(model_dirs) == 1 and _convolutional(name):
        with torch.no_grad():
            single = inputs if inputs.ndim == len(architecture(name).input_shape) + 1 else inputs[0]
            return load_module(model_dirs[0], name, device)(single.to(device))[None].cpu()
    return forward_many(_stacked(model_dirs, name, device), name, inputs)


def logits(
    model_dirs: Sequence[Path],
    name: str,
    x: torch.Tensor,
    *,
    queries: int,
    device: torch.device | str = "cpu",
) -> np.ndarray:
    """Logits of every model on every query of its points.

    Parameters
    ----------
    model_dirs : sequence of M paths
        Bundle directories holding ``model.pt``.
    name : str
        The zoo's architecture name.
    x : torch.Tensor, shape (N, *input_shape) or (M, N, *input_shape)
        Points shared by every model, or each model's own points.
    queries : int, keyword-only
        Queries per point (see :func:`attacks.queries.augment`).
    device : keyword-only
        Where the forward passes run (:mod:`benchmark.zoo.device`).

    Returns
    -------
    ndarray of float32, shape (M, N, queries, C)
    """
    per_model = _per_model(x, name, len(model_dirs))
    n_points = x.shape[1] if per_model else x.shape[0]
    input_shape = x.shape[2:] if per_model else x.shape[1:]
    if queries > 1 and len(input_shape) != 3:  # a flip of token states would be nonsense
        raise ValueError(
            f"augmented queries need images (C, H, W); {name} takes inputs {tuple(input_shape)}"
        )
    out = []
    for group in _groups(model_dirs, name):
        views = augment(x[group] if per_model else x, queries)  # (A, [k,] N, ...)
        if per_model:
            inputs = views.transpose(0, 1).reshape(views.shape[1], -1, *input_shape)
        else:
            inputs = views.reshape(-1, *input_shape)
        result = _forward(model_dirs[group], name, inputs, device)  # (k, A·N, C)
        k = result.shape[0]
        out.append(result.reshape(k, queries, n_points, -1).transpose(1, 2).numpy())
    return np.concatenate(out)


def _norms(params: Stacked, name: str, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-sample gradient norms of the loss over all parameters, (k, B), for inputs (k, B, ...)."""
    own = getattr(template(name), "sample_norms", None)
    if own is not None:  # an architecture with norms of its own (a transformer's top)
        return own(params, x, y).detach().cpu()
    records: list[LayerRecord] = []
    with torch.enable_grad():
        out = stacked_forward(params, name, x, records=records)
        loss = F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1), reduction="sum")
        deltas = torch.autograd.grad(loss, [record.outputs for record in records])
    squared = sum(
        (per_sample_sq_norms(record, delta) for record, delta in zip(records, deltas)),
        start=torch.zeros(x.shape[:2], device=x.device),
    )
    return squared.sqrt().detach().cpu()


def _module_norms(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """Per-sample gradient norms of one model by ``torch.func`` (vmap of grad), shape (N,)."""
    params = {key: value.detach() for key, value in model.named_parameters()}

    def loss(p: dict[str, torch.Tensor], xi: torch.Tensor, yi: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(functional_call(model, p, (xi[None],)), yi[None])

    per_sample = vmap(grad(loss), in_dims=(None, 0, 0))
    norms = []
    for s in range(0, len(x), _POINTS):
        grads = per_sample(params, x[s : s + _POINTS], y[s : s + _POINTS])
        squared = sum(g.pow(2).flatten(1).sum(dim=1) for g in grads.values())
        norms.append(torch.as_tensor(squared).sqrt().cpu())
    return torch.cat(norms).numpy()


def gradient_norms(
    model_dirs: Sequence[Path],
    name: str,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    device: torch.device | str = "cpu",
) -> np.ndarray:
    """Norm of each point's loss gradient with respect to every parameter, per model.

    Parameters
    ----------
    model_dirs : sequence of M paths
    name : str
        The zoo's architecture name.
    x : torch.Tensor, shape (N, *input_shape) or (M, N, *input_shape)
    y : torch.Tensor of int64, shape (N,) or (M, N), the true labels
    device : keyword-only
        Where the gradients are computed.

    Returns
    -------
    ndarray of float32, shape (M, N)
    """
    per_model = _per_model(x, name, len(model_dirs))
    out = []
    for group in _groups(model_dirs, name):
        if _convolutional(name):
            model = load_module(model_dirs[group][0], name, device)
            points = x[group][0] if per_model else x
            labels = y[group][0] if per_model else y
            out.append(_module_norms(model, points.to(device), labels.to(device))[None])
            continue
        params = _stacked(model_dirs[group], name, device)
        k = group.stop - group.start
        points = x[group] if per_model else x.expand(k, *x.shape)
        labels = y[group] if per_model else y.expand(k, *y.shape)
        chunks = [
            _norms(
                params,
                name,
                points[:, s : s + _POINTS].to(device),
                labels[:, s : s + _POINTS].to(device),
            )
            for s in range(0, points.shape[1], _POINTS)
        ]
        out.append(torch.cat(chunks, dim=1).numpy())
    return np.concatenate(out).astype(np.float32)
