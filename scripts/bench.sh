#!/usr/bin/env bash
# Reproducible speed and memory benchmarks of the whole system (docs/benchmarks.md has the
# results and what they mean). Not run by scripts/test.sh.
#
#   scripts/bench.sh
#
# 1. dingtalk-core micro-benchmarks (the crypto_bench example, release build).
# 2. cloud-gateway under wrk: /healthz, the event callback (check_url and a ~1 KiB SyncHTTP
#    push, both on the duplicate path after the first), the login redirect, the internal corp
#    read; requests/s, latency p50/p99, the cloud's RSS.
# 3. edge-service: the end-to-end drain (N messages queued with the cloud down, then the cloud
#    started: time until the simulator holds all N), and send/messages accept throughput under
#    wrk with messages.sync_wait_ms = 0; the edge's RSS.
#
# Everything runs on 127.0.0.1, on free ports, with temporary configs, a temporary SQLite file
# and a temporary PostgreSQL database (bench_<random>, dropped on exit). Every process this
# script starts is stopped on exit, and the temporary files are removed.
#
# Environment:
#   DATABASE_URL      PostgreSQL server to create the temporary database on
#                     (default postgres://postgres@127.0.0.1:5432/postgres)
#   BENCH_DURATION    seconds of each wrk run (default 10)
#   BENCH_THREADS     wrk threads (default 2)
#   BENCH_CONNS       wrk connections (default 32)
#   BENCH_DRAIN_N     messages of the drain measurement (default 2000)
#   BENCH_SYNC_WAIT_MS  the edge's messages.sync_wait_ms (default 0: accept-and-enqueue only)
#   BENCH_SKIP_BUILD  1: use the binaries already in target/release
#   BENCH_SKIP_MICRO  1: skip the micro-benchmarks
#   BENCH_KEEP        1: keep the temporary directory (configs, service logs, wrk output)
#   RUST_LOG          log filter of the services (default: info, as deployed; logs go to files)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

DURATION=${BENCH_DURATION:-10}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNS:-32}
DRAIN_N=${BENCH_DRAIN_N:-2000}
SYNC_WAIT_MS=${BENCH_SYNC_WAIT_MS:-0}
BASE_DB_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
HOST=127.0.0.1
CORP_ID=dingdemocorp001
TENANT=tenant-bench
STAFF=S-BENCH-1

SCRIPT_NAME=bench.sh
LOG_TO_STDERR=1
# shellcheck source=lib/common.sh
. "$ROOT/scripts/lib/common.sh"
# The demo values (SUITE_KEY, CALLBACK_TOKEN, CALLBACK_AES_KEY, EDGE_ID, EDGE_SECRET, ...) and the
# configuration writers.
# shellcheck source=lib/configs.sh
. "$ROOT/scripts/lib/configs.sh"

for tool in wrk curl jq psql python3; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (Debian: apt-get install -y wrk curl jq postgresql-client python3)"
done

