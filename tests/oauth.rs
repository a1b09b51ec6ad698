//! Bearer tokens and OAuth 2.0 (SPEC §8): the token, revocation and introspection endpoints
//! and Bearer-authenticated Manage requests through `manage::handle`, and `Store::authorize`.

#[path = "common/mod.rs"]
mod common;
use common::support;

use base64ct::{Base64, Encoding};
use opcore::manage::{self, Request, Response};
use opcore::{
    AuthError, AuthorizeError, AuthorizeRequest, BearerRequest, ClientChanges, ClientType, Family,
    NewClient, Store, Tier,
};
use serde_json::{json, Value};
use support::StoreEnv;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const REDIRECT: &str = "https://app.example.com/callback";
const LOOPBACK: &str = "http://127.0.0.1:8765/cb";

#[derive(Clone)]
struct Creds {
    id: String,
    secret: String,
}

struct World {
    env: StoreEnv,
    org: String,
    root: Creds,
    /// A root client registered as a third-party app (redirect URIs).
    app: Creds,
    /// A write client with redirect URIs (scope `track` only).
    writer: Creds,
}

fn world() -> World {
    world_with(|_| {})
}

fn world_with(tweak: impl FnOnce(&mut opcore::Options)) -> World {
    let env = StoreEnv::with(tweak);
    let boot = env.org("Acme");
    let org = boot.organization.id.clone();
    let client = |name: &str, ty: ClientType, tier: Option<Tier>| {
        let c = env
            .store
            .create_client(
                &org,
                &NewClient {
                    name: name.into(),
                    client_type: ty,
                    redirect_uris: vec![REDIRECT.into(), LOOPBACK.into()],
                    tier,
                    ..NewClient::default()
                },
            )
            .unwrap();
        Creds {
            id: c.client.id.clone(),
            secret: c.secret.expose().to_owned(),
        }
    };
    let app = client("Partner app", ClientType::Root, None);
    let writer = client("Writer app", ClientType::Write, None);
    World {
        root: Creds {
            id: boot.client.client.id.clone(),
            secret: boot.client.secret.expose().to_owned(),
        },
        app,
        writer,
        org,
        env,
    }
}

impl World {
    fn store(&self) -> &Store {
        &self.env.store
    }

    fn client(&self, name: &str, ty: ClientType, tier: Option<Tier>) -> Creds {
        let c = self
            .store()
            .create_client(
                &self.org,
                &NewClient {
                    name: name.into(),
                    client_type: ty,
                    tier,
                    ..NewClient::default()
                },
            )
            .unwrap();
        Creds {
            id: c.client.id.clone(),
            secret: c.secret.expose().to_owned(),
        }
    }

    /// `POST /oauth/{endpoint}` with the client's credentials in the form.
    fn post(&self, endpoint: &str, creds: &Creds, params: &[(&str, &str)]) -> Response {
        let mut all = vec![
            ("client_id", creds.id.as_str()),
            ("client_secret", creds.secret.as_str()),
        ];
        all.extend_from_slice(params);
        post_form(self.store(), &format!("/oauth/{endpoint}"), &[], &all)
    }

    fn client_credentials(&self, creds: &Creds, scope: Option<&str>) -> String {
        let mut params = vec![("grant_type", "client_credentials")];
        if let Some(s) = scope {
            params.push(("scope", s));
        }
        let r = self.post("token", creds, &params);
        assert_eq!(r.status, 200, "{}", body(&r));
        str_field(&r, "access_token")
    }

    fn authorize(&self, creds: &Creds, scope: Option<&str>) -> String {
        let url = self
            .store()
            .authorize(&AuthorizeRequest {
                client_id: &creds.id,
                redirect_uri: REDIRECT,
                scope,
                code_challenge: CHALLENGE,
                code_challenge_method: "S256",
                state: Some("st 1&x"),
                subject: "user-42",
            })
            .unwrap();
        let (base, query) = url.split_once('?').unwrap();
        assert_eq!(base, REDIRECT);
        let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(params.len(), 2, "{url}");
        assert_eq!(params[1], ("state".into(), "st 1&x".into()));
        assert_eq!(params[0].0, "code");
        params[0].1.clone()
    }

    fn exchange(&self, creds: &Creds, code: &str, verifier: &str) -> Response {
        self.post(
            "token",
            creds,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", verifier),
            ],
        )
    }

    fn refresh(&self, creds: &Creds, refresh_token: &str) -> Response {
        self.post(
            "token",
            creds,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
        )
    }

    /// An authorization-code grant: (access token, refresh token).
    fn code_grant(&self, creds: &Creds) -> (String, String) {
        let code = self.authorize(creds, None);
        let r = self.exchange(creds, &code, VERIFIER);
        assert_eq!(r.status, 200, "{}", body(&r));
        (
            str_field(&r, "access_token"),
            str_field(&r, "refresh_token"),
        )
    }

    fn introspect(&self, caller: &Creds, token: &str) -> Value {
        let r = self.post("introspect", caller, &[("token", token)]);
        assert_eq!(r.status, 200, "{}", body(&r));
        assert_eq!(r.header("cache-control"), Some("no-store"));
        r.json()
    }

    fn bytes_on_disk(&self) -> Vec<u8> {
        let mut bytes = std::fs::read(self.env.path()).unwrap();
        if let Ok(wal) = std::fs::read(self.env.dir.path().join("opcore.db-wal")) {
            bytes.extend(wal);
        }
        bytes
    }
}

type Pairs<'a> = Vec<(&'a str, &'a str)>;

fn form(params: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
}

fn post_form(
    store: &Store,
    target: &str,
    extra_headers: &[(&str, &str)],
    params: &[(&str, &str)],
) -> Response {
    let body = form(params);
    let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
    headers.extend_from_slice(extra_headers);
    manage::handle(
        store,
        &Request {
            method: "POST",
            target,
            headers: &headers,
            body: body.as_bytes(),
            source: None,
        },
    )
}

/// `GET /manage/projects` with `Authorization: Bearer {token}`.
fn manage_with(store: &Store, authorization: &str) -> Response {
    manage::handle(
        store,
        &Request {
            method: "GET",
            target: "/manage/projects",
            headers: &[("Authorization", authorization)],
            body: b"",
            source: None,
        },
    )
}

fn bearer(store: &Store, token: &str) -> Response {
    manage_with(store, &format!("Bearer {token}"))
}

/// Asserts that a `GET /manage/projects` response matches openapi.json (bodies, headers).
fn assert_documented(r: &Response) {
    let problems = common::openapi::OpenApi::global().problems("GET", "/manage/projects", r);
    assert!(
        problems.is_empty(),
        "{} {}: {problems:#?}",
        r.status,
        body(r)
    );
}

fn body(r: &Response) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

