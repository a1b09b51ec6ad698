//! Load: the `opcore serve` binary holds 200 concurrent keep-alive connections doing a mix of
//! every Manage route (successes and 400/401/404/405 errors) for 30 seconds, with no 5xx, no
//! dropped connection and no error in its log; then it stops cleanly on SIGTERM.
//!
//! Loopback only; bounded (the run lasts `OPCORE_LOAD_SECONDS`, default 30, then everything
//! stops by itself). Rate limits are raised through `--options` so the run exercises the
//! server rather than the limiter. Run with `--nocapture` to see the request count and the
//! status histogram.
#![cfg(feature = "server")]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};

const OPCORE: &str = env!("CARGO_BIN_EXE_opcore");
const CONNECTIONS: usize = 200;
const OPTIONS: &str = r#"{"argon2":{"m_cost":8,"t_cost":1,"p_cost":1},
    "rate_limits":{"manage":{"limit":1000000000,"window_seconds":1}}}"#;

fn seconds() -> u64 {
    std::env::var("OPCORE_LOAD_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&s| s > 0 && s <= 600)
        .unwrap_or(30)
}

#[derive(Default)]
struct Tally {
    /// (status) → count, as seen by the clients.
    statuses: Mutex<BTreeMap<u16, u64>>,
    /// Responses whose status was not the one the request must get, with a sample.
    unexpected: Mutex<Vec<String>>,
    /// Connection or protocol failures (a dropped connection, a timeout).
    transport_errors: Mutex<Vec<String>>,
    requests: AtomicU64,
}

struct Conn {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    /// Responses received on this connection.
    answered: u64,
    id: String,
    secret: String,
}

impl Conn {
    async fn open(addr: SocketAddr, id: &str, secret: &str) -> Result<Conn, String> {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(connection);
        Ok(Conn {
            sender,
            answered: 0,
            id: id.to_owned(),
            secret: secret.to_owned(),
        })
    }

    async fn send(
        &mut self,
        method: &str,
        path: &str,
        body: Option<Value>,
        credentials: Credentials,
    ) -> Result<(u16, Value), String> {
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", "127.0.0.1");
        match credentials {
            Credentials::Root => {
                req = req
                    .header("openpanel-client-id", &self.id)
                    .header("openpanel-client-secret", &self.secret);
            }
            Credentials::Malformed => {
                req = req
                    .header("openpanel-client-id", "not-a-uuid")
                    .header("openpanel-client-secret", &self.secret);
            }
            Credentials::None => {}
        }
        let bytes = match body {
            Some(b) => {
                req = req.header("content-type", "application/json");
                Bytes::from(b.to_string())
            }
            None => Bytes::new(),
        };
        let req = req.body(Full::new(bytes)).map_err(|e| e.to_string())?;
        let exchange = async {
            self.sender
                .ready()
                .await
                .map_err(|e| format!("ready: {e}"))?;
            let resp = self
                .sender
                .send_request(req)
                .await
                .map_err(|e| format!("send: {e}"))?;
            let status = resp.status().as_u16();
            let body = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| format!("body: {e}"))?
                .to_bytes();
            let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
            Ok((status, json))
        };
        tokio::time::timeout(Duration::from_secs(30), exchange)
            .await
            .map_err(|_| format!("{method} {path}: no response within 30 s"))?
    }
}

#[derive(Clone, Copy)]
enum Credentials {
    Root,
    Malformed,
    None,
}

/// One connection's workload: a cycle over every route, creating and deleting its own
/// resources, plus the usual client mistakes.
async fn worker(
    n: usize,
    addr: SocketAddr,
    id: String,
    secret: String,
    deadline: Instant,
    tally: Arc<Tally>,
) -> u64 {
    let mut conn = match Conn::open(addr, &id, &secret).await {
        Ok(c) => c,
        Err(e) => {
            tally.transport_errors.lock().unwrap().push(e);
            return 0;
        }
    };
    drive(&mut conn, n, deadline, &tally).await;
    conn.answered
}

