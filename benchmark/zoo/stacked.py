"""Forward pass of K stacked models with batched kernels.

The architecture's ``nn.Sequential`` body is interpreted layer by layer: a ``Linear`` becomes
one ``baddbmm`` over the K models, a ``Conv2d`` an unfold (im2col) then one ``baddbmm``, and
parameter-free layers (activations, pooling, flatten) run on the K·B samples at once. The
layers with parameters can be recorded (input and output) for DP-SGD's per-sample norms.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from benchmark.zoo.device import autocast
from benchmark.zoo.models import Stacked, ZooModule, architecture


@dataclasses.dataclass
class LayerRecord:
    """A parametrised layer seen during a recorded forward pass.

    Linear: ``inputs`` (K, B, in), ``outputs`` (K, B, out). Conv2d, computed as im2col:
    ``inputs`` (K, B, L, C·kh·kw) unfolded patches, ``outputs`` (K, B, L, out) over the L
    output positions. ``outputs`` requires grad.
    """

    prefix: str
    layer: nn.Linear | nn.Conv2d
    inputs: torch.Tensor
    outputs: torch.Tensor


@functools.cache
def template(architecture_name: str) -> ZooModule:
    """A parameter-less (meta device) instance describing the layers; consumes no RNG."""
    with torch.device("meta"):
        return architecture(architecture_name)()


def _linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    if bias is None:
        return torch.bmm(x, weight.transpose(1, 2))
    return torch.baddbmm(bias.unsqueeze(1), x, weight.transpose(1, 2))


def _unfold(x: torch.Tensor, layer: nn.Conv2d) -> torch.Tensor:
    """(K, B, C, H, W) -> (K, B, L, C·kh·kw): the patches each output position sees."""
    assert not isinstance(layer.padding, str)
    k, b = x.shape[:2]
    patches = F.unfold(
        x.reshape(k * b, *x.shape[2:]),
        layer.kernel_size,
        dilation=layer.dilation,
        padding=layer.padding,
        stride=layer.stride,
    )
    return patches.reshape(k, b, *patches.shape[1:]).transpose(2, 3)


def _conv_output_size(size: tuple[int, int], layer: nn.Conv2d) -> tuple[int, int]:
    assert not isinstance(layer.padding, str)
    return (
        (size[0] + 2 * layer.padding[0] - layer.dilation[0] * (layer.kernel_size[0] - 1) - 1)
        // layer.stride[0]
        + 1,
        (size[1] + 2 * layer.padding[1] - layer.dilation[1] * (layer.kernel_size[1] - 1) - 1)
        // layer.stride[1]
        + 1,
    )


def stacked_forward(
    params: Stacked,
    architecture_name: str,
    x: torch.Tensor,
    *,
    records: list[LayerRecord] | None = None,
) -> torch.Tensor:
    """Logits of K models on per-model inputs.

    Parameters
    ----------
    params : dict[str, torch.Tensor]
        Stacked parameters ``{key: (K, *shape)}``.
    architecture_name : str
        Registry name.
    x : torch.Tensor, shape (K, B, *input_shape)
        Model ``k`` sees ``x[k]``.
    records : list, keyword-only, optional
        When given, every ``Linear``/``Conv2d`` appends a :class:`LayerRecord` whose output
        requires grad (for per-sample gradient norms).

    Returns
    -------
    torch.Tensor, shape (K, B, num_classes)
    """
    module = template(architecture_name)
    own = getattr(module, "stacked_logits", None)
    if own is not None:  # an architecture with a forward of its own (a transformer's top)
        return own(params, x, records=records)
    body = module.sequential()
    k, b = x.shape[:2]
    for name, layer in body.named_children():
        prefix = f"{module.body}.{name}."
        if isinstance(layer, nn.Linear | nn.Conv2d):
            weight, bias = params[prefix + "weight"], params.get(prefix + "bias")
            if isinstance(layer, nn.Linear):
                inputs = x
            else:  # a convolution is a linear layer over the unfolded patches (im2col)
                height, width = _conv_output_size((x.shape[3], x.shape[4]), layer)
                inputs = _unfold(x, layer)
                weight = weight.reshape(k, weight.shape[1], -1)
            z = _linear(inputs.flatten(1, -2), weight, bias).reshape(*inputs.shape[:-1], -1)
            if records is not None:
                if not z.requires_grad:
                    z.requires_grad_()
                records.append(LayerRecord(prefix, layer, inputs, z))
            x = (
                z
                if isinstance(layer, nn.Linear)
                else z.transpose(2, 3).reshape(k, b, -1, height, width)
            )
        elif any(True for _ in layer.parameters()):
            raise ValueError(f"layer {prefix[:-1]} ({type(layer).__name__}) is not supported")
        else:
            out = layer(x.reshape(k * b, *x.shape[2:]))
            x = out.reshape(k, b, *out.shape[1:])
    return x


def _chunks(total: int, size: int) -> Iterator[slice]:
    for start in range(0, total, size):
        yield slice(start, min(start + size, total))


@torch.no_grad()
def forward_many(
    params: Stacked,
    architecture_name: str,
    x: torch.Tensor,
    *,
    batch: int = 2048,
    dtype: str = "float32",
) -> torch.Tensor:
    """Logits of K stacked models, on shared or per-model inputs.

    Parameters
    ----------
    params : dict[str, torch.Tensor]
        Stacked parameters, e.g. from :func:`benchmark.zoo.models.load_stacked`.
    architecture_name : str
        Registry name.
    x : torch.Tensor, shape (N, *input_shape) or (K, N, *input_shape)
        The same points for every model, or model ``k``'s own points ``x[k]``; on any device
        (each batch moves to the parameters' device).
    batch : int, keyword-only
        Points per forward pass (bounds memory).
    dtype : {"float32", "bfloat16"}, keyword-only
        Compute dtype.

    Returns
    -------
    torch.Tensor, shape (K, N, num_classes), float32, on the CPU
    """
    cls = architecture(architecture_name)
    k = len(next(iter(params.values())))
    rank = len(cls.input_shape)
    if x.ndim == rank + 1:
        x = x.unsqueeze(0).expand(k, *x.shape)
    elif x.ndim != rank + 2 or x.shape[0] != k:
        raise ValueError(
            f"x must have shape (N, {cls.input_shape}) or ({k}, N, {cls.input_shape}), "
            f"got {tuple(x.shape)}"
        )
    if any(0 != want != got for want, got in zip(cls.input_shape, x.shape[2:])):
        raise ValueError(
            f"{architecture_name} expects inputs {cls.input_shape} (0: any size), "
            f"got {tuple(x.shape[2:])}"
        )
    outputs = []
    device = next(iter(params.values())).device
    with autocast(dtype, device):
        for part in _chunks(x.shape[1], batch):
            logits = stacked_forward(params, architecture_name, x[:, part].to(device))
            outputs.append(logits.float().cpu())
    if not outputs:
        return torch.empty(k, 0, cls.num_classes)
    return torch.cat(outputs, dim=1)
