"""Who runs a track and who may take part in it.

A :class:`TrackOrganizer` holds roles on one track (the global staff flag keeps every role on
every track); a :class:`Registration` is a participant's standing on a track that asks for
terms, approval or an e-mail domain before anyone downloads, submits or queries.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from benchmark.models.competition import Track

#: The roles an organizer may hold on a track, and what each allows.
ROLES: dict[str, str] = {
    "build": "queue the zoo build (or resume a failed one)",
    "reveal": "see the final leaderboard before the reveal, and reveal it",
    "rescore": "re-score every submission",
    "attacks": "run reference attacks as baselines",
    "moderation": "see, hide and disqualify entries; approve or refuse registrations",
}


class TrackOrganizer(models.Model):
    """A user's roles on one track. Its organizers upload outside the quotas and are never
    ranked on it, as staff."""

    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="organizers")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="organizing"
    )
    build = models.BooleanField(default=True, help_text=ROLES["build"])
    reveal = models.BooleanField(default=True, help_text=ROLES["reveal"])
    rescore = models.BooleanField(default=True, help_text=ROLES["rescore"])
    attacks = models.BooleanField(default=True, help_text=ROLES["attacks"])
    moderation = models.BooleanField(default=True, help_text=ROLES["moderation"])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["track", "user"]
        constraints = [
            models.UniqueConstraint(fields=["track", "user"], name="organizer_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} organizes {self.track}"

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(role for role in ROLES if getattr(self, role))


class Registration(models.Model):
    """A participant's registration on a track: the terms they accepted (their hash, so new
    terms ask again) and the organizers' decision."""

    class Status(models.TextChoices):
        PENDING = "pending", "waiting for approval"
        APPROVED = "approved", "approved"
        REFUSED = "refused", "refused"

    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="registrations")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="registrations"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    terms_sha256 = models.CharField(
        max_length=64, blank=True, help_text="SHA-256 of the terms accepted (empty: none)."
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["track", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["track", "user"], name="registration_unique"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "approved", "refused"]),
                name="registration_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} on {self.track} ({self.status})"
