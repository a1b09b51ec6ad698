#!/usr/bin/env bash
# The distribution checks: what each ecosystem's newcomer installs works from the artifacts
# the repository builds, each tried in a fresh directory outside the checkout (mktemp -d).
#
#   C/C++   scripts/install.sh under a prefix (header, .so with SONAME links, .a, opcore.pc);
#           SONAME and stripping by readelf; nm: only opc_* globals in the archive; programs
#           built from pkg-config dynamically and statically; libopcore.a linked beside the
#           system SQLite (static and shared), both reporting their own versions; C99 and
#           C++17 (-Wall -Wextra -Werror -pedantic); cffi's cdef on the preprocessed header.
#   Python  the wheel (platlib, manylinux per auditwheel show) and the sdist (builds with
#           cargo), each installed into a new venv and run with the binding's tests and the
#           README example; an editable install finding the checkout's build.
#   Node    the npm pack tarball installed into an empty folder: README examples (sync and
#           Promise), the binding's tests against the installed copy, and the TypeScript
#           declarations compiled without @types/node.
#   All     LICENSE in every package; the stripped library <= 8 MB; sizes printed.
#
# One release build serves every check (scripts/install.sh --stage-only). Prints one line per
# check and a final "dist: N passed, M failed"; exits non-zero on any failure. Needs what
# .ci/run installs, plus network access to PyPI and the npm registry.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
target_dir=${CARGO_TARGET_DIR:-$root/target}
case $target_dir in /*) ;; *) target_dir=$root/$target_dir ;; esac
export CARGO_TARGET_DIR=$target_dir
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
passed=0
failed=0
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n 1)
MAX_LIBRARY_BYTES=$((8 * 1024 * 1024))

step() {
    name=$1
    shift
    log=$work/step.log
    if "$@" > "$log" 2>&1; then
        passed=$((passed + 1))
        echo "ok   $name"
    else
        failed=$((failed + 1))
        echo "FAIL $name"
        sed 's/^/     | /' "$log" | tail -n 60
    fi
}

# PATH without cargo/rustc: what a machine without a Rust toolchain has.
no_rust_path() {
    local dir out=
    local IFS=:
    for dir in $PATH; do
        [ -x "$dir/cargo" ] || [ -x "$dir/rustc" ] && continue
        out=${out:+$out:}$dir
    done
    echo "$out"
}
NO_RUST_PATH=$(no_rust_path)

size_of() { stat -c %s "$1"; }
sizes=$work/sizes
: > "$sizes"
record_size() { printf '%-40s %10s bytes\n' "$1" "$(size_of "$2")" >> "$sizes"; }

# ---------------------------------------------------------------------------------------------
# One build, staged

stage=$target_dir/release/dist
step "build + stage the library once (scripts/install.sh --stage-only)" \
    "$root/scripts/install.sh" --stage-only
lib=$stage/libopcore.so
archive=$stage/libopcore.a

# ---------------------------------------------------------------------------------------------
# C / C++

prefix=$work/prefix
install_layout() {
    "$root/scripts/install.sh" --no-build --prefix "$prefix" || return 1
    for f in include/opcore.h "lib/libopcore.so.$version" lib/libopcore.a lib/pkgconfig/opcore.pc; do
        [ -f "$prefix/$f" ] || { echo "missing $f"; return 1; }
    done
    [ "$(readlink "$prefix/lib/libopcore.so.0")" = "libopcore.so.$version" ] || { echo "libopcore.so.0 link"; return 1; }
    [ "$(readlink "$prefix/lib/libopcore.so")" = "libopcore.so.0" ] || { echo "libopcore.so link"; return 1; }
    cmp "$root/include/opcore.h" "$prefix/include/opcore.h"
    grep -qx "prefix=$prefix" "$prefix/lib/pkgconfig/opcore.pc"
    grep -q '^Libs.private: .*-lc' "$prefix/lib/pkgconfig/opcore.pc"
}
step "install.sh --prefix: header, .so + links, .a, opcore.pc" install_layout
# gen-pc.sh with recorded flags runs no cargo: with cargo off PATH it still works.
step "gen-pc.sh --libs-private needs no cargo" env PATH="$NO_RUST_PATH" \
    "$root/bindings/c/gen-pc.sh" --prefix /opt/x --libs-private "-lc" --out "$work/nocargo.pc"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
libdir=$prefix/lib

soname() {
    readelf -d "$libdir/libopcore.so.$version" | tee /dev/stderr \
        | grep -E 'SONAME' | grep -qF '[libopcore.so.0]'
}
step "SONAME is libopcore.so.0 (readelf -d)" soname

stripped() { # stripped FILE: no debug sections, no static symbol table
    local sections
    sections=$(readelf -S --wide "$1") || return 1
    if printf '%s\n' "$sections" | grep -E '\.debug_|\.symtab'; then
        echo "$1 is not stripped"
        return 1
    fi
}
library_size() {
    stripped "$lib" || return 1
    local bytes
    bytes=$(size_of "$lib")
    echo "libopcore.so: $bytes bytes"
    [ "$bytes" -le "$MAX_LIBRARY_BYTES" ]
}
step "the shipped library is stripped and <= 8 MB" library_size
record_size "libopcore.so (stripped)" "$lib"
record_size "libopcore.a (opc_* only)" "$archive"

archive_globals() {
    local others
    nm -g --defined-only "$archive" | awk 'NF == 3 {print $3}' | sort -u > "$work/globals"
    others=$(grep -v '^opc_' "$work/globals")
    [ -s "$work/globals" ] || { echo "no globals at all"; return 1; }
    if [ -n "$others" ]; then
        echo "globals other than opc_*:"
        printf '%s\n' "$others" | head -n 20
        return 1
    fi
    echo "$(wc -l < "$work/globals") globals, all opc_*"
    grep -qx opc_store_open "$work/globals" && grep -qx opc_handle_ex "$work/globals"
    ! readelf -S --wide "$archive" | grep -q '\.debug_'
}
step "nm: the archive defines only opc_* globals, no debug info" archive_globals

mkdir -p "$work/c"
cp "$root/bindings/c/example.c" "$work/c/example.c"
example_runs() { # example_runs BINARY
    rm -f "$work/c/example.db"*
    out=$("$1" "$work/c/example.db") || { printf '%s\n' "$out"; return 1; }
    printf '%s\n' "$out" | grep -q '^POST /manage/projects -> 200$'
}
pc_dynamic() {
    cd "$work/c" || return 1
    # shellcheck disable=SC2046
    cc -std=c99 -Wall -Wextra -Wpedantic -Werror -o example-dynamic example.c \
        $(pkg-config --cflags --libs opcore) -Wl,-rpath,"$(pkg-config --variable=libdir opcore)" || return 1
    readelf -d example-dynamic | grep -qF 'Shared library: [libopcore.so.0]' || { echo "not NEEDED libopcore.so.0"; return 1; }
    example_runs ./example-dynamic
}
step "C99 program from pkg-config --cflags --libs, dynamically linked" pc_dynamic
pc_static() {
    cd "$work/c" || return 1
    # shellcheck disable=SC2046
    cc -std=c99 -Wall -Wextra -Wpedantic -Werror -o example-static example.c \
        $(pkg-config --cflags opcore) \
        -L"$(pkg-config --variable=libdir opcore)" -Wl,-Bstatic -lopcore -Wl,-Bdynamic \
        $(pkg-config --static --libs-only-l opcore | sed 's/-lopcore//') || return 1
    ! readelf -d example-static | grep -q libopcore || { echo "depends on libopcore.so"; return 1; }
    example_runs ./example-static
}
step "C program from pkg-config --static, statically linked" pc_static

# Both SQLites in one program: the system's (its header and library) and opcore's bundled one.
if [ ! -f /usr/include/sqlite3.h ] || [ -z "$(ls /usr/lib/*/libsqlite3.a /usr/lib/libsqlite3.a 2>/dev/null)" ]; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libsqlite3-dev) >/dev/null 2>&1
    fi
