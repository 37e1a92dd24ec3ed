"""Two gunicorn instances on one host (``config/gunicorn.py``) keep their control sockets apart,
each under its own var directory, and both serve."""

import urllib.request
from pathlib import Path

import pytest

from tests.conftest import _process_env, _stop, start_web

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_instances_on_one_host_each_have_their_own_control_socket(tmp_path):
    shared = Path.home() / ".gunicorn" / "gunicorn.ctl"
    before = shared.exists()
    servers = []
    try:
        for name in ("one", "two"):
            env = _process_env(tmp_path / name)
            servers.append((start_web(env, tmp_path / f"{name}.log"), Path(env["ARENA_VAR_DIR"])))
        for (_, base), var in servers:
            assert urllib.request.urlopen(f"{base}/api/v1/tracks/", timeout=10).status == 200
            assert (var / "gunicorn.ctl").is_socket()
    finally:
        for (proc, _), _ in servers:
            _stop(proc)
    assert shared.exists() == before, "nothing is written to the per-user default path"
