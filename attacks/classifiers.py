"""Membership log-odds of the fitted attack classifiers of :mod:`attacks.shokri` and
:mod:`attacks.ensemble`, read before their logistic output rounds them to a probability.

``predict_proba`` of a logistic regression, an MLP or LightGBM is the logistic of a score that
ties at exactly 1.0 above 37; these classifiers' own scores (``decision_function``, the MLP's
output unit, LightGBM's raw score) keep those points apart, and the attacks map them into (0, 1)
with :func:`attacks.logodds.to_unit_interval`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from lightgbm import LGBMClassifier
from scipy.special import expit
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline

__all__ = ["log_odds"]

_HIDDEN: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "identity": lambda a: a,
    "logistic": expit,
    "tanh": np.tanh,
    "relu": lambda a: np.maximum(a, 0.0),
}


def log_odds(model: Any, x: np.ndarray) -> np.ndarray:
    """The log-odds of the positive class of a fitted binary classifier, shape (N,).

    ``decision_function`` where the classifier has one (logistic regression, SVM), the output
    unit's pre-activation of an :class:`~sklearn.neural_network.MLPClassifier`, the raw score of
    an :class:`~lightgbm.LGBMClassifier`, and otherwise (a random forest's vote fraction p)
    log p − log(1 − p), ±∞ where every tree agrees. A :class:`~sklearn.pipeline.Pipeline` is
    read through its transforms.

    Parameters
    ----------
    model : fitted classifier or pipeline, trained on two classes
    x : ndarray of float, shape (N, features)

    Returns
    -------
    ndarray of float64, shape (N,); higher means ``model.classes_[1]``.
    """
    if isinstance(model, Pipeline):
        x, model = model[:-1].transform(x), model[-1]
    if isinstance(model, MLPClassifier):
        hidden = _HIDDEN[model.activation]
        a = np.asarray(x, dtype=np.float64)
        for weights, bias in zip(model.coefs_[:-1], model.intercepts_[:-1]):
            a = hidden(a @ weights + bias)
        return np.asarray((a @ model.coefs_[-1] + model.intercepts_[-1])[:, 0], dtype=np.float64)
    if isinstance(model, LGBMClassifier):
        return np.asarray(model.predict(x, raw_score=True), dtype=np.float64)
    if hasattr(model, "decision_function"):
        return np.asarray(model.decision_function(x), dtype=np.float64)
    p = np.asarray(model.predict_proba(x)[:, 1], dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.log(p) - np.log1p(-p)
