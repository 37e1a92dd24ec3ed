"""The model zoo: datasets, architectures, seeded splits, batched (DP-)training, bundles.

Pure library (no Django). Participant-facing entry points::

    from benchmark.zoo import challenge_points, load_dataset, load_stacked, forward_many
"""

from benchmark.zoo import finetune, transformer  # noqa: F401  (register the text-top*, text-full-*)
from benchmark.zoo.datasets import DATASETS, TensorData, load_dataset, register_dataset
from benchmark.zoo.models import ARCHITECTURES, CNN, MLP, DigitsCNN, load_stacked
from benchmark.zoo.splits import ChallengePoints, challenge_points
from benchmark.zoo.stacked import forward_many
from benchmark.zoo.tracks import TrackSpec, load_track, parse_track

__all__ = [
    "ARCHITECTURES",
    "CNN",
    "DATASETS",
    "MLP",
    "ChallengePoints",
    "DigitsCNN",
    "TensorData",
    "TrackSpec",
    "challenge_points",
    "forward_many",
    "load_dataset",
    "load_stacked",
    "load_track",
    "parse_track",
    "register_dataset",
]
