"""MIA Arena's pure scoring library: MICO's metrics, intervals, ε audits and submission zips.

Nothing here imports Django or any other project package, so a notebook can call
``scoring.score(labels, scores)`` directly.
"""

from scoring.bootstrap import bootstrap_ci, paired_bootstrap
from scoring.expected import PHASES, Expected
from scoring.figures import roc_figure
from scoring.metrics import FPR_LEVELS, METRIC_KEYS, roc_curve, score
from scoring.scenario import downsample_roc, score_scenario
from scoring.submission import (
    SubmissionError,
    read_prediction_tree,
    read_solutions,
    read_submission,
    read_submission_with_notices,
)

__all__ = [
    "FPR_LEVELS",
    "METRIC_KEYS",
    "PHASES",
    "Expected",
    "SubmissionError",
    "bootstrap_ci",
    "downsample_roc",
    "paired_bootstrap",
    "read_prediction_tree",
    "read_solutions",
    "read_submission",
    "read_submission_with_notices",
    "roc_curve",
    "roc_figure",
    "score",
    "score_scenario",
]
