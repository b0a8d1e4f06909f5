#!/usr/bin/env bash
# A throwaway redis-server on loopback for the tests (installed from Debian's packages if missing).
#
#   scripts/redis.sh install               # installs redis-server if missing, nothing else
#   eval "$(scripts/redis.sh start)"       # exports REDIS_URL and AUTH0_TEST_REDIS_DIR
#   scripts/redis.sh stop DIR
set -euo pipefail

ensure_installed() {
    if ! command -v redis-server >/dev/null 2>&1; then
        echo "redis-server is missing: installing it with apt-get" >&2
        # A fresh machine may have no package lists yet.
        apt-get update -qq >&2 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >&2
    fi
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

case "${1:-}" in
install) ensure_installed ;;
start)
    ensure_installed
    dir=$(mktemp -d /tmp/auth0-redis.XXXXXX)
    port=$(free_port)
    redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' --appendonly no \
        --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >&2
    for _ in $(seq 1 50); do
        if redis-cli -p "$port" ping >/dev/null 2>&1; then
            echo "export REDIS_URL=redis://127.0.0.1:$port"
            echo "export AUTH0_TEST_REDIS_DIR=$dir"
            exit 0
        fi
        sleep 0.1
    done
    echo "redis-server did not answer on 127.0.0.1:$port; its log:" >&2
    cat "$dir/redis.log" >&2 || true
    exit 1
    ;;
stop)
    dir=${2:?usage: scripts/redis.sh stop DIR}
    if [[ -f "$dir/redis.pid" ]]; then
        kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
    fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: scripts/redis.sh install | start | stop DIR" >&2
    exit 2
    ;;
esac
