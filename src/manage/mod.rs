//! The transport-agnostic Manage API (openapi.json, docs/behaviour.md): an HTTP-shaped [`Request`] in, an HTTP-shaped
//! [`Response`] out. The only module that knows status codes, routes and JSON bodies; the C ABI
//! and `opcore serve` are thin adapters over [`handle`]. The same function serves the OAuth 2.0
//! endpoints (`/oauth/token`, `/oauth/revoke`, `/oauth/introspect`, docs/oauth.md), and every Manage
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
use crate::store::{limit_error, ListOptions, Page};
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

    /// An error body `{"error": <reason phrase>, "message"}`, as every Manage error has.
    pub(crate) fn error(status: u16, message: &str) -> Response {
        Response::json_body(
            status,
            &json!({"error": reason(status), "message": message}),
        )
    }

    /// The 503 of a store that cannot reach its database (docs/scale-out.md#outages); `detail`
    /// is kept for the host's logs and never sent.
    pub(crate) fn unavailable(detail: String) -> Response {
        let mut r = Response::error(503, "Storage unavailable");
        r.internal_error = Some(detail);
        r
    }

    /// A 500 whose `detail` is kept for the host's logs and never sent.
    pub(crate) fn internal(detail: String) -> Response {
        let mut r = Response::error(500, "Internal server error");
        r.internal_error = Some(detail);
        r
    }

    /// A 400 listing `details`; a long list is cut here already (the rest of the bounds are
    /// applied to every error body by `bound_error_body`), so a thousand entries are never
    /// serialized.
    fn validation(details: &[FieldError]) -> Response {
        let mut shown = serde_json::to_value(&details[..details.len().min(MAX_ERROR_DETAILS - 1)])
            .unwrap_or_else(|_| Value::Array(Vec::new()));
        if let (Value::Array(list), true) = (&mut shown, details.len() >= MAX_ERROR_DETAILS) {
            if details.len() == MAX_ERROR_DETAILS {
                list.push(
                    serde_json::to_value(&details[MAX_ERROR_DETAILS - 1]).unwrap_or_default(),
                );
            } else {
                list.push(omitted_entry(details.len() - (MAX_ERROR_DETAILS - 1)));
            }
        }
        Response::json_body(
            400,
            &json!({"error": "Bad Request", "message": "Invalid request body", "details": shown}),
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
        408 => "Request Timeout",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
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
    /// `/.well-known/oauth-authorization-server`, with what follows it (RFC 8414 §3: the
    /// issuer's path, if it has one).
    Metadata(&'a str),
    List(Collection),
    Item(Collection, &'a str),
    /// `/manage/audit`: the organization's audit log (read only).
    Audit,
    /// `/clients/{id}/rotate` (docs/lifecycle.md#rotation).
    Rotate(&'a str),
}

impl Route<'_> {
    /// The methods the route answers, as the `Allow` header lists them.
    fn allowed(&self) -> &'static [&'static str] {
        match self {
            Route::OpenApi | Route::Metadata(_) | Route::Audit => &["GET", "HEAD"],
            Route::List(_) => &["GET", "HEAD", "POST"],
            Route::Item(..) => &["GET", "HEAD", "PATCH", "DELETE"],
            Route::Rotate(_) => &["POST"],
        }
    }
}

/// A method the Manage API answers. Methods are case-sensitive (RFC 9110 §9.1): `delete` is
/// not `DELETE`, and is refused like any other unknown method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Head,
    Post,
    Patch,
    Delete,
}

impl Method {
    fn parse(method: &str) -> Option<Method> {
        match method {
            "GET" => Some(Method::Get),
            "HEAD" => Some(Method::Head),
            "POST" => Some(Method::Post),
            "PATCH" => Some(Method::Patch),
            "DELETE" => Some(Method::Delete),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    /// Whether the method may change the store (and so wait on its write lock).
    fn writes(self) -> bool {
        matches!(self, Method::Post | Method::Patch | Method::Delete)
    }
}

/// Longest body the OAuth endpoints read: their client credentials may be in the body, so
/// it is read before the client is known (docs/server.md#bodies).
pub const OAUTH_MAX_BODY_BYTES: usize = 16 << 10;

/// Longest error body opcore sends (docs/server.md#error-bodies).
pub const MAX_ERROR_BODY_BYTES: usize = 16 << 10;

/// Most `details` entries (and elements of any other array) in an error body.
pub const MAX_ERROR_DETAILS: usize = 20;

/// Longest message (in characters) in an error body.
pub const MAX_ERROR_MESSAGE_CHARS: usize = 200;

/// Serves one Manage API request. Never panics on any input; every failure is a JSON error
/// response with the status and message openapi.json documents.
///
/// The same as [`admit`] followed, when it asks for the body, by [`Admitted::complete`] with
/// `req.body` — hosts that read bodies themselves use those two steps instead, so that an
/// unauthenticated request's body is never read.
pub fn handle(store: &Store, req: &Request<'_>) -> Response {
    match admit(store, req) {
        Admission::Respond(r) => r,
        Admission::Body(admitted) => admitted.complete(store, req, req.body),
    }
}

/// What [`admit`] decided from a request's head (method, target, headers, source).
#[derive(Debug)]
pub enum Admission {
    /// The request is answered without its body: an unknown route, a method the route does
    /// not allow, refused credentials, `openapi.json`. The body need not (and should not) be
    /// read.
    Respond(Response),
    /// The caller is authenticated (or the route is an OAuth endpoint, whose credentials may
    /// be in the body): read at most [`Admitted::body_limit`] `+ 1` bytes of the body and pass
    /// them to [`Admitted::complete`].
    Body(Admitted),
}

/// A request admitted by [`admit`], waiting for its body.
#[derive(Debug)]
pub struct Admitted {
    step: Pending,
    head_only: bool,
}

#[derive(Debug)]
enum Pending {
    Manage {
        principal: Principal,
        route: OwnedRoute,
        method: Method,
    },
    OAuth(oauth::Endpoint),
}

#[derive(Debug)]
enum OwnedRoute {
    List(Collection),
    Item(Collection, String),
    Audit,
    Rotate(String),
}

impl Admitted {
    /// The most body bytes the request may have: [`MAX_BODY_BYTES`] for the Manage API,
    /// [`OAUTH_MAX_BODY_BYTES`] for the OAuth endpoints. Longer bodies are a 413; reading one
    /// byte more than this is enough to tell.
    pub fn body_limit(&self) -> usize {
        match self.step {
            Pending::Manage { .. } => MAX_BODY_BYTES,
            Pending::OAuth(_) => OAUTH_MAX_BODY_BYTES,
        }
    }

    /// Whether completing the request may block for a while (a write waiting for the
    /// database's write lock, an OAuth client's argon2 verification): event-loop hosts run
    /// such requests on a blocking thread, everything else inline.
    pub fn may_block(&self) -> bool {
        match &self.step {
            Pending::Manage { method, .. } => method.writes(),
            Pending::OAuth(_) => true,
        }
    }

    /// Serves the admitted request with its `body` (`head` is the request [`admit`] saw; its
    /// own `body` field is ignored). A body longer than [`Admitted::body_limit`] is a 413.
    pub fn complete(self, store: &Store, head: &Request<'_>, body: &[u8]) -> Response {
        let response = match self.step {
            Pending::OAuth(endpoint) => {
                if body.len() > OAUTH_MAX_BODY_BYTES {
                    oauth::body_too_large(OAUTH_MAX_BODY_BYTES)
                } else {
                    oauth::handle(store, &Request { body, ..*head }, endpoint)
                }
            }
            Pending::Manage {
                principal,
                route,
                method,
            } => manage(store, head, &principal, &route, method, body).with_rate(&principal.rate),
        };
        finish(response, self.head_only)
    }
}

/// The first step of serving a request, from its head alone (`req.body` is ignored): routing,
/// the method check and authentication. See [`Admission`].
pub fn admit(store: &Store, req: &Request<'_>) -> Admission {
    let head_only = req.method == "HEAD";
    let respond = |r: Response| Admission::Respond(finish(r, head_only));
    let path = req.target.split_once('?').map_or(req.target, |(p, _)| p);
    if let Some(endpoint) = oauth::route(path) {
        if req.method != "POST" {
            return respond(oauth::method_not_allowed());
        }
        return Admission::Body(Admitted {
            step: Pending::OAuth(endpoint),
            head_only,
        });
    }
    let Some(route) = route(path) else {
        return respond(Response::error(404, "Route not found"));
    };
    let allowed = route.allowed();
    let method = match Method::parse(req.method) {
        Some(m) if allowed.contains(&m.as_str()) => m,
        _ => {
            let mut r = Response::error(
                405,
                &format!(
                    "Method {} is not allowed on this route",
                    truncate(req.method, 16)
                ),
            );
            r.headers.push(("allow".into(), allowed.join(", ")));
            return respond(r);
        }
    };
    let route = match route {
        Route::OpenApi => {
            return respond(Response {
                status: 200,
                headers: vec![("content-type".into(), "application/json".into())],
                body: OPENAPI_JSON.as_bytes().to_vec(),
                internal_error: None,
            })
        }
        Route::Metadata(suffix) => return respond(oauth::metadata(store, suffix)),
        Route::List(c) => OwnedRoute::List(c),
        Route::Item(c, id) => OwnedRoute::Item(c, id.to_owned()),
        Route::Audit => OwnedRoute::Audit,
        Route::Rotate(id) => OwnedRoute::Rotate(id.to_owned()),
    };
    match authenticate(store, req) {
        Ok(principal) => Admission::Body(Admitted {
            step: Pending::Manage {
                principal,
                route,
                method,
            },
            head_only,
        }),
        Err(r) => respond(r),
    }
}

/// Whether [`admit`] may block for a while on this head: its credentials are a client id
/// and secret that are not in the credential cache, so authenticating them may run an
/// argon2 verification, or the store's rate limits are shared (each decision a Redis round
/// trip, docs/scale-out.md). Event-loop hosts admit such requests on a blocking thread and all
/// others inline.
pub fn admission_may_block(store: &Store, req: &Request<'_>) -> bool {
    let path = req.target.split_once('?').map_or(req.target, |(p, _)| p);
    if oauth::route(path).is_some() || route(path).is_none() {
        return false;
    }
    // A shared limiter's decision is a Redis round trip (bounded by its timeouts,
    // docs/scale-out.md): never on the event loop.
    if store.shared_rate_limits() {
        return true;
    }
    if req.header("authorization").and_then(bearer_token).is_some() {
        return false;
    }
    store.may_verify_secret(
        req.header("openpanel-client-id"),
        req.header("openpanel-client-secret"),
    )
}

/// The resource call of an admitted Manage request.
fn manage(
    store: &Store,
    head: &Request<'_>,
    principal: &Principal,
    route: &OwnedRoute,
    method: Method,
    body: &[u8],
) -> Response {
    if body.len() > MAX_BODY_BYTES {
        return Response::error(413, &format!("Request body exceeds {MAX_BODY_BYTES} bytes"));
    }
    // Every read and write re-checks, inside its own transaction, that the caller still
    // exists (docs/security.md#revocation-windows).
    let store = &store.acting_as(principal);
    let org = &*principal.organization_id;
    let query = head.target.split_once('?').map_or("", |(_, q)| q);
    let result = match (route, method) {
        (OwnedRoute::List(c), Method::Get | Method::Head) => list(
            store,
            org,
            *c,
            query_param(query, "projectId").as_deref(),
            query,
        ),
        (OwnedRoute::List(c), _) => create(store, org, *c, body),
        (OwnedRoute::Item(c, id), Method::Get | Method::Head) => get(store, org, *c, id),
        (OwnedRoute::Item(c, id), Method::Patch) => update(store, org, *c, id, body),
        (OwnedRoute::Item(c, id), _) => delete(store, org, *c, id),
        // `admit` lets only GET and HEAD through to the audit log.
        (OwnedRoute::Audit, _) => audit(store, org, query),
        (OwnedRoute::Rotate(id), _) => rotate(store, org, id, body),
    };
    match result {
        Ok(response) => response,
        Err(Outcome::Store(Error::Unauthenticated)) => {
            error_response(Outcome::Store(Error::Unauthenticated))
        }
        // A refusal may come before any transaction (a bad body, query or id), so it did not
        // necessarily check the caller: a deleted client gets its 401 first, as the order of
        // checks says (docs/security.md), whatever else is wrong with the request.
        Err(refusal) => match store.check_actor() {
            Err(Error::Unauthenticated) => error_response(Outcome::Store(Error::Unauthenticated)),
            _ => error_response(refusal),
        },
    }
}

/// Every response's last step: error bodies bounded, and no body for `HEAD`.
fn finish(response: Response, head_only: bool) -> Response {
    let mut response = bound_error_body(response);
    if head_only {
        response.body.clear();
    }
    response
}

/// Error bodies are bounded whatever the input (docs/server.md#error-bodies): at most
/// [`MAX_ERROR_DETAILS`] entries in any array (in `details`, the last then says how many were
/// left out), strings cut to [`MAX_ERROR_MESSAGE_CHARS`] characters, and the whole body at
/// most [`MAX_ERROR_BODY_BYTES`] bytes. Bodies short enough to hold no long string pass
/// untouched.
fn bound_error_body(mut response: Response) -> Response {
    if response.status < 400 || response.body.len() <= MAX_ERROR_MESSAGE_CHARS {
        return response;
    }
    let mut value = match serde_json::from_slice::<Value>(&response.body) {
        Ok(v) => v,
        Err(_) => {
            // Not JSON (never made by opcore): replaced rather than passed on unbounded.
            response.body = minimal_error(response.status);
            return response;
        }
    };
    bound_value(&mut value, None);
    let mut body = serde_json::to_vec(&value).unwrap_or_default();
    // Still too large (strings of escaped characters): fewer details until it fits.
    while body.len() > MAX_ERROR_BODY_BYTES {
        let Some(details) = value
            .get_mut("details")
            .and_then(Value::as_array_mut)
            .filter(|d| d.len() > 2)
        else {
            body = minimal_error(response.status);
            break;
        };
        let total = omitted_total(details);
        let keep = details.len() / 2;
        details.truncate(keep);
        details.push(omitted_entry(total - keep));
        body = serde_json::to_vec(&value).unwrap_or_default();
    }
    response.body = body;
    response
}

/// How many entries `details` stands for: its own, plus those an earlier cut summarized in
/// its last entry.
fn omitted_total(details: &[Value]) -> usize {
    let summarized: Option<usize> = details
        .last()
        .filter(|d| {
            d.get("path")
                .and_then(Value::as_array)
                .is_some_and(Vec::is_empty)
        })
        .and_then(|d| {
            d.get("message")?
                .as_str()?
                .strip_suffix(OMITTED_SUFFIX)?
                .parse()
                .ok()
        });
    match summarized {
        Some(n) => details.len() - 1 + n.min(usize::MAX / 2),
        None => details.len(),
    }
}

const OMITTED_SUFFIX: &str = " more errors not shown";

/// The last `details` entry of a cut list: `{"path":[],"message":"N more errors not shown"}`.
fn omitted_entry(omitted: usize) -> Value {
    json!({"path": [], "message": format!("{omitted}{OMITTED_SUFFIX}")})
}

fn bound_value(value: &mut Value, key: Option<&str>) {
    match value {
        Value::String(s) if s.chars().count() > MAX_ERROR_MESSAGE_CHARS => {
            let cut: String = s.chars().take(MAX_ERROR_MESSAGE_CHARS - 1).collect();
            *s = cut + "…";
        }
        Value::Array(items) => {
            if items.len() > MAX_ERROR_DETAILS {
                if key == Some("details") {
                    let total = omitted_total(items);
                    items.truncate(MAX_ERROR_DETAILS - 1);
                    items.push(omitted_entry(total - (MAX_ERROR_DETAILS - 1)));
                } else {
                    items.truncate(MAX_ERROR_DETAILS);
                }
            }
            for item in items {
                bound_value(item, None);
            }
        }
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                bound_value(v, Some(k));
            }
        }
        _ => {}
    }
}

fn minimal_error(status: u16) -> Vec<u8> {
    serde_json::to_vec(&json!({"error": reason(status), "message": reason(status)}))
        .unwrap_or_default()
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// `/manage/...` or `/api/manage/...`, one optional trailing slash, percent-decoded ids.
fn route(path: &str) -> Option<Route<'_>> {
    if let Some(suffix) = path.strip_prefix(oauth::METADATA_PATH) {
        if suffix.is_empty() || suffix.starts_with('/') {
            return Some(Route::Metadata(suffix));
        }
    }
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
    if head == "audit" {
        return id.is_none().then_some(Route::Audit);
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
        Some(rest) => match rest.split_once('/') {
            Some((id, "rotate")) if collection == Collection::Clients && !id.is_empty() => {
                Some(Route::Rotate(id))
            }
            _ => None,
        },
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
            .map_err(|e| with_bearer_challenge(bearer_error_response(e)));
    }
    let auth = AuthRequest {
        family: Family::Manage,
        client_id: req.header("openpanel-client-id"),
        client_secret: req.header("openpanel-client-secret"),
        origin: req.header("origin"),
        project_id: None,
        source: req.source,
    };
    // The existence of a cached client is checked inside each operation's own transaction
    // (`manage` acts through `Store::acting_as`), not by a read of its own here.
    store
        .authenticator()
        .authenticate_for_acting(&auth)
        .map_err(|e| with_bearer_challenge(auth_error_response(e)))
}

/// Every Manage route accepts bearer tokens, so its 401s carry RFC 6750 §3's challenge — also
/// when no credentials were sent at all. No bearer token was presented here, so there is no
/// `error` attribute (docs/oauth.md).
fn with_bearer_challenge(mut r: Response) -> Response {
    if r.status == 401 && r.header("www-authenticate").is_none() {
        r.headers
            .push(("www-authenticate".into(), "Bearer realm=\"opcore\"".into()));
    }
    r
}

/// The HTTP status of a refused request, for HTTP responses and the C API's `http_status`
/// alike; the mapping belongs to `manage`, the one module that knows statuses.
impl AuthError {
    pub fn status(&self) -> u16 {
        match self {
            AuthError::InvalidCredentials
            | AuthError::CredentialsExpired
            | AuthError::MalformedClientId
            | AuthError::WrongType(_)
            | AuthError::MissingToken
            | AuthError::InvalidToken
            | AuthError::TokenExpired => 401,
            AuthError::ProjectForbidden | AuthError::InsufficientScope(_) => 403,
            AuthError::Throttled { .. } | AuthError::RateLimited(_) => 429,
            AuthError::Storage(Error::Unavailable(_)) => 503,
            AuthError::Storage(_) => 500,
        }
    }

    /// The `error` code of a refused bearer-token request (docs/oauth.md): `missing_api_key`,
    /// `token_expired` or `invalid_api_key`; `insufficient_scope` and `rate_limit_exceeded` for
    /// a token that is valid but may not do this now.
    pub(crate) fn bearer_error_code(&self) -> &'static str {
        match self {
            AuthError::MissingToken => "missing_api_key",
            AuthError::TokenExpired => "token_expired",
            AuthError::InsufficientScope(_) => "insufficient_scope",
            AuthError::RateLimited(_) => "rate_limit_exceeded",
            _ => "invalid_api_key",
        }
    }
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

/// The response for a refused bearer-token request: the bodies of docs/oauth.md
/// (`{"error":"invalid_api_key","message":"The API key provided is invalid."}` and the like)
/// with RFC 6750's `WWW-Authenticate` header.
pub fn bearer_error_response(e: AuthError) -> Response {
    let challenge = |error: Option<&str>| match error {
        None => "Bearer realm=\"opcore\"".to_string(),
        Some(e) => format!("Bearer realm=\"opcore\", error=\"{e}\""),
    };
    let www = match &e {
        AuthError::MissingToken => challenge(None),
        AuthError::InvalidToken | AuthError::TokenExpired => challenge(Some("invalid_token")),
        AuthError::InsufficientScope(family) => format!(
            "{}, scope=\"{}\"",
            challenge(Some("insufficient_scope")),
            family.as_str()
        ),
        AuthError::RateLimited(rate) => {
            let wait = rate.retry_after_seconds.unwrap_or(1);
            return Response::json_body(
                429,
                &json!({
                    "error": e.bearer_error_code(),
                    "message": format!("Rate limit exceeded. Try again in {wait} seconds."),
                }),
            )
            .with_rate(rate);
        }
        _ => return auth_error_response(e),
    };
    let mut r = Response::json_body(
        e.status(),
        &json!({"error": e.bearer_error_code(), "message": e.to_string()}),
    );
    r.headers.push(("www-authenticate".into(), www));
    r
}

fn internal(e: &Error) -> Response {
    match e {
        Error::Unavailable(_) => Response::unavailable(e.to_string()),
        _ => Response::internal(e.to_string()),
    }
}

/// Why a resource call did not produce a success response.
enum Outcome {
    Invalid(Vec<FieldError>),
    /// A list's `limit` or `cursor` is invalid.
    Query(Vec<FieldError>),
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
        Outcome::Query(details) => Response::json_body(
            400,
            &json!({"error": "Bad Request", "message": "Invalid query parameters", "details": details}),
        ),
        Outcome::Store(Error::NotFound(resource)) => {
            Response::error(404, resource.not_found_message())
        }
        Outcome::Store(Error::Conflict(message)) => Response::error(400, &message),
        Outcome::Store(Error::Unauthenticated) => with_bearer_challenge(Response::error(
            401,
            AuthError::InvalidCredentials.to_string().as_str(),
        )),
        Outcome::Store(e) => internal(&e),
    }
}

