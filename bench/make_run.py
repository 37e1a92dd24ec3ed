"""`make run` from nothing to both demo leaderboards with every baseline.

Starts ``scripts/run.sh`` in a throwaway var directory (migrated first, as ``make setup`` does)
and polls the API until every demo track is built and its dev leaderboard lists every
reference attack as a scored baseline. Prints when each track became ready and when its last
baseline arrived, the held-out accuracy of its models per scenario, and finally
``demo_minutes: X`` (goal: 8 on a 2-core machine).

    .venv/bin/python bench/make_run.py [--timeout-minutes 20]
"""

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run_latency import _environment, _manage  # noqa: E402
from tests.http import request  # noqa: E402

TRACKS = ("demo-purchase", "demo-digits", "demo-text")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout-minutes", type=float, default=20)
    args = parser.parse_args()
    import tempfile

    import attacks

    expected = set(attacks.REGISTRY)
    var = Path(tempfile.mkdtemp(prefix="arena-make-run-"))
    env = _environment(var)
    _manage(env, "migrate", "--noinput", "-v0")
    started = time.monotonic()
    run = subprocess.Popen(
        ["bash", "scripts/run.sh"], cwd=ROOT, env=env, start_new_session=True,
        stdout=open(var / "run.log", "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
    )  # fmt: skip
    base = f"http://127.0.0.1:{env['ARENA_PORT']}"
    ready: dict[str, float] = {}
    done: dict[str, float] = {}
    try:
        while len(done) < len(TRACKS):
            if time.monotonic() - started > args.timeout_minutes * 60:
                raise SystemExit(f"not done after {args.timeout_minutes} minutes; see {var}/")
            time.sleep(5)
            for slug in TRACKS:
                if slug in done:
                    continue
                try:
                    track = request("GET", f"{base}/api/v1/tracks/{slug}/").json()
                    board = request(
                        "GET", f"{base}/api/v1/tracks/{slug}/leaderboard/?phase=dev"
                    ).json()
                except (OSError, ValueError):
                    continue
                elapsed = time.monotonic() - started
                if track.get("build_status") == "ready" and slug not in ready:
                    ready[slug] = elapsed
                    print(f"{slug}: zoo ready after {elapsed / 60:.1f} min", flush=True)
                baselines = {row["attack"] for row in board.get("rows", []) if row["is_baseline"]}
                if expected <= baselines:
                    done[slug] = elapsed
                    print(f"{slug}: every baseline scored after {elapsed / 60:.1f} min", flush=True)
        code = (
            "from benchmark.models import ZooModel; from django.db.models import Avg; "
            "rows = ZooModel.objects.values('scenario__track__slug', 'scenario__slug', 'dtype')"
            ".annotate(acc=Avg('eval_accuracy')).order_by('scenario__track__slug', "
            "'scenario__position'); "
            "[print(r['scenario__track__slug'], r['scenario__slug'], r['dtype'], "
            "round(r['acc'], 3)) for r in rows]"
        )
        print(_manage(env, "shell", "-c", code).strip())
        print(f"demo_minutes: {max(done.values()) / 60:.1f}")
    finally:
        os.killpg(run.pid, signal.SIGTERM)
        run.wait(timeout=60)


if __name__ == "__main__":
    main()
