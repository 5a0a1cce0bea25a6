# Sourced by scripts/demo and bench/backup-restore: a throwaway PostgreSQL cluster.
#
#   throwaway_pg_start   starts one (scram auth over TCP on a free port, superuser
#                        "postgres"; database "kronic" owned by the role "kronic", which
#                        is no superuser and may create databases, as on a real host) and
#                        exports KRONIC_DATABASE_* for the role;
#                        sets PG_WORK (its folder), PGBIN (server binaries), PG_PORT.
#   throwaway_pg_stop    stops it and removes its folder (also run on EXIT).

throwaway_pg_start() {
  PGBIN=${KRONIC_PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
  if [ ! -x "$PGBIN/initdb" ]; then
    echo "PostgreSQL server binaries not found (install postgresql-15 or set KRONIC_PG_BINDIR)" >&2
    exit 69
  fi
  PG_WORK=$(mktemp -d -t kronic-pg.XXXXXX)
  chmod 755 "$PG_WORK"
  AS_PG=()
  if [ "$(id -u)" = 0 ]; then
    # initdb and postgres refuse to run as root.
    chown postgres: "$PG_WORK"
    AS_PG=(runuser -u postgres --)
  fi
  trap throwaway_pg_stop EXIT
  PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  local password
  password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  (umask 077; printf '%s' "$password" > "$PG_WORK/pw")
  [ "$(id -u)" = 0 ] && chown postgres: "$PG_WORK/pw"
  "${AS_PG[@]}" "$PGBIN/initdb" -D "$PG_WORK/data" -U postgres --auth=scram-sha-256 --pwfile="$PG_WORK/pw" \
    -E UTF8 --locale=C --no-sync --no-instructions >/dev/null
  "${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$PG_WORK/data" -l "$PG_WORK/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories='$PG_WORK' ${PG_EXTRA_OPTS:-}" start >/dev/null
  # The password reaches client tools through a private passfile, never argv.
  (umask 077; printf '*:*:*:postgres:%s\n*:*:*:kronic:%s\n' "$password" "$password" > "$PG_WORK/pgpass")
  export PGPASSFILE=$PG_WORK/pgpass
  # The application's owner role: restores refuse to run as a superuser.
  printf "CREATE ROLE kronic LOGIN CREATEDB PASSWORD '%s';\nCREATE DATABASE kronic OWNER kronic;\n" "$password" |
    "$PGBIN/psql" -X -q -w -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres >/dev/null
  rm -f "$PG_WORK/pw"
  export KRONIC_DATABASE_HOST=127.0.0.1 KRONIC_DATABASE_PORT=$PG_PORT
  export KRONIC_DATABASE_USER=kronic KRONIC_DATABASE_NAME=kronic KRONIC_DATABASE_PASSWORD=$password
  export KRONIC_PG_BINDIR=$PGBIN
}

throwaway_pg_stop() {
  if [ -n "${PG_WORK:-}" ] && [ -d "$PG_WORK" ]; then
    "${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$PG_WORK/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_WORK"
  fi
}
