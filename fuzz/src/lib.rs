//! Shared pieces of opcore's fuzz targets: a populated store, the text form of a fuzzed request
//! and the checks every Manage API response must pass.
//!
//! A fuzz input for `manage_handle` and `ffi_handle` is an HTTP-like text:
//!
//! ```text
//! POST /manage/clients
//! openpanel-client-id: {root.id}
//! openpanel-client-secret: {root.secret}
//!
//! {"name":"x","projectId":"{project}","type":"read"}
//! ```
//!
//! The first line is the method and the target, the following lines up to an empty line are
//! headers (`name: value`), the rest is the body. Placeholders are replaced by the fixture's
//! real values: ids (`{root.id}`, `{other.id}`, `{read.id}`, `{write.id}`, `{project}`,
//! `{client}`, `{reference}`) anywhere; secrets (`{root.secret}`, …), access tokens
//! (`{root.token}`, …) and HTTP Basic credentials (`{root.basic}`, …) only in header values
//! and in the values of the OAuth endpoints' credential parameters (`client_secret`, `token`,
//! `refresh_token`), so no secret can ever be stored as data or quoted back as the caller's
//! own input, and the checks can insist that none is ever returned.
//! The OAuth endpoints are the `/oauth/…` routes `manage::handle` also serves.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use opcore::auth::oauth::{ClientAuth, Grant};
use opcore::domain::secret::Argon2Params;
use opcore::{ClientType, ManualClock, NewClient, NewProject, NewReference, Options, RateLimit};
use opcore::{RateLimits, Store, Synchronous, Timestamp};
use serde_json::Value;

/// Rate limits high enough that only the failed-attempt throttle can answer 429.
pub const OPTIONS_JSON: &str = r#"{"argon2":{"m_cost":8,"t_cost":1,"p_cost":1},
  "synchronous":"normal","cross_process_staleness_ms":0,
  "rate_limits":{"manage":{"limit":1000000000,"window_seconds":1}}}"#;

/// A client id with its secret and organization.
#[derive(Debug, Clone)]
pub struct Identity {
    pub name: &'static str,
    pub id: String,
    pub secret: String,
    pub organization_id: String,
    pub client_type: ClientType,
    /// An access token issued to this client at setup (client-credentials grant).
    pub token: String,
}

/// A store file populated with two organizations and, in the first (`acme`), a project with a
/// read and a write client and a reference.
pub struct Fixture {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
    pub identities: Vec<Identity>,
    pub project: String,
    pub reference: String,
    pub clock: ManualClock,
}

/// 2024-01-15T10:30:00.000Z.
pub const T0: Timestamp = Timestamp(1_705_314_600_000);

pub fn options(clock: &ManualClock) -> Options {
    Options {
        argon2: Argon2Params {
            m_cost: 8,
            t_cost: 1,
            p_cost: 1,
        },
        synchronous: Synchronous::Normal,
        cross_process_staleness_ms: 0,
        rate_limits: RateLimits {
            manage: RateLimit::new(1_000_000_000, 1),
            ..RateLimits::default()
        },
        clock: Arc::new(clock.clone()),
        ..Options::default()
    }
}

fn scratch_dir() -> tempfile::TempDir {
    // RAM-backed when available: the targets measure opcore, not the disk.
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(dir) = tempfile::Builder::new()
            .prefix("opcore-fuzz")
            .tempdir_in(shm)
        {
            return dir;
        }
    }
    tempfile::Builder::new()
        .prefix("opcore-fuzz")
        .tempdir()
        .expect("temporary directory")
}

