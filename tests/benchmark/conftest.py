"""Every competition test writes files (zoo, uploads) under its own temporary directories."""

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _arena_dirs(settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ARENA_ZOO_ROOT = tmp_path / "zoo"
    settings.ARENA_AUTO_BASELINES = []
