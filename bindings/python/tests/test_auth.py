"""store.authenticate(): the Principal, and each refusal as its exception."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import pytest

import opcore
from opcore import Family, Forbidden, RateLimited, StoreError, Unauthorized

from conftest import FAST


@pytest.fixture
def web(manage: opcore.Manage) -> Dict[str, Any]:
    return manage.projects.create(name="Web", cors=["https://acme.com"])


def test_a_write_client_may_track_its_project(store: opcore.Store, web: Dict[str, Any]) -> None:
    client = web["client"]
    principal = store.authenticate("track", client["id"], client["secret"])
    assert principal == opcore.Principal(
        client_id=client["id"], client_type="write", organization_id="acme",
        client_project_id="web", project_id="web",
        rate_limit=opcore.RateLimit(limit=1000, remaining=999, reset=principal.rate_limit.reset),
        status=200)
    assert principal.headers == {"x-ratelimit-limit": "1000", "x-ratelimit-remaining": "999",
                                 "x-ratelimit-reset": str(principal.rate_limit.reset)}


def test_track_without_secret_from_an_allowed_origin(store: opcore.Store,
                                                     web: Dict[str, Any]) -> None:
    client_id = web["client"]["id"]
    principal = store.authenticate(Family.TRACK, client_id, origin="https://acme.com")
    assert principal.project_id == "web"
    with pytest.raises(Unauthorized) as e:
        store.authenticate(Family.TRACK, client_id, origin="https://evil.com")
    assert e.value.message == "Invalid client credentials"


def test_root_clients_reach_any_project_of_their_organization(
        store: opcore.Store, org: Dict[str, Any], web: Dict[str, Any]) -> None:
    root = org["client"]
    principal = store.authenticate(int(Family.EXPORT), root["id"], root["secret"],
                                   project_id="web")
    assert (principal.client_type, principal.client_project_id, principal.project_id) == (
        "root", None, "web")
    assert store.authenticate("MANAGE", root["id"], root["secret"]).project_id is None


def test_unauthorized_messages(store: opcore.Store, web: Dict[str, Any]) -> None:
    client = web["client"]
    cases = [
        (None, None, "Invalid client credentials"),
        ("not-a-uuid", client["secret"], "Malformed client ID (must be a valid UUIDv4)"),
        (client["id"], "sec_" + "0" * 32, "Invalid client credentials"),
        (client["id"], None, "Invalid client credentials"),
    ]
    for client_id, secret, message in cases:
        with pytest.raises(Unauthorized) as e:
            store.authenticate("track", client_id, secret)
        assert (e.value.status, e.value.message, e.value.headers) == (401, message, {})
    with pytest.raises(Unauthorized) as e:
        store.authenticate("export", client["id"], client["secret"])
    assert e.value.message == "Export: Client is not allowed to export"


def test_forbidden_outside_the_clients_project(store: opcore.Store, manage: opcore.Manage,
                                              web: Dict[str, Any]) -> None:
    manage.projects.create(name="Other")
    reader = manage.clients.create(name="Reader", project_id="web", type="read")
    assert store.authenticate("insights", reader["id"], reader["secret"]).project_id == "web"
    with pytest.raises(Forbidden) as e:
        store.authenticate("insights", reader["id"], reader["secret"], project_id="other")
    assert (e.value.status, e.value.message) == (403, "You do not have access to this project")


def test_rate_limited_with_headers(tmp_path: Path) -> None:
    with opcore.Store(tmp_path / "r.db", rate_limits={"track": {"limit": 1,
                                                                "window_seconds": 30}},
                      **FAST) as store:
        root = store.create_organization("Acme")["client"]
        store.authenticate("track", root["id"], root["secret"])
        with pytest.raises(RateLimited) as e:
            store.authenticate("track", root["id"], root["secret"])
    error = e.value
    assert (error.status, error.message) == (429, "Rate limit exceeded")
    # The limiter counts in buckets of 1/20 window: at most one window plus one bucket.
    assert isinstance(error.retry_after, int) and 0 < error.retry_after <= 30 + 2
    assert error.headers == {"x-ratelimit-limit": "1", "x-ratelimit-remaining": "0",
                             "x-ratelimit-reset": error.headers["x-ratelimit-reset"],
                             "retry-after": str(error.retry_after)}


def test_failed_attempts_are_throttled_per_client_and_source(store: opcore.Store,
                                                             web: Dict[str, Any]) -> None:
    client_id = web["client"]["id"]
    for _ in range(10):
        with pytest.raises(Unauthorized):
            store.authenticate("track", client_id, "sec_" + "0" * 32, source="192.0.2.1")
    with pytest.raises(RateLimited) as e:
        store.authenticate("track", client_id, "sec_" + "0" * 32, source="192.0.2.1")
    assert e.value.retry_after is not None and e.value.retry_after > 0
    assert set(e.value.headers) == {"retry-after"}
    # The throttle never refuses the right secret (docs/security.md).
    store.authenticate("track", client_id, web["client"]["secret"], source="192.0.2.1")


def test_family_must_be_known(store: opcore.Store, org: Dict[str, Any]) -> None:
    root = org["client"]
    with pytest.raises(ValueError, match="unknown family 'ingest'"):
        store.authenticate("ingest", root["id"], root["secret"])
    with pytest.raises(StoreError) as e:
        store.authenticate(7, root["id"], root["secret"])
    assert e.value.code == "OPC_INVALID_ARGUMENT"
    assert "family 7 is not an opc_family" in e.value.message
    with pytest.raises(TypeError):
        store.authenticate(None, root["id"], root["secret"])  # type: ignore[arg-type]
