#!/usr/bin/env bash
# Three `opcore serve` processes on one store file sharing one Redis: a client with the Manage
# limit of 20 per 10 s, sending round-robin to all three, never has more than 20 requests
# admitted in any 10 s window (docs/scale-out.md). Usage:
#   OPCORE_TEST_REDIS_URL=redis://127.0.0.1:6379 scripts/multinode-ratelimit.sh [seconds]
# (default 12 s; .ci/run runs the same test with the default through `cargo test`).
set -euo pipefail
cd "$(dirname "$0")/.."
export OPCORE_MULTINODE_SECONDS=${1:-12}
exec cargo test --features redis --test shared_ratelimit -- --exact \
  three_serve_processes_share_one_manage_limit --nocapture
