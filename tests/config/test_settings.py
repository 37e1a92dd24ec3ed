"""The one-machine defaults: SQLite in WAL mode, IMMEDIATE transactions, a server-less broker."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.db import connection
with connection.cursor() as c:
    c.execute("PRAGMA journal_mode")
    mode = c.fetchone()[0]
print(json.dumps({
    "vendor": connection.vendor,
    "journal_mode": mode,
    "transaction_mode": settings.DATABASES["default"]["OPTIONS"]["transaction_mode"],
    "broker": settings.CELERY_BROKER_URL,
    "queue_dir_exists": (settings.BROKER_DIR / "queue").is_dir(),
}))
"""


def test_defaults_run_on_sqlite_wal_and_a_filesystem_broker(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env.update(ARENA_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="config.settings")
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    assert probe == {
        "vendor": "sqlite",
        "journal_mode": "wal",
        "transaction_mode": "IMMEDIATE",
        "broker": "filesystem://",
        "queue_dir_exists": True,
    }
