"""Choquette-Choo et al.'s label-only attack (ICML 2021): members' labels survive perturbations.

A model's predicted label of a training point tends to stay put when the point is perturbed,
more than for a point it never saw. The attack queries a point and ``copies`` perturbed copies of
it, and takes the fraction whose released label is the point's class, its *robustness*: Bernoulli
noise (each feature flipped with probability ``rate``) on binary features, as the paper did for
Purchase and Texas, and Gaussian noise of standard deviation ``rate · (high − low)``, clipped to
the feature range, on continuous ones.

Only labels are read, so the attack runs against every release (:mod:`benchmark.zoo.release`):

- a label-only release gives the label itself;
- a vector release gives its argmax. A top-k release keeps its largest entry, so its argmax is
  the model's; a rounded one may tie several classes at the top, and a point then earns
  ``1 / m`` of a hit when its class is one of ``m`` tied maxima, the expected value of a uniformly
  random tie break (so rounding neither favours low class indices, as ``argmax`` would, nor
  counts a tie as a hit for every tied class).

The score :func:`label_only` calibrates each point's robustness by that of the shadow models
that did not train on it, as :func:`attacks.thresholds.calibrated_loss` calibrates the loss.

>>> import torch
>>> from benchmark.zoo.datasets import FeatureSpace
>>> space = FeatureSpace(shape=(3,), low=0.0, high=1.0, binary=True)
>>> x = np.zeros((2, 3), dtype=np.float32)
>>> perturb(x, space, copies=4, rate=0.1, generator=np.random.default_rng(0)).shape
(4, 2, 3)
>>> model_robustness([torch.nn.Linear(3, 2)], x, np.array([0, 1]), space=space, seed=0).shape
(1, 2)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from torch import nn

from attacks.logodds import to_unit_interval
from attacks.observations import Observations
from attacks.oracle import LocalOracle, Oracle
from benchmark.zoo.datasets import FeatureSpace
from benchmark.zoo.release import Defence

__all__ = ["COPIES", "RATE", "label_only", "model_robustness", "perturb", "robustness"]

COPIES = 30
"""Perturbed copies of every point by default (31 queries with the point itself)."""

RATE = 0.1
"""Default noise: flip probability of a binary feature; noise std over the range otherwise."""


def perturb(
    x: np.ndarray,
    space: FeatureSpace,
    *,
    copies: int,
    rate: float,
    generator: np.random.Generator,
) -> np.ndarray:
    """``copies`` randomly perturbed copies of every point.

    Parameters
    ----------
    x : ndarray of float, shape (N, *space.shape)
        Points of ``space``.
    space : FeatureSpace
        Binary: every feature flips independently with probability ``rate``. Otherwise every
        feature gets Gaussian noise of standard deviation ``rate · (high − low)`` and is clipped
        to ``[low, high]``; in a masked space (top-k text points) only the tokens' states.
    copies : int ≥ 0, keyword-only
    rate : float, keyword-only
        In [0, 1] for a binary space, ≥ 0 otherwise.
    generator : numpy.random.Generator, keyword-only
        The source of every draw (float32 uniforms or normals of shape (copies, N, *shape)),
        so a seeded generator gives the same copies on every machine.

    Returns
    -------
    ndarray of float32, shape (copies, N, *space.shape), points of ``space``

    Raises
    ------
    ValueError
        If ``x`` is not in ``space``, or ``copies`` or ``rate`` is out of range.
    """
    x = np.asarray(x, dtype=np.float32)
    problem = space.check(x)
    if problem is not None:
        raise ValueError(f"x: {problem}")
    if copies < 0:
        raise ValueError(f"copies must be 0 or more, got {copies}")
    if not (0.0 <= rate <= 1.0 if space.binary else rate >= 0.0):
        bound = "in [0, 1] for binary features" if space.binary else "0 or more"
        raise ValueError(f"rate must be {bound}, got {rate}")
    shape = (copies, *x.shape)
    if space.binary:
        flip = generator.random(shape, dtype=np.float32) < rate
        return np.where(flip, 1.0 - x, x).astype(np.float32, copy=False)
    noise = generator.standard_normal(shape, dtype=np.float32) * (rate * (space.high - space.low))
    moved = np.clip(x + noise, space.low, space.high).astype(np.float32, copy=False)
    if space.masked:  # only the tokens' states move; the attention mask and the padding stay
        mask = x[..., -1:] > 0
        moved[..., :-1] = np.where(mask, moved[..., :-1], x[..., :-1])
        moved[..., -1] = x[..., -1]
    return moved


def _queries(
    x: np.ndarray, space: FeatureSpace, *, copies: int, rate: float, seed: int
) -> np.ndarray:
    """The points then their copies, one batch of shape ((copies + 1) · N, *space.shape)."""
    x = np.asarray(x, dtype=np.float32)
    copied = perturb(x, space, copies=copies, rate=rate, generator=np.random.default_rng(seed))
    return np.concatenate([x[None], copied]).reshape(-1, *space.shape)


def _check_labels(y: np.ndarray, n_points: int) -> np.ndarray:
    y = np.asarray(y)
    if y.shape != (n_points,):
        raise ValueError(f"y must have shape ({n_points},), got {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must be integers, got dtype {y.dtype}")
    return y.astype(np.int64)


def _hits(released: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Robustness, shape (N,), of released outputs of the queries of :func:`_queries`.

    ``released`` holds labels (R,) or vectors (R, C), R = (copies + 1) · N; a class among m tied
    maxima of a vector earns 1 / m.
    """
    n_points = y.shape[0]
    released = np.asarray(released)
    if released.ndim == 1:
        hit = (released.reshape(-1, n_points) == y).astype(np.float64)
        return np.asarray(hit.mean(axis=0))
    n_classes = released.shape[-1]
    bad = np.flatnonzero(y >= n_classes)
    if bad.size:
        raise ValueError(f"y has {y[bad[0]]} at index {bad[0]}, outside 0..{n_classes - 1}")
    vectors = released.reshape(-1, n_points, n_classes)
    top = vectors == vectors.max(axis=-1, keepdims=True)
    at_y = np.take_along_axis(top, np.broadcast_to(y[None, :, None], (len(top), n_points, 1)), -1)
    return np.asarray((at_y[..., 0] / top.sum(axis=-1)).mean(axis=0))


