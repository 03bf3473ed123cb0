# shellcheck shell=bash
# A throwaway PostgreSQL server for tests and benchmarks: a fresh cluster in a temp dir,
# listening on 127.0.0.1 only, trust auth, fsync off. Nothing here is fit for real data.
#
# Source it, then:  pg_start  (sets PG_URL, PG_PORT)  ...  pg_stop
# Run it directly:  scripts/pg.sh bindir     prints where initdb/pg_ctl live, or fails
#                   scripts/pg.sh selftest   starts a server, runs `select 1`, stops it

PG_BIN="" PG_TMP="" PG_PORT="" PG_URL=""
PG_ROLE=handover

# Prints the first directory that holds the server binaries (initdb, pg_ctl, postgres).
pg_bindir() {
    local dir
    local -a candidates=()
    if command -v pg_config >/dev/null 2>&1; then
        # libpq-dev's pg_config names a bindir even when the server package is absent.
        candidates+=("$(pg_config --bindir 2>/dev/null)")
    fi
    while IFS= read -r dir; do candidates+=("$dir"); done < <(
        compgen -G '/usr/lib/postgresql/*/bin' | sort -V -r
    )
    if command -v initdb >/dev/null 2>&1; then
        candidates+=("$(dirname "$(readlink -f "$(command -v initdb)")")")
    fi
    for dir in "${candidates[@]}"; do
        if [[ -x $dir/initdb && -x $dir/pg_ctl && -x $dir/postgres ]]; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

# The server refuses to run as root, so as root it runs as the `postgres` user.
pg_as_owner() {
    if [[ $EUID -eq 0 ]]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

pg_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pg_psql() {
    local psql=psql
    [[ -x $PG_BIN/psql ]] && psql=$PG_BIN/psql
    "$psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" "$@"
}

# Starts a server and creates a login role with CREATEDB (pytest-django creates its own
# test database) plus a database of the same name. Sets PG_URL.
pg_start() {
    PG_BIN=$(pg_bindir) || { echo "pg: no PostgreSQL server binaries found" >&2; return 1; }
    if [[ $EUID -eq 0 ]] && ! id -u postgres >/dev/null 2>&1; then
        echo "pg: running as root but there is no 'postgres' user to run the server" >&2
        return 1
    fi
    PG_TMP=$(mktemp -d -t handover-pg.XXXXXX)
    [[ $EUID -eq 0 ]] && chown postgres: "$PG_TMP"

    if ! pg_as_owner "$PG_BIN/initdb" -D "$PG_TMP/data" -U postgres --auth=trust \
        -E UTF8 --locale=C --no-sync >"$PG_TMP/initdb.log" 2>&1; then
        echo "pg: initdb failed:" >&2
        cat "$PG_TMP/initdb.log" >&2
        return 1
    fi

    # Another process can grab the free port before the server binds it: retry.
    local attempt
    for attempt in 1 2 3; do
        PG_PORT=$(pg_free_port)
        if pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/server.log" -w -t 30 -s \
            -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_TMP" \
            -o "-c fsync=off -c synchronous_commit=off -c full_page_writes=off" start; then
            break
        fi
        echo "pg: start on port $PG_PORT failed (attempt $attempt)" >&2
        PG_PORT=""
    done
    if [[ -z $PG_PORT ]]; then
        tail -n 20 "$PG_TMP/server.log" >&2
        return 1
    fi

    pg_psql -U postgres -d postgres \
        -c "CREATE ROLE $PG_ROLE LOGIN CREATEDB PASSWORD '$PG_ROLE'" \
        -c "CREATE DATABASE $PG_ROLE OWNER $PG_ROLE" || return 1
    PG_URL="postgres://$PG_ROLE:$PG_ROLE@127.0.0.1:$PG_PORT/$PG_ROLE"
}

# Stops the server by the PID in postmaster.pid and removes its temp dir. Safe to call twice,
# or after a start that failed halfway.
pg_stop() {
    [[ -n $PG_TMP ]] || return 0
    local pid="" _
    if [[ -f $PG_TMP/data/postmaster.pid ]]; then
        pid=$(head -n 1 "$PG_TMP/data/postmaster.pid")
    fi
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
        kill -QUIT "$pid" 2>/dev/null || true # immediate shutdown: the data is thrown away
        for _ in {1..100}; do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "pg: server $pid ignored SIGQUIT for 10 s, killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -rf "$PG_TMP"
    PG_TMP="" PG_PORT="" PG_URL=""
}

pg_selftest() {
    trap pg_stop EXIT
    pg_start
    local tmp=$PG_TMP pid
    pid=$(head -n 1 "$PG_TMP/data/postmaster.pid")
    echo "started: pid $pid, $PG_URL"
    pg_psql -U "$PG_ROLE" -d "$PG_ROLE" -At -c 'select 1'
    pg_stop
    if kill -0 "$pid" 2>/dev/null || [[ -e $tmp ]]; then
        echo "selftest: FAILED, server $pid or $tmp left behind" >&2
        return 1
    fi
    echo "stopped: no process, $tmp removed"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    set -euo pipefail
    case ${1:-} in
        bindir) pg_bindir ;;
        selftest) pg_selftest ;;
        *)
            echo "usage: $0 bindir|selftest" >&2
            exit 2
            ;;
    esac
fi
