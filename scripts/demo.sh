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

# The fixed demo values (ARCHITECTURE.md section 9).
SUITE_KEY=suitedemo0001
SUITE_SECRET=demo-suite-secret
CALLBACK_TOKEN=demotoken
CALLBACK_AES_KEY=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG
TEMPLATE_ID=demo-template
EDGE_ID=demo-edge
EDGE_SECRET=demo-edge-secret
REDIRECT_PREFIX="$SIM_URL/portal"

log() { printf '==> %s\n' "$*"; }
die() { printf 'demo.sh: %s\n' "$*" >&2; exit 1; }

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
        local pid
        for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
        # Give them a few seconds to shut down gracefully, then kill what is left.
        local i
        for i in $(seq 1 50); do
            local alive=""
            for pid in "${PIDS[@]}"; do
                if kill -0 "$pid" 2>/dev/null; then alive=1; fi
            done
            [ -z "$alive" ] && break
            sleep 0.1
        done
        for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
        for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    fi
    if [ -n "$PG_STARTED" ]; then
        run_pg "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -m fast -w stop >/dev/null 2>&1 ||
            run_pg "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -m immediate -w stop >/dev/null 2>&1 || true
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

# initdb and postgres refuse to run as root: run them as the postgres user then.
run_pg() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

port_in_use() {
    (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

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

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
        echo $((20000 + RANDOM % 20000))
}

find_pg_bin() {
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return
    fi
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return; fi
    done
}

start_throwaway_postgres() {
    PG_BIN=$(find_pg_bin)
    if [ -z "$PG_BIN" ]; then
        echo "demo.sh: no PostgreSQL server found (initdb, pg_ctl)." >&2
        echo "  Install it (Debian/Ubuntu: sudo apt-get install postgresql; Fedora: sudo dnf install postgresql-server)," >&2
        echo "  or set DATABASE_URL to a PostgreSQL server the demo may use." >&2
        exit 1
    fi
    # Data directory, socket and log all in $WORK/pg, owned by whoever runs PostgreSQL.
    mkdir -p "$WORK/pg"
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || die "running as root, but there is no 'postgres' user to run PostgreSQL as"
        chown postgres "$WORK/pg"
    fi
    local port
    port=$(free_port)
    log "starting a throwaway PostgreSQL on $HOST:$port ($PG_BIN)"
    run_pg "$PG_BIN/initdb" -D "$WORK/pg/data" -U postgres --auth=trust -E UTF8 >"$WORK/initdb.log" 2>&1 ||
        { cat "$WORK/initdb.log" >&2; die "initdb failed"; }
    PG_STARTED=1
    run_pg "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/postgres.log" -w \
        -o "-c listen_addresses=$HOST -p $port -k $WORK/pg -c fsync=off" start >/dev/null ||
        { cat "$WORK/pg/postgres.log" >&2; die "PostgreSQL did not start"; }
    DB_URL="postgres://postgres@$HOST:$port/postgres"
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

write_configs() {
    cat >"$WORK/cloud-gateway.toml" <<EOF
# cloud-gateway, demo configuration (written by scripts/demo.sh)
[server]
bind = "$HOST:$CLOUD_PORT"
public_url = "$CLOUD_URL"

[database]
url = "$WORK/cloud.db"

[dingtalk]
mode = "isv"
app_key = "$SUITE_KEY"
app_secret = "$SUITE_SECRET"
template_id = "$TEMPLATE_ID"
callback_token = "$CALLBACK_TOKEN"
callback_aes_key = "$CALLBACK_AES_KEY"
api_base = "$SIM_URL"
oapi_base = "$SIM_URL"
login_base = "$SIM_URL"

[oauth]
auth_code_ttl_secs = 300

[[edges]]
id = "$EDGE_ID"
secret = "$EDGE_SECRET"
redirect_prefixes = ["$REDIRECT_PREFIX"]
EOF

    cat >"$WORK/edge-service.toml" <<EOF
# edge-service, demo configuration (written by scripts/demo.sh)
[server]
bind = "$HOST:$EDGE_PORT"

[database]
url = "$DB_URL"

[cloud]
base_url = "$CLOUD_URL"
edge_id = "$EDGE_ID"
edge_secret = "$EDGE_SECRET"
timeout_secs = 5

[messages]
default_url = "$SIM_URL/portal/"
sync_wait_ms = 2000

[outbox]
max_age_secs = 3600

[cors]
allowed_origins = ["$SIM_URL"]
EOF
}

# Starts a service in the background, its output in $WORK/<name>.log.
start() {
    local name=$1
    shift
    "$@" >"$WORK/$name.log" 2>&1 &
    PIDS+=("$!")
    eval "PID_${name//-/_}=$!"
}

# Waits until the URL $2 answers (without curl: until port $3 accepts connections).
wait_ready() {
    local name=$1 url=$2 port=$3 pidvar="PID_${1//-/_}" i
    for i in $(seq 1 300); do
        if ! kill -0 "${!pidvar}" 2>/dev/null; then
            echo "demo.sh: $name exited during start-up; its log ($WORK/$name.log):" >&2
            tail -n 40 "$WORK/$name.log" >&2 || true
            exit 1
        fi
        if command -v curl >/dev/null 2>&1; then
            curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null && return 0
        elif port_in_use "$port"; then
            return 0
        fi
        sleep 0.2
    done
    echo "demo.sh: $name did not become ready within 60 s; its log ($WORK/$name.log):" >&2
    tail -n 40 "$WORK/$name.log" >&2 || true
    exit 1
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

write_configs
export RUST_LOG="${RUST_LOG:-info}"

log "starting dingtalk-sim on $SIM_URL"
start dingtalk-sim "$BIN_DIR/dingtalk-sim" serve \
    --bind "$HOST:$SIM_PORT" \
    --callback-url "$CLOUD_URL/dingding/event/pushed" \
    --cloud-url "$CLOUD_URL" \
    --edge-url "$EDGE_URL" \
    --push-interval-secs 600
wait_ready dingtalk-sim "$SIM_URL/portal/config.json" "$SIM_PORT"

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