fn str_field(r: &Response, name: &str) -> String {
    r.json()[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {}", body(r)))
        .to_owned()
}

fn oauth_error(r: &Response) -> (u16, String, String) {
    let v = r.json();
    (
        r.status,
        v["error"].as_str().unwrap_or_default().to_owned(),
        v["error_description"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

const INVALID_API_KEY: &str =
    r#"{"error":"invalid_api_key","message":"The API key provided is invalid."}"#;
const TOKEN_EXPIRED: &str =
    r#"{"error":"token_expired","message":"The access token has expired."}"#;
const MISSING_API_KEY: &str =
    r#"{"error":"missing_api_key","message":"No API key provided in the Authorization header."}"#;
const REPLAYED_CODE: &str =
    "The authorization code was already used; the tokens issued from it are revoked";
const REPLAYED_REFRESH: &str =
    "The refresh token was already used; every token of its grant is revoked";

#[test]
fn client_credentials_issue_a_bearer_token_per_rfc6749() {
    let w = world();
    let r = w.post("token", &w.root, &[("grant_type", "client_credentials")]);
    assert_eq!(r.status, 200, "{}", body(&r));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("pragma"), Some("no-cache"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v = r.json();
    let token = v["access_token"].as_str().unwrap();
    assert!(token.starts_with("opat_") && token.len() == 77, "{token}");
    assert_eq!(
        v,
        json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": "track export insights manage",
        })
    );
    // The same request with HTTP Basic client authentication.
    let basic = format!(
        "Basic {}",
        Base64::encode_string(format!("{}:{}", w.root.id, w.root.secret).as_bytes())
    );
    let r = post_form(
        w.store(),
        "/api/oauth/token",
        &[("Authorization", &basic)],
        &[("grant_type", "client_credentials"), ("scope", "manage")],
    );
    assert_eq!(r.status, 200, "{}", body(&r));
    assert_eq!(r.json()["scope"], "manage");
    let token = str_field(&r, "access_token");
    let r = bearer(w.store(), &token);
    assert_eq!(r.status, 200, "{}", body(&r));
    assert_eq!(r.json()["data"], json!([]));
}

#[test]
fn token_endpoint_errors_follow_rfc6749_section_5_2() {
    let w = world();
    let id = w.root.id.as_str();
    let secret = w.root.secret.as_str();
    let basic = |i: &str, s: &str| {
        format!(
            "Basic {}",
            Base64::encode_string(format!("{i}:{s}").as_bytes())
        )
    };
    let good_basic = basic(id, secret);
    let wrong_basic = basic(id, "sec_00000000000000000000000000000000");
    // (case, headers, form, status, error, error_description)
    let cases: Vec<(&str, Pairs, Pairs, u16, &str, &str)> = vec![
        (
            "no grant_type",
            vec![],
            vec![("client_id", id), ("client_secret", secret)],
            400,
            "invalid_request",
            "grant_type is required",
        ),
        (
            "unknown grant",
            vec![],
            vec![("grant_type", "password"), ("client_id", id)],
            400,
            "unsupported_grant_type",
            "The grant type is not supported",
        ),
        (
            "wrong secret",
            vec![],
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", id),
                ("client_secret", "sec_0123"),
            ],
            401,
            "invalid_client",
            "Client authentication failed",
        ),
        (
            "no secret",
            vec![],
            vec![("grant_type", "client_credentials"), ("client_id", id)],
            401,
            "invalid_client",
            "Client authentication failed",
        ),
        (
            "wrong Basic secret",
            vec![("Authorization", wrong_basic.as_str())],
            vec![("grant_type", "client_credentials")],
            401,
            "invalid_client",
            "Client authentication failed",
        ),
        (
            "malformed Basic",
            vec![("Authorization", "Basic %%%")],
            vec![("grant_type", "client_credentials")],
            401,
            "invalid_client",
            "Client authentication failed",
        ),
        (
            "two authentication methods",
            vec![("Authorization", good_basic.as_str())],
            vec![
                ("grant_type", "client_credentials"),
                ("client_secret", secret),
            ],
            400,
            "invalid_request",
            "Use one client authentication method: HTTP Basic or client_secret, not both",
        ),
        (
            "repeated parameter",
            vec![],
            vec![
                ("grant_type", "client_credentials"),
                ("grant_type", "client_credentials"),
                ("client_id", id),
                ("client_secret", secret),
            ],
            400,
            "invalid_request",
            "Parameter grant_type is repeated",
        ),
        (
            "scope beyond the client type",
            vec![],
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", &w.writer.id),
                ("client_secret", &w.writer.secret),
                ("scope", "track manage"),
            ],
            400,
            "invalid_scope",
            "The scope may include only: track",
        ),
        (
            "unknown scope",
            vec![],
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", id),
                ("client_secret", secret),
                ("scope", "read write"),
            ],
            400,
            "invalid_scope",
            "Unknown scope 'read'",
        ),
        (
            "authorization_code without a code",
            vec![],
            vec![
                ("grant_type", "authorization_code"),
                ("client_id", id),
                ("client_secret", secret),
            ],
            400,
            "invalid_request",
            "code is required",
        ),
        (
            "a client without redirect URIs",
            vec![],
            vec![
                ("grant_type", "authorization_code"),
                ("client_id", id),
                ("client_secret", secret),
                ("code", "opac_x"),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ],
            400,
            "unauthorized_client",
            "The client has no registered redirect URIs, so it may not use the \
             authorization_code grant",
        ),
        (
            "refresh_token without the token",
            vec![],
            vec![
                ("grant_type", "refresh_token"),
                ("client_id", id),
                ("client_secret", secret),
            ],
            400,
            "invalid_request",
            "refresh_token is required",
        ),
        (
            "a refresh token that is not one",
            vec![],
            vec![
                ("grant_type", "refresh_token"),
                ("client_id", id),
                ("client_secret", secret),
                ("refresh_token", "oprt_nope"),
            ],
            400,
            "invalid_grant",
            "The refresh token is invalid",
        ),
    ];
    for (name, headers, params, status, error, description) in cases {
        let r = post_form(w.store(), "/oauth/token", &headers, &params);
        assert_eq!(
            oauth_error(&r),
            (status, error.to_owned(), description.to_owned()),
            "{name}"
        );
        assert_eq!(r.header("cache-control"), Some("no-store"), "{name}");
        if status == 401 {
            assert_eq!(
                r.header("www-authenticate"),
                Some("Basic realm=\"opcore\""),
                "{name}"
            );
        }
    }
    // Not a form, or not a POST.
    let r = manage::handle(
        w.store(),
        &Request {
            method: "POST",
            target: "/oauth/token",
            headers: &[("Content-Type", "application/json")],
            body: br#"{"grant_type":"client_credentials"}"#,
            source: None,
        },
    );
    assert_eq!(
        oauth_error(&r),
        (
            400,
            "invalid_request".into(),
            "Content-Type must be application/x-www-form-urlencoded".into()
        )
    );
    let r = manage::handle(w.store(), &Request::new("GET", "/oauth/token"));
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("POST"));
    let r = manage::handle(w.store(), &Request::new("POST", "/oauth/authorize"));
    assert_eq!(r.status, 404);
}

#[test]
fn a_replayed_code_is_rejected_and_revokes_the_tokens_issued_from_it() {
    let w = world();
    let code = w.authorize(&w.app, None);
    assert!(code.starts_with("opac_") && code.len() == 77, "{code}");
    let first = w.exchange(&w.app, &code, VERIFIER);
    assert_eq!(first.status, 200, "{}", body(&first));
    let v = first.json();
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 3600);
    assert_eq!(v["scope"], "track export insights manage");
    let access = str_field(&first, "access_token");
    let refresh = str_field(&first, "refresh_token");
    assert!(refresh.starts_with("oprt_"));
    assert_eq!(bearer(w.store(), &access).status, 200);
    // A second grant from another code must survive the replay of the first code.
    let (other_access, _) = w.code_grant(&w.app);

    let replay = w.exchange(&w.app, &code, VERIFIER);
    assert_eq!(
        oauth_error(&replay),
        (400, "invalid_grant".into(), REPLAYED_CODE.into())
    );
    assert!(replay.json().get("access_token").is_none());
    let r = bearer(w.store(), &access);
    assert_eq!((r.status, body(&r).as_str()), (401, INVALID_API_KEY));
    assert_eq!(
        oauth_error(&w.refresh(&w.app, &refresh)),
        (
            400,
            "invalid_grant".into(),
            "The refresh token was revoked".into()
        )
    );
    assert_eq!(w.introspect(&w.app, &access), json!({"active": false}));
    assert_eq!(bearer(w.store(), &other_access).status, 200);
    // A third presentation is refused the same way.
    assert_eq!(
        oauth_error(&w.exchange(&w.app, &code, VERIFIER)).1,
        "invalid_grant"
    );
}

#[test]
fn a_code_is_bound_to_its_client() {
    let w = world();
    let code = w.authorize(&w.app, Some("track"));
    // Another client (here the write app, also with redirect URIs) cannot redeem or burn it.
    assert_eq!(
        oauth_error(&w.exchange(&w.writer, &code, VERIFIER)),
        (
            400,
            "invalid_grant".into(),
            "The authorization code is invalid".into()
        )
    );
    let r = w.exchange(&w.app, &code, VERIFIER);
    assert_eq!(r.status, 200, "{}", body(&r));
    assert_eq!(r.json()["scope"], "track");
}