async fn drive(conn: &mut Conn, n: usize, deadline: Instant, tally: &Tally) {
    let mut round = 0usize;
    while Instant::now() < deadline {
        round += 1;
        let name = format!("Load {n} {round}");
        let project = format!("load-{n}-{round}");
        let steps: Vec<(&str, String, Option<Value>, Credentials, u16)> = vec![
            (
                "POST",
                "/manage/projects".into(),
                Some(json!({"name": name, "cors": ["https://example.com"]})),
                Credentials::Root,
                200,
            ),
            (
                "GET",
                format!("/manage/projects/{project}"),
                None,
                Credentials::Root,
                200,
            ),
            (
                "PATCH",
                format!("/api/manage/projects/{project}"),
                Some(json!({"crossDomain": true})),
                Credentials::Root,
                200,
            ),
            (
                "POST",
                "/manage/clients".into(),
                Some(json!({"name": "Reader", "projectId": project, "type": "read"})),
                Credentials::Root,
                200,
            ),
            (
                "GET",
                format!("/manage/clients?projectId={project}"),
                None,
                Credentials::Root,
                200,
            ),
            (
                "POST",
                "/manage/references".into(),
                Some(
                    json!({"projectId": project, "title": "Deploy", "datetime": "2024-01-15T10:30:00Z"}),
                ),
                Credentials::Root,
                200,
            ),
            (
                "GET",
                format!("/manage/references?projectId={project}"),
                None,
                Credentials::Root,
                200,
            ),
            (
                "GET",
                "/manage/projects/no-such-project".into(),
                None,
                Credentials::Root,
                404,
            ),
            (
                "POST",
                "/manage/projects".into(),
                Some(json!({"name": "", "cors": ["not a url"]})),
                Credentials::Root,
                400,
            ),
            (
                "GET",
                "/manage/projects".into(),
                None,
                Credentials::Malformed,
                401,
            ),
            (
                "GET",
                "/manage/clients".into(),
                None,
                Credentials::None,
                401,
            ),
            (
                "GET",
                "/insights/x/metrics".into(),
                None,
                Credentials::Root,
                404,
            ),
            (
                "PUT",
                "/manage/projects".into(),
                None,
                Credentials::Root,
                405,
            ),
        ];
        let mut created_client = None;
        let mut created_reference = None;
        for (method, path, body, credentials, expected) in steps {
            let Some(v) = step(
                conn,
                tally,
                deadline,
                method,
                &path,
                body,
                credentials,
                expected,
            )
            .await
            else {
                return;
            };
            if method == "POST" && path == "/manage/clients" {
                created_client = v["data"]["id"].as_str().map(str::to_owned);
            }
            if method == "POST" && path == "/manage/references" {
                created_reference = v["data"]["id"].as_str().map(str::to_owned);
            }
        }
        let mut tail: Vec<(&str, String, Option<Value>, u16)> = Vec::new();
        if let Some(c) = &created_client {
            tail.push(("GET", format!("/manage/clients/{c}"), None, 200));
            tail.push((
                "PATCH",
                format!("/manage/clients/{c}"),
                Some(json!({"name": "Renamed", "type": "read"})),
                200,
            ));
            tail.push(("DELETE", format!("/manage/clients/{c}"), None, 200));
        }
        if let Some(r) = &created_reference {
            tail.push((
                "PATCH",
                format!("/manage/references/{r}"),
                Some(json!({"title": "Deployed"})),
                200,
            ));
            tail.push(("GET", format!("/manage/references/{r}"), None, 200));
            tail.push(("DELETE", format!("/manage/references/{r}"), None, 200));
        }
        tail.push(("DELETE", format!("/manage/projects/{project}"), None, 200));
        if round % 10 == 0 {
            tail.push(("GET", "/manage/projects".into(), None, 200));
        }
        for (method, path, body, expected) in tail {
            if step(
                conn,
                tally,
                deadline,
                method,
                &path,
                body,
                Credentials::Root,
                expected,
            )
            .await
            .is_none()
            {
                return;
            }
        }
    }
}

/// Sends one request and records it. `None` stops the worker: the run is over, or the
/// connection failed (recorded: a dropped connection is a failure of the run).
#[allow(clippy::too_many_arguments)]
async fn step(
    conn: &mut Conn,
    tally: &Tally,
    deadline: Instant,
    method: &str,
    path: &str,
    body: Option<Value>,
    credentials: Credentials,
    expected: u16,
) -> Option<Value> {
    if Instant::now() >= deadline {
        return None;
    }
    match conn.send(method, path, body, credentials).await {
        Ok((status, json)) => {
            tally.requests.fetch_add(1, Ordering::Relaxed);
            conn.answered += 1;
            *tally.statuses.lock().unwrap().entry(status).or_default() += 1;
            if status != expected {
                let mut u = tally.unexpected.lock().unwrap();
                if u.len() < 20 {
                    u.push(format!(
                        "{method} {path}: {status} (expected {expected}) {json}"
                    ));
                }
            }
            Some(json)
        }
        Err(e) => {
            tally.transport_errors.lock().unwrap().push(e);
            None
        }
    }
}

