#!/usr/bin/env bash
# Runs the whole system locally, wired together with the fixed demo values of ARCHITECTURE.md
# section 9:
#   dingtalk-sim   http://127.0.0.1:8090  (DingTalk stand-in, the demo portal at /portal/)
#   cloud-gateway  http://127.0.0.1:8080
#   edge-service   http://127.0.0.1:8081
# and, when DATABASE_URL is unset, a throwaway PostgreSQL for the edge.
#
# Ctrl-C (or SIGTERM) stops every process this script started and removes its temporary files
# (configs, logs, the cloud's SQLite file, the throwaway PostgreSQL cluster).
#
# Environment:
#   DATABASE_URL   use this PostgreSQL instead of a throwaway one (a database `dingtalk_demo` is
#                  created there when psql is available, else the URL is used as it is)
#   DEMO_BIN_DIR   use the binaries in this directory instead of `cargo build --release --bins`
#   RUST_LOG       log filter of the three services (default: info)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

SIM_PORT=8090
CLOUD_PORT=8080
EDGE_PORT=8081
HOST=127.0.0.1
SIM_URL="http://$HOST:$SIM_PORT"
CLOUD_URL="http://$HOST:$CLOUD_PORT"
EDGE_URL="http://$HOST:$EDGE_PORT"

SCRIPT_NAME=demo.sh
# shellcheck source=lib/common.sh
. "$ROOT/scripts/lib/common.sh"
# shellcheck source=lib/postgres.sh
. "$ROOT/scripts/lib/postgres.sh"
# shellcheck source=lib/configs.sh
. "$ROOT/scripts/lib/configs.sh"

# ---------------------------------------------------------------------------------------------
# Cleanup: runs once, on any exit (normal, error, Ctrl-C, SIGTERM).
WORK=""
PG_BIN=""
PG_STARTED=""
PIDS=()
CLEANED=""

cleanup() {
    [ -n "$CLEANED" ] && return
    CLEANED=1
    trap '' INT TERM
    if [ "${#PIDS[@]}" -gt 0 ]; then
        log "stopping the demo"
        stop_pids "${PIDS[@]}"
    fi
    if [ -n "$PG_STARTED" ]; then
        pg_stop_throwaway "$WORK/pg"
    fi
    if [ -n "$WORK" ] && [ -d "$WORK" ]; then
        rm -rf "$WORK"
    fi
    [ "${#PIDS[@]}" -gt 0 ] && log "stopped; temporary files removed"
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

check_ports_free() {
    local port busy=""
    for port in "$SIM_PORT" "$CLOUD_PORT" "$EDGE_PORT"; do
        if port_in_use "$port"; then
            printf 'demo.sh: port %s on %s is already in use (another demo still running?).\n' "$port" "$HOST" >&2
            busy=1
        fi
    done
    if [ -n "$busy" ]; then
        echo "demo.sh: stop whatever listens there (for example: ss -ltnp | grep ':80[89][01]') and run again." >&2
        exit 1
    fi
}

start_throwaway_postgres() {
    PG_STARTED=1
    pg_start_throwaway "$WORK/pg" "the demo may use"
    DB_URL=$PG_URL
}

use_given_database() {
    DB_URL="$DATABASE_URL"
    if command -v psql >/dev/null 2>&1 && [[ "$DATABASE_URL" != *\?* ]]; then
        local exists
        exists=$(psql "$DATABASE_URL" -tAc "SELECT 1 FROM pg_database WHERE datname = 'dingtalk_demo'" 2>/dev/null || true)
        if [ "$exists" = 1 ] || psql "$DATABASE_URL" -qc "CREATE DATABASE dingtalk_demo" >/dev/null 2>&1; then
            DB_URL="${DATABASE_URL%/*}/dingtalk_demo"
            log "using database dingtalk_demo on the server of DATABASE_URL"
            return
        fi
    fi
    log "using DATABASE_URL as it is"
}

# ---------------------------------------------------------------------------------------------
check_ports_free

if [ -n "${DEMO_BIN_DIR:-}" ]; then
    BIN_DIR=$DEMO_BIN_DIR
else
    log "cargo build --release --bins"
    cargo build --release --bins
    BIN_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/release"
fi
for bin in dingtalk-sim cloud-gateway edge-service; do
    [ -x "$BIN_DIR/$bin" ] || die "$BIN_DIR/$bin is missing (did the build fail?)"
done

check_ports_free

WORK=$(mktemp -d "${TMPDIR:-/tmp}/dingtalk-demo.XXXXXX")
chmod 755 "$WORK"

DB_URL=""
if [ -z "${DATABASE_URL:-}" ]; then
    start_throwaway_postgres
else
    use_given_database
fi

write_cloud_config "$WORK/cloud-gateway.toml" "$WORK/cloud.db"
write_edge_config "$WORK/edge-service.toml" "$DB_URL"
export RUST_LOG="${RUST_LOG:-info}"

log "starting dingtalk-sim on $SIM_URL"
start dingtalk-sim "$BIN_DIR/dingtalk-sim" serve \
    --bind "$HOST:$SIM_PORT" \
    --callback-url "$CLOUD_URL/dingding/event/pushed" \
    --cloud-url "$CLOUD_URL" \
    --edge-url "$EDGE_URL" \
    --push-interval-secs 600
wait_ready dingtalk-sim "$SIM_URL/healthz" "$SIM_PORT"

log "starting cloud-gateway on $CLOUD_URL"
start cloud-gateway "$BIN_DIR/cloud-gateway" --config "$WORK/cloud-gateway.toml"
wait_ready cloud-gateway "$CLOUD_URL/healthz" "$CLOUD_PORT"

log "starting edge-service on $EDGE_URL"
start edge-service "$BIN_DIR/edge-service" --config "$WORK/edge-service.toml"
wait_ready edge-service "$EDGE_URL/healthz" "$EDGE_PORT"

cat <<EOF

  The demo is running. Open the portal:

      $SIM_URL/portal/

  dingtalk-sim     $SIM_URL          inbox: $SIM_URL/_sim/inbox
  cloud-gateway    $CLOUD_URL          API explorer: $CLOUD_URL/docs
  edge-service     $EDGE_URL          API explorer: $EDGE_URL/docs
  PostgreSQL       ${DB_URL}
  configs and logs $WORK

  DingTalk users of the demo corp dingdemocorp001: zhangsan (张三), lisi (李四), wangwu (王五);
  outsider is a DingTalk account outside the corp. Edge credentials: $EDGE_ID / $EDGE_SECRET.

  Press Ctrl-C to stop everything.

EOF

# Wait until a service exits on its own (then report it and stop the rest) or a signal arrives.
# (On Ctrl-C the terminal interrupts the services too; they stop cleanly with status 0 or 130.)
while true; do
    set +e
    wait -n
    status=$?
    set -e
    for name in dingtalk-sim cloud-gateway edge-service; do
        pidvar="PID_${name//-/_}"
        if ! kill -0 "${!pidvar}" 2>/dev/null; then
            case $status in
            0 | 130 | 143) exit 0 ;;
            esac
            echo "demo.sh: $name stopped unexpectedly (status $status); the end of its log:" >&2
            tail -n 40 "$WORK/$name.log" >&2 || true
            exit 1
        fi
    done
done
