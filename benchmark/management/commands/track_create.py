"""``python manage.py track_create tracks/x.toml``: register a track and queue its zoo build."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from benchmark import services
from benchmark.errors import ApplicationError


class Command(BaseCommand):
    help = "Register a track from its track file (TOML) and queue the build of its zoo."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="the track file, e.g. tracks/demo-digits.toml")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise CommandError(f"cannot read {path}: {error}") from error
        try:
            track = services.track_create(spec_text=text, created_by=None, source=str(path))
        except ApplicationError as error:
            raise CommandError(error.message) from error
        self.stdout.write(
            f"track {track.slug}: {track.models_total} models to build; zoo build queued"
        )
