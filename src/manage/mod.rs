//! The transport-agnostic Manage API (SPEC §5): an HTTP-shaped [`Request`] in, an HTTP-shaped
//! [`Response`] out. The only module that knows status codes, routes and JSON bodies; the C ABI
//! and `opcore serve` are thin adapters over [`handle`]. The same function serves the OAuth 2.0
//! endpoints (`/oauth/token`, `/oauth/revoke`, `/oauth/introspect`, SPEC §8), and every Manage
//! route also accepts `Authorization: Bearer <access token>`.

pub(crate) mod body;
mod oauth;

pub use oauth::oauth_error_response;

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::auth::ratelimit::Decision;
use crate::auth::tokens::BearerRequest;
use crate::auth::{AuthError, AuthRequest, Principal};
use crate::domain::access::Family;
use crate::domain::validate::FieldError;
use crate::error::Error;
use crate::Store;

/// The committed OpenAPI 3.1 description of this API, served at `GET /manage/openapi.json`.
pub const OPENAPI_JSON: &str = include_str!("../../openapi.json");

/// Request bodies larger than this are refused with 413 before parsing.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// An HTTP-shaped request. Header names are matched case-insensitively.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    /// Path and optional query, e.g. `/manage/clients?projectId=my-project`.
    pub target: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
    /// The caller's network address, when the host knows it (failed-attempt throttle).
    pub source: Option<&'a str>,
}

impl<'a> Request<'a> {
    pub fn new(method: &'a str, target: &'a str) -> Self {
        Request {
            method,
            target,
            headers: &[],
            body: &[],
            source: None,
        }
    }

    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, v)| v)
    }
}

