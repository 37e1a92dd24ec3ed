"""DP-SGD for stacked models: per-sample clipping without per-sample gradients, Poisson
sampling, noise calibration and accounting, as Opacus defines them.

Clipping follows Opacus's ``DPOptimizer``: per-sample gradients ``g_i`` of the per-sample loss,
``c_i = min(1, C / (||g_i|| + 1e-6))``, summed ``Σ c_i g_i``, plus ``N(0, σ²C²)`` noise,
divided by the expected batch size ``q·n``. The norms come from each layer's input ``a`` and
output gradient ``δ`` (one backward pass to the layer outputs): for a linear layer
``||g_i||² = ||a_i||²·||δ_i||² + ||δ_i||²`` (weight, bias); for a convolution either the
per-sample gradient ``δ_iᵀ U_i`` (``U_i`` the unfolded patches, one row per output
position) or, when the output has few positions, the "ghost" form ``<U_iU_iᵀ, δ_iδ_iᵀ>``.
The clipped sum ``Σ c_i δ_i a_iᵀ`` is then one batched matmul of the re-weighted ``δ`` with
``a``: a second, re-weighted backward pass restricted to the weight gradients. Norms,
clipping, sums and noise are float32 whatever the compute dtype.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from benchmark.zoo.device import autocast
from benchmark.zoo.models import Stacked
from benchmark.zoo.stacked import LayerRecord, stacked_forward, template

_BLOCK = 1 << 24  # floats per temporary block in convolution norms


def _sq_norms(x: torch.Tensor, dim: int | tuple[int, ...]) -> torch.Tensor:
    """Squared L2 norms over ``dim`` as one reduction kernel (``x.pow(2).sum(dim)`` writes a
    temporary as large as ``x`` first: 4-6× slower on the layer inputs of a batch)."""
    return torch.linalg.vector_norm(x, dim=dim).square()


def _patch_sq_norms(record: LayerRecord, delta: torch.Tensor) -> torch.Tensor:
    u, d = record.inputs.float().flatten(0, 1), delta.float().flatten(0, 1)
    rows, positions, features = u.shape
    outputs = d.shape[2]
    ghost = positions * positions < outputs * features
    block = max(1, _BLOCK // (positions * positions if ghost else outputs * features))
    norms = []
    for start in range(0, rows, block):
        ub, db = u[start : start + block], d[start : start + block]
        if ghost:
            gram_u = torch.bmm(ub, ub.transpose(1, 2))
            gram_d = torch.bmm(db, db.transpose(1, 2))
            norms.append((gram_u * gram_d).sum(dim=(1, 2)))
        else:
            norms.append(_sq_norms(torch.bmm(db.transpose(1, 2), ub), dim=(1, 2)))
    total = torch.cat(norms)
    if record.layer.bias is not None:
        total = total + _sq_norms(d.sum(dim=1), dim=1)
    return total.reshape(delta.shape[:2])


def per_sample_sq_norms(record: LayerRecord, delta: torch.Tensor) -> torch.Tensor:
    """Squared norms of each sample's gradient over one layer's parameters.

    Parameters
    ----------
    record : LayerRecord
        The layer and its input ``a`` of shape (K, B, ...): for a linear layer (K, B, in),
        or (K, B, T, in) over T tokens (its gradient sums over them, as a convolution's).
    delta : torch.Tensor, shape (K, B, ...)
        Gradient of the summed per-sample losses with respect to the layer output.

    Returns
    -------
    torch.Tensor, shape (K, B), float32
    """
    if isinstance(record.layer, nn.Conv2d) or record.inputs.ndim == 4:
        return _patch_sq_norms(record, delta)  # a convolution, or a linear map over tokens
    a, d = record.inputs.float(), delta.float()
    if a.ndim != 3:
        raise ValueError(f"linear layer {record.prefix} expects (K, B, features), got {a.shape}")
    d_sq = _sq_norms(d, dim=-1)
    norms = _sq_norms(a, dim=-1) * d_sq
    return norms + d_sq if record.layer.bias is not None else norms


def weighted_sum(record: LayerRecord, delta: torch.Tensor, factors: torch.Tensor) -> Stacked:
    """``Σ_i factors_i · g_i`` for one layer's weight and bias, float32, shapes (K, *param)."""
    weighted = delta.float() * factors.reshape(*factors.shape, *([1] * (delta.ndim - 2)))
    k = delta.shape[0]
    flat = weighted.reshape(k, -1, weighted.shape[-1])
    patches = record.inputs.float().reshape(k, flat.shape[1], -1)
    weight = torch.bmm(flat.transpose(1, 2), patches)
    bias = flat.sum(dim=1)
    grads = {record.prefix + "weight": weight.reshape(k, *record.layer.weight.shape)}
    if record.layer.bias is not None:
        grads[record.prefix + "bias"] = bias
    return grads


def clipped_gradient(
    params: Stacked,
    architecture_name: str,
    x: torch.Tensor,
    y: torch.Tensor,
    weights: torch.Tensor,
    *,
    clip: float,
    dtype: str = "float32",
) -> tuple[Stacked, torch.Tensor]:
    """Sum over each model's batch of per-sample gradients clipped to norm ``clip``.

    Parameters
    ----------
    params : dict[str, torch.Tensor]
        Stacked parameters (K, ...); they need not require grad.
    architecture_name : str
    x : torch.Tensor, shape (K, B, *input_shape)
        A padded batch per model.
    y : torch.Tensor, shape (K, B), int64
    weights : torch.Tensor, shape (K, B)
        1 for real samples, 0 for padding (Poisson batches differ in size).
    clip : float, keyword-only
        C, the clipping norm.
    dtype : keyword-only
        Compute dtype of the forward and backward passes.

    Returns
    -------
    grads : dict[str, torch.Tensor]
        ``Σ_i min(1, C / (||g_i|| + 1e-6)) g_i`` per parameter, float32, (K, *shape).
    norms : torch.Tensor, shape (K, B)
        Per-sample gradient norms (0 for padding).
    """
    if clip <= 0:
        raise ValueError(f"clip must be positive, got {clip}")
    own = getattr(template(architecture_name), "clipped_gradient", None)
    if own is not None:  # an architecture with norms of its own (a transformer's top)
        return own(params, x, y, weights, clip)
    records: list[LayerRecord] = []
    with autocast(dtype, x.device):
        logits = stacked_forward(params, architecture_name, x, records=records)
    losses = F.cross_entropy(logits.float().flatten(0, 1), y.flatten(), reduction="none")
    losses = losses.reshape(y.shape) * weights
    deltas = [d.float() for d in torch.autograd.grad(losses.sum(), [r.outputs for r in records])]
    for record in records:  # float32 once, for both the norms and the clipped sums
        record.inputs = record.inputs.float()
    sq_norms = sum(per_sample_sq_norms(r, d) for r, d in zip(records, deltas))
    assert isinstance(sq_norms, torch.Tensor)
    norms = sq_norms.sqrt()
    factors = (clip / (norms + 1e-6)).clamp(max=1.0) * weights
    grads: Stacked = {}
    for record, delta in zip(records, deltas):
        grads.update(weighted_sum(record, delta, factors))
    return grads, norms.detach()


def poisson_positions(
    generator: torch.Generator, *, n: int, rate: float, steps: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Poisson-sampled batches for ``steps`` steps: each of ``n`` points joins with prob. ``rate``.

    Drawn as a Bernoulli process via geometric gaps between selected positions.

    Returns
    -------
    positions : torch.Tensor, shape (steps, L), int64
        Selected positions in increasing order, padded with values >= n.
    counts : torch.Tensor, shape (steps,)
        Number of selected positions per step.
    """
    if not 0 < rate <= 1:
        raise ValueError(f"rate must lie in (0, 1], got {rate}")
    expected = rate * n
    width = int(expected + 10 * math.sqrt(expected) + 20)
    log_keep = math.log1p(-rate) if rate < 1 else -math.inf
    uniform = torch.rand(steps, width, generator=generator, dtype=torch.float64)
    positions = torch.cumsum(torch.floor(torch.log1p(-uniform) / log_keep) + 1, dim=1) - 1
    while bool((positions[:, -1] < n).any()):
        extra = torch.rand(steps, width, generator=generator, dtype=torch.float64)
        gaps = torch.floor(torch.log1p(-extra) / log_keep) + 1
        positions = torch.cat([positions, positions[:, -1:] + torch.cumsum(gaps, dim=1)], dim=1)
    positions = positions.clamp(max=n).long()
    return positions, (positions < n).sum(dim=1)


def _accuracy_options(accountant: str, eps_error: float) -> dict[str, float]:
    """The PRV accountant bounds ε within ``eps_error`` (MICO: 0.1); RDP takes no such option."""
    return {"eps_error": eps_error} if accountant == "prv" else {}


def noise_multiplier(
    *,
    epsilon: float,
    delta: float,
    sample_rate: float,
    steps: int,
    accountant: str = "prv",
    eps_error: float = 0.01,
) -> float:
    """σ reaching (ε, δ) after ``steps`` Poisson-sampled Gaussian steps (Opacus's search, the
    accountant's upper bound on ε at the target)."""
    from opacus.accountants.utils import get_noise_multiplier

    return float(
        get_noise_multiplier(
            target_epsilon=epsilon,
            target_delta=delta,
            sample_rate=sample_rate,
            steps=steps,
            accountant=accountant,
            epsilon_tolerance=0.005,
            **_accuracy_options(accountant, eps_error),
        )
    )


def epsilon_spent(
    *,
    sigma: float,
    delta: float,
    sample_rate: float,
    steps: int,
    accountant: str = "prv",
    eps_error: float = 0.01,
) -> float:
    """ε of ``steps`` DP-SGD steps with noise multiplier ``sigma`` at ``delta``."""
    from opacus.accountants import create_accountant

    acct = create_accountant(mechanism=accountant)
    acct.history = [(sigma, sample_rate, steps)]
    return float(acct.get_epsilon(delta=delta, **_accuracy_options(accountant, eps_error)))
