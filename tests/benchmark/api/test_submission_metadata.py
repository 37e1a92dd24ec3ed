"""Submission metadata over REST: the upload's multipart fields (as `arena submit` sends them),
the owner's PATCH, and the fields in the submission detail, leaderboard rows and CSV."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from benchmark.models import DailyUsage, Submission
from tests.benchmark.factories import make_staff, make_user, ready_track, submission_zip
from tests.benchmark.helpers import client_for, scored

pytestmark = pytest.mark.django_db

METADATA = {
    "method": "LiRA (offline)",
    "description": "Likelihood ratio with 16 shadows.",
    "paper_url": "https://arxiv.org/abs/2112.03570",
    "code_url": "https://github.com/example/lira",
    "access": "black-box",
}


@pytest.fixture
def world():
    track = ready_track()
    alice = make_user(username="alice")
    return {"track": track, "alice": alice, "client": client_for(alice)}


def _upload(world, **fields):
    zip_file = SimpleUploadedFile("p.zip", submission_zip(world["track"]), "application/zip")
    return world["client"].post(
        f"/api/v1/tracks/{world['track'].slug}/submissions/",
        {"file": zip_file, **fields},
        format="multipart",
    )


def test_the_upload_takes_the_metadata_and_answers_with_it(world):
    response = _upload(world, **METADATA)
    assert response.status_code == 202, response.content
    body = response.json()
    assert {name: body[name] for name in METADATA} == METADATA
    submission = Submission.objects.get(pk=body["id"])
    assert {name: getattr(submission, name) for name in METADATA} == METADATA
    detail = world["client"].get(f"/api/v1/submissions/{submission.pk}/").json()
    assert {name: detail[name] for name in METADATA} == METADATA


def test_an_upload_without_metadata_has_empty_fields(world):
    response = _upload(world)
    assert response.status_code == 202
    assert all(response.json()[name] == "" for name in METADATA)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("method", "m" * 101),
        ("description", "d" * 1001),
        ("paper_url", "javascript:alert(1)"),
        ("code_url", "ftp://example.org/code.tar"),
        ("access", "grey-box"),
    ],
)
def test_bad_metadata_refuses_the_upload_naming_the_field_and_counts_nothing(world, field, value):
    response = _upload(world, **{**METADATA, field: value})
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["message"].startswith(f"{field}: ")
    assert field in body["extra"]["fields"]
    assert not Submission.objects.exists()
    assert not DailyUsage.objects.exists(), "nothing counted against any quota"


def test_the_owner_patches_some_fields_and_gets_the_detail_back(world):
    submission = scored(world["track"], world["alice"])
    url = f"/api/v1/submissions/{submission.pk}/"
    response = world["client"].patch(url, {"method": "RMIA", "access": "white-box"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["method"] == "RMIA" and response.json()["access"] == "white-box"
    again = world["client"].patch(url, {"paper_url": METADATA["paper_url"]}, format="json")
    assert again.json()["method"] == "RMIA", "fields not sent stay as they are"
    submission.refresh_from_db()
    assert (submission.method, submission.paper_url) == ("RMIA", METADATA["paper_url"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"method": 7}, "method"),
        ({"method": None}, "method"),
        ({"paper_url": "file:///etc/passwd"}, "paper_url"),
        ({"code_url": "https://" + "x" * 500 + ".org"}, "code_url"),
        ({"access": "black"}, "access"),
        ({"description": ["a", "list"]}, "description"),
    ],
)
def test_a_bad_patch_is_400_naming_the_field_and_changes_nothing(world, body, field):
    submission = scored(world["track"], world["alice"])
    response = world["client"].patch(f"/api/v1/submissions/{submission.pk}/", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["message"].startswith(f"{field}: ")
    assert field in response.json()["extra"]["fields"]
    submission.refresh_from_db()
    assert submission.method == "" and submission.paper_url == "" and submission.access == ""


def test_only_the_owner_may_patch(world):
    submission = scored(world["track"], world["alice"])
    url = f"/api/v1/submissions/{submission.pk}/"
    assert client_for(None).patch(url, {"method": "x"}, format="json").status_code == 401
    other = client_for(make_user(username="bob")).patch(url, {"method": "x"}, format="json")
    assert other.status_code == 404, "another participant cannot tell it exists"
    staff = client_for(make_staff()).patch(url, {"method": "x"}, format="json")
    assert staff.status_code == 403 and set(staff.json()) == {"message", "extra"}
    assert staff.json()["message"].startswith("only the participant who uploaded")
    submission.refresh_from_db()
    assert submission.method == ""


def test_leaderboard_rows_and_csv_carry_the_counted_entrys_metadata(world):
    track, alice = world["track"], world["alice"]
    old = scored(track, alice, seed=1)
    old.method = "an old attempt"
    old.save()
    counted = scored(track, alice, seed=2)
    world["client"].patch(f"/api/v1/submissions/{counted.pk}/", METADATA, format="json")
    scored(track, None, attack="loss", seed=3)
    board = client_for(None).get(f"/api/v1/tracks/{track.slug}/leaderboard/?phase=dev").json()
    [row] = [row for row in board["rows"] if not row["is_baseline"]]
    assert row["submission_id"] == counted.pk
    assert {name: row[name] for name in METADATA} == METADATA
    [baseline] = [row for row in board["rows"] if row["is_baseline"]]
    assert baseline["method"] == ""

    text = client_for(None).get(f"/api/v1/tracks/{track.slug}/leaderboard.csv?phase=dev")
    lines = list(csv.DictReader(io.StringIO(text.content.decode())))
    [line] = [line for line in lines if line["username"] == "alice"]
    assert {name: line[name] for name in METADATA} == METADATA
    assert "an old attempt" not in text.content.decode(), "only the counted entry's"


def test_csv_cells_a_spreadsheet_would_run_are_defused(world):
    track, alice = world["track"], world["alice"]
    submission = scored(track, alice)
    formula = '=HYPERLINK("http://evil.example","click")'
    world["client"].patch(
        f"/api/v1/submissions/{submission.pk}/",
        {"method": formula, "description": "+1 better"},
        format="json",
    )
    text = client_for(None).get(f"/api/v1/tracks/{track.slug}/leaderboard.csv?phase=dev")
    [line] = list(csv.DictReader(io.StringIO(text.content.decode())))
    assert line["method"] == "'" + formula and line["description"] == "'+1 better"
    json_row = client_for(None).get(f"/api/v1/tracks/{track.slug}/leaderboard/").json()["rows"][0]
    assert json_row["method"] == formula, "only the CSV cell is defused"


def test_the_final_board_shows_no_metadata_before_the_reveal(world):
    track, alice = world["track"], world["alice"]
    submission = scored(track, alice)
    world["client"].patch(
        f"/api/v1/submissions/{submission.pk}/", {"method": "Sentinel-Method-42"}, format="json"
    )
    for url in (
        f"/api/v1/tracks/{track.slug}/leaderboard/?phase=final",
        f"/api/v1/tracks/{track.slug}/leaderboard.csv?phase=final",
    ):
        assert b"Sentinel-Method-42" not in client_for(make_user()).get(url).content, url
    staff = client_for(make_staff()).get(f"/api/v1/tracks/{track.slug}/leaderboard/?phase=final")
    assert staff.json()["rows"][0]["method"] == "Sentinel-Method-42", "the search can fail"


def test_the_schema_documents_the_fields_and_the_patch():
    schema = client_for(None).get("/api/v1/schema/?format=json").json()
    patch = schema["paths"]["/api/v1/submissions/{submission_id}/"]["patch"]
    assert {"200", "400", "401", "403", "404"} <= set(patch["responses"])
    components = schema["components"]["schemas"]
    reference = patch["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = components[reference.rsplit("/", 1)[1]]
    assert set(body["properties"]) == set(METADATA)
    assert body["properties"]["method"]["maxLength"] == 100
    assert body["properties"]["description"]["maxLength"] == 1000
    upload = schema["paths"]["/api/v1/tracks/{slug}/submissions/"]["post"]["requestBody"]
    reference = upload["content"]["multipart/form-data"]["schema"]["$ref"]
    assert set(METADATA) | {"file"} == set(components[reference.rsplit("/", 1)[1]]["properties"])
    for name in ("SubmissionDetailOutput", "LeaderboardRow"):
        assert set(METADATA) <= set(components[name]["properties"]), name