# ---------------------------------------------------------------------------------------------
# Cleanup: every process started here (by pid), the temporary database and files.
WORK=""
DB_NAME=""
PIDS=()
CLEANED=""
cleanup() {
    [ -n "$CLEANED" ] && return
    CLEANED=1
    trap '' INT TERM
    stop_pids "${PIDS[@]}"
    if [ -n "$DB_NAME" ]; then
        psql "$BASE_DB_URL" -qc "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" >/dev/null 2>&1 ||
            echo "bench.sh: could not drop database $DB_NAME" >&2
    fi
    if [ -n "$WORK" ] && [ -d "$WORK" ]; then
        if [ "${BENCH_KEEP:-}" = 1 ]; then
            echo "bench.sh: logs and configs kept in $WORK" >&2
        else
            rm -rf "$WORK"
        fi
    fi
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# stop NAME: SIGTERM, wait for the exit (bounded), then SIGKILL.
stop() {
    local pidvar="PID_$1" pid
    pid=${!pidvar}
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# mem NAME: "peak/current" resident memory of the process, in MiB (VmHWM/VmRSS).
mem() {
    local pidvar="PID_$1"
    awk '/^VmHWM:/ {hwm=$2} /^VmRSS:/ {rss=$2} END {printf "%.1f/%.1f", hwm/1024, rss/1024}' \
        "/proc/${!pidvar}/status"
}

now() { date +%s.%N; }

# cpu NAME: user + system CPU time of the process so far, in clock ticks.
cpu() {
    local pidvar="PID_$1"
    awk '{print $14 + $15}' "/proc/${!pidvar}/stat"
}

RESULTS=()
# row KIND NAME VALUES...: one line of the results table.
row() {
    local IFS='|'
    RESULTS+=("$*")
}

# bench_http LABEL SERVER URL [BODY_FILE] [HEADER]: one wrk run; adds a table row.
bench_http() {
    local label=$1 server=$2 url=$3 body=${4:-} header=${5:-}
    local args=(-t"$THREADS" -c"$CONNS" -d"${DURATION}s" --timeout 10s -s "$ROOT/scripts/bench/wrk.lua")
    [ -n "$header" ] && args+=(-H "$header")
    log "wrk $label (${DURATION}s, $THREADS threads, $CONNS connections)"
    local out line
    out=$(BENCH_BODY_FILE="$body" wrk "${args[@]}" "$url")
    printf '%s\n' "$out" >>"$WORK/wrk.log"
    line=$(printf '%s\n' "$out" | grep '^BENCH ') || die "wrk printed no result for $label: $out"
    local rps p50 p99 bad errs
    rps=$(sed -E 's/.* rps=([^ ]+).*/\1/' <<<"$line")
    p50=$(sed -E 's/.* p50_ms=([^ ]+).*/\1/' <<<"$line")
    p99=$(sed -E 's/.* p99_ms=([^ ]+).*/\1/' <<<"$line")
    bad=$(sed -E 's/.* non2xx3xx=([^ ]+).*/\1/' <<<"$line")
    errs=$(sed -E 's/.* socket_errors=([^ ]+).*/\1/' <<<"$line")
    LAST_REQUESTS=$(sed -E 's/.*requests=([^ ]+).*/\1/' <<<"$line")
    LAST_ERRORS=$((bad + errs))
    row "$label" "$rps" "$p50" "$p99" "$((bad + errs))" "$(mem "$server")"
}

# ---------------------------------------------------------------------------------------------
if [ "${BENCH_SKIP_BUILD:-}" != 1 ]; then
    log "cargo build --release --bins"
    cargo build --release --bins
fi
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"
for bin in dingtalk-sim cloud-gateway edge-service; do
    [ -x "$BIN/$bin" ] || die "$BIN/$bin is missing"
done

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
MICRO=""
if [ "${BENCH_SKIP_MICRO:-}" != 1 ]; then
    log "cargo run --release -p dingtalk-core --example crypto_bench"
    MICRO=$(cargo run --quiet --release -p dingtalk-core --example crypto_bench)
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/dingtalk-bench.XXXXXX")
DB_NAME="bench_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
psql "$BASE_DB_URL" -qc "CREATE DATABASE $DB_NAME" >/dev/null || die "cannot create database $DB_NAME on $BASE_DB_URL"
EDGE_DB_URL="${BASE_DB_URL%/*}/$DB_NAME"

SIM_PORT=$(free_port)
CLOUD_PORT=$(free_port)
EDGE_PORT=$(free_port)
SIM_URL="http://$HOST:$SIM_PORT"
CLOUD_URL="http://$HOST:$CLOUD_PORT"
EDGE_URL="http://$HOST:$EDGE_PORT"
PREFIX="$SIM_URL/portal"

write_cloud_config "$WORK/cloud-gateway.toml" "$WORK/cloud.db"

# sync_wait_ms = 0 (BENCH_SYNC_WAIT_MS): send/messages answers once the message is in the outbox. Short retry delays,
# so the drain measures delivery, not backoff; the rest are the defaults.
write_edge_config "$WORK/edge-service.toml" "$EDGE_DB_URL" "$SYNC_WAIT_MS" \
    "poll_interval_ms = 100" "base_delay_ms = 200" "max_delay_ms = 1000"

export RUST_LOG="${RUST_LOG:-info}"

log "starting dingtalk-sim, cloud-gateway on $SIM_URL, $CLOUD_URL"
start sim "$BIN/dingtalk-sim" serve --bind "$HOST:$SIM_PORT" \
    --callback-url "$CLOUD_URL/dingding/event/pushed" --cloud-url "$CLOUD_URL" \
    --edge-url "$EDGE_URL" --push-interval-secs 600
wait_ready sim "$SIM_URL/healthz"
start cloud "$BIN/cloud-gateway" --config "$WORK/cloud-gateway.toml"
wait_ready cloud "$CLOUD_URL/healthz"
for kind in ticket authorization; do
    curl -fsS -o /dev/null --max-time 10 -H 'Content-Type: application/json' \
        -d "{\"kind\":\"$kind\"}" "$SIM_URL/_sim/push" || die "the cloud did not acknowledge the $kind push"
done
curl -fsS -o /dev/null -u "$EDGE_ID:$EDGE_SECRET" "$CLOUD_URL/dingding/internal/corp/$CORP_ID" ||
    die "the cloud does not know corp $CORP_ID after the pushes"
sleep 1
CLOUD_IDLE=$(mem cloud)

# --- cloud-gateway ---------------------------------------------------------------------------
# Signed callback bodies (fixed timestamp/nonce/random: the same body every time, so after the
# first request each one takes the duplicate path: verify, decrypt, parse, dedup lookup, reply).
signed_push() { # signed_push NAME MSG: writes $WORK/NAME.json, prints the query string
    local sealed
    sealed=$("$BIN/dingtalk-sim" crypto encrypt --token "$CALLBACK_TOKEN" --aes-key "$CALLBACK_AES_KEY" \
        --owner-key "$SUITE_KEY" --timestamp 1764000000000 --nonce benchnonce \
        --random 0123456789abcdef --msg "$2")
    jq -c '{encrypt: .encrypt}' <<<"$sealed" >"$WORK/$1.json"
    jq -r '"signature=\(.msg_signature)&timestamp=\(.timeStamp)&nonce=\(.nonce)"' <<<"$sealed"
}
CHECK_QS=$(signed_push check_url '{"EventType":"check_url"}')
# A ~1 KiB SyncHTTP push of a contact change (recorded and acknowledged, no state change).
USER_EVENT=$(jq -c -n '{EventType: "SYNC_HTTP_PUSH_HIGH", bizData: [range(0; 3) | {
    id: (1000 + .), gmt_create: 1764000000000, gmt_modified: 1764000000000,
    subscribe_id: "1001_0", corp_id: "dingdemocorp001", biz_id: "user\(.)", biz_type: 13,
    biz_data: ({syncAction: "user_modify_org", userid: "user\(.)", name: "Bench User \(.)",
        dept_id_list: [1, 2], mobile: "1380000000\(.)", email: "user\(.)@example.com"} | tojson),
    open_cursor: 0, status: 0}]}')
