"""Submission metadata on the pages: the upload form's fields, the owner's edit form on the
submission page, the leaderboard's method names and links, always HTML-escaped."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from benchmark.models import DailyUsage, Submission
from tests.benchmark import factories
from tests.benchmark.helpers import scored

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script>'


def html(response) -> str:
    return response.content.decode()


def _zip(track):
    return SimpleUploadedFile("p.zip", factories.submission_zip(track), "application/zip")


def test_the_track_page_form_has_the_metadata_fields(client, track, alice):
    client.force_login(alice)
    page = html(client.get("/tracks/tiny/"))
    for name in ("method", "description", "paper_url", "code_url", "access"):
        assert f'name="{name}"' in page, name
    assert '<option value="black-box">' in page and 'maxlength="100"' in page


def test_an_upload_through_the_form_keeps_its_metadata(client, track, alice):
    client.force_login(alice)
    response = client.post(
        "/tracks/tiny/submit/",
        {
            "file": _zip(track),
            "method": "LiRA",
            "paper_url": "https://arxiv.org/abs/2112.03570",
            "access": "white-box",
        },
    )
    assert response.status_code == 302, html(response)
    submission = Submission.objects.get()
    assert (submission.method, submission.access) == ("LiRA", "white-box")
    assert submission.paper_url == "https://arxiv.org/abs/2112.03570"


def test_bad_metadata_in_the_form_is_refused_at_the_field_and_counts_nothing(client, track, alice):
    client.force_login(alice)
    response = client.post(
        "/tracks/tiny/submit/", {"file": _zip(track), "code_url": "javascript:alert(1)"}
    )
    assert response.status_code == 400
    assert "Enter a URL that starts with http:// or https://." in html(response)
    assert '<details class="describe" open>' in html(response), "the fields are shown open"
    assert not Submission.objects.exists() and not DailyUsage.objects.exists()


def test_the_owner_edits_the_metadata_on_the_submission_page(client, track, alice):
    submission = scored(track, alice)
    client.force_login(alice)
    page = html(client.get(f"/submissions/{submission.pk}/"))
    assert f'action="/submissions/{submission.pk}/metadata/"' in page
    response = client.post(
        f"/submissions/{submission.pk}/metadata/",
        {"method": "RMIA", "description": "Zarifzadeh et al.", "access": "black-box"},
        follow=True,
    )
    assert response.status_code == 200
    page = html(response)
    assert "RMIA" in page and "Zarifzadeh et al." in page and "black-box" in page
    submission.refresh_from_db()
    assert submission.method == "RMIA"


def test_a_bad_edit_shows_the_problem_and_changes_nothing(client, track, alice):
    submission = scored(track, alice)
    client.force_login(alice)
    response = client.post(
        f"/submissions/{submission.pk}/metadata/", {"method": "x" * 101, "access": "grey"}
    )
    assert response.status_code == 400
    assert "Ensure this value has at most 100 characters" in html(response)
    assert "Select a valid choice" in html(response)
    submission.refresh_from_db()
    assert submission.method == ""


def test_nobody_else_sees_or_uses_the_edit_form(client, track, alice):
    submission = scored(track, alice)
    staff = factories.make_staff()
    url = f"/submissions/{submission.pk}/metadata/"
    client.force_login(staff)
    assert "/metadata/" not in html(client.get(f"/submissions/{submission.pk}/"))
    assert client.post(url, {"method": "x"}).status_code == 403
    client.force_login(factories.make_user(username="bob"))
    assert client.post(url, {"method": "x"}).status_code == 404
    client.logout()
    anonymous = client.post(url, {"method": "x"})
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    submission.refresh_from_db()
    assert submission.method == ""


def test_the_leaderboard_shows_the_method_with_its_links(client, track, alice):
    submission = scored(track, alice)
    Submission.objects.filter(pk=submission.pk).update(
        method="LiRA offline",
        description="16 shadows",
        paper_url="https://arxiv.org/abs/2112.03570",
        code_url="https://github.com/example/lira",
        access="black-box",
    )
    for url in ("/tracks/tiny/", "/tracks/tiny/leaderboard/?phase=dev"):
        page = html(client.get(url))
        assert '<span class="name">LiRA offline</span>' in page, url
        assert 'href="https://arxiv.org/abs/2112.03570"' in page
        assert 'href="https://github.com/example/lira"' in page
        assert 'title="16 shadows"' in page


def test_participants_text_is_escaped_everywhere(client, track, alice):
    submission = scored(track, alice)
    Submission.objects.filter(pk=submission.pk).update(
        method=HOSTILE, description=f'" onmouseover="alert(1) {HOSTILE}'
    )
    client.force_login(alice)
    for url in (
        "/tracks/tiny/",
        "/tracks/tiny/leaderboard/?phase=dev",
        f"/submissions/{submission.pk}/",
    ):
        page = html(client.get(url))
        assert HOSTILE not in page and 'onmouseover="alert' not in page, url
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page, url


def test_the_final_board_page_shows_no_metadata_before_the_reveal(client, track, alice):
    submission = scored(track, alice)
    Submission.objects.filter(pk=submission.pk).update(method="Sentinel-Method-42")
    client.force_login(factories.make_user(username="carol"))
    page = html(client.get("/tracks/tiny/leaderboard/?phase=final"))
    assert "Sentinel-Method-42" not in page
    client.force_login(factories.make_staff())
    assert "Sentinel-Method-42" in html(client.get("/tracks/tiny/leaderboard/?phase=final"))
