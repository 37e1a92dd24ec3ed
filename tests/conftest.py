"""Fixtures shared by the whole suite: eager Celery for unit tests, and real processes
(a Celery worker on the real Redis broker, an HTTP server) for integration tests."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("ARENA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture(autouse=True, scope="session")
def _celery_eager() -> None:
    """Unit tests run tasks in-process; integration fixtures switch to a real worker."""
    from config.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True


def _database_url() -> str:
    from django.db import connection

    s = connection.settings_dict
    if s["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{s['NAME']}"
    user = s.get("USER") or ""
    port = s.get("PORT") or 5432
    return f"postgres://{user}@{s.get('HOST') or '127.0.0.1'}:{port}/{s['NAME']}"


def _process_env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=_database_url(),
        CELERY_BROKER_URL=REDIS_URL,
        ARENA_VAR_DIR=str(tmp / "var"),
        ARENA_MEDIA_ROOT=os.environ.get("ARENA_MEDIA_ROOT", str(tmp / "media")),
        # Baselines queued when a zoo is built: one quick attack keeps integration tests short.
        ARENA_AUTO_BASELINES=os.environ.get("ARENA_TEST_AUTO_BASELINES", "loss"),
        DJANGO_SETTINGS_MODULE="config.settings",
        PYTHONUNBUFFERED="1",
    )
    return env


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def celery_worker_process(
    django_db_setup: None, django_db_blocker: object, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[subprocess.Popen[bytes]]:
    """A real ``celery worker`` process on the real Redis broker and the test database.

    Tests that use it must commit their rows (``django_db(transaction=True)``).
    """
    import redis

    from config.celery import app

    redis.Redis.from_url(REDIS_URL).flushdb()
    tmp = tmp_path_factory.mktemp("worker")
    env = _process_env(tmp)
    hostname = f"test-worker-{os.getpid()}@localhost"
    log = open(tmp / "worker.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            "scoring,zoo,attacks",
            "--pool",
            "prefork",
            "--concurrency",
            "1",
            "--hostname",
            hostname,
            "--loglevel",
            "INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    previous = (app.conf.broker_url, app.conf.task_always_eager)
    app.conf.broker_url = REDIS_URL
    app.conf.task_always_eager = False
    app._pool = None
    # Eager calls earlier in the session acquire producers too: drop that pool (old broker).
    app.amqp._producer_pool = None
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"worker exited: {(tmp / 'worker.log').read_text()[-3000:]}")
            replies = app.control.ping(destination=[hostname], timeout=0.5) or []
            if replies:
                break
        else:
            raise RuntimeError(f"worker never answered: {(tmp / 'worker.log').read_text()[-3000:]}")
        proc.log_path = tmp / "worker.log"  # type: ignore[attr-defined]
        proc.media_root = Path(env["ARENA_MEDIA_ROOT"])  # type: ignore[attr-defined]
        yield proc
    finally:
        app.conf.broker_url, app.conf.task_always_eager = previous
        app._pool = None
        app.amqp._producer_pool = None
        _stop(proc)
        log.close()


@pytest.fixture(scope="session")
def second_celery_worker(
    celery_worker_process: subprocess.Popen[bytes], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[subprocess.Popen[bytes]]:
    """Another worker process on the ``zoo`` queue, sharing the first one's media root (two
    machines building one zoo)."""
    from config.celery import app

    tmp = tmp_path_factory.mktemp("worker2")
    env = _process_env(tmp)
    env["ARENA_MEDIA_ROOT"] = str(celery_worker_process.media_root)  # type: ignore[attr-defined]
    hostname = f"test-worker-2-{os.getpid()}@localhost"
    log = open(tmp / "worker.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "zoo", "--pool",
         "prefork", "--concurrency", "1", "--hostname", hostname, "--loglevel", "INFO"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while not app.control.ping(destination=[hostname], timeout=0.5):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker 2 failed: {(tmp / 'worker.log').read_text()[-3000:]}")
        proc.log_path = tmp / "worker.log"  # type: ignore[attr-defined]
        yield proc
    finally:
        _stop(proc)
        log.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def http_server(
    django_db_setup: None, django_db_blocker: object, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The site served by a real gunicorn process on the test database; yields its base URL."""
    tmp = tmp_path_factory.mktemp("web")
    env = _process_env(tmp)
    port = _free_port()
    log = open(tmp / "web.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "4",
            "--timeout",
            "120",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"web server exited: {(tmp / 'web.log').read_text()[-3000:]}")
            try:
                urllib.request.urlopen(f"{base}/api/v1/schema/", timeout=2).read()
                break
            except OSError:
                time.sleep(0.3)
        else:
            raise RuntimeError("web server never answered")
        yield base
    finally:
        _stop(proc)
        log.close()
