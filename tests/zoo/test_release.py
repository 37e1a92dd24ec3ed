"""The release of black-box scenarios: the one function the query API and the baselines use."""

import doctest

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from benchmark.zoo import release as release_module
from benchmark.zoo.release import Defence, release

LOGITS = arrays(np.float64, (5, 7), elements=st.floats(-30, 30))


def test_the_docstring_examples_hold():
    assert doctest.testmod(release_module).failed == 0


@given(LOGITS)
@settings(max_examples=60, deadline=None)
def test_no_defence_releases_the_softmax(logits):
    out = release(logits, Defence())
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(out, exp / exp.sum(axis=1, keepdims=True), rtol=1e-12)


@given(LOGITS, st.integers(1, 7))
@settings(max_examples=60, deadline=None)
def test_top_k_keeps_the_k_largest_and_withholds_the_rest(logits, k):
    full, out = release(logits, Defence()), release(logits, Defence(top_k=k))
    assert ((out > 0).sum(axis=1) <= k).all()
    kept = out > 0
    np.testing.assert_array_equal(out[kept], full[kept])
    assert (out.argmax(axis=1) == full.argmax(axis=1)).all(), "the label never changes"


@given(LOGITS, st.floats(0.05, 50))
@settings(max_examples=60, deadline=None)
def test_temperature_keeps_the_label_and_flattens_with_heat(logits, temperature):
    out = release(logits, Defence(temperature=temperature))
    rows = np.arange(len(out))
    # The label is kept, but for classes whose logits differ by less than float resolution.
    assert np.allclose(out[rows, logits.argmax(axis=1)], out.max(axis=1), rtol=1e-9)
    hotter = release(logits, Defence(temperature=temperature * 4))
    entropy = lambda p: -(p * np.log(np.maximum(p, 1e-300))).sum(axis=1)  # noqa: E731
    assert (entropy(hotter) >= entropy(out) - 1e-9).all()


def test_rounding_and_label_only():
    logits = np.array([[3.0, 0.0, -3.0]])
    assert release(logits, Defence(decimals=1)).tolist() == [[1.0, 0.0, 0.0]]
    assert release(logits, Defence(decimals=3)).tolist() == [[0.95, 0.047, 0.002]]  # 0.9503
    assert release(np.array([[0.0, 1.0], [5.0, 2.0]]), Defence(label_only=True)).tolist() == [1, 0]


@pytest.mark.parametrize(
    ("defence", "words"),
    [
        (Defence(), "none"),
        (Defence(top_k=3), "top-3"),
        (Defence(decimals=1), "rounded to 1 decimal"),
        (Defence(temperature=20), "temperature 20"),
        (Defence(top_k=1, label_only=True), "label only, top-1"),
    ],
)
def test_defences_describe_themselves(defence, words):
    assert defence.describe() == words


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"temperature": 0}, "temperature must be positive"),
        ({"top_k": 0}, "top_k must be at least 1"),
        ({"decimals": -1}, "decimals must be 0 or more"),
    ],
)
def test_bad_defences_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Defence(**kwargs)


def test_bad_logits_are_named():
    with pytest.raises(ValueError, match=r"not finite at index \(0, 1\)"):
        release(np.array([[0.0, np.nan]]), Defence())
    with pytest.raises(ValueError, match="class axis"):
        release(np.array([1.0]), Defence())
