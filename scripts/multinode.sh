#!/usr/bin/env bash
# Three `opcore serve` processes on one PostgreSQL database and one Redis (tests/multinode.rs,
# docs/scale-out.md#several-nodes): 300 concurrent same-name creates get 300 distinct ids; one
# Manage limit (20 per 10 s) holds across the three nodes; a client deleted through one node is
# refused by the others; a node SIGKILLed during writes loses no acknowledged write; PostgreSQL
# stopped for 5 s gives 503 `Storage unavailable` and service resumes by itself when it starts
# again. Usage:
#   scripts/multinode.sh [seconds]
# seconds: how long the rate-limit part sends (default 12; about 40 s in all with the
# default). The tests stop PostgreSQL, so this starts a throwaway cluster of its own
# (scripts/postgres-for-tests.sh; the package `postgresql` is installed when its programs are
# missing) on a free port and removes it at the end; the server on 5432 is never touched.
# Redis: OPCORE_TEST_REDIS_URL, default redis://127.0.0.1:6379, or a throwaway redis-server
# when nothing answers there. The last line is `multinode: N passed, M failed` (tests).
set -uo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

seconds=${1:-12}
case "$seconds" in
  '' | *[!0-9]*) echo "usage: scripts/multinode.sh [seconds] (a whole number, at least 1)"; exit 2 ;;
esac
[ "$seconds" -ge 1 ] || { echo "usage: scripts/multinode.sh [seconds] (a whole number, at least 1)"; exit 2; }

# shellcheck source=scripts/postgres-for-tests.sh
. scripts/postgres-for-tests.sh

redis_dir=""
log_dir=$(mktemp -d)
cleanup() {
  postgres_for_tests_stop
  if [ -n "$redis_dir" ]; then
    kill "$(cat "$redis_dir/redis.pid" 2>/dev/null)" 2>/dev/null
    rm -rf "$redis_dir"
  fi
  rm -rf "$log_dir"
}
trap cleanup EXIT

summary() {
  echo "multinode: $1 passed, $2 failed"
}

# PING over plain TCP: redis://[user:password@]host[:port][/db] without a password only.
redis_answers() {
  local rest=${1#redis://} hostport host port reply
  rest=${rest%%/*}
  hostport=${rest##*@}
  host=${hostport%%:*}
  port=${hostport##*:}
  [ "$port" = "$hostport" ] && port=6379
  exec 3<>"/dev/tcp/${host:-127.0.0.1}/$port" 2>/dev/null || return 1
  printf 'PING\r\n' >&3
  IFS= read -r -t 2 reply <&3
  exec 3<&-
  [[ "$reply" == +PONG* ]]
}

redis_url=${OPCORE_TEST_REDIS_URL:-redis://127.0.0.1:6379}
if [[ "$redis_url" == redis://* && "$redis_url" != *@* ]] && ! redis_answers "$redis_url"; then
  command -v redis-server >/dev/null 2>&1 \
    || { echo "no Redis answers at $redis_url and redis-server is not installed"; summary 0 1; exit 1; }
  redis_dir=$(mktemp -d)
  port=""
  for p in $(seq 56379 56479); do
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { port=$p; break; }
  done
  [ -n "$port" ] || { echo "no free port for a throwaway Redis"; summary 0 1; exit 1; }
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$redis_dir" --daemonize yes --pidfile "$redis_dir/redis.pid" >/dev/null \
    || { echo "redis-server failed to start on port $port"; summary 0 1; exit 1; }
  redis_url="redis://127.0.0.1:$port"
  for _ in $(seq 50); do redis_answers "$redis_url" && break; sleep 0.1; done
  redis_answers "$redis_url" || { echo "the throwaway redis-server at $redis_url does not answer"; summary 0 1; exit 1; }
  echo "started a throwaway Redis at $redis_url"
fi
export OPCORE_TEST_REDIS_URL=$redis_url

# Its own cluster, whatever else answers: the tests stop it. Part 1 has 300 requests in
# flight on three nodes, each of which may hold a connection.
export OPCORE_PG_THROWAWAY=1 OPCORE_PG_MAX_CONNECTIONS=400
postgres_for_tests || { echo "no throwaway PostgreSQL could be started"; summary 0 1; exit 1; }
export OPCORE_MULTINODE_PG_CTL="${_pg_ctl[*]}"
export OPCORE_MULTINODE_PG_LOG=$_pg_log
export OPCORE_MULTINODE_SECONDS=$seconds

# --all-features: the build `cargo test --all-features` (.ci/run) has already made.
cargo test --all-features --test multinode -- --ignored --test-threads=1 --nocapture 2>&1 \
  | tee "$log_dir/test.log"
status=${PIPESTATUS[0]}
result=$(grep -E '^test result:' "$log_dir/test.log" | tail -n 1)
passed=$(echo "$result" | grep -oE '[0-9]+ passed' | awk '{print $1}')
failed=$(echo "$result" | grep -oE '[0-9]+ failed' | awk '{print $1}')
passed=${passed:-0}
failed=${failed:-0}
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
summary "$passed" "$failed"
exit "$status"
