"""The query API of black-box tracks: released outputs, validation, the row budget."""

import threading
from pathlib import Path

import numpy as np
import pytest
from django.db import connection

from attacks.oracle import LocalOracle
from attacks.outputs import load_module
from benchmark import services
from benchmark.errors import QuotaExceeded
from benchmark.models import DailyUsage, Track
from benchmark.services import queries
from benchmark.services.zoo import zoo_build_chunk, zoo_build_start
from benchmark.zoo.__main__ import main as zoo_main
from benchmark.zoo.release import Defence
from tests.benchmark.factories import make_staff, make_user, ready_track
from tests.benchmark.helpers import client_for
from tests.zoo.test_black_box import BLACK_BOX

pytestmark = pytest.mark.django_db

QUERY_TRACK = (
    BLACK_BOX.replace('slug = "tiny"', 'slug = "tinybb"', 1)
    .replace("clip = 2.6", "clip = 2.6\nlabel_only = true")
    .replace(
        "max_bytes = 2_000_000", "max_bytes = 2_000_000\nqueries_per_day = 40\nquery_batch = 8"
    )
)
URL = "/api/v1/tracks/tinybb/query/"


@pytest.fixture(scope="module")
def prebuilt(tmp_path_factory) -> Path:
    """The zoo files of QUERY_TRACK, trained once; each test registers its rows over them."""
    root = tmp_path_factory.mktemp("bb-zoo")
    (root / "tinybb.toml").write_text(QUERY_TRACK)
    assert zoo_main(["build", str(root / "tinybb.toml"), "--out", str(root)]) == 0
    return root


def register(settings, root: Path, text: str = QUERY_TRACK) -> Track:
    """Rows of a ready track over files already built (the build reads its records back)."""
    settings.ARENA_ZOO_ROOT = root
    settings.ARENA_AUTO_BASELINES = []
    track = services.track_create(spec_text=text, created_by=None)
    for index in range(zoo_build_start(track_id=track.pk)):
        zoo_build_chunk(track_id=track.pk, chunk_index=index)
    track.refresh_from_db()
    assert track.build_status == Track.BuildStatus.READY, track.build_message
    return track


@pytest.fixture
def track(settings, prebuilt) -> Track:
    return register(settings, prebuilt)


def points(n: int, seed: int = 0) -> list[list[int]]:
    return np.random.default_rng(seed).integers(0, 2, (n, 600)).tolist()


def used(track: Track) -> int:
    return sum(DailyUsage.objects.filter(entrant__track=track).values_list("queries", flat=True))


def test_a_query_returns_what_the_scenario_releases(track, prebuilt):
    client = client_for(make_user(username="quinn"))
    x = points(5)
    response = client.post(URL, {"model": "inf/dev/3", "inputs": x}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["rows"], body["released"], body["defence"]) == (5, "probabilities", "top-3")
    model = load_module(prebuilt / "tinybb" / "tinybb_inf" / "dev" / "model_3", "mlp-purchase")
    expected = LocalOracle(model, defence=Defence(top_k=3)).query(np.array(x, dtype=np.float32))
    np.testing.assert_allclose(np.array(body["outputs"]), expected, rtol=1e-6)
    assert ((np.array(body["outputs"]) > 0).sum(axis=1) == 3).all()
    assert body["budget"]["used"] == 5 and body["budget"]["remaining"] == 35
    assert response["X-Query-Budget-Remaining"] == "35"
    assert response["X-Query-Budget-Limit"] == "40"
    assert response["X-Query-Budget-Reset"] == body["budget"]["resets_at"]


def test_a_label_only_scenario_releases_labels(track):
    client = client_for(make_user(username="lab"))
    response = client.post(URL, {"model": "hi/train/0", "inputs": points(4)}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["released"] == "labels" and body["defence"] == "label only"
    assert all(isinstance(v, int) and 0 <= v < 100 for v in body["outputs"])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"model": "inf/dev", "inputs": points(1)}, "model must be <scenario>/<phase>/<index>"),
        ({"model": "xx/dev/3", "inputs": points(1)}, "has no scenario 'xx'"),
        ({"model": "inf/test/3", "inputs": points(1)}, "phase must be one of train, dev, final"),
        ({"model": "inf/dev/0", "inputs": points(1)}, "dev models of tinybb are 3..3"),
        ({"model": "inf/dev/3", "inputs": []}, "inputs must be a non-empty array"),
        ({"model": "inf/dev/3", "inputs": points(9)}, "at most 8 rows per request"),
        ({"model": "inf/dev/3", "inputs": [[0, 1]]}, r"inputs must have shape (N, 600)"),
        ({"model": "inf/dev/3", "inputs": [[0.5] * 600]}, "inputs must be 0 or 1; index (0, 0)"),
        ({"model": "inf/dev/3", "inputs": [["1"] * 600]}, "no strings, booleans or null"),
        ({"model": "inf/dev/3", "inputs": [[True] * 600]}, "no strings, booleans or null"),
        ({"model": "inf/dev/3", "inputs": [[None] * 600]}, "no strings, booleans or null"),
        ({"model": "inf/dev/3", "inputs": [[0] * 600, [0] * 5]}, "equally shaped arrays"),
        ({"model": "inf/dev/3", "inputs": [0] * 5}, "equally shaped arrays"),
        ({"model": 3, "inputs": points(1)}, "model must be a string"),
        ({"model": "inf/dev/3"}, 'the body must be {"model": ..., "inputs": [...]}'),
        ({"model": "inf/dev/3", "inputs": points(1), "x": 1}, "the body must be"),
    ],
)
def test_bad_queries_are_refused_naming_the_problem_and_cost_nothing(track, body, message):
    client = client_for(make_user(username="bad"))
    response = client.post(URL, body, format="json")
    assert response.status_code == 400, response.content
    assert message in response.json()["message"]
    assert used(track) == 0


