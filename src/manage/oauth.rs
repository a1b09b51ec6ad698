//! The OAuth 2.0 endpoints' HTTP shapes (docs/oauth.md): `POST /oauth/token` (RFC 6749 §5),
//! `POST /oauth/revoke` (RFC 7009) and `POST /oauth/introspect` (RFC 7662), each also under
//! `/api/oauth/…`. Bodies are `application/x-www-form-urlencoded`; clients authenticate with
//! HTTP Basic or the `client_id`/`client_secret` form fields (not both). Every response is
//! JSON with `Cache-Control: no-store`.

use base64ct::{Base64, Encoding};
use serde_json::{json, Map, Value};
use zeroize::{Zeroize, Zeroizing};

use super::{Request, Response, OAUTH_MAX_BODY_BYTES};
use crate::auth::oauth::{ClientAuth, Grant, IssuedTokens, OAuthError};
use crate::auth::tokens::TokenInfo;
use crate::domain::access::Family;
use crate::domain::error_description::shown_in_error_description;
use crate::domain::token::TokenKind;
use crate::Store;

/// Where the authorization server metadata (RFC 8414 §3) is served.
pub(super) const METADATA_PATH: &str = "/.well-known/oauth-authorization-server";

/// Client authentication methods of the token, revocation and introspection endpoints.
const CLIENT_AUTH_METHODS: [&str; 2] = ["client_secret_basic", "client_secret_post"];

/// `GET /.well-known/oauth-authorization-server[/issuer path]` (RFC 8414): built from the
/// `issuer` option, never from the request's `Host` header (docs/oauth.md). Without an
/// issuer, or under a path that is not the issuer's, the answer is 404.
pub(super) fn metadata(store: &Store, suffix: &str) -> Response {
    let meta = store.authenticator().oauth_metadata();
    let Some(issuer) = meta.issuer.as_deref() else {
        return Response::error(
            404,
            "No OAuth authorization server metadata: the store has no issuer option",
        );
    };
    if !suffix.is_empty() && suffix != issuer_path(issuer) {
        return Response::error(404, "Route not found");
    }
    let mut body = Map::new();
    body.insert("issuer".into(), issuer.into());
    if let Some(endpoint) = &meta.authorization_endpoint {
        body.insert("authorization_endpoint".into(), endpoint.as_str().into());
    }
    for (key, path) in [
        ("token_endpoint", "/oauth/token"),
        ("revocation_endpoint", "/oauth/revoke"),
        ("introspection_endpoint", "/oauth/introspect"),
    ] {
        body.insert(key.into(), format!("{issuer}{path}").into());
    }
    body.insert(
        "grant_types_supported".into(),
        json!(["authorization_code", "client_credentials", "refresh_token"]),
    );
    body.insert("response_types_supported".into(), json!(["code"]));
    body.insert("response_modes_supported".into(), json!(["query"]));
    body.insert("code_challenge_methods_supported".into(), json!(["S256"]));
    for key in [
        "token_endpoint_auth_methods_supported",
        "revocation_endpoint_auth_methods_supported",
        "introspection_endpoint_auth_methods_supported",
    ] {
        body.insert(key.into(), json!(CLIENT_AUTH_METHODS));
    }
    body.insert(
        "scopes_supported".into(),
        json!(Family::ALL.map(Family::as_str)),
    );
    Response::json_body(200, &Value::Object(body))
}

/// The path of an issuer URL (`https://a.example/opcore` → `/opcore`; none: empty).
fn issuer_path(issuer: &str) -> &str {
    let after_scheme = issuer.split_once("://").map_or(issuer, |(_, rest)| rest);
    after_scheme.find('/').map_or("", |i| &after_scheme[i..])
}

/// The three endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Endpoint {
    Token,
    Revoke,
    Introspect,
}

/// `/oauth/{token,revoke,introspect}` or the same under `/api`, one optional trailing slash.
pub(super) fn route(path: &str) -> Option<Endpoint> {
    let rest = path.strip_prefix("/api").unwrap_or(path);
    let rest = rest.strip_prefix("/oauth/")?;
    match rest.strip_suffix('/').unwrap_or(rest) {
        "token" => Some(Endpoint::Token),
        "revoke" => Some(Endpoint::Revoke),
        "introspect" => Some(Endpoint::Introspect),
        _ => None,
    }
}

/// The 405 of a method other than `POST` (methods are case-sensitive).
pub(super) fn method_not_allowed() -> Response {
    let mut r = error(
        405,
        "invalid_request",
        "This endpoint accepts only POST requests",
    );
    r.headers.push(("allow".into(), "POST".into()));
    r
}

