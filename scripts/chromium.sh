#!/usr/bin/env bash
# Headless Chromium and a throwaway chromedriver on loopback, for the quickstart's browser test.
#
#   scripts/chromium.sh install                      # installs Debian's packages if missing
#   eval "$(scripts/chromium.sh start [--watch-pid PID])"  # exports CHROMEDRIVER_URL and
#                                                    # AUTH0_TEST_CHROMEDRIVER_DIR
#   scripts/chromium.sh stop DIR                     # stops that chromedriver and its browsers
#
# chromedriver runs in its own process group, so `stop` also ends any Chromium a test left
# open. With --watch-pid it stops by itself when that process ends. Pid and log: DIR.
# Installing needs root. Everything but the export lines goes to stderr.
set -euo pipefail

# Debian's packages: the browser, its WebDriver server, and the fonts the pages are drawn with.
readonly PACKAGES=(chromium chromium-driver fonts-liberation)
# Name prefix of the temp dirs this script makes; `stop` removes only such a dir.
readonly DIR_PREFIX="auth0-chromedriver."
# How long chromedriver may take to answer /status, in tenths of a second.
readonly START_TIMEOUT_TENTHS=100

say() { echo "chromium.sh: $*" >&2; }
die() {
    say "$*"
    exit 1
}

ensure_installed() {
    if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
        return 0
    fi
    [[ "$(id -u)" == 0 ]] || die "chromium or chromedriver is missing; install them as root: apt-get install chromium chromium-driver"
    command -v apt-get >/dev/null || die "chromium or chromedriver is missing and there is no apt-get to install them"
    say "chromium or chromedriver is missing: installing ${PACKAGES[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    # On a fresh machine the package lists can be missing or stale: update, then retry.
    if ! apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >&2; then
        apt-get update -qq >&2
        apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >&2
    fi
    command -v chromium >/dev/null && command -v chromedriver >/dev/null ||
        die "the packages were installed but chromium or chromedriver is still not on PATH"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

status_ready() { # <url>
    curl -fsS --max-time 2 "$1/status" 2>/dev/null | grep -q '"ready": *true'
}

start() {
    local watch=""
    if [[ "${1:-}" == "--watch-pid" ]]; then
        watch="${2:?--watch-pid needs a pid}"
    fi
    ensure_installed
    command -v curl >/dev/null || die "curl is needed to wait for chromedriver"
    local dir port url pid i
    dir="$(mktemp -d "/tmp/${DIR_PREFIX}XXXXXX")"
    port="$(free_port)"
    url="http://127.0.0.1:$port"
    # Local connections only (chromedriver's default); its own process group for `stop`.
    setsid chromedriver --port="$port" --log-path="$dir/chromedriver.log" \
        >"$dir/chromedriver.out" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$dir/chromedriver.pid"
    for ((i = 0; i < START_TIMEOUT_TENTHS; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            cat "$dir/chromedriver.out" "$dir/chromedriver.log" >&2 2>/dev/null || true
            die "chromedriver exited while starting (its output is above)"
        fi
        status_ready "$url" && break
        sleep 0.1
    done
    if ((i == START_TIMEOUT_TENTHS)); then
        kill -- "-$pid" 2>/dev/null || true
        cat "$dir/chromedriver.out" >&2 || true
        die "chromedriver did not answer $url/status within $((START_TIMEOUT_TENTHS / 10)) s"
    fi
    if [[ -n "$watch" ]]; then
        # Stops it when the watched process ends without running `stop`; ends by itself when
        # chromedriver is gone.
        setsid bash -c 'while kill -0 "$1" && kill -0 "$2"; do sleep 1; done 2>/dev/null
                        kill -0 "$2" 2>/dev/null && kill -- "-$2" 2>/dev/null' \
            _ "$watch" "$pid" >/dev/null 2>&1 </dev/null &
    fi
    say "chromedriver $(chromedriver --version | awk '{print $2}') started: pid $pid on $url, log $dir/chromedriver.log"
    echo "export CHROMEDRIVER_URL=$url"
    echo "export AUTH0_TEST_CHROMEDRIVER_DIR=$dir"
}

stop() {
    local dir="${1:?usage: scripts/chromium.sh stop DIR}" pid i
    [[ "$(basename "$dir")" == "$DIR_PREFIX"* ]] || die "not a directory made by this script: $dir"
    if [[ -f "$dir/chromedriver.pid" ]]; then
        pid="$(cat "$dir/chromedriver.pid")"
        # Only our chromedriver: never whatever reused the pid since.
        if [[ -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "chromedriver.*--log-path=$dir/"; then
            # The whole group: chromedriver and any Chromium it left open.
            kill -- "-$pid" 2>/dev/null || true
            for ((i = 0; i < 50; i++)); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -KILL -- "-$pid" 2>/dev/null || true
        fi
    fi
    rm -rf "$dir"
}

case "${1:-}" in
install) ensure_installed ;;
start)
    shift
    start "$@"
    ;;
stop) stop "${2:-}" ;;
*)
    echo "usage: scripts/chromium.sh install | start [--watch-pid PID] | stop DIR" >&2
    exit 2
    ;;
esac
