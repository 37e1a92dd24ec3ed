"""E-mail: what each participant asked to be told, and every message the platform sends.

A message is a row written in the transaction of what it tells (a submission scored, the final
leaderboard revealed, a password reset asked for) and sent by a job on a worker
(``benchmark.services.emails``), so a request or a scoring run never waits on a mail server and
a message survives a broker that is down. The row's unique ``key`` names the event, so one event
makes one message however often the code that notices it runs.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class EmailPreferences(models.Model):
    """What a user wants to be told by e-mail; every notice is off until the user turns it on."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="email_preferences",
    )
    submission_results = models.BooleanField(
        default=False, help_text="Each of my uploads scored or failed."
    )
    final_reveal = models.BooleanField(
        default=False, help_text="The final leaderboard of a track I took part in revealed."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "email preferences"

    def __str__(self) -> str:
        return f"e-mail preferences of {self.user}"


class OutgoingEmail(models.Model):
    class Kind(models.TextChoices):
        SUBMISSION_SCORED = "submission-scored", "submission scored"
        SUBMISSION_FAILED = "submission-failed", "submission failed"
        FINAL_REVEALED = "final-revealed", "final leaderboard revealed"
        PASSWORD_RESET = "password-reset", "password reset"
        REGISTRATION_DECIDED = "registration-decided", "registration approved or refused"

    class State(models.TextChoices):
        PENDING = "pending", "pending"
        SENT = "sent", "sent"
        FAILED = "failed", "failed (gave up)"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    key = models.CharField(max_length=200, unique=True, help_text="The event it tells of.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+"
    )
    to = models.EmailField()
    subject = models.CharField(max_length=300)
    body = models.TextField(help_text="Emptied once sent when it holds a secret (a reset link).")
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, help_text="The last failure to send.")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["pending", "sent", "failed"]), name="email_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(
                    kind__in=[
                        "submission-scored",
                        "submission-failed",
                        "final-revealed",
                        "password-reset",
                        "registration-decided",
                    ]
                ),
                name="email_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to} ({self.state})"
