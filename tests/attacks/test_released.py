"""Released outputs as attacks read them: one conversion for every output-based attack."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from attacks.released import FLOOR, as_logits, from_release
from benchmark.zoo.release import Defence, release

DEFENCES = [
    Defence(),
    Defence(top_k=1),
    Defence(top_k=3),
    Defence(decimals=1),
    Defence(decimals=3),
    Defence(temperature=5.0),
    Defence(temperature=20.0, top_k=2, decimals=2),
    Defence(label_only=True),
]

logit_batches = arrays(
    np.float64, st.tuples(st.integers(1, 20), st.integers(2, 12)),
    elements=st.floats(-30, 30, allow_nan=False),
)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(logits=logit_batches, which=st.integers(0, len(DEFENCES) - 1))
def test_every_release_reads_as_a_finite_distribution(logits, which):
    defence = DEFENCES[which]
    log_p = as_logits(logits, defence)
    assert log_p.shape == logits.shape and np.all(np.isfinite(log_p))
    if not defence.none:
        np.testing.assert_allclose(np.exp(log_p).sum(axis=-1), 1.0, rtol=1e-9)


@settings(max_examples=60, deadline=None)
@given(logits=logit_batches, which=st.integers(0, len(DEFENCES) - 1))
def test_the_released_label_stays_the_most_likely_class(logits, which):
    defence = DEFENCES[which]
    released = release(logits, defence)
    top = released if defence.label_only else released.max(axis=-1)
    log_p = as_logits(logits, defence)
    if defence.label_only:
        assert np.array_equal(log_p.argmax(axis=-1), top)
    else:  # the class released as most likely is (one of) the most likely read
        p = np.exp(log_p)
        chosen = p[np.arange(len(top)), released.argmax(axis=-1)]
        np.testing.assert_allclose(chosen, p.max(axis=-1), rtol=1e-12)


def test_withheld_classes_share_the_unreleased_mass():
    p = np.array([[0.7, 0.2, 0.06, 0.04]])
    out = np.exp(as_logits(np.log(p), Defence(top_k=2)))
    np.testing.assert_allclose(out, [[0.7, 0.2, 0.05, 0.05]])


def test_rounded_zeros_stay_below_half_a_rounding_unit():
    p = np.array([[0.96, 0.0001, 0.0399]])
    released = release(np.log(p), Defence(decimals=1))
    assert released.tolist() == [[1.0, 0.0, 0.0]]  # sums to 1: nothing left to share
    out = np.exp(as_logits(np.log(p), Defence(decimals=1)))
    assert out[0, 1] == out[0, 2] and out[0, 1] <= FLOOR * 1.001
    released = np.array([[0.9, 0.0, 0.0]])  # 0.1 unreleased, but a zero means p < 0.005
    out = np.exp(from_release(released, Defence(decimals=2), classes=3))
    np.testing.assert_allclose(out, [[0.9 / 0.91, 0.005 / 0.91, 0.005 / 0.91]], rtol=1e-12)


def test_rounding_ties_points_and_never_splits_them():
    p = np.array([[0.601, 0.399], [0.604, 0.396], [0.7, 0.3]])
    log_p = as_logits(np.log(p), Defence(decimals=2))
    assert np.array_equal(log_p[0], log_p[1]) and not np.array_equal(log_p[0], log_p[2])


def test_label_only_is_a_smoothed_one_hot_vector():
    logits = np.array([[0.1, 2.0, -1.0], [3.0, 0.0, 0.0]])
    p = np.exp(as_logits(logits, Defence(label_only=True)))
    assert p.argmax(axis=-1).tolist() == [1, 0]
    np.testing.assert_allclose(p.max(axis=-1), 1 - 2 * FLOOR)


def test_no_defence_leaves_the_logits_as_they_are():
    logits = np.array([[5.0, -2.0, 1.0]])
    assert np.array_equal(as_logits(logits, Defence()), logits)


@pytest.mark.parametrize(
    ("released", "defence", "message"),
    [
        (np.array([3]), Defence(label_only=True), r"labels must lie in 0\.\.2"),
        (np.zeros((2, 4)), Defence(top_k=1), r"must have 3 classes, got shape \(2, 4\)"),
    ],
)
def test_mismatched_releases_are_refused(released, defence, message):
    with pytest.raises(ValueError, match=message):
        from_release(released, defence, classes=3)


def test_observations_of_a_black_box_scenario_are_what_its_release_shows(tmp_path):
    from attacks import outputs
    from attacks.bundle import model_dirs, observe, open_track
    from benchmark.zoo import challenge_points
    from benchmark.zoo.__main__ import main
    from tests.zoo.test_black_box import BLACK_BOX

    (tmp_path / "tiny.toml").write_text(BLACK_BOX)
    assert main(["build", str(tmp_path / "tiny.toml"), "--out", str(tmp_path / "out")]) == 0
    scenario = tmp_path / "out" / "tiny" / "tiny_inf"
    obs = observe(scenario, population=50)
    assert obs.shadow_grad_norms is None and obs.target_grad_norms is None  # no white box
    data = open_track(scenario.parent).dataset
    targets = [d for phase in ("dev", "final") for _, d in model_dirs(scenario, phase)]
    for row, target in enumerate(targets):
        x = data.x[challenge_points(target, data).indices]
        raw = outputs.logits([target], "mlp-purchase", x, queries=1)[0]
        expected = as_logits(raw, Defence(top_k=3))
        np.testing.assert_allclose(obs.target_logits[row], expected, rtol=1e-6)
        assert not np.allclose(obs.target_logits[row], raw)
