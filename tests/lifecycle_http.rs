//! The credential lifecycle of docs/lifecycle.md over real HTTP on loopback (`opcore::server`,
//! driven by `/usr/bin/curl`): rotation with a grace period ending at its instant (injected
//! clock), a second server on the same file (another process's view), expiry, last use, and no
//! secret in any response or log line but the one that issued it.
#![cfg(feature = "server")]

#[path = "support/mod.rs"]
mod support;

use std::process::Command;
use std::sync::{Arc, Mutex};

use opcore::server::{self, RunningServer};
use opcore::{ManualClock, Options, Store, Timestamp};
use serde_json::{json, Value};
const T0: i64 = support::T0.0;

const CURL: &str = "/usr/bin/curl";
const HOUR_MS: i64 = 3_600_000;

struct Server {
    store: Store,
    server: RunningServer,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// A server on loopback for a store on `path` with the shared manual clock. The second
    /// server on a file reads the access revision on every call (a staleness of 0) so that
    /// what it sees does not depend on the wall clock.
    fn start(path: &std::path::Path, clock: &ManualClock, staleness_ms: u64) -> Server {
        let options = Options {
            cross_process_staleness_ms: staleness_ms,
            ..support::options(clock)
        };
        let store = Store::open(path, options).unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        let server = server::spawn(
            store.clone(),
            "127.0.0.1:0".parse().unwrap(),
            server::LogSink::lines(move |line: &str| sink.lock().unwrap().push(line.to_owned())),
        )
        .unwrap();
        Server { store, server, log }
    }

    /// `method path` with the client's credentials and an optional JSON body: status and body.
    fn call(
        &self,
        method: &str,
        path: &str,
        creds: &(String, String),
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut args = vec![
            "-X".to_owned(),
            method.to_owned(),
            format!("{}{path}", self.server.base_url()),
            "-H".into(),
            format!("openpanel-client-id: {}", creds.0),
            "-H".into(),
            format!("openpanel-client-secret: {}", creds.1),
            "-o".into(),
            "-".into(),
            "-w".into(),
            "\n%{http_code}".into(),
            "--silent".into(),
            "--show-error".into(),
            "--max-time".into(),
            "60".into(),
        ];
        if let Some(b) = body {
            args.extend(["-H".into(), "content-type: application/json".into()]);
            args.extend(["-d".into(), b.to_string()]);
        }
        let out = Command::new(CURL).args(&args).output().expect("curl");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let (body, status) = text.rsplit_once('\n').unwrap();
        (
            status.parse().unwrap(),
            serde_json::from_str(body).unwrap_or(Value::Null),
        )
    }

    fn status(&self, creds: &(String, String)) -> (u16, Option<String>) {
        let (status, body) = self.call("GET", "/manage/projects", creds, None);
        (status, body["message"].as_str().map(str::to_owned))
    }

    /// The log lines, once there are at least `n` (written by the server's own thread).
    fn log_lines(&self, n: usize) -> Vec<String> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let lines = self.log.lock().unwrap().clone();
            if lines.len() >= n || std::time::Instant::now() > deadline {
                return lines;
            }
            std::thread::yield_now();
        }
    }
}

