#!/bin/sh
# HTTP throughput bar (BENCHMARKS.md): `opcore serve` answering an authenticated
# `GET /manage/projects` from the credential cache, against the floor — a bare axum handler
# returning the same bytes (examples/http-floor.rs) — measured side by side with wrk in one
# run, alternating ROUNDS times (default 3). Loopback only; both servers are stopped at the end.
# Installs wrk with apt-get when it is missing.
set -eu
cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-3}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-10}"
if ! command -v wrk >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then apt-get install -y wrk >/dev/null; else sudo apt-get install -y wrk >/dev/null; fi
fi
[ -n "${SKIP_BUILD:-}" ] || cargo build --release --features server --bin opcore --example http-floor
target="${CARGO_TARGET_DIR:-target}/release"
tmp="$(mktemp -d)"
cleanup() {
    [ -n "${opcore_pid:-}" ] && kill "$opcore_pid" 2>/dev/null || true
    [ -n "${floor_pid:-}" ] && kill "$floor_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# The Manage limit raised so that the run measures the server, not the limiter.
options='{"rate_limits":{"manage":{"limit":1000000000,"window_seconds":1}}}'
"$target/opcore" serve --db "$tmp/opcore.db" --options "$options" --listen 127.0.0.1:3391 \
    >"$tmp/first-run.txt" 2>"$tmp/opcore.log" &
opcore_pid=$!
for _ in $(seq 100); do grep -q "serving" "$tmp/opcore.log" 2>/dev/null && break; sleep 0.1; done
id="$(sed -n 's/^ *openpanel-client-id: //p' "$tmp/first-run.txt")"
secret="$(sed -n 's/^ *openpanel-client-secret: //p' "$tmp/first-run.txt")"
auth="-H openpanel-client-id:$id -H openpanel-client-secret:$secret"
for name in Website Shop Docs; do
    # shellcheck disable=SC2086
    curl -sf $auth -H 'content-type: application/json' -d "{\"name\":\"$name\",\"cors\":[\"https://$name.example.com\"]}" \
        http://127.0.0.1:3391/manage/projects >/dev/null
done
# shellcheck disable=SC2086
curl -sf $auth http://127.0.0.1:3391/manage/projects >"$tmp/body.json"
"$target/examples/http-floor" 127.0.0.1:3392 "$tmp/body.json" 2>/dev/null &
floor_pid=$!
sleep 0.5
echo "body: $(wc -c <"$tmp/body.json") bytes"

rps() { sed -n 's/^Requests\/sec: *//p'; }
i=1
while [ "$i" -le "$ROUNDS" ]; do
    floor="$(wrk -t2 -c32 -d"${SECONDS_PER_RUN}s" http://127.0.0.1:3392/manage/projects | rps)"
    opcore="$(wrk -t2 -c32 -d"${SECONDS_PER_RUN}s" -H "openpanel-client-id: $id" \
        -H "openpanel-client-secret: $secret" http://127.0.0.1:3391/manage/projects | rps)"
    ratio="$(python3 -c "print(f'{$opcore / $floor:.2f}')")"
    echo "round $i: floor $floor req/s, opcore $opcore req/s, ratio ${ratio}x"
    i=$((i + 1))
done
echo "opcore log lines: $(wc -l <"$tmp/opcore.log")"
grep -v ' 200 ' "$tmp/opcore.log" | grep -v '^opcore: serving' | head -5 || true
