# Sourced by .ci/run: makes sure a PostgreSQL server answers for the PostgreSQL backend's
# tests (docs/scale-out.md#testing), and exports OPCORE_TEST_POSTGRES_URL.
#
# 1. OPCORE_TEST_POSTGRES_URL, when set and answering, is used as it is.
# 2. Otherwise postgres://postgres@127.0.0.1:5432/postgres, when it answers (trust auth).
# 3. Otherwise the Debian package `postgresql` is installed if its programs are missing, and a
#    throwaway cluster (trust auth, a free port, a temporary directory) is started and stopped
#    again by `postgres_for_tests_stop` (call it from an EXIT trap).
# OPCORE_PG_THROWAWAY=1 skips 1 and 2; OPCORE_PG_MAX_CONNECTIONS sets the throwaway cluster's
# max_connections (default 300). If no server can be had, `postgres_for_tests` fails and says
# why. A throwaway cluster keeps its settings (port, socket directory) in its postgresql.conf,
# so `"${_pg_ctl[@]}" -m fast -w stop` and `"${_pg_ctl[@]}" -l "$_pg_log" -w start` stop it and
# start it again on the same port (scripts/multinode.sh does).

_pg_tmp=""
_pg_ctl=()
_pg_log=""

_pg_answers() {
  psql "$1" -XAtqc 'SELECT 1' >/dev/null 2>&1
}

_pg_bindir() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

_pg_install() {
  if [ -n "$(_pg_bindir)" ] && command -v psql >/dev/null 2>&1; then
    return 0
  fi
  echo "installing the Debian package postgresql"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >/dev/null \
    || { echo "apt-get install postgresql failed"; return 1; }
  [ -n "$(_pg_bindir)" ] || { echo "postgresql installed but no /usr/lib/postgresql/*/bin"; return 1; }
}

_pg_free_port() {
  local port
  for port in $(seq 54320 54399); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

_pg_start_throwaway() {
  _pg_install || return 1
  local bin port run_as
  bin=$(_pg_bindir)
  port=$(_pg_free_port) || { echo "no free port for a throwaway PostgreSQL"; return 1; }
  _pg_tmp=$(mktemp -d /tmp/opcore-pg.XXXXXX)
  run_as=()
  if [ "$(id -u)" -eq 0 ]; then
    # initdb refuses to run as root: the package's `postgres` user owns the cluster.
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "$_pg_tmp"
    run_as=(runuser -u postgres --)
  fi
  "${run_as[@]}" "$bin/initdb" -D "$_pg_tmp/data" -U postgres --auth=trust >"$_pg_tmp/initdb.log" 2>&1 \
    || { echo "initdb failed:"; cat "$_pg_tmp/initdb.log"; return 1; }
  printf "port = %s\nunix_socket_directories = '%s'\nlisten_addresses = '127.0.0.1'\nmax_connections = %s\n" \
    "$port" "$_pg_tmp" "${OPCORE_PG_MAX_CONNECTIONS:-300}" >>"$_pg_tmp/data/postgresql.conf"
  _pg_ctl=("${run_as[@]}" "$bin/pg_ctl" -D "$_pg_tmp/data")
  _pg_log="$_pg_tmp/server.log"
  "${_pg_ctl[@]}" -l "$_pg_log" -w -t 60 start >/dev/null \
    || { echo "pg_ctl start failed:"; cat "$_pg_log"; return 1; }
  export OPCORE_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
  echo "started a throwaway PostgreSQL at $OPCORE_TEST_POSTGRES_URL ($_pg_tmp)"
}

postgres_for_tests() {
  if [ "${OPCORE_PG_THROWAWAY:-0}" != 1 ]; then
    if ! command -v psql >/dev/null 2>&1; then
      _pg_install || return 1
    fi
    if [ -n "${OPCORE_TEST_POSTGRES_URL:-}" ] && _pg_answers "$OPCORE_TEST_POSTGRES_URL"; then
      echo "PostgreSQL answers at OPCORE_TEST_POSTGRES_URL"
      return 0
    fi
    if _pg_answers "postgres://postgres@127.0.0.1:5432/postgres"; then
      export OPCORE_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:5432/postgres"
      echo "PostgreSQL answers at $OPCORE_TEST_POSTGRES_URL"
      return 0
    fi
  fi
  _pg_start_throwaway || return 1
  _pg_answers "$OPCORE_TEST_POSTGRES_URL" \
    || { echo "the throwaway PostgreSQL does not answer at $OPCORE_TEST_POSTGRES_URL"; return 1; }
}

postgres_for_tests_stop() {
  if [ -n "$_pg_tmp" ]; then
    [ ${#_pg_ctl[@]} -gt 0 ] && "${_pg_ctl[@]}" -m fast -w stop >/dev/null 2>&1
    rm -rf "$_pg_tmp"
    _pg_tmp=""
  fi
}
