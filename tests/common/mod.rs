//! Test harness for the Manage API: a store on a temporary file with a manual clock and cheap
//! argon2, and a `call` that sends a request through `manage::handle` and checks every
//! response against `openapi.json` (and that no secret ever shows up outside the response
//! that created it).

#![allow(dead_code)]

pub mod openapi;
#[path = "../support/mod.rs"]
pub mod support;

use std::collections::BTreeSet;
use std::sync::Mutex;

use opcore::manage::{self, Request, Response};
use opcore::{ManualClock, Options, RateLimit, Store};
use serde_json::Value;
use tempfile::TempDir;

use openapi::{OpenApi, Target};
use support::StoreEnv;

/// One documented response: method (`*` for the document-wide ones), path template (or the
/// extension's name) and status.
pub type Hit = (String, String, u16);

/// 2024-01-15T10:30:00.000Z, the seeds' favourite instant.
pub const T0: i64 = support::T0.0;
pub const T0_TEXT: &str = "2024-01-15T10:30:00.000Z";

pub const MANAGE_DENIED: &str = "Manage: Only root clients are allowed to manage resources";
pub const INVALID_CREDENTIALS: &str = "Invalid client credentials";
pub const MALFORMED_ID: &str = "Malformed client ID (must be a valid UUIDv4)";

/// A client id and its secret.
#[derive(Clone, Debug)]
pub struct Creds {
    pub id: String,
    pub secret: String,
}

/// A response, with its body parsed.
#[derive(Debug)]
pub struct Res {
    pub status: u16,
    pub body: Value,
    pub raw: Response,
}

impl Res {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.raw.header(name)
    }

    /// `body.data`, asserting the status is 200.
    pub fn data(&self) -> &Value {
        assert_eq!(self.status, 200, "expected 200, got {}", self.body);
        &self.body["data"]
    }

    /// Asserts an error status and message (and that there are no `details` unless 400).
    pub fn assert_error(&self, status: u16, error: &str, message: &str) {
        assert_eq!(
            (
                self.status,
                self.body["error"].as_str(),
                self.body["message"].as_str()
            ),
            (status, Some(error), Some(message)),
            "body: {}",
            self.body
        );
    }

    /// Asserts a 400 `Invalid request body` whose details name exactly these paths, in order.
    pub fn assert_invalid(&self, paths: &[Value]) -> &[Value] {
        self.assert_error(400, "Bad Request", "Invalid request body");
        let details = self.body["details"].as_array().expect("details array");
        let got: Vec<&Value> = details.iter().map(|d| &d["path"]).collect();
        let want: Vec<&Value> = paths.iter().collect();
        assert_eq!(got, want, "details: {}", self.body["details"]);
        details
    }

    /// The message of the detail at `path`.
    pub fn detail(&self, path: &Value) -> &str {
        self.body["details"]
            .as_array()
            .and_then(|d| d.iter().find(|d| &d["path"] == path))
            .and_then(|d| d["message"].as_str())
            .unwrap_or_else(|| panic!("no detail at {path}: {}", self.body))
    }

    /// The three `x-ratelimit-*` headers as numbers.
    pub fn rate(&self) -> Option<(u64, u64, u64)> {
        let n = |h: &str| {
            self.header(h)
                .map(|v| v.parse::<u64>().expect("numeric header"))
        };
        Some((
            n("x-ratelimit-limit")?,
            n("x-ratelimit-remaining")?,
            n("x-ratelimit-reset")?,
        ))
    }
}

/// A [`StoreEnv`] with a bootstrapped organization and its root client, for the Manage API.
pub struct Env {
    pub clock: ManualClock,
    pub store: Store,
    pub org: String,
    pub root: Creds,
    /// Every secret handed out so far; none may appear in any other response.
    secrets: Mutex<Vec<String>>,
    /// Which documented responses this environment has produced.
    hits: Mutex<BTreeSet<Hit>>,
    pub dir: TempDir,
}

/// Cheap argon2 so tests run fast (verification still really runs).
pub fn test_options(clock: &ManualClock) -> Options {
    support::options(clock)
}

impl Env {
    /// A store whose Manage limit is high enough never to interfere.
    pub fn new() -> Env {
        Env::with(|o| o.rate_limits.manage = RateLimit::new(1_000_000, 10))
    }

    /// A store with the default rate limits (20 Manage requests per 10 s).
    pub fn with_default_limits() -> Env {
        Env::with(|_| {})
    }

    pub fn with(adjust: impl FnOnce(&mut Options)) -> Env {
        let StoreEnv { dir, clock, store } = StoreEnv::with(adjust);
        let boot = store.create_organization("Acme").expect("bootstrap");
        let root = Creds {
            id: boot.client.client.id.clone(),
            secret: boot.client.secret.expose().to_owned(),
        };
        Env {
            clock,
            org: boot.organization.id.clone(),
            secrets: Mutex::new(vec![root.secret.clone()]),
            hits: Mutex::new(BTreeSet::new()),
            root,
            store,
            dir,
        }
    }

    pub fn db_path(&self) -> std::path::PathBuf {
        self.dir.path().join("opcore.db")
    }

    /// Another organization in the same store, with its root credentials.
    pub fn other_org(&self, name: &str) -> (String, Creds) {
        let boot = self.store.create_organization(name).expect("bootstrap");
        let creds = Creds {
            id: boot.client.client.id.clone(),
            secret: boot.client.secret.expose().to_owned(),
        };
        self.remember_secret(&creds.secret);
        (boot.organization.id.clone(), creds)
    }

