"""Fixtures shared by the whole suite: eager Celery for unit tests, and real processes
(a Celery worker on the real Redis broker, an HTTP server) for integration tests."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: One media directory for the whole session: the web server stores uploads, the worker reads
#: them, and tests write zoo files there (set before any process starts; passed on to each).
SHARED_MEDIA = Path(
    os.environ.setdefault("ARENA_MEDIA_ROOT", tempfile.mkdtemp(prefix="arena-test-media-"))
)
REDIS_URL = os.environ.get("ARENA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def shared_media(settings) -> Path:
    """This process writes zoo files where the web server and the worker read them."""
    settings.MEDIA_ROOT = SHARED_MEDIA
    settings.ARENA_ZOO_ROOT = SHARED_MEDIA / "zoo"
    return SHARED_MEDIA


def compute_devices() -> list[str]:
    """The devices present: the CPU always, CUDA where torch sees a GPU."""
    import torch

    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # A test taking ``device`` runs once per device present: a GPU-less machine runs the CPU,
    # a CUDA worker both (scripts/gpu-check.sh).
    if "device" in metafunc.fixturenames:
        metafunc.parametrize("device", compute_devices())


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
    from django.conf import settings

    env = dict(os.environ)
    env.update(
        DATABASE_URL=_database_url(),
        CELERY_BROKER_URL=REDIS_URL,
        ARENA_VAR_DIR=str(tmp / "var"),
        ARENA_MEDIA_ROOT=os.environ.get("ARENA_MEDIA_ROOT", str(tmp / "media")),
        # Baselines queued when a zoo is built: one quick attack keeps integration tests short.
        ARENA_AUTO_BASELINES=os.environ.get("ARENA_TEST_AUTO_BASELINES", "loss"),
        DJANGO_SETTINGS_MODULE="config.settings",
        # The processes have var directories of their own: hand them this run's key and the
        # static files `make setup` collected.
        DJANGO_SECRET_KEY=settings.SECRET_KEY,
        ARENA_STATIC_ROOT=str(settings.STATIC_ROOT),
        PYTHONUNBUFFERED="1",
    )
    return env


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a process started here: SIGTERM, then SIGKILL to its whole session after 20 s."""
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def start_worker(
    env: dict[str, str], log_path: Path, *, queues: str, hostname: str, extra: tuple[str, ...] = ()
) -> subprocess.Popen[bytes]:
    """A real ``celery worker`` process in a session of its own (``os.killpg`` stops it and
    its pool at once)."""
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queues,
               "--pool", "prefork", "--concurrency", "1", "--hostname", hostname,
               "--loglevel", "INFO", *extra]  # fmt: skip
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def wait_for_worker(proc: subprocess.Popen[bytes], hostname: str, log_path: Path) -> None:
    """Block until the worker answers a ping on the broker the test's app is pointed at."""
    from config.celery import app

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"worker exited: {log_path.read_text()[-3000:]}")
        if app.control.ping(destination=[hostname], timeout=0.5):
            return
    raise RuntimeError(f"worker never answered: {log_path.read_text()[-3000:]}")


@contextlib.contextmanager
def app_broker(url: str) -> Iterator[None]:
    """Point this process's Celery app at ``url`` with eager mode off (a real broker)."""
    from config.celery import app

    keys = ("broker_url", "broker_read_url", "broker_write_url", "task_always_eager")
    previous = {key: app.conf[key] for key in keys}
    app.conf.update(broker_url=url, broker_read_url=url, broker_write_url=url)
    app.conf.task_always_eager = False
    # Eager calls earlier in the session acquire producers too: drop pools bound elsewhere.
    app._pool = None
    app.amqp._producer_pool = None
    try:
        yield
    finally:
        app.conf.update(previous)
        app._pool = None
        app.amqp._producer_pool = None


@pytest.fixture(scope="session")
def celery_worker_process(
    django_db_setup: None, django_db_blocker: object, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[subprocess.Popen[bytes]]:
    """A real ``celery worker`` process on the real Redis broker and the test database.

    Tests that use it must commit their rows (``django_db(transaction=True)``).
    """
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    tmp = tmp_path_factory.mktemp("worker")
    env = _process_env(tmp)
    hostname = f"test-worker-{os.getpid()}@localhost"
    log_path = tmp / "worker.log"
    proc = start_worker(env, log_path, queues="scoring,zoo,attacks", hostname=hostname)
    try:
        with app_broker(REDIS_URL):
            wait_for_worker(proc, hostname, log_path)
            proc.log_path = log_path  # type: ignore[attr-defined]
            proc.media_root = Path(env["ARENA_MEDIA_ROOT"])  # type: ignore[attr-defined]
            yield proc
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def second_celery_worker(
    celery_worker_process: subprocess.Popen[bytes], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[subprocess.Popen[bytes]]:
    """Another worker process on the ``zoo`` queue, sharing the first one's media root (two
    machines building one zoo)."""
    tmp = tmp_path_factory.mktemp("worker2")
    env = _process_env(tmp)
    env["ARENA_MEDIA_ROOT"] = str(celery_worker_process.media_root)  # type: ignore[attr-defined]
    hostname = f"test-worker-2-{os.getpid()}@localhost"
    log_path = tmp / "worker.log"
    proc = start_worker(env, log_path, queues="zoo", hostname=hostname)
    try:
        wait_for_worker(proc, hostname, log_path)
        proc.log_path = log_path  # type: ignore[attr-defined]
        yield proc
    finally:
        _stop(proc)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_web(env: dict[str, str], log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    """The site served by a real gunicorn process (the project's gunicorn settings); returns
    the process and its base URL once it answers."""
    port = _free_port()
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi",
             "--bind", f"127.0.0.1:{port}", "--workers", "1"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"web server exited: {log_path.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(f"{base}/api/v1/schema/", timeout=2).read()
            return proc, base
        except OSError:
            time.sleep(0.3)
    _stop(proc)
    raise RuntimeError(f"web server never answered: {log_path.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def http_server(
    django_db_setup: None, django_db_blocker: object, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The site served by a real gunicorn process on the test database; yields its base URL."""
    tmp = tmp_path_factory.mktemp("web")
    proc, base = start_web(_process_env(tmp), tmp / "web.log")
    try:
        yield base
    finally:
        _stop(proc)
