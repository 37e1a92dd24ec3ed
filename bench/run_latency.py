"""Upload -> scored in `make run` while zoos build: the latency a participant sees.

Starts ``scripts/run.sh`` in a throwaway var directory (SQLite, the filesystem broker, the demo
tracks), waits until demo-purchase is ready, registers one more zoo to build (a copy of
demo-digits) so the workers are busy training, then uploads valid zips over HTTP one at a time
and times each from the upload's reply to ``scored`` (polling the API every 50 ms). The baseline
is the same upload on the same build with the old layout of `make run`, one worker serving every
queue (``--one-worker`` runs it on its own).

    .venv/bin/python bench/run_latency.py [--uploads 20] [--one-worker]

The last lines are ``speedup_p50_vs_one_worker``, ``speedup_p90_vs_one_worker``,
``upload_to_scored_p50_s`` and ``upload_to_scored_p90_s``.
"""

import argparse
import io
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.http import post_file, request  # noqa: E402

READY_TRACK = "demo-purchase"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _environment(var: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env.update(
        ARENA_VAR_DIR=str(var),
        ARENA_PORT=str(_free_port()),
        ARENA_STATIC_ROOT=str(ROOT / "var" / "staticfiles"),
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    return env


def _manage(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True,
        capture_output=True, text=True,
    ).stdout  # fmt: skip


def _one_worker_script(var: Path) -> Path:
    """scripts/run.sh as it was: one worker (two slots, every queue) with beat embedded."""
    script = var / "run-one-worker.sh"
    script.write_text(
        "set -euo pipefail\ncd " + str(ROOT) + "\n"
        "trap 'kill -TERM -- -$w -$g 2>/dev/null; sleep 3; kill -KILL -- -$w -$g 2>/dev/null' "
        "EXIT\n"
        "setsid .venv/bin/celery -A config worker -B -Q scoring,zoo,attacks --concurrency 2 "
        f'>"{var}/worker.log" 2>&1 & w=$!\n'
        ".venv/bin/python manage.py arena_bootstrap\n"
        "setsid .venv/bin/gunicorn -c config/gunicorn.py config.wsgi "
        f'--bind "127.0.0.1:$ARENA_PORT" >"{var}/web.log" 2>&1 & g=$!\n'
        "wait -n\n"
    )
    return script


def _submission_zip(base: str, token: str) -> bytes:
    """Random predictions for every dev and final model of the ready track, from its bundle."""
    import numpy as np

    reply = request("GET", f"{base}/api/v1/tracks/{READY_TRACK}/bundle/", token=token, timeout=120)
    assert reply.status == 200, reply.body[:300]
    bundle = zipfile.ZipFile(io.BytesIO(reply.body))
    manifest = json.loads(bundle.read(f"{READY_TRACK}.dataset.json"))
    points = 2 * int(manifest["challenge"])
    rng = np.random.default_rng(0)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name in bundle.namelist():
            parts = name.rstrip("/").split("/")
            if len(parts) >= 4 and parts[2] in ("dev", "final") and parts[3].startswith("model_"):
                folder = "/".join(parts[:4])
                target = f"{folder}/prediction.csv"
                if target not in zf.namelist():
                    row = ",".join(f"{v:.4f}" for v in rng.random(points))
                    zf.writestr(target, row + "\n")
    return out.getvalue()


def _busy(base: str) -> str:
    report = request("GET", f"{base}/healthz").json()
    return json.dumps(report.get("queue", {}).get("jobs", {}))


def measure(uploads: int, *, one_worker: bool) -> list[float]:
    var = Path(tempfile.mkdtemp(prefix="arena-latency-"))
    env = _environment(var)
    _manage(env, "migrate", "--noinput", "-v0")
    script = _one_worker_script(var) if one_worker else ROOT / "scripts" / "run.sh"
    run = subprocess.Popen(
        ["bash", str(script)], cwd=ROOT, env=env, start_new_session=True,
        stdout=open(var / "run.log", "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
    )  # fmt: skip
    base = f"http://127.0.0.1:{env['ARENA_PORT']}"
    try:
        name = f"bench-{uuid.uuid4().hex[:8]}"
        code = (
            "from django.contrib.auth.models import User; from rest_framework.authtoken.models "
            f"import Token; u = User.objects.create_user('{name}', password=None); "
            "print(Token.objects.create(user=u).key)"
        )
        token = None
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            try:
                track = request("GET", f"{base}/api/v1/tracks/{READY_TRACK}/").json()
            except (OSError, ValueError):
                time.sleep(2)
                continue
            if token is None:
                token = _manage(env, "shell", "-c", code).strip().splitlines()[-1]
            if track.get("build_status") == "ready":
                break
            time.sleep(2)
        else:
            raise SystemExit(f"{READY_TRACK} was not ready after 15 minutes; see {var}/")
        assert token is not None
        data = _submission_zip(base, token)
        load = var / "load-digits.toml"
        text = (ROOT / "tracks" / "demo-digits.toml").read_text()
        load.write_text(text.replace('slug = "demo-digits"', 'slug = "load-digits"'))
        _manage(env, "track_create", str(load))
        time.sleep(10)  # the zoo worker picks the new chunks up
        print(f"{'one worker' if one_worker else 'make run'}: busy before: {_busy(base)}")
        latencies = []
        for _ in range(uploads):
            reply = post_file(f"{base}/api/v1/tracks/{READY_TRACK}/submissions/", data, token=token)
            assert reply.status == 202, reply.body[:300]
            start = time.monotonic()
            sid = reply.json()["id"]
            while True:
                status = request("GET", f"{base}/api/v1/submissions/{sid}/", token=token).json()
                if status["status"] in ("scored", "failed"):
                    break
                time.sleep(0.05)
            assert status["status"] == "scored", status
            latencies.append(time.monotonic() - start)
        print(f"{'one worker' if one_worker else 'make run'}: busy after: {_busy(base)}")
        return latencies
    finally:
        os.killpg(run.pid, signal.SIGTERM)
        run.wait(timeout=60)
        for line in (var / "run.log").read_text().splitlines()[-3:]:
            print(f"  {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=20)
    parser.add_argument("--one-worker", action="store_true", help="only the old layout")
    args = parser.parse_args()
    runs = {"one_worker": measure(args.uploads, one_worker=True)}
    if not args.one_worker:
        runs["make_run"] = measure(args.uploads, one_worker=False)
    for label, values in runs.items():
        p50 = statistics.median(values)
        p90 = statistics.quantiles(values, n=10)[-1] if len(values) > 1 else values[0]
        print(f"{label}: p50 {p50:.2f} s, p90 {p90:.2f} s, max {max(values):.2f} s")
    if "make_run" in runs:
        p50 = statistics.median(runs["make_run"])
        p90 = statistics.quantiles(runs["make_run"], n=10)[-1]
        base_p90 = statistics.quantiles(runs["one_worker"], n=10)[-1]
        print(f"speedup_p50_vs_one_worker: {statistics.median(runs['one_worker']) / p50:.1f}")
        print(f"speedup_p90_vs_one_worker: {base_p90 / p90:.1f}")
        print(f"upload_to_scored_p50_s: {p50:.2f}")
        print(f"upload_to_scored_p90_s: {p90:.2f}")


if __name__ == "__main__":
    main()
