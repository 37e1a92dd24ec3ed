"""Black-box queries over HTTP: rows per second of the query API and the latency of one row.

Builds a small black-box Purchase track (the MLP of MICO's Purchase-100, 600 binary features,
top-3 release) in a throwaway var directory, registers it on SQLite, serves it with gunicorn
(the project's settings, ``--workers`` processes) and queries one model from several client
threads through :class:`attacks.remote.RemoteOracle` in batches of the track's ``query_batch``
(1,000 rows). The baseline, in this process, is the same model evaluated locally through
:class:`attacks.oracle.LocalOracle` (what a white-box participant runs): the ratio is what the
API costs over holding the weights.

    .venv/bin/python bench/query.py [--seconds 10] [--clients 4] [--workers 2]

Last lines: ``query_rows_per_s``, ``local_rows_per_s``, ``api_vs_local``,
``one_row_latency_ms_p50`` and ``one_row_latency_ms_p90``.
"""

import argparse
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

TRACK = """
slug = "bench-bb"
name = "Query benchmark"
dataset = "purchase-synthetic"
dataset_size = 3000
population = 200
architecture = "mlp-purchase"
challenge = 50
training_size = 500
models = { train = 1, dev = 1, final = 1 }
chunk = 3
access = "black-box"

[training]
optimizer = "adam"
lr = 0.001
epochs = 5
batch = 100
lr_step = 10
lr_gamma = 1.0

[limits]
per_day = 30
total = 1000
invalid_per_day = 30
max_bytes = 2_000_000
queries_per_day = 1_000_000_000
query_batch = 1_000

[phases]
dev_opens = 2026-01-01T00:00:00Z
final_deadline = 2030-12-31T23:59:00Z

[[scenario]]
slug = "top3"
epsilon = "inf"
top_k = 3
"""

SETUP = """
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from benchmark import services
from benchmark.services.zoo import zoo_build_chunk, zoo_build_start
track = services.track_create(spec_text=open({path!r}).read(), created_by=None)
for index in range(zoo_build_start(track_id=track.pk)):
    zoo_build_chunk(track_id=track.pk, chunk_index=index)
user = User.objects.create_user("bench", password="a-long-password-1")
print(Token.objects.create(user=user).key)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(workers: int) -> tuple[subprocess.Popen[bytes], str, str, Path]:
    var = Path(tempfile.mkdtemp(prefix="arena-query-"))
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env.update(
        ARENA_VAR_DIR=str(var),
        ARENA_MEDIA_ROOT=str(var / "media"),
        ARENA_STATIC_ROOT=str(ROOT / "var" / "staticfiles"),
        ARENA_AUTO_BASELINES="",
        ARENA_THROTTLE_QUERY="100000/second",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_SETTINGS_MODULE="config.settings",
        CELERY_BROKER_URL="filesystem://",
    )

    def manage(*args: str) -> str:
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True,
            capture_output=True, text=True,
        ).stdout  # fmt: skip

    manage("migrate", "--noinput", "-v0")
    (var / "track.toml").write_text(TRACK)
    token = manage("shell", "-c", SETUP.format(path=str(var / "track.toml"))).split()[-1]
    port = _free_port()
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi",
         "--bind", f"127.0.0.1:{port}", "--workers", str(workers)],
        cwd=ROOT, env=env, stdout=open(var / "web.log", "wb"),  # noqa: SIM115
        stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/v1/schema/", timeout=2)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError((var / "web.log").read_text()[-2000:]) from None
            time.sleep(0.3)
    return web, base, token, var


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    from attacks.oracle import LocalOracle
    from attacks.outputs import load_module
    from attacks.remote import RemoteOracle
    from benchmark.zoo.release import Defence

    web, base, token, var = serve(args.workers)
    try:
        rng = np.random.default_rng(0)
        batch = rng.integers(0, 2, (1000, 600)).astype(np.float32)
        warm = RemoteOracle(base, token=token, track="bench-bb", model="top3/dev/1")
        warm.query(batch[:10])
        rows = [0] * args.clients
        stop = time.monotonic() + args.seconds

        def client(k: int) -> None:
            oracle = RemoteOracle(base, token=token, track="bench-bb", model="top3/dev/1")
            while time.monotonic() < stop:
                oracle.query(batch)
                rows[k] += len(batch)

        start = time.perf_counter()
        threads = [threading.Thread(target=client, args=(k,)) for k in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        api = sum(rows) / (time.perf_counter() - start)

        latencies = []
        for i in range(200):
            t0 = time.perf_counter()
            warm.query(batch[i : i + 1])
            latencies.append((time.perf_counter() - t0) * 1000)

        model_dir = var / "media" / "zoo" / "bench-bb" / "bench-bb_top3" / "dev" / "model_1"
        local = LocalOracle(load_module(model_dir, "mlp-purchase"), defence=Defence(top_k=3))
        t0 = time.perf_counter()
        local_rows = 0
        while time.perf_counter() - t0 < 3.0:
            local.query(batch)
            local_rows += len(batch)
        local_rate = local_rows / (time.perf_counter() - t0)
    finally:
        web.terminate()
        web.wait(10)

    p50 = statistics.median(latencies)
    p90 = statistics.quantiles(latencies, n=10)[-1]
    print(f"clients: {args.clients}, gunicorn workers: {args.workers}, batch: 1000 rows")
    print(f"query_rows_per_s: {api:.0f}")
    print(f"local_rows_per_s: {local_rate:.0f}")
    print(f"api_vs_local: {api / local_rate:.3f}")
    print(f"one_row_latency_ms_p50: {p50:.1f}")
    print(f"one_row_latency_ms_p90: {p90:.1f}")


if __name__ == "__main__":
    main()
