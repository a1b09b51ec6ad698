#!/usr/bin/env bash
# The OAuth 2.0 client suite: authlib (sync and async clients), unmodified, against a real
# `opcore serve` on a loopback port with a temporary store (docs/oauth.md).
#
#   tests/python-oauth/run.sh            builds the CLI, creates a venv, runs pytest
#   OPCORE_BIN=/path/to/opcore run.sh    uses that binary instead of building one
#   OPCORE_OAUTH_VENV=/path run.sh       reuses (or creates) the venv there
#
# Ends with the line `oauth-clients: N passed, M failed`.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

if [ -z "${OPCORE_BIN:-}" ]; then
  cargo build --quiet --all-features --bin opcore || { echo "oauth-clients: 0 passed, 1 failed"; exit 1; }
  OPCORE_BIN="${CARGO_TARGET_DIR:-$root/target}/debug/opcore"
fi
export OPCORE_BIN

venv="${OPCORE_OAUTH_VENV:-${TMPDIR:-/tmp}/opcore-oauth-venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" || { echo "oauth-clients: 0 passed, 1 failed"; exit 1; }
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt" \
  || { echo "pip install failed"; echo "oauth-clients: 0 passed, 1 failed"; exit 1; }

log="$(mktemp)"
"$venv/bin/python" -m pytest -q -p no:cacheprovider "$here" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
summary="$(grep -E '[0-9]+ (passed|failed)' "$log" | tail -n 1)"
passed="$(echo "$summary" | grep -oE '[0-9]+ passed' | awk '{print $1}')"
failed="$(echo "$summary" | grep -oE '[0-9]+ failed' | awk '{print $1}')"
errors="$(echo "$summary" | grep -oE '[0-9]+ errors?' | awk '{print $1}')"
passed=${passed:-0}; failed=$(( ${failed:-0} + ${errors:-0} ))
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
rm -f "$log"
echo "oauth-clients: $passed passed, $failed failed"
exit "$status"
