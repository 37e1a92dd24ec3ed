"""E-mail notices: who gets which message, one message per event, sent by a job through the
configured backend, retried a bounded number of times when the server is down, never
blocking or failing what caused it.

Unit tests send through Django's test backend (``mail.outbox``) or a real SMTP connection to a
port nothing listens on, or to an in-process aiosmtpd server that refuses the recipient;
tests/integration/test_email_delivery.py delivers to an SMTP server process."""

import datetime as dt
import smtplib
import socket

import pytest
from django.core import mail
from django.utils import timezone

from benchmark import services, tasks
from benchmark.models import EmailPreferences, Job, LeaderboardEntry, OutgoingEmail, Submission
from benchmark.services import emails, jobs
from tests.benchmark.factories import broken_zip, make_staff, make_user
from tests.benchmark.helpers import scored

pytestmark = pytest.mark.django_db

SITE = "https://arena.example.org"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.ARENA_SITE_URL = SITE


def _opted_in(username, **wanted):
    user = make_user(username=username, email=f"{username}@example.org")
    services.email_preferences_update(user=user, **(wanted or {"submission_results": True}))
    return user


def _send_all():
    """Run every pending send_email job as a worker would; returns what each run did."""
    return [
        jobs.job_run(job_id=job.pk, keep_lease=False)
        for job in Job.objects.filter(task=tasks.send_email.name, state=Job.State.PENDING)
    ]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_preferences_are_off_until_turned_on(alice):
    preferences = services.email_preferences_update(user=alice, final_reveal=True)
    assert (preferences.submission_results, preferences.final_reveal) == (False, True)
    assert EmailPreferences(user=alice).submission_results is False
    services.email_preferences_update(user=alice, submission_results=True)
    preferences.refresh_from_db()
    assert (preferences.submission_results, preferences.final_reveal) == (True, True)


def test_an_opted_in_owner_is_told_of_the_dev_scores_with_a_link(track):
    ada = _opted_in("ada")
    submission = scored(track, ada)
    email = OutgoingEmail.objects.get()
    assert (email.kind, email.to, email.state) == (
        "submission-scored",
        "ada@example.org",
        "pending",
    )
    assert not mail.outbox, "scoring only queues the message"
    assert _send_all() == ["done"]
    [message] = mail.outbox
    assert message.to == ["ada@example.org"]
    assert message.subject == f"MIA Arena: submission #{submission.pk} to tiny scored"
    assert f"{SITE}/submissions/{submission.pk}/" in message.body
    assert f"{SITE}/accounts/email/" in message.body, "how to turn it off"
    entries = {
        entry.phase: entry
        for entry in LeaderboardEntry.objects.filter(submission=submission, is_current=True)
    }
    assert f"{entries['dev'].score:.4f}" in message.body

    def shown(entry):
        figures = [entry.score, entry.ci_low, entry.ci_high]
        for scenario in entry.per_scenario.values():
            figures += [scenario[track.primary], *scenario["ci"]]
        return {f"{value:.4f}" for value in figures} | {f"{value:.3f}" for value in figures}

    final_only = shown(entries["final"]) - shown(entries["dev"])
    assert final_only, "final figures differ from dev ones (else this test proves nothing)"
    assert not [text for text in final_only if text in message.body], "final stays secret"
    email.refresh_from_db()
    assert email.state == "sent" and email.sent_at is not None


@pytest.mark.parametrize(
    "preferences", [None, {"submission_results": False}, {"final_reveal": True}]
)
def test_a_participant_who_did_not_opt_in_gets_nothing(track, preferences):
    bea = make_user(username="bea", email="bea@example.org")
    if preferences is not None:
        services.email_preferences_update(user=bea, **preferences)
    scored(track, bea)
    assert not OutgoingEmail.objects.exists()
    assert not Job.objects.filter(task=tasks.send_email.name).exists()


def test_no_address_or_a_baseline_gets_nothing(track):
    nobody = make_user(username="nobody", email="")
    services.email_preferences_update(user=nobody, submission_results=True)
    scored(track, nobody)
    scored(track, None, attack="loss")
    assert not OutgoingEmail.objects.exists()


