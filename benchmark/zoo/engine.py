"""Train a group of K models at once: stacked parameters, batched kernels, one optimizer.

Model ``k`` of a group is exactly what training it alone would give (up to float rounding):

- initial weights: PyTorch's default initialisation under ``torch.manual_seed(init_seeds[k])``
  (:func:`benchmark.zoo.models.init_module`);
- plain training: epoch ``e`` visits the model's training points in the order of the
  ``e``-th ``torch.randperm(n, generator=g)`` of ``g = torch.Generator().manual_seed(
  order_seeds[k])`` (or, with ``shuffle=False``, in their given order, members first, every
  epoch), in batches of ``batch`` (the last one smaller), mean cross-entropy;
- DP-SGD: Poisson batches from the same generator (:func:`benchmark.zoo.dp.poisson_positions`,
  one call per epoch), Gaussian noise from ``torch.Generator().manual_seed(noise_seeds[k])``,
  the noisy sum divided by Opacus's expected batch size ``int(n·q)``;
- the optimizer (Adam or SGD, elementwise, so stacking does not mix models) and
  ``StepLR(lr_step, lr_gamma)`` stepped once per epoch, as MICO did.

On any device: every random draw (initial weights, orders, Poisson batches, noise) comes from
CPU generators and moves to the device, so a seed gives the same draws on a CPU and a GPU;
the trained weights then agree to float rounding (different kernels), not bit for bit.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from benchmark.zoo import dp
from benchmark.zoo.device import autocast
from benchmark.zoo.models import Stacked, architecture, init_stacked
from benchmark.zoo.stacked import forward_many, stacked_forward

__all__ = ["DPSettings", "GroupResult", "TrainConfig", "accuracy", "forward_many", "train_group"]


@dataclasses.dataclass(frozen=True)
class DPSettings:
    """DP-SGD of one scenario: noise multiplier σ, clipping norm C and sampling rate q."""

    noise_multiplier: float
    clip: float
    sample_rate: float

    def expected_batch(self, n: int) -> int:
        """What Opacus divides the noisy sum by: ``int(n·q)`` (511 for MICO's Purchase-100)."""
        return max(1, int(n * self.sample_rate))


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Optimiser, schedule and compute dtype of a group (see ``benchmark.zoo.tracks``)."""

    optimizer: str
    lr: float
    epochs: int
    batch: int
    lr_step: int
    lr_gamma: float
    dtype: str = "float32"
    momentum: float = 0.0
    dp: DPSettings | None = None
    shuffle: bool = True
    weight_decay: float = 0.0
    #: Samples per forward and backward pass (gradient accumulation); 0: the whole batch.
    physical_batch: int = 0

    def steps_per_epoch(self, n: int) -> int:
        """Optimizer steps per epoch: ``ceil(n / batch)`` (Opacus: ``1 / q`` steps)."""
        return math.ceil(n / self.batch)


@dataclasses.dataclass(frozen=True)
class GroupResult:
    """Trained parameters ``{key: (K, *shape)}`` and the wall time of the group, seconds."""

    params: Stacked
    wall_s: float


def gather(table: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """``table[rows]`` for a (K, B) index, as an embedding lookup: about 3× faster than
    advanced indexing on the CPU, and the hot path of every step."""
    if table.ndim == 1:
        return table.index_select(0, rows.reshape(-1)).reshape(rows.shape)
    flat = F.embedding(rows, table.reshape(len(table), -1))
    return flat.reshape(*rows.shape, *table.shape[1:])


def compute_inputs(x: torch.Tensor, dtype: str, architecture_name: str) -> torch.Tensor:
    """The inputs as the first matmul sees them: autocast would cast every batch to bfloat16
    anyway (the same values), so cast the table once and gather half the bytes. Token ids
    (full fine-tuning: ``tokens`` architectures) stay float32, which holds them exactly."""
    if dtype != "bfloat16" or getattr(architecture(architecture_name), "tokens", False):
        return x
    return x.to(torch.bfloat16)


def _optimizer(params: list[torch.Tensor], config: TrainConfig) -> torch.optim.Optimizer:
    """Adam or SGD, fused: one kernel over all the stacked parameters (on the CPU 25× faster
    than the default per-tensor loop for 16 Purchase MLPs; the same arithmetic)."""
    decay = config.weight_decay  # L2: λ·w added to each (noisy) gradient, elementwise
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=decay, fused=True)
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=config.lr, momentum=config.momentum, weight_decay=decay, fused=True
        )
    raise ValueError(f"optimizer must be adam or sgd, got {config.optimizer!r}")


def _plain_epoch(
    params: Stacked,
    architecture_name: str,
    x: torch.Tensor,
    y: torch.Tensor,
    train_idx: torch.Tensor,
    generators: Sequence[torch.Generator],
    optimizer: torch.optim.Optimizer,
    config: TrainConfig,
) -> None:
    k, n = train_idx.shape
    if config.shuffle:
        order = torch.stack([torch.randperm(n, generator=g) for g in generators])
        rows = train_idx.gather(1, order.to(train_idx.device))
    else:
        rows = train_idx
    for start in range(0, n, config.batch):
        batch = rows[:, start : start + config.batch]
        optimizer.zero_grad(set_to_none=True)
        for part in _parts(batch.shape[1], config.physical_batch):
            with autocast(config.dtype, x.device):
                logits = stacked_forward(params, architecture_name, gather(x, batch[:, part]))
            losses = F.cross_entropy(
                logits.float().flatten(0, 1), gather(y, batch[:, part]).flatten(), reduction="none"
            )
            (losses.reshape(k, -1).sum(dim=1) / batch.shape[1]).sum().backward()
        optimizer.step()


def _parts(width: int, physical: int) -> list[slice]:
    """A batch of ``width`` samples as slices of at most ``physical`` (0: one slice)."""
    size = physical if 0 < physical < width else max(width, 1)
    return [slice(start, start + size) for start in range(0, width, size)]


def _dp_epoch(
    params: Stacked,
    architecture_name: str,
    x: torch.Tensor,
    y: torch.Tensor,
    train_idx: torch.Tensor,
    generators: Sequence[torch.Generator],
    noise_generators: Sequence[torch.Generator],
    optimizer: torch.optim.Optimizer,
    config: TrainConfig,
) -> None:
    assert config.dp is not None
    settings = config.dp
    k, n = train_idx.shape
    steps = config.steps_per_epoch(n)
    drawn = [
        dp.poisson_positions(g, n=n, rate=settings.sample_rate, steps=steps) for g in generators
    ]
    positions = torch.nn.utils.rnn.pad_sequence(
        [p.T for p, _ in drawn], batch_first=True, padding_value=n
    ).transpose(1, 2)
    counts = torch.stack([c for _, c in drawn])
    sizes = [p.numel() // k for p in params.values()]
    std = settings.noise_multiplier * settings.clip
    expected = settings.expected_batch(n)
    device = x.device
    for step in range(steps):
        width = max(int(counts[:, step].max()), 1)
        pos = positions[:, step, :width].to(device)
        weights = (pos < n).float()
        rows = train_idx.gather(1, pos.clamp(max=n - 1))
        grads: Stacked = {}
        for part in _parts(width, config.physical_batch):  # each sample is clipped alone
            summed, _ = dp.clipped_gradient(
                params,
                architecture_name,
                gather(x, rows[:, part]),
                gather(y, rows[:, part]),
                weights[:, part],
                clip=settings.clip,
                dtype=config.dtype,
            )
            grads = {name: grads[name] + g if name in grads else g for name, g in summed.items()}
        noise = torch.stack([torch.randn(sum(sizes), generator=g) for g in noise_generators])
        noise = noise.to(device)
        for (name, param), part in zip(params.items(), noise.split(sizes, dim=1)):
            param.grad = (grads[name] + std * part.reshape(param.shape)) / expected
        optimizer.step()


def train_group(
    architecture_name: str,
    x: torch.Tensor,
    y: torch.Tensor,
    train_idx: torch.Tensor,
    *,
    config: TrainConfig,
    init_seeds: Sequence[int],
    order_seeds: Sequence[int],
    noise_seeds: Sequence[int] | None = None,
    progress: Callable[[int, int], None] | None = None,
    device: torch.device | str = "cpu",
    init: Stacked | None = None,
) -> GroupResult:
    """Train K models together.

    Parameters
    ----------
    architecture_name : str
        Registry name.
    x : torch.Tensor, shape (N, *input_shape), float32
        The whole dataset.
    y : torch.Tensor, shape (N,), int64
    train_idx : torch.Tensor, shape (K, n), int64
        Row ``k``: dataset rows model ``k`` trains on.
    config : TrainConfig, keyword-only
        With ``config.dp`` set, DP-SGD; otherwise plain training.
    init_seeds, order_seeds : sequence of K ints, keyword-only
        Initialisation and data-order (or Poisson sampling) seeds.
    noise_seeds : sequence of K ints, keyword-only
        DP noise seeds (required with DP).
    progress : callable, keyword-only
        Called as ``progress(epoch_done, epochs)``.
    device : torch.device or str, keyword-only
        Where to train (:mod:`benchmark.zoo.device`); the data moves there once.
    init : dict, keyword-only
        The K models' starting parameters ``{key: (K, *shape)}`` (a pre-trained transformer's
        top layers: :func:`benchmark.zoo.transformer.init_params`); default: the
        architecture's initialisation under ``init_seeds``.

    Returns
    -------
    GroupResult, parameters on the CPU
    """
    k = train_idx.shape[0]
    if train_idx.ndim != 2 or len(init_seeds) != k or len(order_seeds) != k:
        raise ValueError(
            f"train_idx must be (K, n) with K seeds each, got {tuple(train_idx.shape)}, "
            f"{len(init_seeds)} init and {len(order_seeds)} order seeds"
        )
    if config.dp is not None and (noise_seeds is None or len(noise_seeds) != k):
        raise ValueError(f"DP training needs {k} noise_seeds")
    started = time.perf_counter()
    device = torch.device(device)
    x = compute_inputs(x, config.dtype, architecture_name).to(device)
    y, train_idx = y.to(device), train_idx.to(device)
    start = init if init is not None else init_stacked(architecture_name, init_seeds)
    params = {name: p.detach().clone().to(device) for name, p in start.items()}
    private = config.dp is not None
    for tensor in params.values():
        tensor.requires_grad_(not private)
    optimizer = _optimizer(list(params.values()), config)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, config.lr_step, config.lr_gamma)
    generators = [torch.Generator().manual_seed(int(s)) for s in order_seeds]
    noise_generators = [torch.Generator().manual_seed(int(s)) for s in noise_seeds or []]
    for epoch in range(config.epochs):
        if private:
            _dp_epoch(
                params,
                architecture_name,
                x,
                y,
                train_idx,
                generators,
                noise_generators,
                optimizer,
                config,
            )
        else:
            _plain_epoch(params, architecture_name, x, y, train_idx, generators, optimizer, config)
        scheduler.step()
        if progress is not None:
            progress(epoch + 1, config.epochs)
    trained = {name: tensor.detach().cpu() for name, tensor in params.items()}
    return GroupResult(trained, time.perf_counter() - started)


def accuracy(
    params: Stacked,
    architecture_name: str,
    x: torch.Tensor,
    y: torch.Tensor,
    rows: torch.Tensor,
    *,
    batch: int = 2048,
    dtype: str = "float32",
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Accuracy of each model on its own rows, gathered ``batch`` rows at a time.

    Parameters
    ----------
    rows : torch.Tensor, shape (K, M), int64
        Dataset rows per model.
    device : keyword-only
        Where the forward passes run.

    Returns
    -------
    torch.Tensor, shape (K,), float in [0, 1]
    """
    correct = torch.zeros(rows.shape[0])
    params = {name: tensor.to(device) for name, tensor in params.items()}
    x = compute_inputs(x, dtype, architecture_name)
    for start in range(0, rows.shape[1], batch):
        part = rows[:, start : start + batch]
        logits = forward_many(params, architecture_name, gather(x, part), batch=batch, dtype=dtype)
        correct += (logits.argmax(dim=-1) == gather(y, part)).sum(dim=1)
    return correct / rows.shape[1]