#[test]
fn a_code_older_than_ten_minutes_is_rejected() {
    let w = world();
    // (seconds after issuance, accepted?)
    for (age, accepted) in [
        (0, true),
        (599, true),
        (600, false),
        (601, false),
        (3600, false),
    ] {
        let code = w.authorize(&w.app, None);
        w.env.clock.advance_secs(age);
        let r = w.exchange(&w.app, &code, VERIFIER);
        if accepted {
            assert_eq!(r.status, 200, "age {age}: {}", body(&r));
        } else {
            assert_eq!(
                oauth_error(&r),
                (
                    400,
                    "invalid_grant".into(),
                    "The authorization code has expired".into()
                ),
                "age {age}"
            );
        }
    }
    // A shorter lifetime from the options.
    let w = world_with(|o| o.authorization_code_ttl_seconds = 30);
    let code = w.authorize(&w.app, None);
    w.env.clock.advance_secs(30);
    assert_eq!(
        oauth_error(&w.exchange(&w.app, &code, VERIFIER)).2,
        "The authorization code has expired"
    );
}

#[test]
fn a_wrong_code_verifier_gives_invalid_grant() {
    let w = world();
    let cases = [
        // Well-formed but not the one the challenge was made from.
        (
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK",
            "invalid_grant",
            "code_verifier does not match the code_challenge",
        ),
        (
            &"a".repeat(128),
            "invalid_grant",
            "code_verifier does not match the code_challenge",
        ),
        // The challenge itself is not the verifier.
        (
            CHALLENGE,
            "invalid_grant",
            "code_verifier does not match the code_challenge",
        ),
        // Malformed verifiers are refused before the code is looked at.
        (
            "short",
            "invalid_request",
            "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~",
        ),
        (
            &format!("{VERIFIER}!"),
            "invalid_request",
            "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~",
        ),
    ];
    for (verifier, error, description) in cases {
        let code = w.authorize(&w.app, None);
        let r = w.exchange(&w.app, &code, verifier);
        assert_eq!(
            oauth_error(&r),
            (400, error.into(), description.into()),
            "{verifier}"
        );
        assert!(r.json().get("access_token").is_none());
    }
    let code = w.authorize(&w.app, None);
    let r = w.post(
        "token",
        &w.app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ],
    );
    assert_eq!(
        oauth_error(&r),
        (
            400,
            "invalid_request".into(),
            "code_verifier is required".into()
        )
    );
    // A wrong verifier uses the code up: the right one is refused afterwards.
    let code = w.authorize(&w.app, None);
    let wrong = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK";
    assert_eq!(
        oauth_error(&w.exchange(&w.app, &code, wrong)).1,
        "invalid_grant"
    );
    assert_eq!(
        oauth_error(&w.exchange(&w.app, &code, VERIFIER)),
        (400, "invalid_grant".into(), REPLAYED_CODE.into())
    );
}

#[test]
fn a_redirect_uri_mismatch_is_rejected_without_redirecting() {
    let w = world();
    let attempt = |redirect_uri: &str, method: &str| {
        w.store().authorize(&AuthorizeRequest {
            client_id: &w.app.id,
            redirect_uri,
            scope: None,
            code_challenge: CHALLENGE,
            code_challenge_method: method,
            state: Some("st"),
            subject: "user-42",
        })
    };
    for uri in [
        "https://app.example.com/callback/",
        "https://APP.example.com/callback",
        "https://app.example.com/Callback",
        "https://app.example.com/callback?next=/admin",
        "https://app.example.com:443/callback",
        "https://app.example.com.attacker.net/callback",
        "https://attacker.net/callback",
        "http://app.example.com/callback",
        "http://127.0.0.1:8766/cb",
        "",
    ] {
        let e = attempt(uri, "S256").unwrap_err();
        assert!(
            matches!(e, AuthorizeError::RedirectUriMismatch),
            "{uri}: {e:?}"
        );
        assert_eq!(
            e.to_string(),
            "redirect_uri is not registered for this client"
        );
    }
    // Invalid method with a mismatched URI: still no redirect.
    assert!(matches!(
        attempt("https://attacker.net/cb", "plain"),
        Err(AuthorizeError::RedirectUriMismatch)
    ));
    // No code was stored by any refused call.
    let conn = rusqlite::Connection::open(w.env.path()).unwrap();
    let codes: i64 = conn
        .query_row("SELECT count(*) FROM oauth_codes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(codes, 0);
    // An unknown client is never redirected either.
    let e = w
        .store()
        .authorize(&AuthorizeRequest {
            client_id: "00000000-0000-4000-8000-000000000000",
            redirect_uri: REDIRECT,
            scope: None,
            code_challenge: CHALLENGE,
            code_challenge_method: "S256",
            state: None,
            subject: "user-42",
        })
        .unwrap_err();
    assert!(matches!(e, AuthorizeError::UnknownClient), "{e:?}");
    // With the URI registered and exact, the client learns of its own mistakes by redirect.
    match attempt(LOOPBACK, "plain") {
        Err(AuthorizeError::Refused {
            error,
            redirect_url,
            ..
        }) => {
            assert_eq!(error, "invalid_request");
            assert_eq!(
                redirect_url,
                "http://127.0.0.1:8765/cb?error=invalid_request&error_description=\
                 code_challenge_method+must+be+S256&state=st"
            );
        }
        other => panic!("{other:?}"),
    }
    // At the token endpoint, the redirect_uri must repeat the authorization request's.
    let url = attempt(LOOPBACK, "S256").unwrap();
    assert!(
        url.starts_with("http://127.0.0.1:8765/cb?code=opac_"),
        "{url}"
    );
    let code = url::Url::parse(&url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let r = w.exchange(&w.app, &code, VERIFIER); // sends REDIRECT, not LOOPBACK
    assert_eq!(
        oauth_error(&r),
        (
            400,
            "invalid_grant".into(),
            "redirect_uri does not match the authorization request".into()
        )
    );
}

#[test]
fn authorize_validates_its_other_inputs() {
    let w = world();
    let base = AuthorizeRequest {
        client_id: &w.writer.id,
        redirect_uri: REDIRECT,
        scope: None,
        code_challenge: CHALLENGE,
        code_challenge_method: "S256",
        state: None,
        subject: "user-42",
    };
    let refused = |req: AuthorizeRequest<'_>| match w.store().authorize(&req) {
        Err(AuthorizeError::Refused {
            error,
            description,
            redirect_url,
        }) => (error, description, redirect_url),
        other => panic!("{other:?}"),
    };
    let (error, description, url) = refused(AuthorizeRequest {
        scope: Some("manage"),
        ..base
    });
    assert_eq!(error, "invalid_scope");
    assert_eq!(description, "The scope may include only: track");
    assert!(
        url.starts_with(&format!("{REDIRECT}?error=invalid_scope&")),
        "{url}"
    );
    let (error, description, _) = refused(AuthorizeRequest {
        code_challenge: "too-short",
        ..base
    });
    assert_eq!(
        (error, description.as_str()),
        (
            "invalid_request",
            "code_challenge must be 43 base64url characters (S256)"
        )
    );
    for subject in ["", "   ", &"x".repeat(256)] {
        assert!(matches!(
            w.store().authorize(&AuthorizeRequest { subject, ..base }),
            Err(AuthorizeError::InvalidSubject)
        ));
    }
    // The write app's default scope is what its type allows.
    let code = w.authorize(&w.writer, None);
    let r = w.exchange(&w.writer, &code, VERIFIER);
    assert_eq!(r.json()["scope"], "track", "{}", body(&r));
}

#[test]
fn refresh_tokens_rotate_and_a_superseded_one_revokes_the_family() {
    let w = world();
    let (a1, r1) = w.code_grant(&w.app);
    let (other_access, other_refresh) = w.code_grant(&w.app);

    let step = w.refresh(&w.app, &r1);
    assert_eq!(step.status, 200, "{}", body(&step));
    assert_eq!(step.header("cache-control"), Some("no-store"));
    let (a2, r2) = (
        str_field(&step, "access_token"),
        str_field(&step, "refresh_token"),
    );
    assert_ne!(r2, r1);
    assert_ne!(a2, a1);
    assert_eq!(step.json()["scope"], "track export insights manage");
    // Narrowing the scope applies to the new access token; the grant keeps its scope.
    let step = w.post(
        "token",
        &w.app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &r2),
            ("scope", "track"),
        ],
    );
    assert_eq!(step.json()["scope"], "track", "{}", body(&step));
    let (a3, r3) = (
        str_field(&step, "access_token"),
        str_field(&step, "refresh_token"),
    );
    assert_eq!(bearer(w.store(), &a3).json()["error"], "insufficient_scope");
    for token in [&a1, &a2] {
        assert_eq!(bearer(w.store(), token).status, 200);
    }
    assert_eq!(w.introspect(&w.app, &r3)["active"], true);
    assert_eq!(w.introspect(&w.app, &r1)["active"], false);

    // Presenting the superseded r1 past the reuse grace (10 s) revokes the whole family.
    w.env.clock.advance_secs(10);
    assert_eq!(
        oauth_error(&w.refresh(&w.app, &r1)),
        (400, "invalid_grant".into(), REPLAYED_REFRESH.into())
    );
    for token in [&a1, &a2, &a3] {
        let r = bearer(w.store(), token);
        assert_eq!((r.status, body(&r).as_str()), (401, INVALID_API_KEY));
    }
    assert_eq!(
        oauth_error(&w.refresh(&w.app, &r3)).2,
        "The refresh token was revoked"
    );
    // The other family is untouched.
    assert_eq!(bearer(w.store(), &other_access).status, 200);
    assert_eq!(w.refresh(&w.app, &other_refresh).status, 200);
    // A refresh token belongs to its client.
    let (_, mine) = w.code_grant(&w.app);
    assert_eq!(
        oauth_error(&w.refresh(&w.writer, &mine)).2,
        "The refresh token is invalid"
    );
    assert_eq!(w.refresh(&w.app, &mine).status, 200);
    // A refresh may ask for at most the grant's scope; a refused request does not rotate.
    let code = w.authorize(&w.app, Some("track"));
    let r = w.exchange(&w.app, &code, VERIFIER);
    let narrow = str_field(&r, "refresh_token");
    let widen = w.post(
        "token",
        &w.app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &narrow),
            ("scope", "track manage"),
        ],
    );
    assert_eq!(
        oauth_error(&widen),
        (
            400,
            "invalid_scope".into(),
            "The scope may include only: track".into()
        )
    );
    assert_eq!(w.refresh(&w.app, &narrow).json()["scope"], "track");
}

