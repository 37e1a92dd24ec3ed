"""gunicorn settings shared by ``make run``, the test servers and the production image:
``gunicorn -c config/gunicorn.py config.wsgi --bind HOST:PORT``.

The control socket lives under this instance's ``ARENA_VAR_DIR``: gunicorn's default
(``~/.gunicorn/gunicorn.ctl``) is one path per user, so two instances on one host would take
each other's.
"""

import os
from pathlib import Path

_var = Path(os.environ.get("ARENA_VAR_DIR", Path(__file__).resolve().parent.parent / "var"))
_var.mkdir(parents=True, exist_ok=True)

control_socket = str(_var / "gunicorn.ctl")
workers = int(os.environ.get("ARENA_WEB_WORKERS", "2"))
threads = int(os.environ.get("ARENA_WEB_THREADS", "4"))
timeout = 120
graceful_timeout = 10
