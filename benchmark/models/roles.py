"""Who takes part in a track and how: teams and their members, registrations (terms, approval,
e-mail domains), and the organizers of each track with their roles."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from benchmark.models.competition import Track


class Team(models.Model):
    """Participants of one track who share a leaderboard row and a quota."""

    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(max_length=64)
    invite_code = models.CharField(max_length=32, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["track", "name"]
        constraints = [
            models.UniqueConstraint(fields=["track", "name"], name="team_track_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.track.slug})"


class TeamMember(models.Model):
    """A participant in a team; nobody is in two teams of one track (``track`` repeats the
    team's so that the database can keep that rule)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="members")
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_memberships"
    )
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team", "joined_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["track", "user"], name="member_one_team_per_track"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team}"


class Registration(models.Model):
    """A participant's registration for a track that asks for one."""

    class Status(models.TextChoices):
        PENDING = "pending", "pending approval"
        APPROVED = "approved", "approved"
        REFUSED = "refused", "refused"

    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="registrations")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="registrations"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    terms_accepted = models.TextField(blank=True, help_text="The terms the participant accepted.")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=500, blank=True, help_text="Told to the participant.")

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
        return f"{self.user} for {self.track}: {self.status}"


#: What an organizer of a track may do there, each granted on its own.
ROLES = ("build", "reveal", "rescore", "attacks", "moderation")


class TrackOrganizer(models.Model):
    """Someone who runs one track, with the roles they hold there (staff hold every role on
    every track; an organizer of one track holds nothing privileged on another)."""

    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="organizers")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="organized_tracks"
    )
    roles = models.JSONField(default=list, help_text=f"Any of {', '.join(ROLES)}.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["track", "user"], name="organizer_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} organizes {self.track} ({', '.join(self.roles)})"