def test_a_zip_that_fails_at_scoring_tells_the_reason(track):
    ada = _opted_in("ada")
    submission = services.submission_create(
        track=track, user=ada, upload=scored_zip(track), filename="a.zip"
    )
    with submission.file.open("wb") as handle:  # the stored file no longer scores
        handle.write(broken_zip(track))
    services.submission_score(submission_id=submission.pk)
    submission.refresh_from_db()
    assert submission.status == Submission.Status.FAILED
    assert _send_all() == ["done"]
    [message] = mail.outbox
    assert message.subject.endswith("failed")
    assert submission.message in message.body
    assert submission.errors[0]["reason"] in message.body


def scored_zip(track):
    from tests.benchmark.factories import submission_zip

    return submission_zip(track)


def test_scoring_given_up_tells_that_it_was_not_the_zip(track):
    ada = _opted_in("ada")
    submission = services.submission_create(
        track=track, user=ada, upload=scored_zip(track), filename="a.zip"
    )
    services.submission_abandon(submission_id=submission.pk, reason="the worker was lost")
    assert _send_all() == ["done"]
    [message] = mail.outbox
    assert "not a problem with your zip" in message.body


def test_one_message_per_event_however_often_it_is_noticed(track):
    ada = _opted_in("ada")
    submission = scored(track, ada)
    assert emails.submission_result_notify(submission=submission) is None
    services.track_rescore(track=track)
    services.submission_score(submission_id=submission.pk)
    assert OutgoingEmail.objects.count() == 1, "a re-score does not write again"
    assert _send_all() == ["done"]
    assert emails.email_send(email_id=OutgoingEmail.objects.get().pk) is False, "already sent"
    assert len(mail.outbox) == 1


def test_the_reveal_tells_each_opted_in_participant_their_final_rank(track):
    ada, bea = _opted_in("ada", final_reveal=True), _opted_in("bea", final_reveal=True)
    quiet = make_user(username="cy", email="cy@example.org")
    _opted_in("dee", final_reveal=True)  # took no part in the track
    scored(track, ada, skill=3.0, seed=1)
    scored(track, bea, skill=0.5, seed=2)
    scored(track, quiet, seed=3)
    now = timezone.now()
    Submission.objects.update(created_at=now - dt.timedelta(hours=1))
    track.dev_opens, track.final_deadline = (
        now - dt.timedelta(days=1),
        now - dt.timedelta(minutes=1),
    )
    track.save()
    services.track_reveal(track=track, by=make_staff())
    notify = Job.objects.get(task=tasks.notify_reveal.name)
    assert notify.args == [track.pk] and not OutgoingEmail.objects.exists(), "fanned out later"
    assert jobs.job_run(job_id=notify.pk, keep_lease=False) == "done"
    assert sorted(OutgoingEmail.objects.values_list("to", flat=True)) == [
        "ada@example.org",
        "bea@example.org",
    ]
    assert services.reveal_notify(track_id=track.pk) == 0, "nobody is told twice"
    assert _send_all() == ["done", "done"]
    bodies = {message.to[0]: message for message in mail.outbox}
    assert "ranks 1 of 3" in bodies["ada@example.org"].body
    assert "ranks 3 of 3" in bodies["bea@example.org"].body
    assert f"{SITE}/tracks/tiny/leaderboard/?phase=final" in bodies["ada@example.org"].body
    assert bodies["ada@example.org"].subject.endswith("tiny is revealed")