/// The 413 of a body longer than `limit` bytes.
pub(super) fn body_too_large(limit: usize) -> Response {
    error(
        413,
        "invalid_request",
        &format!("Request body exceeds {limit} bytes"),
    )
}

/// Serves a `POST` to `endpoint` (the method is checked by the caller).
pub(super) fn handle(store: &Store, req: &Request<'_>, endpoint: Endpoint) -> Response {
    let form = match Form::parse(req) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let creds = match credentials(req, &form) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let client = ClientAuth {
        client_id: creds.id.as_deref(),
        client_secret: creds.secret.as_ref().map(|s| s.as_str()),
        source: req.source,
    };
    let result = match endpoint {
        Endpoint::Token => token(store, &form, &client),
        Endpoint::Revoke => revoke(store, &form, &client),
        Endpoint::Introspect => introspect(store, &form, &client),
    };
    result.unwrap_or_else(|e| oauth_error_response(&e))
}

fn token(store: &Store, form: &Form, client: &ClientAuth<'_>) -> Result<Response, OAuthError> {
    let grant = match form.get("grant_type") {
        None => return Err(missing("grant_type")),
        Some("client_credentials") => Grant::ClientCredentials {
            scope: form.get("scope"),
        },
        Some("authorization_code") => Grant::AuthorizationCode {
            code: form.require("code")?,
            redirect_uri: form.require("redirect_uri")?,
            code_verifier: form.require("code_verifier")?,
        },
        Some("refresh_token") => Grant::RefreshToken {
            refresh_token: form.require("refresh_token")?,
            scope: form.get("scope"),
        },
        Some(_) => return Err(OAuthError::UnsupportedGrantType),
    };
    let issued = store.authenticator().token(client, &grant)?;
    Ok(json_response(200, &token_body(&issued)))
}

fn token_body(t: &IssuedTokens) -> Value {
    let mut body = Map::new();
    body.insert("access_token".into(), t.access_token.expose().into());
    body.insert("token_type".into(), "Bearer".into());
    body.insert("expires_in".into(), t.expires_in.into());
    if let Some(refresh) = &t.refresh_token {
        body.insert("refresh_token".into(), refresh.expose().into());
    }
    body.insert("scope".into(), t.scope.to_string().into());
    Value::Object(body)
}

fn revoke(store: &Store, form: &Form, client: &ClientAuth<'_>) -> Result<Response, OAuthError> {
    let token = form.require("token")?;
    store.authenticator().revoke(client, token)?;
    Ok(json_response(200, &json!({})))
}

fn introspect(store: &Store, form: &Form, client: &ClientAuth<'_>) -> Result<Response, OAuthError> {
    let token = form.require("token")?;
    let body = match store.authenticator().introspect(client, token)? {
        None => json!({"active": false}),
        Some(info) => introspection_body(&info),
    };
    Ok(json_response(200, &body))
}

fn introspection_body(info: &TokenInfo) -> Value {
    let mut body = Map::new();
    body.insert("active".into(), true.into());
    body.insert("client_id".into(), info.client_id.clone().into());
    body.insert("scope".into(), info.scope.to_string().into());
    let token_type = match info.kind {
        TokenKind::Refresh => "refresh_token",
        _ => "Bearer",
    };
    body.insert("token_type".into(), token_type.into());
    body.insert(
        "exp".into(),
        info.expires_at.millis().div_euclid(1000).into(),
    );
    body.insert(
        "iat".into(),
        info.issued_at.millis().div_euclid(1000).into(),
    );
    if let Some(sub) = &info.subject {
        body.insert("sub".into(), sub.clone().into());
    }
    Value::Object(body)
}

/// A parsed form body. Empty values count as absent (RFC 6749 §3.1); a repeated parameter is
/// an error.
struct Form {
    params: Vec<(String, String)>,
}

/// Parameter values may hold a client secret.
impl Drop for Form {
    fn drop(&mut self) {
        for (_, value) in &mut self.params {
            value.zeroize();
        }
    }
}

