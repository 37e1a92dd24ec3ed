"""RMIA, the robust membership inference attack of Zarifzadeh, Liu and Shokri (ICML 2024).

LR(x, z) = [p(x | θ) / p(x)] / [p(z | θ) / p(z)] compares the target's true-class probability on
a challenge point x with a population point z, each normalised by the reference models; the
paper's score of x is the fraction of population points z with LR(x, z) ≥ γ. That count ties
whole blocks of points (every x above all z counts Z), so the score here is the count plus a
tie-break in (0, 1), strictly increasing in x's own ratio p(x | θ) / p(x), over Z + 1: points
with different counts keep their order, points with equal counts are ranked by their ratio, and
no score is 0 or 1. Counting uses one sort of the population ratios and a merge, never a loop
over points.

>>> import numpy as np
>>> ref_p, ref_pz = np.full((4, 2), 0.5), np.full((4, 3), 0.5)
>>> s = scores(np.array([0.9, 0.4]), ref_p, ref_p > 1, np.array([0.2, 0.5, 0.8]), ref_pz)
>>> np.floor(s * 4)  # the counts: 3 and 1 of the 3 population points
array([3., 1.])
"""

from __future__ import annotations

import numpy as np

from attacks.logodds import to_unit_interval

__all__ = ["count_at_most", "ratios_to_scores", "reference_probability", "scores", "tie_break"]


