"""The one-machine defaults: SQLite in WAL mode, IMMEDIATE transactions, a server-less broker."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

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
    env["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(50)
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


def _settings_env(tmp_path: Path, **values: str) -> dict[str, str]:
    drop = {"DJANGO_SECRET_KEY", "DJANGO_SECRET_KEY_FILE", "DJANGO_DEBUG"}
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("DJANGO_")}
    env.update({"ARENA_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "config.settings"})
    env.update(values)
    return env


def _load(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )


@pytest.mark.parametrize(
    ("key", "why"),
    [
        (None, "no secret key"),
        ("change-me", "published placeholder"),
        ("dev-only-insecure-key-set-DJANGO_SECRET_KEY-in-production-xxxxxxxxxxxxx", "published"),
        ("s3cr3t-but-far-too-short", "only 24 characters"),
    ],
)
def test_with_debug_off_a_missing_placeholder_or_short_key_refuses_to_start(tmp_path, key, why):
    env = _settings_env(tmp_path)
    if key is not None:
        env["DJANGO_SECRET_KEY"] = key
    result = _load(env)
    assert result.returncode != 0
    assert why in result.stderr and "DJANGO_SECRET_KEY" in result.stderr, result.stderr[-2000:]


def test_debug_is_off_unless_asked_for_and_the_key_file_under_var_is_used(tmp_path):
    (tmp_path / "secret_key").write_text(secrets.token_urlsafe(50) + "\n")
    result = _load(_settings_env(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-1] == "False"
    result = _load(_settings_env(tmp_path / "empty", DJANGO_DEBUG="true"))
    assert result.returncode == 0 and result.stdout.split()[-1] == "True", result.stderr


def test_check_deploy_passes_under_the_production_environment_of_docker_compose(tmp_path):
    key = secrets.token_urlsafe(50)
    compose = subprocess.run(
        ["docker-compose", "-f", "docker-compose.yml", "config"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SECRET_KEY": key, "DJANGO_ALLOWED_HOSTS": "arena.example.org"},
        capture_output=True,
        text=True,
        check=True,
    )
    web = yaml.safe_load(compose.stdout)["services"]["web"]["environment"]
    assert web["DJANGO_SECRET_KEY"] == key and web["DJANGO_DEBUG"] == "false"
    env = _settings_env(tmp_path, **{name: str(value) for name, value in web.items()})
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_docker_compose_supplies_no_usable_key_of_its_own():
    compose = subprocess.run(
        ["docker-compose", "-f", "docker-compose.yml", "config"],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k != "DJANGO_SECRET_KEY"},
        capture_output=True,
        text=True,
        check=True,
    )
    web = yaml.safe_load(compose.stdout)["services"]["web"]["environment"]
    assert not web.get("DJANGO_SECRET_KEY"), "without a key of the operator's, none is set"


EMAIL_PROBE = """
import json, django
django.setup()
from django.conf import settings
keys = ["EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD",
        "EMAIL_USE_TLS", "EMAIL_TIMEOUT", "DEFAULT_FROM_EMAIL", "ARENA_SITE_URL"]
print(json.dumps({key: getattr(settings, key) for key in keys}))
"""


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            {},
            {
                "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
                "EMAIL_TIMEOUT": 10,
                "DEFAULT_FROM_EMAIL": "arena@localhost",
                "ARENA_SITE_URL": "http://127.0.0.1:8000",
            },
        ),
        (
            {
                "EMAIL_URL": "smtp+tls://arena:s%40cret@mail.example.org:587",
                "EMAIL_TIMEOUT": "5",
                "DEFAULT_FROM_EMAIL": "MIA Arena <arena@example.org>",
                "ARENA_SITE_URL": "https://arena.example.org/",
            },
            {
                "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "EMAIL_HOST": "mail.example.org",
                "EMAIL_PORT": 587,
                "EMAIL_HOST_USER": "arena",
                "EMAIL_HOST_PASSWORD": "s@cret",
                "EMAIL_USE_TLS": True,
                "EMAIL_TIMEOUT": 5,
                "DEFAULT_FROM_EMAIL": "MIA Arena <arena@example.org>",
                "ARENA_SITE_URL": "https://arena.example.org",
            },
        ),
    ],
)
def test_email_url_chooses_the_backend(tmp_path, values, expected):
    """Console by default; SMTP (host, port, login, STARTTLS) from EMAIL_URL."""
    env = _settings_env(tmp_path, DJANGO_SECRET_KEY=secrets.token_urlsafe(50), **values)
    for name in {"EMAIL_URL", "EMAIL_TIMEOUT", "DEFAULT_FROM_EMAIL", "ARENA_SITE_URL"} - set(
        values
    ):
        env.pop(name, None)
    out = subprocess.run(
        [sys.executable, "-c", EMAIL_PROBE], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    assert {key: probe[key] for key in expected} == expected
