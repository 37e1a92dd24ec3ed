"""E-mail: what participants asked to be told, and messages that never hold up a request.

A message is an :class:`~benchmark.models.OutgoingEmail` row written in the transaction of the
event it tells of, with a ``send_email`` job beside it (the job outbox of
:mod:`benchmark.services.jobs`): nothing is sent if the event rolls back, a broker that is
down delays the message instead of losing it, and a request or a scoring run never waits on a
mail server. The row's unique key names the event (``submission-scored:<id>``), so an event
noticed twice (a scoring run repeated after its worker died) still makes one message, and the
job sends a row only while it is ``pending``: a duplicated or late message finds it ``sent``.
One window remains, as with any mail client: a worker killed after the server took the message
and before the row says ``sent`` sends it again on the job's next run.

Sending goes through Django's configured backend (``EMAIL_URL``). A server that cannot be
reached or answers 4xx is tried again by the job, with growing delays, up to the task's
``max_attempts``; a server that refuses the message for good (5xx) fails it at once. Every
failure is logged and kept on the row (``error``).
"""

import logging
import smtplib
import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from benchmark.models import (
    AnyUser,
    EmailPreferences,
    Entrant,
    LeaderboardEntry,
    OutgoingEmail,
    Submission,
    Track,
)
from benchmark.services.jobs import job_enqueue

logger = logging.getLogger(__name__)


class EmailNotSent(RuntimeError):
    """The mail server could not take the message now; the job tries again later.

    Deliberately not one of ``jobs.TRANSIENT`` (a refused connection is a ``ConnectionError``):
    those are retried without counting, and a mail server that stays down must not be tried
    forever.
    """


def site_url(path: str) -> str:
    """An absolute link to ``path`` on the site (``ARENA_SITE_URL``): workers have no request
    to take the host from."""
    return f"{settings.ARENA_SITE_URL}{path}"


def email_preferences_update(
    *, user: User, submission_results: bool | None = None, final_reveal: bool | None = None
) -> EmailPreferences:
    """Turn notices on or off (``None`` leaves one as it is)."""
    preferences, _ = EmailPreferences.objects.get_or_create(user=user)
    if submission_results is not None:
        preferences.submission_results = submission_results
    if final_reveal is not None:
        preferences.final_reveal = final_reveal
    preferences.save()
    return preferences


def email_queue(
    *, kind: str, key: str, user: User | None, to: str, subject: str, body: str
) -> OutgoingEmail | None:
    """Record a message and send it from a worker once the current transaction commits.

    One message per ``key``: a second call with the same key queues nothing. Returns the new
    message, or None when nothing was queued (no address, or the key's message exists).
    """
    if not to:
        return None
    try:
        with transaction.atomic():
            email, created = OutgoingEmail.objects.get_or_create(
                key=key,
                defaults={
                    "kind": kind,
                    "user": user,
                    "to": to,
                    "subject": " ".join(subject.split())[:300],
                    "body": body,
                },
            )
    except IntegrityError:
        # get_or_create reads again after a lost insert race; only a row that is still not
        # there means another constraint refused this one: that is a bug, not a duplicate.
        if OutgoingEmail.objects.filter(key=key).exists():
            return None
        raise
    if not created:
        return None
    from benchmark import tasks

    job_enqueue(task=tasks.send_email, args=[email.pk], key=f"email:{email.pk}")
    return email


def _preferences(user_id: int | None, **wanted: bool) -> EmailPreferences | None:
    if user_id is None:
        return None
    return (
        EmailPreferences.objects.select_related("user")
        .filter(user_id=user_id, **wanted)
        .exclude(user__email="")
        .first()
    )


def submission_result_notify(*, submission: Submission) -> OutgoingEmail | None:
    """Tell the owner that an upload was scored or failed, if they asked to be told.

    Call in the transaction that writes the status. Only dev figures are told: final scores
    stay hidden until the reveal, in e-mail as on the site. One message per submission and
    outcome, so a re-score does not write again.
    """
    if submission.is_baseline or submission.status not in (
        Submission.Status.SCORED,
        Submission.Status.FAILED,
    ):
        return None
    preferences = _preferences(submission.owner_id, submission_results=True)
    if preferences is None:
        return None
    scored = submission.status == Submission.Status.SCORED
    track = Track.objects.get(pk=submission.track_id)
    entry = (
        LeaderboardEntry.objects.filter(submission=submission, phase="dev", is_current=True)
        .only("score", "ci_low", "ci_high", "per_scenario")
        .first()
        if scored
        else None
    )
    figures = entry.per_scenario if entry else {}
    context: dict[str, Any] = {
        "submission": submission,
        "track": track,
        "user": preferences.user,
        "scored": scored,
        "entry": entry,
        "per_scenario": [
            (slug, figures[slug].get(track.primary), figures[slug].get("ci") or [None, None])
            for slug in track.scenarios.order_by("position").values_list("slug", flat=True)
            if slug in figures
        ],
        "problems": submission.errors[:5],
        "link": site_url(reverse("submission-detail", args=[submission.pk])),
        "settings_link": site_url(reverse("account-email")),
    }
    kind = OutgoingEmail.Kind.SUBMISSION_SCORED if scored else OutgoingEmail.Kind.SUBMISSION_FAILED
    return email_queue(
        kind=kind,
        key=f"{kind.value}:{submission.pk}",
        user=preferences.user,
        to=preferences.user.email,
        subject=render_to_string("emails/submission_result_subject.txt", context),
        body=render_to_string("emails/submission_result.txt", context),
    )