impl Fixture {
    /// Creates the file and its data; returns the fixture and the open store.
    pub fn new() -> (Fixture, Store) {
        let dir = scratch_dir();
        let path = dir.path().join("fuzz.db");
        let clock = ManualClock::new(T0);
        let store = Store::open(&path, options(&clock)).expect("open store");
        let acme = store.create_organization("Acme").expect("acme");
        let other = store.create_organization("Other").expect("other");
        let project = store
            .create_project(
                &acme.organization.id,
                &NewProject {
                    name: "Fuzz Project".into(),
                    domain: Some("https://example.com".into()),
                    cors: vec!["https://example.com".into(), "*.example.org".into()],
                    types: vec!["website".into()],
                    ..NewProject::default()
                },
            )
            .expect("project");
        let client = |client_type| {
            store
                .create_client(
                    &acme.organization.id,
                    &NewClient {
                        name: "Fuzz client".into(),
                        project_id: Some(project.project.id.clone()),
                        client_type,
                        ..NewClient::default()
                    },
                )
                .expect("client")
        };
        let read = client(ClientType::Read);
        let write = client(ClientType::Write);
        let reference = store
            .create_reference(
                &acme.organization.id,
                &NewReference {
                    project_id: project.project.id.clone(),
                    title: "Release".into(),
                    datetime: Some("2024-01-15T10:30:00Z".into()),
                    ..NewReference::default()
                },
            )
            .expect("reference");
        let identity = |name, id: &str, secret: &str, org: &str, client_type| {
            let issued = store
                .authenticator()
                .token(
                    &ClientAuth {
                        client_id: Some(id),
                        client_secret: Some(secret),
                        source: None,
                    },
                    &Grant::ClientCredentials { scope: None },
                )
                .expect("access token");
            Identity {
                name,
                id: id.to_owned(),
                secret: secret.to_owned(),
                organization_id: org.to_owned(),
                client_type,
                token: issued.access_token.expose().to_owned(),
            }
        };
        let identities = vec![
            identity(
                "root",
                &acme.client.client.id,
                acme.client.secret.expose(),
                &acme.organization.id,
                ClientType::Root,
            ),
            identity(
                "other",
                &other.client.client.id,
                other.client.secret.expose(),
                &other.organization.id,
                ClientType::Root,
            ),
            identity(
                "read",
                &read.client.id,
                read.secret.expose(),
                &acme.organization.id,
                ClientType::Read,
            ),
            identity(
                "write",
                &write.client.id,
                write.secret.expose(),
                &acme.organization.id,
                ClientType::Write,
            ),
        ];
        let fixture = Fixture {
            _dir: dir,
            path,
            identities,
            project: project.project.id,
            reference: reference.id,
            clock,
        };
        (fixture, store)
    }

    /// Each identity's current client type (None: deleted), in `identities` order.
    pub fn client_types(&self, store: &Store) -> Vec<Option<ClientType>> {
        self.identities
            .iter()
            .map(|i| {
                store
                    .get_client(&i.organization_id, &i.id)
                    .map(|c| c.client_type)
                    .ok()
            })
            .collect()
    }

    pub fn identity(&self, name: &str) -> &Identity {
        self.identities
            .iter()
            .find(|i| i.name == name)
            .expect("known identity")
    }

    fn id_values(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .identities
            .iter()
            .map(|i| (format!("{{{}.id}}", i.name), i.id.clone()))
            .collect();
        out.push(("{project}".into(), self.project.clone()));
        out.push(("{client}".into(), self.identity("read").id.clone()));
        out.push(("{reference}".into(), self.reference.clone()));
        out
    }

    fn secret_values(&self) -> Vec<(String, String)> {
        self.identities
            .iter()
            .flat_map(|i| {
                [
                    (format!("{{{}.secret}}", i.name), i.secret.clone()),
                    (format!("{{{}.token}}", i.name), i.token.clone()),
                    (
                        format!("{{{}.basic}}", i.name),
                        base64(format!("{}:{}", i.id, i.secret).as_bytes()),
                    ),
                ]
            })
            .collect()
    }

    /// Replaces id placeholders (and, when `secrets`, secret placeholders) in `bytes`.
    pub fn substitute(&self, bytes: &[u8], secrets: bool) -> Vec<u8> {
        let mut out = bytes.to_vec();
        if !out.contains(&b'{') {
            return out;
        }
        let mut pairs = self.id_values();
        if secrets {
            pairs.extend(self.secret_values());
        }
        for (from, to) in pairs {
            out = replace(&out, from.as_bytes(), to.as_bytes());
        }
        out
    }

