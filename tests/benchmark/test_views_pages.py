"""The participant pages render what the selectors give, to whom they may show it."""

import datetime as dt
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from benchmark import services
from benchmark.models import Submission, Track
from tests.benchmark import factories
from tests.benchmark.helpers import scored

pytestmark = pytest.mark.django_db


@pytest.fixture
def bob():
    return factories.UserFactory(username="bob")


@pytest.fixture
def board(track, alice, bob):
    """Two scored participants on the tiny track."""
    return {"alice": scored(track, alice, skill=2.0), "bob": scored(track, bob, skill=0.5)}


def html(response) -> str:
    return response.content.decode()


def test_home_lists_tracks_with_build_progress(client, track):
    building = factories.ready_track("other")
    Track.objects.filter(pk=building.pk).update(
        build_status="building", models_built=7, models_total=20
    )
    page = html(client.get("/"))
    assert "Tiny tiny" in page and 'href="/tracks/tiny/"' in page
    assert "building zoo" in page and "7 / 20 models" in page
    assert "zoo ready" in page


def test_track_page_for_anonymous_asks_to_log_in_and_shows_the_dev_board(client, track, board):
    response = client.get("/tracks/tiny/")
    page = html(response)
    assert response.status_code == 200
    assert "Log in</a> or" in page and 'type="file"' not in page
    assert "alice" in page and "bob" in page
    assert 'href="/api/v1/tracks/tiny/bundle/"' not in page
    assert "to download the participant bundle" in page
    for scenario in ("inf", "lo"):
        assert f'id="lb-dev-{scenario}"' in page and f'data-figure="lb-dev-{scenario}"' in page
    assert "/static/vendor/plotly.min.js" in page
    assert "Reveal the final leaderboard" not in page


def test_track_page_for_a_participant_has_the_form_and_the_quota(client, track, alice):
    client.force_login(alice)
    page = html(client.get("/tracks/tiny/"))
    assert 'enctype="multipart/form-data"' in page and 'name="file"' in page
    assert 'href="/api/v1/tracks/tiny/bundle/"' in page
    assert client.get("/api/v1/tracks/tiny/bundle/")["Content-Type"] == "application/zip"
    assert "At most 200,000 bytes." in page, "the limit as configured, not rounded to KB"
    assert re.search(r"<strong>5</strong> left today", page)
    assert re.search(r"<strong>20</strong> left in all", page)
    assert re.search(r"resets \d{4}-\d\d-\d\d 00:00 UTC", page)
    assert "Reveal the final leaderboard" not in page


def test_track_page_of_a_track_still_building_shows_progress_and_no_form(client, alice):
    track = factories.ready_track("slow")
    Track.objects.filter(pk=track.pk).update(
        build_status="building", models_built=3, models_total=20, bundle=""
    )
    client.force_login(alice)
    page = html(client.get("/tracks/slow/"))
    assert "3 / 20 models" in page and 'max="20" value="3"' in page
    assert "Submissions open once the model zoo is built." in page
    assert "bundle/" not in page


def test_unknown_track_and_phase_are_404(client, track):
    assert client.get("/tracks/nope/").status_code == 404
    assert client.get("/tracks/tiny/leaderboard/?phase=train").status_code == 404


def test_upload_through_the_form_redirects_to_the_submission(client, track, alice):
    client.force_login(alice)
    upload = SimpleUploadedFile("mine.zip", factories.submission_zip(track))
    response = client.post("/tracks/tiny/submit/", {"file": upload})
    submission = Submission.objects.get(owner=alice)
    assert response.status_code == 302
    assert response["Location"] == f"/submissions/{submission.pk}/"
    page = html(client.get(response["Location"]))
    assert f"Submission #{submission.pk}" in page and "accepted" in page
    assert f'data-status-url="/api/v1/submissions/{submission.pk}/"' in page
    assert 'data-status="queued"' in page


