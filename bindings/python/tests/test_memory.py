"""100,000 calls leave the process's memory flat: every response, string and buffer the
library hands over is freed by the bindings."""

from __future__ import annotations

import gc
import os
import sys
import time
from pathlib import Path

import pytest

import opcore

from conftest import FAST

CALLS = 100_000
WARM_UP = 5_000
MAX_GROWTH = 8 * 1024 * 1024


def rss_bytes() -> int:
    """Resident set size from /proc/self/statm (second field, in pages)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_100k_handle_calls_leave_memory_flat(tmp_path: Path) -> None:
    limits = {"manage": {"limit": 4_000_000_000, "window_seconds": 1}}
    with opcore.Store(tmp_path / "memory.db", rate_limits=limits, **FAST) as store:
        root = store.create_organization("Acme")["client"]
        headers = {"openpanel-client-id": root["id"], "openpanel-client-secret": root["secret"]}
        store.handle("POST", "/manage/projects", headers, {"name": "Web"}).raise_for_status()

        def call() -> None:
            response = store.handle("GET", "/manage/projects/web", headers)
            assert response.status == 200

        for _ in range(WARM_UP):
            call()
        gc.collect()
        before = rss_bytes()
        started = time.monotonic()
        for _ in range(CALLS):
            call()
        elapsed = time.monotonic() - started
        gc.collect()
        after = rss_bytes()
        assert store.handle("GET", "/manage/projects/web", headers).json["data"]["id"] == "web"
    growth = after - before
    print(f"\n{CALLS} handle() calls in {elapsed:.1f} s: RSS {before / 2**20:.1f} MiB -> "
          f"{after / 2**20:.1f} MiB (growth {growth / 2**10:.0f} KiB)")
    assert growth < MAX_GROWTH, f"RSS grew by {growth} bytes over {CALLS} calls"