#[test]
fn rotation_grace_expiry_and_last_use_over_http_in_two_servers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("opcore.db");
    let clock = ManualClock::new(Timestamp(T0));
    let a = Server::start(&path, &clock, 1000);
    let b = Server::start(&path, &clock, 0);
    let boot = a.store.create_organization("Acme").unwrap();
    let root = (
        boot.client.client.id.clone(),
        boot.client.secret.expose().to_owned(),
    );
    let mut secrets = vec![root.1.clone()];

    let (status, created) = a.call(
        "POST",
        "/manage/clients",
        &root,
        Some(json!({ "name": "Deployer", "type": "root" })),
    );
    assert_eq!(status, 200);
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    let old = (
        id.clone(),
        created["data"]["secret"].as_str().unwrap().to_owned(),
    );
    secrets.push(old.1.clone());
    assert_eq!(a.status(&old).0, 200);
    assert_eq!(b.status(&old).0, 200);

    // Rotate with an hour of grace: both secrets work on both servers.
    let (status, rotated) = a.call(
        "POST",
        &format!("/manage/clients/{id}/rotate"),
        &root,
        Some(json!({ "graceSeconds": 3600 })),
    );
    assert_eq!(status, 200, "{rotated}");
    assert_eq!(
        rotated["data"]["previousSecretExpiresAt"],
        Timestamp(T0 + HOUR_MS).to_string().as_str()
    );
    let new = (
        id.clone(),
        rotated["data"]["secret"].as_str().unwrap().to_owned(),
    );
    secrets.push(new.1.clone());
    for server in [&a, &b] {
        assert_eq!(server.status(&old).0, 200);
        assert_eq!(server.status(&new).0, 200);
    }
    clock.set(Timestamp(T0 + HOUR_MS - 1));
    assert_eq!(a.status(&old).0, 200);
    assert_eq!(b.status(&old).0, 200);
    // At the instant, only the new secret.
    clock.set(Timestamp(T0 + HOUR_MS));
    let refused = (401, Some("Invalid client credentials".to_owned()));
    assert_eq!(a.status(&old), refused);
    assert_eq!(b.status(&old), refused);
    assert_eq!(a.status(&new).0, 200);
    assert_eq!(b.status(&new).0, 200);

    // A bad grace is a 400 naming the field.
    let (status, body) = a.call(
        "POST",
        &format!("/manage/clients/{id}/rotate"),
        &root,
        Some(json!({ "graceSeconds": 2_592_001 })),
    );
    assert_eq!(status, 400);
    assert_eq!(body["details"][0]["path"], json!(["graceSeconds"]));

    // A second rotation with grace, then a third: the second grace ends at once.
    let (_, r2) = a.call(
        "POST",
        &format!("/manage/clients/{id}/rotate"),
        &root,
        Some(json!({ "graceSeconds": 600 })),
    );
    let newer = (
        id.clone(),
        r2["data"]["secret"].as_str().unwrap().to_owned(),
    );
    secrets.push(newer.1.clone());
    let (_, r3) = a.call(
        "POST",
        &format!("/manage/clients/{id}/rotate"),
        &root,
        Some(json!({ "graceSeconds": 600 })),
    );
    let newest = (
        id.clone(),
        r3["data"]["secret"].as_str().unwrap().to_owned(),
    );
    secrets.push(newest.1.clone());
    assert_eq!(a.status(&new), refused);
    assert_eq!(b.status(&new), refused);
    assert_eq!(b.status(&newer).0, 200);
    assert_eq!(b.status(&newest).0, 200);

    // Expiry: expire it now through server b; a correct secret gets the expiry message on
    // both servers, a wrong one the usual message.
    let (status, patched) = b.call(
        "PATCH",
        &format!("/manage/clients/{id}"),
        &root,
        Some(json!({ "expiresAt": Timestamp(T0 + HOUR_MS).to_string() })),
    );
    assert_eq!(status, 200, "{patched}");
    let expired = (401, Some("Client credentials expired".to_owned()));
    let wrong = (
        id.clone(),
        "sec_0123456789abcdef0123456789abcdef".to_owned(),
    );
    assert_eq!(b.status(&newest), expired);
    assert_eq!(b.status(&wrong), refused);
    assert_eq!(a.status(&newest), expired);
    assert_eq!(a.status(&wrong), refused);

    // Last use: the root client's calls (the last ones at T0 + 1 h) are recorded, readable
    // through either server.
    let (_, read) = b.call("GET", &format!("/manage/clients/{}", root.0), &root, None);
    assert_eq!(
        read["data"]["lastUsedAt"],
        Timestamp(T0 + HOUR_MS).to_string().as_str()
    );
    clock.set(Timestamp(T0 + HOUR_MS + 60_000));
    let (_, read) = a.call("GET", &format!("/manage/clients/{}", root.0), &root, None);
    assert_eq!(
        read["data"]["lastUsedAt"],
        Timestamp(T0 + HOUR_MS + 60_000).to_string().as_str()
    );

    // No log line of either server holds a secret.
    let lines = [a.log_lines(10), b.log_lines(10)].concat();
    assert!(lines.len() >= 20, "{lines:#?}");
    let all = lines.join("\n");
    for s in &secrets {
        assert!(!all.contains(s.as_str()), "a secret in the log");
    }
    drop((a, b));
    let bytes = std::fs::read(&path).unwrap();
    for s in &secrets {
        assert!(
            !bytes.windows(s.len()).any(|w| w == s.as_bytes()),
            "a secret in the file"
        );
    }
}
