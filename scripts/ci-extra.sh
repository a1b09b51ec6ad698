#!/usr/bin/env bash
# The short forms of opcore's reliability suite, for CI (run by .ci/run after
# `cargo test --all-features`, whose build the Rust steps reuse):
#
#   crash loop     10 SIGKILLs of a writer process          scripts/crash-loop.sh
#   contention     4 processes x 4 threads for 10 s          scripts/contention.sh
#   schemathesis   30 examples per operation and phase      scripts/schemathesis.sh
#   fuzz           every target for 15 s (unoptimized build) scripts/fuzz.sh
#   multinode      3 `opcore serve` on PostgreSQL + Redis    scripts/multinode.sh
#
# Installs what it needs (cargo-fuzz from crates.io, schemathesis from PyPI into a virtualenv,
# the package `postgresql` when its programs are missing).
# Every step must pass; the last line is `reliability: N passed, M failed` (steps).
# The long runs and their figures: docs/reliability.md.
set -uo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

passed=0
failed=0
failures=()

run() {
  local name=$1
  shift
  printf '\n==> reliability: %s\n' "$name"
  local start=$SECONDS
  if "$@"; then
    passed=$((passed + 1))
    echo "--- $name: ok ($((SECONDS - start)) s)"
  else
    failed=$((failed + 1))
    failures+=("$name")
    echo "--- $name: FAILED ($((SECONDS - start)) s)"
  fi
}

run "crash loop (10 kills)" bash scripts/crash-loop.sh 10
run "contention (4 processes x 4 threads, 10 s)" bash scripts/contention.sh 10
run "schemathesis (30 examples per operation)" env ST_MAX_EXAMPLES=30 bash scripts/schemathesis.sh
run "fuzz (5 targets x 15 s)" env FUZZ_SECONDS=15 FUZZ_PROFILE=dev bash scripts/fuzz.sh
run "multinode (3 nodes on PostgreSQL + Redis, 12 s of rate limiting)" bash scripts/multinode.sh 12

echo
[ "$failed" -eq 0 ] || echo "failed: ${failures[*]}"
echo "reliability: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