def test_invalid_upload_lists_every_problem_with_its_path(client, track, alice):
    client.force_login(alice)
    upload = SimpleUploadedFile("bad.zip", factories.broken_zip(track))
    response = client.post("/tracks/tiny/submit/", {"file": upload})
    page = html(response)
    assert response.status_code == 400
    assert not Submission.objects.exists()
    problems = re.findall(r"<li><code>([^<]+)</code>: ", page)
    assert "tiny/notes.txt" in problems
    assert any(path.endswith("prediction.csv") for path in problems), problems
    assert re.search(r"<strong>2</strong> invalid uploads left today", page)


def test_upload_without_a_file_and_anonymous_upload(client, track, alice):
    assert client.post("/tracks/tiny/submit/", {}).status_code == 302  # to the login page
    client.force_login(alice)
    response = client.post("/tracks/tiny/submit/", {})
    assert response.status_code == 400 and "This field is required." in html(response)


def test_leaderboard_page_has_every_metric_per_scenario_and_marks_baselines(client, track, board):
    baseline = services.submission_create(
        track=track,
        user=None,
        upload=factories.submission_zip(track, skill=1.0, seed=3),
        filename="loss.zip",
        attack="loss",
    )
    services.submission_score(submission_id=baseline.pk)
    page = html(client.get("/tracks/tiny/leaderboard/?phase=dev"))
    for label in ("TPR@0.1%", "TPR@10%", "AUC", "MIA", "Accuracy", "ε̂ ≥"):
        assert page.count(label) >= 2, label
    assert page.index("alice") < page.index("bob")
    assert '<span class="badge baseline">baseline</span> loss' in page
    assert f'href="/submissions/{baseline.pk}/"' in page
    assert f'href="/submissions/{board["alice"].pk}/"' not in page
    assert 'href="/api/v1/tracks/tiny/leaderboard.csv?phase=dev"' in page


def test_my_submissions_lists_only_mine_with_live_status_and_errors(client, track, board, alice):
    failed = Submission.objects.create(
        track=track,
        owner=alice,
        file="x.zip",
        sha256="0" * 64,
        size=3,
        status="failed",
        message="scoring failed: the zip vanished",
        errors=[{"path": "tiny/tiny_inf/dev/model_2/prediction.csv", "reason": "missing"}],
    )
    queued = Submission.objects.create(
        track=track, owner=alice, file="y.zip", sha256="1" * 64, size=3
    )
    client.force_login(alice)
    page = html(client.get("/tracks/tiny/submissions/"))
    assert f'href="/submissions/{board["alice"].pk}/"' in page
    assert f'href="/submissions/{board["bob"].pk}/"' not in page
    assert f'href="/submissions/{failed.pk}/"' in page
    assert "<code>tiny/tiny_inf/dev/model_2/prediction.csv</code>: missing" in page
    assert f'data-status="queued" data-status-url="/api/v1/submissions/{queued.pk}/"' in page
    assert "<code>inf</code> dev" in page and "<code>lo</code> dev" in page
    assert "<code>inf</code> final" not in page


