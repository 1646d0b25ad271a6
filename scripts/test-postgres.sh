#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests, on 127.0.0.1 and a free port, trusting
# local connections. Installs Debian's postgresql when it is missing.
#   scripts/test-postgres.sh start DIR   prints the URL (postgres://tandem@127.0.0.1:PORT/tandem)
#   scripts/test-postgres.sh stop DIR
set -euo pipefail
command=$1
dir=$2

as_postgres() {
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi
}

case "$command" in
start)
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  as_postgres "'$bin/initdb' -D '$dir/data' -U tandem -A trust -E UTF8 >'$dir/initdb.log' 2>&1"
  as_postgres "'$bin/pg_ctl' -D '$dir/data' -l '$dir/server.log' -w -o \"-p $port -k '$dir' -c listen_addresses=127.0.0.1 -c fsync=on\" start >/dev/null"
  as_postgres "'$bin/createdb' -h 127.0.0.1 -p $port -U tandem tandem"
  echo "postgres://tandem@127.0.0.1:$port/tandem?sslmode=disable"
  ;;
stop)
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  as_postgres "'$bin/pg_ctl' -D '$dir/data' -m fast -w stop >/dev/null" || true
  rm -rf "$dir"
  ;;
*)
  echo "usage: $0 start|stop DIR" >&2
  exit 2
  ;;
esac