    /// Every value a response must never contain: the secrets and the access tokens.
    pub fn secrets(&self) -> impl Iterator<Item = &str> {
        self.identities
            .iter()
            .flat_map(|i| [i.secret.as_str(), i.token.as_str()])
    }

    /// The ids that belong to `acme` and must never reach another organization.
    pub fn acme_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self
            .identities
            .iter()
            .filter(|i| i.organization_id == "acme")
            .map(|i| i.id.as_str())
            .collect();
        ids.push(&self.project);
        ids.push(&self.reference);
        ids
    }
}

/// Standard base64 with padding (HTTP Basic credentials).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn replace(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

/// A fuzzed request in bytes, split but not yet decoded.
#[derive(Debug, Default)]
pub struct RawRequest {
    pub method: Vec<u8>,
    pub target: Vec<u8>,
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    pub body: Vec<u8>,
}

/// Splits the text form (see the module documentation); never fails.
pub fn parse(data: &[u8]) -> RawRequest {
    let (head, body) = match find(data, b"\n\n") {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, &[][..]),
    };
    let mut lines = head.split(|&b| b == b'\n');
    let first = lines.next().unwrap_or_default();
    let (method, target) = match first.iter().position(|&b| b == b' ') {
        Some(i) => (&first[..i], &first[i + 1..]),
        None => (first, &[][..]),
    };
    let headers = lines
        .map(|line| match line.iter().position(|&b| b == b':') {
            Some(i) => {
                let value = &line[i + 1..];
                let value = value.strip_prefix(b" ").unwrap_or(value);
                (line[..i].to_vec(), value.to_vec())
            }
            None => (line.to_vec(), Vec::new()),
        })
        .collect();
    RawRequest {
        method: method.to_vec(),
        target: target.to_vec(),
        headers,
        body: body.to_vec(),
    }
}

/// The OAuth form parameters that carry credentials: the only places a secret or token may be.
const CREDENTIAL_PARAMS: [&str; 3] = ["client_secret", "token", "refresh_token"];

/// An OAuth form body with ids substituted anywhere and secrets and tokens only in the values
/// of the credential parameters.
fn substitute_form_values(fixture: &Fixture, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    for (i, pair) in body.split(|&b| b == b'&').enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        match pair.iter().position(|&b| b == b'=') {
            Some(eq) => {
                let name = &pair[..eq];
                let credential = CREDENTIAL_PARAMS.iter().any(|c| c.as_bytes() == name);
                out.extend(fixture.substitute(name, false));
                out.push(b'=');
                out.extend(fixture.substitute(&pair[eq + 1..], credential));
            }
            None => out.extend(fixture.substitute(pair, false)),
        }
    }
    out
}

/// Every string a server may read out of a target or body: the raw bytes, their
/// percent-decoding, the decoded form fields (names and, unless `keep` says the parameter
/// may hold a credential, values) and every JSON string.
fn decoded_views(bytes: &[u8], keep: impl Fn(&str) -> bool) -> Vec<Vec<u8>> {
    let mut views = vec![
        bytes.to_vec(),
        percent_encoding::percent_decode(bytes).collect::<Vec<u8>>(),
    ];
    for (name, value) in url::form_urlencoded::parse(bytes) {
        if !keep(&name) {
            views.push(value.into_owned().into_bytes());
        }
        views.push(name.into_owned().into_bytes());
    }
    if let Ok(json) = serde_json::from_slice::<Value>(bytes) {
        let mut strings = Vec::new();
        json_strings(&json, &mut strings);
        views.extend(strings.into_iter().map(String::into_bytes));
    }
    views
}

fn json_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| json_strings(v, out)),
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                json_strings(v, out);
            }
        }
        _ => {}
    }
}

