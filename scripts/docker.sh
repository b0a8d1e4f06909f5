#!/usr/bin/env bash
# A Docker engine and two small local images, for the testcontainers path of the Redis and
# PostgreSQL store tests (their tests/support/mod.rs start a container per test when neither
# REDIS_URL nor DATABASE_URL is set).
#
#   eval "$(scripts/docker.sh start [--watch-pid PID])"   # prints `export DOCKER_HOST=...`,
#                                   # `export AUTH0_TEST_REDIS_IMAGE=...`,
#                                   # `export AUTH0_TEST_POSTGRES_IMAGE=...`,
#                                   # `export AUTH0_TEST_DOCKER_DIR=...` and, with a dockerd
#                                   # of its own, `export AUTH0_TEST_CONTAINER_HOST=127.0.0.1`
#   scripts/docker.sh stop [DIR]    # removes the test containers, stops the dockerd `start`
#                                   # started (if any) and removes DIR (default:
#                                   # $AUTH0_TEST_DOCKER_DIR)
#
# When a Docker engine already answers (DOCKER_HOST, else the docker CLI's current context), it
# is used and left running. Otherwise, as root, docker.io is installed from Debian's packages
# when dockerd is missing, and a private dockerd is started: its socket, data, state and log
# in a temp dir, the overlay2 storage driver where the kernel and that dir's filesystem allow
# it, else vfs (works anywhere), its own bridge and no iptables rules (so it does not meddle
# with another engine on the machine), published ports on 127.0.0.1 only (the PostgreSQL
# image trusts every connection). With --watch-pid it also stops by itself when that process
# ends without calling `stop`.
#
# CI has no network to Docker Hub, so the images are built here from the host's own programs
# (installed by scripts/redis.sh and scripts/postgres.sh when missing): each binary plus the
# libraries `ldd` lists, imported with `docker import`. They follow the official images'
# conventions the tests rely on: Redis logs "Ready to accept connections" and answers on 6379
# without a password; PostgreSQL logs "database system is ready to accept connections",
# answers on 5432 and has the user and database `auth0` (trust authentication, so the
# POSTGRES_* variables the tests pass for the official image are not needed). vfs copies the
# image for every container, so the images hold only what the servers need (about 20 MB and
# 100 MB, most of it shared libraries).
#
# Everything but the export lines goes to stderr, so `eval "$(...)"` sees only them.
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Name prefix of the temp dirs this script makes; `stop` removes only such a dir.
readonly DIR_PREFIX="auth0-docker."
# The images `start` builds, named as the tests' AUTH0_TEST_*_IMAGE variables expect.
readonly REDIS_IMAGE="auth0-test/redis:local"
readonly POSTGRES_IMAGE="auth0-test/postgres:local"
# The PostgreSQL superuser and database in the image; the tests connect as auth0 to auth0.
readonly PG_USER="auth0"
readonly PG_DB="auth0"
# Where the data directory lives in the PostgreSQL image (as in the official image).
readonly PG_DATA="/var/lib/postgresql/data"
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
    if command -v dockerd >/dev/null 2>&1 && command -v docker >/dev/null 2>&1; then
        return 0
    fi
    is_root || die "no Docker engine answers and dockerd is missing; install Docker, or run this as root"
    command -v apt-get >/dev/null || die "dockerd is missing and there is no apt-get to install docker.io"
    say "dockerd is missing: installing docker.io with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    # On a fresh machine the package lists can be missing or stale: update, then retry.
    if ! apt-get install -y -qq --no-install-recommends docker.io >&2; then
        apt-get update -qq >&2
        apt-get install -y -qq --no-install-recommends docker.io >&2
    fi
    command -v dockerd >/dev/null && command -v docker >/dev/null ||
        die "docker.io was installed but dockerd or docker is still not on PATH"
}

# Prints a free 10.x.y.0/24 network's bridge address (10.x.y.1/24), one no route covers yet.
free_subnet() {
    local routes i net
    routes="$(ip -4 route show 2>/dev/null || true)"
    for i in $(seq 1 50); do
        net="10.$((200 + RANDOM % 50)).$((RANDOM % 256))"
        if ! grep -q "^$net\." <<<"$routes"; then
            echo "$net.1/24"
            return 0
        fi
    done
    die "no free 10.x.y.0/24 network found for the bridge"
}