def test_an_unreachable_server_is_retried_a_bounded_number_of_times_then_given_up(
    track, settings, caplog, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", _free_port()  # nothing listens
    ada = _opted_in("ada")
    submission = scored(track, ada)
    assert submission.status == Submission.Status.SCORED, "the scoring is not held up"
    job = Job.objects.get(task=tasks.send_email.name)
    email = OutgoingEmail.objects.get()
    outcomes = []
    for attempt in range(1, tasks.send_email.max_attempts + 1):
        with django_capture_on_commit_callbacks(execute=True):  # giving up records on commit
            outcomes.append(jobs.job_run(job_id=job.pk, keep_lease=False))
        job.refresh_from_db()
        email.refresh_from_db()
        assert job.attempts == attempt, "every try counts"
        assert "ConnectionRefusedError" in email.error
        if attempt < tasks.send_email.max_attempts:
            assert job.state == Job.State.PENDING and job.not_before > timezone.now()
    assert outcomes == ["retry"] * (tasks.send_email.max_attempts - 1) + ["failed"]
    assert job.state == Job.State.FAILED
    email.refresh_from_db()
    assert email.state == OutgoingEmail.State.FAILED and "failed 8 times" in email.error
    assert jobs.job_run(job_id=job.pk, keep_lease=False) == "skipped", "no more tries"
    assert "not sent, will retry" in caplog.text and "given up" in caplog.text


def test_a_server_that_refuses_the_recipient_fails_the_message_at_once(track, settings):
    from aiosmtpd.controller import Controller

    class Refuse:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            return "550 5.1.1 no such mailbox"

    controller = Controller(Refuse(), hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
        scored(track, _opted_in("ada"))
        assert _send_all() == ["done"], "nothing to retry"
    finally:
        controller.stop()
    email = OutgoingEmail.objects.get()
    assert email.state == OutgoingEmail.State.FAILED and "550" in email.error


def test_only_5xx_answers_are_final():
    refused = smtplib.SMTPRecipientsRefused({"a@example.org": (550, b"no such mailbox")})
    busy = smtplib.SMTPRecipientsRefused({"a@example.org": (451, b"try again later")})
    assert emails._refused_for_good(refused)
    assert not emails._refused_for_good(busy)
    assert emails._refused_for_good(smtplib.SMTPDataError(554, b"rejected"))
    assert not emails._refused_for_good(smtplib.SMTPDataError(421, b"closing"))
    assert not emails._refused_for_good(ConnectionRefusedError())


def test_the_email_tasks_are_job_tasks_on_the_scoring_queue():
    for task in (tasks.send_email, tasks.notify_reveal):
        assert task.acks_late and task.reject_on_worker_lost
        assert task.time_limit > task.soft_time_limit
        assert jobs.queue_of(task) == "scoring"
    assert not issubclass(emails.EmailNotSent, jobs.TRANSIENT), "else retried without counting"


@pytest.mark.slow  # a refused publish takes redis-py some seconds of retries
def test_a_message_waits_out_a_broker_that_is_down_and_goes_once_it_is_back(
    track, django_capture_on_commit_callbacks
):
    from tests.conftest import app_broker

    ada = _opted_in("ada")
    with django_capture_on_commit_callbacks(execute=False):
        submission = scored(track, ada)
    job = Job.objects.get(task=tasks.send_email.name)
    with app_broker(f"redis://127.0.0.1:{_free_port()}/0"):  # nothing listens: the broker is down
        assert jobs.job_publish(job_id=job.pk) is False
    job.refresh_from_db()
    assert job.state == Job.State.PENDING and "publish" in job.error, "kept, not lost"
    assert submission.status == Submission.Status.SCORED and not mail.outbox
    assert jobs.job_publish(job_id=job.pk) is True  # the sweeper, once the broker answers (eager)
    job.refresh_from_db()
    assert job.state == Job.State.DONE and job.publishes == 2
    assert [message.to for message in mail.outbox] == [["ada@example.org"]]


def test_a_message_a_constraint_refuses_is_an_error_not_a_duplicate():
    """Only the event's own earlier message makes a second one a no-op; any other refusal
    (here a kind the table does not know) surfaces."""
    from django.db import IntegrityError

    from benchmark.services.emails import email_queue

    with pytest.raises(IntegrityError):
        email_queue(kind="no-such-kind", key="k:1", user=None, to="a@example.org", subject="s",
                    body="b")  # fmt: skip
    first = email_queue(
        kind="password-reset", key="k:2", user=None, to="a@example.org", subject="s", body="b"
    )
    again = email_queue(
        kind="password-reset", key="k:2", user=None, to="a@example.org", subject="s", body="b"
    )
    assert first is not None and again is None