fn statuses_of_log(lines: &[String]) -> (BTreeMap<u16, u64>, Vec<String>) {
    let mut histogram = BTreeMap::new();
    let mut other = Vec::new();
    for line in lines {
        // `METHOD PATH STATUS 1.2ms`
        let parts: Vec<&str> = line.split(' ').collect();
        let status = (parts.len() == 4 && parts[3].ends_with("ms"))
            .then(|| parts[2].parse::<u16>().ok())
            .flatten();
        match status {
            Some(s) => *histogram.entry(s).or_default() += 1,
            None => other.push(line.clone()),
        }
    }
    (histogram, other)
}

#[test]
fn serve_holds_200_connections_of_mixed_requests() {
    let seconds = seconds();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("load.db");
    let mut child = Command::new(OPCORE)
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .args(["--options", OPTIONS])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // stdout: the first-run credentials. stderr: every log line, collected on a thread.
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (stdout_tx, stdout_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let _ = stdout_tx.send(line);
        }
    });
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let (addr_tx, addr_rx) = mpsc::channel();
    let log = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in stderr.lines().map_while(Result::ok) {
            if let Some(url) = line
                .strip_prefix("opcore: serving ")
                .and_then(|l| l.rsplit(" on http://").next())
            {
                let _ = addr_tx.send(url.to_owned());
            }
            lines.push(line);
        }
        lines
    });
    let addr: SocketAddr = addr_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("opcore serve announces its address")
        .parse()
        .unwrap();
    let mut credentials = (String::new(), String::new());
    while credentials.1.is_empty() {
        let line = stdout_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("first-run credentials on stdout");
        if let Some(v) = line.trim().strip_prefix("openpanel-client-id: ") {
            credentials.0 = v.to_owned();
        }
        if let Some(v) = line.trim().strip_prefix("openpanel-client-secret: ") {
            credentials.1 = v.to_owned();
        }
    }

    let tally = Arc::new(Tally::default());
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let per_connection = runtime.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let workers: Vec<_> = (0..CONNECTIONS)
            .map(|n| {
                tokio::spawn(worker(
                    n,
                    addr,
                    credentials.0.clone(),
                    credentials.1.clone(),
                    deadline,
                    tally.clone(),
                ))
            })
            .collect();
        let mut per_connection = Vec::new();
        for w in workers {
            per_connection.push(w.await.unwrap());
        }
        per_connection
    });
    let elapsed = started.elapsed();

    // Stop the server the way an operator does, and collect its log.
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let exit = child.wait().unwrap();
    let lines = log.join().unwrap();

    let statuses = tally.statuses.lock().unwrap().clone();
    let requests = tally.requests.load(Ordering::Relaxed);
    let (logged, other_lines) = statuses_of_log(&lines);
    println!(
        "{requests} requests over {CONNECTIONS} connections in {:.1} s ({:.0}/s); statuses {statuses:?}",
        elapsed.as_secs_f64(),
        requests as f64 / elapsed.as_secs_f64()
    );

    let transport = tally.transport_errors.lock().unwrap().clone();
    assert!(
        transport.is_empty(),
        "{} transport errors: {:?}",
        transport.len(),
        &transport[..transport.len().min(10)]
    );
    let unexpected = tally.unexpected.lock().unwrap().clone();
    assert!(
        unexpected.is_empty(),
        "unexpected statuses: {unexpected:#?}"
    );
    assert!(statuses.keys().all(|&s| s < 500), "{statuses:?}");
    assert!(exit.success(), "opcore serve exited with {exit:?}");
    // Every request logged exactly once, with the status the client saw; nothing else in the
    // log but the start and stop lines.
    assert_eq!(logged, statuses, "server log vs client view");
    assert_eq!(
        other_lines.len(),
        2,
        "unexpected log lines: {:?}",
        &other_lines[..other_lines.len().min(10)]
    );
    assert!(other_lines[0].starts_with("opcore: serving "));
    assert_eq!(other_lines[1], "opcore: stopped");
    // The run did real work on every connection for the whole time.
    assert!(elapsed >= Duration::from_secs(seconds));
    let (least, most) = (
        per_connection.iter().min().copied().unwrap_or(0),
        per_connection.iter().max().copied().unwrap_or(0),
    );
    println!("requests per connection: {least} to {most}");
    // Every connection kept being served: at least one response per second each.
    assert!(
        least >= seconds,
        "a connection got only {least} responses in {seconds} s (most: {most})"
    );
}
