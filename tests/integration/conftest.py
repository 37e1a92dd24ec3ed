"""Fixtures for fault tests: a Redis server of the test's own (stopped and started at will), and
worker, beat and web processes pointed at it."""

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import _free_port, _process_env, _stop, app_broker, start_web, start_worker


def wait_for(
    predicate: Callable[[], Any], *, timeout: float, what: str, logs: Callable[[], str] = str
) -> Any:
    """Poll ``predicate`` until it returns something true, and return that; fail after
    ``timeout`` seconds with ``what`` and the processes' logs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout} s waiting for {what}\n{logs()}")


def log_tail(path: Path) -> Callable[[], str]:
    return lambda: path.read_text()[-4000:]


class RedisServer:
    """A real ``redis-server`` process on a port of its own, without persistence (as the
    machine's own Redis): stopping it loses every message, as a crashed broker would."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    try:
        with app_broker(server.url):
            yield server
    finally:
        server.stop()


class Stack:
    """Worker, beat and web processes of one test, on the test database and one broker."""

    def __init__(self, tmp: Path, broker_url: str, media_root: Path) -> None:
        self.tmp = tmp
        self.env = _process_env(tmp)
        self.env.update(CELERY_BROKER_URL=broker_url, ARENA_MEDIA_ROOT=str(media_root))
        self.procs: list[subprocess.Popen[bytes]] = []
        self.workers = 0

    def worker(self, queues: str = "scoring") -> tuple[subprocess.Popen[bytes], str, Path]:
        from tests.conftest import wait_for_worker

        self.workers += 1
        hostname = f"fault-{os.getpid()}-{self.workers}@localhost"
        log_path = self.tmp / f"worker-{self.workers}.log"
        proc = start_worker(self.env, log_path, queues=queues, hostname=hostname)
        self.procs.append(proc)
        wait_for_worker(proc, hostname, log_path)
        return proc, hostname, log_path

    def beat(self) -> subprocess.Popen[bytes]:
        import sys

        from tests.conftest import ROOT

        schedule = self.tmp / "beat-schedule"
        with open(self.tmp / "beat.log", "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config", "beat", "--schedule",
                 str(schedule), "--loglevel", "INFO"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self.procs.append(proc)
        return proc

    def web(self) -> str:
        proc, base = start_web(self.env, self.tmp / "web.log")
        self.procs.append(proc)
        return base

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text()[-3000:]}"
            for path in sorted(self.tmp.glob("*.log"))
        )

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                _stop(proc)


@pytest.fixture
def stack(private_redis: RedisServer, tmp_path_factory: pytest.TempPathFactory, settings):
    tmp = tmp_path_factory.mktemp("stack")
    media = tmp / "media"
    settings.MEDIA_ROOT = media
    settings.ARENA_ZOO_ROOT = media / "zoo"
    processes = Stack(tmp, private_redis.url, media)
    try:
        yield processes
    finally:
        processes.close()


def kill_session(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL a process and everything in its session (a worker's main process and pool)."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
