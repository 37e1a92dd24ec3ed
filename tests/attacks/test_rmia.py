"""RMIA against a literal per-pair implementation of the formulas, and on known answers."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from attacks import rmia
from attacks.evaluation import tpr_at_fpr
from attacks.logodds import to_unit_interval


def literal_rmia(target_p, ref_p, ref_in, target_pz, ref_pz, *, gamma, a):
    """LR(x, z) for every pair, counted one by one, plus the tie-break of x's own ratio."""
    n_refs, n_points = ref_p.shape
    if a is None:
        p_z = [np.mean(ref_pz[:, z]) for z in range(len(target_pz))]
    else:
        p_z = [0.5 * ((1 + a) * np.mean(ref_pz[:, z]) + (1 - a)) for z in range(len(target_pz))]
    scores = []
    for x in range(n_points):
        if a is None:
            p_x = np.mean(ref_p[:, x])
        else:
            outs = [ref_p[r, x] for r in range(n_refs) if not ref_in[r, x]]
            p_x = 0.5 * ((1 + a) * np.mean(outs) + (1 - a))
        count = 0
        for z in range(len(target_pz)):
            ratio = (target_p[x] / p_x) / (target_pz[z] / p_z[z])
            if ratio >= gamma:
                count += 1
        tie_break = to_unit_interval(np.log(target_p[x] / p_x))
        scores.append((count + tie_break) / (len(target_pz) + 1))
    return np.array(scores)


def references(seed, n_refs=6, n_points=25, n_population=40):
    rng = np.random.default_rng(seed)
    ref_in = rng.random((n_refs, n_points)) < 0.5
    ref_in[0] = False
    difficulty = rng.random(n_points)
    ref_p = np.clip(difficulty + 0.3 * ref_in + 0.1 * rng.random((n_refs, n_points)), 0.01, 1)
    pz_difficulty = rng.random(n_population)
    ref_pz = np.clip(pz_difficulty + 0.1 * rng.random((n_refs, n_population)), 0.01, 1)
    target_p = np.clip(difficulty + 0.3 * (rng.random(n_points) < 0.5), 0.01, 1)
    target_pz = np.clip(pz_difficulty + 0.1 * rng.random(n_population), 0.01, 1)
    return target_p, ref_p, ref_in, target_pz, ref_pz


@pytest.mark.parametrize("gamma", [1.0, 2.0, 0.5])
@pytest.mark.parametrize("a", [None, 0.0, 0.4, 1.0])
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_literal_implementation(seed, a, gamma):
    arrays = references(seed)
    fast = rmia.scores(*arrays, gamma=gamma, a=a)
    np.testing.assert_allclose(fast, literal_rmia(*arrays, gamma=gamma, a=a))


def test_ties_with_the_threshold_count_as_at_least_gamma():
    # ratio_x = 0.5 / 0.5 = 1 equals ratio_z of the middle population point exactly.
    ref = np.full((2, 1), 0.5)
    scores = rmia.scores(
        np.array([0.5]), ref, ref > 1, np.array([0.25, 0.5, 0.75]), np.full((2, 3), 0.5)
    )
    assert scores[0] == pytest.approx((2 + 0.5) / 4)  # 2 of 3, and log ratio 0 breaks ties at ½


def test_members_outscore_non_members():
    rng = np.random.default_rng(3)
    ref_p = rng.uniform(0.2, 0.6, (8, 100))
    members = np.arange(100) < 50
    target_p = np.where(members, 0.95, ref_p.mean(axis=0))
    scores = rmia.scores(
        target_p,
        ref_p,
        np.zeros_like(ref_p, bool),
        rng.uniform(0.2, 0.6, 200),
        rng.uniform(0.2, 0.6, (8, 200)),
        a=0.5,
    )
    assert scores[members].min() > scores[~members].max()


@given(
    values=hnp.arrays(np.float64, (3, 7), elements=st.floats(0, 4).map(lambda v: round(v, 1))),
    thresholds=hnp.arrays(np.float64, (3, 5), elements=st.floats(0, 4).map(lambda v: round(v, 1))),
)
def test_count_at_most_counts_every_row(values, thresholds):
    expected = (values[:, None, :] <= thresholds[:, :, None]).sum(axis=-1)
    np.testing.assert_array_equal(rmia.count_at_most(values, thresholds), expected)


