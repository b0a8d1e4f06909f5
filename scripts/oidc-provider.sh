#!/usr/bin/env bash
# A real OpenID provider (panva/oidc-provider, pinned in tests/e2e/oidc-provider) on loopback, for the end-to-end tests.
#
#   export OIDC_PROVIDER_ISSUER="$(scripts/oidc-provider.sh start [--watch-pid PID] | tail -n 1)"
#   scripts/oidc-provider.sh stop [ISSUER]              # stops that one, or every one started here
#
# `start` runs `npm ci` when node_modules is older than package-lock.json, starts the provider
# on a free port of 127.0.0.1, waits for its discovery document and prints the issuer. With
# --watch-pid it stops by itself when that process ends. Pid and log: target/oidc-provider/.
# Needs Node.js 20 or later and npm, and the npm registry (or npm's cache) the first time.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$root/tests/e2e/oidc-provider"
run="$root/target/oidc-provider"
# How long the provider may take to answer its discovery document, in tenths of a second.
START_TIMEOUT_TENTHS=300

die() {
    echo "oidc-provider.sh: $*" >&2
    exit 1
}

install_packages() {
    command -v node >/dev/null || die "node is not installed (Node.js 20 or later is needed)"
    command -v npm >/dev/null || die "npm is not installed"
    mkdir -p "$run"
    # One install at a time (two starts at once would both run `npm ci` in one folder); the
    # lock's file descriptor is the subshell's only, so the provider never inherits it.
    (
        if command -v flock >/dev/null; then
            flock 9
        fi
        # A marker written after a complete install: node_modules is current when the marker
        # is newer than the lock file (an interrupted `npm ci` leaves none, so it runs again).
        marker="$dir/node_modules/.installed"
        if [[ -f "$marker" && "$marker" -nt "$dir/package-lock.json" ]]; then
            exit 0
        fi
        echo "oidc-provider.sh: npm ci in $dir" >&2
        (cd "$dir" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error) >&2
        touch "$marker"
    ) 9>"$run/install.lock"
}

# The issuer's port, from a URL like http://127.0.0.1:PORT.
port_of() {
    local port="${1##*:}"
    port="${port%%/*}"
    [[ "$port" =~ ^[0-9]+$ ]] || die "not an issuer URL on a port: $1"
    echo "$port"
}

discovery_answers() {
    if command -v curl >/dev/null; then
        curl -fsS -o /dev/null --max-time 2 "$1/.well-known/openid-configuration" 2>/dev/null
    else
        node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' \
            "$1/.well-known/openid-configuration"
    fi
}

start() {
    local watch=()
    if [[ "${1:-}" == "--watch-pid" ]]; then
        [[ -n "${2:-}" ]] || die "--watch-pid needs a pid"
        watch=(--watch-pid "$2")
    fi
    install_packages
    mkdir -p "$run"
    local out pid issuer="" i
    out="$(mktemp "$run/starting.XXXXXX")"
    # setsid: its own process group, so the caller's Ctrl-C or job control does not reach it
    # half-way; it is stopped by `stop` (or --watch-pid).
    setsid node "$dir/provider.mjs" "${watch[@]}" >"$out" 2>&1 </dev/null &
    pid=$!
    for ((i = 0; i < START_TIMEOUT_TENTHS; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            cat "$out" >&2
            die "the provider exited while starting (its output is above)"
        fi
        if [[ -z "$issuer" ]]; then
            issuer="$(sed -n 's/^issuer=//p' "$out" | head -n 1)"
        fi
        if [[ -n "$issuer" ]] && discovery_answers "$issuer"; then
            break
        fi
        sleep 0.1
    done
    if ((i == START_TIMEOUT_TENTHS)); then
        kill "$pid" 2>/dev/null || true
        cat "$out" >&2
        die "the provider did not answer its discovery document within $((START_TIMEOUT_TENTHS / 10)) s"
    fi
    local port
    port="$(port_of "$issuer")"
    mv "$out" "$run/$port.log"
    echo "$pid" >"$run/$port.pid"
    echo "oidc-provider.sh: started pid $pid, log $run/$port.log" >&2
    echo "$issuer"
}

stop_pidfile() {
    local pidfile="$1" pid i
    pid="$(cat "$pidfile")"
    rm -f "$pidfile"
    # Only a node process running our provider.mjs: never whatever reused the pid since.
    if [[ -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$dir/provider.mjs"; then
        kill "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
        echo "oidc-provider.sh: stopped pid $pid" >&2
    fi
    return 0
}

stop() {
    local pidfile
    if [[ -n "${1:-}" ]]; then
        pidfile="$run/$(port_of "$1").pid"
        [[ -f "$pidfile" ]] || die "no provider started here for $1 (no $pidfile)"
        stop_pidfile "$pidfile"
    else
        shopt -s nullglob
        for pidfile in "$run"/*.pid; do
            stop_pidfile "$pidfile"
        done
    fi
}

case "${1:-}" in
start) shift && start "$@" ;;
stop) shift && stop "$@" ;;
install) install_packages ;;
*)
    echo "usage: $0 start [--watch-pid PID] | stop [ISSUER] | install" >&2
    exit 2
    ;;
esac
