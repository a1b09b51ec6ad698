"""authlib, unmodified, against `opcore serve`: discovery from the RFC 8414 document, client
credentials (client_secret_post and client_secret_basic), authorization code with PKCE S256,
refresh, revocation and introspection, with the sync (requests) and async (httpx) clients,
and two refreshes of one refresh token at the same moment."""

import asyncio
import secrets
import threading

import requests
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

from conftest import REDIRECT_URI

REPLAYED = "The refresh token was already used; every token of its grant is revoked"


def manage_get(server, token):
    return requests.get(
        server.base + "/manage/projects",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def code_flow_session(server, metadata, client, scope="manage"):
    """A sync session that went through the authorization-code flow; returns it, its token."""
    session = OAuth2Session(
        client.id,
        client.secret,
        scope=scope,
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        token_endpoint=metadata["token_endpoint"],
    )
    verifier = secrets.token_urlsafe(48)
    url, state = session.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier
    )
    redirect = server.consent(url)
    assert f"state={state}" in redirect
    token = session.fetch_token(
        metadata["token_endpoint"],
        authorization_response=redirect,
        code_verifier=verifier,
    )
    return session, token


# Discovery ------------------------------------------------------------------------------


def test_the_metadata_document_describes_this_server(server, metadata):
    # RFC 8414 §3.3: the issuer must be the URL the document was fetched for.
    assert metadata["issuer"] == server.base
    assert metadata["token_endpoint"] == server.base + "/oauth/token"
    assert metadata["revocation_endpoint"] == server.base + "/oauth/revoke"
    assert metadata["introspection_endpoint"] == server.base + "/oauth/introspect"
    assert metadata["authorization_endpoint"] == "https://app.example.com/consent"
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["response_types_supported"] == ["code"]
    assert set(metadata["grant_types_supported"]) == {
        "authorization_code",
        "client_credentials",
        "refresh_token",
    }
    for key in (
        "token_endpoint_auth_methods_supported",
        "revocation_endpoint_auth_methods_supported",
        "introspection_endpoint_auth_methods_supported",
    ):
        assert metadata[key] == ["client_secret_basic", "client_secret_post"]
    assert metadata["scopes_supported"] == ["track", "export", "insights", "manage"]


def test_authlib_validates_the_metadata_document(server, metadata):
    doc = AuthorizationServerMetadata(metadata)
    # Every RFC 8414 rule authlib knows (required fields, URL forms, the S256-only PKCE list…).
    doc.validate()
    assert doc.issuer == server.base
    assert doc.response_types_supported == ["code"]


def test_the_host_header_does_not_change_the_issuer(server):
    r = requests.get(server.metadata_url, headers={"Host": "evil.example"}, timeout=10)
    assert r.status_code == 200
    assert r.json()["issuer"] == server.base


# Client credentials ---------------------------------------------------------------------


def test_client_credentials_with_client_secret_post_and_basic(server, metadata):
    for method in ("client_secret_post", "client_secret_basic"):
        session = OAuth2Session(
            server.app.id,
            server.app.secret,
            scope="manage",
            token_endpoint_auth_method=method,
        )
        token = session.fetch_token(
            metadata["token_endpoint"], grant_type="client_credentials"
        )
        assert token["token_type"] == "Bearer"
        assert token["scope"] == "manage"
        assert token["access_token"].startswith("opat_")
        assert "refresh_token" not in token
        # authlib sends it as a Bearer header.
        r = session.get(server.base + "/manage/projects", timeout=10)
        assert r.status_code == 200, (method, r.text)


def test_a_wrong_secret_is_invalid_client(server, metadata):
    for method in ("client_secret_post", "client_secret_basic"):
        session = OAuth2Session(
            server.app.id, "sec_" + "f" * 32, token_endpoint_auth_method=method
        )
        try:
            session.fetch_token(metadata["token_endpoint"], grant_type="client_credentials")
            raise AssertionError("a wrong secret got a token")
        except Exception as e:  # authlib raises OAuthError
            assert getattr(e, "error", None) == "invalid_client", e


