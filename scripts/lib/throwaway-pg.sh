# Sourced by scripts/demo and bench/backup-restore: a throwaway PostgreSQL cluster.
#
#   throwaway_pg_start   starts one (scram auth over TCP on a free port, database "kronic",
#                        user "kronic") and exports KRONIC_DATABASE_* for it;
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
  "${AS_PG[@]}" "$PGBIN/initdb" -D "$PG_WORK/data" -U kronic --auth=scram-sha-256 --pwfile="$PG_WORK/pw" \
    -E UTF8 --locale=C --no-sync --no-instructions >/dev/null
  "${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$PG_WORK/data" -l "$PG_WORK/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories='$PG_WORK' ${PG_EXTRA_OPTS:-}" start >/dev/null
  # The password reaches client tools through a private passfile, never argv.
  (umask 077; printf '*:*:*:kronic:%s\n' "$password" > "$PG_WORK/pgpass")
  export PGPASSFILE=$PG_WORK/pgpass
  "$PGBIN/createdb" -w -h 127.0.0.1 -p "$PG_PORT" -U kronic kronic
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
