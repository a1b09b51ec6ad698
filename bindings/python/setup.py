"""Build steps of the opcore Python package (setuptools; no other build tool).

- Wheel (``pip wheel``, ``pip install``): the library is placed at ``opcore/_lib/``, taken from
  ``OPCORE_LIB`` when set; else, in an sdist, built from the Rust source it carries (needs
  cargo); else from the checkout's ``target/release`` (``cargo build --release
  --no-default-features --lib``). The wheel is a platform wheel (platlib), tagged
  ``manylinux_2_X`` from the newest glibc symbol version the library needs, so ``auditwheel``
  accepts it.
- sdist (``python -m build --sdist``): also carries the Rust source under ``rust/`` (the
  crate's manifest without its benches, binaries and dev-dependencies), so that installing it
  where cargo exists builds the library.
- Editable install (``pip install -e``): nothing is copied; at run time the package finds the
  library the checkout's build left in ``target/release`` or ``target/debug``.

docs/distribution.md describes the whole process.
"""

import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel

HERE = Path(__file__).resolve().parent
CHECKOUT = HERE.parent.parent
#: Where an sdist keeps the Rust source.
RUST = HERE / "rust"
#: What of the checkout an sdist carries under rust/ (the manifest is trimmed, see below).
RUST_FILES = ["Cargo.lock", "build.rs", "cbindgen.toml", "LICENSE", "openapi.json"]
RUST_DIRS = ["src", "include"]
#: Manifest sections a library build does not need (their files are not in the sdist).
DROPPED_SECTIONS = ("[[bench]]", "[[bin]]", "[[test]]", "[[example]]", "[dev-dependencies]")


def library_names():
    if sys.platform == "darwin":
        return ["libopcore.dylib"]
    if sys.platform == "win32":
        return ["opcore.dll"]
    return ["libopcore.so"]


def cargo_build(manifest_dir):
    """Builds the library from ``manifest_dir`` with cargo; returns its path."""
    cargo = shutil.which("cargo")
    if cargo is None:
        sys.exit(
            "error: building opcore from source needs cargo (https://rustup.rs); or install a "
            "wheel, or set OPCORE_LIB to a prebuilt libopcore"
        )
    target = Path(os.environ.get("CARGO_TARGET_DIR") or manifest_dir / "target")
    command = [cargo, "build", "--release", "--no-default-features", "--lib",
               "--manifest-path", str(manifest_dir / "Cargo.toml")]
    print("building libopcore: " + " ".join(command), flush=True)
    subprocess.run(command, check=True, env=dict(os.environ, CARGO_TARGET_DIR=str(target)))
    return target / "release" / library_names()[0]


def find_library():
    env = os.environ.get("OPCORE_LIB")
    if env:
        if not os.path.isfile(env):
            sys.exit(f"error: OPCORE_LIB={env!r} is not a file")
        return Path(env)
    if (RUST / "Cargo.toml").is_file():
        return cargo_build(RUST)
    target = Path(os.environ.get("CARGO_TARGET_DIR") or CHECKOUT / "target")
    for name in library_names():
        candidate = target / "release" / name
        if candidate.is_file():
            return candidate
    sys.exit(
        "error: libopcore not found. Build it first from the repository root with\n"
        "    cargo build --release --no-default-features --lib\n"
        "or set OPCORE_LIB to the library's path, then install again."
    )


class BuildWithLibrary(build_py):
    """build_py that also places the library at opcore/_lib/<name> (not for editable
    installs, which load the checkout's build)."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        library = find_library()
        destination = Path(self.build_lib) / "opcore" / "_lib"
        destination.mkdir(parents=True, exist_ok=True)
        shutil.copy2(library, destination / library_names()[0])


def glibc_needed(library):
    """The newest ``GLIBC_x.y`` symbol version the library's dynamic section asks for."""
    data = Path(library).read_bytes()
    versions = {(int(a), int(b)) for a, b in re.findall(rb"GLIBC_(\d+)\.(\d+)\x00", data)}
    return max(versions) if versions else None


def linux_platform_tag(library):
    """``manylinux_2_X_<arch>`` (never older than 2_17, the oldest glibc manylinux tools
    still build for), plus the legacy ``manylinux2014`` alias when X is 17."""
    arch = platform.machine()
    needed = glibc_needed(library) or (2, 17)
    major, minor = max(needed, (2, 17))
    tag = f"manylinux_{major}_{minor}_{arch}"
    if (major, minor) == (2, 17):
        tag += f".manylinux2014_{arch}"
    return tag


class BinaryDistribution(Distribution):
    """A distribution with a native library: installed to platlib (not purelib), so that the
    wheel's root is platlib and ``auditwheel`` can check it."""

    def has_ext_modules(self):
        return True


class PlatformWheel(bdist_wheel):
    """The wheel holds a native library: platlib, tagged for this platform, any Python 3."""

    def finalize_options(self):
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self):
        _, _, plat = super().get_tag()
        if sys.platform.startswith("linux"):
            built = sorted(Path(self.bdist_dir).rglob(library_names()[0]))
            if built:
                plat = linux_platform_tag(built[0])
        return "py3", "none", plat


def trimmed_manifest(text):
    """Cargo.toml without the sections whose files an sdist does not carry."""
    kept, skipping = [], False
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if stripped.startswith("["):
            skipping = stripped in DROPPED_SECTIONS
        if not skipping:
            kept.append(line)
    return "".join(kept)


class SdistWithSource(sdist):
    """An sdist that carries the Rust source under rust/, so it builds where cargo exists."""

    def make_release_tree(self, base_dir, files):
        super().make_release_tree(base_dir, files)
        rust = Path(base_dir) / "rust"
        if RUST.is_dir():  # an sdist made from an sdist
            shutil.copytree(RUST, rust, dirs_exist_ok=True)
            return
        if not (CHECKOUT / "Cargo.toml").is_file():
            sys.exit("error: an sdist is made from an opcore checkout (no Cargo.toml found)")
        rust.mkdir(parents=True, exist_ok=True)
        manifest = (CHECKOUT / "Cargo.toml").read_text()
        (rust / "Cargo.toml").write_text(trimmed_manifest(manifest))
        for name in RUST_FILES:
            shutil.copy2(CHECKOUT / name, rust / name)
        for name in RUST_DIRS:
            shutil.copytree(CHECKOUT / name, rust / name, dirs_exist_ok=True)


setup(distclass=BinaryDistribution,
      cmdclass={"build_py": BuildWithLibrary, "bdist_wheel": PlatformWheel,
                "sdist": SdistWithSource})
