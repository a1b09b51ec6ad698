#!/usr/bin/env bash
# Builds libopcore (reused when up to date), installs koffi (prebuilt, from the npm registry,
# as pinned by package-lock.json) with `npm ci --ignore-scripts` (koffi needs no install
# script: its prebuilt binary is a platform package), runs the node:test suite, and ends with
# node's summary (# pass N / # fail N) followed by one line:
# "node-bindings: N passed, M failed". Exits non-zero on any failure.
# Needs only node/npm and cargo.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

finish() {
  echo "node-bindings: $1 passed, $2 failed"
  exit "$3"
}

cd "$root" || exit 1
echo "==> cargo build --release --no-default-features --lib"
cargo build --release --no-default-features --lib || finish 0 1 1

# The package finds the library in the repository's target/release on its own; point it
# elsewhere only when the build went elsewhere.
unset OPCORE_LIB
if [ -n "${CARGO_TARGET_DIR:-}" ]; then
  export OPCORE_LIB=$CARGO_TARGET_DIR/release/libopcore.so
fi

cd "$here" || exit 1
echo "==> npm ci --ignore-scripts"
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error || finish 0 1 1

echo "==> node --test"
log=$(mktemp)
node --test --test-reporter=tap 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
passed=$(grep -E '^# pass [0-9]+' "$log" | tail -n 1 | awk '{print $3}')
failed=$(grep -E '^# fail [0-9]+' "$log" | tail -n 1 | awk '{print $3}')
rm -f "$log"
passed=${passed:-0}
failed=${failed:-0}
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
finish "$passed" "$failed" "$status"
