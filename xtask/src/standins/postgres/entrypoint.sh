#!/bin/sh
# What the official postgres image's entrypoint does that stacks rely on.
set -eu
case "$1" in -*) set -- postgres "$@" ;; esac
if [ "$1" != postgres ]; then exec "$@"; fi
shift
if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
    POSTGRES_PASSWORD=$(cat "$POSTGRES_PASSWORD_FILE")
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "${POSTGRES_PASSWORD:-}" ]; then
        echo "Error: Database is uninitialized and superuser password is not specified." >&2
        echo "       You must specify POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE) to a non-empty value for the superuser." >&2
        exit 1
    fi
    user=${POSTGRES_USER:-postgres}
    password_file=$(mktemp)
    printf '%s' "$POSTGRES_PASSWORD" >"$password_file"
    # Trust on the socket and on loopback, a password from anywhere else:
    # the official image's pg_hba.conf.
    initdb --username="$user" --pwfile="$password_file" --auth=trust --encoding=UTF8 >/dev/null
    rm -f "$password_file"
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    database=${POSTGRES_DB:-$user}
    if [ "$database" != postgres ]; then
        echo "CREATE DATABASE \"$database\" OWNER \"$user\";" | postgres --single -j -D "$PGDATA" postgres >/dev/null
    fi
    echo "PostgreSQL init process complete; ready for start up."
fi
exec postgres -c listen_addresses='*' "$@"
