#!/usr/bin/env bash
# Processes x threads running a mixed workload on one store file (tests/reliability.rs,
# `contention`): no call fails, no acknowledged write is lost, ids are unique.
#
#   scripts/contention.sh            4 processes x 4 threads for 60 s
#   scripts/contention.sh 10         ... for 10 s
#   OPCORE_CONTENTION_PROCESSES=8 OPCORE_CONTENTION_THREADS=2 scripts/contention.sh 30
#
# Builds with the same flags as `cargo test --all-features`, so it reuses that build.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
export CARGO_TERM_COLOR=never
OPCORE_CONTENTION_SECONDS=$seconds cargo test --all-features --test reliability -- \
  --ignored --exact contention --nocapture 2>&1
rc=$?
if [ "$rc" -eq 0 ]; then echo "contention: 1 passed, 0 failed"; else echo "contention: 0 passed, 1 failed"; fi
exit "$rc"
