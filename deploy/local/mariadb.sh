#!/usr/bin/env bash
# A project-local MariaDB server (the member database) on a loopback port.
#
#   mariadb.sh start DIR PORT   init DIR if new, start, load members.sql
#   mariadb.sh stop DIR
#
# DIR holds data/, the socket, pid file and mariadb.log. root has no password
# and is reachable over TCP on 127.0.0.1 only: a dev/test server.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"

usage() { die "usage: $0 start DIR PORT | stop DIR"; }
[[ $# -ge 2 ]] || usage
cmd=$1
dir=$(abspath "$2")
data=$dir/data
pidfile=$dir/mariadb.pid

# --no-defaults everywhere: Debian's /etc/mysql config points at the system
# datadir and socket, which must not leak into a project-local server.
# mariadbd also refuses to run as root unless told to.
server_args=(--no-defaults)
[[ $EUID -ne 0 ]] || server_args+=(--user=root)

sql() { mariadb --no-defaults -h 127.0.0.1 -P "$port" -u root "$@"; }

start() {
  port=$1
  command -v mariadbd >/dev/null || die "mariadbd not found (run: make tools)"

  if [[ ! -d $data/mysql ]]; then
    log "mariadb: mariadb-install-db $data"
    # normal: root authenticates by (empty) password, so it works over TCP,
    # not only through unix_socket as the owning OS user.
    mariadb-install-db "${server_args[@]}" --datadir="$data" \
      --auth-root-authentication-method=normal --skip-test-db \
      >"$dir/install.log" 2>&1 || { cat "$dir/install.log" >&2; die "mariadb-install-db failed"; }
  fi

  local pid=""
  if pid_alive "$pidfile" mariadbd; then
    log "mariadb: already running ($data)"
  else
    log "mariadb: starting on 127.0.0.1:$port"
    local sock
    sock=$(socket_dir "$dir" "mariadb-$port")/mariadb.sock
    # setsid: its own session, so a Ctrl-C in the terminal does not reach it;
    # the run/test scripts stop it in order instead.
    setsid mariadbd "${server_args[@]}" --datadir="$data" --socket="$sock" \
      --pid-file="$pidfile" --log-error="$dir/mariadb.log" \
      --bind-address=127.0.0.1 --port="$port" \
      --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
      </dev/null >/dev/null 2>&1 &
    pid=$!
  fi
  wait_until "$pid" 60 mariadb-admin --no-defaults -h 127.0.0.1 -P "$port" -u root ping ||
    { tail -n 20 "$dir/mariadb.log" >&2; die "mariadb is not answering on 127.0.0.1:$port"; }

  # Demo member data plus the read-only account the service uses; all idempotent.
  sql -e "CREATE DATABASE IF NOT EXISTS members CHARACTER SET utf8mb4"
  sql members <"$here/members.sql"
  sql -e "CREATE USER IF NOT EXISTS 'members_ro'@'%' IDENTIFIED BY 'members_ro';
          GRANT SELECT ON members.* TO 'members_ro'@'%';"
}

stop() {
  # SIGTERM makes mariadbd shut down cleanly (InnoDB flushed, no recovery).
  stop_pidfile "$pidfile" mariadbd
}

case $cmd in
start) [[ $# -ge 3 ]] || usage; start "$3" ;;
stop) stop ;;
*) usage ;;
esac
