#!/usr/bin/env bash
# One machine, nothing installed: SQLite (WAL), kombu's filesystem broker, and four processes:
#   - a Celery worker for the `scoring` queue alone, so an upload never waits behind training;
#   - a Celery worker for `zoo` and `attacks` (niced: scoring and pages come first);
#   - Celery beat (heartbeats, the job sweeper), a process of its own;
#   - gunicorn on http://127.0.0.1:8000.
# Each runs in a session of its own and is stopped as a group: Ctrl-C, SIGTERM to this script,
# or SIGTERM to the whole process group end every process within 15 s. The scoring worker
# finishes the submission in hand (warm shutdown); the zoo worker stops at once (cold shutdown:
# a chunk may take minutes, and its job comes back by its lease on the next start); whatever
# still runs after 10 s is killed.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
HOST=${ARENA_HOST:-127.0.0.1}
PORT=${ARENA_PORT:-8000}
VAR=${ARENA_VAR_DIR:-var}
LOG="$VAR/log"
mkdir -p "$LOG"
# Links in e-mails (sent by the scoring worker) point at this server.
export ARENA_SITE_URL=${ARENA_SITE_URL:-http://$HOST:$PORT}

pids=()
signals=()
start() {  # start NAME SIGNAL COMMAND...: its own session, stopped by SIGNAL, logs to $LOG/NAME.log
    local name=$1 signal=$2
    shift 2
    setsid "$@" >"$LOG/$name.log" 2>&1 &
    pids+=($!)
    signals+=("$signal")
}

alive() {
    local pid
    for pid in "${pids[@]}"; do
        kill -0 -- "-$pid" 2>/dev/null && return 0
    done
    return 1
}

stop() {
    trap - INT TERM EXIT
    echo "run: stopping"
    local i pid
    for i in "${!pids[@]}"; do kill "-${signals[$i]}" -- "-${pids[$i]}" 2>/dev/null || true; done
    for _ in $(seq 1 50); do
        alive || break
        sleep 0.2
    done
    for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    echo "run: stopped"
}
trap stop INT TERM EXIT

start scoring-worker TERM $BIN/celery -A config worker -Q scoring --concurrency 1 \
    --loglevel INFO --hostname "scoring@%h"
start zoo-worker QUIT nice -n 10 $BIN/celery -A config worker -Q zoo,attacks \
    --concurrency "${ARENA_WORKERS:-$(nproc)}" --loglevel INFO --hostname "zoo@%h"
start beat TERM $BIN/celery -A config beat --loglevel INFO
echo "run: Celery workers and beat started (logs: $LOG/)"

$BIN/python manage.py arena_bootstrap

start web TERM $BIN/gunicorn -c config/gunicorn.py config.wsgi --bind "$HOST:$PORT" --access-logfile -
echo "run: MIA Arena is at http://$HOST:$PORT/ (Ctrl-C stops everything; web log: $LOG/web.log)"
wait -n "${pids[@]}"
