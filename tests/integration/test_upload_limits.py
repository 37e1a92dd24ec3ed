"""A 200 MB upload to a real gunicorn: refused from its headers before the body is sent, and
the web process's memory does not grow with it."""

import socket
import time
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token

from tests.benchmark.factories import make_user, ready_track
from tests.conftest import _process_env, _stop, start_web

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BODY = 200_000_000


def _children(pid: int) -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def _peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def _headers(port: int, token: str) -> bytes:
    return (
        f"POST /api/v1/tracks/big/submissions/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Token {token}\r\nContent-Type: multipart/form-data; boundary=x\r\n"
        f"Content-Length: {BODY}\r\n\r\n"
    ).encode()


def _reply(sock: socket.socket) -> bytes:
    sock.settimeout(30)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_a_200_mb_upload_is_refused_from_its_headers_in_bounded_memory(tmp_path):
    ready_track("big", max_bytes=2_000_000)
    token = Token.objects.create(user=make_user(username="big-uploader")).key
    proc, base = start_web(_process_env(tmp_path), tmp_path / "web.log")
    try:
        port = int(base.rsplit(":", 1)[1])
        (worker,) = _children(proc.pid)
        before = _peak_rss_kib(worker)

        # Headers and the first 64 KiB only: the answer comes without the rest being sent.
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(_headers(port, token) + b"x" * 65536)
            reply = _reply(sock)
        assert reply.startswith(b"HTTP/1.1 413"), reply[:300]
        assert b"the upload is 200000000 bytes" in reply and b"at most 2000000 bytes" in reply

        # The whole body, sent as fast as the server takes it.
        chunk = b"x" * (1 << 20)
        sent = 0
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(_headers(port, token))
            try:
                while sent < BODY:
                    sock.sendall(chunk)
                    sent += len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server answered and closed: it need not read what it refused
            time.sleep(0.5)
        grown_mib = (_peak_rss_kib(worker) - before) / 1024
        print(f"sent {sent / 1e6:.0f} MB; the web worker's peak RSS grew {grown_mib:.1f} MiB")
        assert grown_mib < 20, f"the web worker's peak memory grew by {grown_mib:.0f} MiB"
    finally:
        _stop(proc)
