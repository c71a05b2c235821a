#!/usr/bin/env bash
# The whole local stack: Postgres, MariaDB and the Temporal dev server.
#
#   stack.sh up|down run|test|check
#
# "run" (make run) and "test" (make test) use separate ports and data dirs
# (.dev/run, .dev/test) so tests never touch the data you are playing with
# and both can be up at once; "check" is make run's own test, which runs
# it on a third set of ports. up is idempotent and reuses existing data;
# down stops every process of the stack (the service and the emulator that
# make run started, by their pid files, then the servers) and keeps the
# data. up writes .dev/NAME/env.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
root=$(cd "$here/../.." && pwd)

[[ $# -eq 2 ]] || die "usage: $0 up|down run|test|check"
action=$1
name=$2
case $name in
run) pg_port=15432 my_port=13306 tp_port=7233 ui_port=8233 db=intercom_sync ;;
test) pg_port=25432 my_port=23306 tp_port=27233 ui_port="" db="" ;;
check) pg_port=35432 my_port=33306 tp_port=37233 ui_port=38233 db=intercom_sync ;;
*) die "unknown stack '$name' (want run, test or check)" ;;
esac
base=$root/.dev/$name

write_env() {
  # Plain `export` lines, each keeping a value already set in the caller's
  # environment, so `source .dev/NAME/env` can be overridden per variable.
  local f=$base/env
  {
    echo "# Written by deploy/local/stack.sh up $name. Source it to reach the $name stack."
    if [[ $name != test ]]; then
      cat <<EOF
export DATABASE_URL="\${DATABASE_URL:-postgres://postgres@127.0.0.1:$pg_port/$db?sslmode=disable}"
export MEMBERS_MYSQL_DSN="\${MEMBERS_MYSQL_DSN:-members_ro:members_ro@tcp(127.0.0.1:$my_port)/members}"
export TEMPORAL_ADDRESS="\${TEMPORAL_ADDRESS:-127.0.0.1:$tp_port}"
export TEMPORAL_NAMESPACE="\${TEMPORAL_NAMESPACE:-default}"
export TEMPORAL_UI_URL="\${TEMPORAL_UI_URL:-http://127.0.0.1:$ui_port}"
export MYSQL_ROOT_DSN="\${MYSQL_ROOT_DSN:-root@tcp(127.0.0.1:$my_port)/}"
EOF
    else
      cat <<EOF
export TEST_DATABASE_URL="\${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:$pg_port/postgres?sslmode=disable}"
export TEST_MYSQL_DSN="\${TEST_MYSQL_DSN:-root@tcp(127.0.0.1:$my_port)/}"
export TEST_TEMPORAL_ADDRESS="\${TEST_TEMPORAL_ADDRESS:-127.0.0.1:$tp_port}"
export TEST_TEMPORAL_NAMESPACE="\${TEST_TEMPORAL_NAMESPACE:-default}"
export TEMPORAL_CLI="\${TEMPORAL_CLI:-$root/bin/temporal}"
EOF
    fi
  } >"$f.tmp"
  mv "$f.tmp" "$f"
}

case $action in
up)
  mkdir -p "$base"
  bash "$here/postgres.sh" start "$base/postgres" "$pg_port" $db
  bash "$here/mariadb.sh" start "$base/mariadb" "$my_port"
  bash "$here/temporal.sh" start "$base/temporal" "$tp_port" $ui_port
  write_env
  log "$name stack up; env in ${base#"$root"/}/env"
  ;;
down)
  # Reverse order; keep going if one fails so the others still stop.
  rc=0
  stop_pidfile "$base/service.pid" intercom-sync "intercom-sync service"
  stop_pidfile "$base/emulator.pid" intercom-sync "Intercom emulator"
  bash "$here/temporal.sh" stop "$base/temporal" || rc=1
  bash "$here/mariadb.sh" stop "$base/mariadb" || rc=1
  bash "$here/postgres.sh" stop "$base/postgres" || rc=1
  if ((rc == 0)); then log "$name stack stopped"; else warn "$name stack: some processes did not stop"; fi
  exit $rc
  ;;
*) die "usage: $0 up|down run|test|check" ;;
esac