fi
system_sqlite_a=$(ls /usr/lib/*/libsqlite3.a /usr/lib/libsqlite3.a 2>/dev/null | head -n 1)
cat > "$work/c/two.c" <<'C'
/* The host's SQLite and opcore's side by side: each answers with its own version. */
#include <stdio.h>
#include <string.h>
#include <sqlite3.h>
#include <opcore.h>

int main(int argc, char **argv) {
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    opc_store *store = NULL;
    char *json = NULL;
    char path[4096];
    const char *host_sql;
    if (argc != 2) return 2;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK) return 3;
    if (sqlite3_prepare_v2(db, "select sqlite_version()", -1, &stmt, NULL) != SQLITE_OK) return 4;
    if (sqlite3_step(stmt) != SQLITE_ROW) return 5;
    host_sql = (const char *)sqlite3_column_text(stmt, 0);
    printf("host header %s\nhost library %s\nhost sql %s\n", SQLITE_VERSION,
           sqlite3_libversion(), host_sql);
    snprintf(path, sizeof path, "%s/two.db", argv[1]);
    if (opc_store_open(path, NULL, &store) != OPC_OK) return 6;
    if (opc_organization_create(store, "Acme", &json) != OPC_OK) return 7;
    opc_string_free(json);
    printf("opcore sqlite %s\n", opc_sqlite_version());
    opc_store_close(store);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return 0;
}
C
two_sqlites() { # two_sqlites static|shared
    cd "$work/c" || return 1
    rm -f two.db*
    local sqlite
    if [ "$1" = static ]; then sqlite=$system_sqlite_a; else sqlite=-lsqlite3; fi
    [ -n "$sqlite" ] || { echo "no system libsqlite3.a (apt-get install libsqlite3-dev)"; return 1; }
    # shellcheck disable=SC2046
    cc -std=c99 -Wall -Wextra -Werror -o "two-$1" two.c $(pkg-config --cflags opcore) \
        "$libdir/libopcore.a" "$sqlite" \
        $(pkg-config --static --libs-only-l opcore | sed 's/-lopcore//') -lm -ldl -lpthread || return 1
    out=$("./two-$1" "$work/c") || { printf '%s\n' "$out"; return 1; }
    printf '%s\n' "$out"
    header=$(printf '%s\n' "$out" | sed -n 's/^host header //p')
    host=$(printf '%s\n' "$out" | sed -n 's/^host library //p')
    host_sql=$(printf '%s\n' "$out" | sed -n 's/^host sql //p')
    ours=$(printf '%s\n' "$out" | sed -n 's/^opcore sqlite //p')
    # The host's calls reach the host's SQLite (its header's version), opcore's its own.
    [ "$host" = "$header" ] && [ "$host_sql" = "$header" ] && [ -n "$ours" ] && [ "$ours" != "$host" ]
}
step "libopcore.a + system libsqlite3.a: links, both SQLites report their own versions" two_sqlites static
step "libopcore.a + system libsqlite3.so: the host's SQLite is not captured" two_sqlites shared
raw_archive_clashes() {
    # The archive as cargo writes it (every symbol global) does clash: the check above is
    # meaningful only because install.sh localizes the symbols.
    cd "$work/c" || return 1
    # shellcheck disable=SC2046
    if cc -std=c99 -o two-raw two.c $(pkg-config --cflags opcore) "$system_sqlite_a" \
        "$target_dir/release/libopcore.a" $(pkg-config --static --libs-only-l opcore | sed 's/-lopcore//') \
        2> raw.log; then
        echo "the unprocessed archive linked beside libsqlite3.a"
        return 1
    fi
    grep -q 'multiple definition of .sqlite3_' raw.log
}
step "control: cargo's unprocessed libopcore.a clashes with libsqlite3.a" raw_archive_clashes

