#!/bin/sh
# Scale-out throughput (docs/scale-out.md#several-nodes): how the throughput of `opcore serve`
# on one PostgreSQL database grows from one node to three. Each node answers an authenticated
# `GET /manage/projects` (a cached Manage authentication, whose check that the client still
# exists is one round trip to PostgreSQL, and the page cache's one-statement validity check).
#
#   one node:    wrk -t2 -c32 -d${SECONDS_PER_RUN}s against it → req/s
#   three nodes: three wrk processes at once, one per node, each -t1 -c16 (48 connections in
#                all: the one-node load plus half again, so the three nodes are all kept busy)
#                → the sum of their req/s
#
# and prints both and their ratio. The nodes, wrk and PostgreSQL share one machine, so on a
# machine with few cores the growth is far from linear: the script measures, it does not
# predict a deployment. Every node runs with the Manage limit raised (`--options`) so that the
# run measures the nodes, not the limiter.
#
# Run: `scripts/scaleout-bench.sh` (SECONDS_PER_RUN, default 10; SKIP_BUILD=1 to reuse the
# release build). It builds `--release --features server,postgres,redis`, creates a fresh
# database on the server at OPCORE_TEST_POSTGRES_URL (default
# postgres://postgres@127.0.0.1:5432/postgres), and at the end stops every node and drops the
# database. Installs wrk with apt-get when it is missing.
set -eu
cd "$(dirname "$0")/.."
SECONDS_PER_RUN="${SECONDS_PER_RUN:-10}"
server_url="${OPCORE_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
if ! command -v wrk >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then apt-get install -y wrk >/dev/null; else sudo apt-get install -y wrk >/dev/null; fi
fi
[ -n "${SKIP_BUILD:-}" ] || cargo build --release --features server,postgres,redis --bin opcore
target="${CARGO_TARGET_DIR:-target}/release"

name="opcore_scaleout_$$"
db_url="$(python3 -c 'import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1])
print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$server_url" "$name")"
tmp="$(mktemp -d)"
pids=""
cleanup() {
    for pid in $pids; do kill "$pid" 2>/dev/null || true; done
    for pid in $pids; do wait "$pid" 2>/dev/null || true; done
    psql -q "$server_url" -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
psql -q "$server_url" -c "CREATE DATABASE $name" >/dev/null

options='{"rate_limits":{"manage":{"limit":1000000000,"window_seconds":1}}}'
# start N PORT: starts node N on 127.0.0.1:PORT and waits until it serves.
start() {
    "$target/opcore" serve --db "$db_url" --options "$options" --listen "127.0.0.1:$2" \
        >"$tmp/out-$1.txt" 2>"$tmp/node-$1.log" &
    pids="$pids $!"
    for _ in $(seq 100); do grep -q "serving" "$tmp/node-$1.log" 2>/dev/null && return 0; sleep 0.1; done
    echo "node $1 did not start:" >&2
    cat "$tmp/node-$1.log" >&2
    exit 1
}
stop_all() {
    for pid in $pids; do kill "$pid" 2>/dev/null || true; done
    for pid in $pids; do wait "$pid" 2>/dev/null || true; done
    pids=""
}
rps() { sed -n 's/^Requests\/sec: *//p' "$1"; }

# The first node creates the store and prints its root client's credentials once.
start 1 3501
id="$(sed -n 's/^ *openpanel-client-id: //p' "$tmp/out-1.txt")"
secret="$(sed -n 's/^ *openpanel-client-secret: //p' "$tmp/out-1.txt")"
[ -n "$id" ] && [ -n "$secret" ] || { echo "no root client in the first run's output" >&2; exit 1; }
for project in Website Shop Docs; do
    curl -sf -H "openpanel-client-id: $id" -H "openpanel-client-secret: $secret" \
        -H 'content-type: application/json' \
        -d "{\"name\":\"$project\",\"cors\":[\"https://$project.example.com\"]}" \
        http://127.0.0.1:3501/manage/projects >/dev/null
done
curl -sf -H "openpanel-client-id: $id" -H "openpanel-client-secret: $secret" \
    http://127.0.0.1:3501/manage/projects >"$tmp/body.json"
echo "body: $(wc -c <"$tmp/body.json") bytes"

bench() { # bench PORT THREADS CONNECTIONS OUT
    wrk "-t$2" "-c$3" "-d${SECONDS_PER_RUN}s" -H "openpanel-client-id: $id" \
        -H "openpanel-client-secret: $secret" "http://127.0.0.1:$1/manage/projects" >"$4"
}
bench 3501 2 32 "$tmp/one.txt"
one="$(rps "$tmp/one.txt")"
echo "one node (wrk -t2 -c32): $one req/s"
stop_all

start 1 3501
start 2 3502
start 3 3503
for port in 3501 3502 3503; do
    # Each node authenticates the root client once (argon2) before the measured run.
    curl -sf -H "openpanel-client-id: $id" -H "openpanel-client-secret: $secret" \
        "http://127.0.0.1:$port/manage/projects" | cmp -s - "$tmp/body.json" ||
        { echo "node on $port answers differently" >&2; exit 1; }
done
bench 3501 1 16 "$tmp/three-1.txt" &
w1=$!
bench 3502 1 16 "$tmp/three-2.txt" &
w2=$!
bench 3503 1 16 "$tmp/three-3.txt" &
w3=$!
wait "$w1" "$w2" "$w3"
a="$(rps "$tmp/three-1.txt")"
b="$(rps "$tmp/three-2.txt")"
c="$(rps "$tmp/three-3.txt")"
three="$(python3 -c "print(f'{$a + $b + $c:.2f}')")"
echo "three nodes (3 × wrk -t1 -c16 at once): $a + $b + $c = $three req/s"
echo "ratio three/one: $(python3 -c "print(f'{$three / $one:.2f}')")x"
for f in "$tmp"/one.txt "$tmp"/three-*.txt; do
    errors="$(grep -E 'Non-2xx|Socket errors' "$f" || true)"
    [ -z "$errors" ] || echo "$(basename "$f"): $errors"
done
for n in 1 2 3; do
    grep -v ' 200 ' "$tmp/node-$n.log" | grep -v 'serving' | head -3 || true
done
