"""``python manage.py track_import <track.toml> --release <dir> --solutions <dir>``: register a
track whose zoo was trained elsewhere (MICO's released archives) as a ready track."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from benchmark import services
from benchmark.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Register a track from its track file and a release trained elsewhere: the release is "
        "checked, copied into the zoo, and the track made ready (bundle, baselines, leaderboard)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="the track file the release was trained for")
        parser.add_argument(
            "--release", required=True, help="the folder holding <track>/ (MICO's archive)"
        )
        parser.add_argument(
            "--solutions", required=True, help="the folder holding <track>/ of solutions (ref/)"
        )
        parser.add_argument(
            "--queue", action="store_true", help="copy on a zoo worker instead of here"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise CommandError(f"cannot read {path}: {error}") from error
        try:
            track = services.track_import(
                spec_text=text,
                release=options["release"],
                solutions=options["solutions"],
                created_by=None,
                source=str(path),
                queue=options["queue"],
            )
        except ApplicationError as error:
            for problem in error.extra.get("problems", []):
                self.stderr.write(f"{problem['path']}: {problem['reason']}")
            raise CommandError(error.message) from error
        if track.build_status == track.BuildStatus.FAILED:
            raise CommandError(f"track {track.slug}: {track.build_message}")
        self.stdout.write(
            f"track {track.slug}: {track.models_built} of {track.models_total} models imported; "
            f"{track.build_status}"
        )
