"""A submission's metadata: checked once (metadata_clean), set at upload before anything is
counted, edited by its owner only."""

import pytest

from benchmark import services
from benchmark.errors import MetadataInvalid, NotOwner
from benchmark.models import DailyUsage, Entrant, Submission
from tests.benchmark.factories import make_staff, make_user, submission_zip

pytestmark = pytest.mark.django_db

GOOD = {
    "method": "LiRA (offline, 16 shadows)",
    "description": "Carlini et al.'s likelihood ratio test.\nNo augmentation.",
    "paper_url": "https://arxiv.org/abs/2112.03570",
    "code_url": "http://example.org/lira",
    "access": "black-box",
}


def test_good_metadata_is_kept_stripped():
    cleaned = services.metadata_clean(values={**GOOD, "method": "  LiRA  "})
    assert cleaned == {**GOOD, "method": "LiRA"}
    assert services.metadata_clean(values={"access": "", "paper_url": ""}) == {
        "access": "",
        "paper_url": "",
    }, "empty strings clear a field"


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("method", "m" * 101, "no more than 100 characters"),
        ("description", "d" * 1001, "no more than 1000 characters"),
        ("paper_url", "javascript:alert(1)", "http:// or https://"),
        ("paper_url", "ftp://example.org/paper.pdf", "http:// or https://"),
        ("code_url", "example.org/code", "http:// or https://"),
        ("code_url", "https://" + "x" * 500 + ".org", "no more than 500 characters"),
        ("access", "grey-box", "white-box, black-box"),
        ("method", 7, "Must be text"),
        ("method", "a\x00b", "Null characters"),
    ],
)
def test_each_rule_refuses_naming_the_field(field, value, reason):
    with pytest.raises(MetadataInvalid) as refused:
        services.metadata_clean(values={**GOOD, field: value})
    assert refused.value.message.startswith(f"{field}: ")
    assert reason in refused.value.message
    assert list(refused.value.extra["fields"]) == [field]
    assert refused.value.status_code == 400


def test_the_limits_themselves_are_allowed():
    cleaned = services.metadata_clean(values={"method": "m" * 100, "description": "d" * 1000})
    assert len(cleaned["method"]) == 100 and len(cleaned["description"]) == 1000


def test_every_bad_field_is_listed():
    with pytest.raises(MetadataInvalid) as refused:
        services.metadata_clean(values={"method": "m" * 101, "access": "x", "paper_url": "no"})
    assert set(refused.value.extra["fields"]) == {"method", "access", "paper_url"}


def test_an_upload_keeps_its_metadata(track, alice):
    submission = services.submission_create(
        track=track, user=alice, upload=submission_zip(track), filename="a.zip", metadata=GOOD
    )
    submission.refresh_from_db()
    assert {name: getattr(submission, name) for name in GOOD} == GOOD


def test_bad_metadata_refuses_the_upload_before_anything_is_counted_or_stored(track, alice):
    with pytest.raises(MetadataInvalid, match=r"^access: "):
        services.submission_create(
            track=track,
            user=alice,
            upload=submission_zip(track),
            filename="a.zip",
            metadata={**GOOD, "access": "grey-box"},
        )
    assert not Submission.objects.exists()
    assert not DailyUsage.objects.exists() and not Entrant.objects.exists(), "no quota row"


def test_the_owner_edits_only_the_fields_given(track, alice):
    submission = services.submission_create(
        track=track, user=alice, upload=submission_zip(track), filename="a.zip", metadata=GOOD
    )
    services.submission_metadata_update(
        submission=submission, user=alice, values={"method": "RMIA", "code_url": ""}
    )
    submission.refresh_from_db()
    assert submission.method == "RMIA" and submission.code_url == ""
    assert submission.paper_url == GOOD["paper_url"] and submission.access == "black-box"


@pytest.mark.parametrize("who", ["another participant", "an organizer"])
def test_nobody_but_the_owner_edits(track, alice, who):
    submission = services.submission_create(
        track=track, user=alice, upload=submission_zip(track), filename="a.zip", metadata=GOOD
    )
    other = make_user(username="bob") if who == "another participant" else make_staff()
    with pytest.raises(NotOwner):
        services.submission_metadata_update(
            submission=submission, user=other, values={"method": "mine now"}
        )
    submission.refresh_from_db()
    assert submission.method == GOOD["method"]


def test_a_bad_edit_changes_nothing(track, alice):
    submission = services.submission_create(
        track=track, user=alice, upload=submission_zip(track), filename="a.zip", metadata=GOOD
    )
    with pytest.raises(MetadataInvalid, match=r"^paper_url: "):
        services.submission_metadata_update(
            submission=submission,
            user=alice,
            values={"method": "new", "paper_url": "data:text/html,hi"},
        )
    submission.refresh_from_db()
    assert submission.method == GOOD["method"] and submission.paper_url == GOOD["paper_url"]
