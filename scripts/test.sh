#!/usr/bin/env bash
# Runs every check of the project: formatting, clippy with warnings denied, and every test of the
# workspace (unit, integration, end-to-end and the headless-browser test of the demo portal).
#
# PostgreSQL: the edge's tests use $DATABASE_URL when it is set (each test creates and drops its
# own database there); otherwise this script starts a throwaway cluster and removes it at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

SCRIPT_NAME=test.sh
LOG_BLANK_LINE=1
# shellcheck source=lib/common.sh
. "$ROOT/scripts/lib/common.sh"
# shellcheck source=lib/postgres.sh
. "$ROOT/scripts/lib/postgres.sh"

PG_DIR=""
PG_BIN=""
cleanup() {
    if [ -n "$PG_DIR" ] && [ -d "$PG_DIR" ]; then
        pg_stop_throwaway "$PG_DIR"
        rm -rf "$PG_DIR"
    fi
}
trap cleanup EXIT INT TERM

start_throwaway_postgres() {
    PG_DIR=$(mktemp -d /tmp/dingtalk-test-pg.XXXXXX)
    pg_start_throwaway "$PG_DIR" "the tests may create databases on" max_connections=300
    export DATABASE_URL="$PG_URL"
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
