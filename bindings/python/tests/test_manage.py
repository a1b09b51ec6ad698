"""store.manage(): projects, clients and references over the Manage API, and its errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import pytest

import opcore
from opcore import NotFound, RateLimited, Unauthorized, ValidationError

from conftest import FAST


def test_projects_create_list_get_update_delete(manage: opcore.Manage) -> None:
    created = manage.projects.create(name="Web Site", domain="HTTPS://Example.com/",
                                     cors=["https://a.com", "https://a.com/"],
                                     cross_domain=True, types=["website", "app"])
    assert created["id"] == "web-site"
    # Stored as sent, trailing slashes removed; entries are never merged.
    assert created["domain"] == "HTTPS://Example.com"
    assert created["cors"] == ["https://a.com", "https://a.com"]
    assert created["crossDomain"] is True
    assert created["types"] == ["website", "app"]
    assert created["client"]["secret"].startswith("sec_")
    second = manage.projects.create({"name": "App", "crossDomain": False})
    # Newest first; same-millisecond rows by id, descending (docs/behaviour.md#lists).
    listed = manage.projects.list()
    assert {p["id"] for p in listed} == {second["id"], "web-site"}
    order = [(p["createdAt"], p["id"]) for p in listed]
    assert order == sorted(order, reverse=True)

    fetched = manage.projects.get("web-site")
    assert "client" not in fetched
    assert fetched["name"] == "Web Site"

    updated = manage.projects.update("web-site", name="Renamed",
                                     allow_unsafe_revenue_tracking=True)
    assert updated["name"] == "Renamed"
    assert updated["id"] == "web-site"
    assert updated["allowUnsafeRevenueTracking"] is True

    assert manage.projects.delete("web-site") == {"success": True}
    assert manage.projects.get("web-site")["deleteAt"] is not None
    assert [p["id"] for p in manage.projects.list()] == ["app"]
    restored = manage.projects.update("web-site", {"name": "Back"})
    assert restored["deleteAt"] is None
    assert len(manage.projects.list()) == 2


def test_clients_create_list_get_update_delete(store: opcore.Store, manage: opcore.Manage,
                                               org: Dict[str, Any]) -> None:
    project = manage.projects.create(name="Web")
    reader = manage.clients.create(name="Reader", project_id="web", type="read")
    assert reader["type"] == "read"
    assert reader["projectId"] == "web"
    assert reader["secret"].startswith("sec_")

    every = manage.clients.list()
    assert {c["id"] for c in every} == {reader["id"], project["client"]["id"],
                                        org["client"]["id"]}
    # Newest first; rows of the same millisecond by id, descending (docs/behaviour.md#lists).
    order = [(c["createdAt"], c["id"]) for c in every]
    assert order == sorted(order, reverse=True)
    assert all("secret" not in c for c in every)
    in_web = manage.clients.list(project_id="web")
    assert sorted(c["name"] for c in in_web) == ["First client", "Reader"]
    order = [(c["createdAt"], c["id"]) for c in in_web]
    assert order == sorted(order, reverse=True)
    fetched = manage.clients.get(reader["id"])
    assert "secret" not in fetched
    assert fetched["name"] == "Reader"

    renamed = manage.clients.update(reader["id"], name="Dashboard", type="read")
    assert renamed["name"] == "Dashboard"
    assert manage.clients.delete(reader["id"]) == {"success": True}
    with pytest.raises(NotFound) as e:
        manage.clients.get(reader["id"])
    assert e.value.message == "Client not found"
    with pytest.raises(Unauthorized):
        store.authenticate("export", reader["id"], reader["secret"])


def test_references_create_list_get_update_delete(manage: opcore.Manage) -> None:
    manage.projects.create(name="Web")
    manage.projects.create(name="App")
    launch = manage.references.create(project_id="web", title="Launch",
                                      description="v1 is out", datetime="2024-01-15")
    assert launch["date"] == "2024-01-15T00:00:00.000Z"
    assert launch["description"] == "v1 is out"
    other = manage.references.create({"projectId": "app", "title": "Beta"})
    # Newest first by createdAt; same-millisecond rows by id, descending (docs/behaviour.md#lists).
    listed = manage.references.list()
    assert {r["id"] for r in listed} == {other["id"], launch["id"]}
    order = [(r["createdAt"], r["id"]) for r in listed]
    assert order == sorted(order, reverse=True)
    assert [r["title"] for r in manage.references.list(project_id="web")] == ["Launch"]
    assert manage.references.get(launch["id"])["title"] == "Launch"

    updated = manage.references.update(launch["id"], description=None,
                                       datetime="2024-02-01T12:00:00+02:00")
    assert updated["description"] is None
    assert updated["date"] == "2024-02-01T10:00:00.000Z"
    assert manage.references.delete(launch["id"]) == {"success": True}
    with pytest.raises(NotFound) as e:
        manage.references.delete(launch["id"])
    assert e.value.message == "Reference not found"
    with pytest.raises(NotFound) as e:
        manage.references.list(project_id="nope")
    assert e.value.message == "Project not found"


def test_validation_error_carries_every_offending_field(manage: opcore.Manage) -> None:
    with pytest.raises(ValidationError) as e:
        manage.projects.create(name="", cors=["https://ok.com", "no spaces"], types=["tv"])
    error = e.value
    assert error.status == 400
    assert error.code is None
    assert error.message == "Invalid request body"
    assert error.details == [
        {"path": ["name"], "message": "String must contain at least 1 character(s)"},
        {"path": ["cors", 1],
         "message": "Invalid CORS origin: spaces and control characters are not allowed"},
        {"path": ["types", 0],
         "message": "Invalid enum value. Expected 'website' | 'app' | 'backend', received 'tv'"},
    ]
    assert str(error) == (
        "400: Invalid request body (name: String must contain at least 1 character(s); "
        "cors[1]: Invalid CORS origin: spaces and control characters are not allowed; "
        "types[0]: Invalid enum value. Expected 'website' | 'app' | 'backend', received 'tv')")
    assert error.headers["x-ratelimit-limit"] == "20"


def test_deleting_the_last_root_client_is_refused(manage: opcore.Manage,
                                                  org: Dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as e:
        manage.clients.delete(org["client"]["id"])
    assert e.value.status == 400
    assert e.value.details == []
    assert "last root client" in e.value.message
    assert manage.clients.get(org["client"]["id"])["type"] == "root"


def test_not_found_and_ids_that_look_like_paths(manage: opcore.Manage) -> None:
    with pytest.raises(NotFound) as e:
        manage.projects.get("missing")
    assert (e.value.status, e.value.message) == (404, "Project not found")
    with pytest.raises(NotFound) as e:
        manage.projects.get("web/../clients")
    assert e.value.message == "Project not found"
    with pytest.raises(NotFound) as e:
        manage.clients.update("not-a-uuid", name="x")
    assert e.value.message == "Client not found"


def test_wrong_secret_and_non_root_clients_are_unauthorized(store: opcore.Store,
                                                            manage: opcore.Manage,
                                                            org: Dict[str, Any]) -> None:
    with pytest.raises(Unauthorized) as e:
        store.manage(org["client"]["id"], "sec_" + "0" * 32).projects.list()
    assert (e.value.status, e.value.message) == (401, "Invalid client credentials")
    writer = manage.projects.create(name="Web")["client"]
    with pytest.raises(Unauthorized) as e:
        store.manage(writer["id"], writer["secret"]).clients.list()
    assert e.value.message == "Manage: Only root clients are allowed to manage resources"


def test_rate_limited_carries_retry_after(tmp_path: Path) -> None:
    limits = {"manage": {"limit": 2, "window_seconds": 60}}
    with opcore.Store(tmp_path / "r.db", rate_limits=limits, **FAST) as store:
        root = store.create_organization("Acme")["client"]
        manage = store.manage(root["id"], root["secret"])
        manage.projects.list()
        manage.projects.list()
        with pytest.raises(RateLimited) as e:
            manage.projects.list()
    error = e.value
    assert (error.status, error.message) == (429, "Rate limit exceeded")
    # The limiter counts in buckets of 1/20 window: at most one window plus one bucket.
    assert isinstance(error.retry_after, int) and 0 < error.retry_after <= 60 + 3
    assert error.headers["retry-after"] == str(error.retry_after)
    assert error.headers["x-ratelimit-remaining"] == "0"


def test_filtering_projects_by_project_is_a_type_error(manage: opcore.Manage) -> None:
    with pytest.raises(TypeError, match="projects cannot be filtered by project"):
        manage.projects.list(project_id="web")
    with pytest.raises(TypeError, match="id must be a str"):
        manage.projects.get(3)  # type: ignore[arg-type]
