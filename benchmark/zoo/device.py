"""Where the zoo computes and in which dtype: decided here once, passed down everywhere.

- **Device** (``"auto" | "cpu" | "cuda"``, ``ARENA_DEVICE`` on workers, ``--device`` on the
  command lines): ``auto`` is CUDA when a GPU is present, the CPU otherwise.
- **Compute dtype** (``"auto" | "float32" | "bfloat16"``, a track file's ``[training] dtype``):
  ``auto`` is bfloat16 where the device executes it natively — a CPU with AVX512-BF16 or AMX
  (torch's own capability checks, which read the CPU's flags), a CUDA GPU that supports it
  (compute capability 8.0 and later) — and float32 elsewhere, where bfloat16 would only be
  emulated and slower. Only the matmuls and convolutions run in the compute dtype (autocast);
  weights, optimizer state, gradients' clipping, sums and noise stay float32.
- **Threads**: a process uses every core it is given (its CPU affinity), shared among the
  ``slots`` pool processes of its worker.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from pathlib import Path

import torch

DEVICES = ("auto", "cpu", "cuda")
DTYPES = ("auto", "float32", "bfloat16")


def cpu_flags() -> set[str]:
    """The CPU's feature flags as ``/proc/cpuinfo`` lists them (empty where it does not exist)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def cpu_has_native_bfloat16() -> bool:
    """AVX512-BF16 or AMX: bfloat16 matmuls run natively (about 2.7× float32 on such CPUs)."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    if any(getattr(torch.cpu, name, lambda: False)() for name in checks):
        return True
    return bool({"avx512_bf16", "amx_bf16"} & cpu_flags())


def resolve_device(name: str = "auto") -> torch.device:
    """``auto``: CUDA when present. Asking for CUDA without one is an error naming the fix."""
    if name not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, got {name!r}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' asked for, but torch sees no CUDA GPU; use 'cpu' or 'auto'")
    return torch.device(name)


def native_bfloat16(device: torch.device) -> bool:
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    return cpu_has_native_bfloat16()


def resolve_dtype(name: str, device: torch.device) -> str:
    """The compute dtype a track's ``dtype`` means on ``device`` (``auto`` decides here)."""
    if name not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {name!r}")
    if name != "auto":
        return name
    return "bfloat16" if native_bfloat16(device) else "float32"


def autocast(dtype: str, device: torch.device | str = "cpu") -> contextlib.AbstractContextManager:
    """bfloat16 autocast on ``device`` (float32 master weights), or nothing for float32."""
    device_type = torch.device(device).type
    if dtype == "bfloat16":
        return torch.autocast(device_type, dtype=torch.bfloat16)
    if dtype == "float32":
        return contextlib.nullcontext()
    raise ValueError(f"dtype must be float32 or bfloat16, got {dtype!r}")


def cores() -> int:
    """Cores this process may run on (its affinity; a container's CPU set)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def use_cores(*, slots: int = 1, threads: int | None = None) -> int:
    """Give torch this process's share of the cores: ``threads``, or ``cores() // slots``."""
    count = max(1, threads if threads is not None else cores() // max(1, slots))
    torch.set_num_threads(count)
    return count


@dataclasses.dataclass(frozen=True)
class Compute:
    """Where a build runs: the device and what ``auto`` meant there (recorded per model)."""

    device: torch.device
    dtype: str

    @classmethod
    def resolve(cls, *, device: str = "auto", dtype: str = "auto") -> Compute:
        where = resolve_device(device)
        return cls(where, resolve_dtype(dtype, where))

    def describe(self) -> str:
        threads = f", {torch.get_num_threads()} threads" if self.device.type == "cpu" else ""
        return f"{self.device.type} ({self.dtype}{threads})"
