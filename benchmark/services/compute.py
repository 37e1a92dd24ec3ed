"""Where this worker computes: its device and its share of the cores (zoo builds, baselines).

The zoo library decides what ``auto`` means (:mod:`benchmark.zoo.device`); this reads the
worker's settings. Imported where it is used: it loads torch.
"""

from typing import Any

from django.conf import settings


def worker_compute() -> Any:
    """This worker's device (``ARENA_DEVICE``) with torch given its share of the cores: every
    core of the worker divided among its pool processes (``ARENA_WORKER_SLOTS``, set when the
    worker starts), or ``ARENA_TORCH_THREADS``."""
    import os

    from benchmark.zoo.device import Compute, use_cores

    slots = int(os.environ.get("ARENA_WORKER_SLOTS", "1"))
    use_cores(slots=slots, threads=settings.ARENA_TORCH_THREADS or None)
    return Compute.resolve(device=settings.ARENA_DEVICE)
