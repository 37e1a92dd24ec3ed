"""Settings, driven by environment variables (django-environ).

The defaults run the whole platform on one machine with nothing installed: SQLite in WAL mode,
a Celery broker on the filesystem, files under ``var/``. Production differs only by environment
(``DATABASE_URL``, ``CELERY_BROKER_URL``, ``DJANGO_SECRET_KEY``, ...); see README.md.
"""

from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

VAR_DIR = Path(env.str("ARENA_VAR_DIR", default=str(BASE_DIR / "var")))

# Debug (tracebacks, Django's technical 404 page) only when a developer asks for it.
DEBUG = env.bool("DJANGO_DEBUG", default=False)

#: Keys that must never sign sessions in production (published defaults and placeholders).
PUBLISHED_KEYS = {"change-me", "changeme", "secret", "build", "insecure"}
SECRET_KEY_FILE = Path(env.str("DJANGO_SECRET_KEY_FILE", default=str(VAR_DIR / "secret_key")))


def _secret_key() -> str:
    """``DJANGO_SECRET_KEY``, else the key file (``make setup`` writes ``var/secret_key``).

    With debug off, a missing, placeholder or short key refuses to start: a published key lets
    anyone forge sessions and admin logins.
    """
    key = env.str("DJANGO_SECRET_KEY", default="")
    if not key and SECRET_KEY_FILE.is_file():
        key = SECRET_KEY_FILE.read_text().strip()
    if DEBUG:
        return key or "debug-only-key-never-used-with-DJANGO_DEBUG-off"
    how = (
        "set DJANGO_SECRET_KEY to a random value of 50 characters or more, e.g. the output of "
        "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`, or write one to "
        f"{SECRET_KEY_FILE} (`make setup` does); DJANGO_DEBUG=true runs without one"
    )
    if not key:
        raise ImproperlyConfigured(f"no secret key: {how}")
    if key.lower() in PUBLISHED_KEYS or "change-me" in key.lower() or "insecure" in key.lower():
        raise ImproperlyConfigured(f"the secret key is a published placeholder: {how}")
    if len(key) < 50 or len(set(key)) < 5:
        raise ImproperlyConfigured(f"the secret key has only {len(key)} characters: {how}")
    return key


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# HTTPS, for a deployment behind a TLS-terminating proxy (docker-compose.yml turns these on;
# `python manage.py check --deploy` checks them). Off by default: `make run` serves plain HTTP
# on localhost.
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("DJANGO_BEHIND_PROXY", default=False) else None
)
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "benchmark.apps.BenchmarkConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "benchmark.middleware.RequestSizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# SQLite runs in WAL mode with IMMEDIATE transactions so that the web process and the worker
# queue for the write lock instead of failing with "database is locked".
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Files ----------------------------------------------------------------------------------
STATIC_URL = "static/"
# Collected by `make setup` (collectstatic); WhiteNoise serves them with debug off.
STATIC_ROOT = Path(env.str("ARENA_STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env.str("ARENA_MEDIA_ROOT", default=str(VAR_DIR / "media")))
# Zoo builds (model weights, solutions, bundles) live under this directory: shared by every
# machine with the file system storage; with object storage, each machine's local copy.
ARENA_ZOO_ROOT = Path(env.str("ARENA_ZOO_ROOT", default=str(MEDIA_ROOT / "zoo")))
# Object storage: with ARENA_S3_BUCKET set, submissions ("media/" in the bucket), zoo files and
# bundles ("zoo/") live in an S3-compatible bucket through django-storages, and no machine
# shares a disk with another (benchmark/services/files.py copies zoo files to and from it).
# Bundles are downloaded by pre-signed URLs valid ARENA_S3_URL_SECONDS.
ARENA_S3_BUCKET = env.str("ARENA_S3_BUCKET", default="")
ARENA_S3_URL_SECONDS = env.int("ARENA_S3_URL_SECONDS", default=300)
_S3 = {
    "bucket_name": ARENA_S3_BUCKET,
    "endpoint_url": env.str("ARENA_S3_ENDPOINT_URL", default="") or None,
    "region_name": env.str("ARENA_S3_REGION", default="us-east-1"),
    "access_key": env.str("AWS_ACCESS_KEY_ID", default="") or None,
    "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default="") or None,
    "addressing_style": env.str("ARENA_S3_ADDRESSING_STYLE", default="path"),
    "signature_version": "s3v4",
    "querystring_expire": ARENA_S3_URL_SECONDS,
    "file_overwrite": True,
}
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "zoo": {"BACKEND": "benchmark.models.competition.ZooStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
if ARENA_S3_BUCKET:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {**_S3, "location": "media"},
    }
    STORAGES["zoo"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {**_S3, "location": "zoo"},
    }
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DJANGO_DATA_UPLOAD_MAX_MEMORY_SIZE", default=5_000_000)
# Any request body larger than this is refused from its Content-Length, unread (413); uploads of
# submission zips are held to their track's max_bytes instead (benchmark/middleware.py).
ARENA_MAX_REQUEST_BYTES = env.int("ARENA_MAX_REQUEST_BYTES", default=5_000_000)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5_000_000

# --- E-mail ---------------------------------------------------------------------------------
# EMAIL_URL chooses the backend (django-environ's forms): consolemail:// by default (messages
# are printed in the log of the worker that sends them), smtp://user:password@host:port,
# smtp+tls://... (STARTTLS) or smtp+ssl://... Every message, password resets included, is a row
# sent by a worker on the `scoring` queue (benchmark/services/emails.py), never in a request;
# EMAIL_TIMEOUT bounds each attempt. Links in messages start with ARENA_SITE_URL.
_EMAIL = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _EMAIL["EMAIL_BACKEND"]
EMAIL_HOST = _EMAIL.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = _EMAIL.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _EMAIL.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = _EMAIL.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = bool(_EMAIL.get("EMAIL_USE_TLS", False))
EMAIL_USE_SSL = bool(_EMAIL.get("EMAIL_USE_SSL", False))
if _EMAIL.get("EMAIL_FILE_PATH"):
    EMAIL_FILE_PATH = _EMAIL["EMAIL_FILE_PATH"]
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="arena@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
ARENA_SITE_URL = env.str("ARENA_SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    # JSON unless a view says otherwise (uploads take multipart, the token form fields too).
    "DEFAULT_PARSER_CLASSES": ["benchmark.api.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "benchmark.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "benchmark.api.exception_handlers.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("ARENA_THROTTLE_ANON", default="600/hour"),
        "user": env.str("ARENA_THROTTLE_USER", default="6000/hour"),
        # black-box queries: requests (rows are budgeted per track and UTC day)
        "query": env.str("ARENA_THROTTLE_QUERY", default="30/second"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MIA Arena API",
    "DESCRIPTION": "Membership inference competitions: tracks, submissions, leaderboards, scoring.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
# Largest JSON body accepted by the stateless scoring call (POST /api/v1/score/).
ARENA_SCORE_MAX_BYTES = env.int("ARENA_SCORE_MAX_BYTES", default=4_000_000)

# --- Competition ---------------------------------------------------------------------------
# Where zoo workers train and compute observations: auto (CUDA if present), cpu or cuda; and
# torch threads per pool process (0: the worker's cores shared among its slots).
ARENA_DEVICE = env.str("ARENA_DEVICE", default="auto")
ARENA_TORCH_THREADS = env.int("ARENA_TORCH_THREADS", default=0)
# Reference attacks run as baselines as soon as a track's zoo is built ("all": the registry).
ARENA_AUTO_BASELINES: list[str] = env.list("ARENA_AUTO_BASELINES", default=["all"])
# The organizer account `arena_bootstrap` creates once (its password is printed once).
ARENA_ORGANIZER = env.str("ARENA_ORGANIZER", default="organizer")
# Track files `arena_bootstrap` registers when they are absent.
ARENA_DEMO_TRACKS = env.list(
    "ARENA_DEMO_TRACKS",
    default=["tracks/demo-purchase.toml", "tracks/demo-digits.toml", "tracks/demo-text.toml"],
)

# --- Celery ---------------------------------------------------------------------------------
# The default broker needs no server: kombu's filesystem transport under var/broker/.
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "store_processed": False,
        # Poll the folder often: upload -> scored waits on this in `make run`.
        "polling_interval": 0.1,
    }
    for _folder in ("queue", "control", "processed"):
        (BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
else:
    # Redis. A message a worker took stays in Redis's "unacked" set until the task ends
    # (acks_late); if the worker dies, Redis puts it back after ``visibility_timeout``, checked
    # every ``unacked_restore_interval`` seconds by every live worker. The job rows make a
    # second delivery harmless (a running job's claim drops it), so the timeout is short: it
    # is a second path to recovery beside the sweeper, not the only one. Publishing gives up
    # after ``socket_connect_timeout`` so that a request never hangs on a dead broker.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("ARENA_REDIS_VISIBILITY_TIMEOUT", default=60),
        "unacked_restore_interval": 5,
        "unacked_restore_throttle": 1,
        "socket_connect_timeout": 2,
        "socket_timeout": 10,
        "retry_on_timeout": False,
    }
    # A worker takes a message only when a slot is free: nothing waits hidden behind a long
    # zoo or attack task while another worker is idle.
    CELERY_WORKER_DISABLE_PREFETCH = True
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "scoring"
CELERY_TASK_ROUTES = {
    "benchmark.zoo_build_track": {"queue": "zoo"},
    "benchmark.zoo_build_chunk": {"queue": "zoo"},
    "benchmark.zoo_import": {"queue": "zoo"},
    "benchmark.run_attack": {"queue": "attacks"},
    "benchmark.*": {"queue": "scoring"},
}
CELERY_BROKER_CONNECTION_MAX_RETRIES = None  # workers and beat wait out a broker outage
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
}

# Periodic tasks (run by `celery beat`, or `worker -B` on one machine).
CELERY_BEAT_SCHEDULE = {
    f"heartbeat-{queue}": {
        "task": "benchmark.heartbeat",
        "schedule": 60.0,
        "args": (queue,),
        "options": {"queue": queue, "expires": 55},
    }
    for queue in ("scoring", "zoo", "attacks")
}
# Jobs (benchmark/services/jobs.py): a running job's lease lasts ARENA_JOB_LEASE seconds and
# its worker renews it every third of that; the sweeper runs every ARENA_JOB_SWEEP_EVERY
# seconds. A worker killed outright therefore loses its job for at most lease + sweep period.
ARENA_JOB_DEFAULTS = {
    "lease_seconds": env.int("ARENA_JOB_LEASE", default=30),
    "requeue_after": 300,
    "max_attempts": 3,
}
ARENA_JOB_SWEEP_EVERY = env.float("ARENA_JOB_SWEEP_EVERY", default=10.0)
CELERY_BEAT_SCHEDULE["watchdog"] = {
    "task": "benchmark.watchdog",
    "schedule": ARENA_JOB_SWEEP_EVERY,
    "options": {"queue": "scoring", "expires": ARENA_JOB_SWEEP_EVERY},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
