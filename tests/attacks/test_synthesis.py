"""Shokri et al.'s shadow-data synthesis through an oracle, and the attack built on it."""

import math

import numpy as np
import pytest
import torch

from attacks.evaluation import evaluate
from attacks.oracle import BudgetExhausted, LocalOracle
from attacks.synthesis import shokri_synthetic, synthesize
from benchmark.zoo.datasets import load_dataset
from benchmark.zoo.engine import TrainConfig, train_group
from benchmark.zoo.models import architecture, unstack
from benchmark.zoo.release import Defence

OPTIONS = {"k_max": 128, "k_min": 4, "conf_min": 0.2, "rej_max": 10, "iter_max": 400}


def train(name, data, rows, *, epochs):
    """One model of ``name`` trained on ``data``'s ``rows`` by the zoo's engine."""
    config = TrainConfig(
        optimizer="adam", lr=1e-3, epochs=epochs, batch=64, lr_step=epochs, lr_gamma=1
    )
    params = train_group(
        name,
        data.x,
        data.y,
        torch.from_numpy(rows[None]),
        config=config,
        init_seeds=[0],
        order_seeds=[1],
    ).params
    module = architecture(name)()
    module.load_state_dict(unstack(params)[0])
    return module.eval()


@pytest.fixture(scope="module")
def purchase():
    """A purchase MLP trained 40 epochs on 500 of 2,000 rows, and its training rows."""
    data = load_dataset("purchase-synthetic", size=2000, seed=0)
    rows = np.sort(np.random.default_rng(0).permutation(len(data))[:500])
    return data, rows, train("mlp-purchase", data, rows, epochs=40)


def probabilities(module, records):
    with torch.no_grad():
        return torch.softmax(module(torch.from_numpy(records)), dim=-1).numpy()


class Recording(LocalOracle):
    """A local oracle that remembers how many rows each call asked."""

    def __init__(self, module, **options):
        super().__init__(module, **options)
        self.calls = []

    def query(self, inputs):
        self.calls.append(len(inputs))
        return super().query(inputs)


def test_synthesised_records_are_classified_as_their_class_with_confidence(purchase):
    data, _, model = purchase
    classes = np.arange(100)
    result = synthesize(LocalOracle(model), data.feature_space(), classes, seed=0, **OPTIONS)
    assert result.failed <= 5
    assert result.records.shape == (100 - result.failed, 600)
    assert data.feature_space().check(result.records) is None
    p = probabilities(model, result.records)
    assert (p.argmax(axis=1) == result.classes).all()
    assert (p[np.arange(len(p)), result.classes] >= OPTIONS["conf_min"]).all()


def test_queries_are_counted_exactly_and_asked_in_one_call_per_iteration(purchase):
    data, _, model = purchase
    oracle = Recording(model)
    result = synthesize(oracle, data.feature_space(), np.repeat([3, 7], 20), seed=1, **OPTIONS)
    assert result.spent == oracle.spent == sum(oracle.calls)
    assert result.spent == result.queries.sum() + result.failed * OPTIONS["iter_max"]
    iterations = OPTIONS["iter_max"] if result.failed else result.queries.max()
    assert len(oracle.calls) == iterations
    assert oracle.calls[0] == 40 and oracle.calls == sorted(oracle.calls, reverse=True)
    assert result.queries_per_record == result.spent / len(result.classes)


def test_chains_that_give_up_are_counted_as_failed(purchase):
    data, _, model = purchase
    options = {**OPTIONS, "conf_min": 0.9999, "iter_max": 3}
    oracle = LocalOracle(model)
    result = synthesize(oracle, data.feature_space(), np.arange(50), seed=0, **options)
    assert result.failed == 50 - len(result.classes) > 0
    assert oracle.spent == result.spent == result.queries.sum() + 3 * result.failed
    empty = synthesize(
        LocalOracle(model), data.feature_space(), np.zeros(0, int), seed=0, **OPTIONS
    )
    assert empty.records.shape == (0, 600) and empty.spent == 0
    assert empty.queries_per_record == math.inf


@pytest.mark.parametrize("budget", [30, 90])
def test_a_small_budget_raises_with_only_answered_queries_spent(purchase, budget):
    data, _, model = purchase
    oracle = LocalOracle(model, budget=budget)
    with pytest.raises(BudgetExhausted):
        synthesize(oracle, data.feature_space(), np.arange(60), seed=0, **OPTIONS)
    # The first call asks 60 rows; the next asks the chains still live, more than 30 left.
    assert oracle.spent == (0 if budget < 60 else 60)


def test_label_only_oracles_are_refused(purchase):
    data, _, model = purchase
    oracle = LocalOracle(model, defence=Defence(label_only=True))
    with pytest.raises(ValueError, match="label-only oracle gives no confidence"):
        synthesize(oracle, data.feature_space(), [0], seed=0, **OPTIONS)
    assert oracle.spent == 0
    with pytest.raises(ValueError, match="label-only oracle"):
        shokri_synthetic(
            oracle,
            data.feature_space(),
            data.x[:2].numpy(),
            data.y[:2].numpy(),
            architecture="mlp-purchase",
        )


