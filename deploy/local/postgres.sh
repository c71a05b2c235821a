#!/usr/bin/env bash
# A project-local Postgres cluster on a loopback port.
#
#   postgres.sh start DIR PORT [DB]   init DIR if new, start, ensure DB exists
#   postgres.sh stop DIR
#
# DIR holds data/ (the cluster), run/ (the unix socket) and postgres.log.
# Auth is trust on loopback only: this is a dev/test database, never a real one.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { die "usage: $0 start DIR PORT [DB] | stop DIR"; }
[[ $# -ge 2 ]] || usage
cmd=$1
dir=$(abspath "$2")
data=$dir/data
cd / # the server user may not be able to read the caller's working directory

# Debian keeps the server binaries off PATH; pg_config (postgresql-common's
# wrapper) says where they are, else take the newest installed version.
bindir=$(pg_config --bindir 2>/dev/null || true)
if [[ ! -x $bindir/initdb ]]; then
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
fi
[[ -x $bindir/initdb ]] || die "Postgres server binaries not found (run: make tools)"

# Postgres refuses to run as root, so as root every server command runs as
# the postgres system user (Debian's postgresql-common creates it).
as_pg() {
  if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# As root: make sure the postgres user exists, owns DIR and can reach it.
prepare_root() {
  if ! id postgres >/dev/null 2>&1; then
    log "postgres: creating the postgres system user"
    useradd --system --user-group --no-create-home --home-dir /var/lib/postgresql \
      --shell /usr/sbin/nologin postgres
  fi
  [[ $(stat -c %U "$dir") == postgres ]] || chown -R postgres: "$dir"
  # Every directory above DIR needs search (x) permission for the postgres
  # user, e.g. a checkout under /root (mode 700) would otherwise block it.
  # Walk top-down so only the directories that actually block get changed.
  local p="" part parts
  IFS=/ read -ra parts <<<"${dir#/}"
  for part in "${parts[@]}"; do
    p=$p/$part
    if ! runuser -u postgres -- test -x "$p"; then
      log "postgres: granting o+x on $p so the postgres user can reach $dir"
      chmod o+x "$p"
    fi
  done
}

start() {
  local port=$1 db=${2:-}
  [[ $EUID -ne 0 ]] || prepare_root
  local sock
  sock=$(socket_dir "$dir/run" "pg-$port")
  [[ $EUID -ne 0 ]] || chown postgres: "$sock"

  if [[ ! -s $data/PG_VERSION ]]; then
    log "postgres: initdb $data"
    as_pg "$bindir/initdb" -D "$data" --auth=trust --username=postgres \
      --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  fi

  if as_pg "$bindir/pg_ctl" status -D "$data" >/dev/null 2>&1; then
    log "postgres: already running ($data)"
  else
    log "postgres: starting on 127.0.0.1:$port"
    # pg_ctl -w waits until the server accepts connections; its child calls
    # setsid, so a Ctrl-C in the terminal does not reach the server.
    as_pg "$bindir/pg_ctl" start -D "$data" -l "$dir/postgres.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$sock'" \
      >/dev/null || { tail -n 20 "$dir/postgres.log" >&2; die "postgres did not start"; }
  fi
  wait_until "" 30 "$bindir/pg_isready" -h 127.0.0.1 -p "$port" ||
    die "postgres is running but not answering on 127.0.0.1:$port (another port in use?)"

  if [[ -n $db ]]; then
    local psql=("$bindir/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1)
    if [[ -z $("${psql[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'") ]]; then
      log "postgres: creating database $db"
      "${psql[@]}" -c "CREATE DATABASE \"$db\""
    fi
  fi
}

stop() {
  if [[ ! -s $data/PG_VERSION ]] || ! as_pg "$bindir/pg_ctl" status -D "$data" >/dev/null 2>&1; then
    log "postgres: not running"
    return 0
  fi
  log "postgres: stopping"
  # fast: roll back open transactions and shut down cleanly (no crash recovery next start).
  as_pg "$bindir/pg_ctl" stop -D "$data" -m fast -w -t 60 >/dev/null
}

case $cmd in
start) [[ $# -ge 3 ]] || usage; start "$3" "${4:-}" ;;
stop) stop ;;
*) usage ;;
esac