cat > "$work/c/app.cpp" <<'CPP'
// A C++17 host: the header compiles warning-free and the library links.
#include <cstdio>
#include <string>
#include <opcore.h>

int main() {
    const std::string version = opc_version();
    opc_store *store = nullptr;
    char *error = nullptr;
    const opc_status status = opc_store_open_ex("", nullptr, &store, &error);
    std::printf("%s %u %s\n", version.c_str(), static_cast<unsigned>(status), error ? error : "");
    const bool ok = version == OPCORE_VERSION && status == OPC_INVALID_ARGUMENT && error != nullptr;
    opc_string_free(error);
    return ok ? 0 : 1;
}
CPP
cxx17() {
    cd "$work/c" || return 1
    # shellcheck disable=SC2046
    c++ -std=c++17 -Wall -Wextra -Werror -pedantic -o app app.cpp \
        $(pkg-config --cflags --libs opcore) -Wl,-rpath,"$libdir" || return 1
    ./app
}
step "C++17 program (-Wall -Wextra -Werror -pedantic) builds and runs" cxx17
c99_header() {
    cc -std=c99 -Wall -Wextra -Wpedantic -Werror -fsyntax-only -x c "$prefix/include/opcore.h" &&
        grep -q 'C99 or later' "$prefix/include/opcore.h"
}
step "the header is C99 and says so" c99_header

