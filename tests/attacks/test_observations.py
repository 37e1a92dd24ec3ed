"""Validation of Observations and the held-out split attacks tune on."""

from dataclasses import replace

import numpy as np
import pytest

from tests.attacks.synthetic import make_observations


@pytest.fixture(scope="module")
def obs():
    return make_observations(n_shadows=5, n_targets=2, n_points=20, per_target=8)


def test_holdout_turns_shadows_into_targets_on_every_point(obs):
    held = obs.holdout(np.array([3, 1]))
    assert held.n_shadows == 3
    assert held.target_ids == (("shadow", 3), ("shadow", 1))
    np.testing.assert_array_equal(held.target_points[1], np.arange(20))
    np.testing.assert_array_equal(held.target_in, obs.shadow_in[[3, 1]])
    np.testing.assert_array_equal(held.target_logits[0], obs.shadow_logits[3])
    np.testing.assert_array_equal(held.shadow_logits, obs.shadow_logits[[0, 2, 4]])
    np.testing.assert_array_equal(held.target_grad_norms, obs.shadow_grad_norms[[3, 1]])


@pytest.mark.parametrize(
    ("held_out", "message"),
    [
        ([5], "held_out\\[0\\] = 5 is not a shadow index"),
        ([1, 1], "repeated"),
        ([0, 1, 2, 3, 4], "no shadow"),
        ([], "non-empty"),
    ],
)
def test_holdout_rejects_bad_indices(obs, held_out, message):
    with pytest.raises(ValueError, match=message):
        obs.holdout(np.array(held_out, dtype=int))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda o: {"labels": o.labels[:-1]}, r"labels must have shape \(20,\)"),
        (lambda o: {"shadow_in": o.shadow_in.astype(int)}, "shadow_in must be boolean"),
        (
            lambda o: {"target_points": o.target_points + 20},
            r"target_points has \d+ at flat index 0, outside 0..19",
        ),
        (lambda o: {"labels": np.full(20, 9)}, "labels has 9 at flat index 0, outside 0..4"),
        (lambda o: {"target_ids": o.target_ids[:1]}, "1 entries for 2 targets"),
        (lambda o: {"shadow_logits": o.shadow_logits[..., 0]}, r"\(S, P, A, C\)"),
        (lambda o: {"target_grad_norms": o.target_grad_norms[:, :3]}, "target_grad_norms"),
        (lambda o: {"labels": o.labels.astype(float)}, "labels must be integers"),
        (
            lambda o: {"target_logits": np.where(o.target_logits > 5, np.inf, o.target_logits)},
            "target_logits is not finite at index",
        ),
    ],
)
def test_invalid_observations_are_named(obs, change, message):
    with pytest.raises(ValueError, match=message):
        replace(obs, **change(obs))