/// Whether a target names one of the OAuth endpoints (`/oauth/…` or `/api/oauth/…`), which
/// `manage::handle` serves with RFC 6749 bodies.
fn is_oauth(target: &[u8]) -> bool {
    let path = target.split(|&b| b == b'?').next().unwrap_or_default();
    let path = path.strip_prefix(b"/api").unwrap_or(path);
    let Some(rest) = path.strip_prefix(b"/oauth/") else {
        return false;
    };
    matches!(
        rest.strip_suffix(b"/").unwrap_or(rest),
        b"token" | b"revoke" | b"introspect"
    )
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl RawRequest {
    /// Substitutes the fixture's placeholders: ids everywhere, secrets and tokens in header
    /// values and in OAuth form bodies.
    pub fn substituted(&self, fixture: &Fixture) -> RawRequest {
        let target = fixture.substitute(&self.target, false);
        let oauth = is_oauth(&target);
        RawRequest {
            method: self.method.clone(),
            headers: self
                .headers
                .iter()
                .map(|(n, v)| (n.clone(), fixture.substitute(v, true)))
                .collect(),
            body: if oauth {
                substitute_form_values(fixture, &self.body)
            } else {
                fixture.substitute(&self.body, false)
            },
            target,
        }
    }

    fn is_oauth(&self) -> bool {
        is_oauth(&self.target)
    }

    /// Whether the target or body holds one of the fixture's secrets (the fuzzer can learn
    /// them from comparisons) anywhere but in an OAuth credential parameter, read raw,
    /// percent-decoded, as form fields or as JSON strings. Such a request is skipped: it could
    /// store a secret as data, or have one quoted back as the caller's own input, and the leak
    /// check relies on a secret never being either.
    pub fn smuggles_secret(&self, fixture: &Fixture) -> bool {
        let oauth = self.is_oauth();
        let mut views = decoded_views(&self.target, |_| false);
        if oauth {
            // Raw and percent-decoded views would show the credential parameters' values too.
            views.extend(
                decoded_views(&self.body, |name| CREDENTIAL_PARAMS.contains(&name))
                    .into_iter()
                    .skip(2),
            );
        } else {
            views.extend(decoded_views(&self.body, |_| false));
        }
        fixture.secrets().any(|secret| {
            views
                .iter()
                .any(|view| find(view, secret.as_bytes()).is_some())
        })
    }

    /// Method, target and header strings cut at their first NUL, as a C caller's strings end
    /// there (the body has a length and is kept whole).
    pub fn cut_at_nul(self) -> RawRequest {
        let cut = |mut v: Vec<u8>| {
            if let Some(i) = v.iter().position(|&b| b == 0) {
                v.truncate(i);
            }
            v
        };
        RawRequest {
            method: cut(self.method),
            target: cut(self.target),
            headers: self
                .headers
                .into_iter()
                .map(|(n, v)| (cut(n), cut(v)))
                .collect(),
            body: self.body,
        }
    }

    /// The first value of a header, as `manage::Request::header` finds it.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v.as_slice())
    }
}

/// What a response looked like, however it was obtained.
pub struct Seen<'a> {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: &'a [u8],
}

fn reason(status: u16) -> Option<&'static str> {
    Some(match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        _ => return None,
    })
}

