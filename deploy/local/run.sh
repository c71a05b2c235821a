#!/usr/bin/env bash
# `make run`: the service on a local stack, with the Intercom emulator
# unless INTERCOM_ACCESS_TOKEN is set. Ctrl-C (or SIGTERM) stops everything
# it started (service, emulator, stack), keeps the data in .dev/run for next
# time, and exits 0. Any variable below may be overridden from the
# environment; RUN_STACK picks the stack (default run; deploy/local's own
# test uses check, on ports of its own).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
root=$(cd "$here/../.." && pwd)
cd "$root"

# A terminal's Ctrl-C reaches its whole foreground process group: make, this
# script and, under `make run 2>&1 | tee run.log`, tee. tee dying takes the
# output with it, and make, killed by the signal, fails whatever we do. So
# with a terminal, the run goes into a process group of its own that takes
# the terminal (bash job control, which works the terminal through stderr):
# Ctrl-C then reaches only the run, which stops everything in order while
# make and tee wait, and make sees the run's own exit status.
if [[ -z ${RUN_SH_CHILD:-} ]] && in_foreground_terminal; then
  exec 3>&2 2>/dev/tty
  set -m
  RUN_SH_CHILD=$$ bash "$0" "$@" 2>&3 3>&-
  exit
fi
# make forwards a SIGTERM to its child only, the parent above, which dies of
# it; the run notices its parent is gone and stops (see the wait below).
parent=${RUN_SH_CHILD:-}

# A write to a dead pipe must fail, not kill us: the cleanup has to finish.
trap '' PIPE

stack=${RUN_STACK:-run}
bin=$root/bin/intercom-sync
[[ -x $bin ]] || die "$bin not found (run: make build)"
logdir=$root/.dev/$stack
mkdir -p "$logdir"
svc_pidfile=$logdir/service.pid
emu_pidfile=$logdir/emulator.pid

svc_pid="" emu_pid="" stopping=""

# The service goes first so it can finish in-flight work while Temporal and
# the databases are still there; the stack last. stack.sh down stops the
# service and the emulator too, by their pid files.
cleanup() {
  local status=$?
  trap '' INT TERM HUP
  trap - EXIT
  [[ -z $stopping ]] || status=0 # a requested stop is a clean stop
  bash "$here/stack.sh" down "$stack" || { warn "stopping the $stack stack failed"; status=1; }
  exit "$status"
}
trap cleanup EXIT
stop_requested() {
  trap '' INT TERM HUP
  stopping=$1
  log "$1: stopping the service, the emulator and the $stack stack"
  exit 0
}
trap 'stop_requested SIGINT' INT
trap 'stop_requested SIGTERM' TERM
trap 'stop_requested SIGHUP' HUP

# A run that crashed (or was killed) leaves its processes behind. Their pid
# files find them: the databases and Temporal are reused (stack.sh up says
# so), the service and the emulator are stopped, since they hold our ports.
for pf in "$svc_pidfile" "$emu_pidfile"; do
  if pid_alive "$pf" intercom-sync; then
    log "found $(basename "$pf" .pid) (pid $(<"$pf")) left running by an earlier run; stopping it"
    stop_pidfile "$pf" intercom-sync "$(basename "$pf" .pid)"
  fi
done

export HTTP_ADDR=${HTTP_ADDR:-127.0.0.1:8080}
emulator_addr=${EMULATOR_ADDR:-127.0.0.1:8090}
# Whatever else holds a port we need would answer our health checks in our
# place; say so now rather than fail confusingly later.
port_in_use "$HTTP_ADDR" && die "$HTTP_ADDR is in use by another program (stop it, or set HTTP_ADDR)"
if [[ -z ${INTERCOM_ACCESS_TOKEN:-} ]] && port_in_use "$emulator_addr"; then
  die "$emulator_addr is in use by another program (stop it, or set EMULATOR_ADDR)"
fi

bash "$here/stack.sh" up "$stack"
source "$logdir/env"

