"""With debug off, a 404 or 500 is a page in the site's layout (never Django's technical page
listing the URL patterns, never a traceback); under /api/ it is the API's JSON error."""

import json

import pytest
from django.test import RequestFactory

from benchmark.error_views import server_error

pytestmark = pytest.mark.django_db


def test_an_unknown_page_is_a_404_in_the_layout_without_the_url_patterns(client, settings):
    assert settings.DEBUG is False
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "MIA <span>Arena</span>" in html and "/no/such/page/" in html
    assert "URLconf" not in html and "tried these URL patterns" not in html


def test_an_unknown_api_endpoint_is_a_json_404(client):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"message": "no API endpoint at /api/v1/no-such-thing/", "extra": {}}


def test_a_server_error_is_a_page_in_the_layout_or_json_under_the_api():
    page = server_error(RequestFactory().get("/tracks/x/"))
    assert page.status_code == 500
    html = page.content.decode()
    assert "Something went wrong on our side" in html and "Traceback" not in html
    api = server_error(RequestFactory().get("/api/v1/tracks/"))
    assert api.status_code == 500 and set(json.loads(api.content)) == {"message", "extra"}
