"""MIA Arena's pure scoring library: MICO's metrics, intervals, ε audits and submission zips.

Nothing here imports Django or any other project package, so a notebook can call
``scoring.score(labels, scores)`` directly.
"""

from scoring.bootstrap import bootstrap_ci, paired_bootstrap
from scoring.metrics import FPR_LEVELS, METRIC_KEYS, roc_curve, score
from scoring.scenario import downsample_roc, score_scenario

__all__ = [
    "FPR_LEVELS",
    "METRIC_KEYS",
    "bootstrap_ci",
    "downsample_roc",
    "paired_bootstrap",
    "roc_curve",
    "score",
    "score_scenario",
]
