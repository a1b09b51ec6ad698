"""OAuth 2.0: store.authorize(), the token endpoint through store.handle(), and
store.verify_token()."""

from __future__ import annotations

from typing import Any, Dict, Tuple
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

import opcore
from opcore import NotFound, Unauthorized, ValidationError

VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
REDIRECT = "https://app.example.com/cb"
FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
def app(store: opcore.Store, org: Dict[str, Any]) -> Dict[str, Any]:
    """A third-party app: a root client with a registered redirect URI."""
    return store.admin(org["organization"]["id"]).clients.create(
        name="App", type="root", redirect_uris=[REDIRECT])


def code_grant(store: opcore.Store, app: Dict[str, Any], scope: str) -> Tuple[str, str]:
    url = store.authorize(app["id"], REDIRECT, CHALLENGE, "user-42", scope=scope,
                          state="st 1")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == REDIRECT
    query = dict(parse_qsl(parts.query))
    assert query["state"] == "st 1"
    assert query["code"].startswith("opac_") and len(query["code"]) == 77
    response = store.handle("POST", "/oauth/token", FORM, urlencode({
        "grant_type": "authorization_code", "code": query["code"], "redirect_uri": REDIRECT,
        "code_verifier": VERIFIER, "client_id": app["id"], "client_secret": app["secret"],
    }))
    assert response.status == 200, response.body
    assert response.headers["cache-control"] == "no-store"
    return response.json["access_token"], response.json["refresh_token"]


def test_a_code_becomes_a_token_that_verifies(store: opcore.Store, org: Dict[str, Any],
                                              app: Dict[str, Any]) -> None:
    assert app["redirectUris"] == [REDIRECT]
    access, refresh = code_grant(store, app, "manage track")
    assert access.startswith("opat_") and refresh.startswith("oprt_")
    info = store.verify_token(access)
    assert info == opcore.TokenInfo(
        client_id=app["id"], client_type="root", organization_id=org["organization"]["id"],
        client_project_id=None, scope="track manage", subject="user-42",
        issued_at=info.issued_at, expires_at=info.issued_at + 3600)
    # The same token on the Manage API.
    response = store.handle("GET", "/manage/projects", {"authorization": f"Bearer {access}"})
    assert (response.status, response.json) == (200, {"data": []})


def test_inactive_tokens_raise_unauthorized_with_the_seed_error(
        store: opcore.Store, org: Dict[str, Any], app: Dict[str, Any]) -> None:
    revoked, _ = code_grant(store, app, "track")
    store.handle("POST", "/oauth/revoke", FORM, urlencode(
        {"token": revoked, "client_id": app["id"], "client_secret": app["secret"]}))
    cases = [
        (None, "missing_api_key", "No API key provided in the Authorization header."),
        ("", "missing_api_key", "No API key provided in the Authorization header."),
        ("opat_nope", "invalid_api_key", "The API key provided is invalid."),
        (revoked, "invalid_api_key", "The API key provided is invalid."),
        (org["client"]["secret"], "invalid_api_key", "The API key provided is invalid."),
    ]
    for token, error, message in cases:
        with pytest.raises(Unauthorized) as e:
            store.verify_token(token)
        assert (e.value.status, e.value.error, e.value.message) == (401, error, message)
        assert org["client"]["secret"][4:] not in str(e.value)


def test_authorize_refusals(store: opcore.Store, org: Dict[str, Any],
                            app: Dict[str, Any]) -> None:
    # The app's own mistake comes back to it by redirect.
    url = store.authorize(app["id"], REDIRECT, CHALLENGE, "user-42", state="xyz",
                          code_challenge_method="plain")
    assert url == (f"{REDIRECT}?error=invalid_request&error_description="
                   "code_challenge_method+must+be+S256&state=xyz")
    # A redirect URI that is not registered, or an unknown client: no URL at all.
    with pytest.raises(ValidationError) as e:
        store.authorize(app["id"], REDIRECT + "/", CHALLENGE, "user-42")
    assert e.value.message == "redirect_uri is not registered for this client"
    with pytest.raises(ValidationError):
        store.authorize(org["client"]["id"], REDIRECT, CHALLENGE, "user-42")
    with pytest.raises(NotFound):
        store.authorize("00000000-0000-4000-8000-000000000000", REDIRECT, CHALLENGE, "u")
    with pytest.raises(ValidationError) as e:
        store.authorize(app["id"], REDIRECT, CHALLENGE, "")
    assert e.value.message == "subject must be 1 to 255 characters"
    with pytest.raises(ValueError):
        store.authorize(app["id"], REDIRECT, CHALLENGE, "a\0b")
