"""A participant, in a real browser: log in, upload a zip through the form, watch it get
scored by the real worker, and find the ROC curves drawn by plotly.js."""

import pytest

from tests.benchmark import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-1"  # the password UserFactory gives every user
SCORING_TIMEOUT_MS = 120_000


@pytest.fixture
def upload(shared_media, tmp_path):
    """A built track, a participant and their predictions, committed before the browser starts
    (Playwright's event loop forbids database calls from the test body)."""
    track = factories.ready_track("browser")
    factories.UserFactory(username="ada")
    path = tmp_path / "predictions.zip"
    path.write_bytes(factories.submission_zip(track, skill=1.5))
    return path


def test_participant_submits_and_sees_the_roc_drawn(
    http_server, celery_worker_process, shared_media, upload, browser, artifacts
):
    assert celery_worker_process.media_root == shared_media, "web and worker must share media"
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto(f"{http_server}/accounts/login/?next=/tracks/browser/")
    page.fill("#id_username", "ada")
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{http_server}/tracks/browser/")
    assert "left today" in page.inner_text("#submit ~ .quota, .quota")

    page.set_input_files("#id_file", str(upload))
    page.click("text=Upload and score")
    page.wait_for_url(f"{http_server}/submissions/*/")
    assert "accepted" in page.inner_text(".messages")

    # arena.js polls the API and reloads the page once the worker has scored the zip.
    page.wait_for_selector('h1 .badge[data-status="scored"]', timeout=SCORING_TIMEOUT_MS)
    for scenario in ("inf", "lo"):
        for axes in ("linear", "log"):
            curve = page.locator(f"#roc-{scenario}-{axes}-plot svg .scatterlayer path.js-line")
            curve.first.wait_for(state="attached", timeout=30_000)
            assert len(curve.first.get_attribute("d") or "") > 20, (scenario, axes)
    page.screenshot(path=str(artifacts / "submit_flow.png"), full_page=True)

    page.goto(f"{http_server}/tracks/browser/leaderboard/?phase=dev")
    assert "ada" in page.inner_text("table.board")
    assert errors == []