def test_the_budget_counts_rows_and_refuses_what_does_not_fit(track):
    client = client_for(make_user(username="thrifty"))

    def ask(rows: int):
        return client.post(URL, {"model": "inf/train/0", "inputs": points(rows)}, format="json")

    for _ in range(5):
        assert ask(7).status_code == 200
    refused = ask(7)
    assert refused.status_code == 429
    assert refused.json()["message"].startswith(
        "7 rows asked but 5 of your 40 query rows on tinybb are left today; the budget resets at"
    )
    assert used(track) == 35
    last = ask(5)
    assert last.status_code == 200 and last["X-Query-Budget-Remaining"] == "0"
    assert ask(1).status_code == 429
    assert used(track) == 40
    other = client_for(make_user(username="other"))  # budgets are per participant
    response = other.post(URL, {"model": "inf/dev/3", "inputs": points(2)}, format="json")
    assert response.status_code == 200


def test_a_model_that_cannot_answer_is_a_503_and_costs_nothing(track, prebuilt, tmp_path, settings):
    model = prebuilt / "tinybb" / "tinybb_inf" / "final" / "model_4" / "model.pt"
    saved = tmp_path / "model.pt"
    model.replace(saved)
    try:
        client = client_for(make_user(username="unlucky"))
        response = client.post(URL, {"model": "inf/final/4", "inputs": points(2)}, format="json")
        assert response.status_code == 503, response.content
        assert "nothing was counted" in response.json()["message"]
        assert used(track) == 0
    finally:
        saved.replace(model)


def test_white_box_tracks_unbuilt_tracks_and_anonymous_callers_are_refused(settings, prebuilt):
    ready_track("whitebox")
    client = client_for(make_user(username="wb"))
    response = client.post(
        "/api/v1/tracks/whitebox/query/", {"model": "inf/dev/2", "inputs": points(1)}, format="json"
    )
    assert response.status_code == 400 and "white-box track" in response.json()["message"]
    settings.ARENA_ZOO_ROOT = prebuilt
    settings.ARENA_AUTO_BASELINES = []
    services.track_create(
        spec_text=QUERY_TRACK.replace('"tinybb"', '"unbuilt"', 1), created_by=None
    )
    response = client.post(
        "/api/v1/tracks/unbuilt/query/", {"model": "inf/dev/3", "inputs": points(1)}, format="json"
    )
    assert response.status_code == 409
    assert client_for(None).post(URL, {}, format="json").status_code in (401, 403)


def test_the_track_api_shows_access_defences_and_the_budget(track):
    user = make_user(username="reader")
    client = client_for(user)
    client.post(URL, {"model": "inf/dev/3", "inputs": points(3)}, format="json")
    detail = client.get("/api/v1/tracks/tinybb/").json()
    assert detail["access"] == "black-box"
    assert detail["limits"]["queries_per_day"] == 40 and detail["limits"]["query_batch"] == 8
    by_slug = {s["slug"]: s for s in detail["scenarios"]}
    assert by_slug["inf"]["defence"] == "top-3" and by_slug["inf"]["release"]["top_k"] == 3
    assert by_slug["hi"]["defence"] == "label only"
    assert detail["query_budget"]["used"] == 3 and detail["query_budget"]["remaining"] == 37
    organizer = client_for(make_staff(username="org"))
    assert "query_budget" in organizer.get("/api/v1/tracks/tinybb/").json()


@pytest.mark.django_db(transaction=True)
def test_concurrent_queries_never_spend_more_than_the_budget(settings, prebuilt):
    """Twelve threads, each its own database connection, book 5 rows at once against a
    budget of 40: exactly eight succeed and the count is exactly 40."""
    track = register(settings, prebuilt)
    user = make_user(username="racer")
    barrier = threading.Barrier(12)
    outcomes: list[str] = []

    def book() -> None:
        try:
            barrier.wait()
            queries._book(track, user, 5)
            outcomes.append("ok")
        except QuotaExceeded:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=book) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok"] * 8 + ["refused"] * 4
    assert used(track) == 40


def test_the_track_page_shows_access_each_release_and_the_budget(track, client):
    user = make_user(username="pager")
    client.force_login(user)
    client_for(user).post(URL, {"model": "inf/dev/3", "inputs": points(4)}, format="json")
    page = client.get("/tracks/tinybb/").content.decode()
    assert "black-box: the models are queried through" in page
    assert "<code>inf</code> (ε = ∞; releases: top-3)" in page
    assert "releases: label only" in page
    assert "<strong>36</strong> of 40 rows left today" in page
    assert "README on querying the models" in page
