"""Secret rotation, expiry and last use (docs/lifecycle.md) through ``manage().clients`` and
``admin().clients``. The end of a grace at its instant needs an injected clock and is shown by
the Rust suites; here: both secrets during a grace, a second rotation ending it at once, the
errors, and the expiry message only for the right secret."""

from __future__ import annotations

import asyncio
from typing import Any, Dict

import pytest

import opcore
from opcore import NotFound, Unauthorized, ValidationError

WRONG = "sec_0123456789abcdef0123456789abcdef"


def _works(store: opcore.Store, client_id: str, secret: str) -> bool:
    try:
        store.authenticate("export", client_id, secret)
        return True
    except Unauthorized as e:
        assert str(e) == "Invalid client credentials" or "Invalid client credentials" in str(e)
        return False


@pytest.mark.parametrize("api", ["manage", "admin"])
def test_rotation_with_grace_then_without(store: opcore.Store, org: Dict[str, Any],
                                          api: str) -> None:
    clients: Any = (store.manage(org["client"]["id"], org["client"]["secret"]).clients
                    if api == "manage" else store.admin(org["organization"]["id"]).clients)
    created = clients.create(name="Exporter", type="read")
    assert created["expiresAt"] is None and created["lastUsedAt"] is None
    first = created["secret"]

    rotated = clients.rotate(created["id"], grace_seconds=3600)
    second = rotated["secret"]
    assert second != first and second.startswith("sec_")
    assert rotated["id"] == created["id"]
    assert rotated["previousSecretExpiresAt"] is not None
    assert _works(store, created["id"], first)
    assert _works(store, created["id"], second)

    third = clients.rotate(created["id"])
    assert third["previousSecretExpiresAt"] is None
    assert not _works(store, created["id"], first)
    assert not _works(store, created["id"], second)
    assert _works(store, created["id"], third["secret"])

    read = clients.get(created["id"])
    assert "secret" not in read
    assert read["lastUsedAt"] is not None

    with pytest.raises(ValidationError) as bad:
        clients.rotate(created["id"], grace_seconds=2_592_001)
    assert "graceSeconds" in str(bad.value)
    with pytest.raises(NotFound):
        clients.rotate("0b7e0c1e-5a9b-4d43-9c55-8f0e4a1f2b3c")
    with pytest.raises(TypeError):
        clients.rotate(created["id"], grace_seconds="60")
    assert _works(store, created["id"], third["secret"])


def test_expiry_message_only_for_the_right_secret(store: opcore.Store, manage: opcore.Manage) -> None:
    c = manage.clients.create(name="Temp", type="read", expires_at="2999-01-01")
    assert c["expiresAt"] == "2999-01-01T00:00:00.000Z"
    with pytest.raises(ValidationError) as past:
        manage.clients.create(name="Old", expires_at="2000-01-01")
    assert "expiresAt" in str(past.value)
    expired = manage.clients.update(c["id"], expires_at="2000-01-01")
    assert expired["expiresAt"] == "2000-01-01T00:00:00.000Z"
    with pytest.raises(Unauthorized) as right:
        store.authenticate("export", c["id"], c["secret"])
    assert "Client credentials expired" in str(right.value)
    with pytest.raises(Unauthorized) as wrong:
        store.authenticate("export", c["id"], WRONG)
    assert "Invalid client credentials" in str(wrong.value)
    assert manage.clients.update(c["id"], expires_at=None)["expiresAt"] is None
    store.authenticate("export", c["id"], c["secret"])


def test_async_rotate(store: opcore.Store, org: Dict[str, Any]) -> None:
    async def main() -> None:
        async_store = opcore.aio.AsyncStore(store)
        manage = async_store.manage(org["client"]["id"], org["client"]["secret"])
        c = await manage.clients.create(name="A", type="read")
        r = await manage.clients.rotate(c["id"], 60)
        assert r["secret"] != c["secret"]
        admin = async_store.admin(org["organization"]["id"])
        r2 = await admin.clients.rotate(c["id"])
        assert r2["previousSecretExpiresAt"] is None
        with pytest.raises(AttributeError):
            await manage.projects.rotate("x")
    asyncio.run(main())