def test_my_submissions_needs_a_login(client, track):
    response = client.get("/tracks/tiny/submissions/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_submission_page_shows_scores_and_both_roc_figures_per_scenario(client, board, alice):
    client.force_login(alice)
    page = html(client.get(f"/submissions/{board['alice'].pk}/"))
    assert 'data-status="scored"' in page
    for scenario in ("inf", "lo"):
        for axes in ("linear", "log"):
            assert f'<script id="roc-{scenario}-{axes}" type="application/json">' in page
            assert f'data-figure="roc-{scenario}-{axes}"' in page
    cell = r'<td class="text">'
    rows = re.findall(rf"{cell}<code>(\w+)</code></td>{cell}(\w+)</td>", page)
    assert rows == [("inf", "dev"), ("lo", "dev")]


@pytest.mark.parametrize("who", ["anonymous", "bob"])
def test_other_peoples_submissions_are_404(client, board, who):
    if who == "bob":
        client.force_login(board["bob"].owner)
    assert client.get(f"/submissions/{board['alice'].pk}/").status_code == 404


def test_staff_see_any_submission(client, board):
    client.force_login(factories.StaffFactory())
    assert client.get(f"/submissions/{board['alice'].pk}/").status_code == 200


def test_upload_over_the_daily_quota_says_when_it_resets(client, alice):
    track = factories.ready_track("small", per_day=1)
    client.force_login(alice)
    for expected in (302, 429):
        upload = SimpleUploadedFile("p.zip", factories.submission_zip(track))
        response = client.post("/tracks/small/submit/", {"file": upload})
        assert response.status_code == expected
    page = html(response)
    assert "allowed per UTC day" in page and "resets at" in page
    assert re.search(r"<strong>0</strong> left today", page)
    assert Submission.objects.filter(owner=alice).count() == 1


def test_after_the_deadline_the_form_is_gone_and_uploads_are_refused(client, track, alice):
    Track.objects.filter(pk=track.pk).update(
        dev_opens=track.dev_opens - dt.timedelta(days=9),
        final_deadline=timezone.now() - dt.timedelta(minutes=1),
    )
    client.force_login(alice)
    page = html(client.get("/tracks/tiny/"))
    assert "submissions are closed" in page and 'name="file"' not in page
    upload = SimpleUploadedFile("late.zip", factories.submission_zip(track))
    response = client.post("/tracks/tiny/submit/", {"file": upload})
    assert response.status_code == 403
    assert "final deadline of tiny was" in html(response)
    assert not Submission.objects.exists()


def test_an_empty_board_says_so_and_draws_no_figure(client, track):
    page = html(client.get("/tracks/tiny/leaderboard/?phase=dev"))
    assert '<td class="text muted" colspan="23">No scored submission yet.</td>' in page
    assert "data-figure=" not in page and "plotly.min.js" not in page


def test_a_long_leaderboard_is_paged_with_ranks_kept(client, track, board, monkeypatch):
    monkeypatch.setattr("benchmark.views.LEADERBOARD_PAGE_ROWS", 1)

    def table(page: str) -> str:
        return page[page.index('<table class="board">') : page.index("</table>")]

    first = html(client.get("/tracks/tiny/leaderboard/?phase=dev"))
    assert "alice" in table(first) and "bob" not in table(first)
    assert "page 1 of 2" in first and 'rel="next"' in first and 'rel="prev"' not in first
    second = html(client.get("/tracks/tiny/leaderboard/?phase=dev&page=2"))
    assert "bob" in table(second) and "alice" not in table(second)
    assert re.search(r'<td class="text rank">2\b', table(second))
    assert "page 2 of 2" in second and 'rel="prev"' in second
    for bad in ("0", "x", "-1"):
        assert client.get(f"/tracks/tiny/leaderboard/?phase=dev&page={bad}").status_code == 404


def test_the_organizers_final_preview_says_it_is_a_preview_until_the_reveal(client, track, board):
    client.force_login(factories.UserFactory(is_staff=True))
    page = html(client.get("/tracks/tiny/"))
    assert "Preview for organizers of the unrevealed final leaderboard" in page
    assert "revealed by the organizers." not in page
    Track.objects.filter(pk=track.pk).update(revealed_at=timezone.now())
    page = html(client.get("/tracks/tiny/"))
    assert "Scored on the hidden final models, revealed by the organizers." in page
    assert "Preview for organizers" not in page


@pytest.mark.parametrize(
    ("path", "content_type"),
    [("favicon.svg", "image/svg+xml"), ("favicon.ico", "image/x-icon")],
)
def test_pages_link_the_favicon_and_the_site_serves_it(client, path, content_type):
    page = html(client.get("/"))
    assert f'rel="icon" href="/static/{path}"' in page
    response = client.get(f"/static/{path}")
    assert response.status_code == 200, "run collectstatic (make setup does)"
    assert response["Content-Type"] == content_type
    body = b"".join(response.streaming_content)
    assert body.startswith(b"<svg" if path.endswith(".svg") else b"\x00\x00\x01\x00")


def test_the_root_favicon_path_leads_to_the_static_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == "/static/favicon.ico"
