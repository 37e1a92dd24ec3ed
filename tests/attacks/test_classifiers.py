"""The attack classifiers' log-odds against their predict_proba, and where predict_proba rounds."""

import numpy as np
import pytest
from lightgbm import LGBMClassifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from attacks import classifiers

MODELS = {
    "logistic": lambda: make_pipeline(StandardScaler(), LogisticRegression()),
    "mlp": lambda: make_pipeline(
        StandardScaler(), MLPClassifier((16, 8), max_iter=500, random_state=0)
    ),
    "lightgbm": lambda: LGBMClassifier(n_estimators=50, verbose=-1, random_state=0),
}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    y = rng.random(400) < 0.5
    x = rng.normal(size=(400, 3)) + 1.5 * y[:, None]
    return x, y


@pytest.mark.parametrize("name", list(MODELS))
def test_log_odds_are_the_logit_of_predict_proba(name, data):
    x, y = data
    model = MODELS[name]().fit(x, y)
    p = model.predict_proba(x)[:, 1]
    np.testing.assert_allclose(classifiers.log_odds(model, x), np.log(p / (1 - p)), rtol=1e-6)


@pytest.mark.parametrize("name", ["logistic", "mlp"])
def test_log_odds_stay_apart_where_predict_proba_rounds_to_one(name, data):
    x, y = data
    model = MODELS[name]().fit(x, y)
    far = np.linspace(30.0, 60.0, 50)[:, None] * np.ones(3)
    assert (model.predict_proba(far)[:, 1] == 1.0).sum() > 10
    log_odds = classifiers.log_odds(model, far)
    assert np.isfinite(log_odds).all()
    assert np.unique(log_odds).size == 50


def test_forest_vote_fractions_of_one_are_infinite_log_odds(data):
    x, y = data
    forest = RandomForestClassifier(n_estimators=20, random_state=0).fit(x, y)
    p = forest.predict_proba(x)[:, 1]
    log_odds = classifiers.log_odds(forest, x)
    assert (log_odds[p == 1.0] == np.inf).all() and (log_odds[p == 0.0] == -np.inf).all()
    inside = (p > 0) & (p < 1)
    np.testing.assert_allclose(log_odds[inside], np.log(p[inside] / (1 - p[inside])))