# Unmounts whatever dockerd left mounted under <dir> (deepest first).
unmount_under() { # <dir>
    findmnt -rn -o TARGET 2>/dev/null | grep "^$1/" | sort -r | xargs -r umount -l 2>/dev/null || true
}

# Makes the private dockerd's own bridge (docker0 may belong to another engine); its name in
# <dir>/bridge for `stop`.
make_bridge() { # <dir>
    local bridge
    command -v ip >/dev/null || die "ip (iproute2) is needed to make the private dockerd's bridge"
    # At most 15 characters.
    bridge="auth0d$((RANDOM % 100000))"
    ip link add name "$bridge" type bridge
    echo "$bridge" >"$1/bridge"
    # A fixed MAC address (locally administered): a bridge without one takes its lowest
    # port's, so it changes when a container goes, and the other containers' packets to the
    # host stall until their ARP entry expires (seconds). docker0 has one for that reason.
    ip link set "$bridge" address "$(printf '02:42:%02x:%02x:%02x:%02x' \
        $((RANDOM % 256)) $((RANDOM % 256)) $((RANDOM % 256)) $((RANDOM % 256)))"
    ip addr add "$(free_subnet)" dev "$bridge"
    ip link set "$bridge" up
}

# Runs dockerd in <dir> with <storage driver>; true once it answers, false if it exits first.
run_dockerd() { # <dir> <storage driver>
    local dir="$1" driver="$2" pid i
    rm -rf "$dir/data" "$dir/exec"
    mkdir -p "$dir/data" "$dir/exec"
    # Its own session: Ctrl-C in the terminal does not kill it half-way; `stop` does.
    setsid dockerd --config-file "$dir/daemon.json" \
        --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" \
        -H "unix://$dir/docker.sock" --storage-driver "$driver" \
        --bridge "$(cat "$dir/bridge")" --iptables=false --ip-masq=false --ip 127.0.0.1 \
        >"$dir/dockerd.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$dir/dockerd.started"
    for ((i = 0; i < DOCKERD_START_TIMEOUT * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || return 1
        engine_answers && return 0
        sleep 0.1
    done
    tail -n 20 "$dir/dockerd.log" >&2 || true
    die "dockerd did not answer on $DOCKER_HOST within $DOCKERD_START_TIMEOUT s"
}

# Starts a private dockerd in <dir>; sets DOCKER_HOST to its socket.
start_dockerd() { # <dir>
    local dir="$1"
    make_bridge "$dir"
    # An empty config file: nothing from /etc/docker/daemon.json.
    echo '{}' >"$dir/daemon.json"
    export DOCKER_HOST="unix://$dir/docker.sock"
    # overlay2 starts a container without copying its image; it needs the overlay module and
    # a filesystem under it that supports it (not overlayfs itself), so vfs, which copies the
    # image for every container but works anywhere, is the fallback.
    if run_dockerd "$dir" overlay2; then
        return 0
    fi
    say "dockerd with overlay2 exited ($(grep -m 1 'failed to start daemon' "$dir/dockerd.log" || echo "its log: $dir/dockerd.log")); trying vfs"
    # A dockerd that fails to start leaves its data dir mounted.
    unmount_under "$dir"
    rm -f "$dir/docker.sock" "$dir/dockerd.pid"
    if ! run_dockerd "$dir" vfs; then
        tail -n 20 "$dir/dockerd.log" >&2 || true
        die "dockerd exited while starting (the end of its log is above)"
    fi
}

# Copies each file to the same path under <root>, with every library `ldd` lists for it.
copy_with_libs() { # <root> <file>...
    local root="$1" file lib
    shift
    for file in "$@"; do
        cp -L --parents "$file" "$root"
        if ldd "$file" 2>/dev/null | grep -q "not found"; then
            ldd "$file" >&2
            die "$file needs a library that is not installed"
        fi
        # `name => /path (addr)` lines and the loader's `/path (addr)` line.
        for lib in $(ldd "$file" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
            [[ -e "$root$lib" ]] || cp -L --parents "$lib" "$root"
        done
    done
}

# Imports the tree <root> as <image>, with the given `docker import --change` instructions.
import_image() { # <root> <image> <change>...
    local root="$1" image="$2" arg
    shift 2
    local changes=()
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
    mkdir -p "$root/usr/bin"
    # redis-server is a symlink on Debian; the image gets the program itself, under that name.
    cp -L "$(command -v redis-server)" "$root/usr/bin/redis-server"
    copy_with_libs "$root" "$(readlink -f "$(command -v redis-server)")"
    # No password and not only loopback (connections come through the bridge), no persistence.
    import_image "$root" "$REDIS_IMAGE" \
        'CMD ["/usr/bin/redis-server", "--protected-mode", "no", "--save", "", "--appendonly", "no"]' \
        'EXPOSE 6379'
}

# Runs a PostgreSQL program as the user the server runs as (PostgreSQL refuses root).
as_pg() {
    if is_root; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

build_postgres_image() { # <dir>
    local dir="$1" root="$1/image-postgres" bin lib share data uid gid user group so
    bin="$(scripts/postgres.sh install | tail -n 1)"
    lib="$("$bin/pg_config" --pkglibdir 2>/dev/null || echo "$(dirname "$bin")/lib")"
    share="$("$bin/pg_config" --sharedir 2>/dev/null || echo "/usr/share/postgresql/$(basename "$(dirname "$bin")")")"
    mkdir -p "$root"
    # The server and its loadable modules (plpgsql, encoding conversions), without the JIT
    # (llvmjit pulls in LLVM, 100 MB) and its bitcode; the share dir (timezone abbreviations,
    # extension scripts) and the UTC zone (the server's time zone, set below).
    local modules=()
    for so in "$lib"/*.so; do
        [[ "$(basename "$so")" == llvmjit* ]] || modules+=("$so")
    done
    copy_with_libs "$root" "$bin/postgres" "${modules[@]}"
    mkdir -p "$root$(dirname "$share")"
    cp -R "$share" "$root$share"
    rm -rf "$root$share/man"
    cp -L --parents /usr/share/zoneinfo/UTC /usr/share/zoneinfo/Etc/UTC "$root" 2>/dev/null || true

    # A data dir made now, not at container start: initdb as the server's user, trust for
    # every host, the user and database the tests use. 1 MB WAL segments keep it small.
    data="$dir/pgdata"
    mkdir -p "$data"
    # mktemp's 700 would keep the server's user out of its own data dir.
    chmod 711 "$dir"
    if is_root; then
        chown postgres: "$data"
    fi
    chmod 700 "$data"
    as_pg "$bin/initdb" -D "$data" -U "$PG_USER" --auth=trust --encoding=UTF8 --no-locale \
        --wal-segsize=1 >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        die "initdb failed (its output is above)"
    }
    as_pg tee -a "$data/postgresql.conf" >/dev/null <<EOF
# Written by scripts/docker.sh: a throwaway test server in a container, durability off.
listen_addresses = '*'
unix_socket_directories = ''
fsync = off
synchronous_commit = off
full_page_writes = off
jit = off
timezone = 'UTC'
log_timezone = 'UTC'
EOF
    as_pg tee -a "$data/pg_hba.conf" >/dev/null <<EOF
# Written by scripts/docker.sh: connections come from the bridge; the ports are on 127.0.0.1.
host all all 0.0.0.0/0 trust
host all all ::/0 trust
EOF
    # Single-user mode: no server to start. The `postgres` database goes (7 MB less per
    # container); `template1` stays for CREATE DATABASE.
    # It exits 0 after a failed statement: its ERROR lines tell.
    if ! printf 'CREATE DATABASE %s\nDROP DATABASE postgres\n' "$PG_DB" |
        as_pg "$bin/postgres" --single -D "$data" template1 >"$dir/createdb.log" 2>&1 ||
        grep -q ERROR "$dir/createdb.log"; then
        cat "$dir/createdb.log" >&2
        die "creating the database $PG_DB failed (the output is above)"
    fi
    mkdir -p "$root$(dirname "$PG_DATA")"
    mv "$data" "$root$PG_DATA"
    # The server's user, as the files are owned (getpwuid must find it).
    uid="$(stat -c %u "$root$PG_DATA")"
    gid="$(stat -c %g "$root$PG_DATA")"
    user="$(stat -c %U "$root$PG_DATA")"
    group="$(stat -c %G "$root$PG_DATA")"
    chown "$uid:$gid" "$root$(dirname "$PG_DATA")"
    mkdir -p "$root/etc" "$root/tmp"
    chmod 1777 "$root/tmp"
    echo "$user:x:$uid:$gid:PostgreSQL:$(dirname "$PG_DATA"):/nonexistent" >"$root/etc/passwd"
    echo "$group:x:$gid:" >"$root/etc/group"
    import_image "$root" "$POSTGRES_IMAGE" \
        "USER $user" \
        "CMD [\"$bin/postgres\", \"-D\", \"$PG_DATA\"]" \
        'EXPOSE 5432'
}

cmd_start() {
    local watch=""
    if [[ "${1:-}" == "--watch-pid" ]]; then
        watch="${2:?--watch-pid needs a pid}"
    fi
    local dir
    dir="$(mktemp -d "${TMPDIR:-/tmp}/${DIR_PREFIX}XXXXXX")"
    # On any failure below (an error or a `die`), leave nothing behind.
    started=""
    # shellcheck disable=SC2064
    trap "[[ -n \"\$started\" ]] || cmd_stop '$dir' || true" EXIT
    if engine_answers; then
        if [[ -z "${DOCKER_HOST:-}" ]]; then
            # testcontainers reads DOCKER_HOST, not the docker CLI's contexts.
            DOCKER_HOST="$(docker context inspect --format '{{.Endpoints.docker.Host}}')"
            export DOCKER_HOST
        fi
        say "using the Docker engine that answers on $DOCKER_HOST"
    else
        is_root || die "no Docker engine answers (DOCKER_HOST=${DOCKER_HOST:-unset}), and starting one needs root"
        ensure_dockerd
        start_dockerd "$dir"
        say "started dockerd $(docker version --format '{{.Server.Version}}') with $(docker info --format '{{.Driver}}') on $DOCKER_HOST (data and log in $dir)"
    fi
    build_redis_image "$dir"
    build_postgres_image "$dir"
    if [[ -n "$watch" && -f "$dir/dockerd.started" ]]; then
        # Stops it when the watched process ends without running `stop`; ends by itself
        # when dockerd is gone.
        setsid bash -c 'while kill -0 "$1" && kill -0 "$2"; do sleep 1; done 2>/dev/null
                        kill -0 "$2" 2>/dev/null && "$3" stop "$4"' \
            _ "$watch" "$(cat "$dir/dockerd.started")" "$PWD/scripts/docker.sh" "$dir" \
            >/dev/null 2>&1 </dev/null &
    fi
    started=1
    echo "export DOCKER_HOST=$DOCKER_HOST"
    echo "export AUTH0_TEST_REDIS_IMAGE=$REDIS_IMAGE"
    echo "export AUTH0_TEST_POSTGRES_IMAGE=$POSTGRES_IMAGE"
    if [[ -f "$dir/dockerd.started" ]]; then
        # Its ports are on 127.0.0.1 only; testcontainers would try the bridge's gateway when
        # the tests run in a container (it looks for /.dockerenv).
        echo "export AUTH0_TEST_CONTAINER_HOST=127.0.0.1"
    fi
    echo "export AUTH0_TEST_DOCKER_DIR=$dir"
}

# Removes the containers of our images (on a private dockerd: all of them).
remove_containers() { # <private: 1 or empty>
    local ids
    if [[ -n "$1" ]]; then
        ids="$(docker ps -aq)"
    else
        ids="$(docker ps -aq --filter "ancestor=$REDIS_IMAGE"; docker ps -aq --filter "ancestor=$POSTGRES_IMAGE")"
    fi
    if [[ -n "$ids" ]]; then
        # shellcheck disable=SC2086
        docker rm -f $ids >/dev/null || say "could not remove every container"
    fi
}

cmd_stop() {
    local dir="${1:-${AUTH0_TEST_DOCKER_DIR:-}}" pid i
    [[ -n "$dir" ]] || die "no directory given and AUTH0_TEST_DOCKER_DIR is not set"
    [[ "$(basename "$dir")" == "$DIR_PREFIX"* && -d "$dir" ]] || die "not a directory made by this script: $dir"
    if [[ -f "$dir/dockerd.started" ]]; then
        pid="$(cat "$dir/dockerd.started")"
        # Only our dockerd: never whatever reused the pid since.
        if [[ -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "dockerd.*--data-root $dir/data"; then
            DOCKER_HOST="unix://$dir/docker.sock" remove_containers 1
            kill "$pid" 2>/dev/null || true
            for ((i = 0; i < DOCKERD_STOP_TIMEOUT * 10; i++)); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -KILL "$pid" 2>/dev/null || true
        fi
        unmount_under "$dir"
        if [[ -f "$dir/bridge" ]]; then
            ip link del "$(cat "$dir/bridge")" 2>/dev/null || true
        fi
    elif engine_answers; then
        # An engine we did not start: only our containers go; it and the images stay.
        remove_containers ""
    fi
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
