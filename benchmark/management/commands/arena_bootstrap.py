"""Prepares a one-machine installation: called by `make run` after migrations.

Idempotent: the organizer account is created (and its password printed) only once; demo tracks
are registered when absent; zoos that are not built yet are queued again (a chunk whose files
are complete is skipped, so this only resumes what a restart interrupted).
"""

import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand

from benchmark import services
from benchmark.models import Track
from benchmark.zoo.tracks import parse_track


class Command(BaseCommand):
    help = "Prepare a one-machine installation (organizer account, demo tracks and their zoos)."

    def handle(self, *args: Any, **options: Any) -> None:
        self._organizer()
        for name in settings.ARENA_DEMO_TRACKS:
            self._track(Path(settings.BASE_DIR) / name)
        self.stdout.write("bootstrap: database ready")

    def _organizer(self) -> None:
        username = settings.ARENA_ORGANIZER
        if User.objects.filter(username=username).exists():
            self.stdout.write(f"bootstrap: organizer account {username!r} exists")
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email="", password=password)
        self.stdout.write(
            self.style.SUCCESS(
                f"bootstrap: organizer account created (shown once)\n"
                f"    username: {username}\n    password: {password}"
            )
        )

    def _track(self, path: Path) -> None:
        if not path.is_file():
            self.stdout.write(self.style.WARNING(f"bootstrap: no track file {path}"))
            return
        text = path.read_text(encoding="utf-8")
        slug = parse_track(text, source=str(path)).slug
        track = Track.objects.filter(slug=slug).first()
        if track is None:
            track = services.track_create(spec_text=text, created_by=None, source=str(path))
            self.stdout.write(f"bootstrap: track {slug} registered; zoo build queued")
        elif services.zoo_build_queue(track=track):
            self.stdout.write(f"bootstrap: track {slug} not built yet; zoo build queued again")