def robustness(
    oracle: Oracle,
    x: np.ndarray,
    y: np.ndarray,
    *,
    space: FeatureSpace,
    copies: int = COPIES,
    rate: float = RATE,
    seed: int = 0,
) -> np.ndarray:
    """Fraction of every point and its perturbed copies that the oracle labels as its class.

    All ``(copies + 1) · N`` rows go to the oracle in one :meth:`~attacks.oracle.Oracle.query`.

    Parameters
    ----------
    oracle : Oracle
        Labels, or vectors whose argmax is read (a class among m tied maxima earns 1 / m).
    x : ndarray of float, shape (N, *space.shape)
    y : ndarray of int, shape (N,)
        The points' true classes.
    space : FeatureSpace, keyword-only
        Where the points live (:meth:`benchmark.zoo.datasets.TensorData.feature_space`).
    copies, rate : keyword-only
        See :func:`perturb`.
    seed : int, keyword-only
        Seed of the perturbations (numpy's ``default_rng``).

    Returns
    -------
    ndarray of float64 in [0, 1], shape (N,), multiples of 1 / (copies + 1) without ties

    Raises
    ------
    ValueError
        If ``x`` or ``y`` is malformed, or a class is outside the released vectors.
    attacks.oracle.BudgetExhausted
        If the oracle cannot pay for the rows (nothing spent).
    """
    x = np.asarray(x, dtype=np.float32)
    y = _check_labels(y, len(x))
    queries = _queries(x, space, copies=copies, rate=rate, seed=seed)
    return _hits(oracle.query(queries), y)


def model_robustness(
    modules: Sequence[nn.Module],
    x: np.ndarray,
    y: np.ndarray,
    *,
    space: FeatureSpace,
    defence: Defence | None = None,
    copies: int = COPIES,
    rate: float = RATE,
    seed: int = 0,
) -> np.ndarray:
    """:func:`robustness` of M local models, all on the same perturbed copies.

    Each module is queried once, through a :class:`~attacks.oracle.LocalOracle` with
    ``defence``, on every point and copy.

    Parameters
    ----------
    modules : sequence of M nn.Module
        Models mapping inputs to logits, on the CPU.
    x : ndarray of float, shape (N, *space.shape)
    y : ndarray of int, shape (N,)
    space : FeatureSpace, keyword-only
    defence : Defence or None, keyword-only
        The scenario's release (None: the probability vector).
    copies, rate, seed : keyword-only
        See :func:`robustness`.

    Returns
    -------
    ndarray of float64 in [0, 1], shape (M, N)

    Raises
    ------
    ValueError
        If there is no module, or ``x`` or ``y`` is malformed.
    """
    if not modules:
        raise ValueError("model_robustness needs at least one module")
    x = np.asarray(x, dtype=np.float32)
    y = _check_labels(y, len(x))
    queries = _queries(x, space, copies=copies, rate=rate, seed=seed)
    return np.stack(
        [_hits(LocalOracle(module, defence=defence).query(queries), y) for module in modules]
    )


def label_only(obs: Observations) -> np.ndarray:
    """Robustness of the target minus the mean robustness of OUT shadows, per point.

    A member's label is more robust than a typical non-member's of the same point. A point no
    shadow left out is scored by its plain robustness less the mean OUT robustness over every
    point, so that its score stays on the scale of the others. The difference goes through
    :func:`~attacks.logodds.to_unit_interval`; being a fraction of ``copies + 1`` queries, it
    ties points by design.

    Returns
    -------
    ndarray of float64 in (0, 1), shape (T, K)

    Raises
    ------
    ValueError
        If the observations carry no robustness (``shadow_robustness`` or
        ``target_robustness`` is None).
    """
    missing = [
        name for name in ("shadow_robustness", "target_robustness") if getattr(obs, name) is None
    ]
    if missing:
        raise ValueError(
            f"label-only needs observations with robustness; {' and '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} None "
            "(see attacks.label_only.model_robustness)"
        )
    assert obs.shadow_robustness is not None and obs.target_robustness is not None
    out = ~obs.shadow_in
    n_out = out.sum(axis=0)
    total = np.where(out, obs.shadow_robustness, 0.0).sum(axis=0)
    fallback = total.sum() / max(int(n_out.sum()), 1)
    reference = np.where(n_out > 0, total / np.maximum(n_out, 1), fallback)
    return to_unit_interval(obs.target_robustness - reference[obs.target_points])
