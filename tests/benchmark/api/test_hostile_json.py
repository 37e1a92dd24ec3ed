"""Malformed and hostile JSON bodies get a 400 with ``{"message", "extra"}``, never a 500."""

import pytest

from tests.benchmark.factories import make_staff, ready_track
from tests.benchmark.helpers import client_for

pytestmark = pytest.mark.django_db

DEEP = b"[" * 1000 + b"]" * 1000
BODIES = {
    "nested 1000 deep": DEEP,
    "nested 100000 deep, unclosed": b'{"a":' + b"[" * 100_000,
    "truncated": b'{"labels": [1, 0',
    "not UTF-8": b'{"labels": "\xff\xfe"}',
    "a bare string": b'"labels"',
}


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
@pytest.mark.parametrize(
    ("url", "staff"),
    [
        ("/api/v1/score/", False),
        ("/api/v1/auth/token/", False),
        ("/api/v1/tracks/tiny/attacks/", True),
        ("/api/v1/submissions/{submission}/flags/", True),
    ],
)
def test_every_json_endpoint_refuses_a_bad_body_with_400(url, staff, body):
    from tests.benchmark.helpers import scored

    track = ready_track("tiny")
    submission = scored(track, None, attack="loss")
    client = client_for(make_staff() if staff else None)
    response = client.generic(
        "POST",
        url.format(submission=submission.pk),
        body,
        content_type="application/json",
    )
    assert response.status_code == 400, response.content[:500]
    payload = response.json()
    assert set(payload) == {"message", "extra"} and payload["message"], payload
