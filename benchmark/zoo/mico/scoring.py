"""MICO's ``mico_competition.scoring``: ``score`` and ``tpr_at_fpr`` on :mod:`scoring`'s metrics.

:func:`scoring.score` already computes MICO's numbers (those of scikit-learn's ``roc_curve``
and ``roc_auc_score``, ties included); this module gives them MICO's names, argument names and
key order. MICO's HTML report helpers (``generate_roc``, ``generate_table``, ``generate_html``,
which need matplotlib and pandas) are not provided: :func:`scoring.roc_figure` draws ROC curves.
"""

from __future__ import annotations

from typing import Any

from numpy.typing import ArrayLike

import scoring

#: MICO's default FPR level of :func:`tpr_at_fpr`.
FPR_THRESHOLD = 0.1
#: The levels of MICO's ``TPR_FPR_<10000 * level>`` metrics.
FPR_THRESHOLD_LIST = list(scoring.FPR_LEVELS)
#: The keys of :func:`score`'s result, in the order MICO's ``score`` returns them.
MICO_KEYS = (
    "TPR_FPR_10",
    "TPR_FPR_100",
    "TPR_FPR_500",
    "TPR_FPR_1000",
    "TPR_FPR_1500",
    "TPR_FPR_2000",
    "fpr",
    "tpr",
    "AUC",
    "MIA",
    "accuracy",
)


def tpr_at_fpr(
    true_membership: ArrayLike, predictions: ArrayLike, max_fpr: float = FPR_THRESHOLD
) -> float:
    """The largest TPR of a ROC point whose FPR is strictly below ``max_fpr``.

    Parameters
    ----------
    true_membership : array-like of shape (n,)
        1 for members, 0 for non-members; both classes present.
    predictions : array-like of shape (n,)
        Membership confidence in [0, 1].
    max_fpr : float
        In (0, 1]; MICO's default 0.1.

    Raises
    ------
    ValueError
        For invalid labels or predictions (see :func:`scoring.score`) or ``max_fpr``.

    Examples
    --------
    >>> tpr_at_fpr([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], max_fpr=0.5)
    0.5
    """
    if not 0 < max_fpr <= 1:
        raise ValueError(f"max_fpr must lie in (0, 1], got {max_fpr!r}")
    fpr, tpr = scoring.roc_curve(true_membership, predictions)
    return float(tpr[fpr < max_fpr].max())


def score(solutions: ArrayLike, predictions: ArrayLike) -> dict[str, Any]:
    """MICO's scores of one set of predictions, with MICO's keys in MICO's order.

    Returns
    -------
    dict
        ``TPR_FPR_10`` ... ``TPR_FPR_2000``, then ``fpr`` and ``tpr`` (the ROC curve, as
        scikit-learn's ``roc_curve`` gives it), then ``AUC``, ``MIA`` and ``accuracy``.

    Raises
    ------
    ValueError
        For invalid labels or predictions (see :func:`scoring.score`).
    """
    result = scoring.score(solutions, predictions)
    return {key: result[key] for key in MICO_KEYS}