# ---------------------------------------------------------------------------------------------
# Python

new_venv() { # new_venv DIR
    python3 -m venv "$1"
}
tools=$work/py-tools
step "venv for the build tools (pip, build, auditwheel, cffi from PyPI)" bash -c "
    python3 -m venv '$tools' &&
    '$tools/bin/python' -m pip install --quiet --disable-pip-version-check build auditwheel cffi"
py=$tools/bin/python

cffi_header() {
    cc -E -P -DOPCORE_NO_SYSTEM_INCLUDES "$prefix/include/opcore.h" > "$work/opcore.i" || return 1
    "$py" - "$work/opcore.i" "$lib" <<'PY'
import sys
import cffi
ffi = cffi.FFI()
ffi.cdef(open(sys.argv[1]).read())        # the preprocessed header, as is
lib = ffi.dlopen(sys.argv[2])
print(ffi.string(lib.opc_version()).decode(), ffi.string(lib.opc_status_str(lib.OPC_FORKED)).decode())
assert ffi.string(lib.opc_version()).decode() == "0.1.0"
assert ffi.sizeof("opc_principal") > 0
PY
}
step "cffi's cdef accepts the header after cc -E" cffi_header

wheelhouse=$work/wheelhouse
build_wheel() {
    # pip builds the wheel with setuptools from PyPI (build isolation), from the checkout.
    env OPCORE_LIB="$lib" "$py" -m pip wheel --quiet --disable-pip-version-check --no-deps \
        -w "$wheelhouse" "$root/bindings/python" || return 1
    ls "$wheelhouse"/opcore-"$version"-py3-none-manylinux_*.whl
}
step "pip wheel: a py3-none-manylinux wheel" build_wheel
wheel=$(ls "$wheelhouse"/opcore-*.whl 2>/dev/null | head -n 1)
wheel_contents() {
    [ -n "$wheel" ] || return 1
    "$py" - "$wheel" "$root/LICENSE" <<'PY' || return 1
import sys, zipfile
wheel = zipfile.ZipFile(sys.argv[1])
names = wheel.namelist()
print("\n".join(names))
assert not any(".data/" in n for n in names), "nothing under .data (purelib)"
assert "opcore/_lib/libopcore.so" in names
meta = [n for n in names if n.endswith(".dist-info/WHEEL")][0]
text = wheel.read(meta).decode()
assert "Root-Is-Purelib: false" in text, text
licenses = [n for n in names if n.endswith("LICENSE")]
assert licenses and wheel.read(licenses[0]) == open(sys.argv[2], "rb").read(), licenses
for required in ("opcore/types.py", "opcore/aio.py", "opcore/py.typed"):
    assert required in names, required
open(sys.argv[1] + ".so", "wb").write(wheel.read("opcore/_lib/libopcore.so"))
PY
    stripped "$wheel.so"
}
step "the wheel is platlib, carries the stripped library and LICENSE" wheel_contents
audit() {
    [ -n "$wheel" ] || return 1
    out=$("$tools/bin/auditwheel" show "$wheel" 2>&1) || { printf '%s\n' "$out"; return 1; }
    printf '%s\n' "$out"
    tag=$(basename "$wheel" | sed -E 's/.*-py3-none-([^.]*)[.].*whl/\1/; s/\.whl$//')
    tag=${tag%%.*}
    # auditwheel names the tags the wheel is consistent with; ours must be one of them.
    printf '%s\n' "$out" | tr -d '\n' | grep -q "\"$tag\"" || { echo "auditwheel did not accept $tag"; return 1; }
}
step "auditwheel show accepts the wheel's manylinux tag" audit
[ -n "$wheel" ] && record_size "wheel $(basename "$wheel")" "$wheel"