# Authorization code + PKCE, refresh, revoke, introspect ---------------------------------


def test_authorization_code_with_pkce_then_refresh(server, metadata):
    session, token = code_flow_session(server, metadata, server.app)
    assert token["access_token"].startswith("opat_")
    assert token["refresh_token"].startswith("oprt_")
    assert token["scope"] == "manage"
    assert session.get(server.base + "/manage/projects", timeout=10).status_code == 200

    first = dict(token)
    refreshed = session.refresh_token(metadata["token_endpoint"])
    assert refreshed["refresh_token"] != first["refresh_token"]
    assert refreshed["access_token"] != first["access_token"]
    assert manage_get(server, refreshed["access_token"]).status_code == 200
    # The first access token is still valid until it expires.
    assert manage_get(server, first["access_token"]).status_code == 200


def test_authlib_refreshes_an_expired_token_by_itself(server, metadata):
    session, token = code_flow_session(server, metadata, server.app)
    updated = []
    session.update_token = lambda t, **kw: updated.append(t)
    session.token["expires_at"] = 1  # long past
    r = session.get(server.base + "/manage/projects", timeout=10)
    assert r.status_code == 200, r.text
    assert len(updated) == 1
    assert updated[0]["refresh_token"] != token["refresh_token"]


def test_a_wrong_code_verifier_is_invalid_grant(server, metadata):
    session = OAuth2Session(
        server.app.id,
        server.app.secret,
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
    )
    url, _ = session.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=secrets.token_urlsafe(48)
    )
    redirect = server.consent(url)
    try:
        session.fetch_token(
            metadata["token_endpoint"],
            authorization_response=redirect,
            code_verifier=secrets.token_urlsafe(48),
        )
        raise AssertionError("a wrong verifier got a token")
    except Exception as e:
        assert getattr(e, "error", None) == "invalid_grant", e


def test_introspection(server, metadata):
    session, token = code_flow_session(server, metadata, server.app)
    for method in ("client_secret_post", "client_secret_basic"):
        session.token_endpoint_auth_method = method
        for kind in ("access_token", "refresh_token"):
            r = session.introspect_token(
                metadata["introspection_endpoint"], token=token[kind], token_type_hint=kind
            )
            assert r.status_code == 200, r.text
            info = r.json()
            assert info["active"] is True
            assert info["client_id"] == server.app.id
            assert info["scope"] == "manage"
            assert info["sub"] == "user-42"
            assert info["exp"] > info["iat"]
    r = session.introspect_token(metadata["introspection_endpoint"], token="opat_unknown")
    assert r.json() == {"active": False}


def test_revocation(server, metadata):
    session, token = code_flow_session(server, metadata, server.app)
    r = session.revoke_token(
        metadata["revocation_endpoint"], token=token["access_token"], token_type_hint="access_token"
    )
    assert r.status_code == 200, r.text
    r = manage_get(server, token["access_token"])
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_api_key"
    assert r.headers["www-authenticate"] == 'Bearer realm="opcore", error="invalid_token"'
    # Revoking the refresh token ends the grant.
    r = session.revoke_token(metadata["revocation_endpoint"], token=token["refresh_token"])
    assert r.status_code == 200
    try:
        session.refresh_token(metadata["token_endpoint"])
        raise AssertionError("a revoked refresh token was accepted")
    except Exception as e:
        assert getattr(e, "error", None) == "invalid_grant", e


def test_revoking_another_clients_token_is_refused(server, metadata):
    _, token = code_flow_session(server, metadata, server.app)
    other = OAuth2Session(server.other.id, server.other.secret)
    for kind in ("access_token", "refresh_token"):
        r = other.revoke_token(metadata["revocation_endpoint"], token=token[kind])
        assert r.status_code == 400, r.text
        assert r.json()["error"] == "unauthorized_client"
    assert manage_get(server, token["access_token"]).status_code == 200


