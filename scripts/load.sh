#!/bin/sh
# Load run for `opcore serve` (tests/load.rs): the real binary on 127.0.0.1 with a random
# port, 200 concurrent keep-alive connections doing a mix of every Manage route for
# OPCORE_LOAD_SECONDS (default 30) seconds. Fails on any 5xx, unexpected status, dropped
# connection or log line that is not a request line; prints the request count and the status
# histogram. Stops by itself; touches nothing outside a temporary directory.
set -eu
cd "$(dirname "$0")/.."
OPCORE_LOAD_SECONDS="${OPCORE_LOAD_SECONDS:-30}" \
    exec cargo test --all-features --test load -- --nocapture "$@"
