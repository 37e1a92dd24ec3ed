#!/usr/bin/env bash
# One machine, nothing installed: SQLite (WAL), a real Celery worker on kombu's filesystem
# broker (with the periodic scheduler embedded), and the web server on http://127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
HOST=${ARENA_HOST:-127.0.0.1}
PORT=${ARENA_PORT:-8000}
mkdir -p var/log

pids=()
stop() {
    trap - INT TERM EXIT
    echo "run: stopping"
    kill "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
}
trap stop INT TERM EXIT

$BIN/celery -A config worker -B -Q scoring,zoo,attacks --concurrency "${ARENA_WORKERS:-2}" \
    --loglevel INFO --hostname "arena@%h" >var/log/worker.log 2>&1 &
pids+=($!)
echo "run: Celery worker started (log: var/log/worker.log)"

$BIN/python manage.py arena_bootstrap

$BIN/gunicorn config.wsgi --bind "$HOST:$PORT" --workers 2 --threads 4 --timeout 120 \
    --access-logfile - &
pids+=($!)
echo "run: MIA Arena is at http://$HOST:$PORT/ (Ctrl-C stops web and worker)"
wait -n "${pids[@]}"