def reveal_notify_queue(*, track: Track) -> None:
    """Queue the reveal's messages (one job fans them out on a worker: a track may have
    thousands of participants, and the organizer's request does not wait for them)."""
    from benchmark import tasks

    job_enqueue(task=tasks.notify_reveal, args=[track.pk], key=f"reveal-notify:{track.pk}")


def reveal_notify(*, track_id: int) -> int:
    """Tell every participant of a revealed track who asked (``final_reveal``) that the final
    leaderboard is out, with their own final rank. Returns how many messages were queued;
    running it again queues none twice."""
    from benchmark.selectors.leaderboard import ranked_rows

    track = Track.objects.get(pk=track_id)
    if track.revealed_at is None:
        return 0
    people = (
        EmailPreferences.objects.select_related("user")
        .filter(
            final_reveal=True,
            user_id__in=Entrant.objects.filter(track=track).values("user_id"),
        )
        .exclude(user__email="")
        .order_by("user_id")
    )
    rows = ranked_rows(track=track, phase="final", details=False)
    ranked = {member: row for row in rows if not row["is_baseline"] for member in row["members"]}
    queued = 0
    board = site_url(reverse("track-leaderboard", args=[track.slug])) + "?phase=final"
    with transaction.atomic():
        for preferences in people:
            user = preferences.user
            context = {
                "track": track,
                "user": user,
                "row": ranked.get(user.get_username()),
                "participants": sum(not row["is_baseline"] for row in rows),
                "link": board,
                "settings_link": site_url(reverse("account-email")),
            }
            queued += (
                email_queue(
                    kind=OutgoingEmail.Kind.FINAL_REVEALED,
                    key=f"{OutgoingEmail.Kind.FINAL_REVEALED.value}:{track.pk}:{user.pk}",
                    user=user,
                    to=user.email,
                    subject=render_to_string("emails/final_revealed_subject.txt", context),
                    body=render_to_string("emails/final_revealed.txt", context),
                )
                is not None
            )
    return queued


def email_password_reset_queue(*, user: AnyUser, to: str, subject: str, body: str) -> None:
    """Queue the message of Django's password reset form (each request its own message)."""
    email_queue(
        kind=OutgoingEmail.Kind.PASSWORD_RESET,
        key=f"{OutgoingEmail.Kind.PASSWORD_RESET.value}:{uuid.uuid4().hex}",
        user=user if isinstance(user, User) else None,
        to=to,
        subject=subject,
        body=body,
    )


def _refused_for_good(error: OSError) -> bool:
    """A 5xx answer (the address or the message refused): trying again changes nothing."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    return isinstance(error, smtplib.SMTPResponseException) and error.smtp_code >= 500


def email_send(*, email_id: int) -> bool:
    """Send one pending message through the configured backend; returns whether it went.

    A message that is not pending (sent, failed, gone) is left alone. The body of a password
    reset (its link signs in) is emptied once sent.

    Raises
    ------
    EmailNotSent
        The server could not be reached, timed out or answered 4xx: the job tries again.
    """
    email = OutgoingEmail.objects.filter(pk=email_id).first()
    if email is None or email.state != OutgoingEmail.State.PENDING:
        return False
    message = EmailMessage(
        subject=email.subject,
        body=email.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to],
    )
    try:
        message.send(fail_silently=False)
    except OSError as error:  # smtplib's errors, refused connections, timeouts, TLS
        text = f"{type(error).__name__}: {error}"[:2000]
        if _refused_for_good(error):
            logger.error(
                "e-mail %s (%s) to %s refused for good: %s", email.pk, email.kind, email.to, text
            )
            OutgoingEmail.objects.filter(pk=email.pk, state=OutgoingEmail.State.PENDING).update(
                state=OutgoingEmail.State.FAILED, error=text
            )
            return False
        logger.warning(
            "e-mail %s (%s) to %s not sent, will retry: %s", email.pk, email.kind, email.to, text
        )
        OutgoingEmail.objects.filter(pk=email.pk).update(error=text)
        raise EmailNotSent(text) from error
    done: dict[str, Any] = {"state": OutgoingEmail.State.SENT, "sent_at": timezone.now()}
    if email.kind == OutgoingEmail.Kind.PASSWORD_RESET:
        done["body"] = ""
    OutgoingEmail.objects.filter(pk=email.pk, state=OutgoingEmail.State.PENDING).update(**done)
    logger.info("e-mail %s (%s) sent to %s", email.pk, email.kind, email.to)
    return True


def email_abandon(*, email_id: int, reason: str) -> None:
    """Give a message up (its job ran out of attempts): failed, with why, and logged."""
    logger.error("e-mail %s given up: %s", email_id, reason)
    OutgoingEmail.objects.filter(pk=email_id, state=OutgoingEmail.State.PENDING).update(
        state=OutgoingEmail.State.FAILED, error=reason[:2000]
    )
