#!/usr/bin/env bash
# Start a throwaway PostgreSQL server for the tests and print its URL on stdout.
# Usage: scripts/postgres.sh start DIR PORT | scripts/postgres.sh stop DIR
set -euo pipefail
action=${1:?start|stop}
dir=${2:?data directory}
port=${3:-55432}

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bindir" ]; then
  echo "PostgreSQL is not installed (apt-get install postgresql)" >&2
  exit 1
fi
# PostgreSQL refuses to run as root: use its own system user when we are root.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "$action" in
  start)
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown -R postgres "$dir"
    if [ ! -f "$dir/PG_VERSION" ]; then
      as_pg "$bindir/initdb" -D "$dir" -U callytics --auth=trust >/dev/null
    fi
    as_pg "$bindir/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
    as_pg "$bindir/psql" -h 127.0.0.1 -p "$port" -U callytics -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname='callytics'" | grep -q 1 \
      || as_pg "$bindir/createdb" -h 127.0.0.1 -p "$port" -U callytics callytics
    echo "postgresql+psycopg://callytics@127.0.0.1:$port/callytics"
    ;;
  stop)
    as_pg "$bindir/pg_ctl" -D "$dir" -m fast stop >/dev/null 2>&1 || true
    ;;
esac
