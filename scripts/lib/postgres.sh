# shellcheck shell=bash
# A throwaway PostgreSQL cluster for the scripts in scripts/ (sourced, not run; needs common.sh).
#
#   pg_start_throwaway DIR PURPOSE [NAME=VALUE...]   start one in DIR; sets PG_BIN and PG_URL
#   pg_stop_throwaway DIR                            stop it (never fails)

# run_pg CMD...: runs CMD, as the postgres user when we are root (initdb and postgres refuse to
# run as root).
run_pg() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# find_pg_bin: prints the directory of initdb and pg_ctl: the one in PATH, else the newest
# /usr/lib/postgresql/*/bin; prints nothing when there is none.
find_pg_bin() {
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return 0
    fi
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
            echo "$d"
            return 0
        fi
    done
    return 0
}

# pg_start_throwaway DIR PURPOSE [NAME=VALUE...]: initdb a cluster in DIR/data (socket and logs in
# DIR) and start it on a free port of 127.0.0.1 with fsync off and the extra server settings
# NAME=VALUE; sets PG_BIN and PG_URL (postgres://postgres@127.0.0.1:PORT/postgres). Exits
# the script with a message when there is no PostgreSQL or it does not start; PURPOSE ends the
# message's hint "or set DATABASE_URL to a PostgreSQL server PURPOSE".
pg_start_throwaway() {
    local dir=$1 purpose=$2
    shift 2
    PG_BIN=$(find_pg_bin)
    if [ -z "$PG_BIN" ]; then
        echo "$SCRIPT_NAME: no PostgreSQL server found (initdb, pg_ctl)." >&2
        echo "  Install it (Debian/Ubuntu: sudo apt-get install postgresql; Fedora: sudo dnf install postgresql-server)," >&2
        echo "  or set DATABASE_URL to a PostgreSQL server $purpose." >&2
        exit 1
    fi
    # Data directory, socket and logs all in DIR, owned by whoever runs PostgreSQL.
    mkdir -p "$dir"
    chmod 755 "$dir"
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || die "running as root, but there is no 'postgres' user to run PostgreSQL as"
        chown postgres "$dir"
    fi
    local port settings="" setting
    port=$(free_port)
    for setting in "$@"; do settings+=" -c $setting"; done
    log "starting a throwaway PostgreSQL on 127.0.0.1:$port ($PG_BIN)"
    run_pg "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    run_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir$settings -c fsync=off" start >/dev/null ||
        { cat "$dir/postgres.log" >&2; die "PostgreSQL did not start"; }
    # shellcheck disable=SC2034 # read by the caller
    PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

# pg_stop_throwaway DIR: stops the cluster of DIR/data if there is one (fast, else immediate).
# Never fails; leaves DIR in place.
pg_stop_throwaway() {
    local dir=$1
    if [ -n "${PG_BIN:-}" ] && [ -d "$dir/data" ]; then
        run_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 ||
            run_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    return 0
}
