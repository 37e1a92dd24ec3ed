"""``python manage.py attack_run <track> <attack>``: queue a reference attack as a baseline."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from benchmark import services
from benchmark.errors import ApplicationError
from benchmark.models import Track


class Command(BaseCommand):
    help = "Queue a reference attack on a track; its predictions become a baseline submission."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("track")
        parser.add_argument("attack", help="a name from the attacks registry")

    def handle(self, *args: Any, **options: Any) -> None:
        track = Track.objects.filter(slug=options["track"]).first()
        if track is None:
            raise CommandError(f"no track {options['track']!r}")
        try:
            services.attack_queue(track=track, attack=options["attack"], by=None)
        except ApplicationError as error:
            raise CommandError(error.message) from error
        self.stdout.write(f"attack {options['attack']} queued on {track.slug} (queue: attacks)")
