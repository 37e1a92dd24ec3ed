"""The map into (0, 1) and the log-odds helpers, against their formulas and float64's limits."""

import doctest
import importlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import expit, log_ndtr, ndtr

from attacks import logodds
from attacks.logodds import to_unit_interval

LARGEST = np.finfo(np.float64).max


def test_no_statistic_reaches_zero_or_one():
    t = np.array([-np.inf, -LARGEST, -1e300, -800.0, 800.0, 1e300, LARGEST, np.inf])
    scores = to_unit_interval(t)
    assert (scores > 4e-4).all() and (scores < 1 - 4e-4).all()
    # The logistic, by contrast, rounds every one of them to 0 or 1.
    assert set(expit(t[1:-1])) == {0.0, 1.0}


def test_symmetric_about_one_half():
    t = np.concatenate([np.logspace(-10, 300, 500), [0.0]])
    np.testing.assert_allclose(to_unit_interval(-t), 1.0 - to_unit_interval(t), atol=1e-16)
    assert to_unit_interval(0.0) == 0.5


def test_strictly_increasing_at_the_documented_resolution():
    t = np.logspace(-18, np.log10(LARGEST) - 1e-6, 100_001)
    step = 8e-16 * (1.0 + t) * (1.0 + np.log1p(t) ** 2)
    assert (to_unit_interval(t + step) > to_unit_interval(t)).all()
    assert (to_unit_interval(-t) > to_unit_interval(-t - step)).all()
    grid = np.concatenate([-t[::-1], [0.0], t])
    assert (np.diff(to_unit_interval(grid)) >= 0).all()


@given(st.lists(st.floats(allow_nan=False), min_size=2, max_size=30))
def test_never_reorders(values):
    t = np.array(values)
    order = np.argsort(t, kind="stable")
    assert (np.diff(to_unit_interval(t[order])) >= 0).all()


def test_nan_is_named():
    with pytest.raises(ValueError, match=r"NaN at index \(1, 0\)"):
        to_unit_interval(np.array([[0.0], [np.nan]]))


def test_log1mexp_is_exact_at_both_ends():
    x = np.array([-1e-300, -1e-20, -0.5, -np.log(2.0), -1.0, -50.0, -800.0])
    expected = [np.log(1e-300), np.log(1e-20), np.log(-np.expm1(-0.5)), np.log(0.5)]
    expected += [np.log1p(-np.exp(-1.0)), -np.exp(-50.0), -0.0]
    np.testing.assert_allclose(logodds.log1mexp(x), expected, rtol=1e-15)
    assert logodds.log1mexp(0.0) == -np.inf


def test_log_odds_from_log_probability():
    p = np.array([1e-30, 0.2, 0.5, 0.9])
    np.testing.assert_allclose(logodds.from_log_probability(np.log(p)), np.log(p / (1 - p)))
    # p = 1 − 1e-20 is 1.0 in float64; its log is not 0, and its log-odds is 46.
    np.testing.assert_allclose(logodds.from_log_probability(-1e-20), np.log(1e20), rtol=1e-15)


def test_log_odds_of_a_mean_stays_exact_where_the_mean_rounds_to_one():
    z = np.array([[0.3, -1.0], [12.0, 15.0], [40.0, 45.0], [-40.0, -45.0]])
    log_odds = logodds.of_mean(log_ndtr(z), log_ndtr(-z))
    mean = ndtr(z[0]).mean()
    np.testing.assert_allclose(log_odds[0], np.log(mean / (1 - mean)), rtol=1e-12)
    assert ndtr(z[1:3]).mean(axis=-1).tolist() == [1.0, 1.0]
    # 1 − mean = ½(Φ(−12) + Φ(−15)) and, for z = 40, about ½ Φ(−40) = ½ e^(−800)…
    np.testing.assert_allclose(log_odds[1], -np.log(0.5 * (ndtr(-12.0) + ndtr(-15.0))), rtol=1e-12)
    np.testing.assert_allclose(log_odds[2], -(np.log(0.5) + log_ndtr(-40.0)), rtol=1e-12)
    np.testing.assert_allclose(log_odds[3], -log_odds[2], rtol=1e-12)


@pytest.mark.parametrize(
    "module", ["attacks", "attacks.logodds", "attacks.lira", "attacks.rmia", "attacks.submission"]
)
def test_docstring_examples_run(module):
    failures, tried = doctest.testmod(importlib.import_module(module))
    assert tried > 0 and failures == 0
