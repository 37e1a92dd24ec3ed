"""A participant's e-mail notices over REST: off until turned on, JSON booleans only."""

import pytest

from benchmark.models import EmailPreferences
from tests.benchmark.factories import make_user
from tests.benchmark.helpers import client_for

pytestmark = pytest.mark.django_db

URL = "/api/v1/account/email/"


def test_every_notice_is_off_until_turned_on():
    user = make_user(username="ada", email="ada@example.org")
    client = client_for(user)
    assert client.get(URL).json() == {
        "email": "ada@example.org",
        "submission_results": False,
        "final_reveal": False,
    }
    turned = client.patch(URL, {"submission_results": True}, format="json")
    assert turned.status_code == 200
    assert turned.json()["submission_results"] is True and turned.json()["final_reveal"] is False
    assert client.patch(URL, {"final_reveal": True}, format="json").json()["submission_results"]
    row = EmailPreferences.objects.get(user=user)
    assert (row.submission_results, row.final_reveal) == (True, True)


@pytest.mark.parametrize("value", ["yes", 1, None, "true"])
def test_only_json_booleans_are_taken(value):
    user = make_user(username="bea")
    response = client_for(user).patch(URL, {"final_reveal": value}, format="json")
    assert response.status_code == 400
    assert response.json()["message"].startswith("final_reveal: ")
    assert not EmailPreferences.objects.filter(final_reveal=True).exists()


def test_anonymous_callers_get_401():
    assert client_for(None).get(URL).status_code == 401
    assert client_for(None).patch(URL, {"final_reveal": True}, format="json").status_code == 401