copy_tests() { # copy_tests DEST: the binding's tests, outside the checkout
    rm -rf "$1" && mkdir -p "$1" && cp -r "$root/bindings/python/tests" "$1/tests"
}
run_python_suite() { # run_python_suite VENV: README example + the tests, cargo off PATH
    local venv=$1 run=$work/py-run-$RANDOM
    copy_tests "$run" || return 1
    cd "$run" || return 1
    env -u OPCORE_LIB PATH="$venv/bin:$NO_RUST_PATH" OPCORE_REPO="$root" OPCORE_EXPECT_INSTALLED=1 \
        "$venv/bin/python" -m pytest -q -p no:cacheprovider tests 2>&1 | tail -n 15
    return "${PIPESTATUS[0]}"
}
wheel_venv=$work/venv-wheel
install_wheel() {
    new_venv "$wheel_venv" || return 1
    env PATH="$wheel_venv/bin:$NO_RUST_PATH" "$wheel_venv/bin/python" -m pip install --quiet \
        --disable-pip-version-check "$wheel" "pytest>=7" || return 1
    cd "$work" && env -u OPCORE_LIB PATH="$NO_RUST_PATH" "$wheel_venv/bin/python" -c \
        'import opcore, opcore._ffi as f; print(opcore.version(), f.library_path()); assert "site-packages" in f.library_path()'
}
step "the wheel installs into a new venv with no Rust toolchain" install_wheel
step "wheel: README example + binding tests against the installed copy" run_python_suite "$wheel_venv"

sdist_dir=$work/sdist
build_sdist() {
    "$py" -m build --sdist --outdir "$sdist_dir" "$root/bindings/python" > "$work/sdist.log" 2>&1 \
        || { tail -n 30 "$work/sdist.log"; return 1; }
    sdist=$(ls "$sdist_dir"/opcore-*.tar.gz) || return 1
    tar tzf "$sdist" > "$work/sdist.list"
    for f in rust/Cargo.toml rust/Cargo.lock rust/build.rs rust/src/lib.rs rust/src/ffi/mod.rs \
        rust/include/opcore.h LICENSE; do
        grep -q "^opcore-$version/$f\$" "$work/sdist.list" || { echo "sdist lacks $f"; return 1; }
    done
    tar xzf "$sdist" -O "opcore-$version/LICENSE" | cmp - "$root/LICENSE"
}
step "sdist carries the Rust source and LICENSE" build_sdist
sdist=$(ls "$sdist_dir"/opcore-*.tar.gz 2>/dev/null | head -n 1)
[ -n "$sdist" ] && record_size "sdist $(basename "$sdist")" "$sdist"
sdist_venv=$work/venv-sdist
install_sdist() {
    [ -n "$sdist" ] || return 1
    new_venv "$sdist_venv" || return 1
    # Built by cargo from the sdist's own source (the shared target dir only saves compiling
    # the dependencies again).
    env -u OPCORE_LIB "$sdist_venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "$sdist" "pytest>=7" || return 1
    cd "$work" && "$sdist_venv/bin/python" -c 'import opcore; print(opcore.version())'
}
step "the sdist builds (cargo) and installs into a new venv" install_sdist
step "sdist: README example + binding tests against the installed copy" run_python_suite "$sdist_venv"

