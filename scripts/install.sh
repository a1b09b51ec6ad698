#!/bin/sh
# Builds the opcore C library and installs it under a prefix: the header, the shared library
# with its SONAME links, the static archive (exporting only opc_* symbols) and opcore.pc.
#
# Usage: scripts/install.sh [--prefix DIR] [--destdir DIR] [--no-build] [--stage-only]
#   --prefix DIR   installation prefix (default /usr/local): DIR/include/opcore.h,
#                  DIR/lib/libopcore.so.X.Y.Z (+ libopcore.so.X, libopcore.so links),
#                  DIR/lib/libopcore.a, DIR/lib/pkgconfig/opcore.pc
#   --destdir DIR  stage under DIR (packagers: files go to DIR/PREFIX, the .pc names PREFIX)
#   --no-build     install what an earlier run staged in <target>/release/dist (no cargo)
#   --stage-only   build and stage, install nothing
# Needs the build's own tools (cargo, a C toolchain's ld/objcopy/ar) and nothing else; the
# steps are described in docs/distribution.md.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
target_dir=${CARGO_TARGET_DIR:-$root/target}
case $target_dir in /*) ;; *) target_dir=$root/$target_dir ;; esac
prefix=/usr/local
destdir=
build=1
install=1
while [ $# -gt 0 ]; do
    case $1 in
        --prefix) prefix=$2; shift 2 ;;
        --prefix=*) prefix=${1#--prefix=}; shift ;;
        --destdir) destdir=$2; shift 2 ;;
        --no-build) build=0; shift ;;
        --stage-only) install=0; shift ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
case $prefix in /*) ;; *) prefix=$(pwd)/$prefix ;; esac

release=$target_dir/release
stage=$release/dist
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n 1)
major=${version%%.*}

if [ "$build" = 1 ]; then
    # One build; rustc's note on the native libraries the archive needs becomes Libs.private
    # (cargo replays it from cache on a fresh crate).
    log=$(cargo rustc --release --lib --no-default-features --manifest-path "$root/Cargo.toml" \
        -- --print native-static-libs 2>&1) || { printf '%s\n' "$log" >&2; exit 1; }
    native=$(printf '%s\n' "$log" | sed -n 's/.*note: native-static-libs: //p' | tail -n 1)
    [ -n "$native" ] || { printf '%s\n' "$log" >&2; echo "install.sh: no native-static-libs note" >&2; exit 1; }

    rm -rf "$stage"
    mkdir -p "$stage"
    cp "$release/libopcore.so" "$stage/libopcore.so"
    printf '%s\n' "$native" > "$stage/native-static-libs"

    # The static archive: one relocatable object with every internal symbol (Rust's standard
    # library, the bundled SQLite, the crates) made local, so only opc_* is visible to the
    # host's linker and nothing clashes with or captures the host's own SQLite.
    work=$stage/work
    mkdir -p "$work"
    ld -r -o "$work/merged.o" --whole-archive "$release/libopcore.a"
    # Without rustc's embedded LLVM bitcode: the host links machine code only, and binutils
    # with an LLVM plugin installed (bfd-plugins/LLVMgold) would otherwise try to parse it.
    objcopy --remove-section=.llvmbc --remove-section=.llvmcmd --remove-section=.llvm_addrsig \
        "$work/merged.o" "$work/opcore.o"
    nm --defined-only --extern-only --format=posix "$work/opcore.o" \
        | awk '$1 ~ /^opc_/ {print $1}' | sort -u > "$work/keep"
    [ -s "$work/keep" ] || { echo "install.sh: no opc_ symbols in libopcore.a" >&2; exit 1; }
    objcopy --strip-debug --keep-global-symbols="$work/keep" "$work/opcore.o" "$work/opcore-local.o"
    rm -f "$stage/libopcore.a"
    ar rcs "$stage/libopcore.a" "$work/opcore-local.o"
    rm -rf "$work"
fi

[ -f "$stage/libopcore.so" ] && [ -f "$stage/libopcore.a" ] && [ -f "$stage/native-static-libs" ] || {
    echo "install.sh: nothing staged in $stage; run without --no-build first" >&2
    exit 1
}
[ "$install" = 1 ] || { echo "$stage"; exit 0; }

dest=$destdir$prefix
mkdir -p "$dest/include" "$dest/lib/pkgconfig"
install -m 0644 "$root/include/opcore.h" "$dest/include/opcore.h"
install -m 0755 "$stage/libopcore.so" "$dest/lib/libopcore.so.$version"
ln -sf "libopcore.so.$version" "$dest/lib/libopcore.so.$major"
ln -sf "libopcore.so.$major" "$dest/lib/libopcore.so"
install -m 0644 "$stage/libopcore.a" "$dest/lib/libopcore.a"
"$root/bindings/c/gen-pc.sh" --prefix "$prefix" --libs-private "$(cat "$stage/native-static-libs")" \
    --out "$dest/lib/pkgconfig/opcore.pc" >/dev/null
echo "installed opcore $version under $dest"