/// The checks every response must pass. Panics (a fuzzer finding) with a description.
/// `types` is [`Fixture::client_types`] taken just before the request (the fuzzer can change
/// a client's type or delete it).
pub fn check_response(
    fixture: &Fixture,
    types: &[Option<ClientType>],
    req: &RawRequest,
    seen: &Seen<'_>,
) {
    let status = seen.status;
    let body: Value = serde_json::from_slice(seen.body).unwrap_or_else(|e| {
        panic!(
            "status {status}: body is not JSON ({e}): {:?}",
            String::from_utf8_lossy(seen.body)
        )
    });
    for secret in fixture.secrets() {
        let leaked = find(seen.body, secret.as_bytes()).is_some()
            || seen
                .headers
                .iter()
                .any(|(n, v)| n.contains(secret) || v.contains(secret));
        assert!(
            !leaked,
            "a fixture secret appears in a {status} response: {}",
            String::from_utf8_lossy(seen.body).replace(secret, "<SECRET>")
        );
    }
    for (name, _) in &seen.headers {
        assert_eq!(
            name,
            &name.to_ascii_lowercase(),
            "header names are lowercase"
        );
    }
    assert!(
        status < 500,
        "status {status} (internal error in the body: {body})"
    );
    if req.is_oauth() {
        // RFC 6749 bodies: {"error": code, "error_description": text}.
        if status != 200 {
            assert!(body["error"].is_string(), "OAuth error field: {body}");
            let description = body["error_description"]
                .as_str()
                .unwrap_or_else(|| panic!("OAuth error_description: {body}"));
            // RFC 6749 §5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
            assert!(
                description
                    .bytes()
                    .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E)),
                "error_description outside RFC 6749's characters: {description:?}"
            );
        }
        return;
    }

    // Which client made the request, as authentication reads it: a bearer token when an
    // `Authorization: Bearer` header is present, else the openpanel-client-* headers.
    let header_text = |name| {
        req.header(name)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    };
    let bearer = header_text("authorization")
        .as_deref()
        .and_then(opcore::manage::bearer_token)
        .map(str::to_owned);
    if status != 200 {
        let expected = reason(status).unwrap_or_else(|| {
            panic!("unexpected status {status}: {body}");
        });
        let error = body["error"].as_str().unwrap_or_default();
        let bearer_codes = [
            "missing_api_key",
            "invalid_api_key",
            "token_expired",
            "insufficient_scope",
            "rate_limit_exceeded",
        ];
        assert!(
            error == expected || (bearer.is_some() && bearer_codes.contains(&error)),
            "error field: {body}"
        );
        assert!(body["message"].is_string(), "message field: {body}");
    }
    let claimed = header_text("openpanel-client-id").map(|id| id.trim().to_ascii_lowercase());
    let secret = header_text("openpanel-client-secret");
    let identity = fixture
        .identities
        .iter()
        .zip(types)
        .find(|(i, _)| match &bearer {
            Some(token) => *token == i.token,
            None => claimed.as_deref() == Some(i.id.as_str()),
        });
    let target = String::from_utf8_lossy(&req.target);
    let path = target.split('?').next().unwrap_or_default();
    let openapi = matches!(
        path,
        "/manage/openapi.json"
            | "/manage/openapi.json/"
            | "/api/manage/openapi.json"
            | "/api/manage/openapi.json/"
    );
    let before_auth = status == 405
        || (status == 404 && body["message"] == "Route not found")
        || (status == 200 && openapi);
    let refused =
        matches!(status, 401 | 429) || (status == 403 && body["error"] == "insufficient_scope");
    if before_auth || refused {
        return;
    }
    // Anything else means the request was authenticated: by a root client, with its exact
    // secret or one of its access tokens.
    let (who, client_type) = identity.unwrap_or_else(|| {
        panic!("status {status} without a known root client's credentials ({claimed:?}): {body}")
    });
    assert_eq!(
        *client_type,
        Some(ClientType::Root),
        "the {} client got {status}: {body}",
        who.name
    );
    if bearer.is_none() {
        assert_eq!(
            secret.as_deref(),
            Some(who.secret.as_str()),
            "{} got {status} without its exact secret",
            who.name
        );
    }
    if status == 200 {
        let mut orgs = Vec::new();
        let mut ids = Vec::new();
        collect(&body, &mut orgs, &mut ids);
        for org in orgs {
            assert_eq!(
                org, who.organization_id,
                "{} saw another organization",
                who.name
            );
        }
        if who.organization_id != "acme" {
            let acme = fixture.acme_ids();
            for id in ids {
                assert!(!acme.contains(&id.as_str()), "{} saw acme's {id}", who.name);
            }
        }
    }
}

/// Every `organizationId` value, and every `id`/`projectId` value, anywhere in `v`.
fn collect(v: &Value, orgs: &mut Vec<String>, ids: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("organizationId", Value::String(s)) => orgs.push(s.clone()),
                    ("id" | "projectId", Value::String(s)) => ids.push(s.clone()),
                    _ => collect(v, orgs, ids),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect(v, orgs, ids)),
        _ => {}
    }
}

/// How many inputs run against one fixture before it is rebuilt, so lists stay short and the
/// fuzzer's speed does not decay with the store's size.
pub const RUNS_PER_FIXTURE: u32 = 2_000;