# A fixed, obviously-fake Svix-style secret so local demo webhooks verify.
export ENVIRONMENT_NAME=${ENVIRONMENT_NAME:-development}
export CLERK_WEBHOOK_SECRET=${CLERK_WEBHOOK_SECRET:-whsec_aW50ZXJjb20tc3luYy1sb2NhbC1kZXYtc2VjcmV0ISE=}
# Fixed, obviously-fake values for the Intercom webhook (the app's client
# secret signs X-Hub-Signature) and the lookup API's bearer token.
export INTERCOM_WEBHOOK_SECRET=${INTERCOM_WEBHOOK_SECRET:-dev-intercom-client-secret}
export LOOKUP_API_TOKEN=${LOOKUP_API_TOKEN:-dev-lookup-token}
export LOG_FORMAT=${LOG_FORMAT:-text}

log "migrating $DATABASE_URL"
"$bin" migrate

# Demo positions for the demo members, unless positions come from a
# database of your own (POSITIONS_DATABASE_URL).
if [[ -z ${POSITIONS_DATABASE_URL:-} ]]; then
  psql_bin=$(command -v psql || echo "$(pg_config --bindir)/psql")
  "$psql_bin" -X -q -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f "$here/positions.sql" ||
    warn "loading demo positions failed"
fi

# setsid: own sessions, so a Ctrl-C reaches only this script, which then
# stops the children in order (see cleanup).
if [[ -z ${INTERCOM_ACCESS_TOKEN:-} ]]; then
  log "emulator: starting on $emulator_addr (log: .dev/$stack/emulator.log)"
  setsid "$bin" emulator --addr "$emulator_addr" --token dev-token --state-file "$logdir/emulator-state.json" \
    </dev/null >>"$logdir/emulator.log" 2>&1 &
  emu_pid=$!
  echo "$emu_pid" >"$emu_pidfile"
  export INTERCOM_API_BASE_URL=http://$emulator_addr
  export INTERCOM_ACCESS_TOKEN=dev-token
  wait_until "$emu_pid" 30 curl -fsS -o /dev/null "http://$emulator_addr/_emulator/state" ||
    { tail -n 20 "$logdir/emulator.log" >&2; die "the emulator did not come up"; }
fi

log "intercom-sync: starting on $HTTP_ADDR"
setsid "$bin" run </dev/null &
svc_pid=$!
echo "$svc_pid" >"$svc_pidfile"
# Ready means it took its port and Temporal answers: what a webhook needs.
wait_until "$svc_pid" 60 curl -fsS -o /dev/null "http://$HTTP_ADDR/readyz" ||
  die "intercom-sync did not become ready on http://$HTTP_ADDR/readyz"

log "sending demo webhooks"
"$bin" demo --url "http://$HTTP_ADDR" || warn "the demo webhooks failed (see the error above); the service is running"

cat >&2 <<BANNER || true

  API              http://$HTTP_ADDR  (health: /healthz, ready: /readyz)
  Temporal UI      $TEMPORAL_UI_URL
  Temporal gRPC    $TEMPORAL_ADDRESS  namespace $TEMPORAL_NAMESPACE
  Intercom         ${INTERCOM_API_BASE_URL:-the real Intercom API}${emu_pid:+  (emulator state: http://$emulator_addr/_emulator/state)}
  Postgres         $DATABASE_URL
  MariaDB          $MEMBERS_MYSQL_DSN  (root: $MYSQL_ROOT_DSN)
  Member lookup    curl -H 'Authorization: Bearer $LOOKUP_API_TOKEN' -d '{"email":"ada.lovelace@example.com"}' \\
                     http://$HTTP_ADDR/api/intercom/lookup-email
  env              source .dev/$stack/env

  Ctrl-C stops the service, the emulator and the stack; data stays in .dev/$stack.

BANNER

# Wait for the service, waking each second to see whether make (our parent
# in a terminal) was stopped. A trapped signal interrupts the sleep's wait
# and runs the cleanup.
while running "$svc_pid"; do
  if [[ -n $parent ]] && ! running "$parent"; then
    stop_requested "make run stopped"
  fi
  sleep 1 &
  wait $! || true
done
status=0
wait "$svc_pid" || status=$?
warn "intercom-sync exited by itself with status $status (its log is above)"
exit "$status"