SYNC_QS=$(signed_push sync_push "$USER_EVENT")
for q in "$CHECK_QS|check_url" "$SYNC_QS|sync_push"; do
    curl -fsS -o /dev/null -H 'Content-Type: application/json' --data-binary "@$WORK/${q#*|}.json" \
        "$CLOUD_URL/dingding/event/pushed?${q%|*}" || die "the cloud refused the signed ${q#*|} body"
done
LOGIN_URL="$CLOUD_URL/dingding/auth/login?redirect=$(jq -rn --arg p "$PREFIX" '$p|@uri')"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$LOGIN_URL")" = 302 ] || die "login did not answer 302"
BASIC="Authorization: Basic $(printf '%s:%s' "$EDGE_ID" "$EDGE_SECRET" | base64 -w0)"

bench_http "cloud GET /healthz" cloud "$CLOUD_URL/healthz"
bench_http "cloud POST event/pushed check_url (dup)" cloud \
    "$CLOUD_URL/dingding/event/pushed?$CHECK_QS" "$WORK/check_url.json"
bench_http "cloud POST event/pushed 1 KiB SyncHTTP (dup)" cloud \
    "$CLOUD_URL/dingding/event/pushed?$SYNC_QS" "$WORK/sync_push.json"
bench_http "cloud GET auth/login (302)" cloud "$LOGIN_URL"
bench_http "cloud GET internal/corp (Basic, DB read)" cloud \
    "$CLOUD_URL/dingding/internal/corp/$CORP_ID" "" "$BASIC"

