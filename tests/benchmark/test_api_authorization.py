"""Who may do what: anonymous, a participant, their teammate, another participant, an
organizer of the track, an organizer of another track and staff, against every API endpoint
and file download."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from benchmark import services
from benchmark.models import ROLES as ALL_ROLES
from benchmark.models import Registration, Track, TrackOrganizer
from tests.benchmark.factories import (
    make_staff,
    make_user,
    ready_track,
    submission_zip,
    track_toml,
)
from tests.benchmark.helpers import client_for, scored

pytestmark = pytest.mark.django_db

ROLES = (
    "anonymous",
    "participant",
    "teammate",
    "other",
    "organizer",
    "other_organizer",
    "staff",
)


@pytest.fixture
def world():
    """A track with teams; alice and carol are one team, bob is alone; org organizes this
    track with every role, rival organizes another track; admin is staff."""
    track = ready_track()
    Track.objects.filter(pk=track.pk).update(max_team_size=3)
    track.refresh_from_db()
    other_track = ready_track("elsewhere")
    people = {
        "anonymous": None,
        "participant": make_user(username="alice"),
        "teammate": make_user(username="carol"),
        "other": make_user(username="bob"),
        "organizer": make_user(username="org"),
        "other_organizer": make_user(username="rival"),
        "staff": make_staff(username="admin"),
    }
    TrackOrganizer.objects.create(track=track, user=people["organizer"], roles=list(ALL_ROLES))
    TrackOrganizer.objects.create(
        track=other_track, user=people["other_organizer"], roles=list(ALL_ROLES)
    )
    team = services.team_create(track=track, user=people["participant"], name="Owls")
    services.team_join(track=track, user=people["teammate"], invite_code=team.invite_code)
    mine = scored(track, people["participant"])
    baseline = scored(track, None, attack="loss", seed=3)
    registration = Registration.objects.create(track=track, user=people["other"])
    return {
        "track": track,
        "people": people,
        "mine": mine,
        "baseline": baseline,
        "registration": registration,
    }


def _request(world, method, url, body):
    if callable(body):
        body = body(world)
    return (
        method,
        url.format(
            slug=world["track"].slug,
            mine=world["mine"].pk,
            baseline=world["baseline"].pk,
            registration=world["registration"].pk,
        ),
        body,
    )


def _zip(world):
    return {"file": SimpleUploadedFile("p.zip", submission_zip(world["track"]), "application/zip")}


def _toml(world):
    return {"file": SimpleUploadedFile("t.toml", track_toml("another").encode(), "text/plain")}


ALL = (200,) * 7
#: (method, url, body, expected status for each of ROLES: anonymous, participant, teammate,
#: other, organizer (of this track), other_organizer (of another track), staff)
MATRIX = [
    ("get", "/api/v1/tracks/", None, ALL),
    # Creating tracks: staff (or Django's add_track permission), not a track's organizers.
    ("post", "/api/v1/tracks/", _toml, (401, 403, 403, 403, 403, 403, 201)),
    ("get", "/api/v1/tracks/{slug}/", None, ALL),
    ("get", "/api/v1/tracks/{slug}/leaderboard/?phase=dev", None, ALL),
    ("get", "/api/v1/tracks/{slug}/leaderboard/?phase=final", None, ALL),
    ("get", "/api/v1/tracks/{slug}/leaderboard/?phase=benchmark", None, ALL),
    ("get", "/api/v1/tracks/{slug}/leaderboard.csv?phase=dev", None, ALL),
    ("get", "/api/v1/tracks/{slug}/bundle/", None, (401, *(200,) * 6)),
    ("get", "/api/v1/tracks/{slug}/submissions/", None, (401, *(200,) * 6)),
    ("post", "/api/v1/tracks/{slug}/submissions/", _zip, (401, *(202,) * 6)),
    # A team's submissions: its members and the track's organizers see them; nobody else can
    # tell they exist.
    ("get", "/api/v1/submissions/{mine}/", None, (404, 200, 200, 404, 200, 404, 200)),
    ("get", "/api/v1/submissions/{baseline}/", None, ALL),
    # Metadata: the owner only.
    (
        "patch",
        "/api/v1/submissions/{mine}/",
        {"method": "LiRA"},
        (401, 200, 403, 404, 403, 404, 403),
    ),
    (
        "patch",
        "/api/v1/submissions/{baseline}/",
        {"method": "LiRA"},
        (401, 403, 403, 403, 403, 403, 403),
    ),
    # Selecting for final: the owner or a teammate; this track counts the latest (400).
    (
        "post",
        "/api/v1/submissions/{mine}/select/",
        {"selected": True},
        (401, 400, 400, 404, 403, 404, 403),
    ),
    ("get", "/api/v1/account/email/", None, (401, *(200,) * 6)),
    ("patch", "/api/v1/account/email/", {"final_reveal": True}, (401, *(200,) * 6)),
    (
        "post",
        "/api/v1/submissions/{mine}/flags/",
        {"hidden": True},
        (401, 403, 403, 404, 200, 404, 200),
    ),
    ("post", "/api/v1/tracks/{slug}/reveal/", None, (401, 403, 403, 403, 409, 403, 409)),
    ("post", "/api/v1/tracks/{slug}/benchmark/", None, (401, 403, 403, 403, 409, 403, 409)),
    ("post", "/api/v1/tracks/{slug}/rescore/", None, (401, 403, 403, 403, 202, 403, 202)),
    ("post", "/api/v1/tracks/{slug}/build/", None, (401, 403, 403, 403, 202, 403, 202)),
    (
        "post",
        "/api/v1/tracks/{slug}/attacks/",
        {"attack": "loss"},
        (401, 403, 403, 403, 202, 403, 202),
    ),
    ("get", "/api/v1/tracks/{slug}/registrations/", None, (401, 403, 403, 403, 200, 403, 200)),
    (
        "post",
        "/api/v1/tracks/{slug}/registrations/{registration}/",
        {"decision": "approve"},
        (401, 403, 403, 403, 200, 403, 200),
    ),
    ("get", "/api/v1/tracks/{slug}/registration/", None, (401, *(200,) * 6)),
    ("get", "/api/v1/tracks/{slug}/team/", None, (401, *(200,) * 6)),
    # Queries: signed in only; this track is white-box, so everyone is told to download it.
    (
        "post",
        "/api/v1/tracks/{slug}/query/",
        {"model": "inf/dev/2", "inputs": [[0]]},
        (401, *(400,) * 6),
    ),
    ("get", "/api/v1/schema/", None, ALL),
    ("get", "/media/submissions/", None, (404,) * 7),
    (
        "get",
        "/media/zoo/solutions/tiny/tiny_inf/dev/model_2/solution.csv",
        None,
        (404,) * 7,
    ),
]


@pytest.mark.parametrize("role", ROLES)
def test_authorisation_matrix(world, role):
    """Every endpoint of the matrix for one role; every mismatch is reported at once."""
    client = client_for(world["people"][role])
    wrong = []
    for method, url, body, expected in MATRIX:
        method, url, body = _request(world, method, url, body)
        multipart = isinstance(body, dict) and "file" in body
        if method in ("post", "patch"):
            send = getattr(client, method)
            response = send(url, body, format="multipart" if multipart else "json")
        else:
            response = client.get(url)
        want = expected[ROLES.index(role)]
        if response.status_code != want:
            wrong.append((method, url, want, response.status_code, response.content[:200]))
        elif response.status_code >= 400 and response["Content-Type"] == "application/json":
            assert set(response.json()) == {"message", "extra"}, url
    assert not wrong, wrong


def test_only_the_owners_metadata_edit_is_kept(world):
    """The matrix's refused edits left the submission as it was."""
    url = f"/api/v1/submissions/{world['mine'].pk}/"
    for role in ("anonymous", "teammate", "other", "organizer", "other_organizer", "staff"):
        client_for(world["people"][role]).patch(url, {"method": role}, format="json")
    world["mine"].refresh_from_db()
    assert world["mine"].method == ""
    client_for(world["people"]["participant"]).patch(url, {"method": "mine"}, format="json")
    world["mine"].refresh_from_db()
    assert world["mine"].method == "mine"