#[test]
fn refresh_tokens_expire() {
    let w = world_with(|o| o.refresh_token_ttl_seconds = 7200);
    let (_, refresh) = w.code_grant(&w.app);
    w.env.clock.advance_secs(7200);
    assert_eq!(
        oauth_error(&w.refresh(&w.app, &refresh)).2,
        "The refresh token has expired"
    );
}

#[test]
fn an_expired_token_gives_token_expired() {
    for (ttl, w) in [
        (3600, world()),
        (60, world_with(|o| o.access_token_ttl_seconds = 60)),
    ] {
        let token = w.client_credentials(&w.root, None);
        w.env.clock.advance_secs(ttl - 1);
        assert_eq!(bearer(w.store(), &token).status, 200, "ttl {ttl}");
        w.env.clock.advance_secs(1);
        let r = bearer(w.store(), &token);
        assert_eq!(
            (r.status, body(&r).as_str()),
            (401, TOKEN_EXPIRED),
            "ttl {ttl}"
        );
        assert_documented(&r);
        assert_eq!(
            r.header("www-authenticate"),
            Some("Bearer realm=\"opcore\", error=\"invalid_token\"")
        );
        assert!(matches!(
            w.store().verify_access_token(&token),
            Err(AuthError::TokenExpired)
        ));
    }
}

#[test]
fn a_revoked_token_gives_invalid_api_key() {
    let w = world();
    let token = w.client_credentials(&w.root, None);
    let kept = w.client_credentials(&w.root, None);
    assert_eq!(bearer(w.store(), &token).status, 200);
    let r = w.post("revoke", &w.root, &[("token", &token)]);
    assert_eq!((r.status, body(&r).as_str()), (200, "{}"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let r = bearer(w.store(), &token);
    assert_eq!((r.status, body(&r).as_str()), (401, INVALID_API_KEY));
    // Revoking an access token revokes that token only.
    assert_eq!(bearer(w.store(), &kept).status, 200);
    // Revoked, then expired: still invalid, never "expired".
    w.env.clock.advance_secs(7200);
    assert_eq!(body(&bearer(w.store(), &token)), INVALID_API_KEY);

    let w = world();
    // Unknown or malformed tokens: 200 (RFC 7009 §2.2); bad client credentials: 401.
    for t in ["opat_unknown", &w.client_credentials(&w.app, None)[..76]] {
        let r = w.post("revoke", &w.root, &[("token", t)]);
        assert_eq!(r.status, 200, "{t}");
    }
    let bad = Creds {
        id: w.root.id.clone(),
        secret: "sec_ffffffffffffffffffffffffffffffff".into(),
    };
    let token = w.client_credentials(&w.app, None);
    assert_eq!(
        oauth_error(&w.post("revoke", &bad, &[("token", &token)])).1,
        "invalid_client"
    );
    // A client may not revoke another client's token unless it is a root client of the org
    // (RFC 7009 §2.1): refused, and the token stays active.
    let (_, app_refresh) = w.code_grant(&w.app);
    for foreign in [&token, &app_refresh] {
        let r = w.post("revoke", &w.writer, &[("token", foreign)]);
        assert_eq!(
            oauth_error(&r),
            (
                400,
                "unauthorized_client".into(),
                "The token was issued to another client".into()
            )
        );
        assert_eq!(r.header("cache-control"), Some("no-store"));
    }
    assert_eq!(bearer(w.store(), &token).status, 200);
    assert_eq!(w.introspect(&w.app, &app_refresh)["active"], true);
    // Another organization's root client is refused the same way.
    let globex = w.env.org("Globex");
    let stranger = Creds {
        id: globex.client.client.id.clone(),
        secret: globex.client.secret.expose().to_owned(),
    };
    let r = w.post("revoke", &stranger, &[("token", &token)]);
    assert_eq!(oauth_error(&r).1, "unauthorized_client");
    assert_eq!(bearer(w.store(), &token).status, 200);
    assert_eq!(w.post("revoke", &w.root, &[("token", &token)]).status, 200);
    assert_eq!(body(&bearer(w.store(), &token)), INVALID_API_KEY);
    // Revoking a refresh token revokes its whole grant.
    let (access, refresh) = w.code_grant(&w.app);
    assert_eq!(w.post("revoke", &w.app, &[("token", &refresh)]).status, 200);
    assert_eq!(body(&bearer(w.store(), &access)), INVALID_API_KEY);
    // Deleting the client ends its tokens at once.
    let token = w.client_credentials(&w.app, None);
    assert_eq!(bearer(w.store(), &token).status, 200);
    w.store().delete_client(&w.org, &w.app.id).unwrap();
    assert_eq!(body(&bearer(w.store(), &token)), INVALID_API_KEY);
}

#[test]
fn bearer_header_variants_on_the_manage_api() {
    let w = world();
    let token = w.client_credentials(&w.root, None);
    let (_, refresh) = w.code_grant(&w.app);
    let track_only = w.client_credentials(&w.root, Some("track"));
    let writer = w.client_credentials(&w.writer, None);
    let mut typo = token.clone().into_bytes();
    typo[20] = if typo[20] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).unwrap();
    let insufficient = r#"{"error":"insufficient_scope","message":"The access token's scope does not include manage."}"#;
    let cases: Vec<(String, u16, &str)> = vec![
        ("Bearer".into(), 401, MISSING_API_KEY),
        ("Bearer    ".into(), 401, MISSING_API_KEY),
        (format!("bearer {token}"), 200, ""),
        (format!("BEARER  {token} "), 200, ""),
        ("Bearer opat_nope".into(), 401, INVALID_API_KEY),
        (format!("Bearer {typo}"), 401, INVALID_API_KEY),
        (format!("Bearer {refresh}"), 401, INVALID_API_KEY),
        (format!("Bearer {}", w.root.secret), 401, INVALID_API_KEY),
        (format!("Bearer {track_only}"), 403, insufficient),
        (format!("Bearer {writer}"), 403, insufficient),
        // Another scheme: the openpanel-client-* headers apply, as before.
        (
            "Basic abc".into(),
            401,
            r#"{"error":"Unauthorized","message":"Invalid client credentials"}"#,
        ),
    ];
    for (header, status, expected) in cases {
        let r = manage_with(w.store(), &header);
        assert_eq!(r.status, status, "{header}: {}", body(&r));
        assert_documented(&r);
        if !expected.is_empty() {
            assert_eq!(body(&r), expected, "{header}");
        }
    }
    let r = manage_with(w.store(), "Bearer");
    assert_eq!(
        r.header("www-authenticate"),
        Some("Bearer realm=\"opcore\"")
    );
    let r = bearer(w.store(), &track_only);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Bearer realm=\"opcore\", error=\"insufficient_scope\", scope=\"manage\"")
    );
    // A bearer token works on every Manage route, and writes too.
    let r = manage::handle(
        w.store(),
        &Request {
            method: "POST",
            target: "/api/manage/projects",
            headers: &[("authorization", &format!("Bearer {token}"))],
            body: br#"{"name":"Via token"}"#,
            source: None,
        },
    );
    assert_eq!(r.status, 200, "{}", body(&r));
    assert_eq!(r.json()["data"]["id"], "via-token");
    // Hosts authorize their own families with the same call.
    let ok = w
        .store()
        .authenticate_bearer(&BearerRequest {
            family: Family::Export,
            token: &token,
            project_id: Some("via-token"),
        })
        .unwrap();
    assert_eq!(ok.project_id.as_deref(), Some("via-token"));
    assert_eq!(&*ok.client_id, w.root.id);
}

