"""Who holds a quota in a track (a participant, or a team whose members share one) and what
it has spent: uploads in all, and uploads and query rows per UTC day."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from benchmark.models.competition import Track


class Entrant(models.Model):
    """Who holds a quota in a track: a participant, or a team (its members share one).

    A participant's own row exists as soon as they act on the track; its row lock serialises
    everything they do there (uploads, queries, joining a team). A team's row is its quota.
    """

    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="entrants")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    team = models.OneToOneField(
        "benchmark.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="entrant"
    )
    valid_total = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["track", "user"], condition=Q(user__isnull=False), name="entrant_unique"
            ),
            models.CheckConstraint(
                condition=Q(user__isnull=True, team__isnull=False)
                | Q(user__isnull=False, team__isnull=True),
                name="entrant_user_or_team",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.team or self.user} in {self.track}"


class DailyUsage(models.Model):
    """Uploads of one participant to one track on one UTC day (the per-day quotas)."""

    entrant = models.ForeignKey(Entrant, on_delete=models.CASCADE, related_name="days")
    day = models.DateField()
    valid = models.PositiveIntegerField(default=0)
    invalid = models.PositiveIntegerField(default=0)
    queries = models.PositiveBigIntegerField(
        default=0, help_text="Rows queried of a black-box track's models."
    )
    benchmark = models.PositiveIntegerField(default=0, help_text="Uploads in the benchmark phase.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["entrant", "day"], name="usage_unique")]

    def __str__(self) -> str:
        return f"{self.entrant} on {self.day}: {self.valid} valid, {self.invalid} invalid"