def test_the_bundle_download_is_the_bundle_file(world):
    response = client_for(world["people"]["participant"]).get(
        f"/api/v1/tracks/{world['track'].slug}/bundle/"
    )
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert body.startswith(b"PK"), "a zip"
    assert "attachment" in response["Content-Disposition"]


def test_a_token_authenticates_api_calls(world):
    from rest_framework.test import APIClient

    client = APIClient()
    response = client.post(
        "/api/v1/auth/token/", {"username": "alice", "password": "pw-for-tests-1"}, format="json"
    )
    assert response.status_code == 200, response.content
    token = response.json()["token"]
    wrong = client.post(
        "/api/v1/auth/token/", {"username": "alice", "password": "nope"}, format="json"
    )
    assert wrong.status_code == 400
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    mine = client.get(f"/api/v1/tracks/{world['track'].slug}/submissions/")
    assert mine.status_code == 200
    assert [row["id"] for row in mine.json()] == [world["mine"].pk]


def test_an_invalid_upload_gets_400_with_every_problem(world):
    from tests.benchmark.factories import broken_zip

    client = client_for(world["people"]["participant"])
    response = client.post(
        f"/api/v1/tracks/{world['track'].slug}/submissions/",
        {"file": SimpleUploadedFile("b.zip", broken_zip(world["track"]))},
        format="multipart",
    )
    assert response.status_code == 400
    body = response.json()
    assert len(body["extra"]["problems"]) >= 2
    assert all(set(p) == {"path", "reason"} for p in body["extra"]["problems"])


def test_the_schema_documents_every_endpoint(world):
    schema = client_for(None).get("/api/v1/schema/?format=json").json()
    paths = set(schema["paths"])
    for path in [
        "/api/v1/tracks/",
        "/api/v1/tracks/{slug}/",
        "/api/v1/tracks/{slug}/leaderboard/",
        "/api/v1/tracks/{slug}/leaderboard.csv",
        "/api/v1/tracks/{slug}/bundle/",
        "/api/v1/tracks/{slug}/submissions/",
        "/api/v1/tracks/{slug}/reveal/",
        "/api/v1/tracks/{slug}/rescore/",
        "/api/v1/tracks/{slug}/attacks/",
        "/api/v1/tracks/{slug}/benchmark/",
        "/api/v1/tracks/{slug}/build/",
        "/api/v1/tracks/{slug}/registration/",
        "/api/v1/tracks/{slug}/registrations/",
        "/api/v1/tracks/{slug}/registrations/{registration_id}/",
        "/api/v1/tracks/{slug}/team/",
        "/api/v1/tracks/{slug}/team/join/",
        "/api/v1/tracks/{slug}/team/leave/",
        "/api/v1/submissions/{submission_id}/",
        "/api/v1/submissions/{submission_id}/select/",
        "/api/v1/account/email/",
        "/api/v1/auth/token/",
        "/api/v1/score/",
    ]:
        assert path in paths, path


def test_the_schema_validates_without_warnings(tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yaml"))
    assert (tmp_path / "s.yaml").read_text().startswith("openapi:")