impl Form {
    fn parse(req: &Request<'_>) -> Result<Form, Box<Response>> {
        if req.body.len() > OAUTH_MAX_BODY_BYTES {
            return Err(Box::new(body_too_large(OAUTH_MAX_BODY_BYTES)));
        }
        let media_type = req
            .header("content-type")
            .map(|v| v.split(';').next().unwrap_or("").trim());
        if !media_type.is_some_and(|m| m.eq_ignore_ascii_case("application/x-www-form-urlencoded"))
        {
            return Err(Box::new(error(
                400,
                "invalid_request",
                "Content-Type must be application/x-www-form-urlencoded",
            )));
        }
        if std::str::from_utf8(req.body).is_err() {
            return Err(Box::new(error(
                400,
                "invalid_request",
                "The request body is not valid UTF-8",
            )));
        }
        let mut params: Vec<(String, String)> = Vec::new();
        for (k, v) in url::form_urlencoded::parse(req.body) {
            if v.is_empty() {
                continue;
            }
            if params.iter().any(|(seen, _)| *seen == k) {
                return Err(Box::new(error(
                    400,
                    "invalid_request",
                    &format!("Parameter {} is repeated", shown_in_error_description(&k)),
                )));
            }
            params.push((k.into_owned(), v.into_owned()));
        }
        Ok(Form { params })
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name).ok_or_else(|| missing(name))
    }
}

fn missing(name: &str) -> OAuthError {
    OAuthError::InvalidRequest(format!("{name} is required"))
}

/// Client credentials as presented, owned (HTTP Basic values are decoded).
struct Credentials {
    id: Option<String>,
    secret: Option<Zeroizing<String>>,
}

/// Client credentials from HTTP Basic (RFC 6749 §2.3.1: each part form-urlencoded) or from
/// the form; using both is an error.
fn credentials(req: &Request<'_>, form: &Form) -> Result<Credentials, Box<Response>> {
    let form_id = form.get("client_id");
    let form_secret = form.get("client_secret");
    let Some(basic) = req.header("authorization").and_then(basic_credentials) else {
        return Ok(Credentials {
            id: form_id.map(str::to_owned),
            secret: form_secret.map(|s| Zeroizing::new(s.to_owned())),
        });
    };
    let refuse = |e: OAuthError| Err(Box::new(oauth_error_response(&e)));
    let Some((id, secret)) = basic else {
        return refuse(OAuthError::InvalidClient);
    };
    if form_secret.is_some() {
        return refuse(OAuthError::InvalidRequest(
            "Use one client authentication method: HTTP Basic or client_secret, not both".into(),
        ));
    }
    if form_id.is_some_and(|f| f != id) {
        return refuse(OAuthError::InvalidRequest(
            "client_id does not match the Authorization header".into(),
        ));
    }
    Ok(Credentials {
        id: Some(id),
        secret: Some(secret),
    })
}

/// `Basic base64(id:secret)`: None when the scheme is not Basic; Some(None) when malformed.
#[allow(clippy::type_complexity)]
fn basic_credentials(header: &str) -> Option<Option<(String, Zeroizing<String>)>> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let Ok(decoded) = Base64::decode_vec(rest.trim()) else {
        return Some(None);
    };
    let decoded = Zeroizing::new(decoded);
    let Ok(text) = std::str::from_utf8(&decoded) else {
        return Some(None);
    };
    let Some((id, secret)) = text.split_once(':') else {
        return Some(None);
    };
    Some(Some((form_decode(id), Zeroizing::new(form_decode(secret)))))
}

/// `application/x-www-form-urlencoded` decoding of one value (`+` is a space).
fn form_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

fn json_response(status: u16, body: &Value) -> Response {
    let mut r = Response::json_body(status, body);
    r.headers.extend([
        ("cache-control".into(), "no-store".into()),
        ("pragma".into(), "no-cache".into()),
    ]);
    r
}

fn error(status: u16, code: &str, description: &str) -> Response {
    json_response(
        status,
        &json!({"error": code, "error_description": description}),
    )
}

/// The RFC 6749 §5.2 error response for a refused OAuth request.
pub fn oauth_error_response(e: &OAuthError) -> Response {
    match e {
        OAuthError::InvalidClient => {
            let mut r = error(401, e.code(), &e.to_string());
            r.headers
                .push(("www-authenticate".into(), "Basic realm=\"opcore\"".into()));
            r
        }
        OAuthError::Throttled {
            retry_after_seconds,
        } => {
            let mut r = error(
                429,
                e.code(),
                &format!(
                    "Too many failed authentication attempts. Try again in {retry_after_seconds} seconds."
                ),
            );
            r.headers
                .push(("retry-after".into(), retry_after_seconds.to_string()));
            r
        }
        OAuthError::Storage(inner @ crate::Error::Unavailable(_)) => {
            let mut r = error(503, "temporarily_unavailable", "Storage unavailable");
            r.internal_error = Some(inner.to_string());
            r
        }
        OAuthError::Storage(inner) => {
            let mut r = error(500, e.code(), "Internal server error");
            r.internal_error = Some(inner.to_string());
            r
        }
        _ => error(400, e.code(), &e.to_string()),
    }
}