# --- edge-service ----------------------------------------------------------------------------
log "starting edge-service on $EDGE_URL (database $DB_NAME)"
start edge "$BIN/edge-service" --config "$WORK/edge-service.toml"
wait_ready edge "$EDGE_URL/healthz"

log "binding $STAFF to zhangsan through the login flow"
to_sim=$(curl -fsS -o /dev/null -w '%{redirect_url}' "$LOGIN_URL")
callback=$(curl -fsS -o /dev/null -w '%{redirect_url}' "$to_sim&user=zhangsan")
profile=$(curl -fsS -o /dev/null -w '%{redirect_url}' "$callback")
code=$(python3 -c 'import sys, urllib.parse as u; print(u.parse_qs(u.urlparse(sys.argv[1]).query)["authCode"][0])' "$profile") ||
    die "no authCode on the profile redirect: $profile"
jq -n --arg s "$STAFF" --arg t "$TENANT" --arg c "$code" '{staff_id: $s, tenant_id: $t, auth_code: $c}' |
    curl -fsS -o /dev/null -H 'Content-Type: application/json' --data-binary @- \
        "$EDGE_URL/dingding/local/bindings" || die "binding failed"
sleep 1
EDGE_IDLE=$(mem edge)

sim_count() { curl -fsS --max-time 10 "$SIM_URL/_sim/messages" | jq length; }

