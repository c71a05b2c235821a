#!/usr/bin/env bash
# Runs go test against the test stack (.dev/test, ports 25432/23306/27233):
# brings the stack up, runs the tests, and brings it down again whether or
# not they passed, exiting with go test's status.
#
#   test.sh [go test args...]   default: -race -count=1 -timeout 20m ./...
#
# With the default arguments (make test) every fuzz target then runs for
# FUZZTIME (3s) each (deploy/local/fuzz.sh), after the regular tests.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
root=$(cd "$here/../.." && pwd)
cd "$root"

# Stop the stack however we leave: test failure, Ctrl-C or a failed start.
# Quietly unless it fails, so go test's summary stays the last thing printed
# (CI reads the closing lines).
stack_down() {
  trap '' INT TERM
  bash "$here/stack.sh" down test >"$root/.dev/test-down.log" 2>&1 ||
    { cat "$root/.dev/test-down.log" >&2; warn "stopping the test stack failed"; }
}
trap stack_down EXIT
# Ignore repeats at once: make forwards its own SIGTERM to us, and a second
# signal must not cut the shutdown short.
trap 'trap "" INT TERM; exit 130' INT
trap 'trap "" INT TERM; exit 143' TERM

bash "$here/stack.sh" up test
source "$root/.dev/test/env"

args=("$@")
fuzz=false
((${#args[@]})) || { args=(-race -count=1 -timeout 20m ./...); fuzz=true; }

status=0
go test "${args[@]}" || status=$?
if $fuzz; then
  bash "$here/fuzz.sh" "${FUZZTIME:-3s}" || status=1
fi
exit "$status"