#[test]
fn introspection_of_active_and_inactive_tokens() {
    let w = world();
    let t0 = support::T0.millis() / 1000;
    let cc = w.client_credentials(&w.root, Some("manage export"));
    let (access, refresh) = w.code_grant(&w.app);
    let expired = w.client_credentials(&w.root, None);
    let revoked = w.client_credentials(&w.root, None);
    w.post("revoke", &w.root, &[("token", &revoked)]);
    let code = w.authorize(&w.app, None);

    assert_eq!(
        w.introspect(&w.root, &cc),
        json!({
            "active": true,
            "client_id": w.root.id,
            "scope": "export manage",
            "token_type": "Bearer",
            "exp": t0 + 3600,
            "iat": t0,
        })
    );
    assert_eq!(
        w.introspect(&w.app, &access),
        json!({
            "active": true,
            "client_id": w.app.id,
            "scope": "track export insights manage",
            "token_type": "Bearer",
            "exp": t0 + 3600,
            "iat": t0,
            "sub": "user-42",
        })
    );
    let r = w.introspect(&w.app, &refresh);
    assert_eq!(r["token_type"], "refresh_token");
    assert_eq!(r["exp"], t0 + 30 * 24 * 3600);
    assert_eq!(r["sub"], "user-42");
    // A root client sees the tokens of its organization's clients.
    assert_eq!(w.introspect(&w.root, &access)["active"], true);

    w.env.clock.advance_secs(1800);
    let other_org = {
        let boot = w.store().create_organization("Other").unwrap();
        Creds {
            id: boot.client.client.id.clone(),
            secret: boot.client.secret.expose().to_owned(),
        }
    };
    w.env.clock.advance_secs(1800);
    let inactive: Vec<(&str, &Creds, &str)> = vec![
        ("expired", &w.root, &expired),
        ("revoked", &w.root, &revoked),
        ("an authorization code", &w.app, &code),
        ("garbage", &w.root, "opat_garbage"),
        ("a client secret", &w.root, &w.root.secret),
        ("another client's token", &w.writer, &refresh),
        ("another organization's token", &other_org, &refresh),
    ];
    for (name, caller, token) in inactive {
        assert_eq!(
            w.introspect(caller, token),
            json!({"active": false}),
            "{name}"
        );
    }
    // The caller must authenticate, and name a token.
    let r = post_form(w.store(), "/oauth/introspect", &[], &[("token", &refresh)]);
    assert_eq!(oauth_error(&r).0, 401);
    assert_eq!(oauth_error(&r).1, "invalid_client");
    let r = w.post("introspect", &w.root, &[]);
    assert_eq!(
        oauth_error(&r),
        (400, "invalid_request".into(), "token is required".into())
    );
}

#[test]
fn tokens_never_reach_the_database_file_a_read_or_debug_output() {
    let w = world();
    let cc = w.client_credentials(&w.root, None);
    let code = w.authorize(&w.app, None);
    let first = w.exchange(&w.app, &code, VERIFIER);
    let access = str_field(&first, "access_token");
    let refresh = str_field(&first, "refresh_token");
    let rotated = w.refresh(&w.app, &refresh);
    let tokens = [
        cc,
        code,
        access,
        refresh,
        str_field(&rotated, "access_token"),
        str_field(&rotated, "refresh_token"),
    ];
    let bytes = w.bytes_on_disk();
    assert!(bytes.len() > 4096);
    for t in &tokens {
        // Neither the whole token nor its random part, in the main file or the WAL.
        let random = &t.as_bytes()[5..69];
        assert!(
            !bytes.windows(random.len()).any(|win| win == random),
            "{}",
            &t[..5]
        );
        let info = w.store().verify_access_token(t);
        assert!(!format!("{info:?}").contains(&t[5..]));
    }
    // What is stored: 32-byte digests.
    let conn = rusqlite::Connection::open(w.env.path()).unwrap();
    let lens: Vec<i64> = conn
        .prepare("SELECT length(digest) FROM oauth_tokens UNION ALL SELECT length(digest) FROM oauth_codes")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(lens.len(), 6);
    assert!(lens.iter().all(|&l| l == 32), "{lens:?}");
}

#[test]
fn a_bearer_authenticated_manage_request_runs_no_argon2() {
    let w = world();
    let start = w.store().authenticator().argon2_verifications();
    let token = w.client_credentials(&w.root, None);
    // The exchange verified the secret once.
    assert_eq!(w.store().authenticator().argon2_verifications(), start + 1);
    for _ in 0..10 {
        assert_eq!(bearer(w.store(), &token).status, 200);
    }
    assert_eq!(w.store().authenticator().argon2_verifications(), start + 1);
    // Another handle on the file, with an empty credential cache: still no argon2.
    let other = w.env.reopen();
    for _ in 0..10 {
        assert_eq!(bearer(&other, &token).status, 200);
    }
    let r = bearer(&other, "opat_wrong");
    assert_eq!(r.status, 401);
    assert_eq!(other.authenticator().argon2_verifications(), 0);
    // The same requests with client credentials on a fresh handle do run argon2.
    let third = w.env.reopen();
    let r = manage::handle(
        &third,
        &Request {
            method: "GET",
            target: "/manage/projects",
            headers: &[
                ("openpanel-client-id", &w.root.id),
                ("openpanel-client-secret", &w.root.secret),
            ],
            body: b"",
            source: None,
        },
    );
    assert_eq!(r.status, 200);
    assert_eq!(third.authenticator().argon2_verifications(), 1);
}

fn header_u64(r: &Response, name: &str) -> u64 {
    r.header(name)
        .unwrap_or_else(|| panic!("no {name}: {:?}", r.headers))
        .parse()
        .unwrap()
}

