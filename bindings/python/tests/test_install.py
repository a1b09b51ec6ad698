"""Where the library comes from: the copy installed with the package, or OPCORE_LIB."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import opcore
from opcore import _ffi

SOURCE = Path(__file__).resolve().parents[1] / "opcore"


@pytest.mark.skipif(os.environ.get("OPCORE_EXPECT_INSTALLED") != "1",
                    reason="run-tests.sh sets OPCORE_EXPECT_INSTALLED after pip install")
def test_the_installed_package_carries_its_library() -> None:
    package = Path(opcore.__file__).resolve().parent
    assert package != SOURCE, "the tests must run against the installed package"
    bundled = package / "_lib" / _ffi.library_names()[0]
    assert bundled.is_file()
    assert "OPCORE_LIB" not in os.environ
    assert Path(_ffi.library_path()) == bundled


def run_with(env_value: str, code: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OPCORE_LIB=env_value)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=60)


def test_opcore_lib_overrides_the_bundled_copy(tmp_path: Path) -> None:
    real = _ffi.library_path()
    run = run_with(real, "import opcore, opcore._ffi as f; print(f.library_path()); "
                         "print(opcore.version())")
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [real, "0.1.0"]


def test_a_missing_opcore_lib_is_a_clear_error(tmp_path: Path) -> None:
    missing = str(tmp_path / "nowhere.so")
    run = run_with(missing, "import opcore\nopcore.Store('x.db')")
    assert run.returncode != 0
    assert f"OSError: OPCORE_LIB={missing!r} is not a file" in run.stderr


def test_a_file_that_is_not_libopcore_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "libopcore.so"
    fake.write_bytes(b"not a shared object")
    run = run_with(str(fake), "import opcore\nopcore.version()")
    assert run.returncode != 0
    assert "OSError" in run.stderr
