"""Shokri et al.'s shadow-model attack (IEEE S&P 2017): one classifier per class.

The train models are the shadow models. For every class, a binary classifier learns membership
from the shadows' probability vectors on challenge points of that class; a target's point is
scored by its class's classifier. Like the classic reproductions, the SVM picks C and γ by
cross-validation; samples per class and the grid are capped so a 100-class scenario takes about a
minute on two cores. Each classifier scores by its membership log-odds
(:func:`attacks.classifiers.log_odds`, the Platt sigmoid's argument for the SVM), mapped into
(0, 1) by :func:`attacks.logodds.to_unit_interval`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Literal

import numpy as np
from scipy.stats import rankdata
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from attacks import classifiers, features
from attacks.logodds import to_unit_interval
from attacks.observations import Observations

__all__ = ["shokri"]

Classifier = Literal["svm", "mlp", "logistic"]

_SVM_C = (1.0, 10.0, 100.0)
_SVM_GAMMA = (0.1, 1.0, 10.0)  # times 1 / features, sklearn's "scale" on standardised inputs

Scorer = Callable[[np.ndarray], np.ndarray]
"""A fitted attack classifier: features (N, C) to membership log-odds (N,)."""


def _auc(y: np.ndarray, decision: np.ndarray) -> float:
    """Area under the ROC curve by the Mann-Whitney rank sum (ties share ranks)."""
    n_in = int(y.sum())
    rank_sum = float(rankdata(decision)[y].sum())
    return (rank_sum - n_in * (n_in + 1) / 2) / (n_in * (len(y) - n_in))


def _svm(x: np.ndarray, y: np.ndarray, seed: int) -> Scorer:
    """RBF SVM with (C, γ) chosen by 3-fold cross-validated AUC, Platt-scaled.

    The Platt sigmoid is fitted on the out-of-fold decision values of the chosen (C, γ), as
    ``CalibratedClassifierCV(ensemble=False)`` does, without refitting the grid; the scorer
    returns its argument, the log-odds.
    """
    scaler = StandardScaler().fit(x)
    x = scaler.transform(x)
    folds = list(StratifiedKFold(3, shuffle=True, random_state=seed).split(x, y))
    best: tuple[float, SVC, np.ndarray] | None = None
    for c, gamma in itertools.product(_SVM_C, _SVM_GAMMA):
        svm = SVC(C=c, gamma=gamma / x.shape[1])
        decision = np.empty(len(y))
        for train, test in folds:
            decision[test] = clone(svm).fit(x[train], y[train]).decision_function(x[test])
        auc = _auc(y, decision)
        if best is None or auc > best[0]:
            best = (auc, svm, decision)
    assert best is not None
    _, svm, decision = best
    platt = LogisticRegression().fit(decision[:, None], y)
    svm.fit(x, y)
    return lambda z: platt.decision_function(svm.decision_function(scaler.transform(z))[:, None])


def _fit(kind: Classifier, x: np.ndarray, y: np.ndarray, seed: int) -> Scorer:
    """A fitted attack classifier, as a function from features to membership log-odds."""
    if kind == "svm":
        return _svm(x, y, seed)
    if kind == "mlp":
        model = make_pipeline(
            StandardScaler(),
            MLPClassifier((64,), max_iter=300, early_stopping=True, random_state=seed),
        )
    else:
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(x, y)
    return lambda z: classifiers.log_odds(model, z)


def _balanced_sample(
    classes: np.ndarray, members: np.ndarray, *, n_classes: int, per_class: int, seed: int
) -> np.ndarray:
    """Indices of up to ``per_class // 2`` members and as many non-members of every class.

    A random key per sample, ranked within its (class, membership) group, keeps the first ones:
    one sort instead of a loop over groups.
    """
    rng = np.random.default_rng(seed)
    group = classes * 2 + members
    order = np.lexsort((rng.random(group.size), group))
    sorted_group = group[order]
    rank = np.arange(group.size) - np.searchsorted(sorted_group, sorted_group)
    keep = order[rank < per_class // 2]
    return keep[np.argsort(classes[keep], kind="stable")]


def shokri(
    obs: Observations,
    *,
    classifier: Classifier = "svm",
    per_class: int = 200,
    seed: int = 0,
) -> np.ndarray:
    """Shokri et al.'s per-class attack classifiers on probability vectors.

    Probability vectors are averaged over queries. A class with fewer than 4 members or
    non-members among the samples is scored by one classifier trained on every class's samples.

    Parameters
    ----------
    obs : Observations
    classifier : {"svm", "mlp", "logistic"}, keyword-only
        RBF SVM with (C, γ) chosen by 3-fold cross-validated AUC over a 3 × 3 grid, scored by
        its Platt log-odds; a one-hidden-layer MLP; or logistic regression.
    per_class : int ≥ 2, keyword-only
        Cap on training samples per class, half members and half non-members.
    seed : int, keyword-only

    Returns
    -------
    ndarray of float64 in (0, 1), shape (T, K)

    Raises
    ------
    ValueError
        If ``per_class`` < 2, the classifier is unknown, or the shadows have no members or no
        non-members.
    """
    if per_class < 2:
        raise ValueError(f"per_class must be at least 2, got {per_class}")
    if classifier not in ("svm", "mlp", "logistic"):
        raise ValueError(f"classifier must be 'svm', 'mlp' or 'logistic', got {classifier!r}")
    shadow_x = features.probabilities(obs.shadow_logits).mean(axis=2)
    target_x = features.probabilities(obs.target_logits).mean(axis=2)
    n_shadows, n_points = obs.shadow_in.shape
    classes = np.broadcast_to(obs.labels, (n_shadows, n_points)).ravel()
    members = obs.shadow_in.ravel()
    if members.all() or not members.any():
        raise ValueError("shokri needs shadow members and non-members")
    chosen = _balanced_sample(
        classes, members, n_classes=obs.n_classes, per_class=per_class, seed=seed
    )
    x = shadow_x.reshape(-1, obs.n_classes)[chosen]
    y, c = members[chosen], classes[chosen]
    pooled = _balanced_sample(np.zeros_like(c), y, n_classes=1, per_class=per_class * 4, seed=seed)
    fallback = _fit(classifier, x[pooled], y[pooled], seed)
    target_classes = obs.target_labels.ravel()
    flat_target = target_x.reshape(-1, obs.n_classes)
    log_odds = fallback(flat_target)
    bounds = np.searchsorted(c, np.arange(obs.n_classes + 1))
    for label in np.unique(target_classes):
        rows = slice(bounds[label], bounds[label + 1])
        n_in = int(y[rows].sum())
        if min(n_in, bounds[label + 1] - bounds[label] - n_in) < 4:
            continue
        fitted = _fit(classifier, x[rows], y[rows], seed)
        where = target_classes == label
        log_odds[where] = fitted(flat_target[where])
    return to_unit_interval(log_odds.reshape(obs.target_points.shape))