#[test]
fn tier_limits_and_headers() {
    // (tier, x-ratelimit-limit, burst)
    let table = [
        (Tier::Free, 1_000, 50),
        (Tier::Pro, 10_000, 200),
        (Tier::Enterprise, 1_000, 1_000),
    ];
    for (tier, limit, burst) in table {
        let w = world();
        let c = w.client("Tiered", ClientType::Root, Some(tier));
        let token = w.client_credentials(&c, None);
        for i in 0..burst {
            let r = bearer(w.store(), &token);
            assert_eq!(r.status, 200, "{tier:?} request {i}: {}", body(&r));
            if i == 0 {
                assert_documented(&r);
                assert_eq!(header_u64(&r, "x-ratelimit-limit"), limit, "{tier:?}");
                assert_eq!(header_u64(&r, "x-ratelimit-remaining"), limit - 1);
                assert_eq!(header_u64(&r, "x-ratelimit-burst-limit"), burst);
                assert_eq!(header_u64(&r, "x-ratelimit-burst-remaining"), burst - 1);
                assert_eq!(header_u64(&r, "x-ratelimit-burst-reset"), 10);
                assert!(r.header("retry-after").is_none());
            }
        }
        // The burst window is full: refused for the rest of it, with the seed's body.
        let r = bearer(w.store(), &token);
        assert_eq!(r.status, 429, "{tier:?}");
        assert_documented(&r);
        let wait = header_u64(&r, "retry-after");
        assert_eq!(wait, 10, "{tier:?}");
        assert_eq!(
            body(&r),
            r#"{"error":"rate_limit_exceeded","message":"Rate limit exceeded. Try again in 10 seconds."}"#
        );
        assert_eq!(header_u64(&r, "x-ratelimit-burst-remaining"), 0);
        // The refused request was not charged to the hourly quota.
        let hourly_left = if tier == Tier::Enterprise {
            0
        } else {
            limit - burst
        };
        assert_eq!(
            header_u64(&r, "x-ratelimit-remaining"),
            hourly_left,
            "{tier:?}"
        );
        w.env.clock.advance_ms(9_999);
        assert_eq!(bearer(w.store(), &token).status, 429, "{tier:?}");
        w.env.clock.advance_ms(1);
        assert_eq!(bearer(w.store(), &token).status, 200, "{tier:?}");
    }
}

#[test]
fn the_free_tier_allows_1000_requests_per_hour() {
    let w = world_with(|o| o.access_token_ttl_seconds = 7200);
    let c = w.client("Free", ClientType::Root, Some(Tier::Free));
    let token = w.client_credentials(&c, None);
    let mut admitted = 0;
    // 50 every 11 seconds: never more than the burst, so only the hourly quota binds.
    for _ in 0..20 {
        for _ in 0..50 {
            let p = w
                .store()
                .authenticate_bearer(&BearerRequest {
                    family: Family::Track,
                    token: &token,
                    project_id: None,
                })
                .unwrap();
            admitted += 1;
            assert_eq!(p.rate.remaining, 1000 - admitted);
        }
        w.env.clock.advance_secs(11);
    }
    // The hourly quota counts across families: Manage is refused too.
    let r = bearer(w.store(), &token);
    assert_eq!(r.status, 429);
    let wait = header_u64(&r, "retry-after");
    assert!((3000..=3780).contains(&wait), "{wait}");
    assert_eq!(
        r.json()["message"],
        format!("Rate limit exceeded. Try again in {wait} seconds.")
    );
    assert_eq!(header_u64(&r, "x-ratelimit-limit"), 1000);
    assert_eq!(header_u64(&r, "x-ratelimit-remaining"), 0);
    assert_eq!(header_u64(&r, "x-ratelimit-burst-remaining"), 50);
    w.env.clock.advance_secs(i64::try_from(wait).unwrap());
    assert_eq!(bearer(w.store(), &token).status, 200);
}

#[test]
fn tiers_apply_to_client_credentials_too_and_are_set_through_the_manage_api() {
    let w = world();
    let creds = w.client("Tiered later", ClientType::Root, None);
    let call = |method: &str, target: &str, body: &str| {
        manage::handle(
            w.store(),
            &Request {
                method,
                target,
                headers: &[
                    ("openpanel-client-id", &w.root.id),
                    ("openpanel-client-secret", &w.root.secret),
                ],
                body: body.as_bytes(),
                source: None,
            },
        )
    };
    let as_tiered = || {
        manage::handle(
            w.store(),
            &Request {
                method: "GET",
                target: "/manage/projects",
                headers: &[
                    ("openpanel-client-id", &creds.id),
                    ("openpanel-client-secret", &creds.secret),
                ],
                body: b"",
                source: None,
            },
        )
    };
    // No tier: SPEC §4's Manage limit (20 per 10 s).
    let r = as_tiered();
    assert_eq!(header_u64(&r, "x-ratelimit-limit"), 20);
    assert!(r.header("x-ratelimit-burst-limit").is_none());
    let r = call(
        "PATCH",
        &format!("/manage/clients/{}", creds.id),
        r#"{"tier":"free"}"#,
    );
    assert_eq!(r.status, 200, "{}", body(&r));
    assert_eq!(r.json()["data"]["tier"], "free");
    assert_eq!(
        call("GET", &format!("/manage/clients/{}", creds.id), "").json()["data"]["tier"],
        "free"
    );
    // The tier applies at once (a verified credential was cached before the change).
    let r = as_tiered();
    assert_eq!(header_u64(&r, "x-ratelimit-limit"), 1000);
    assert_eq!(header_u64(&r, "x-ratelimit-burst-limit"), 50);
    for _ in 1..50 {
        assert_eq!(as_tiered().status, 200);
    }
    let r = as_tiered();
    assert_eq!(
        (r.status, body(&r).as_str()),
        (
            429,
            r#"{"error":"Too Many Requests","message":"Rate limit exceeded"}"#
        )
    );
    assert_eq!(r.header("retry-after"), Some("10"));
    // null removes the tier.
    let r = call(
        "PATCH",
        &format!("/manage/clients/{}", creds.id),
        r#"{"tier":null}"#,
    );
    assert_eq!(r.json()["data"]["tier"], Value::Null);
    w.env.clock.advance_secs(11);
    assert_eq!(header_u64(&as_tiered(), "x-ratelimit-limit"), 20);
    // Through the Rust API too.
    let c = w
        .store()
        .update_client(
            &w.org,
            &creds.id,
            &ClientChanges {
                tier: Some(Some(Tier::Enterprise)),
                ..ClientChanges::default()
            },
        )
        .unwrap();
    assert_eq!(c.tier, Some(Tier::Enterprise));
    assert_eq!(header_u64(&as_tiered(), "x-ratelimit-burst-limit"), 1000);
}

#[test]
fn redirect_uris_and_tier_in_the_manage_api() {
    let w = world();
    let call = |method: &str, target: &str, body: &str| {
        manage::handle(
            w.store(),
            &Request {
                method,
                target,
                headers: &[
                    ("openpanel-client-id", &w.root.id),
                    ("openpanel-client-secret", &w.root.secret),
                ],
                body: body.as_bytes(),
                source: None,
            },
        )
    };
    let r = call(
        "POST",
        "/manage/clients",
        r#"{"name":"App","type":"root","tier":"pro",
            "redirectUris":["https://a.example/cb","http://localhost:3000/cb","https://a.example/cb"]}"#,
    );
    assert_eq!(r.status, 200, "{}", body(&r));
    let data = &r.json()["data"];
    assert_eq!(
        data["redirectUris"],
        json!(["https://a.example/cb", "http://localhost:3000/cb"])
    );
    assert_eq!(data["tier"], "pro");
    let id = data["id"].as_str().unwrap().to_owned();
    // Defaults.
    let r = call("POST", "/manage/clients", r#"{"name":"Plain"}"#);
    assert_eq!(r.json()["data"]["redirectUris"], json!([]));
    assert_eq!(r.json()["data"]["tier"], Value::Null);
    // Validation names every offending field.
    let r = call(
        "POST",
        "/manage/clients",
        r#"{"name":" ","tier":"gold","redirectUris":["http://a.example/cb","https://ok.example/cb",7,"https://x.example/#f"]}"#,
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["details"],
        json!([
            {"path": ["redirectUris", 2], "message": "Expected string, received number"},
            {"path": ["tier"], "message": "Invalid enum value. Expected 'free' | 'pro' | 'enterprise', received 'gold'"},
            {"path": ["name"], "message": "String must contain a visible character (not only whitespace or invisible characters)"},
        ])
    );
    let r = call(
        "POST",
        "/manage/clients",
        r#"{"name":"X","redirectUris":["http://a.example/cb","https://ok.example/cb","https://x.example/#f"]}"#,
    );
    assert_eq!(
        r.json()["details"],
        json!([
            {"path": ["redirectUris", 0], "message": "Redirect URI must use https (http is allowed only for loopback hosts)"},
            {"path": ["redirectUris", 2], "message": "Redirect URI must not contain a fragment"},
        ])
    );
    // PATCH replaces the list; the old URI stops working at once.
    let r = call(
        "PATCH",
        &format!("/manage/clients/{id}"),
        r#"{"redirectUris":["https://b.example/cb"]}"#,
    );
    assert_eq!(
        r.json()["data"]["redirectUris"],
        json!(["https://b.example/cb"])
    );
    assert_eq!(r.json()["data"]["tier"], "pro");
    let authorize = |uri: &str| {
        w.store().authorize(&AuthorizeRequest {
            client_id: &id,
            redirect_uri: uri,
            scope: None,
            code_challenge: CHALLENGE,
            code_challenge_method: "S256",
            state: None,
            subject: "u",
        })
    };
    assert!(matches!(
        authorize("https://a.example/cb"),
        Err(AuthorizeError::RedirectUriMismatch)
    ));
    assert!(authorize("https://b.example/cb")
        .unwrap()
        .starts_with("https://b.example/cb?code=opac_"));
    let r = call(
        "PATCH",
        &format!("/manage/clients/{id}"),
        r#"{"redirectUris":"https://b.example/cb"}"#,
    );
    assert_eq!(
        r.json()["details"],
        json!([{"path": ["redirectUris"], "message": "Expected array, received string"}])
    );
}

