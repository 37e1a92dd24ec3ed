"""MICO metrics of many model resamples of one scenario, without re-sorting anything.

A resample is a vector of counts (how often each model was drawn). Its ROC is a weighted ROC on
the one global sort of the observed points: at column j (the j-th distinct score, highest first)
its cumulative counts are ``counts @ per_model_counts[:, j]``. Columns where no drawn model has
a point are not points of the resample's ROC; :func:`scoring.metrics.keep_mask` ignores them.

``TPR_FPR`` metrics need only a few columns per resample, found by batched binary searches
(log2 of the number of columns, each a (resamples x models) gather), and the AUC is a quadratic
form in the counts (Mann-Whitney), so both cost next to nothing; ``MIA`` and ``accuracy`` use
every column through a matrix product.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from scoring.metrics import FPR_LEVELS, METRIC_KEYS, metrics_from_counts, roc_counts

#: Resamples whose full cumulative counts are held in memory at once (non-TPR metrics).
_CHUNK = 64

Columns = NDArray[np.intp]


class ResampledCurves:
    """Per-model cumulative counts on the global sort of one scenario's points.

    Parameters
    ----------
    labels, scores, model : ndarray of shape (n,)
        As returned by :func:`scoring.metrics.concatenate_models`.
    """

    def __init__(
        self, labels: NDArray[np.float64], scores: NDArray[np.float64], model: NDArray[np.intp]
    ) -> None:
        tps, _, order, group = roc_counts(labels, scores)
        n_models = int(model.max()) + 1
        t = tps.shape[0]
        cell = group * n_models + model[order]
        size = n_models * t
        sorted_labels = labels[order]
        members = np.bincount(cell, weights=sorted_labels, minlength=size)
        others = np.bincount(cell, weights=1 - sorted_labels, minlength=size)
        #: (columns, models): members / non-members of each model scored at or above a column.
        self.tps = members.reshape(t, n_models).cumsum(axis=0)
        self.fps = others.reshape(t, n_models).cumsum(axis=0)
        is_member = sorted_labels == 1
        self.member_model = model[order][is_member]
        self.member_column = group[is_member]
        # Both counts in one exact integer: members * scale + non-members (below 2**53).
        self.scale = float(labels.shape[0] + 1)
        self.packed = self.tps * self.scale + self.fps

    def metric(self, counts: NDArray[np.float64], key: str) -> NDArray[np.float64]:
        """``key`` on each resample.

        Parameters
        ----------
        counts : ndarray of shape (b, n_models)
            How often each model is drawn in each resample.
        key : str
            One of :data:`scoring.METRIC_KEYS`.

        Returns
        -------
        ndarray of shape (b,)
            NaN for a resample that lacks a class.
        """
        out = np.full(counts.shape[0], np.nan)
        tp_total = counts @ self.tps[-1]
        fp_total = counts @ self.fps[-1]
        both = (tp_total > 0) & (fp_total > 0)
        levels = dict(zip(METRIC_KEYS, FPR_LEVELS, strict=False))
        if key in levels:
            out[both] = self._tpr_at_fpr(counts[both], tp_total[both], fp_total[both], levels[key])
            return out
        if key == "AUC":
            pairs = ((counts[both] @ self._pairs()) * counts[both]).sum(axis=1)
            out[both] = pairs / (tp_total[both] * fp_total[both])
            return out
        for start in range(0, counts.shape[0], _CHUNK):
            rows = both[start : start + _CHUNK]
            weights = counts[start : start + _CHUNK][rows]
            totals = (
                tp_total[start : start + _CHUNK][rows],
                fp_total[start : start + _CHUNK][rows],
            )
            tps = weights @ self.tps.T
            fps = weights @ self.fps.T
            values = metrics_from_counts(tps, fps, keys=(key,), totals=totals)[key]
            out[start : start + _CHUNK][rows] = values
        return out

    def _pairs(self) -> NDArray[np.float64]:
        """(models, models): member-non-member pairs ordered right (ties count 1/2).

        A resample's AUC is the Mann-Whitney statistic ``counts @ pairs @ counts`` over its
        members times non-members, equal to the trapezoidal area of its ROC.
        """
        n_models = self.tps.shape[1]
        new_others = np.diff(self.fps, axis=0, prepend=0)
        below = self.fps[-1] - self.fps + new_others / 2
        by_model = np.argsort(self.member_model, kind="stable")
        models = self.member_model[by_model]
        present, starts = np.unique(models, return_index=True)
        pairs = np.zeros((n_models, n_models))
        pairs[present] = np.add.reduceat(below[self.member_column[by_model]], starts, axis=0)
        return pairs

    def _at(
        self, table: NDArray[np.float64], weights: NDArray[np.float64], columns: Columns
    ) -> NDArray[np.float64]:
        """Each resample's weighted count in ``table`` at its own column (clipped to range)."""
        rows = table[np.clip(columns, 0, table.shape[0] - 1)]
        return np.einsum("bm,bm->b", weights, rows)

    def _first(self, predicate: Callable[[Columns], NDArray[np.bool_]], rows: int) -> Columns:
        """Per resample, the first column where a monotone ``predicate`` holds (or t)."""
        low = np.zeros(rows, dtype=np.intp)
        high = np.full(rows, self.tps.shape[0], dtype=np.intp)
        while (open_ := low < high).any():
            middle = (low + high) // 2
            holds = predicate(middle) & open_
            high = np.where(holds, middle, high)
            low = np.where(open_ & ~holds, middle + 1, low)
        return low

    def _tpr_at_fpr(
        self,
        weights: NDArray[np.float64],
        tp_total: NDArray[np.float64],
        fp_total: NDArray[np.float64],
        level: float,
    ) -> NDArray[np.float64]:
        """The largest TPR of a kept ROC point with FPR below ``level``, per resample.

        The answer is the last point before the first column whose FPR reaches the level,
        unless scikit-learn drops it as the middle of a straight run; then it is the point
        where that run starts, found by walking back one distinct value at a time.
        """
        rows = weights.shape[0]
        t = self.tps.shape[0]
        reached = self._first(lambda c: self._at(self.fps, weights, c) / fp_total >= level, rows)
        value = np.where(reached > 0, self._at(self.packed, weights, reached - 1), 0.0)
        step_out = self._at(self.packed, weights, reached) - value
        has_after = reached < t
        result = np.zeros(rows)
        active = value > 0
        while active.any():

            def reaches(columns: Columns, target: NDArray[np.float64] = value) -> NDArray[np.bool_]:
                return self._at(self.packed, weights, columns) >= target

            start = self._first(reaches, rows)
            before = np.where(start > 0, self._at(self.packed, weights, start - 1), 0.0)
            step_in = value - before
            kept = active & (~has_after | (before == 0) | (step_in != step_out))
            members = np.floor(value / self.scale)
            result = np.where(kept, members / tp_total, result)
            active &= ~kept
            value = np.where(active, before, value)
            step_out = np.where(active, step_in, step_out)
            has_after = has_after | active
        return result
