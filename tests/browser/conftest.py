"""Browser tests: headless Chromium (Debian's package) driven by Playwright, against the real
web server and a real Celery worker.

The web server stores uploads and the worker reads them, so both must see the same media
directory as this process: ``ARENA_MEDIA_ROOT`` is set before any test starts either process
(``tests/conftest.py`` passes it on to both when it is set).
"""

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

SHARED_MEDIA = Path(
    os.environ.setdefault("ARENA_MEDIA_ROOT", tempfile.mkdtemp(prefix="arena-test-media-"))
)
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def shared_media(settings) -> Path:
    """This process writes zoo files where the web server and the worker read them."""
    settings.MEDIA_ROOT = SHARED_MEDIA
    settings.ARENA_ZOO_ROOT = SHARED_MEDIA / "zoo"
    return SHARED_MEDIA


@pytest.fixture
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
