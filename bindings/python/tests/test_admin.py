"""store.admin(): one organization's resources through the direct C functions."""

from __future__ import annotations

from typing import Any, Dict

import pytest

import opcore
from opcore import NotFound, StoreError, Unauthorized, ValidationError


@pytest.fixture
def admin(store: opcore.Store, org: Dict[str, Any]) -> opcore.Admin:
    return store.admin(org["organization"]["id"])


def test_projects_through_the_direct_api(admin: opcore.Admin, manage: opcore.Manage) -> None:
    created = admin.projects.create(name="Web", cors=["https://a.com/"], cross_domain=True)
    assert created["id"] == "web"
    assert created["cors"] == ["https://a.com"]
    assert created["crossDomain"] is True
    assert created["client"]["secret"].startswith("sec_")
    assert manage.projects.get("web") == admin.projects.get("web")
    assert [p["id"] for p in admin.projects.list()] == ["web"]
    assert admin.projects.update("web", {"name": "Renamed"})["name"] == "Renamed"
    assert admin.projects.delete("web") == {"success": True}
    assert admin.projects.get("web")["deleteAt"] is not None
    assert admin.projects.list() == []
    with pytest.raises(TypeError, match="projects cannot be filtered by project"):
        admin.projects.list(project_id="web")


def test_a_client_that_ignores_cors_and_secret(store: opcore.Store, admin: opcore.Admin,
                                               manage: opcore.Manage) -> None:
    admin.projects.create(name="Web")
    server = admin.clients.create(name="Server", project_id="web", ignore_cors_and_secret=True)
    assert server["ignoreCorsAndSecret"] is True
    assert server["secret"].startswith("sec_")
    assert store.authenticate("track", server["id"]).project_id == "web"
    # Newest first; same-millisecond rows by id, descending (docs/behaviour.md#lists).
    listed = admin.clients.list(project_id="web")
    assert sorted(c["name"] for c in listed) == ["First client", "Server"]
    order = [(c["createdAt"], c["id"]) for c in listed]
    assert order == sorted(order, reverse=True)
    assert manage.clients.get(server["id"])["ignoreCorsAndSecret"] is True
    assert admin.clients.update(server["id"], ignore_cors_and_secret=False)[
        "ignoreCorsAndSecret"] is False
    with pytest.raises(Unauthorized):
        store.authenticate("track", server["id"])
    assert admin.clients.delete(server["id"]) == {"success": True}
    with pytest.raises(NotFound) as e:
        admin.clients.get(server["id"])
    assert (e.value.code, e.value.status, e.value.message) == (
        "OPC_NOT_FOUND", 404, "Client not found")


def test_references_through_the_direct_api(admin: opcore.Admin) -> None:
    admin.projects.create(name="Web")
    launch = admin.references.create(project_id="web", title="Launch", datetime="2024-01-15")
    assert launch["date"] == "2024-01-15T00:00:00.000Z"
    assert admin.references.get(launch["id"])["title"] == "Launch"
    assert [r["id"] for r in admin.references.list()] == [launch["id"]]
    assert admin.references.list(project_id="web")[0]["id"] == launch["id"]
    assert admin.references.update(launch["id"], description="v1")["description"] == "v1"
    assert admin.references.delete(launch["id"]) == {"success": True}
    with pytest.raises(NotFound):
        admin.references.delete(launch["id"])


def test_direct_errors_carry_the_c_status(store: opcore.Store, admin: opcore.Admin,
                                          org: Dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as e:
        admin.projects.create(name="", types=["tv"])
    assert e.value.code == "OPC_INVALID_INPUT"
    assert e.value.details == []
    assert "name: String must contain at least 1 character(s)" in e.value.message
    assert "types[0]: Invalid enum value" in e.value.message
    with pytest.raises(ValidationError) as e:
        admin.clients.delete(org["client"]["id"])
    assert e.value.code == "OPC_CONFLICT"
    assert "last root client" in e.value.message
    with pytest.raises(NotFound) as e:
        store.admin("no-such-org").projects.create(name="Web")
    assert e.value.code == "OPC_NOT_FOUND"
    store.close()
    with pytest.raises(StoreError, match="the store is closed"):
        admin.projects.list()
