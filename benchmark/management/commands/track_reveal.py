"""``python manage.py track_reveal <slug>``: publish the final leaderboard."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from benchmark import services
from benchmark.errors import ApplicationError
from benchmark.models import Track


class Command(BaseCommand):
    help = "Reveal the final phase of a track (after its deadline)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")

    def handle(self, *args: Any, **options: Any) -> None:
        track = Track.objects.filter(slug=options["slug"]).first()
        if track is None:
            raise CommandError(f"no track {options['slug']!r}")
        try:
            track = services.track_reveal(track=track, by=None)
        except ApplicationError as error:
            raise CommandError(error.message) from error
        assert track.revealed_at is not None
        self.stdout.write(f"track {track.slug}: final phase revealed at {track.revealed_at:%c}")
