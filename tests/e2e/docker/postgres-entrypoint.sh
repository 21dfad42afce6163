#!/bin/sh
# First start on an empty $PGDATA: a cluster whose superuser is $POSTGRES_USER with the
# password $POSTGRES_PASSWORD (scram-sha-256 over TCP), and the database $POSTGRES_DB.
set -eu
user="${POSTGRES_USER:-postgres}"
db="${POSTGRES_DB:-$user}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile="$(mktemp)"
  printf '%s\n' "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}" > "$pwfile"
  initdb --username="$user" --pwfile="$pwfile" --auth-local=trust \
    --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pwfile"
  pg_ctl --wait --silent --options="-c listen_addresses=''" start
  if [ "$db" != "postgres" ]; then
    createdb --username="$user" "$db"
  fi
  pg_ctl --wait --silent stop
fi
exec "$@"