/// `{"data": …}`, serialized straight from the typed value.
#[derive(Serialize)]
struct Data<'a, T: Serialize> {
    data: &'a T,
}

/// A list body: `{"data": […]}`, plus `"nextCursor"` when a limit was given and more rows
/// remain (docs/behaviour.md#lists).
#[derive(Serialize)]
pub(crate) struct ListBody<'a, T: Serialize> {
    data: &'a [T],
    #[serde(rename = "nextCursor", skip_serializing_if = "Option::is_none")]
    next_cursor: Option<&'a str>,
}

impl<'a, T: Serialize> ListBody<'a, T> {
    pub(crate) fn of(page: &'a Page<T>) -> Self {
        ListBody {
            data: &page.items,
            next_cursor: page.next_cursor.as_deref(),
        }
    }
}

fn data(value: &impl Serialize) -> Result<Response, Outcome> {
    Ok(Response::json_body(200, &Data { data: value }))
}

/// Roughly the JSON size of one listed resource, to size the body once.
const LISTED_BYTES: usize = 320;

/// A 200 with a JSON body.
fn json_ok(body: Vec<u8>) -> Response {
    Response {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body,
        internal_error: None,
    }
}

fn page_body<T: Serialize>(page: &Page<T>) -> Result<Vec<u8>, Outcome> {
    let mut body = Vec::with_capacity(64 + page.items.len() * LISTED_BYTES);
    serde_json::to_writer(&mut body, &ListBody::of(page))
        .map_err(|e| Error::Storage(e.to_string()))?;
    Ok(body)
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
    query: &str,
) -> Result<Response, Outcome> {
    let project = project.filter(|p| !p.is_empty());
    let options = list_options(query).map_err(Outcome::Query)?;
    // A bad limit or cursor is a query error, not a body error.
    let query_error = |e: Error| match e {
        Error::Validation(details) => Outcome::Query(details),
        other => Outcome::Store(other),
    };
    // Everything the page depends on besides the store's contents (docs/server.md#the-page-cache).
    let key = format!(
        "{org}\0{}\0{}\0{}\0{}",
        c as u8,
        project.unwrap_or(""),
        options.limit.map_or(-1, i64::from),
        options.cursor.as_deref().unwrap_or("")
    );
    if c == Collection::Clients {
        // Client reads show `lastUsedAt`: write what is queued first, so that a cached page
        // is checked against it (docs/lifecycle.md#last-use).
        store.authenticator().flush_last_used();
    }
    let body = store.cached_page(key, org, |store| match c {
        Collection::Projects => page_body(
            &store
                .list_projects_page(org, &options)
                .map_err(query_error)?,
        ),
        Collection::Clients => page_body(
            &store
                .list_clients_page(org, project, &options)
                .map_err(query_error)?,
        ),
        Collection::References => page_body(
            &store
                .list_references_page(org, project, &options)
                .map_err(query_error)?,
        ),
    })?;
    Ok(json_ok(body))
}

