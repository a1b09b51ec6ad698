"""A store used in a child process after fork() fails clearly instead of sharing the parent's
connections; the parent's handle keeps working, and the child can open its own."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Dict

import pytest

import opcore
from opcore import _ffi

from conftest import FAST

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def in_child(body: Any) -> Dict[str, str]:
    """Runs ``body()`` in a forked child; returns what it wrote (``key=value`` lines)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 0
        try:
            os.close(read_end)
            lines = body()
            os.write(write_end, "\n".join(f"{k}={v}" for k, v in lines.items()).encode())
        except BaseException as e:  # report anything to the parent
            os.write(write_end, f"unexpected={type(e).__name__}: {e}".encode())
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        output = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, output
    return dict(line.split("=", 1) for line in output.splitlines() if line)


def test_a_store_used_after_fork_raises_opc_forked(store: opcore.Store,
                                                   org: Dict[str, Any]) -> None:
    def child() -> Dict[str, str]:
        try:
            store.get_organization(org["organization"]["id"])
        except opcore.StoreError as e:
            return {"type": type(e).__name__, "code": str(e.code), "message": e.message}
        return {"type": "no error"}

    seen = in_child(child)
    assert seen == {
        "type": "StoreError",
        "code": "OPC_FORKED",
        "message": "this Store was opened by the parent process and cannot be used after "
                   "fork(); open a new Store in this process",
    }
    # The parent's store is untouched.
    assert store.get_organization(org["organization"]["id"])["name"] == "Acme"


def test_the_library_itself_refuses_a_handle_from_the_parent(store: opcore.Store) -> None:
    """Below the Python check: the C call on the inherited handle returns OPC_FORKED."""
    handle = store._handle

    def child() -> Dict[str, str]:
        lib = _ffi.lib()
        out = _ffi.ctypes.c_void_p()
        status = lib.opc_organization_list(handle, _ffi.ctypes.byref(out))
        return {"status": _ffi.status_name(status), "detail": _ffi.last_error()}

    seen = in_child(child)
    assert seen["status"] == "OPC_FORKED"
    assert seen["detail"] == ("this store handle was opened by the parent process and cannot "
                              "be used after fork(); open a new handle in this process")


def test_the_child_can_close_the_inherited_store_and_open_its_own(
        store: opcore.Store, org: Dict[str, Any], db_path: Path) -> None:
    def child() -> Dict[str, str]:
        store.close()  # releases nothing the parent uses
        with opcore.Store(db_path, **FAST) as own:
            names = [o["name"] for o in own.list_organizations()]
        return {"closed": str(store.closed), "names": ",".join(names)}

    assert in_child(child) == {"closed": "True", "names": "Acme"}
    assert [o["name"] for o in store.list_organizations()] == ["Acme"]
    store.create_organization("Still works")
