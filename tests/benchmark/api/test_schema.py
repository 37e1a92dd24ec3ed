"""The schema says what the server refuses: empty lists and strings, and every error status."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client):
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def _request_schema(schema, path):
    body = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    name = body["$ref"].rsplit("/", 1)[1]
    return schema["components"]["schemas"][name]


def test_the_scoring_call_says_labels_and_scores_may_not_be_empty(schema):
    fields = _request_schema(schema, "/api/v1/score/")["properties"]
    assert fields["labels"]["minItems"] == 1 and fields["scores"]["minItems"] == 1
    assert fields["labels"]["items"] == {"type": "integer", "minimum": 0, "maximum": 1}


def test_the_token_call_says_username_and_password_may_not_be_empty(schema):
    fields = _request_schema(schema, "/api/v1/auth/token/")["properties"]
    assert fields["username"]["minLength"] == 1 and fields["password"]["minLength"] == 1


def test_error_statuses_are_documented_with_the_error_body(schema):
    operations = schema["paths"]
    assert {"400", "404", "429"} <= set(
        operations["/api/v1/tracks/{slug}/leaderboard/"]["get"]["responses"]
    )
    assert {"400", "403", "409"} <= set(
        operations["/api/v1/tracks/{slug}/reveal/"]["post"]["responses"]
    )
    assert {"401", "403", "413", "415"} <= set(operations["/api/v1/tracks/"]["post"]["responses"])
    error = operations["/api/v1/score/"]["post"]["responses"]["400"]["content"]["application/json"]
    assert error["schema"]["$ref"].endswith("/Error")
