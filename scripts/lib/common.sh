# shellcheck shell=bash
# Helpers shared by the scripts in scripts/ (sourced, not run).
#
#   SCRIPT_NAME     the name die() puts before its message (default: the running script's name)
#   LOG_TO_STDERR   1: log() writes to stderr instead of stdout
#   LOG_BLANK_LINE  1: log() puts a blank line before each line

SCRIPT_NAME=${SCRIPT_NAME:-$(basename "$0")}

# log MESSAGE...: a progress line "==> MESSAGE".
log() {
    local blank=""
    [ "${LOG_BLANK_LINE:-}" = 1 ] && blank=$'\n'
    if [ "${LOG_TO_STDERR:-}" = 1 ]; then
        printf '%s==> %s\n' "$blank" "$*" >&2
    else
        printf '%s==> %s\n' "$blank" "$*"
    fi
}

# die MESSAGE...: "SCRIPT_NAME: MESSAGE" on stderr, then exit 1 (the EXIT trap cleans up).
die() {
    printf '%s: %s\n' "$SCRIPT_NAME" "$*" >&2
    exit 1
}

# free_port: prints a TCP port of 127.0.0.1 that is free right now.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
        echo $((20000 + RANDOM % 20000))
}

# port_in_use PORT: succeeds when PORT of HOST (default 127.0.0.1) accepts connections.
port_in_use() {
    (exec 3<>"/dev/tcp/${HOST:-127.0.0.1}/$1") 2>/dev/null
}

# stop_pids PID...: SIGTERM to each, up to 5 s for them to exit, SIGKILL to what is left, then
# reaps them. Never fails.
stop_pids() {
    local pid alive
    [ "$#" -gt 0 ] || return 0
    for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
    for _ in $(seq 1 50); do
        alive=""
        for pid in "$@"; do
            if kill -0 "$pid" 2>/dev/null; then alive=1; fi
        done
        [ -z "$alive" ] && break
        sleep 0.1
    done
    for pid in "$@"; do kill -KILL "$pid" 2>/dev/null || true; done
    for pid in "$@"; do wait "$pid" 2>/dev/null || true; done
    return 0
}

# start NAME CMD...: runs CMD in the background, its output appended to $WORK/NAME.log; adds its
# pid to PIDS and sets PID_NAME (dashes of NAME become underscores).
start() {
    local name=$1
    shift
    "$@" >>"$WORK/$name.log" 2>&1 &
    PIDS+=("$!")
    printf -v "PID_${name//-/_}" '%s' "$!"
}

# wait_ready NAME URL [PORT]: waits (at most 60 s) until URL answers 2xx (without curl: until
# PORT of HOST accepts connections); exits with the end of $WORK/NAME.log when NAME (started
# with start) exits first or is not ready by then.
wait_ready() {
    local name=$1 url=$2 port=${3:-} pidvar="PID_${1//-/_}"
    for _ in $(seq 1 300); do
        if ! kill -0 "${!pidvar}" 2>/dev/null; then
            echo "$SCRIPT_NAME: $name exited during start-up; its log ($WORK/$name.log):" >&2
            tail -n 40 "$WORK/$name.log" >&2 || true
            exit 1
        fi
        if command -v curl >/dev/null 2>&1; then
            curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null && return 0
        elif [ -n "$port" ] && port_in_use "$port"; then
            return 0
        fi
        sleep 0.2
    done
    echo "$SCRIPT_NAME: $name did not become ready within 60 s; its log ($WORK/$name.log):" >&2
    tail -n 40 "$WORK/$name.log" >&2 || true
    exit 1
}
