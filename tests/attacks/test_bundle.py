"""Observations of a tiny bundle agree with each model run on its own, and are cached."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from attacks import bundle as bundle_module
from attacks.bundle import model_dirs, observe, open_track
from attacks.queries import augment
from benchmark.zoo.datasets import load_dataset
from benchmark.zoo.models import architecture
from benchmark.zoo.splits import challenge_points
from tests.attacks.tiny_bundle import write_tiny_bundle


@pytest.fixture(scope="module")
def track_dir(tmp_path_factory):
    return write_tiny_bundle(tmp_path_factory.mktemp("bundle"))


def load_model(directory):
    model = architecture("cnn-digits")()
    model.load_state_dict(torch.load(directory / "model.pt", weights_only=True))
    return model


def test_every_target_and_shadow_is_observed_on_the_right_points(track_dir):
    obs = observe(track_dir / "tiny_inf", population=50, queries=2)
    data = load_dataset("digits")
    assert obs.target_ids == (("dev", 4), ("dev", 5), ("final", 6))
    assert obs.shadow_logits.shape[0] == 4
    assert obs.shadow_logits.shape[2] == 2  # images: original and flip
    dev5 = track_dir / "tiny_inf" / "dev" / "model_5"
    points = challenge_points(dev5, data)
    rows = np.unique(
        np.concatenate(
            [
                challenge_points(d, data).indices
                for _, d in model_dirs(track_dir / "tiny_inf", "dev")
                + model_dirs(track_dir / "tiny_inf", "final")
            ]
        )
    )
    np.testing.assert_array_equal(rows[obs.target_points[1]], points.indices.numpy())
    np.testing.assert_array_equal(obs.target_labels[1], points.y.numpy())
    with torch.no_grad():
        queries = augment(points.x, 2)  # (A, K, 1, 8, 8)
        direct = load_model(dev5)(queries.reshape(-1, 1, 8, 8)).reshape(2, -1, 10).numpy()
    np.testing.assert_allclose(obs.target_logits[1], direct.transpose(1, 0, 2), atol=1e-5)
    assert obs.target_in is None  # dev models reveal no membership


def test_shadow_membership_is_rebuilt_from_seeds(track_dir):
    obs = observe(track_dir / "tiny_inf", targets="train", population=50, gradients=False)
    assert obs.target_ids == (("train", 2), ("train", 3))
    solution = (track_dir / "tiny_inf/train/model_3/solution.csv").read_text().strip()
    assert obs.target_in is not None
    np.testing.assert_array_equal(obs.target_in[1], [v == "1" for v in solution.split(",")])
    # A shadow is IN on exactly the challenge points it trained on: its members among them.
    track = open_track(track_dir)
    train0 = track_dir / "tiny_inf/train/model_0"
    trained = bundle_module._training_set(track, train0)
    data = load_dataset("digits")
    rows = np.unique(
        np.concatenate(
            [
                challenge_points(track_dir / f"tiny_inf/train/model_{i}", data).indices
                for i in (2, 3)
            ]
        )
    )
    np.testing.assert_array_equal(obs.shadow_in[0], np.isin(rows, trained))
    assert len(trained) == 300


def test_gradient_norms_match_autograd(track_dir):
    obs = observe(track_dir / "tiny_inf", population=50)
    data = load_dataset("digits")
    final = track_dir / "tiny_inf/final/model_6"
    points = challenge_points(final, data)
    model = load_model(final)
    assert obs.target_grad_norms is not None
    for k in (0, 7):
        model.zero_grad()
        F.cross_entropy(model(points.x[k : k + 1]), points.y[k : k + 1]).backward()
        norm = torch.sqrt(sum(p.grad.pow(2).sum() for p in model.parameters()))
        assert obs.target_grad_norms[2, k] == pytest.approx(float(norm), rel=1e-4)


def test_cache_is_reused_and_invalidated_when_a_model_changes(track_dir, tmp_path, monkeypatch):
    first = observe(track_dir / "tiny_inf", population=50, gradients=False, cache_dir=tmp_path)
    files = list(tmp_path.glob("*.npz"))
    assert len(files) == 1

    def fail(*args, **kwargs):
        raise AssertionError("recomputed despite the cache")

    monkeypatch.setattr(bundle_module, "_compute", fail)
    again = observe(track_dir / "tiny_inf", population=50, gradients=False, cache_dir=tmp_path)
    np.testing.assert_array_equal(again.shadow_logits, first.shadow_logits)
    assert again.target_ids == first.target_ids
    monkeypatch.undo()

    model_file = track_dir / "tiny_inf/dev/model_4/model.pt"
    state = torch.load(model_file, weights_only=True)
    state["cnn.7.bias"] += 1.0
    torch.save(state, model_file)
    changed = observe(track_dir / "tiny_inf", population=50, gradients=False, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 2
    np.testing.assert_allclose(changed.target_logits[0], first.target_logits[0] + 1.0, atol=1e-5)


def test_tabular_inputs_refuse_augmented_queries():
    with pytest.raises(ValueError, match="need images"):
        augment(torch.zeros(5, 600), 2)


def test_the_track_folder_holds_scenario_folders_only(track_dir):
    assert [path.name for path in track_dir.iterdir()] == ["tiny_inf"]
    track = open_track(track_dir)
    assert track.slug == "tiny" and track.architecture == "cnn-digits"
    assert len(track.population) == 150


def test_an_older_bundle_with_the_manifest_inside_reads_the_same(track_dir, tmp_path):
    old = write_tiny_bundle(tmp_path, beside=False)
    assert (old / "dataset.json").is_file() and not (tmp_path / "tiny.dataset.json").exists()
    entry = json.loads((old / "dataset.json").read_text())
    entry["dataset"] = {"name": "digits", "size": 0, "seed": 0, "path_hint": ""}  # old zoo's
    (old / "dataset.json").write_text(json.dumps(entry))
    np.testing.assert_array_equal(open_track(old).population, open_track(track_dir).population)
    before = observe(track_dir / "tiny_inf", population=50, gradients=False, cache_dir=tmp_path)
    after = observe(old / "tiny_inf", population=50, gradients=False, cache_dir=tmp_path)
    assert after.target_ids == before.target_ids
    np.testing.assert_array_equal(after.target_points, before.target_points)
    np.testing.assert_array_equal(after.shadow_in, before.shadow_in)
    # (the cache test above shifted a dev model of track_dir: compare the train models)
    np.testing.assert_allclose(after.shadow_logits, before.shadow_logits)


def test_a_folder_without_a_manifest_is_not_a_track(tmp_path):
    (tmp_path / "tiny").mkdir()
    with pytest.raises(ValueError, match="not a track bundle folder"):
        open_track(tmp_path / "tiny")


def test_observations_on_a_device_equal_the_cpu_ones(track_dir, device):
    """Models run where the worker computes; the observations agree to float rounding."""
    scenario = track_dir / "tiny_inf"
    here = observe(scenario, device=device)
    cpu = observe(scenario, device="cpu")
    np.testing.assert_allclose(here.target_logits, cpu.target_logits, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(here.shadow_logits, cpu.shadow_logits, rtol=1e-4, atol=1e-5)
    assert here.target_grad_norms is not None and cpu.target_grad_norms is not None
    np.testing.assert_allclose(here.target_grad_norms, cpu.target_grad_norms, rtol=1e-3)


def test_without_a_reserved_population_reference_points_come_from_the_dataset(tmp_path):
    """MICO's tracks reserve no population: RMIA and the rest still run, on dataset rows
    outside every challenge set, with the shadows' membership of them known."""
    import attacks

    track = write_tiny_bundle(tmp_path, train=6, population=0)
    obs = observe(track / "tiny_inf", population=300)
    assert obs.shadow_population_in is not None
    assert obs.shadow_population_in.shape == (6, 300)
    assert obs.shadow_population_in.any(), "some reference points are shadows' members"
    assert (~obs.shadow_population_in).any(axis=0).all(), "and each is OUT for some shadow"
    for name in attacks.REGISTRY:
        if attacks.get(name).needs_robustness and obs.target_robustness is None:
            continue
        scores = attacks.run(name, obs)
        assert all(np.all((s > 0) & (s < 1)) for s in scores.values()), name
