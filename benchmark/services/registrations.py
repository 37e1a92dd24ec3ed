"""Registration for tracks that ask for it: accept the terms, come from an allowed e-mail
domain, and (where the track says so) wait for an organizer's approval, before downloading
the bundle, querying, joining a team or submitting."""

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from benchmark.errors import ApplicationError
from benchmark.models import AnyUser, OutgoingEmail, Registration, Track
from benchmark.permissions import track_organizes
from benchmark.services.emails import email_queue, site_url


class RegistrationRequired(ApplicationError):
    """The track asks for a registration that this participant does not have (yet) (403)."""

    status_code = 403


def _domain_allowed(track: Track, email: str) -> bool:
    if not track.email_domains:
        return True
    domain = email.rpartition("@")[2].lower()
    return bool(email) and any(
        domain == allowed or domain.endswith(f".{allowed}") for allowed in track.email_domains
    )


def participation_check(*, track: Track, user: AnyUser) -> None:
    """Let ``user`` take part in ``track`` (download, query, team, submit) or raise.

    Organizers of the track and staff always may. ``extra["registration"]`` is the
    participant's status (``null``: not registered), ``extra["register"]`` where to register.

    Raises
    ------
    RegistrationRequired
        Not registered, waiting for approval, or refused (403).
    """
    if not track.registration_required or track_organizes(track=track, user=user):
        return
    status = (
        Registration.objects.filter(track=track, user_id=user.pk)
        .values_list("status", flat=True)
        .first()
        if user.is_authenticated
        else None
    )
    if status == Registration.Status.APPROVED:
        return
    extra = {
        "registration": status,
        "register": f"/api/v1/tracks/{track.slug}/registration/",
    }
    if status == Registration.Status.PENDING:
        raise RegistrationRequired(
            f"your registration for {track.slug} waits for the organizers' approval", extra=extra
        )
    if status == Registration.Status.REFUSED:
        raise RegistrationRequired(f"your registration for {track.slug} was refused", extra=extra)
    raise RegistrationRequired(
        f"{track.slug} asks participants to register first"
        + (" and accept its terms" if track.terms.strip() else ""),
        extra=extra,
    )


def registration_apply(*, track: Track, user: User, accept_terms: bool) -> Registration:
    """Register ``user`` for ``track``: approved at once, or pending where the track asks for
    approval. Registering again returns the existing registration unchanged.

    Raises
    ------
    ApplicationError
        The terms were not accepted (400).
    RegistrationRequired
        The account's e-mail domain is not allowed (403); nothing is recorded, so a participant
        who changes their address may register.
    """
    existing = Registration.objects.filter(track=track, user=user).first()
    if existing is not None:
        return existing
    if track.terms.strip() and not accept_terms:
        raise ApplicationError(
            f"accept the terms of {track.slug} to register (accept_terms: true)",
            extra={
                "fields": {"accept_terms": ["The terms must be accepted."]},
                "terms": track.terms,
            },
        )
    if not _domain_allowed(track, user.email):
        raise RegistrationRequired(
            f"{track.slug} is open to e-mail addresses at {', '.join(track.email_domains)}; "
            f"your account's address is {user.email or 'empty'}",
            extra={"email_domains": track.email_domains},
        )
    status = (
        Registration.Status.PENDING if track.requires_approval else Registration.Status.APPROVED
    )
    try:
        with transaction.atomic():
            return Registration.objects.create(
                track=track, user=user, status=status, terms_accepted=track.terms
            )
    except IntegrityError:  # a concurrent request registered first
        return Registration.objects.get(track=track, user=user)


@transaction.atomic
def registration_decide(
    *, registration: Registration, by: AnyUser, approve: bool, reason: str = ""
) -> Registration:
    """Approve or refuse a registration (organizers with the ``moderation`` role check before
    calling) and tell the participant by e-mail."""
    registration = Registration.objects.select_for_update().get(pk=registration.pk)
    registration.status = Registration.Status.APPROVED if approve else Registration.Status.REFUSED
    registration.reason = reason.strip()[:500]
    registration.decided_at = timezone.now()
    registration.decided_by = by if isinstance(by, User) else None
    registration.save(update_fields=["status", "reason", "decided_at", "decided_by"])
    user = registration.user
    track = registration.track
    context = {
        "user": user,
        "track": track,
        "registration": registration,
        "link": site_url(reverse("track-detail", args=[track.slug])),
    }
    email_queue(
        kind=OutgoingEmail.Kind.REGISTRATION_DECIDED,
        key=f"{OutgoingEmail.Kind.REGISTRATION_DECIDED.value}:{registration.pk}:"
        f"{registration.status}:{registration.decided_at.timestamp()}",
        user=user,
        to=user.email,
        subject=render_to_string("emails/registration_decided_subject.txt", context).strip(),
        body=render_to_string("emails/registration_decided.txt", context),
    )
    return registration