def test_a_401_without_credentials_carries_a_bearer_challenge(server):
    r = requests.get(server.base + "/manage/projects", timeout=10)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Bearer realm="opcore"'


# Concurrent refresh ---------------------------------------------------------------------


def test_two_sync_clients_refreshing_at_once_both_succeed(server, metadata):
    for _ in range(5):
        _, token = code_flow_session(server, metadata, server.app)
        results, errors = [None, None], []
        barrier = threading.Barrier(2)

        def tab(i):
            s = OAuth2Session(server.app.id, server.app.secret, token=dict(token))
            barrier.wait()
            try:
                results[i] = s.refresh_token(metadata["token_endpoint"])
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=tab, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert results[0]["refresh_token"] != results[1]["refresh_token"]
        # The grant is alive: the old access token, both new ones, and both refresh tokens.
        for t in (token, *results):
            assert manage_get(server, t["access_token"]).status_code == 200
        for t in results:
            s = OAuth2Session(server.app.id, server.app.secret, token=dict(t))
            assert s.refresh_token(metadata["token_endpoint"])["access_token"]


def test_two_async_clients_refreshing_at_once_both_succeed(server, metadata):
    async def flow():
        async with AsyncOAuth2Client(
            server.app.id,
            server.app.secret,
            scope="manage",
            redirect_uri=REDIRECT_URI,
            code_challenge_method="S256",
        ) as client:
            verifier = secrets.token_urlsafe(48)
            url, _ = client.create_authorization_url(
                metadata["authorization_endpoint"], code_verifier=verifier
            )
            redirect = server.consent(url)
            token = await client.fetch_token(
                metadata["token_endpoint"],
                authorization_response=redirect,
                code_verifier=verifier,
            )
            r = await client.get(server.base + "/manage/projects")
            assert r.status_code == 200

        async def tab():
            async with AsyncOAuth2Client(
                server.app.id, server.app.secret, token=dict(token)
            ) as c:
                return await c.refresh_token(metadata["token_endpoint"])

        first, second = await asyncio.gather(tab(), tab())
        assert first["refresh_token"] != second["refresh_token"]
        for t in (token, first, second):
            assert manage_get(server, t["access_token"]).status_code == 200

        # Introspection and revocation with the async client.
        async with AsyncOAuth2Client(
            server.app.id, server.app.secret, token_endpoint_auth_method="client_secret_basic"
        ) as c:
            r = await c.introspect_token(
                metadata["introspection_endpoint"], token=first["refresh_token"]
            )
            assert r.json()["active"] is True
            # The original refresh token was used twice already: a third time is a replay,
            # which revokes the whole grant.
            try:
                await AsyncOAuth2Client(
                    server.app.id, server.app.secret, token=dict(token)
                ).refresh_token(metadata["token_endpoint"])
                raise AssertionError("a third use was accepted")
            except Exception as e:
                assert getattr(e, "error", None) == "invalid_grant", e
                assert getattr(e, "description", None) == REPLAYED, e
            for t in (first, second):
                assert manage_get(server, t["access_token"]).status_code == 401

    asyncio.run(flow())


def test_async_client_credentials(server, metadata):
    async def flow():
        for method in ("client_secret_post", "client_secret_basic"):
            async with AsyncOAuth2Client(
                server.app.id,
                server.app.secret,
                scope="manage",
                token_endpoint_auth_method=method,
            ) as c:
                token = await c.fetch_token(
                    metadata["token_endpoint"], grant_type="client_credentials"
                )
                assert token["scope"] == "manage"
                r = await c.get(server.base + "/manage/projects")
                assert r.status_code == 200, r.text
                r = await c.revoke_token(
                    metadata["revocation_endpoint"], token=token["access_token"]
                )
                assert r.status_code == 200
                r = await c.get(server.base + "/manage/projects")
                assert r.status_code == 401

    asyncio.run(flow())
