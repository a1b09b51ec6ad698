#!/bin/sh
# Builds the opcore C library (release profile, without the CLI and server features) and writes
# a pkg-config file for it. Libs.private is what rustc reports the static library needs
# (`--print native-static-libs`), so `pkg-config --static --libs opcore` is always right for
# the toolchain and platform at hand.
#
# Usage: bindings/c/gen-pc.sh [--prefix DIR] [--out FILE] [--features LIST] [--libs-private FLAGS]
#   (no options)     a .pc for this checkout: libdir = target/release, includedir = include,
#                    written to target/release/opcore.pc, plus the libopcore.so.0 link there
#                    that the library's SONAME asks for
#   --prefix DIR     a .pc for an installation under DIR (DIR/lib, DIR/include)
#   --out FILE       where to write the .pc
#   --features LIST  extra cargo features for the library (the C tests use test-panic)
#   --libs-private FLAGS  use these native-static-libs (as scripts/install.sh recorded them at
#                    build time) instead of building: no cargo is run
# Then: PKG_CONFIG_PATH=<directory of the .pc> pkg-config --cflags --libs opcore
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
target_dir=${CARGO_TARGET_DIR:-$root/target}
case $target_dir in /*) ;; *) target_dir=$root/$target_dir ;; esac
prefix=
out=
features=
native=
while [ $# -gt 0 ]; do
    case $1 in
        --prefix) prefix=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --features) features=$2; shift 2 ;;
        --libs-private) native=$2; shift 2 ;;
        *) echo "gen-pc.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

if [ -n "$prefix" ]; then
    libdir=$prefix/lib
    includedir=$prefix/include
else
    prefix=$root
    libdir=$target_dir/release
    includedir=$root/include
fi
out=${out:-$target_dir/release/opcore.pc}

if [ -z "$native" ]; then
    set -- --release --lib --no-default-features --manifest-path "$root/Cargo.toml"
    if [ -n "$features" ]; then set -- "$@" --features "$features"; fi

    # cargo replays a fresh crate's cached compiler messages, so the note is printed on every run.
    log=$(cargo rustc "$@" -- --print native-static-libs 2>&1) || {
        printf '%s\n' "$log" >&2
        exit 1
    }
    native=$(printf '%s\n' "$log" | sed -n 's/.*note: native-static-libs: //p' | tail -n 1)
    if [ -z "$native" ]; then
        printf '%s\n' "$log" >&2
        echo "gen-pc.sh: rustc printed no native-static-libs note" >&2
        exit 1
    fi
fi
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n 1)

# A checkout's build: programs linked against it record the SONAME (libopcore.so.0), so the
# directory needs that name too (an installation gets it from scripts/install.sh).
if [ "$libdir" = "$target_dir/release" ] && [ -f "$libdir/libopcore.so" ]; then
    ln -sf libopcore.so "$libdir/libopcore.so.0"
fi

mkdir -p "$(dirname "$out")"
cat > "$out" <<PC
prefix=$prefix
libdir=$libdir
includedir=$includedir

Name: opcore
Description: Embedded storage-and-auth core (C API)
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} -lopcore
Libs.private: $native
PC
echo "$out"
