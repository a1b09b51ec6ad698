//! Security over real HTTP: a real `opcore serve` process, its every Manage route tried with
//! every identity that must be refused (another organization's root client, read and write
//! clients, missing, malformed, unknown and wrong credentials, bearer tokens without the
//! `manage` scope), every answer checked byte for byte, the organization's data checked
//! untouched, and the server's log and every error text scanned for secrets and tokens.
//!
//! `tests/manage.rs` covers the same rules through `manage::handle`; this file proves the HTTP
//! server adds nothing and loses nothing, and that its stderr log stays clean.
//!
//! Also: an unknown client id and a wrong secret fail in the same time (default argon2).

mod support;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use opcore::manage::{self, Request};
use opcore::{ClientType, ManualClock, NewClient, NewProject, NewReference, Options, Store};
use opcore::{Synchronous, Timestamp};
use serde_json::{json, Value};
use support::FAST_ARGON2;

const INVALID: &str = "Invalid client credentials";
const MALFORMED: &str = "Malformed client ID (must be a valid UUIDv4)";
const DENIED: &str = "Manage: Only root clients are allowed to manage resources";

// ---------------------------------------------------------------------------------------------
// A minimal HTTP/1.1 client (one request per connection)
// ---------------------------------------------------------------------------------------------

#[derive(Debug)]
struct HttpResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl HttpResponse {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}: body is not JSON ({e}): {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn http(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> HttpResponse {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut request = format!(
        "{method} {target} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("receive");
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> HttpResponse {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    HttpResponse {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size line");
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .expect("chunk size");
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

// ---------------------------------------------------------------------------------------------
// A real `opcore serve`
// ---------------------------------------------------------------------------------------------

/// `opcore serve` on a loopback port picked by the OS, its stderr going to a file.
struct Server {
    child: Option<Child>,
    addr: SocketAddr,
    log: PathBuf,
}

/// Cheap argon2 and a Manage limit no test reaches (the limiter itself is tested elsewhere).
const SERVE_OPTIONS: &str = r#"{"argon2":{"m_cost":8,"t_cost":1,"p_cost":1},
    "rate_limits":{"manage":{"limit":1000000,"window_seconds":1}}}"#;

impl Server {
    fn start(db: &Path, dir: &Path) -> Server {
        let log = dir.join("serve.stderr");
        let child = Command::new(env!("CARGO_BIN_EXE_opcore"))
            .arg("--db")
            .arg(db)
            .args([
                "--options",
                SERVE_OPTIONS,
                "serve",
                "--listen",
                "127.0.0.1:0",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log).expect("log file"))
            .spawn()
            .expect("start opcore serve");
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(rest) = text.split(" on http://").nth(1) {
                let addr = rest.split_whitespace().next().expect("address");
                break addr.parse().expect("socket address");
            }
            assert!(
                Instant::now() < deadline,
                "opcore serve did not start: {text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        Server {
            child: Some(child),
            addr,
            log,
        }
    }

    /// SIGTERM, then the whole stderr log.
    fn stop(mut self) -> String {
        let mut child = self.child.take().expect("running");
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
        let exit = child.wait().expect("wait");
        assert!(exit.success(), "opcore serve exited with {exit}");
        std::fs::read_to_string(&self.log).expect("log")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The world: organization A with a project, clients and a reference; organization B
// ---------------------------------------------------------------------------------------------

#[derive(Clone)]
struct Creds {
    id: String,
    secret: String,
}

struct World {
    _dir: tempfile::TempDir,
    db: PathBuf,
    root: Creds,
    other: Creds,
    other_org: String,
    /// (name, credentials) of A's read and write clients, with and without a project.
    limited: Vec<(&'static str, Creds)>,
    project: String,
    client: String,
    reference: String,
}

fn world() -> World {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("opcore.db");
    let store = Store::open(
        &db,
        Options {
            argon2: FAST_ARGON2,
            ..Options::default()
        },
    )
    .expect("open");
    let a = store.create_organization("Alpha").expect("org A");
    let b = store.create_organization("Beta").expect("org B");
    let org = a.organization.id.clone();
    let project = store
        .create_project(
            &org,
            &NewProject {
                name: "Alpha Project".into(),
                ..NewProject::default()
            },
        )
        .expect("project")
        .project
        .id;
    let client = |name: &str, client_type, project_id: Option<&str>| {
        let c = store
            .create_client(
                &org,
                &NewClient {
                    name: name.into(),
                    client_type,
                    project_id: project_id.map(str::to_owned),
                    ..NewClient::default()
                },
            )
            .expect("client");
        Creds {
            id: c.client.id.clone(),
            secret: c.secret.expose().to_owned(),
        }
    };
    let limited = vec![
        (
            "read (project)",
            client("Reader", ClientType::Read, Some(&project)),
        ),
        (
            "read (organization)",
            client("Org reader", ClientType::Read, None),
        ),
        (
            "write (project)",
            client("Writer", ClientType::Write, Some(&project)),
        ),
        (
            "write (organization)",
            client("Org writer", ClientType::Write, None),
        ),
    ];
    let reference = store
        .create_reference(
            &org,
            &NewReference {
                project_id: project.clone(),
                title: "Alpha launch".into(),
                ..NewReference::default()
            },
        )
        .expect("reference")
        .id;
    World {
        _dir: dir,
        db,
        root: Creds {
            id: a.client.client.id.clone(),
            secret: a.client.secret.expose().to_owned(),
        },
        other: Creds {
            id: b.client.client.id.clone(),
            secret: b.client.secret.expose().to_owned(),
        },
        other_org: b.organization.id,
        client: limited[0].1.id.clone(),
        limited,
        project,
        reference,
    }
}

/// Every Manage operation on A's resources: (method, path after the prefix, body).
fn routes(w: &World) -> Vec<(&'static str, String, String)> {
    let (p, c, r) = (&w.project, &w.client, &w.reference);
    let none = String::new;
    vec![
        ("GET", "/projects".into(), none()),
        (
            "POST",
            "/projects".into(),
            json!({"name": "Intruder"}).to_string(),
        ),
        ("GET", format!("/projects/{p}"), none()),
        (
            "PATCH",
            format!("/projects/{p}"),
            json!({"name": "Hijacked"}).to_string(),
        ),
        ("DELETE", format!("/projects/{p}"), none()),
        ("GET", "/clients".into(), none()),
        (
            "POST",
            "/clients".into(),
            json!({"name": "Intruder", "type": "root"}).to_string(),
        ),
        ("GET", format!("/clients/{c}"), none()),
        (
            "PATCH",
            format!("/clients/{c}"),
            json!({"name": "Hijacked"}).to_string(),
        ),
        ("DELETE", format!("/clients/{c}"), none()),
        ("GET", "/references".into(), none()),
        (
            "POST",
            "/references".into(),
            json!({"projectId": p, "title": "Intruder"}).to_string(),
        ),
        ("GET", format!("/references/{r}"), none()),
        (
            "PATCH",
            format!("/references/{r}"),
            json!({"title": "Hijacked"}).to_string(),
        ),
        ("DELETE", format!("/references/{r}"), none()),
    ]
}

fn client_headers(c: &Creds) -> Vec<(String, String)> {
    vec![
        ("openpanel-client-id".into(), c.id.clone()),
        ("openpanel-client-secret".into(), c.secret.clone()),
    ]
}

/// What a refused request must get: status, `error`, `message`.
type Expected = (u16, &'static str, &'static str);

/// An identity that must be refused on every route, with the headers it sends for the n-th
/// request (some rotate so the failed-attempt throttle never answers in their place).
struct Refused {
    name: String,
    expected: Expected,
    headers: Box<dyn Fn(usize) -> Vec<(String, String)>>,
}

fn uuid_v4(n: usize) -> String {
    format!("0badc0de-0000-4000-8000-{n:012x}")
}

#[test]
fn every_manage_route_over_http_refuses_every_identity_but_the_organizations_root() {
    let w = world();
    let dir = w.db.parent().expect("dir").to_owned();
    let server = Server::start(&w.db, &dir);
    let addr = server.addr;
    let mut presented: Vec<String> = vec![w.root.secret.clone(), w.other.secret.clone()];
    presented.extend(w.limited.iter().map(|(_, c)| c.secret.clone()));

    // Bearer tokens: a read client's (no `manage` scope) and the other organization's root's.
    let token = |c: &Creds| {
        let body = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            c.id, c.secret
        );
        let r = http(
            addr,
            "POST",
            "/oauth/token",
            &[("content-type", "application/x-www-form-urlencoded")],
            &body,
        );
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["access_token"].as_str().expect("token").to_owned()
    };
    let read_token = token(&w.limited[0].1);
    let other_token = token(&w.other);
    presented.extend([read_token.clone(), other_token.clone()]);

    let mut refused: Vec<Refused> = Vec::new();
    for (name, creds) in &w.limited {
        let creds = creds.clone();
        refused.push(Refused {
            name: format!("{name} client"),
            expected: (401, "Unauthorized", DENIED),
            headers: Box::new(move |_| client_headers(&creds)),
        });
    }
    refused.push(Refused {
        name: "no credentials".into(),
        expected: (401, "Unauthorized", INVALID),
        headers: Box::new(|_| vec![]),
    });
    let root_id = w.root.id.clone();
    refused.push(Refused {
        name: "id without a secret".into(),
        expected: (401, "Unauthorized", INVALID),
        headers: Box::new(move |_| vec![("openpanel-client-id".into(), root_id.clone())]),
    });
    let root_secret = w.root.secret.clone();
    refused.push(Refused {
        name: "malformed id".into(),
        expected: (401, "Unauthorized", MALFORMED),
        headers: Box::new(move |_| {
            vec![
                ("openpanel-client-id".into(), "not-a-uuid".into()),
                ("openpanel-client-secret".into(), root_secret.clone()),
            ]
        }),
    });
    let root_id = w.root.id.clone();
    refused.push(Refused {
        name: "malformed secret".into(),
        expected: (401, "Unauthorized", INVALID),
        headers: Box::new(move |_| {
            vec![
                ("openpanel-client-id".into(), root_id.clone()),
                ("openpanel-client-secret".into(), "not even a secret".into()),
            ]
        }),
    });
    refused.push(Refused {
        name: "unknown id".into(),
        expected: (401, "Unauthorized", INVALID),
        headers: Box::new(|n| {
            vec![
                ("openpanel-client-id".into(), uuid_v4(n)),
                (
                    "openpanel-client-secret".into(),
                    "sec_0123456789abcdef0123456789abcdef".into(),
                ),
            ]
        }),
    });
    // A wrong secret for an existing client: at most 10 failures per client id per minute
    // are verified, so the id rotates over three real clients (10 requests each).
    let real_ids = [
        w.root.id.clone(),
        w.other.id.clone(),
        w.limited[0].1.id.clone(),
    ];
    refused.push(Refused {
        name: "wrong secret".into(),
        expected: (401, "Unauthorized", INVALID),
        headers: Box::new(move |n| {
            vec![
                ("openpanel-client-id".into(), real_ids[n / 10 % 3].clone()),
                (
                    "openpanel-client-secret".into(),
                    "sec_ffffffffffffffffffffffffffffffff".into(),
                ),
            ]
        }),
    });
    refused.push(Refused {
        name: "bearer: not a token".into(),
        expected: (401, "invalid_api_key", "The API key provided is invalid."),
        headers: Box::new(|_| vec![("authorization".into(), "Bearer sec_nope".into())]),
    });
    refused.push(Refused {
        name: "bearer: empty".into(),
        expected: (
            401,
            "missing_api_key",
            "No API key provided in the Authorization header.",
        ),
        headers: Box::new(|_| vec![("authorization".into(), "Bearer".into())]),
    });
    let t = read_token.clone();
    refused.push(Refused {
        name: "bearer: a read client's token".into(),
        expected: (
            403,
            "insufficient_scope",
            "The access token's scope does not include manage.",
        ),
        headers: Box::new(move |_| vec![("authorization".into(), format!("Bearer {t}"))]),
    });

    let mut tried: BTreeMap<String, usize> = BTreeMap::new();
    let mut error_texts: Vec<String> = Vec::new();
    let mut requests = 0;
    let send = |method: &str, target: &str, headers: &[(String, String)], body: &str| {
        let h: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let mut h = h;
        if !body.is_empty() {
            h.push(("content-type", "application/json"));
        }
        http(addr, method, target, &h, body)
    };

    // A's root client works, and its verified credential is cached: the wrong secrets sent
    // for its id below are throttled after 10 a minute, but never lock the owner out.
    let root = client_headers(&w.root);
    let r = send("GET", "/manage/projects", &root, "");
    assert_eq!(r.status, 200, "{}", r.text());
    requests += 1;

    for prefix in ["/manage", "/api/manage"] {
        for who in &refused {
            for (n, (method, path, body)) in routes(&w).into_iter().enumerate() {
                let n = n + if prefix == "/manage" { 0 } else { 15 };
                let target = format!("{prefix}{path}");
                let r = send(method, &target, &(who.headers)(n), &body);
                requests += 1;
                let got = r.json();
                assert_eq!(
                    (
                        r.status,
                        got["error"].as_str().unwrap_or_default(),
                        got["message"].as_str().unwrap_or_default()
                    ),
                    who.expected,
                    "{}: {method} {target}: {got}",
                    who.name
                );
                assert_eq!(r.header("x-ratelimit-limit"), None, "{}", who.name);
                error_texts.push(r.text());
                *tried.entry(who.name.clone()).or_default() += 1;
            }
        }

        // Organization B's root client (and its bearer token): A's resources do not exist.
        for (name, headers) in [
            ("other organization's root client", client_headers(&w.other)),
            (
                "other organization's root token",
                vec![("authorization".into(), format!("Bearer {other_token}"))],
            ),
        ] {
            for (method, path, body) in routes(&w) {
                let target = format!("{prefix}{path}");
                let r = send(method, &target, &headers, &body);
                requests += 1;
                let got = r.json();
                let what = format!("{name}: {method} {target}: {got}");
                let is_item = path.matches('/').count() == 2;
                if is_item {
                    let message = match path.split('/').nth(1) {
                        Some("projects") => "Project not found",
                        Some("clients") => "Client not found",
                        _ => "Reference not found",
                    };
                    assert_eq!(
                        (r.status, &got),
                        (404, &json!({"error": "Not Found", "message": message})),
                        "{what}"
                    );
                    error_texts.push(r.text());
                } else {
                    match (method, path.as_str()) {
                        ("GET", _) => {
                            assert_eq!(r.status, 200, "{what}");
                            let text = got.to_string();
                            for id in [&w.project, &w.client, &w.reference, &w.root.id] {
                                assert!(!text.contains(id.as_str()), "{what}");
                            }
                            assert!(!text.contains("\"alpha\""), "{what}");
                        }
                        ("POST", "/references") => {
                            assert_eq!(r.status, 400, "{what}");
                            assert_eq!(got["details"][0]["path"], json!(["projectId"]), "{what}");
                            error_texts.push(r.text());
                        }
                        ("POST", _) => {
                            assert_eq!(r.status, 200, "{what}");
                            assert_eq!(got["data"]["organizationId"], w.other_org.as_str());
                            if let Some(s) = got["data"]["secret"].as_str() {
                                presented.push(s.to_owned());
                            }
                            if let Some(s) = got["data"]["client"]["secret"].as_str() {
                                presented.push(s.to_owned());
                            }
                        }
                        _ => unreachable!("{what}"),
                    }
                }
                *tried.entry(name.to_owned()).or_default() += 1;
            }
        }
    }

    // A's data is exactly as it was, read by A's root over HTTP.
    let get = |target: &str| {
        let r = send("GET", target, &root, "");
        assert_eq!(r.status, 200, "{target}: {}", r.text());
        r.json()["data"].clone()
    };
    let p = get(&format!("/manage/projects/{}", w.project));
    assert_eq!(
        (&p["name"], &p["deleteAt"]),
        (&json!("Alpha Project"), &Value::Null)
    );
    let ids = |v: Value| -> Vec<String> {
        v.as_array()
            .expect("list")
            .iter()
            .map(|x| x["id"].as_str().expect("id").to_owned())
            .collect()
    };
    assert_eq!(ids(get("/manage/projects")), [w.project.as_str()]);
    assert_eq!(
        get(&format!("/manage/clients/{}", w.client))["name"],
        "Reader"
    );
    assert_eq!(
        ids(get("/manage/clients")).len(),
        6,
        "A's root, the project's first client and the four above"
    );
    assert_eq!(
        get(&format!("/manage/references/{}", w.reference))["title"],
        "Alpha launch"
    );
    assert_eq!(ids(get("/manage/references")), [w.reference.as_str()]);
    requests += 6;

    // Secrets pasted where they do not belong are not logged either.
    let r = send(
        "GET",
        &format!(
            "/manage/clients?projectId={}&client_secret={}&token={read_token}",
            w.project, w.root.secret
        ),
        &root,
        "",
    );
    assert_eq!(r.status, 200);
    requests += 1;

    // No error text repeats a secret or a token, presented or issued.
    for text in &error_texts {
        for secret in &presented {
            assert!(
                !text.contains(secret.as_str()),
                "an error repeats a secret: {text}"
            );
        }
        assert!(!text.contains("sec_") && !text.contains("opat_"), "{text}");
    }

    let log = server.stop();
    let request_lines: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with(['G', 'P', 'D']))
        .collect();
    assert_eq!(
        request_lines.len(),
        requests + 2,
        "one log line per request (+2 token requests)"
    );
    for secret in &presented {
        assert!(
            !log.contains(secret.as_str()),
            "the log holds a secret or token:\n{log}"
        );
    }
    assert!(!log.contains("sec_") && !log.contains("opat_"), "{log}");
    assert!(log.contains("client_secret=…&token=…"), "{log}");

    let total: usize = tried.values().sum();
    println!(
        "security: {} routes x {} identities over HTTP = {total} refused or foreign requests, \
         each answered as documented; {} secrets and tokens absent from {} log lines and {} \
         error bodies",
        routes(&w).len() * 2,
        tried.len(),
        presented.len(),
        log.lines().count(),
        error_texts.len()
    );
    for (name, n) in &tried {
        println!("security:   {name}: {n}");
    }
}

// ---------------------------------------------------------------------------------------------
// Unknown id vs wrong secret
// ---------------------------------------------------------------------------------------------

/// An unknown client id costs exactly what a known id with a wrong secret costs, so a failure
/// does not tell whether an id exists: the same answer, and the same work — one indexed read
/// of the check value (none found for the unknown id), one HMAC, one comparison (against a
/// dummy value for the unknown id), and no argon2 for either. Their times are compared by
/// `benches/timing.rs` (criterion, BENCHMARKS.md), not here.
#[test]
fn an_unknown_id_and_a_wrong_secret_fail_alike_with_no_argon2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = ManualClock::new(Timestamp(1_705_314_600_000));
    let store = Store::open(
        dir.path().join("timing.db"),
        Options {
            clock: Arc::new(clock.clone()),
            synchronous: Synchronous::Normal,
            ..Options::default()
        },
    )
    .expect("open");
    let boot = store.create_organization("Acme").expect("org");
    let known = boot.client.client.id.clone();
    let wrong = "sec_0123456789abcdef0123456789abcdef";
    let unknown = "fa0c2780-55f2-4d9e-bea0-da2e02c7b1a9";
    let call = |id: &str| {
        let headers = [
            ("openpanel-client-id", id),
            ("openpanel-client-secret", wrong),
        ];
        manage::handle(
            &store,
            &Request {
                headers: &headers,
                ..Request::new("GET", "/manage/projects")
            },
        )
    };
    let verifications = || store.authenticator().argon2_verifications();
    let before = verifications();
    for _ in 0..5 {
        let (a, b) = (call(unknown), call(&known));
        assert_eq!((a.status, &a.body), (b.status, &b.body), "same answer");
        assert_eq!(a.status, 401);
        assert_eq!(
            a.json(),
            json!({"error": "Unauthorized", "message": "Invalid client credentials"})
        );
    }
    assert_eq!(verifications() - before, 0, "no argon2 for either");
}