editable() {
    local venv=$work/venv-editable
    new_venv "$venv" || return 1
    env -u OPCORE_LIB "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        -e "$root/bindings/python" || return 1
    cd "$work" && env -u OPCORE_LIB "$venv/bin/python" - "$target_dir" <<'PY'
import os, sys
import opcore, opcore._ffi as f
path = f.library_path()
print(path)
assert path in (os.path.join(sys.argv[1], "release", "libopcore.so"),
                os.path.join(sys.argv[1], "debug", "libopcore.so")), path
with opcore.Store(os.path.join(os.getcwd(), "editable.db")) as store:
    assert store.create_organization("Acme")["organization"]["name"] == "Acme"
PY
}
step "an editable install loads the checkout's build" editable

# ---------------------------------------------------------------------------------------------
# Node.js

pack_dir=$work/npm
pack() {
    mkdir -p "$pack_dir" && cd "$root/bindings/node" || return 1
    env OPCORE_LIB="$lib" npm pack --silent --pack-destination "$pack_dir" > "$work/pack.out" || return 1
    tarball=$pack_dir/$(tail -n 1 "$work/pack.out")
    tar tzf "$tarball" | sort > "$work/npm.list"
    cat "$work/npm.list"
    for f in package/lib/libopcore.so package/LICENSE package/index.js package/ffi.js \
        package/index.d.ts package/package.json; do
        grep -qx "$f" "$work/npm.list" || { echo "tarball lacks $f"; return 1; }
    done
    tar xzf "$tarball" -O package/LICENSE | cmp - "$root/LICENSE" || return 1
    tar xzf "$tarball" -O package/lib/libopcore.so > "$work/npm-lib.so" && stripped "$work/npm-lib.so" || return 1
    # Packing leaves nothing behind in the checkout.
    [ ! -e "$root/bindings/node/lib/libopcore.so" ]
}
step "npm pack: the tarball carries the stripped library and LICENSE" pack
tarball=$(ls "$pack_dir"/opcore-*.tgz 2>/dev/null | head -n 1)
[ -n "$tarball" ] && record_size "npm $(basename "$tarball")" "$tarball"

