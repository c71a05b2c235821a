#!/usr/bin/env bash
# A project-local Temporal dev server (bin/temporal, built by `make tools`).
#
#   temporal.sh start DIR PORT [UI_PORT]   no UI_PORT: headless
#   temporal.sh stop DIR
#
# DIR holds temporal.db (SQLite, so workflows survive restarts), the pid
# file and temporal.log.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"

usage() { die "usage: $0 start DIR PORT [UI_PORT] | stop DIR"; }
[[ $# -ge 2 ]] || usage
cmd=$1
dir=$(abspath "$2")
pidfile=$dir/temporal.pid
temporal=${TEMPORAL_CLI:-$(cd "$here/../.." && pwd)/bin/temporal}

start() {
  local port=$1 ui_port=${2:-}
  [[ -x $temporal ]] || die "$temporal not found (run: make tools)"

  local pid=""
  if pid_alive "$pidfile" temporal; then
    log "temporal: already running ($dir)"
  else
    local ui_args=(--headless)
    [[ -z $ui_port ]] || ui_args=(--ui-port "$ui_port")
    log "temporal: starting on 127.0.0.1:$port${ui_port:+ (UI $ui_port)}"
    # setsid: its own session, so a Ctrl-C in the terminal does not reach it.
    setsid "$temporal" server start-dev --db-filename "$dir/temporal.db" \
      --ip 127.0.0.1 --port "$port" "${ui_args[@]}" \
      --namespace default --log-level warn \
      </dev/null >>"$dir/temporal.log" 2>&1 &
    pid=$!
    echo "$pid" >"$pidfile"
  fi
  wait_until "$pid" 60 "$temporal" operator cluster health --command-timeout 5s --address "127.0.0.1:$port" ||
    { tail -n 20 "$dir/temporal.log" >&2; die "temporal is not answering on 127.0.0.1:$port"; }
}

stop() {
  # SIGTERM: the dev server shuts down and closes its SQLite file cleanly.
  stop_pidfile "$pidfile" temporal
}

case $cmd in
start) [[ $# -ge 3 ]] || usage; start "$3" "${4:-}" ;;
stop) stop ;;
*) usage ;;
esac