def test_zero_reference_probability_is_floored():
    scores = rmia.scores(
        np.array([0.5, 0.0]),
        np.zeros((2, 2)),
        np.zeros((2, 2), bool),
        np.array([0.5]),
        np.full((2, 1), 0.5),
    )
    np.testing.assert_array_equal(np.floor(2 * scores), [1, 0])  # counts 1 and 0 of 1
    assert (scores > 0).all() and (scores < 1).all()


def test_tie_break_ranks_a_block_of_full_counts_by_the_ratio_of_x():
    # 2,000 non-members and 2,000 members, p(x) = ½ everywhere, population ratios in [0.8, 1.2]:
    # a quarter of the non-members and most members beat every population point, so the plain
    # count ties them all at Z; only members have ratios above 1.4.
    rng = np.random.default_rng(11)
    members = np.arange(4000) >= 2000
    target_p = np.where(members, rng.uniform(0.5, 1.0, 4000), rng.uniform(0.3, 0.7, 4000))
    ref_p = np.full((4, 4000), 0.5)
    target_pz = rng.uniform(0.4, 0.6, 50)
    ref_pz = np.full((4, 50), 0.5)
    count = rmia.count_at_most(target_pz / 0.5, target_p / 0.5)
    assert (count[~members] == 50).sum() > 400
    assert tpr_at_fpr(members, count / 50, 0.001) == 0.0
    scores = rmia.scores(target_p, ref_p, np.zeros((4, 4000), bool), target_pz, ref_pz)
    assert tpr_at_fpr(members, scores, 0.001) > 0.5
    np.testing.assert_array_equal(np.floor(51 * scores), count)


@given(
    ratio_x=hnp.arrays(np.float64, 40, elements=st.sampled_from([0.0, 0.5, 1.0, 1.0 + 1e-9, 3.0])),
    ratio_z=hnp.arrays(np.float64, 6, elements=st.floats(0, 4)),
    gamma=st.sampled_from([0.5, 1.0, 2.0]),
)
def test_scores_order_points_by_count_then_by_their_own_ratio(ratio_x, ratio_z, gamma):
    scores = rmia.ratios_to_scores(ratio_x, ratio_z, gamma=gamma)
    count = rmia.count_at_most(ratio_z, ratio_x / gamma)
    assert ((scores > 0) & (scores < 1)).all()
    key = np.lexsort((ratio_x, count))  # by count, then by ratio
    assert (np.diff(scores[key]) >= 0).all()
    differs = (np.diff(count[key]) > 0) | (np.diff(ratio_x[key]) > 0)
    assert (np.diff(scores[key])[differs] > 0).all()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"target_p": np.full(25, 1.5)}, "target_p must hold probabilities"),
        ({"ref_pz": np.full((6, 40), np.nan)}, r"ref_pz .* at \(0, 0\)"),
        ({"ref_p": np.full((6, 24), 0.5)}, "ref_p and ref_in"),
        ({"ref_in": np.zeros((6, 25))}, "boolean"),
        ({"ref_pz": np.full((5, 40), 0.5)}, "ref_pz must have shape"),
        ({"target_pz": np.zeros(0), "ref_pz": np.zeros((6, 0))}, "population is empty"),
        ({"gamma": 0.0}, "gamma"),
        ({"a": 1.5}, "a must be"),
        ({"ref_in": np.ones((6, 25), bool), "a": 0.5}, "point 0 has none"),
    ],
)
def test_invalid_input_is_named(change, message):
    target_p, ref_p, ref_in, target_pz, ref_pz = references(0)
    arguments = {
        "target_p": target_p,
        "ref_p": ref_p,
        "ref_in": ref_in,
        "target_pz": target_pz,
        "ref_pz": ref_pz,
        **change,
    }
    options = {key: arguments.pop(key) for key in ("gamma", "a") if key in arguments}
    with pytest.raises(ValueError, match=message):
        rmia.scores(**arguments, **options)
