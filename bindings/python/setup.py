"""Copies the prebuilt libopcore into the package at build time (no compiler is run).

The library is taken from ``OPCORE_LIB`` when set, else from the repository's
``target/release`` (built with ``cargo build --release --no-default-features --lib``).
"""

import os
import shutil
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel

HERE = Path(__file__).resolve().parent


def library_names():
    if sys.platform == "darwin":
        return ["libopcore.dylib"]
    if sys.platform == "win32":
        return ["opcore.dll"]
    return ["libopcore.so"]


def find_library():
    env = os.environ.get("OPCORE_LIB")
    if env:
        if not os.path.isfile(env):
            sys.exit(f"error: OPCORE_LIB={env!r} is not a file")
        return Path(env)
    target = Path(os.environ.get("CARGO_TARGET_DIR", HERE.parent.parent / "target"))
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
    """build_py that also places the library at opcore/_lib/<name>."""

    def run(self):
        super().run()
        library = find_library()
        destination = Path(self.build_lib) / "opcore" / "_lib"
        destination.mkdir(parents=True, exist_ok=True)
        shutil.copy2(library, destination / library_names()[0])


class PlatformWheel(bdist_wheel):
    """The wheel holds a native library: tagged for this platform, any Python 3."""

    def finalize_options(self):
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self):
        _, _, platform = super().get_tag()
        return "py3", "none", platform


setup(cmdclass={"build_py": BuildWithLibrary, "bdist_wheel": PlatformWheel})
