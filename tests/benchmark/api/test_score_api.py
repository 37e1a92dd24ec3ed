"""POST /api/v1/score/: stateless scoring, through Django's test client and a real HTTP server."""

import json
import urllib.error
import urllib.request

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score, roc_curve

MICO_KEYS = {
    "TPR_FPR_10", "TPR_FPR_100", "TPR_FPR_500", "TPR_FPR_1000", "TPR_FPR_1500", "TPR_FPR_2000",
    "AUC", "MIA", "accuracy",
}  # fmt: skip


def _example(n: int = 400, seed: int = 3) -> tuple[list[int], list[float]]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    scores = np.clip(rng.normal(0.45 + 0.1 * labels, 0.15), 0, 1).round(3)  # ties included
    return labels.tolist(), scores.tolist()


def _expected(labels: list[int], scores: list[float]) -> dict[str, float]:
    fpr, tpr, _ = roc_curve(labels, scores)
    out = {
        f"TPR_FPR_{k}": float(tpr[fpr < k / 10000].max()) for k in (10, 100, 500, 1000, 1500, 2000)
    }
    out["AUC"] = float(roc_auc_score(labels, scores))
    out["MIA"] = float(np.max(tpr - fpr))
    out["accuracy"] = float(np.max(1 - (fpr + (1 - tpr)) / 2))
    return out


def test_score_returns_mico_metrics_and_a_display_roc(client):
    labels, scores = _example()
    response = client.post(
        "/api/v1/score/", {"labels": labels, "scores": scores}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == MICO_KEYS | {"roc"}
    for key, value in _expected(labels, scores).items():
        assert body[key] == pytest.approx(value, abs=1e-12), key
    roc = body["roc"]
    assert len(roc["fpr"]) == len(roc["tpr"]) <= 520
    assert roc["fpr"][0] == 0 and roc["fpr"][-1] == 1 and roc["tpr"][-1] == 1


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        ({"labels": [0, 1, 1], "scores": [0.1, 0.2]}, "length"),
        ({"labels": [0, 2], "scores": [0.1, 0.2]}, "label"),
        ({"labels": [1, 1], "scores": [0.1, 0.2]}, "class"),
        ({"labels": [0, 1], "scores": [0.1, 1.5]}, "[0, 1]"),
        ({"labels": [0, 1], "scores": ["x", 0.2]}, "scores.0: A JSON number is required."),
        ({"labels": [], "scores": []}, "labels: Ensure this field has at least 1 elements."),
        ({"scores": [0.1]}, "labels: This field is required."),
    ],
)
def test_bad_input_is_a_400_naming_the_problem(client, payload, needle):
    response = client.post("/api/v1/score/", payload, content_type="application/json")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"message", "extra"}
    assert needle.lower() in json.dumps(body).lower()


def test_oversized_request_is_refused(client, settings):
    settings.ARENA_SCORE_MAX_BYTES = 1000
    labels, scores = _example(n=500)
    response = client.post(
        "/api/v1/score/", {"labels": labels, "scores": scores}, content_type="application/json"
    )
    assert response.status_code == 413
    assert "limit" in response.json()["message"]


def test_schema_documents_the_score_call(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    assert "/api/v1/score/" in schema["paths"]
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()


@pytest.mark.integration
def test_score_over_real_http(http_server):
    labels, scores = _example(n=300, seed=9)
    request = urllib.request.Request(
        f"{http_server}/api/v1/score/",
        data=json.dumps({"labels": labels, "scores": scores}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.loads(response.read())
    assert body["AUC"] == pytest.approx(_expected(labels, scores)["AUC"])

    bad = urllib.request.Request(
        f"{http_server}/api/v1/score/",
        data=b'{"labels": [0, 1], "scores": [0.5, NaN]}',
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(bad, timeout=30)
    assert excinfo.value.code == 400
    assert "message" in json.loads(excinfo.value.read())
