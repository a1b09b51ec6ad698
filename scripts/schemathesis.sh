#!/usr/bin/env bash
# Schema-driven tests of the Manage API: schemathesis (PyPI) generates requests from the
# committed openapi.json and sends them to a real `opcore serve` on a loopback port, as an
# organization's root client. Fails on any 5xx, any status the document does not list for
# the operation, and any response whose headers, content type or body violate the document.
#
#   scripts/schemathesis.sh                 100 examples per operation and phase, /manage
#   ST_MAX_EXAMPLES=1000 scripts/schemathesis.sh
#   ST_BASE_PATH=/api/manage scripts/schemathesis.sh
#
# The server is started and stopped here (loopback only), on a temporary store with cheap
# argon2 and a Manage rate limit no run reaches. schemathesis is installed into a virtualenv
# (ST_VENV, default ~/.cache/opcore-schemathesis) on first use. The run is seeded (ST_SEED) so
# a failure can be replayed. ST_KEEP=DIR keeps the server log and the reports there;
# ST_EXTRA_ARGS are added to `st run`.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT_DIR=$(pwd)
MAX_EXAMPLES=${ST_MAX_EXAMPLES:-100}
SEED=${ST_SEED:-20241115}
BASE_PATH=${ST_BASE_PATH:-/manage}
VENV=${ST_VENV:-$HOME/.cache/opcore-schemathesis}
ST_VERSION=4.32.5
export CARGO_TERM_COLOR=never

fail() {
  echo "schemathesis: $*"
  echo "schemathesis: 0 passed, 1 failed"
  exit 1
}

if ! "$VENV/bin/st" --version 2>/dev/null | grep -q "$ST_VERSION"; then
  echo "installing schemathesis $ST_VERSION into $VENV"
  python3 -m venv "$VENV" || fail "cannot create a virtualenv at $VENV"
  "$VENV/bin/pip" install -q "schemathesis==$ST_VERSION" || fail "pip install schemathesis failed"
fi

# The same flags as `cargo test --all-features`, so CI reuses that build.
cargo build -q --all-features --bin opcore || fail "cargo build failed"
OPCORE="$ROOT_DIR/target/debug/opcore"

WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then kill "$SERVER_PID" 2>/dev/null; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

OPTIONS='{"argon2":{"m_cost":8,"t_cost":1,"p_cost":1},"rate_limits":{"manage":{"limit":100000000,"window_seconds":1}}}'
DB="$WORK/schemathesis.db"
"$OPCORE" --db "$DB" --options "$OPTIONS" init --name "Schemathesis" >"$WORK/init.json" ||
  fail "opcore init failed"
read -r CLIENT_ID CLIENT_SECRET < <(python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))["client"]
print(c["id"], c["secret"])' "$WORK/init.json") || fail "cannot read the root client from opcore init"

# Some data for the generated requests to find.
"$OPCORE" --db "$DB" --options "$OPTIONS" projects --org schemathesis create --name "My Project" \
  --domain https://example.com --cors https://example.com --type website >/dev/null ||
  fail "opcore projects create failed"

"$OPCORE" --db "$DB" --options "$OPTIONS" serve --listen 127.0.0.1:0 \
  </dev/null >"$WORK/serve.stdout" 2>"$WORK/serve.stderr" &
SERVER_PID=$!
ADDR=""
for _ in $(seq 1 300); do
  ADDR=$(grep -oE 'on http://127\.0\.0\.1:[0-9]+' "$WORK/serve.stderr" | head -n 1 | sed 's|on http://||')
  [ -n "$ADDR" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.1
done
[ -n "$ADDR" ] || { cat "$WORK/serve.stderr"; fail "opcore serve did not start"; }
echo "opcore serve on http://$ADDR (pid $SERVER_PID); schemathesis $ST_VERSION, base $BASE_PATH," \
  "$MAX_EXAMPLES examples per operation, seed $SEED"

# The document accepts either credential (openpanel-client-* headers or a bearer token), and
# schemathesis fills in the bearer scheme by itself unless it is given one: a real access
# token of the same root client, so every generated request is authenticated.
TOKEN=$(curl -sS --max-time 30 -X POST "http://$ADDR/oauth/token" \
  --data-urlencode grant_type=client_credentials \
  --data-urlencode "client_id=$CLIENT_ID" --data-urlencode "client_secret=$CLIENT_SECRET" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])') ||
  fail "cannot get an access token from /oauth/token"

CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance
# From the scratch directory: schemathesis keeps its example database in ./.schemathesis.
(cd "$WORK" && "$VENV/bin/st" run "$ROOT_DIR/openapi.json" \
  --url "http://$ADDR$BASE_PATH" \
  -H "openpanel-client-id: $CLIENT_ID" \
  -H "openpanel-client-secret: $CLIENT_SECRET" \
  -H "Authorization: Bearer $TOKEN" \
  --checks "$CHECKS" \
  --max-examples "$MAX_EXAMPLES" \
  --seed "$SEED" \
  --workers 1 \
  --request-timeout 30 \
  --report junit --report-junit-path "$WORK/junit.xml" \
  --no-color ${ST_EXTRA_ARGS:-}) 2>&1 | tee "$WORK/st.log"
st_rc=${PIPESTATUS[0]}

kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
serve_rc=$?
SERVER_PID=""
if [ -n "${ST_KEEP:-}" ]; then
  mkdir -p "$ST_KEEP" && cp "$WORK"/serve.stderr "$WORK"/st.log "$WORK"/junit.xml "$ST_KEEP"/ 2>/dev/null
fi

requests=$(grep -cE '^(GET|POST|PATCH|DELETE|PUT|HEAD|OPTIONS|TRACE|CONNECT) ' "$WORK/serve.stderr")
server_errors=$(grep -cE '^[A-Z]+ [^ ]+ 5[0-9][0-9] ' "$WORK/serve.stderr")
echo "opcore serve answered $requests requests, $server_errors with a 5xx"
if grep -q -e "$CLIENT_SECRET" -e "$TOKEN" "$WORK/serve.stderr"; then
  fail "the server log holds the root client's secret or token"
fi
[ "$serve_rc" -eq 0 ] || fail "opcore serve exited with status $serve_rc"
[ "$server_errors" -eq 0 ] || fail "the server answered $server_errors requests with a 5xx"
[ "$st_rc" -eq 0 ] || fail "schemathesis reported failures (exit $st_rc)"
echo "schemathesis: 1 passed, 0 failed"