    /// The documented responses produced so far.
    pub fn hits(&self) -> BTreeSet<Hit> {
        self.hits.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn remember_secret(&self, secret: &str) {
        self.secrets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(secret.to_owned());
    }

    /// Sends one request through `manage::handle` with the given headers and raw body, and
    /// checks the response against the OpenAPI document.
    pub fn raw(&self, method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Res {
        let request = Request {
            method,
            target,
            headers,
            body,
            source: None,
        };
        let response = manage::handle(&self.store, &request);
        self.inspect(method, target, body, response)
    }

    /// A request authenticated with `creds` (None: no credentials), with an optional JSON body.
    pub fn call(
        &self,
        method: &str,
        target: &str,
        creds: Option<&Creds>,
        body: Option<&Value>,
    ) -> Res {
        let bytes = body
            .map(|b| serde_json::to_vec(b).expect("json"))
            .unwrap_or_default();
        match creds {
            Some(c) => self.raw(
                method,
                target,
                &[
                    ("openpanel-client-id", c.id.as_str()),
                    ("openpanel-client-secret", c.secret.as_str()),
                    ("content-type", "application/json"),
                ],
                &bytes,
            ),
            None => self.raw(method, target, &[], &bytes),
        }
    }

    pub fn get(&self, target: &str) -> Res {
        self.call("GET", target, Some(&self.root), None)
    }

    pub fn post(&self, target: &str, body: Value) -> Res {
        self.call("POST", target, Some(&self.root), Some(&body))
    }

    pub fn patch(&self, target: &str, body: Value) -> Res {
        self.call("PATCH", target, Some(&self.root), Some(&body))
    }

    pub fn delete(&self, target: &str) -> Res {
        self.call("DELETE", target, Some(&self.root), None)
    }

    /// Creates a project through the API; returns its data (with `client`).
    pub fn project(&self, name: &str) -> Value {
        let r = self.post("/manage/projects", serde_json::json!({ "name": name }));
        r.data().clone()
    }

    /// Creates a client through the API; returns its credentials.
    pub fn client(&self, name: &str, kind: &str, project: Option<&str>) -> Creds {
        let mut body = serde_json::json!({ "name": name, "type": kind });
        if let Some(p) = project {
            body["projectId"] = Value::String(p.to_owned());
        }
        let data = self.post("/manage/clients", body).data().clone();
        Creds {
            id: data["id"].as_str().expect("id").to_owned(),
            secret: data["secret"].as_str().expect("secret").to_owned(),
        }
    }

    /// Creates a reference through the API; returns its data.
    pub fn reference(&self, project: &str, title: &str) -> Value {
        self.post(
            "/manage/references",
            serde_json::json!({ "projectId": project, "title": title }),
        )
        .data()
        .clone()
    }

    fn inspect(&self, method: &str, target: &str, body: &[u8], response: Response) -> Res {
        let doc = OpenApi::global();
        // A HEAD response has no body (docs/server.md); its status and headers are checked.
        let empty_head = method == "HEAD" && response.body.is_empty();
        let parsed: Value = if empty_head {
            Value::Null
        } else {
            serde_json::from_slice(&response.body).unwrap_or_else(|e| {
                panic!(
                    "{method} {target}: body is not JSON ({e}): {:?}",
                    String::from_utf8_lossy(&response.body)
                )
            })
        };
        let mut problems = doc.problems(method, target, &response);
        if response.status == 200 && !body.iter().all(u8::is_ascii_whitespace) {
            if let Ok(request) = serde_json::from_slice::<Value>(body) {
                problems.extend(
                    doc.request_problems(method, target, &request)
                        .into_iter()
                        .map(|p| format!("request body: {p}")),
                );
            }
        }
        assert!(
            problems.is_empty(),
            "{method} {target} -> {} {parsed}\ndoes not match openapi.json:\n  {}",
            response.status,
            problems.join("\n  ")
        );
        self.check_secrets(method, target, &response, &parsed);
        let hit = match doc.locate(method, target) {
            Target::Path {
                template,
                has_method: true,
            } => (method.to_ascii_uppercase(), template, response.status),
            Target::Path { .. } => ("*".into(), "x-method-not-allowed".into(), response.status),
            Target::Unmatched => ("*".into(), "x-unmatched-route".into(), response.status),
        };
        self.hits
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(hit);
        Res {
            status: response.status,
            body: parsed,
            raw: response,
        }
    }

    /// A secret is returned by the create call that made it and appears in no other response.
    fn check_secrets(&self, method: &str, target: &str, response: &Response, body: &Value) {
        let creating = method.eq_ignore_ascii_case("POST") && response.status == 200;
        let fresh = if creating {
            body["data"]["secret"]
                .as_str()
                .or_else(|| body["data"]["client"]["secret"].as_str())
        } else {
            None
        };
        let text = String::from_utf8_lossy(&response.body);
        let mut secrets = self.secrets.lock().unwrap_or_else(|p| p.into_inner());
        for s in secrets.iter() {
            assert!(
                !text.contains(s.as_str()),
                "{method} {target}: a secret issued earlier appears in the response"
            );
            for (name, value) in &response.headers {
                assert!(!value.contains(s.as_str()), "secret in header {name}");
            }
        }
        if let Some(s) = fresh {
            secrets.push(s.to_owned());
        }
    }
}