def count_at_most(values: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """How many entries of each row of ``values`` are ≤ each threshold of the same row.

    Parameters
    ----------
    values : ndarray of float, shape (..., Z)
    thresholds : ndarray of float, shape (..., K), same leading shape as ``values``

    Returns
    -------
    ndarray of int64, shape (..., K)
    """
    n_values = values.shape[-1]
    merged = np.concatenate([values, thresholds], axis=-1)
    is_value = np.zeros(merged.shape, dtype=bool)
    is_value[..., :n_values] = True
    # Sort by value, values before thresholds on ties, so "≤" counts equal values.
    order = np.lexsort((~is_value, merged), axis=-1)
    seen = np.cumsum(np.take_along_axis(is_value, order, axis=-1), axis=-1)
    counts = np.empty(merged.shape, dtype=np.int64)
    np.put_along_axis(counts, order, seen, axis=-1)
    return counts[..., n_values:]


def reference_probability(
    ref_p: np.ndarray, ref_in: np.ndarray | None, *, a: float | None
) -> np.ndarray:
    """RMIA's p(x): the reference models' mean true-class probability, per point.

    Online (``a=None``): the mean over all reference models. Offline: the mean over OUT models
    (all of them when ``ref_in`` is None), linearly corrected to approximate the IN+OUT mean:
    ½((1 + a)·mean_out + (1 − a)). Divide by it through a floor at the smallest normal float
    (as :func:`scores` does) when it can be 0.

    Parameters
    ----------
    ref_p : ndarray of float, shape (R, N)
    ref_in : ndarray of bool, shape (R, N), or None when every reference model is OUT
    a : float in [0, 1] or None, keyword-only

    Returns
    -------
    ndarray of float64, shape (N,)

    Raises
    ------
    ValueError
        If offline and some point has no OUT reference model.
    """
    if a is None:
        return np.asarray(ref_p.mean(axis=0))
    out = np.ones(ref_p.shape, dtype=bool) if ref_in is None else ~ref_in
    n_out = out.sum(axis=0)
    if (n_out == 0).any():
        raise ValueError(
            f"offline RMIA needs an OUT reference model on every point; point "
            f"{int(np.flatnonzero(n_out == 0)[0])} has none"
        )
    mean_out = np.where(out, ref_p, 0.0).sum(axis=0) / n_out
    return np.asarray(0.5 * ((1.0 + a) * mean_out + (1.0 - a)))


def _floor(p: np.ndarray) -> np.ndarray:
    """``p`` with zeros raised to the smallest normal float, so ratios stay finite."""
    return np.maximum(p, np.finfo(np.float64).tiny)


def _check_probabilities(name: str, values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    bad = np.flatnonzero(~((values >= 0.0) & (values <= 1.0)))
    if bad.size:
        index = tuple(int(i) for i in np.unravel_index(bad[0], values.shape))
        raise ValueError(f"{name} must hold probabilities in [0, 1]; {values[index]} at {index}")
    return values


def scores(
    target_p: np.ndarray,
    ref_p: np.ndarray,
    ref_in: np.ndarray,
    target_pz: np.ndarray,
    ref_pz: np.ndarray,
    *,
    gamma: float = 1.0,
    a: float | None = None,
) -> np.ndarray:
    """RMIA scores of a target model's challenge points.

    Parameters
    ----------
    target_p : ndarray of float, shape (N,)
        The target's true-class probability on every challenge point.
    ref_p : ndarray of float, shape (R, N)
        The reference models' true-class probabilities on the same points.
    ref_in : ndarray of bool, shape (R, N)
        Whether each reference model trained on each point.
    target_pz : ndarray of float, shape (Z,)
        The target's true-class probability on every population point.
    ref_pz : ndarray of float, shape (R, Z)
        The reference models' true-class probabilities on the population (every model is OUT).
    gamma : float > 0, keyword-only
        Threshold on the pairwise likelihood ratio LR(x, z).
    a : float in [0, 1] or None, keyword-only
        None for the online attack (p(x), p(z) are means over all reference models); a number
        for the offline attack, p(x) = ½((1 + a)·mean over OUT models + (1 − a)) and p(z)
        likewise from every model.

    Returns
    -------
    ndarray of float64 in (0, 1), shape (N,)
        (number of population points z with LR(x, z) ≥ γ + :func:`tie_break`) / (Z + 1);
        higher means member.

    Raises
    ------
    ValueError
        If shapes disagree, a probability is outside [0, 1], ``gamma`` ≤ 0, ``a`` is outside
        [0, 1], or the offline attack has a point without an OUT reference model.
    """
    target_p = _check_probabilities("target_p", target_p)
    ref_p = _check_probabilities("ref_p", ref_p)
    target_pz = _check_probabilities("target_pz", target_pz)
    ref_pz = _check_probabilities("ref_pz", ref_pz)
    ref_in = np.asarray(ref_in)
    if target_p.ndim != 1 or target_pz.ndim != 1:
        raise ValueError(
            f"target_p and target_pz must be 1-d, got shapes {target_p.shape}, {target_pz.shape}"
        )
    if ref_p.shape != (ref_p.shape[0], target_p.shape[0]) or ref_in.shape != ref_p.shape:
        raise ValueError(
            f"ref_p and ref_in must have shape (R, {target_p.shape[0]}), got {ref_p.shape} and "
            f"{ref_in.shape}"
        )
    if ref_in.dtype != np.bool_:
        raise ValueError(f"ref_in must be boolean, got dtype {ref_in.dtype}")
    if ref_pz.shape != (ref_p.shape[0], target_pz.shape[0]):
        raise ValueError(
            f"ref_pz must have shape ({ref_p.shape[0]}, {target_pz.shape[0]}), got {ref_pz.shape}"
        )
    if target_pz.shape[0] == 0:
        raise ValueError("the population is empty")
    if not gamma > 0:
        raise ValueError(f"gamma must be positive, got {gamma}")
    if a is not None and not 0.0 <= a <= 1.0:
        raise ValueError(f"a must be None or in [0, 1], got {a}")
    ratio_x = target_p / _floor(reference_probability(ref_p, ref_in, a=a))
    ratio_z = target_pz / _floor(reference_probability(ref_pz, None, a=a))
    return ratios_to_scores(ratio_x, ratio_z, gamma=gamma)


def tie_break(ratio_x: np.ndarray) -> np.ndarray:
    """RMIA's tie-break: log(p(x | θ) / p(x)) through ``to_unit_interval``, in (0, 1).

    Strictly increasing in the ratio, so added to the count it orders points of equal count by
    the likelihood ratio of x itself, and being below 1 it never reorders different counts.
    """
    with np.errstate(divide="ignore"):
        return to_unit_interval(np.log(ratio_x))


def ratios_to_scores(ratio_x: np.ndarray, ratio_z: np.ndarray, *, gamma: float) -> np.ndarray:
    """(Number of z with ratio_x / ratio_z ≥ γ + :func:`tie_break`) / (Z + 1), row by row.

    Parameters
    ----------
    ratio_x : ndarray of float ≥ 0, shape (..., N)
        p(x | θ) / p(x) of every challenge point.
    ratio_z : ndarray of float ≥ 0, shape (..., Z)
        p(z | θ) / p(z) of every population point, same leading shape.
    gamma : float > 0, keyword-only

    Returns
    -------
    ndarray of float64 in (0, 1), shape (..., N)
        Strictly increasing in the count; at equal counts, in ``ratio_x``.
    """
    count = count_at_most(ratio_z, ratio_x / gamma)
    return (count + tie_break(ratio_x)) / (ratio_z.shape[-1] + 1)
