"""Shared steps of the competition tests: scored submissions, API clients per role."""

from django.contrib.auth.models import User
from rest_framework.test import APIClient

from benchmark import services
from benchmark.models import Submission, Track
from tests.benchmark.factories import submission_zip


def scored(
    track: Track, user: User | None, *, skill: float = 1.0, seed: int = 0, attack: str = ""
) -> Submission:
    """Upload a valid zip through the service and score it at once."""
    submission = services.submission_create(
        track=track,
        user=user,
        upload=submission_zip(track, skill=skill, seed=seed),
        filename="predictions.zip",
        attack=attack,
    )
    services.submission_score(submission_id=submission.pk)
    submission.refresh_from_db()
    if submission.status == Submission.Status.SCORING:
        # A committed row (a transactional test) after an integration test started the real
        # worker: its job went to Redis and the worker claimed it first; it scores it.
        from tests.integration.conftest import wait_for

        def done() -> Submission | None:
            submission.refresh_from_db()
            return None if submission.status == Submission.Status.SCORING else submission

        wait_for(done, timeout=60, what=f"submission {submission.pk} scored by the worker")
    assert submission.status == Submission.Status.SCORED, submission.message
    return submission


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client
