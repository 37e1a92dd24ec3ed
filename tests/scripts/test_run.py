"""`make run`'s script (scripts/run.sh) stops every process it started within 15 s, however it
is stopped: SIGTERM to its whole process group (what a supervisor does), SIGTERM to the script,
or Ctrl-C (SIGINT) - also while the zoo worker is busy training."""

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.benchmark.factories import track_toml
from tests.conftest import ROOT, _free_port

pytestmark = pytest.mark.slow


def _processes_with(marker: str) -> list[int]:
    """Every live process whose environment carries ``marker`` (inherited by all children)."""
    found = []
    needle = f"ARENA_RUN_ID={marker}".encode()
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if needle in environ.read_bytes().split(b"\0"):
                state = (environ.parent / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    found.append(int(environ.parent.name))
        except OSError:
            continue
    return found


def _env(tmp: Path, marker: str) -> dict[str, str]:
    from django.conf import settings

    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    track = tmp / "busy.toml"
    track.write_text(track_toml("busy", train=8, dev=8, final=8, epochs=200))
    env.update(
        ARENA_RUN_ID=marker,
        ARENA_VAR_DIR=str(tmp / "var"),
        ARENA_PORT=str(_free_port()),
        ARENA_DEMO_TRACKS=str(track),
        ARENA_AUTO_BASELINES="",
        ARENA_STATIC_ROOT=str(settings.STATIC_ROOT),
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    return env


@pytest.mark.parametrize("how", ["SIGTERM to the process group", "SIGTERM", "SIGINT"])
def test_every_way_of_stopping_make_run_ends_all_its_processes_within_15_s(tmp_path, how):
    marker = uuid.uuid4().hex
    env = _env(tmp_path, marker)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    log = open(tmp_path / "run.log", "wb")  # noqa: SIM115 - closed below
    script = subprocess.Popen(
        ["bash", "scripts/run.sh"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{env['ARENA_PORT']}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{base}/", timeout=2).read()
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail((tmp_path / "run.log").read_text())
        zoo_log = tmp_path / "var" / "log" / "zoo-worker.log"
        while "benchmark.zoo_build_chunk" not in zoo_log.read_text():
            assert time.monotonic() < deadline, zoo_log.read_text()[-3000:]
            time.sleep(0.5)
        assert len(_processes_with(marker)) >= 6, "script, 2 workers with pools, beat, web"

        started = time.monotonic()
        if how == "SIGTERM to the process group":
            os.killpg(script.pid, signal.SIGTERM)
        else:
            script.send_signal(signal.SIGTERM if how == "SIGTERM" else signal.SIGINT)
        while _processes_with(marker) and time.monotonic() - started < 20:
            time.sleep(0.2)
        left = _processes_with(marker)
        took = time.monotonic() - started
        print(f"{how}: every process gone after {took:.1f} s")
        assert not left and took < 15, f"{len(left)} processes left after {took:.1f} s"
    finally:
        for pid in _processes_with(marker):
            os.kill(pid, signal.SIGKILL)
        script.wait(timeout=10)
        log.close()
