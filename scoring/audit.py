"""Empirical lower bounds on ε by the one-run audit of Steinke, Nasr and Jagielski (2023).

Reference: T. Steinke, M. Nasr, M. Jagielski, "Privacy auditing with one (1) training run",
NeurIPS 2023 (arXiv:2305.08846), Theorem 3.1 (pure DP) and its approximate-DP extension
(Theorem 5.2 with the closed-form bound of their Algorithm/Appendix code).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from scipy import special

#: The numbers of guesses per side (as fractions of half a model's points) that are tried.
K_FRACTIONS: tuple[float, ...] = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0)


def _check(n_canaries: int, guesses: int, correct: int, delta: float) -> None:
    if not 0 <= correct <= guesses <= n_canaries:
        raise ValueError(
            f"need 0 <= correct <= guesses <= n_canaries, got {correct}, {guesses}, {n_canaries}"
        )
    if not 0 <= delta <= 1:
        raise ValueError(f"delta must lie in [0, 1], got {delta}")


class _Bound:
    """The bound of :func:`p_value` as a function of ε for fixed counts (terms precomputed)."""

    def __init__(self, n_canaries: int, guesses: int, correct: int, delta: float) -> None:
        self.r, self.v, self.scale = guesses, correct, 2 * n_canaries * delta
        # P[Binomial(r, q) = v - i] for i = 1 .. v, as log-coefficients times powers of q.
        below = np.arange(correct - 1, -1, -1, dtype=np.float64)
        self.below = below
        self.log_choose = (
            special.gammaln(guesses + 1)
            - special.gammaln(below + 1)
            - special.gammaln(guesses - below + 1)
        )
        self.widths = np.arange(1, correct + 1, dtype=np.float64)

    def __call__(self, eps: float) -> float:
        if eps < 0:
            raise ValueError(f"eps must be non-negative, got {eps}")
        q = 1 / (1 + math.exp(-eps))
        beta = float(special.bdtrc(self.v - 1, self.r, q)) if self.v > 0 else 1.0
        alpha = 0.0
        if self.v > 0 and self.scale > 0:
            log_pmf = (
                self.log_choose
                + self.below * special.log_expit(eps)
                + (self.r - self.below) * special.log_expit(-eps)
            )
            alpha = float(np.max(np.cumsum(np.exp(log_pmf)) / self.widths))
        return min(1.0, beta + self.scale * alpha)


def p_value(*, n_canaries: int, guesses: int, correct: int, eps: float, delta: float) -> float:
    """Probability of ``correct`` or more right guesses out of ``guesses`` under (ε, δ)-DP.

    Under the null hypothesis that training is (ε, δ)-DP with respect to each of ``n_canaries``
    points included independently with probability 1/2, the number V of correct guesses obeys

        P[V >= v] <= P[Binomial(r, q) >= v]
                     + 2 n δ max_{1 <= i <= v} P[v - i <= Binomial(r, q) < v] / i

    with q = e^ε / (1 + e^ε) (the accuracy of ε-DP randomised response), r = ``guesses``,
    v = ``correct`` and n = ``n_canaries``; for δ = 0 only the first term remains (their
    Theorem 3.1), the second is their approximate-DP extension.

    Returns
    -------
    float
        The bound, capped at 1.

    Examples
    --------
    >>> round(p_value(n_canaries=1000, guesses=100, correct=60, eps=0.0, delta=0.0), 4)
    0.0284
    """
    _check(n_canaries, guesses, correct, delta)
    return _Bound(n_canaries, guesses, correct, delta)(eps)


def eps_lower_bound(
    *, n_canaries: int, guesses: int, correct: int, delta: float, significance: float = 0.05
) -> float:
    """Largest ε whose (ε, δ)-DP null hypothesis the guesses reject at ``significance``.

    The bound of :func:`p_value` grows with ε, so the boundary is found by bisection (to 1e-5).

    Returns
    -------
    float
        0.0 when even ε = 0 is not rejected.
    """
    _check(n_canaries, guesses, correct, delta)
    bound = _Bound(n_canaries, guesses, correct, delta)
    if guesses == 0 or bound(0.0) >= significance:
        return 0.0
    low, high = 0.0, 1.0
    while bound(high) < significance:
        low, high = high, 2 * high
    while high - low > 1e-5:
        middle = (low + high) / 2
        low, high = (middle, high) if bound(middle) < significance else (low, middle)
    return low


def guess_counts(
    labels: NDArray[np.float64],
    scores: NDArray[np.float64],
    model: NDArray[np.intp],
    *,
    ks: Sequence[int],
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Guess "member" on the k highest and "non-member" on the k lowest scores of every model.

    Ties are broken by position, never by label. A model with fewer than 2k points guesses on
    each of its points once.

    Parameters
    ----------
    labels, scores, model : ndarray of shape (n,)
    ks : sequence of int
        The numbers of guesses per side to try.

    Returns
    -------
    guesses, correct : ndarray of shape (len(ks),)

    Examples
    --------
    >>> labels = np.array([1.0, 0.0, 0.0, 1.0])
    >>> guess_counts(labels, np.array([0.9, 0.1, 0.6, 0.4]), np.zeros(4, int), ks=[1, 2])
    (array([2, 4]), array([2, 2]))
    """
    order = np.lexsort((scores, model))
    sorted_model = model[order]
    starts = np.flatnonzero(np.r_[True, sorted_model[1:] != sorted_model[:-1]])
    sizes = np.diff(np.r_[starts, sorted_model.shape[0]])
    rank = np.arange(order.shape[0]) - np.repeat(starts, sizes)
    size = np.repeat(sizes, sizes)
    per_side = np.minimum(np.asarray(ks)[:, None], size // 2)
    low = rank < per_side
    high = rank >= size - per_side
    member = labels[order] == 1
    correct = (high & member).sum(axis=1) + (low & ~member).sum(axis=1)
    return low.sum(axis=1) + high.sum(axis=1), correct


def eps_lb(
    labels: NDArray[np.float64],
    scores: NDArray[np.float64],
    model: NDArray[np.intp],
    *,
    delta: float = 1e-5,
    confidence: float = 0.95,
) -> float:
    """Empirical lower bound on ε from a scenario's scores (one-run audit, many models).

    For each k in a small fixed set (:data:`K_FRACTIONS` of half the smallest model's points,
    rounded, at least 1, deduplicated) the attack guesses "member" on the k highest and
    "non-member" on the k lowest scores of every model and abstains on the rest; the r guesses
    pooled over the models, v of them correct, give the largest ε that :func:`p_value` rejects.
    The significance 1 - ``confidence`` is split over the k tried (Bonferroni), and the best ε
    over k is returned.

    Assumptions (those of the theorem; state them next to any number shown):

    - every challenge point of every model is a canary included in that model's training set
      with probability 1/2 independently of everything else, so ``n_canaries`` is the total
      number of points. MICO draws exactly half of each model's points as members, a slightly
      different design whose effect on the bound is not analysed here;
    - models are independent training runs, and ε is per point under add/remove adjacency,
      so pooling guesses over models is a run of the same test on more canaries;
    - the scores were produced without knowledge of the labels (a submission that saw them
      can reach any ε_lb): the bound audits the training, the attack only supplies guesses.

    Parameters
    ----------
    labels, scores, model : ndarray of shape (n,)
        Concatenated labels and scores, and the model of each point (0 .. n_models - 1).
    delta : float
        The δ of the null hypothesis.
    confidence : float
        Family-wise confidence over all k tried.

    Returns
    -------
    float
        ε_lb >= 0.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    half = int(np.bincount(model).min()) // 2
    ks = sorted({max(1, round(fraction * half)) for fraction in K_FRACTIONS})
    significance = (1 - confidence) / len(ks)
    guesses, correct = guess_counts(labels, scores, model, ks=ks)
    bounds = [
        eps_lower_bound(
            n_canaries=labels.shape[0],
            guesses=int(r),
            correct=int(v),
            delta=delta,
            significance=significance,
        )
        for r, v in zip(guesses, correct, strict=True)
    ]
    return max(bounds)
