#!/usr/bin/env bash
# Runs every go fuzz target for DURATION each, one after the other (go test
# fuzzes one target per invocation). Their seed corpora are committed under
# each package's testdata/fuzz/FuzzXxx and run as regular tests by go test;
# this adds fresh inputs on top. A crasher is written to that directory:
# fix the code and commit it as a regression seed.
#
#   fuzz.sh [DURATION]   default 3s (make test); make test-soak passes 2m
#
# FUZZ_PARALLEL bounds the fuzzing workers (default 2: the machine is
# shared). No stack is needed: the targets use fakes, not databases.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
cd "$here/../.."

duration=${1:-3s}
parallel=${FUZZ_PARALLEL:-2}

# package target — add a line for each new FuzzXxx.
targets=(
  "./internal/clerk FuzzDecodeEvent"
  "./internal/intercom FuzzParseNotification"
  "./internal/intercom FuzzVerifySignature"
  "./api FuzzClerkWebhook"
  "./api FuzzIntercomWebhook"
  "./api FuzzLookup"
)

failed=()
for t in "${targets[@]}"; do
  read -r pkg name <<<"$t"
  log "fuzzing $name ($pkg) for $duration"
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "$duration" -parallel "$parallel" "$pkg" || failed+=("$name")
done
if ((${#failed[@]})); then
  die "fuzz targets failed: ${failed[*]} (the crasher is under the package's testdata/fuzz/)"
fi
log "all ${#targets[@]} fuzz targets ran $duration each without a failure"
