#!/usr/bin/env bash
# SIGKILLs a writer process at random moments and checks the file after every kill
# (tests/reliability.rs, `crash_loop`): PRAGMA integrity_check = ok, every acknowledged
# create, update and delete present.
#
#   scripts/crash-loop.sh          100 kills
#   scripts/crash-loop.sh 10       10 kills
#
# Builds with the same flags as `cargo test --all-features`, so it reuses that build.
set -uo pipefail
cd "$(dirname "$0")/.."
kills=${1:-100}
export CARGO_TERM_COLOR=never
OPCORE_CRASH_KILLS=$kills cargo test --all-features --test reliability -- \
  --ignored --exact crash_loop --nocapture 2>&1 |
  grep -v -E '^crash-loop round |^(running [0-9]+ test|test reliability_child)'
rc=${PIPESTATUS[0]}
if [ "$rc" -eq 0 ]; then echo "crash-loop: 1 passed, 0 failed"; else echo "crash-loop: 0 passed, 1 failed"; fi
exit "$rc"