/// An HTTP-shaped response: status, headers (lowercase names) and a JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// For the host's logs on a 500: what failed inside (never a secret, never sent).
    pub internal_error: Option<String>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON (for tests and hosts that want a value).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    fn json_body(status: u16, body: &impl Serialize) -> Response {
        Response {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec()),
            internal_error: None,
        }
    }

    fn error(status: u16, message: &str) -> Response {
        Response::json_body(
            status,
            &json!({"error": reason(status), "message": message}),
        )
    }

    fn validation(details: &[FieldError]) -> Response {
        Response::json_body(
            400,
            &json!({"error": "Bad Request", "message": "Invalid request body", "details": details}),
        )
    }

    fn with_rate(mut self, rate: &Decision) -> Response {
        self.headers.extend([
            ("x-ratelimit-limit".into(), rate.limit.to_string()),
            ("x-ratelimit-remaining".into(), rate.remaining.to_string()),
            ("x-ratelimit-reset".into(), rate.reset_seconds.to_string()),
        ]);
        if let Some(burst) = &rate.burst {
            self.headers.extend([
                ("x-ratelimit-burst-limit".into(), burst.limit.to_string()),
                (
                    "x-ratelimit-burst-remaining".into(),
                    burst.remaining.to_string(),
                ),
                (
                    "x-ratelimit-burst-reset".into(),
                    burst.reset_seconds.to_string(),
                ),
            ]);
        }
        if let Some(retry) = rate.retry_after_seconds {
            self.headers.push(("retry-after".into(), retry.to_string()));
        }
        self
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        _ => "Internal Server Error",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Collection {
    Projects,
    Clients,
    References,
}

enum Route<'a> {
    OpenApi,
    List(Collection),
    Item(Collection, &'a str),
}

/// Serves one Manage API request. Never panics on any input; every failure is a JSON error
/// response with the SPEC's status and message.
pub fn handle(store: &Store, req: &Request<'_>) -> Response {
    let (path, query) = req.target.split_once('?').unwrap_or((req.target, ""));
    if let Some(endpoint) = oauth::route(path) {
        return oauth::handle(store, req, endpoint);
    }
    let Some(route) = route(path) else {
        return Response::error(404, "Route not found");
    };
    let method = req.method.to_ascii_uppercase();
    let allowed: &[&str] = match route {
        Route::OpenApi => &["GET"],
        Route::List(_) => &["GET", "POST"],
        Route::Item(..) => &["GET", "PATCH", "DELETE"],
    };
    if !allowed.contains(&method.as_str()) {
        let mut r = Response::error(
            405,
            &format!(
                "Method {} is not allowed on this route",
                truncate(&method, 16)
            ),
        );
        r.headers.push(("allow".into(), allowed.join(", ")));
        return r;
    }
    if let Route::OpenApi = route {
        return Response {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: OPENAPI_JSON.as_bytes().to_vec(),
            internal_error: None,
        };
    }
    let principal = match authenticate(store, req) {
        Ok(p) => p,
        Err(r) => return r,
    };
    // Writes re-check, inside their transaction, that the caller still exists.
    let store = &store.acting_as(&principal);
    if req.body.len() > MAX_BODY_BYTES {
        return Response::error(413, &format!("Request body exceeds {MAX_BODY_BYTES} bytes"))
            .with_rate(&principal.rate);
    }
    let org = &*principal.organization_id;
    let project_filter = query_param(query, "projectId");
    let result = match (route, method.as_str()) {
        (Route::List(c), "GET") => list(store, org, c, project_filter.as_deref()),
        (Route::List(c), _) => create(store, org, c, req.body),
        (Route::Item(c, id), "GET") => get(store, org, c, id),
        (Route::Item(c, id), "PATCH") => update(store, org, c, id, req.body),
        (Route::Item(c, id), _) => delete(store, org, c, id),
        (Route::OpenApi, _) => unreachable_route(),
    };
    result
        .unwrap_or_else(error_response)
        .with_rate(&principal.rate)
}

fn unreachable_route() -> Result<Response, Outcome> {
    Ok(Response::error(404, "Route not found"))
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// `/manage/...` or `/api/manage/...`, one optional trailing slash, percent-decoded ids.
fn route(path: &str) -> Option<Route<'_>> {
    let rest = path
        .strip_prefix("/api/manage")
        .or_else(|| path.strip_prefix("/manage"))?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let rest = rest.strip_prefix('/')?;
    let (head, id) = match rest.split_once('/') {
        Some((h, id)) => (h, Some(id)),
        None => (rest, None),
    };
    if head == "openapi.json" && id.is_none() {
        return Some(Route::OpenApi);
    }
    let collection = match head {
        "projects" => Collection::Projects,
        "clients" => Collection::Clients,
        "references" => Collection::References,
        _ => return None,
    };
    match id {
        None => Some(Route::List(collection)),
        Some(id) if !id.is_empty() && !id.contains('/') => Some(Route::Item(collection, id)),
        Some(_) => None,
    }
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

fn query_param(query: &str, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn authenticate(store: &Store, req: &Request<'_>) -> Result<Principal, Response> {
    if let Some(token) = req.header("authorization").and_then(bearer_token) {
        let bearer = BearerRequest {
            family: Family::Manage,
            token,
            project_id: None,
        };
        return store
            .authenticate_bearer(&bearer)
            .map_err(bearer_error_response);
    }
    let auth = AuthRequest {
        family: Family::Manage,
        client_id: req.header("openpanel-client-id"),
        client_secret: req.header("openpanel-client-secret"),
        origin: req.header("origin"),
        project_id: None,
        source: req.source,
    };
    store.authenticate(&auth).map_err(auth_error_response)
}

/// The response for a refused authentication (also used by hosts for the other families).
pub fn auth_error_response(e: AuthError) -> Response {
    match e {
        AuthError::RateLimited(rate) => {
            Response::error(429, "Rate limit exceeded").with_rate(&rate)
        }
        AuthError::Throttled {
            retry_after_seconds,
        } => {
            let mut r = Response::error(429, "Rate limit exceeded");
            r.headers
                .push(("retry-after".into(), retry_after_seconds.to_string()));
            r
        }
        AuthError::Storage(inner) => internal(&inner),
        other => Response::error(other.status(), &other.to_string()),
    }
}

/// The token in an `Authorization: Bearer <token>` header (empty when none follows), or None
/// for another scheme.
pub fn bearer_token(header: &str) -> Option<&str> {
    let header = header.trim();
    let scheme = header.get(..6)?;
    let rest = &header[6..];
    if !scheme.eq_ignore_ascii_case("bearer") || !(rest.is_empty() || rest.starts_with([' ', '\t']))
    {
        return None;
    }
    Some(rest.trim())
}

/// The response for a refused bearer-token request: the seed's bodies
/// (`{"error":"invalid_api_key","message":"The API key provided is invalid."}` and the like)
/// with RFC 6750's `WWW-Authenticate` header.
pub fn bearer_error_response(e: AuthError) -> Response {
    let challenge = |error: Option<&str>| match error {
        None => "Bearer realm=\"opcore\"".to_string(),
        Some(e) => format!("Bearer realm=\"opcore\", error=\"{e}\""),
    };
    let (status, code, www) = match &e {
        AuthError::MissingToken => (401, "missing_api_key", challenge(None)),
        AuthError::InvalidToken => (401, "invalid_api_key", challenge(Some("invalid_token"))),
        AuthError::TokenExpired => (401, "token_expired", challenge(Some("invalid_token"))),
        AuthError::InsufficientScope(family) => (
            403,
            "insufficient_scope",
            format!(
                "{}, scope=\"{}\"",
                challenge(Some("insufficient_scope")),
                family.as_str()
            ),
        ),
        AuthError::RateLimited(rate) => {
            let wait = rate.retry_after_seconds.unwrap_or(1);
            return Response::json_body(
                429,
                &json!({
                    "error": "rate_limit_exceeded",
                    "message": format!("Rate limit exceeded. Try again in {wait} seconds."),
                }),
            )
            .with_rate(rate);
        }
        _ => return auth_error_response(e),
    };
    let mut r = Response::json_body(status, &json!({"error": code, "message": e.to_string()}));
    r.headers.push(("www-authenticate".into(), www));
    r
}

fn internal(e: &Error) -> Response {
    let mut r = Response::error(500, "Internal server error");
    r.internal_error = Some(e.to_string());
    r
}

/// Why a resource call did not produce a success response.
enum Outcome {
    Invalid(Vec<FieldError>),
    Store(Error),
}

impl From<Error> for Outcome {
    fn from(e: Error) -> Self {
        Outcome::Store(e)
    }
}

impl From<Vec<FieldError>> for Outcome {
    fn from(e: Vec<FieldError>) -> Self {
        Outcome::Invalid(e)
    }
}

fn error_response(o: Outcome) -> Response {
    match o {
        Outcome::Invalid(details) | Outcome::Store(Error::Validation(details)) => {
            Response::validation(&details)
        }
        Outcome::Store(Error::NotFound(resource)) => {
            Response::error(404, resource.not_found_message())
        }
        Outcome::Store(Error::Conflict(message)) => Response::error(400, &message),
        Outcome::Store(Error::Unauthenticated) => {
            Response::error(401, AuthError::InvalidCredentials.to_string().as_str())
        }
        Outcome::Store(e) => internal(&e),
    }
}

fn data(value: &impl Serialize) -> Result<Response, Outcome> {
    Ok(Response::json_body(200, &json!({ "data": value })))
}

fn success() -> Result<Response, Outcome> {
    Ok(Response::json_body(200, &json!({ "success": true })))
}

fn object(body: &[u8]) -> Result<Map<String, Value>, Outcome> {
    body::object(body).map_err(Outcome::Invalid)
}

fn list(
    store: &Store,
    org: &str,
    c: Collection,
    project: Option<&str>,
) -> Result<Response, Outcome> {
    let project = project.filter(|p| !p.is_empty());
    match c {
        Collection::Projects => data(&store.list_projects(org)?),
        Collection::Clients => data(&store.list_clients(org, project)?),
        Collection::References => data(&store.list_references(org, project)?),
    }
}

fn get(store: &Store, org: &str, c: Collection, id: &str) -> Result<Response, Outcome> {
    let id = decode(id);
    match c {
        Collection::Projects => data(&store.get_project(org, &id)?),
        Collection::Clients => data(&store.get_client(org, &id)?),
        Collection::References => data(&store.get_reference(org, &id)?),
    }
}

fn create(store: &Store, org: &str, c: Collection, body: &[u8]) -> Result<Response, Outcome> {
    let map = object(body)?;
    match c {
        Collection::Projects => data(&store.create_project(org, &body::new_project(&map)?)?),
        Collection::Clients => data(&store.create_client(org, &body::new_client(&map)?)?),
        Collection::References => data(&store.create_reference(org, &body::new_reference(&map)?)?),
    }
}

fn update(
    store: &Store,
    org: &str,
    c: Collection,
    id: &str,
    body: &[u8],
) -> Result<Response, Outcome> {
    let id = decode(id);
    let map = object(body)?;
    match c {
        Collection::Projects => {
            data(&store.update_project(org, &id, &body::project_changes(&map)?)?)
        }
        Collection::Clients => {
            data(&store.update_client(org, &id, &body::client_changes(&map)?)?)
        }
        Collection::References => {
            data(&store.update_reference(org, &id, &body::reference_changes(&map)?)?)
        }
    }
}

fn delete(store: &Store, org: &str, c: Collection, id: &str) -> Result<Response, Outcome> {
    let id = decode(id);
    match c {
        Collection::Projects => store.delete_project(org, &id).map(|_| ())?,
        Collection::Clients => store.delete_client(org, &id)?,
        Collection::References => store.delete_reference(org, &id)?,
    }
    success()
}
