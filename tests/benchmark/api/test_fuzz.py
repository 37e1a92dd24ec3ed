"""Schemathesis fuzzes every operation of the OpenAPI schema, as a participant and as an
organizer: no server error, every status and body as the schema documents it, invalid input
refused. Bounded examples per operation keep it to seconds; the data is a ready track with a
scored submission and a baseline, so paths resolve to real rows."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.config import SchemathesisConfig

from config.wsgi import application
from tests.benchmark.factories import make_staff, make_user, ready_track
from tests.benchmark.helpers import scored

MAX_EXAMPLES = 12
CONFIG = """
[generation]
max-examples = {examples}
deterministic = true

[phases]
stateful.enabled = false

[checks]
enabled = true
# "Valid" as far as the schema can say: a zip, a track file, a password or labels of one class
# pass the schema and are still refused (400, with the reason) - as they must be.
positive_data_acceptance.enabled = false
"""


@pytest.fixture(scope="module")
def _committed_world(django_db_setup, django_db_blocker, tmp_path_factory):
    """The rows the paths point at, made once for the module and removed after it (each test
    still runs in a transaction of its own, rolled back)."""
    from django.conf import settings as django_settings
    from django.contrib.auth.models import User

    from benchmark.models import Track

    root = tmp_path_factory.mktemp("fuzz")
    previous = django_settings.MEDIA_ROOT, django_settings.ARENA_ZOO_ROOT
    django_settings.MEDIA_ROOT, django_settings.ARENA_ZOO_ROOT = root / "media", root / "zoo"
    with django_db_blocker.unblock():
        track = ready_track("fuzz")
        participant = make_user(username="fuzz-participant")
        organizer = make_staff(username="fuzz-organizer")
        submission = scored(track, participant, skill=2.0)
        scored(track, None, attack="loss")
        rows = {
            "submission": submission.pk,
            "participant": Token.objects.create(user=participant).key,
            "organizer": Token.objects.create(user=organizer).key,
            "root": root,
        }
    try:
        yield rows
    finally:
        with django_db_blocker.unblock():
            Track.objects.filter(slug="fuzz").delete()
            User.objects.filter(username__startswith="fuzz-").delete()
        django_settings.MEDIA_ROOT, django_settings.ARENA_ZOO_ROOT = previous


@pytest.fixture
def world(_committed_world, db, settings):
    """The app's requests run inside the test's transaction: the connection stays open across
    them, as Django's test client keeps it."""
    from django.core import signals
    from django.db import close_old_connections

    # Every token request checks a password; the production hasher takes ~0.2 s a try.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = _committed_world["root"] / "media"
    settings.ARENA_ZOO_ROOT = _committed_world["root"] / "zoo"
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield _committed_world
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


schema = schemathesis.openapi.from_wsgi(
    "/api/v1/schema/",
    application,
    config=SchemathesisConfig.from_str(CONFIG.format(examples=MAX_EXAMPLES)),
)
FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@schema.parametrize()
@FUZZ
def test_as_a_participant(case, world):
    _call(case, world, "participant")


@schema.parametrize()
@FUZZ
def test_as_an_organizer(case, world):
    _call(case, world, "organizer")


def _call(case, world, role):
    """Paths point at the real rows (a random slug or id is a plain 404 every time)."""
    if "slug" in (case.path_parameters or {}):
        case.path_parameters["slug"] = "fuzz"
    if "submission_id" in (case.path_parameters or {}):
        case.path_parameters["submission_id"] = world["submission"]
    case.call_and_validate(headers={"Authorization": f"Token {world[role]}"})


def test_the_fuzzed_operations_include_the_owners_edits():
    """The owner's PATCH of a submission's metadata (as its owner, the participant, and as an
    organizer, who is refused) and of their e-mail notices are among the fuzzed operations."""
    operations = {(op.ok().method.upper(), op.ok().path) for op in schema.get_all_operations()}
    assert ("PATCH", "/api/v1/submissions/{submission_id}/") in operations
    assert ("PATCH", "/api/v1/account/email/") in operations