#[test]
fn concurrent_redemptions_of_one_code_or_refresh_token_issue_nothing_usable_twice() {
    let w = world();
    for round in 0..5 {
        let code = w.authorize(&w.app, None);
        let results: Vec<Response> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..6)
                .map(|_| s.spawn(|| w.exchange(&w.app, &code, VERIFIER)))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let issued: Vec<&Response> = results.iter().filter(|r| r.status == 200).collect();
        assert!(
            issued.len() <= 1,
            "round {round}: {} successes",
            issued.len()
        );
        for r in &results {
            if r.status != 200 {
                assert_eq!(oauth_error(r).1, "invalid_grant", "round {round}");
            }
        }
        // Every other presentation was a replay, so whatever was issued is revoked.
        for r in issued {
            let access = str_field(r, "access_token");
            assert_eq!(body(&bearer(w.store(), &access)), INVALID_API_KEY);
        }
    }
    for round in 0..5 {
        let (access, refresh) = w.code_grant(&w.app);
        let results: Vec<Response> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..6)
                .map(|_| s.spawn(|| w.refresh(&w.app, &refresh)))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let issued: Vec<&Response> = results.iter().filter(|r| r.status == 200).collect();
        // The first rotates it, a second gets a sibling pair within the grace; the third
        // presentation is a replay.
        assert!(
            issued.len() <= 2,
            "round {round}: {} successes",
            issued.len()
        );
        // The superseded token was presented a third time, so the whole family is revoked.
        assert_eq!(body(&bearer(w.store(), &access)), INVALID_API_KEY);
        for r in issued {
            let newer = str_field(r, "access_token");
            assert_eq!(body(&bearer(w.store(), &newer)), INVALID_API_KEY);
        }
    }
}

#[test]
fn wrong_client_secrets_at_the_token_endpoint_are_throttled_without_argon2() {
    let w = world();
    let wrong = Creds {
        id: w.root.id.clone(),
        secret: "sec_0123456789abcdef0123456789abcdef".into(),
    };
    let before = w.store().authenticator().argon2_verifications();
    for _ in 0..opcore::auth::FAILURES_PER_CLIENT {
        let r = w.post("token", &wrong, &[("grant_type", "client_credentials")]);
        assert_eq!(oauth_error(&r).1, "invalid_client");
    }
    let counted = w.store().authenticator().argon2_verifications();
    assert_eq!(counted - before, 0, "wrong secrets run no argon2");
    // Beyond the limit, wrong secrets are answered 429, still with no argon2.
    let r = w.post("token", &wrong, &[("grant_type", "client_credentials")]);
    let wait = header_u64(&r, "retry-after");
    assert_eq!(
        oauth_error(&r),
        (
            429,
            "rate_limit_exceeded".into(),
            format!("Too many failed authentication attempts. Try again in {wait} seconds.")
        )
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(w.store().authenticator().argon2_verifications(), counted);
    // The right secret is never refused by the throttle: one argon2 run, then a token.
    assert_eq!(
        w.post("token", &w.root, &[("grant_type", "client_credentials")])
            .status,
        200
    );
    assert_eq!(
        w.store().authenticator().argon2_verifications(),
        counted + 1
    );
}

/// `GET {target}` with optional headers, through `manage::handle`.
fn get_with(store: &Store, target: &str, headers: &[(&str, &str)]) -> Response {
    manage::handle(
        store,
        &Request {
            method: "GET",
            target,
            headers,
            body: b"",
            source: None,
        },
    )
}

#[test]
fn two_concurrent_refreshes_both_succeed_and_the_grant_stays_alive() {
    let w = world_with(|o| o.rate_limits.manage = opcore::options::RateLimit::new(100_000, 10));
    for round in 0..10 {
        let (access, refresh) = w.code_grant(&w.app);
        let results: Vec<Response> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..2)
                .map(|_| s.spawn(|| w.refresh(&w.app, &refresh)))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for r in &results {
            assert_eq!(r.status, 200, "round {round}: {}", body(r));
            assert_eq!(r.json()["scope"], "track export insights manage");
        }
        let pairs: Vec<(String, String)> = results
            .iter()
            .map(|r| (str_field(r, "access_token"), str_field(r, "refresh_token")))
            .collect();
        assert_ne!(pairs[0], pairs[1], "round {round}");
        // The grant is alive: the first access token and both new ones work, and each new
        // refresh token can be used.
        assert_eq!(bearer(w.store(), &access).status, 200, "round {round}");
        for (a, r) in &pairs {
            assert_eq!(bearer(w.store(), a).status, 200, "round {round}");
            assert_eq!(w.introspect(&w.app, r)["active"], true, "round {round}");
        }
        for (_, r) in &pairs {
            let next = w.refresh(&w.app, r);
            assert_eq!(next.status, 200, "round {round}: {}", body(&next));
            assert_eq!(
                bearer(w.store(), &str_field(&next, "access_token")).status,
                200
            );
        }
        assert_eq!(w.introspect(&w.app, &refresh)["active"], false);
    }
}

#[test]
fn two_processes_refreshing_one_token_at_once_both_succeed() {
    let w = world();
    // A second, independent handle on the same file: its own connections and caches, so
    // the two requests are serialized only by SQLite's write lock.
    let other = w.env.reopen();
    for round in 0..10 {
        let (access, refresh) = w.code_grant(&w.app);
        let params = [
            ("client_id", w.app.id.as_str()),
            ("client_secret", w.app.secret.as_str()),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
        ];
        let results: Vec<Response> = std::thread::scope(|s| {
            let a = s.spawn(|| post_form(w.store(), "/oauth/token", &[], &params));
            let b = s.spawn(|| post_form(&other, "/oauth/token", &[], &params));
            vec![a.join().unwrap(), b.join().unwrap()]
        });
        for r in &results {
            assert_eq!(r.status, 200, "round {round}: {}", body(r));
            assert_eq!(
                bearer(&other, &str_field(r, "access_token")).status,
                200,
                "round {round}"
            );
        }
        assert_eq!(bearer(w.store(), &access).status, 200, "round {round}");
    }
}