# The drain: N messages queued with the cloud down, then the cloud started. (Queuing waits
# sync_wait_ms per message while the cloud is down, so it runs with sync_wait_ms = 0 only.)
DRAIN_NOTE="drain skipped: it needs BENCH_SYNC_WAIT_MS=0"
measure_drain() {
    log "drain: cloud down, enqueue $DRAIN_N messages"
    stop cloud
    curl -fsS -o /dev/null -X DELETE "$SIM_URL/_sim/messages"
    enq=$(python3 "$ROOT/scripts/bench/enqueue.py" "$EDGE_URL" "$DRAIN_N" "$TENANT" "$STAFF")
    ENQ_SECS=$(awk '{print $3}' <<<"$enq")
    log "enqueued in ${ENQ_SECS}s; measuring the edge's CPU use for 5 s with the cloud down"
    sleep 1
    C0=$(cpu edge)
    sleep 5
    IDLE_DOWN_CPU=$(awk -v a="$C0" -v b="$(cpu edge)" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.0f", (b - a) / hz / 5 * 100}')
    log "starting the cloud"
    start cloud "$BIN/cloud-gateway" --config "$WORK/cloud-gateway.toml"
    wait_ready cloud "$CLOUD_URL/healthz"
    T0=$(now)
    got=0
    deadline=$(($(date +%s) + 180))
    while [ "$got" -lt "$DRAIN_N" ]; do
        [ "$(date +%s)" -lt "$deadline" ] || die "only $got of $DRAIN_N messages reached the simulator within 180 s"
        sleep 0.2
        got=$(sim_count)
    done
    T1=$(now)
    DRAIN_SECS=$(awk -v a="$T0" -v b="$T1" 'BEGIN {printf "%.2f", b - a}')
    DRAIN_RATE=$(awk -v n="$DRAIN_N" -v s="$DRAIN_SECS" 'BEGIN {printf "%.1f", n / s}')
    sleep 2
    read -r FINAL SPAN < <(curl -fsS "$SIM_URL/_sim/messages" | python3 "$ROOT/scripts/bench/span.py")
    [ "$FINAL" = "$DRAIN_N" ] || log "WARNING: the simulator holds $FINAL messages, $DRAIN_N were sent"
    SPAN_RATE=$(awk -v n="$DRAIN_N" -v s="$SPAN" 'BEGIN {printf "%.1f", (s > 0) ? (n - 1) / s : 0}')
    row "drain $DRAIN_N msgs (from cloud ready)" "$DRAIN_RATE msg/s" "-" "-" "$((FINAL - DRAIN_N))" \
        "edge $(mem edge), cloud $(mem cloud)"
    row "drain $DRAIN_N msgs (first to last delivery)" "$SPAN_RATE msg/s" "-" "-" "$((FINAL - DRAIN_N))" \
        "edge $(mem edge), cloud $(mem cloud)"
    DRAIN_NOTE="drain: $DRAIN_N messages queued in ${ENQ_SECS}s with the cloud down (python client); all in the simulator ${DRAIN_SECS}s after the cloud was ready (first to last delivery ${SPAN}s); simulator holds $FINAL
edge CPU with $DRAIN_N messages pending and the cloud down: ${IDLE_DOWN_CPU}% of one core (retry delays 200 ms..1 s)"
}
if [ "$SYNC_WAIT_MS" = 0 ]; then measure_drain; else log "$DRAIN_NOTE"; fi

curl -fsS -o /dev/null -X DELETE "$SIM_URL/_sim/messages"
jq -n --arg s "$STAFF" --arg t "$TENANT" '{staff_ids: [$s], tenant_id: $t, data: "bench accept"}' \
    >"$WORK/send.json"
rows() { psql "$EDGE_DB_URL" -tAc "SELECT count(*) FROM outbox"; }
ROWS_BEFORE=$(rows)
bench_http "edge POST send/messages (sync_wait $SYNC_WAIT_MS)" edge \
    "$EDGE_URL/dingding/local/send/messages" "$WORK/send.json"
pending() { psql "$EDGE_DB_URL" -tAc "SELECT count(*) FROM outbox WHERE status = 'pending'"; }
PENDING0=$(pending)
ACCEPTED=$(($(rows) - ROWS_BEFORE))
log "accept run: wrk counted $LAST_REQUESTS answers, the outbox has $ACCEPTED new rows, $PENDING0 still pending; waiting for the backlog (at most 180 s)"
T0=$(now)
left=$PENDING0
deadline=$(($(date +%s) + 180))
while [ "$left" -gt 0 ] && [ "$(date +%s)" -lt "$deadline" ]; do
    sleep 0.5
    left=$(pending)
done
T1=$(now)
BACKLOG_SECS=$(awk -v a="$T0" -v b="$T1" 'BEGIN {printf "%.2f", b - a}')
sleep 1
IN_SIM=$(sim_count)
BACKLOG_RATE="$(awk -v n="$((PENDING0 - left))" -v s="$BACKLOG_SECS" 'BEGIN {printf "%.1f", (s > 0) ? n / s : 0}') msg/s"
[ "$PENDING0" -gt 0 ] || BACKLOG_RATE="none pending"
if [ "$left" -gt 0 ]; then
    BACKLOG_NOTE="$left rows still pending after 180 s"
else
    BACKLOG_NOTE="drained in ${BACKLOG_SECS}s"
fi
row "backlog after the accept run, cloud up" "$BACKLOG_RATE" "-" "-" "$((IN_SIM - ACCEPTED + left))" \
    "edge $(mem edge), cloud $(mem cloud)"

# --- results ---------------------------------------------------------------------------------
echo
echo "Results ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average at start $LOAD_START, wrk -t$THREADS -c$CONNS -d${DURATION}s, RUST_LOG=$RUST_LOG)"
if [ -n "$MICRO" ]; then
    echo
    printf '%s\n' "$MICRO"
fi
echo
printf '%-46s %14s %9s %9s %7s  %s\n' "benchmark" "req/s" "p50 ms" "p99 ms" "errors" "server RSS MiB peak/now"
for r in "${RESULTS[@]}"; do
    IFS='|' read -r label rps p50 p99 errs memory <<<"$r"
    printf '%-46s %14s %9s %9s %7s  %s\n' "$label" "$rps" "$p50" "$p99" "$errs" "$memory"
done
echo
echo "idle RSS MiB peak/now: cloud $CLOUD_IDLE (after start and the first pushes), edge $EDGE_IDLE (after start and one bind)"
echo "$DRAIN_NOTE"
echo "accept run: $ACCEPTED messages accepted (wrk counted $LAST_REQUESTS answers before it stopped); $PENDING0 were still pending when wrk stopped, $BACKLOG_NOTE; simulator holds $IN_SIM"
echo "errors = non-2xx/3xx answers + socket errors (wrk); for the drain rows, messages in the simulator beyond those sent (duplicates, or lost when negative)"