/// `GET /manage/audit[?limit=&cursor=&resourceId=]`: a page of the organization's audit log
/// (docs/lifecycle.md#audit-log). Root clients only, as every Manage route; an empty
/// `resourceId` is no filter.
fn audit(store: &Store, org: &str, query: &str) -> Result<Response, Outcome> {
    let options = list_options(query).map_err(Outcome::Query)?;
    let resource = query_param(query, "resourceId").filter(|r| !r.is_empty());
    let query_error = |e: Error| match e {
        Error::Validation(details) => Outcome::Query(details),
        other => Outcome::Store(other),
    };
    let body = page_body(
        &store
            .list_audit(org, resource.as_deref(), &options)
            .map_err(query_error)?,
    )?;
    Ok(json_ok(body))
}

/// `limit` and `cursor` from a list's query string. `limit` is a decimal integer (its range
/// is the store's rule); each may be given once.
fn list_options(query: &str) -> Result<ListOptions, Vec<FieldError>> {
    let mut options = ListOptions::default();
    let mut errors = Vec::new();
    let (mut limits, mut cursors) = (0, 0);
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match &*key {
            "limit" => {
                limits += 1;
                let parsed = (!value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| value.parse::<u32>().ok())
                    .flatten();
                match parsed {
                    Some(n) if limits == 1 => options.limit = Some(n),
                    None if limits == 1 => errors.push(limit_error()),
                    _ => {}
                }
            }
            "cursor" => {
                cursors += 1;
                if cursors == 1 {
                    options.cursor = Some(value.into_owned());
                }
            }
            _ => {}
        }
    }
    if limits > 1 {
        errors.retain(|e| e != &limit_error());
        errors.push(FieldError::new("limit", "Given more than once"));
    }
    if cursors > 1 {
        errors.push(FieldError::new("cursor", "Given more than once"));
    }
    if errors.is_empty() {
        Ok(options)
    } else {
        Err(errors)
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

/// `POST /clients/{id}/rotate`: the client, its new secret (once) and when the previous one
/// stops working (docs/lifecycle.md#rotation).
fn rotate(store: &Store, org: &str, id: &str, body: &[u8]) -> Result<Response, Outcome> {
    let id = decode(id);
    let grace = body::grace_seconds(&object(body)?)?;
    data(&store.rotate_client(org, &id, grace)?)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn error_body(value: Value) -> Response {
        Response::json_body(400, &value)
    }

    #[test]
    fn long_detail_lists_keep_19_entries_and_say_how_many_were_left_out() {
        for (n, shown, last) in [
            (3, 3, None),
            (20, 20, None),
            (21, 20, Some("2 more errors not shown")),
            (100_000, 20, Some("99981 more errors not shown")),
        ] {
            let details: Vec<FieldError> = (0..n)
                .map(|i| FieldError::at_index("cors", i, "Invalid url"))
                .collect();
            let r = bound_error_body(Response::validation(&details));
            let v = r.json();
            let list = v["details"].as_array().unwrap();
            assert_eq!(list.len(), shown, "{n}");
            assert_eq!(
                list[0],
                json!({"path": ["cors", 0], "message": "Invalid url"})
            );
            match last {
                None => assert_eq!(list[shown - 1]["path"], json!(["cors", shown - 1])),
                Some(m) => assert_eq!(list[19], json!({"path": [], "message": m})),
            }
        }
    }

    #[test]
    fn every_string_is_cut_to_200_characters_and_every_body_to_16_kib() {
        let long = "é".repeat(5000);
        let r = bound_error_body(Response::error(400, &long));
        let message = r.json()["message"].as_str().unwrap().to_owned();
        assert_eq!(message.chars().count(), MAX_ERROR_MESSAGE_CHARS);
        assert!(message.ends_with('…'));

        // 200 control characters escape to 6 bytes each: 20 of them exceed 16 KiB.
        let escaped = "\u{1}".repeat(1000);
        let details: Vec<Value> = (0..40)
            .map(|i| json!({"path": [escaped.clone(), i], "message": escaped.clone()}))
            .collect();
        let r = bound_error_body(error_body(json!({
            "error": "Bad Request", "message": "Invalid request body", "details": details
        })));
        assert!(r.body.len() <= MAX_ERROR_BODY_BYTES, "{}", r.body.len());
        let v = r.json();
        let list = v["details"].as_array().unwrap();
        assert!(list.len() < 20);
        let summary = list.last().unwrap();
        assert_eq!(summary["path"], json!([]));
        let omitted: usize = summary["message"]
            .as_str()
            .unwrap()
            .strip_suffix(OMITTED_SUFFIX)
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(omitted + list.len() - 1, 40);
    }

    #[test]
    fn small_and_successful_bodies_pass_untouched() {
        let ok = Response::json_body(200, &json!({"data": "x".repeat(10_000)}));
        assert_eq!(bound_error_body(ok.clone()), ok);
        let small = Response::error(404, "Project not found");
        assert_eq!(bound_error_body(small.clone()), small);
    }
}
