#!/usr/bin/env bash
# A throwaway PostgreSQL on 127.0.0.1 for the tests: a temp data dir, a free port, fsync off, trust.
#
#   scripts/postgres.sh install           # installs PostgreSQL (apt-get) if missing; prints
#                                         # the dir of its programs (initdb, postgres, ...)
#   eval "$(scripts/postgres.sh start)"   # prints `export DATABASE_URL=...` and
#                                         # `export AUTH0_TEST_PG_DIR=...` once it accepts connections
#   scripts/postgres.sh stop  [DIR]       # stops it and removes DIR (default: $AUTH0_TEST_PG_DIR)
#   scripts/postgres.sh down|up [DIR]     # stops / starts it again, same port and data (outages)
#
# As root the server runs as the `postgres` user (PostgreSQL refuses root). A start takes
# about 2 s. Everything but the export lines goes to stderr, for `eval "$(...)"`.
set -Eeuo pipefail

# Name prefix of the temp dirs this script makes; `stop` removes only such a dir.
readonly DIR_PREFIX="auth0-pg."
# The superuser and database the tests connect as / to.
readonly PG_USER="auth0"
readonly PG_DB="auth0_test"
# Seconds pg_ctl waits for the server to start or stop.
readonly PG_CTL_WAIT=60

say() { echo "postgres.sh: $*" >&2; }
die() { say "$*"; exit 1; }
is_root() { [[ "$(id -u)" == 0 ]]; }
# Runs a PostgreSQL program as the user the server runs as.
as_pg() { if is_root; then runuser -u postgres -- "$@"; else "$@"; fi; }

# Sets BIN to the directory holding initdb/pg_ctl/createdb, installing PostgreSQL if needed.
find_bin() {
    local initdb
    initdb="$(command -v initdb || true)"
    if [[ -z "$initdb" ]]; then
        # Debian keeps them out of PATH, one directory per major version; take the newest.
        initdb="$(ls -1d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)"
    fi
    if [[ -z "$initdb" ]]; then
        is_root || die "initdb not found; install PostgreSQL (Debian: apt-get install postgresql)"
        say "initdb not found: installing PostgreSQL with apt-get"
        export DEBIAN_FRONTEND=noninteractive
        # Only the programs are wanted: no system cluster started on port 5432.
        mkdir -p /etc/postgresql-common/createcluster.d
        echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/auth0-tests.conf
        # On a fresh machine the package lists can be missing or stale: update, then retry.
        if ! apt-get install -y --no-install-recommends postgresql >&2; then
            apt-get update >&2
            apt-get install -y --no-install-recommends postgresql >&2
        fi
        initdb="$(ls -1d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)"
        [[ -n "$initdb" ]] || die "PostgreSQL was installed but initdb is still not found"
    fi
    BIN="$(dirname "$(readlink -f "$initdb")")"
}

# A port on 127.0.0.1 that nothing listens on right now.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# The data dir to act on: the argument, else $AUTH0_TEST_PG_DIR; refuses anything this script
# did not make.
target_dir() {
    local dir="${1:-${AUTH0_TEST_PG_DIR:-}}"
    [[ -n "$dir" ]] || die "no directory given and AUTH0_TEST_PG_DIR is not set"
    [[ "$(basename "$dir")" == "$DIR_PREFIX"* && -f "$dir/data/PG_VERSION" ]] ||
        die "$dir is not a PostgreSQL made by this script"
    echo "$dir"
}

pg_start() { # <dir>
    as_pg "$BIN/pg_ctl" -D "$1/data" -l "$1/postgres.log" -w -t "$PG_CTL_WAIT" start >&2
}

pg_stop() { # <dir>
    as_pg "$BIN/pg_ctl" -D "$1/data" -m fast -w -t "$PG_CTL_WAIT" stop >&2
}

cmd_start() {
    find_bin
    local dir port started=""
    dir="$(mktemp -d "${TMPDIR:-/tmp}/${DIR_PREFIX}XXXXXX")"
    # On any failure below, leave nothing behind.
    # shellcheck disable=SC2064
    trap "[[ -n \"\$started\" ]] && pg_stop '$dir' || true; rm -rf '$dir'" ERR
    chmod 700 "$dir"
    if is_root; then
        chown postgres: "$dir"
    fi
    say "initdb in $dir (binaries: $BIN)"
    as_pg "$BIN/initdb" -D "$dir/data" -U "$PG_USER" --auth=trust --encoding=UTF8 --no-locale \
        >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; false; }
    echo "include 'auth0-test.conf'" | as_pg tee -a "$dir/data/postgresql.conf" >/dev/null

    port="$(free_port)"
    as_pg tee "$dir/data/auth0-test.conf" >/dev/null <<EOF
# Written by scripts/postgres.sh: a test server, loopback only, durability off for speed.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 300
EOF
    pg_start "$dir" || { tail -n 5 "$dir/postgres.log" >&2; false; }
    started=1
    as_pg "$BIN/createdb" -h 127.0.0.1 -p "$port" -U "$PG_USER" "$PG_DB"
    trap - ERR
    say "PostgreSQL accepts connections on 127.0.0.1:$port (data in $dir)"
    echo "export DATABASE_URL=postgres://$PG_USER@127.0.0.1:$port/$PG_DB"
    echo "export AUTH0_TEST_PG_DIR=$dir"
}

cmd_stop() {
    local dir
    dir="$(target_dir "${1:-}")"
    find_bin
    if [[ -f "$dir/data/postmaster.pid" ]]; then
        pg_stop "$dir" || say "pg_ctl stop failed; removing $dir anyway"
    fi
    rm -rf "$dir"
    say "stopped and removed $dir"
}

cmd_down_up() { # <pg_stop|pg_start> [DIR]
    local dir
    dir="$(target_dir "${2:-}")"
    find_bin
    "$1" "$dir"
}

case "${1:-}" in
install)
    find_bin
    echo "$BIN"
    ;;
start) cmd_start ;;
stop) cmd_stop "${2:-}" ;;
down) cmd_down_up pg_stop "${2:-}" ;;
up) cmd_down_up pg_start "${2:-}" ;;
*)
    echo "usage: $0 install | start | stop [DIR] | down [DIR] | up [DIR]" >&2
    exit 2
    ;;
esac
