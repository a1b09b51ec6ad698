#!/usr/bin/env python3
"""Bar 9: the Python binding's per-call overhead of Store.handle() over the bare C call.

Both loops send the same cached-auth GET /manage/projects to the same store: one through
``Store.handle`` (argument conversion, response parsing into a Response), one through
``opc_handle`` called with ctypes directly (read status, free). Reports medians of 7 runs.

Run: OPCORE_LIB=target/release/libopcore.so target/python-venv/bin/python scripts/bench-python.py
"""
import ctypes
import statistics
import tempfile
import time
from ctypes import byref, c_char_p, c_void_p

import opcore
from opcore import _ffi

N = 20_000
OPTIONS = {
    "argon2": {"m_cost": 8, "t_cost": 1, "p_cost": 1},
    "synchronous": "normal",
    "rate_limits": {"manage": {"limit": 4_000_000_000, "window_seconds": 1}},
}


def timed(fn) -> float:
    runs = []
    for _ in range(7):
        start = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - start) / N)
    return statistics.median(runs)


def main() -> None:
    with tempfile.TemporaryDirectory() as d, opcore.Store(f"{d}/bench.db", **OPTIONS) as store:
        root = store.create_organization("Bench")["client"]
        headers = {"openpanel-client-id": root["id"], "openpanel-client-secret": root["secret"]}
        assert store.handle("GET", "/manage/projects", headers).status == 200

        def through_binding() -> None:
            for _ in range(N):
                store.handle("GET", "/manage/projects", headers)

        lib = _ffi.lib()
        names = (c_char_p * 2)(b"openpanel-client-id", b"openpanel-client-secret")
        values = (c_char_p * 2)(root["id"].encode(), root["secret"].encode())
        with store._use() as handle:  # the same store handle the binding uses

            def bare_c() -> None:
                out = c_void_p()
                for _ in range(N):
                    lib.opc_handle(handle, b"GET", b"/manage/projects", names, values, 2, b"", 0,
                                   byref(out))
                    lib.opc_response_status(out)
                    lib.opc_response_free(out)

            c_call = timed(bare_c)
        binding = timed(through_binding)
    print(f"bar9/bare_c_call_us: {c_call * 1e6:.2f}")
    print(f"bar9/store_handle_us: {binding * 1e6:.2f}")
    print(f"bar9/overhead_us: {(binding - c_call) * 1e6:.2f} ({binding / c_call:.2f}x)")


if __name__ == "__main__":
    main()
