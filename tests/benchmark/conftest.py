"""Every competition test writes files (zoo, uploads) under its own temporary directories;
shared fixtures: a tiny ready track and a participant."""

from pathlib import Path

import pytest

from tests.benchmark import factories


@pytest.fixture(autouse=True)
def _arena_dirs(settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ARENA_ZOO_ROOT = tmp_path / "zoo"
    settings.ARENA_AUTO_BASELINES = []


@pytest.fixture
def track():
    """A tiny track whose zoo is built (``factories.ready_track``)."""
    return factories.ready_track("tiny")


@pytest.fixture
def alice():
    return factories.UserFactory(username="alice")
