"""opcore.aio: the same calls as coroutines, on worker threads, with the same errors."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Dict, List

import pytest

import opcore
from opcore.aio import AsyncStore

from conftest import FAST

#: Real argon2 cost, so that a verification takes long enough to overlap with other work.
SLOW = {"argon2": {"m_cost": 4096, "t_cost": 3, "p_cost": 1}, "synchronous": "normal"}


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def test_the_async_api_covers_bootstrap_manage_and_authenticate(db_path: Path) -> None:
    async def main() -> List[str]:
        async with await AsyncStore.open(db_path, **FAST) as store:
            org = await store.create_organization("Acme")
            root = org["client"]
            manage = store.manage(root["id"], root["secret"])
            project = await manage.projects.create(name="Website", cors=["https://acme.com"])
            listed = await manage.projects.list()
            principal = await store.authenticate("track", project["client"]["id"],
                                                 origin="https://acme.com")
            response = await store.handle("GET", "/manage/projects",
                                          {"openpanel-client-id": root["id"],
                                           "openpanel-client-secret": root["secret"]})
            admin = store.admin(org["organization"]["id"])
            clients = await admin.clients.list(project["id"])
            return [project["id"], str(len(listed)), principal.client_type,
                    str(response.status), clients[0]["type"]]

    assert run(main()) == ["website", "1", "write", "200", "write"]


def test_a_failing_async_call_raises_the_same_error_with_its_detail(db_path: Path) -> None:
    async def main() -> Dict[str, Any]:
        async with await AsyncStore.open(db_path, **FAST) as store:
            org = await store.create_organization("Acme")
            with pytest.raises(opcore.NotFound) as missing:
                await store.get_organization("no-such-org")
            with pytest.raises(opcore.ValidationError) as invalid:
                await store.admin(org["organization"]["id"]).projects.create(name="")
            with pytest.raises(opcore.Unauthorized) as refused:
                await store.authenticate("manage", org["client"]["id"], "sec_wrong")
            return {"missing": (missing.value.code, missing.value.message),
                    "invalid": invalid.value.code,
                    "refused": (refused.value.status, refused.value.message)}

    seen = run(main())
    sync_detail = None
    with opcore.Store(db_path, **FAST) as store:
        try:
            store.get_organization("no-such-org")
        except opcore.NotFound as e:
            sync_detail = e.message
    assert seen["missing"] == ("OPC_NOT_FOUND", sync_detail)
    assert seen["invalid"] == "OPC_INVALID_INPUT"
    assert seen["refused"] == (401, "Invalid client credentials")


def test_an_async_open_of_a_bad_file_raises(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-store.db"
    bad.write_bytes(b"this is not an SQLite file" * 100)
    with pytest.raises(opcore.StoreError) as caught:
        run(AsyncStore.open(bad))
    assert caught.value.code == "OPC_OPEN_FAILED"


def test_argon2_runs_off_the_event_loop(db_path: Path) -> None:
    """While eight verifications with real argon2 cost are awaited, the loop keeps ticking."""
    with opcore.Store(db_path, **SLOW) as sync:
        # Eight root clients, each verified once with its right secret: nothing is answered
        # from the cache, and every call runs argon2 (a wrong secret would be refused by the
        # check value without any argon2, docs/security.md).
        roots = [sync.create_organization(f"Org {i}")["client"] for i in range(8)]

        async def main() -> Dict[str, Any]:
            store = AsyncStore(sync)
            ticks = 0
            done = asyncio.Event()

            async def ticker() -> None:
                nonlocal ticks
                while not done.is_set():
                    ticks += 1
                    await asyncio.sleep(0)

            tick_task = asyncio.ensure_future(ticker())
            calls = [store.authenticate("manage", r["id"], r["secret"]) for r in roots]
            results = await asyncio.gather(*calls, return_exceptions=True)
            done.set()
            await tick_task
            return {"ticks": ticks, "results": results}

        seen = run(main())
    assert not any(isinstance(r, BaseException) for r in seen["results"]), seen["results"]
    # The loop ran other coroutines while the verifications were in progress.
    assert seen["ticks"] > 8


def test_a_closed_async_store_raises(db_path: Path) -> None:
    async def main() -> None:
        store = await AsyncStore.open(db_path, **FAST)
        await store.close()
        await store.list_organizations()

    with pytest.raises(opcore.StoreError, match="the store is closed"):
        run(main())
