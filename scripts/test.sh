#!/usr/bin/env bash
# Runs every check of the project: formatting, clippy with warnings denied, and every test of the
# workspace (unit, integration, end-to-end and the headless-browser test of the demo portal).
#
# PostgreSQL: the edge's tests use $DATABASE_URL when it is set (each test creates and drops its
# own database there); otherwise this script starts a throwaway cluster and removes it at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

log() { printf '\n==> %s\n' "$*"; }

PG_DIR=""
PG_BIN=""
cleanup() {
    if [ -n "$PG_DIR" ] && [ -d "$PG_DIR" ]; then
        run_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
        rm -rf "$PG_DIR"
    fi
}
trap cleanup EXIT INT TERM

# initdb and postgres refuse to run as root: run them as the postgres user then.
run_pg() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

find_pg_bin() {
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return
    fi
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$d/initdb" ]; then echo "$d"; return; fi
    done
}

start_throwaway_postgres() {
    PG_BIN=$(find_pg_bin)
    if [ -z "$PG_BIN" ]; then
        echo "No PostgreSQL server found (initdb). Install it (Debian/Ubuntu: apt-get install postgresql)," >&2
        echo "or set DATABASE_URL to a PostgreSQL server the tests may create databases on." >&2
        exit 1
    fi
    PG_DIR=$(mktemp -d /tmp/dingtalk-test-pg.XXXXXX)
    chmod 755 "$PG_DIR"
    if [ "$(id -u)" = 0 ]; then chown postgres "$PG_DIR"; fi
    local port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 55432)
    run_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 >/dev/null
    run_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_DIR -c max_connections=300 -c fsync=off" start >/dev/null
    export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
    log "started a throwaway PostgreSQL on 127.0.0.1:$port"
}

# The portal's browser test drives headless Chromium through chromedriver: install Debian's
# packages when chromedriver is missing and we may (root or password-less sudo).
ensure_chromedriver() {
    if command -v chromedriver >/dev/null 2>&1; then
        return
    fi
    local sudo=""
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo="sudo"
        else
            echo "chromedriver is missing and this script may not install it (not root, no sudo):" >&2
            echo "install Debian's chromium and chromium-driver, or the browser test will fail." >&2
            return
        fi
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "chromedriver is missing and there is no apt-get: install Chromium and its chromedriver," >&2
        echo "or the browser test will fail." >&2
        return
    fi
    log "installing chromium and chromium-driver for the browser test: ${sudo:+sudo }apt-get update && apt-get install -y chromium chromium-driver"
    $sudo apt-get update
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver
}
ensure_chromedriver

if [ -z "${DATABASE_URL:-}" ]; then
    start_throwaway_postgres
else
    log "using DATABASE_URL from the environment"
fi

log "cargo fmt --check"
cargo fmt --all --check

log "cargo clippy (warnings denied)"
cargo clippy --workspace --all-targets --locked -- -D warnings

log "cargo build --workspace --bins (the end-to-end and browser tests start the binaries)"
cargo build --workspace --bins --locked

log "cargo test"
cargo test --workspace --locked --no-fail-fast

log "all checks passed"
