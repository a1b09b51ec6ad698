#!/usr/bin/env bash
# Runs opcore's libFuzzer targets (fuzz/) for a bounded time or number of executions each.
#
#   scripts/fuzz.sh                      every target for 30 s
#   FUZZ_SECONDS=3600 scripts/fuzz.sh manage_handle
#   FUZZ_RUNS=10000000 FUZZ_SECONDS=7200 scripts/fuzz.sh slug datetime
#
# Each target starts from its committed seeds (fuzz/corpus/<target>, never written to) and
# keeps what it discovers in fuzz/work/<target> (not committed). A crash, a failed check or a
# leak stops the target, leaves the input in fuzz/artifacts/<target>/ and fails the script.
# Installs cargo-fuzz (crates.io) when it is missing; cargo-fuzz needs nightly features, which
# the stable toolchain allows with RUSTC_BOOTSTRAP=1. FUZZ_SANITIZER (default address) is passed
# to cargo fuzz's --sanitizer; FUZZ_PROFILE=dev builds without optimizations (much faster to
# build from scratch, slower to run: for short runs). Both profiles keep overflow checks and
# debug assertions on.
set -uo pipefail
cd "$(dirname "$0")/../fuzz"

ALL_TARGETS=(manage_handle ffi_handle cors_domain slug datetime)
SECONDS_PER_TARGET=${FUZZ_SECONDS:-30}
RUNS=${FUZZ_RUNS:-}
SANITIZER=${FUZZ_SANITIZER:-address}
# Overflow checks and debug assertions are on in both profiles.
case "${FUZZ_PROFILE:-release}" in
  release) PROFILE=(--release --debug-assertions) ;;
  dev) PROFILE=(--dev) ;;
  *) echo "FUZZ_PROFILE must be release or dev"; exit 2 ;;
esac
export RUSTC_BOOTSTRAP=1
export CARGO_TERM_COLOR=never

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${ALL_TARGETS[@]}")

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz"
  cargo install cargo-fuzz --locked >/dev/null 2>&1 || { echo "cargo install cargo-fuzz failed"; exit 1; }
fi

echo "building fuzz targets (sanitizer: $SANITIZER, profile: ${FUZZ_PROFILE:-release})"
# Only the targets asked for, so a long run of one target can go on while another is built.
if [ $# -gt 0 ]; then
  for target in "${targets[@]}"; do
    cargo fuzz build "${PROFILE[@]}" --sanitizer "$SANITIZER" "$target" ||
      { echo "fuzz: 0 passed, ${#targets[@]} failed"; exit 1; }
  done
else
  cargo fuzz build "${PROFILE[@]}" --sanitizer "$SANITIZER" ||
    { echo "fuzz: 0 passed, ${#targets[@]} failed"; exit 1; }
fi

passed=0
failed=0
total=0
for target in "${targets[@]}"; do
  mkdir -p "work/$target" "artifacts/$target"
  log=$(mktemp)
  args=(-max_total_time="$SECONDS_PER_TARGET" -max_len=4096 -print_final_stats=1)
  [ -n "$RUNS" ] && args+=(-runs="$RUNS")
  case "$target" in manage_handle | ffi_handle) args+=(-dict=manage.dict) ;; esac
  start=$(date +%s)
  cargo fuzz run "${PROFILE[@]}" --sanitizer "$SANITIZER" "$target" "work/$target" "corpus/$target" \
    -- "${args[@]}" >"$log" 2>&1
  rc=$?
  elapsed=$(($(date +%s) - start))
  runs=$(grep -oE '^stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -n 1)
  if [ -z "$runs" ]; then
    runs=$(grep -oE '^Done [0-9]+ runs' "$log" | grep -oE '[0-9]+' | tail -n 1)
  fi
  runs=${runs:-0}
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 | grep -oE '[0-9]+')
  corpus=$(find "work/$target" -type f | wc -l)
  if [ "$rc" -eq 0 ] && [ "$runs" -gt 0 ]; then
    passed=$((passed + 1))
    echo "fuzz $target: $runs executions in ${elapsed}s, coverage ${cov:-?} edges, corpus $corpus inputs, no crash"
  else
    failed=$((failed + 1))
    echo "fuzz $target: FAILED (exit $rc) after $runs executions in ${elapsed}s"
    grep -E -A12 'panicked at|ERROR: (libFuzzer|AddressSanitizer)' "$log" | head -n 40
    ls -1 "artifacts/$target" | tail -n 3 | sed "s|^|  input: fuzz/artifacts/$target/|"
  fi
  total=$((total + runs))
  rm -f "$log"
done
echo "fuzz: $total executions in all"
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
