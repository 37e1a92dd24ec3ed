"""E-mail end to end: uploads over HTTP to gunicorn, a Celery worker (its own Redis) scores
them and sends through SMTP (``EMAIL_URL``) to a real aiosmtpd server process, whose mailbox
the test reads. A participant who did not opt in gets nothing; an SMTP server that is down
fails neither the upload nor the scoring, and the message arrives once the server is up."""

import mailbox
import re
import socket
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token

from benchmark.models import Job, OutgoingEmail, Submission
from benchmark.services import email_preferences_update
from tests.benchmark.factories import make_user, ready_track, submission_zip
from tests.conftest import ROOT, _free_port, _stop
from tests.http import post_file, request
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


class SmtpServer:
    """``python -m aiosmtpd`` on a port of its own, keeping what it receives in a Maildir."""

    def __init__(self, directory: Path, port: int) -> None:
        self.port = port
        self.maildir = directory / "maildir"
        self.log = directory / "smtp.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{self.port}",
                   "-c", "aiosmtpd.handlers.Mailbox", str(self.maildir)]  # fmt: skip
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_for(self._listening, timeout=30, what="the SMTP server", logs=self.log.read_text)

    def _listening(self) -> bool:
        assert self.proc is not None and self.proc.poll() is None, self.log.read_text()
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def messages(self) -> list[Message]:
        if not self.maildir.is_dir():
            return []
        return list(mailbox.Maildir(self.maildir, create=False))

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SmtpServer]:
    server = SmtpServer(tmp_path, _free_port())
    try:
        yield server
    finally:
        server.stop()


def _body(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def _participant(username: str, *, opted_in: bool) -> tuple[object, str]:
    user = make_user(username=username, email=f"{username}@example.org")
    if opted_in:
        email_preferences_update(user=user, submission_results=True)
    return user, Token.objects.get_or_create(user=user)[0].key


def _upload(base: str, track, token: str, seed: int) -> int:
    reply = post_file(
        f"{base}/api/v1/tracks/{track.slug}/submissions/",
        submission_zip(track, seed=seed),
        token=token,
    )
    assert reply.status == 202, reply.body
    return int(reply.json()["id"])


def _scored(*ids: int) -> bool:
    statuses = set(Submission.objects.filter(pk__in=ids).values_list("status", flat=True))
    assert "failed" not in statuses, Submission.objects.filter(pk__in=ids).values("message")
    return statuses == {"scored"}


def test_an_opted_in_participant_receives_the_result_and_a_reset_link(stack, smtp):
    smtp.start()
    track = ready_track("mail")
    ada, ada_token = _participant("ada-mail", opted_in=True)
    bea, bea_token = _participant("bea-mail", opted_in=False)
    base = stack.web()
    stack.env.update(EMAIL_URL=f"smtp://127.0.0.1:{smtp.port}", ARENA_SITE_URL=base)
    stack.worker()

    quiet = _upload(base, track, bea_token, seed=1)
    told = _upload(base, track, ada_token, seed=2)
    wait_for(lambda: _scored(quiet, told), timeout=90, what="both scored", logs=stack.logs)
    [message] = wait_for(smtp.messages, timeout=60, what="the e-mail", logs=stack.logs)
    assert message["To"] == "ada-mail@example.org"
    assert message["From"] == "arena@localhost"
    assert message["Subject"] == f"MIA Arena: submission #{told} to mail scored"
    assert f"{base}/submissions/{told}/" in _body(message)
    assert not OutgoingEmail.objects.filter(user=bea).exists(), "nothing for bea, ever"
    email = OutgoingEmail.objects.get(user=ada)
    assert email.state == OutgoingEmail.State.SENT
    assert Job.objects.get(key=f"email:{email.pk}").state == Job.State.DONE

    # Django's password reset goes through the same outbox, worker and SMTP server.
    form = request("GET", f"{base}/accounts/password_reset/")
    cookie = re.search(r"csrftoken=([^;]+)", form.headers["Set-Cookie"]).group(1)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', form.body).group(1)
    reset = request(
        "POST",
        f"{base}/accounts/password_reset/",
        body=urllib.parse.urlencode(
            {"csrfmiddlewaretoken": token.decode(), "email": "ada-mail@example.org"}
        ).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={cookie}",
            "Referer": f"{base}/accounts/password_reset/",
        },
    )
    assert reset.status == 200 and b"Check your email" in reset.body, "redirected to done"
    messages = wait_for(
        lambda: len(smtp.messages()) == 2 and smtp.messages(),
        timeout=60,
        what="the reset e-mail",
        logs=stack.logs,
    )
    [reset_message] = [m for m in messages if "password" in m["Subject"]]
    assert reset_message["To"] == "ada-mail@example.org"
    link = re.search(r"http://127\.0\.0\.1:\d+(/accounts/reset/\S+/)", _body(reset_message))
    assert link, _body(reset_message)
    assert "Choose a new password" in request("GET", f"{base}{link.group(1)}").body.decode()


def test_an_smtp_server_that_is_down_fails_nothing_and_the_message_arrives_later(stack, smtp):
    track = ready_track("maildown")
    ada, token = _participant("ada-down", opted_in=True)
    base = stack.web()
    stack.env.update(
        EMAIL_URL=f"smtp://127.0.0.1:{smtp.port}",  # nothing listens there yet
        ARENA_SITE_URL=base,
        ARENA_JOB_SWEEP_EVERY="1",
    )
    stack.worker()
    stack.beat()  # publishes the retry when its delay is over

    submission_id = _upload(base, track, token, seed=1)
    wait_for(lambda: _scored(submission_id), timeout=90, what="scoring", logs=stack.logs)
    board = request("GET", f"{base}/api/v1/tracks/maildown/leaderboard/").json()
    assert [row["submission_id"] for row in board["rows"]] == [submission_id]

    def failed_once() -> OutgoingEmail | None:
        email = OutgoingEmail.objects.filter(user=ada).first()
        return email if email is not None and email.error else None

    email = wait_for(failed_once, timeout=60, what="a failed try", logs=stack.logs)
    assert "ConnectionRefusedError" in email.error and email.state == OutgoingEmail.State.PENDING
    assert smtp.messages() == []

    smtp.start()
    [message] = wait_for(smtp.messages, timeout=90, what="the retried e-mail", logs=stack.logs)
    assert message["To"] == "ada-down@example.org"
    assert f"{base}/submissions/{submission_id}/" in _body(message)
    email.refresh_from_db()
    assert email.state == OutgoingEmail.State.SENT
    job = Job.objects.get(key=f"email:{email.pk}")
    assert job.state == Job.State.DONE and job.attempts >= 2
    assert Submission.objects.get(pk=submission_id).status == Submission.Status.SCORED
