"""The static files the pages need are served by the site itself (no CDN)."""

from pathlib import Path

import plotly
import pytest
from django.contrib.staticfiles import finders

ROOT = Path(__file__).resolve().parents[2]


def test_vendored_plotly_is_the_plotly_package_file_byte_for_byte():
    package_copy = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    assert (ROOT / "static/vendor/plotly.min.js").read_bytes() == package_copy.read_bytes()


@pytest.mark.parametrize("path", ["vendor/plotly.min.js", "js/arena.js", "css/arena.css"])
def test_static_files_are_found(path):
    assert finders.find(path) is not None


@pytest.mark.django_db
def test_pages_load_no_script_from_another_host(client):
    html = client.get("/").content.decode()
    assert "/static/js/arena.js" in html
    assert "//cdn" not in html and "https://" not in html
