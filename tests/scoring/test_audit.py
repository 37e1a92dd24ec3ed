import itertools
import math

import numpy as np
import pytest
from scipy import stats

from scoring.audit import eps_lb, eps_lower_bound, guess_counts, p_value


def literal_p_value(m, r, v, eps, delta):
    q = math.exp(eps) / (1 + math.exp(eps))
    beta = sum(stats.binom.pmf(j, r, q) for j in range(v, r + 1))
    alpha = 0.0
    for i in range(1, v + 1):
        window = sum(stats.binom.pmf(j, r, q) for j in range(v - i, v))
        alpha = max(alpha, window / i)
    return min(1.0, beta + 2 * m * delta * alpha)


@pytest.mark.parametrize(
    ("m", "r", "v", "eps", "delta"),
    [
        (1000, 100, 60, 0.0, 0.0),
        (1000, 100, 60, 0.5, 1e-5),
        (500, 80, 75, 2.0, 1e-4),
        (50, 10, 10, 3.0, 1e-3),
        (50, 10, 0, 1.0, 1e-3),
        (2000, 300, 200, 0.7, 1e-6),
    ],
)
def test_p_value_equals_the_theorem_computed_literally(m, r, v, eps, delta):
    assert p_value(n_canaries=m, guesses=r, correct=v, eps=eps, delta=delta) == pytest.approx(
        literal_p_value(m, r, v, eps, delta), rel=1e-9, abs=1e-15
    )


def test_eps_lower_bound_is_the_rejection_boundary():
    args = {"n_canaries": 2000, "guesses": 400, "correct": 330, "delta": 1e-5}
    eps = eps_lower_bound(**args, significance=0.05)
    assert p_value(**args, eps=eps) < 0.05 <= p_value(**args, eps=eps + 1e-4)


def randomised_response(eps, seed, *, n_models=50, n_points=200):
    """Scores of an ε-DP mechanism on membership: each point's bit, flipped w.p. 1/(1+e^ε)."""
    rng = np.random.default_rng(seed)
    halves = np.repeat([0.0, 1.0], n_points // 2)
    labels = np.concatenate([rng.permutation(halves) for _ in range(n_models)])
    keep = rng.random(labels.shape[0]) < math.exp(eps) / (1 + math.exp(eps))
    answer = np.where(keep, labels, 1 - labels)
    scores = (answer + rng.random(labels.shape[0])) / 2
    model = np.repeat(np.arange(n_models), n_points)
    return labels, scores, model


@pytest.mark.parametrize("eps", [0.25, 1.0, 2.0, 4.0, 8.0])
@pytest.mark.parametrize("seed", range(4))
def test_eps_lb_never_exceeds_the_eps_of_randomised_response(eps, seed):
    labels, scores, model = randomised_response(eps, seed)
    assert eps_lb(labels, scores, model, delta=1e-5) <= eps


def test_eps_lb_grows_with_the_signal():
    bounds = [eps_lb(*randomised_response(eps, 7), delta=1e-5) for eps in (0.0, 0.5, 1.5, 3.0, 6.0)]
    assert bounds[0] == 0.0
    assert all(a < b for a, b in itertools.pairwise(bounds))
    assert bounds[-1] > 3.0


def test_guesses_take_the_extremes_of_each_model():
    labels = np.array([1, 0, 0, 1, 1, 0, 1, 0], dtype=float)
    scores = np.array([0.9, 0.1, 0.5, 0.4, 0.2, 0.3, 0.8, 0.7])
    model = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    # model 0: highest 0.9 (member, right), lowest 0.1 (non-member, right);
    # model 1: highest 0.8 (member, right), lowest 0.2 (member, wrong).
    # k larger than half a model guesses on every point once: 4 of 8 right.
    guesses, correct = guess_counts(labels, scores, model, ks=[1, 5])
    assert guesses.tolist() == [4, 8]
    assert correct.tolist() == [3, 4]
