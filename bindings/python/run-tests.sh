#!/usr/bin/env bash
# Builds libopcore (reused when up to date), installs the Python package with pip into a
# virtual environment (pytest from PyPI), runs the pytest suite, and ends with pytest's summary
# followed by one line: "python-bindings: N passed, M failed". Exits non-zero on any failure.
# Needs only python3 (with pip) and cargo.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1

finish() {
  echo "python-bindings: $1 passed, $2 failed"
  exit "$3"
}

echo "==> cargo build --release --no-default-features --lib"
cargo build --release --no-default-features --lib || finish 0 1 1

target_dir=${CARGO_TARGET_DIR:-$root/target}
venv=$target_dir/python-venv
python=$venv/bin/python
if [ ! -x "$python" ] || ! "$python" -m pip --version >/dev/null 2>&1; then
  echo "==> python3 -m venv $venv"
  rm -rf "$venv"
  if ! python3 -m venv "$venv"; then
    # Debian ships venv separately; install it where that is possible.
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
      version=$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        "python${version}-venv" || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        python3-venv) >/dev/null
      rm -rf "$venv"
      python3 -m venv "$venv" || finish 0 1 1
    else
      echo "python3 -m venv failed: install the venv module (e.g. apt-get install python3-venv)"
      finish 0 1 1
    fi
  fi
fi

echo "==> pip install pytest ./bindings/python"
"$python" -m pip install --quiet --disable-pip-version-check "pytest>=7" || finish 0 1 1
# --force-reinstall: the package copies the library at build time, so a rebuilt library must
# be installed again even though the version did not change.
"$python" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps \
  ./bindings/python || finish 0 1 1

echo "==> pytest bindings/python/tests"
log=$(mktemp)
# From the repository root, `import opcore` finds the installed package, never the source
# folder (bindings/python is not on sys.path); test_install.py checks that.
env -u OPCORE_LIB OPCORE_EXPECT_INSTALLED=1 "$python" -m pytest -p no:cacheprovider \
  bindings/python/tests 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

summary=$(grep -E '^=+ .*(passed|failed|error).* in [0-9.]+s' "$log" | tail -n 1)
passed=$(echo "$summary" | grep -oE '[0-9]+ passed' | awk '{print $1}')
failed=$(echo "$summary" | grep -oE '[0-9]+ (failed|error|errors)' | awk '{s+=$1} END {print s+0}')
rm -f "$log"
passed=${passed:-0}
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
finish "$passed" "$failed" "$status"
