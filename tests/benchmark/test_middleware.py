"""Bodies over the endpoint's limit are refused from their Content-Length, unread: 413 naming
the true size and the limit (the per-track limit for submission zips)."""

import pytest

from benchmark.models import DailyUsage
from tests.benchmark.factories import make_user, ready_track, submission_zip
from tests.benchmark.helpers import client_for

pytestmark = pytest.mark.django_db


def test_an_oversized_api_upload_gets_413_with_its_true_size_and_nothing_counted():
    track = ready_track("tiny", max_bytes=1_000)
    user = make_user()
    body = b"x" * 5_000_000
    response = client_for(user).generic(
        "POST",
        "/api/v1/tracks/tiny/submissions/",
        body,
        content_type="multipart/form-data; boundary=b",
    )
    assert response.status_code == 413
    payload = response.json()
    assert payload["message"] == (
        "the upload is 5000000 bytes; a submission to tiny may be at most 1000 bytes"
    )
    assert payload["extra"] == {"request_bytes": 5_000_000, "limit_bytes": 1_000}
    assert not DailyUsage.objects.filter(entrant__track=track).exists(), "nothing is counted"


def test_a_zip_just_over_the_limit_is_refused_with_its_own_size(settings):
    track = ready_track("tiny")
    data = submission_zip(track)
    track.max_bytes = len(data) - 1
    track.save(update_fields=["max_bytes"])
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client_for(make_user()).post(
        "/api/v1/tracks/tiny/submissions/",
        {"file": SimpleUploadedFile("p.zip", data)},
        format="multipart",
    )
    assert response.status_code == 413
    assert f"{len(data)} bytes; the limit is {len(data) - 1} bytes" in response.json()["message"]


def test_the_upload_form_gets_a_page_in_the_layout(client):
    ready_track("tiny", max_bytes=1_000)
    client.force_login(make_user())
    response = client.generic(
        "POST",
        "/tracks/tiny/submit/",
        b"x" * 100_000,
        content_type="multipart/form-data; boundary=b",
    )
    assert response.status_code == 413
    html = response.content.decode()
    assert "Upload too large" in html and "at most 1000 bytes" in html
    assert 'href="/tracks/tiny/"' in html


def test_other_endpoints_have_the_site_wide_limit(client, settings):
    settings.ARENA_MAX_REQUEST_BYTES = 1_000
    response = client.generic(
        "POST", "/api/v1/score/", b"[" * 2_000, content_type="application/json"
    )
    assert response.status_code == 413
    assert "a request to this site may be at most 1000 bytes" in response.json()["message"]
