#!/usr/bin/env bash
# `make run`: the service on a local stack, with the Intercom emulator
# unless INTERCOM_ACCESS_TOKEN is set. Ctrl-C stops everything it started
# (service, emulator, stack) and keeps the data in .dev/run for next time.
# Any variable below may be overridden from the environment.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
root=$(cd "$here/../.." && pwd)
cd "$root"

bin=$root/bin/intercom-sync
[[ -x $bin ]] || die "$bin not found (run: make build)"
logdir=$root/.dev/run
mkdir -p "$logdir"

svc_pid="" emu_pid=""

# The service goes first so it can finish in-flight work while Temporal and
# the databases are still there; the stack last.
cleanup() {
  trap '' INT TERM
  trap - EXIT
  stop_pid "$svc_pid" intercom-sync
  stop_pid "$emu_pid" emulator
  bash "$here/stack.sh" down run || warn "stopping the run stack failed"
}
trap cleanup EXIT
# Ignore repeats at once: make forwards its own SIGTERM to us, and a second
# signal must not cut the shutdown short.
trap 'trap "" INT TERM; exit 130' INT
trap 'trap "" INT TERM; exit 143' TERM

bash "$here/stack.sh" up run
source "$logdir/env"

# A fixed, obviously-fake Svix-style secret so local demo webhooks verify.
export HTTP_ADDR=${HTTP_ADDR:-127.0.0.1:8080}
export ENVIRONMENT_NAME=${ENVIRONMENT_NAME:-development}
export CLERK_WEBHOOK_SECRET=${CLERK_WEBHOOK_SECRET:-whsec_aW50ZXJjb20tc3luYy1sb2NhbC1kZXYtc2VjcmV0ISE=}
# Fixed, obviously-fake values for the Intercom webhook (the app's client
# secret signs X-Hub-Signature) and the lookup API's bearer token.
export INTERCOM_WEBHOOK_SECRET=${INTERCOM_WEBHOOK_SECRET:-dev-intercom-client-secret}
export LOOKUP_API_TOKEN=${LOOKUP_API_TOKEN:-dev-lookup-token}
export LOG_FORMAT=${LOG_FORMAT:-text}
emulator_addr=${EMULATOR_ADDR:-127.0.0.1:8090}

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
  log "emulator: starting on $emulator_addr (log: .dev/run/emulator.log)"
  setsid "$bin" emulator --addr "$emulator_addr" --token dev-token --state-file "$logdir/emulator-state.json" \
    </dev/null >>"$logdir/emulator.log" 2>&1 &
  emu_pid=$!
  export INTERCOM_API_BASE_URL=http://$emulator_addr
  export INTERCOM_ACCESS_TOKEN=dev-token
  wait_until "$emu_pid" 30 curl -fsS -o /dev/null "http://$emulator_addr/_emulator/state" ||
    { tail -n 20 "$logdir/emulator.log" >&2; die "the emulator did not come up"; }
fi

log "intercom-sync: starting on $HTTP_ADDR"
setsid "$bin" run </dev/null &
svc_pid=$!
wait_until "$svc_pid" 60 curl -fsS -o /dev/null "http://$HTTP_ADDR/healthz" ||
  die "intercom-sync did not become healthy on http://$HTTP_ADDR/healthz"

log "sending demo webhooks"
"$bin" demo --url "http://$HTTP_ADDR" || warn "demo webhooks failed (is the demo subcommand there yet?)"

cat >&2 <<EOF

  API              http://$HTTP_ADDR  (health: /healthz)
  Temporal UI      $TEMPORAL_UI_URL
  Temporal gRPC    $TEMPORAL_ADDRESS  namespace $TEMPORAL_NAMESPACE
  Intercom         ${INTERCOM_API_BASE_URL:-the real Intercom API}${emu_pid:+  (emulator state: http://$emulator_addr/_emulator/state)}
  Postgres         $DATABASE_URL
  MariaDB          $MEMBERS_MYSQL_DSN  (root: $MYSQL_ROOT_DSN)
  Member lookup    curl -H 'Authorization: Bearer $LOOKUP_API_TOKEN' -d '{"email":"ada.lovelace@example.com"}' \
                     http://$HTTP_ADDR/api/intercom/lookup-email
  env              source .dev/run/env

  Ctrl-C stops the service, the emulator and the stack; data stays in .dev/run.

EOF

# Wait for the service; a trapped signal interrupts the wait and runs cleanup.
status=0
wait "$svc_pid" || status=$?
svc_pid=""
warn "intercom-sync exited with status $status"
exit "$status"