app=$work/node-app
npm_install() {
    [ -n "$tarball" ] || return 1
    mkdir -p "$app" && cd "$app" || return 1
    npm init -y > /dev/null && npm install --silent --no-audit --no-fund "$tarball" || return 1
    [ ! -e "$app/node_modules/@types/node" ] || { echo "@types/node was installed"; return 1; }
    env -u OPCORE_LIB node -e '
      const ffi = require("opcore/ffi");
      const p = ffi.libraryPath();
      console.log(p);
      if (!p.endsWith("node_modules/opcore/lib/libopcore.so")) process.exit(1);'
}
step "the tarball installs into an empty folder" npm_install
node_examples() {
    cd "$app" || return 1
    node - "$root/README.md" > "$work/examples.list" <<'JS'
const fs = require('node:fs');
const text = fs.readFileSync(process.argv[2], 'utf8');
const start = text.indexOf('### Node.js');
const section = text.slice(start, text.indexOf('\n## ', start));
const blocks = [...section.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
if (blocks.length !== 2) throw new Error(`${blocks.length} examples`);
blocks.forEach((b, i) => fs.writeFileSync(`example-${i}.js`, b));
JS
    for i in 0 1; do
        rm -rf "run-$i" && mkdir "run-$i" && cp "example-$i.js" "run-$i/" && ln -s ../node_modules "run-$i/node_modules"
        out=$(cd "run-$i" && env -u OPCORE_LIB node "example-$i.js") || { echo "example $i failed: $out"; return 1; }
        printf '%s\n' "$out"
        printf '%s\n' "$out" | head -n 1 | grep -Eq '^website sec_[0-9a-f]{32}$' || return 1
        [ "$(printf '%s\n' "$out" | sed -n 2p)" = "write website" ] || return 1
    done
}
step "README's Node examples (sync and Promise) run from the installed package" node_examples
node_suite() {
    cd "$app" || return 1
    local pkg=$app/node_modules/opcore
    cp -r "$root/bindings/node/test" "$pkg/test" && cp "$root/bindings/node/testing.js" "$pkg/" || return 1
    # The suite's own tool dependencies (types.test.js compiles with typescript and @types/node).
    npm install --silent --no-audit --no-fund --no-save typescript@5 @types/node@20 || return 1
    cd "$pkg" || return 1
    env -u OPCORE_LIB OPCORE_REPO="$root" node --test --test-reporter=tap test/*.test.js \
        > "$work/node-suite.log" 2>&1
    local status=$?
    grep -E '^# (pass|fail)' "$work/node-suite.log"
    grep -E '^not ok' "$work/node-suite.log" | head -n 20
    [ "$status" -eq 0 ]
}
step "the binding's tests pass against the installed copy" node_suite
typescript_alone() {
    [ -n "$tarball" ] || return 1
    local dir=$work/ts-app
    mkdir -p "$dir" && cd "$dir" || return 1
    npm init -y > /dev/null && npm install --silent --no-audit --no-fund "$tarball" || return 1
    [ ! -e "$dir/node_modules/@types/node" ] || { echo "@types/node present"; return 1; }
    cat > check.ts <<'TS'
import { Store, ProjectCreate, ClientCreate, Principal, StoreError } from 'opcore';

async function main(): Promise<void> {
  const store: Store = await Store.open('types.db');
  const { client } = await store.createOrganizationAsync('Acme');
  const manage = store.manage(client.id, client.secret);
  const input: ProjectCreate = { name: 'Web', cors: ['https://a.example'], types: ['website'] };
  const project = await manage.projects.createAsync(input);
  const reader: ClientCreate = { name: 'Reader', type: 'read', projectId: project.id };
  const secret: string = manage.clients.create(reader).secret;
  const principal: Principal = await store.authenticateAsync('track', project.client.id);
  try {
    await store.getOrganizationAsync('missing');
  } catch (e) {
    if (e instanceof StoreError) console.log(e.code);
  }
  console.log(secret.length, principal.clientType);
  store.close();
}
void main();
TS
    cat > wrong.ts <<'TS'
import { Store } from 'opcore';
const store = new Store('x.db');
// A typo in a create input must not compile.
store.manage('a', 'b').projects.create({ nmae: 'Web' });
TS
    npx --yes -p typescript@5 tsc --noEmit --strict check.ts || return 1
    if npx --yes -p typescript@5 tsc --noEmit --strict wrong.ts > wrong.log 2>&1; then
        echo "a mistyped create input compiled"; return 1
    fi
    grep -q "nmae" wrong.log
}
step "TypeScript: declarations compile without @types/node and type the inputs" typescript_alone

# ---------------------------------------------------------------------------------------------

echo "sizes:"
sed 's/^/  /' "$sizes"
echo "dist: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