def literal_synthesize(oracle, c, *, k_max, k_min, conf_min, rej_max, iter_max, seed):
    """Algorithm 1 of Shokri et al. for one binary record, line by line, drawing from the
    generator in the order the vectorised chains do (one rand() per query, every query)."""
    rng = np.random.default_rng(seed)
    x = (rng.random((1, 600), dtype=np.float32) < 0.5).astype(np.float32)[0]
    best, best_c, j, k = x, 0.0, 0, k_max
    for iteration in range(1, iter_max + 1):
        y = oracle.query(x[None])[0]
        draw = rng.random(1)[0]
        if y[c] >= best_c:
            others = np.delete(y, c)
            if y[c] > conf_min and y[c] > others.max() and draw < y[c]:
                return x, iteration
            best, best_c, j = x, y[c], 0
        else:
            j += 1
            if j > rej_max:
                k, j = max(k_min, math.ceil(k / 2)), 0
        features = np.argsort(rng.random((1, 600)), axis=1)[0, :k]
        x = best.copy()
        x[features] = 1.0 - x[features]
    return None, iter_max


@pytest.mark.parametrize("c", [5, 42])
def test_one_chain_follows_the_literal_algorithm(purchase, c):
    data, _, model = purchase
    options = {**OPTIONS, "k_max": 64, "rej_max": 3, "conf_min": 0.6}
    record, queries = literal_synthesize(LocalOracle(model), c, seed=c, **options)
    result = synthesize(LocalOracle(model), data.feature_space(), [c], seed=c, **options)
    assert result.spent == queries
    if record is None:
        assert result.failed == 1 and len(result.records) == 0
    else:
        np.testing.assert_array_equal(result.records, record[None])
        assert list(result.queries) == [queries]


def test_top_k_and_rounded_releases_synthesise_fewer_records_all_of_their_class(purchase):
    # While c is outside the top 3 its released confidence is 0, every candidate ties and is
    # accepted, and the chain walks at random: about half the chains give up.
    data, _, model = purchase
    oracle = LocalOracle(model, defence=Defence(top_k=3, decimals=2))
    result = synthesize(oracle, data.feature_space(), np.arange(0, 100, 5).repeat(2), **OPTIONS)
    assert 10 <= len(result.classes) == 40 - result.failed
    assert oracle.spent == result.spent
    p = probabilities(model, result.records)
    assert (p.argmax(axis=1) == result.classes).all()
    assert (p[np.arange(len(p)), result.classes] >= 0.2 - 0.005).all()  # released 0.21 or more


def test_continuous_records_stay_in_the_feature_range():
    data = load_dataset("digits")
    model = train("cnn-digits", data, np.arange(1000), epochs=5)
    space = data.feature_space()
    options = {**OPTIONS, "k_max": 16, "k_min": 1}
    result = synthesize(LocalOracle(model), space, np.arange(10).repeat(3), seed=0, **options)
    assert result.failed <= 3
    assert result.records.shape[1:] == (1, 8, 8)
    assert space.check(result.records) is None
    assert (probabilities(model, result.records).argmax(axis=1) == result.classes).all()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"k_max": 601}, r"k_max <= 600 features, got k_min=4, k_max=601"),
        ({"k_min": 0}, "k_min=0"),
        ({"k_min": 200}, "k_min=200, k_max=128"),
        ({"conf_min": 1.0}, r"conf_min must be in \[0, 1\), got 1.0"),
        ({"rej_max": -1}, "rej_max must be 0 or more, got -1"),
        ({"iter_max": 0}, "iter_max must be at least 1, got 0"),
    ],
)
def test_bad_options_are_named(purchase, options, message):
    data, _, model = purchase
    with pytest.raises(ValueError, match=message):
        synthesize(LocalOracle(model), data.feature_space(), [0], seed=0, **{**OPTIONS, **options})


@pytest.mark.parametrize(
    ("classes", "message"),
    [
        ([0, 100], "target_classes has 100 at index 1, outside 0..99"),
        ([-1], "-1 at index 0, below 0"),
        ([0.5], "integers"),
    ],
)
def test_bad_classes_are_named(purchase, classes, message):
    data, _, model = purchase
    with pytest.raises(ValueError, match=message):
        synthesize(LocalOracle(model), data.feature_space(), np.array(classes), seed=0, **OPTIONS)


def test_shokri_synthetic_scores_the_challenge_points_end_to_end(purchase):
    data, rows, model = purchase
    rng = np.random.default_rng(2)
    outside = np.setdiff1d(np.arange(len(data)), rows)
    challenge = np.concatenate(
        [rng.choice(rows, 100, replace=False), rng.choice(outside, 100, replace=False)]
    )
    oracle = LocalOracle(model)
    result = shokri_synthetic(
        oracle,
        data.feature_space(),
        data.x[challenge].numpy(),
        data.y[challenge].numpy(),
        architecture="mlp-purchase",
        shadows=4,
        per_class=8,
        epochs=30,
        classifier="logistic",
        seed=0,
    )
    assert result.scores.shape == (200,)
    assert ((result.scores > 0.0) & (result.scores < 1.0)).all()
    assert oracle.spent == result.synthesis.spent + 200
    assert result.synthesis.classes.size > 700  # of 800 chains
    # Shadows trained as long as the target overfit like it: members stand out.
    assert evaluate(np.arange(200) < 100, result.scores)["AUC"] > 0.8