#[test]
fn a_superseded_refresh_token_gets_one_sibling_pair_within_the_grace() {
    let w = world();
    let (a1, r1) = w.code_grant(&w.app);
    let first = w.refresh(&w.app, &r1);
    let (a2, r2) = (
        str_field(&first, "access_token"),
        str_field(&first, "refresh_token"),
    );
    // 9.999 s later (less than refresh_reuse_grace_seconds = 10): a sibling pair.
    w.env.clock.advance_ms(9_999);
    let second = w.refresh(&w.app, &r1);
    assert_eq!(second.status, 200, "{}", body(&second));
    let (a3, r3) = (
        str_field(&second, "access_token"),
        str_field(&second, "refresh_token"),
    );
    assert_ne!((a3.as_str(), r3.as_str()), (a2.as_str(), r2.as_str()));
    for token in [&a1, &a2, &a3] {
        assert_eq!(bearer(w.store(), token).status, 200);
    }
    // Both refresh tokens stay valid; each rotates on its own.
    for r in [&r2, &r3] {
        let info = w.introspect(&w.app, r);
        assert_eq!(
            (info["active"].clone(), info["sub"].clone()),
            (json!(true), json!("user-42"))
        );
    }
    assert_eq!(w.introspect(&w.app, &r1)["active"], false);
    // Once more within the grace: a replay — the whole grant is revoked.
    assert_eq!(
        oauth_error(&w.refresh(&w.app, &r1)),
        (400, "invalid_grant".into(), REPLAYED_REFRESH.into())
    );
    for token in [&a1, &a2, &a3] {
        assert_eq!(body(&bearer(w.store(), token)), INVALID_API_KEY);
    }
    for r in [&r2, &r3] {
        assert_eq!(
            oauth_error(&w.refresh(&w.app, r)).2,
            "The refresh token was revoked"
        );
    }

    // Exactly at the grace's end, the first reuse already revokes.
    let (a1, r1) = w.code_grant(&w.app);
    let r2 = str_field(&w.refresh(&w.app, &r1), "refresh_token");
    w.env.clock.advance_ms(10_000);
    assert_eq!(oauth_error(&w.refresh(&w.app, &r1)).2, REPLAYED_REFRESH);
    assert_eq!(body(&bearer(w.store(), &a1)), INVALID_API_KEY);
    assert_eq!(w.introspect(&w.app, &r2)["active"], false);

    // A sibling's own refresh token is reused like any other: rotated, then one grace reuse.
    let (_, r1) = w.code_grant(&w.app);
    let _ = w.refresh(&w.app, &r1);
    let sibling = str_field(&w.refresh(&w.app, &r1), "refresh_token");
    assert_eq!(w.refresh(&w.app, &sibling).status, 200);
    assert_eq!(w.refresh(&w.app, &sibling).status, 200);
    assert_eq!(
        oauth_error(&w.refresh(&w.app, &sibling)).2,
        REPLAYED_REFRESH
    );

    // Another client presenting the token within the grace changes nothing.
    let (access, r1) = w.code_grant(&w.app);
    let _ = w.refresh(&w.app, &r1);
    assert_eq!(
        oauth_error(&w.refresh(&w.writer, &r1)).2,
        "The refresh token is invalid"
    );
    assert_eq!(w.refresh(&w.app, &r1).status, 200);
    assert_eq!(bearer(w.store(), &access).status, 200);
}

#[test]
fn a_zero_grace_revokes_on_any_reuse() {
    let w = world_with(|o| o.refresh_reuse_grace_seconds = 0);
    let (access, r1) = w.code_grant(&w.app);
    assert_eq!(w.refresh(&w.app, &r1).status, 200);
    assert_eq!(oauth_error(&w.refresh(&w.app, &r1)).2, REPLAYED_REFRESH);
    assert_eq!(body(&bearer(w.store(), &access)), INVALID_API_KEY);
}

const ISSUER: &str = "https://auth.example.com";

fn metadata_document(issuer: &str, authorization_endpoint: Option<&str>) -> Value {
    let mut doc = json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}/oauth/token"),
        "revocation_endpoint": format!("{issuer}/oauth/revoke"),
        "introspection_endpoint": format!("{issuer}/oauth/introspect"),
        "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": ["track", "export", "insights", "manage"],
    });
    if let Some(e) = authorization_endpoint {
        doc["authorization_endpoint"] = e.into();
    }
    doc
}

#[test]
fn authorization_server_metadata_per_rfc8414() {
    const PATH: &str = "/.well-known/oauth-authorization-server";
    let w = world_with(|o| o.issuer = Some(ISSUER.into()));
    // The Host header is never trusted: the issuer comes from the option only.
    for headers in [&[][..], &[("Host", "evil.example")][..]] {
        let r = get_with(w.store(), PATH, headers);
        assert_eq!(r.status, 200, "{}", body(&r));
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.json(), metadata_document(ISSUER, None));
        let problems = common::openapi::OpenApi::global().problems("GET", PATH, &r);
        assert!(problems.is_empty(), "{problems:#?}");
    }
    // No credentials are needed, wrong ones do not matter.
    let r = get_with(
        w.store(),
        PATH,
        &[("Authorization", "Bearer opat_nonsense")],
    );
    assert_eq!(r.status, 200);
    // Only GET (and HEAD).
    let r = manage::handle(w.store(), &Request::new("POST", PATH));
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
    // Only the well-known path itself (the issuer has no path).
    for target in [
        "/.well-known/oauth-authorization-server/x",
        "/.well-known/oauth-authorization-serverx",
        "/.well-known/openid-configuration",
    ] {
        assert_eq!(get_with(w.store(), target, &[]).status, 404, "{target}");
    }

    // An issuer with a path: served at the RFC 8414 §3.1 location and at the plain one
    // (for a proxy that strips the path), with the endpoints under the issuer.
    let issuer = "https://example.com/auth/opcore";
    let consent = "https://app.example.com/consent?tenant=a";
    let w = world_with(|o| {
        o.issuer = Some(issuer.into());
        o.authorization_endpoint = Some(consent.into());
    });
    for target in [PATH.to_string(), format!("{PATH}/auth/opcore")] {
        let r = get_with(w.store(), &target, &[]);
        assert_eq!(r.status, 200, "{target}");
        assert_eq!(r.json(), metadata_document(issuer, Some(consent)));
        let problems = common::openapi::OpenApi::global().problems("GET", PATH, &r);
        assert!(problems.is_empty(), "{problems:#?}");
    }
    assert_eq!(
        get_with(w.store(), &format!("{PATH}/auth"), &[]).status,
        404
    );

    // No issuer configured: no metadata, and the answer says why.
    let w = world();
    let r = get_with(w.store(), PATH, &[]);
    assert_eq!(
        (r.status, body(&r).as_str()),
        (
            404,
            r#"{"error":"Not Found","message":"No OAuth authorization server metadata: the store has no issuer option"}"#
        )
    );
    let problems = common::openapi::OpenApi::global().problems("GET", PATH, &r);
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn every_manage_401_carries_a_bearer_challenge() {
    /// (what the case is, the request's headers, the expected `WWW-Authenticate`).
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, Option<&'a str>);
    let w = world();
    let plain = Some("Bearer realm=\"opcore\"");
    let invalid = Some("Bearer realm=\"opcore\", error=\"invalid_token\"");
    let wrong_secret = "sec_ffffffffffffffffffffffffffffffff";
    let cases: Vec<Case> = vec![
        ("no credentials at all", vec![], plain),
        (
            "client id without secret",
            vec![("openpanel-client-id", w.root.id.as_str())],
            plain,
        ),
        (
            "wrong secret",
            vec![
                ("openpanel-client-id", w.root.id.as_str()),
                ("openpanel-client-secret", wrong_secret),
            ],
            plain,
        ),
        ("empty bearer", vec![("Authorization", "Bearer")], plain),
        (
            "unknown bearer token",
            vec![("Authorization", "Bearer opat_nonsense")],
            invalid,
        ),
    ];
    for target in [
        "/manage/projects",
        "/api/manage/clients",
        "/manage/references/x",
    ] {
        for (name, headers, challenge) in &cases {
            let r = get_with(w.store(), target, headers);
            assert_eq!(r.status, 401, "{target} {name}: {}", body(&r));
            assert_eq!(r.header("www-authenticate"), *challenge, "{target} {name}");
        }
    }
    // A client that authenticates but is not a root client is a 401 too, with the challenge.
    let r = get_with(
        w.store(),
        "/manage/projects",
        &[
            ("openpanel-client-id", w.writer.id.as_str()),
            ("openpanel-client-secret", w.writer.secret.as_str()),
        ],
    );
    assert_eq!(r.status, 401, "{}", body(&r));
    assert_eq!(r.header("www-authenticate"), plain);
}
