"""Organizer buttons on the track page, and the final phase's secrecy until the reveal."""

import pytest
from django.utils import timezone

from benchmark import services
from benchmark.models import ScenarioScore, Track
from tests.benchmark import factories

pytestmark = pytest.mark.django_db

BUTTONS = ("reveal", "rescore", "attacks")


@pytest.fixture
def staff():
    return factories.StaffFactory(username="organizer")


@pytest.fixture
def scored(track, alice):
    submission = services.submission_create(
        track=track, user=alice, upload=factories.submission_zip(track, skill=1.5), filename="a.zip"
    )
    services.submission_score(submission_id=submission.pk)
    return submission


def html(response) -> str:
    return response.content.decode()


def _close(track: Track) -> None:
    """Close the track now: submissions made so far were made before the deadline."""
    Track.objects.filter(pk=track.pk).update(final_deadline=timezone.now())
    track.refresh_from_db()


def test_staff_see_the_organizer_buttons_with_every_attack(client, track, staff):
    client.force_login(staff)
    page = html(client.get("/tracks/tiny/"))
    for button in BUTTONS:
        assert f'action="/tracks/tiny/{button}/"' in page
    assert '<option value="lira-offline">' in page and '<option value="loss">' in page


@pytest.mark.parametrize("button", BUTTONS)
def test_participants_cannot_use_organizer_buttons(client, track, alice, button):
    assert client.post(f"/tracks/tiny/{button}/", {"attack": "loss"}).status_code == 302
    client.force_login(alice)
    assert f'action="/tracks/tiny/{button}/"' not in html(client.get("/tracks/tiny/"))
    assert client.post(f"/tracks/tiny/{button}/", {"attack": "loss"}).status_code == 403
    assert client.get(f"/tracks/tiny/{button}/").status_code == 405
    track.refresh_from_db()
    assert track.revealed_at is None


def test_reveal_button_works_after_the_deadline(client, track, staff):
    client.force_login(staff)
    early = client.post("/tracks/tiny/reveal/", follow=True)
    assert "reveal after that" in html(early)
    assert Track.objects.get(pk=track.pk).revealed_at is None
    _close(track)
    response = client.post("/tracks/tiny/reveal/", follow=True)
    assert response.redirect_chain[-1][0] == "/tracks/tiny/"
    assert "The final leaderboard is revealed." in html(response)
    assert Track.objects.get(pk=track.pk).revealed_at is not None
    assert 'action="/tracks/tiny/reveal/"' not in html(response)


def test_rescore_button(client, track, staff, scored):
    client.force_login(staff)
    response = client.post("/tracks/tiny/rescore/", follow=True)
    assert "queued for re-scoring" in html(response)


def test_attack_button_queues_a_baseline_and_refuses_unknown_attacks(client, track, staff):
    client.force_login(staff)
    response = client.post("/tracks/tiny/attacks/", {"attack": "loss"}, follow=True)
    assert "The loss baseline is queued" in html(response)
    response = client.post("/tracks/tiny/attacks/", {"attack": "no-such"}, follow=True)
    assert "Choose one of the listed attacks." in html(response)


def _final_marks(submission) -> list[str]:
    """Strings that only a final figure would put in a page."""
    finals = ScenarioScore.objects.filter(submission=submission, phase="final", is_current=True)
    devs = ScenarioScore.objects.filter(submission=submission, phase="dev", is_current=True)
    dev_values = {f"{value:.4f}" for score in devs for value in score.metrics.values()}
    values = {f"{value:.4f}" for s in finals for value in s.metrics.values()} - dev_values
    assert values, "the fixture should give final scores unlike the dev ones"
    return [*sorted(values), "lb-final-", '"name": "final"', "> final</th>"]


def _pages(track, submission) -> list[str]:
    return [
        "/",
        f"/tracks/{track.slug}/",
        f"/tracks/{track.slug}/leaderboard/",
        f"/tracks/{track.slug}/leaderboard/?phase=dev",
        f"/tracks/{track.slug}/leaderboard/?phase=final",
        f"/tracks/{track.slug}/submissions/",
        f"/submissions/{submission.pk}/",
    ]


def test_no_page_carries_a_final_figure_before_the_reveal(client, track, alice, scored):
    marks = _final_marks(scored)
    client.force_login(alice)
    for url in _pages(track, scored):
        response = client.get(url)
        assert response.status_code == 200, url
        page = html(response)
        for mark in marks:
            assert mark not in page, (url, mark)
    hidden = html(client.get("/tracks/tiny/leaderboard/?phase=final"))
    assert "hidden until the organizers reveal it" in hidden


def test_final_figures_appear_after_the_reveal(client, track, alice, staff, scored):
    _close(track)
    services.track_reveal(track=track, by=staff)
    client.force_login(alice)
    board = html(client.get("/tracks/tiny/leaderboard/?phase=final"))
    assert 'id="lb-final-inf"' in board and "alice" in board and "preview" not in board
    assert 'id="lb-final-lo"' in html(client.get("/tracks/tiny/"))
    page = html(client.get(f"/submissions/{scored.pk}/"))
    assert '"name": "final"' in page
    assert '<code>inf</code></td><td class="text">final</td>' in page
    assert "> final</th>" in html(client.get("/tracks/tiny/submissions/"))


def test_staff_preview_the_final_board_before_the_reveal(client, track, staff, scored):
    client.force_login(staff)
    board = html(client.get("/tracks/tiny/leaderboard/?phase=final"))
    assert "preview" in board and 'id="lb-final-inf"' in board
