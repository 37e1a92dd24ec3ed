#!/usr/bin/env bash
# Makes sure PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) answer; starts them if they
# are installed but down; otherwise fails naming the service and how to start it.
set -uo pipefail

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }
wait_for() { for _ in $(seq 1 30); do "$1" && return 0; sleep 0.5; done; return 1; }

PG_START='pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start'
REDIS_START='redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log'

if ! pg_up; then
    echo "services: PostgreSQL is down on 127.0.0.1:5432; starting it"
    if ! { ls /etc/postgresql >/dev/null 2>&1 && eval "$PG_START" && wait_for pg_up; }; then
        echo "services: PostgreSQL is not reachable on 127.0.0.1:5432 and could not be started." >&2
        echo "          Start it with: $PG_START" >&2
        exit 1
    fi
fi
if ! redis_up; then
    echo "services: Redis is down on 127.0.0.1:6379; starting it"
    if ! { command -v redis-server >/dev/null && eval "$REDIS_START" && wait_for redis_up; }; then
        echo "services: Redis is not reachable on 127.0.0.1:6379 and could not be started." >&2
        echo "          Start it with: $REDIS_START" >&2
        exit 1
    fi
fi
echo "services: PostgreSQL and Redis are up"
