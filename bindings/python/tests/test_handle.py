"""store.handle(): raw HTTP-shaped requests and the Response object."""

from __future__ import annotations

import json
import uuid
from typing import Any, Dict

import pytest

import opcore
from opcore import NotFound, OpcoreError, RateLimited, ValidationError


def credentials(org: Dict[str, Any]) -> Dict[str, str]:
    return {"openpanel-client-id": org["client"]["id"],
            "openpanel-client-secret": org["client"]["secret"]}


def test_get_returns_status_headers_and_json(store: opcore.Store, org: Dict[str, Any]) -> None:
    response = store.handle("GET", "/manage/clients", credentials(org))
    assert response.status == 200
    assert response.ok
    assert list(response.headers) == ["content-type", "x-ratelimit-limit",
                                      "x-ratelimit-remaining", "x-ratelimit-reset"]
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-ratelimit-remaining"] == "19"
    # The call itself is the root client's first use (docs/lifecycle.md#last-use).
    assert org["client"]["lastUsedAt"] is None
    listed = [dict(c) for c in response.json["data"]]
    assert isinstance(listed[0].pop("lastUsedAt"), str)
    assert listed == [{k: v for k, v in org["client"].items()
                       if k not in ("secret", "lastUsedAt")}]
    assert json.loads(response.body) == response.json
    assert response.raise_for_status() is response
    assert response.internal_error is None


def test_bodies_as_dict_str_and_bytes_and_headers_as_pairs(store: opcore.Store,
                                                            org: Dict[str, Any]) -> None:
    pairs = [("OpenPanel-Client-Id", org["client"]["id"]),
             ("OPENPANEL-CLIENT-SECRET", org["client"]["secret"])]
    made = [
        store.handle("POST", "/manage/projects", pairs, {"name": "From dict"}),
        store.handle("POST", "/api/manage/projects", pairs, '{"name": "From str"}'),
        store.handle("POST", "/manage/projects/", pairs, b'{"name": "From bytes"}'),
    ]
    assert [r.status for r in made] == [200, 200, 200]
    assert [r.json["data"]["id"] for r in made] == ["from-dict", "from-str", "from-bytes"]
    listed = store.handle("GET", "/manage/projects", pairs).json["data"]
    assert {p["id"] for p in listed} == {"from-dict", "from-str", "from-bytes"}


def test_query_strings_reach_the_api(store: opcore.Store, org: Dict[str, Any]) -> None:
    headers = credentials(org)
    store.handle("POST", "/manage/projects", headers, {"name": "Web"})
    store.handle("POST", "/manage/clients", headers, {"name": "Org-wide"})
    filtered = store.handle("GET", "/manage/clients?projectId=web", headers)
    assert [c["name"] for c in filtered.json["data"]] == ["First client"]


def test_error_responses_are_returned_and_raise_on_request(store: opcore.Store,
                                                           org: Dict[str, Any]) -> None:
    headers = credentials(org)
    bad = store.handle("POST", "/manage/projects", headers, b"[1, 2]")
    assert bad.status == 400
    assert not bad.ok
    assert bad.json["error"] == "Bad Request"
    with pytest.raises(ValidationError):
        bad.raise_for_status()

    not_json = store.handle("POST", "/manage/projects", headers, b"\xff\xfe")
    assert not_json.status == 400

    missing = store.handle("GET", "/manage/nothing", headers)
    assert missing.json == {"error": "Not Found", "message": "Route not found"}
    with pytest.raises(NotFound) as e:
        missing.raise_for_status()
    assert e.value.message == "Route not found"


def test_other_statuses_raise_the_base_class(store: opcore.Store, org: Dict[str, Any]) -> None:
    headers = credentials(org)
    put = store.handle("PUT", "/manage/projects", headers)
    assert put.status == 405
    assert put.headers["allow"] == "GET, HEAD, POST"
    with pytest.raises(OpcoreError) as e:
        put.raise_for_status()
    assert type(e.value) is OpcoreError
    assert (e.value.status, e.value.message) == (405, "Method PUT is not allowed on this route")

    huge = store.handle("POST", "/manage/projects", headers, b" " * (1024 * 1024 + 1))
    assert huge.status == 413
    with pytest.raises(OpcoreError) as e:
        huge.raise_for_status()
    assert type(e.value) is OpcoreError
    assert e.value.message == "Request body exceeds 1048576 bytes"


def test_openapi_document_is_served_without_credentials(store: opcore.Store) -> None:
    response = store.handle("GET", "/manage/openapi.json")
    assert response.status == 200
    assert response.json["openapi"].startswith("3.1")


def test_source_feeds_the_failed_attempt_throttle(store: opcore.Store,
                                                  org: Dict[str, Any]) -> None:
    def attempt(source: str) -> opcore.Response:
        return store.handle("GET", "/manage/projects",
                            {"openpanel-client-id": str(uuid.uuid4()),
                             "openpanel-client-secret": "sec_" + "1" * 32},
                            source=source)

    statuses = [attempt("203.0.113.7").status for _ in range(100)]
    assert statuses == [401] * 100
    throttled = attempt("203.0.113.7")
    assert throttled.status == 429
    assert int(throttled.headers["retry-after"]) > 0
    with pytest.raises(RateLimited) as e:
        throttled.raise_for_status()
    assert e.value.retry_after == int(throttled.headers["retry-after"])
    assert attempt("198.51.100.1").status == 401
    assert store.handle("GET", "/manage/projects", credentials(org)).status == 200


def test_arguments_c_cannot_carry_are_refused(store: opcore.Store) -> None:
    with pytest.raises(ValueError, match="header value contains a NUL character"):
        store.handle("GET", "/manage/projects", {"openpanel-client-id": "a\0b"})
    with pytest.raises(TypeError, match="method must be a str"):
        store.handle(b"GET", "/manage/projects")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="body must be bytes, str, dict or list"):
        store.handle("POST", "/manage/projects", None, 42)  # type: ignore[arg-type]
