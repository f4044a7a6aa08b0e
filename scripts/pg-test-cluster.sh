#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the test suite's PostgreSQL half.
#
#   scripts/pg-test-cluster.sh run -- cargo test --locked
#       starts a cluster, runs the command with TRIAGE_TEST_POSTGRES set,
#       stops and deletes the cluster however the command ends.
#   scripts/pg-test-cluster.sh start        prints `export TRIAGE_TEST_POSTGRES=…`
#   scripts/pg-test-cluster.sh stop DIR     stops and deletes a started one
#
# Needs initdb and pg_ctl (Debian: apt-get install postgresql; they live in
# /usr/lib/postgresql/<version>/bin, which is searched). The server runs
# as a non-root user: as root, the `nobody` user owns the cluster's
# directory. It listens on 127.0.0.1 on a free port, trust auth, user
# `triage`, fsync off (a test cluster: nothing in it is kept).
set -euo pipefail

find_bin() {
    if command -v "$1" >/dev/null 2>&1; then command -v "$1"; return; fi
    local b
    b=$(ls -d /usr/lib/postgresql/*/bin/"$1" 2>/dev/null | sort -V | tail -n 1)
    [ -n "$b" ] || { echo "$1 not found: install PostgreSQL (apt-get install postgresql)" >&2; exit 1; }
    echo "$b"
}

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u nobody -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
    local initdb pg_ctl dir port
    initdb=$(find_bin initdb)
    pg_ctl=$(find_bin pg_ctl)
    dir=$(mktemp -d "${TMPDIR:-/tmp}/triage-pg.XXXXXX")
    chmod 755 "$dir"
    [ "$(id -u)" -ne 0 ] || chown nobody "$dir"
    port=$(free_port)
    as_owner "$initdb" -D "$dir/data" -U triage --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    as_owner "$pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400" \
        start >/dev/null \
        || { cat "$dir/server.log" >&2; exit 1; }
    echo "export TRIAGE_TEST_POSTGRES=postgres://triage@127.0.0.1:$port/postgres"
    echo "export TRIAGE_TEST_POSTGRES_DIR=$dir"
}

stop() {
    local dir=$1
    [ -d "$dir/data" ] || return 0
    as_owner "$(find_bin pg_ctl)" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}

case "${1:-}" in
    start) start ;;
    stop) stop "${2:?usage: $0 stop DIR}" ;;
    run)
        shift
        [ "${1:-}" = "--" ] && shift
        eval "$(start)"
        trap 'stop "$TRIAGE_TEST_POSTGRES_DIR"' EXIT
        echo "PostgreSQL test cluster: $TRIAGE_TEST_POSTGRES" >&2
        "$@"
        ;;
    *) echo "usage: $0 run -- COMMAND... | start | stop DIR" >&2; exit 2 ;;
esac
