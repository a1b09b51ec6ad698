//! The Manage API as the clients people already run use it, over real HTTP against a spawned
//! `opcore serve` (see `docs/behaviour.md`).
//!
//! Each test is one traffic shape, in this project's own words:
//! 1. a maintenance job that schedules a project's deletion and then keeps adding clients and
//!    references to it, then cancels the deletion by updating the project;
//! 2. a declarative (infrastructure-as-code) client that compares every attribute it sent with
//!    what comes back and fails on any difference;
//! 3. a reconciler that re-reads its resources and sends a PATCH only where they differ from
//!    the desired state — it must settle after one round;
//! 4. a client that sends a reference's date as `date` (the response's field name) instead of
//!    `datetime`;
//! 5. a client that sends `content-type: application/json` with an empty body on DELETE.
#![cfg(feature = "server")]

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const OPCORE: &str = env!("CARGO_BIN_EXE_opcore");

/// Cheap argon2 and a Manage limit no test reaches (the limiter is tested elsewhere).
const OPTIONS: &str = r#"{"argon2":{"m_cost":8,"t_cost":1,"p_cost":1},
    "rate_limits":{"manage":{"limit":1000000,"window_seconds":1}}}"#;

// ---------------------------------------------------------------------------------------------
// A real `opcore serve`, and a minimal HTTP/1.1 client over a TCP socket.

struct Server {
    child: Child,
    addr: SocketAddr,
    id: String,
    secret: String,
    _dir: tempfile::TempDir,
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `data` of a 200, or a panic that shows the response.
    fn data(self) -> Value {
        assert_eq!(self.status, 200, "{}", self.body);
        self.body["data"].clone()
    }

    /// The `details` entry for `path` of a 400.
    fn detail(&self, path: Value) -> String {
        assert_eq!(self.status, 400, "{}", self.body);
        self.body["details"]
            .as_array()
            .and_then(|d| d.iter().find(|e| e["path"] == path))
            .and_then(|e| e["message"].as_str())
            .unwrap_or_else(|| panic!("no detail at {path}: {}", self.body))
            .to_owned()
    }
}

impl Server {
    /// Bootstraps an organization with `opcore init`, then starts `opcore serve` on a port the
    /// OS picks on 127.0.0.1.
    fn start() -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let db: PathBuf = dir.path().join("opcore.db");
        let init = Command::new(OPCORE)
            .args(["--db", db.to_str().unwrap(), "--options", OPTIONS])
            .args(["init", "--name", "Interop"])
            .output()
            .expect("opcore init");
        assert!(
            init.status.success(),
            "{}",
            String::from_utf8_lossy(&init.stderr)
        );
        let boot: Value = serde_json::from_slice(&init.stdout).expect("init prints JSON");
        let log = dir.path().join("serve.stderr");
        let child = Command::new(OPCORE)
            .args(["--db", db.to_str().unwrap(), "--options", OPTIONS])
            .args(["serve", "--listen", "127.0.0.1:0"])
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
            child,
            addr,
            id: boot["client"]["id"].as_str().unwrap().to_owned(),
            secret: boot["client"]["secret"].as_str().unwrap().to_owned(),
            _dir: dir,
        }
    }

    /// A request with the root client's credentials and exactly the given extra headers and
    /// body bytes.
    fn raw(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
        let mut stream = TcpStream::connect(self.addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n\
             openpanel-client-id: {}\r\nopenpanel-client-secret: {}\r\n",
            self.addr, self.id, self.secret
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let mut request = head.into_bytes();
        request.extend_from_slice(body);
        stream.write_all(&request).expect("send");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).expect("receive");
        parse_response(&raw)
    }

    /// A JSON request (`content-type: application/json`, the body serialized).
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Response {
        match body {
            Some(body) => {
                let bytes = serde_json::to_vec(body).unwrap();
                let len = bytes.len().to_string();
                self.raw(
                    method,
                    path,
                    &[
                        ("content-type", "application/json"),
                        ("content-length", &len),
                    ],
                    &bytes,
                )
            }
            None => self.raw(method, path, &[], b""),
        }
    }

    fn get(&self, path: &str) -> Value {
        self.call("GET", path, None).data()
    }

    fn post(&self, path: &str, body: Value) -> Value {
        self.call("POST", path, Some(&body)).data()
    }

    fn patch(&self, path: &str, body: Value) -> Value {
        self.call("PATCH", path, Some(&body)).data()
    }

    fn delete(&self, path: &str) {
        let r = self.call("DELETE", path, None);
        assert_eq!(
            (r.status, &r.body),
            (200, &json!({"success": true})),
            "{path}"
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // The server this test started, by its own process id.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn parse_response(raw: &[u8]) -> Response {
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
    if headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"))
    {
        body = dechunk(&body);
    }
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body).unwrap_or_else(|e| {
            panic!("{e}: not JSON: {}", String::from_utf8_lossy(&body));
        })
    };
    Response {
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

fn ids(list: &Value) -> Vec<&str> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|item| item["id"].as_str().expect("an id"))
        .collect()
}

/// Milliseconds since the epoch of an RFC 3339 timestamp as opcore returns it.
fn instant(text: &Value) -> i64 {
    let text = text.as_str().expect("a timestamp");
    let parsed = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("{text:?}: {e}"));
    (parsed.unix_timestamp_nanos() / 1_000_000) as i64
}

// ---------------------------------------------------------------------------------------------
// 1. A maintenance job: delete a project, then keep working on it.

#[test]
fn a_project_scheduled_for_deletion_takes_new_clients_and_references_until_updated() {
    let s = Server::start();
    let project = s.post("/manage/projects", json!({"name": "Maintenance"}));
    let pid = project["id"].as_str().unwrap().to_owned();
    let first_client = project["client"]["id"].as_str().unwrap().to_owned();

    // Schedule the deletion: still readable, with deleteAt, no longer listed.
    s.delete(&format!("/manage/projects/{pid}"));
    let scheduled = s.get(&format!("/manage/projects/{pid}"));
    assert!(scheduled["deleteAt"].is_string(), "{scheduled}");
    assert!(!ids(&s.get("/manage/projects")).contains(&pid.as_str()));

    // The job goes on creating a client and a reference on it: both are accepted.
    let client = s.post(
        "/manage/clients",
        json!({"name": "After delete", "projectId": pid, "type": "read"}),
    );
    let cid = client["id"].as_str().unwrap().to_owned();
    assert_eq!(client["projectId"], json!(pid));
    assert!(client["secret"].as_str().unwrap().starts_with("sec_"));
    let reference = s.post(
        "/manage/references",
        json!({"projectId": pid, "title": "Migration", "datetime": "2024-01-15T10:30:00Z"}),
    );
    let rid = reference["id"].as_str().unwrap().to_owned();
    assert_eq!(reference["projectId"], json!(pid));

    // Updating the project cancels the deletion.
    let updated = s.patch(
        &format!("/manage/projects/{pid}"),
        json!({"name": "Maintenance (kept)"}),
    );
    assert_eq!(updated["deleteAt"], Value::Null);
    assert_eq!(updated["name"], json!("Maintenance (kept)"));
    assert_eq!(updated["id"], json!(pid));

    // List everything, then delete it all.
    assert!(ids(&s.get("/manage/projects")).contains(&pid.as_str()));
    let clients = s.get(&format!("/manage/clients?projectId={pid}"));
    let mut client_ids = ids(&clients);
    client_ids.sort_unstable();
    let mut want = vec![first_client.as_str(), cid.as_str()];
    want.sort_unstable();
    assert_eq!(client_ids, want);
    assert_eq!(
        ids(&s.get(&format!("/manage/references?projectId={pid}"))),
        vec![rid.as_str()]
    );

    s.delete(&format!("/manage/references/{rid}"));
    s.delete(&format!("/manage/clients/{cid}"));
    s.delete(&format!("/manage/clients/{first_client}"));
    s.delete(&format!("/manage/projects/{pid}"));
    assert!(s.get(&format!("/manage/references?projectId={pid}")) == json!([]));
    for path in [
        format!("/manage/references/{rid}"),
        format!("/manage/clients/{cid}"),
        format!("/manage/clients/{first_client}"),
    ] {
        assert_eq!(s.call("GET", &path, None).status, 404, "{path}");
    }
    assert!(!ids(&s.get("/manage/projects")).contains(&pid.as_str()));
}

// ---------------------------------------------------------------------------------------------
// 2. A declarative client: every attribute it sent must come back equal.

/// Asserts that every attribute of `sent` is in `got` with the same value, trailing slashes of
/// `domain` and `cors` entries aside (the one change the Manage API makes to valid values).
fn assert_round_trip(what: &str, sent: &Value, got: &Value) {
    let strip = |v: &Value| match v {
        Value::String(s) => Value::String(s.trim_end_matches('/').to_owned()),
        other => other.clone(),
    };
    for (key, value) in sent.as_object().unwrap() {
        let want = match key.as_str() {
            "domain" => strip(value),
            "cors" => Value::Array(value.as_array().unwrap().iter().map(strip).collect()),
            _ => value.clone(),
        };
        assert_eq!(got[key], want, "{what}: attribute {key} changed: {got}");
    }
}

#[test]
fn a_declarative_client_gets_back_every_attribute_it_sent() {
    let s = Server::start();

    let sent = json!({
        "name": "  Shop Front  ",
        "domain": "HTTPS://Shop.Example.COM:443/",
        "cors": [
            "HTTPS://Shop.Example.COM:443/",
            "https://shop.example.com",
            "https://shop.example.com",
            "*.Example.com",
            "Localhost:3000",
        ],
        "crossDomain": true,
        "types": ["website", "app"],
    });
    let created = s.post("/manage/projects", sent.clone());
    assert_round_trip("project create", &sent, &created);
    assert_eq!(
        created["id"],
        json!("shop-front"),
        "ids are slugged from the trimmed name"
    );
    let pid = created["id"].as_str().unwrap().to_owned();
    let read = s.get(&format!("/manage/projects/{pid}"));
    assert_round_trip("project read", &sent, &read);

    let changes = json!({
        "name": " Shop Front (EU) ",
        "domain": "https://Shop.Example.eu/",
        "cors": ["https://Shop.Example.eu:443", "https://shop.example.eu///", "https://shop.example.eu"],
        "crossDomain": false,
        "allowUnsafeRevenueTracking": true,
    });
    let updated = s.patch(&format!("/manage/projects/{pid}"), changes.clone());
    assert_round_trip("project update", &changes, &updated);
    assert_round_trip(
        "project read after update",
        &changes,
        &s.get(&format!("/manage/projects/{pid}")),
    );
    assert_eq!(updated["id"], json!(pid), "the id never changes");
    assert_eq!(updated["types"], json!(["website", "app"]));

    let sent = json!({"name": "  CI deploy  ", "projectId": pid, "type": "read"});
    let client = s.post("/manage/clients", sent.clone());
    assert_round_trip("client create", &sent, &client);
    let cid = client["id"].as_str().unwrap().to_owned();
    // The tool re-sends type and projectId with every update.
    let changes = json!({"name": " CI deploy (nightly)\u{00A0}", "projectId": pid, "type": "read"});
    let updated = s.patch(&format!("/manage/clients/{cid}"), changes.clone());
    assert_round_trip("client update", &changes, &updated);
    assert_round_trip(
        "client read",
        &changes,
        &s.get(&format!("/manage/clients/{cid}")),
    );

    // References: the tool sends zone-less dates and reads `date` back as the same instant.
    let sent = json!({
        "projectId": pid,
        "title": "  Release 1.0 ",
        "description": "  First public release ",
        "datetime": "2024-01-15T10:30:00",
    });
    let reference = s.post("/manage/references", sent.clone());
    let rid = reference["id"].as_str().unwrap().to_owned();
    for key in ["projectId", "title", "description"] {
        assert_eq!(reference[key], sent[key], "reference {key}");
    }
    assert_eq!(reference["date"], json!("2024-01-15T10:30:00.000Z"));
    let changes = json!({"title": "Release 1.0.1 ", "datetime": "2024-01-16 09:00"});
    let updated = s.patch(&format!("/manage/references/{rid}"), changes);
    assert_eq!(updated["title"], json!("Release 1.0.1 "));
    assert_eq!(updated["date"], json!("2024-01-16T09:00:00.000Z"));
    assert_eq!(updated["description"], json!("  First public release "));
    let read = s.get(&format!("/manage/references/{rid}"));
    assert_eq!(read, updated);
}

// ---------------------------------------------------------------------------------------------
// 3. A reconciler: PATCH only on a difference, and settle after one round.

/// What the reconciler wants a resource to look like, and where it lives.
struct Desired {
    path: String,
    attributes: Value,
}

/// One reconcile round: read each resource, PATCH the attributes that differ. Returns how many
/// PATCHes it sent.
fn reconcile(s: &Server, desired: &[Desired]) -> usize {
    let mut patches = 0;
    for d in desired {
        let current = s.get(&d.path);
        let diff: serde_json::Map<String, Value> = d
            .attributes
            .as_object()
            .unwrap()
            .iter()
            .filter(|(key, want)| {
                if key.as_str() == "datetime" {
                    // Compared as the instant the server reports under `date`.
                    instant(&current["date"]) != instant_of_input(want)
                } else {
                    current[key.as_str()] != **want
                }
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !diff.is_empty() {
            s.patch(&d.path, Value::Object(diff));
            patches += 1;
        }
    }
    patches
}

/// The reconciler's own reading of the dates it writes (always `YYYY-MM-DDTHH:MM:SS`, UTC).
fn instant_of_input(v: &Value) -> i64 {
    instant(&json!(format!("{}Z", v.as_str().unwrap())))
}

#[test]
fn a_reconciler_settles_after_one_round() {
    let s = Server::start();
    let project = s.post("/manage/projects", json!({"name": "Operator"}));
    let pid = project["id"].as_str().unwrap().to_owned();
    let client = s.post(
        "/manage/clients",
        json!({"name": "operator", "projectId": pid}),
    );
    let cid = client["id"].as_str().unwrap().to_owned();
    let reference = s.post(
        "/manage/references",
        json!({"projectId": pid, "title": "deploy", "datetime": "2024-01-01"}),
    );
    let rid = reference["id"].as_str().unwrap().to_owned();

    let desired = [
        Desired {
            path: format!("/manage/projects/{pid}"),
            attributes: json!({
                "name": " Operator Managed ",
                "domain": "https://App.Example.com:443",
                "cors": ["https://App.Example.com:443", "https://app.example.com", "*.Example.com"],
                "crossDomain": true,
            }),
        },
        Desired {
            path: format!("/manage/clients/{cid}"),
            // Upper-case ids in the path work as well.
            attributes: json!({"name": " Operator\u{2003}", "type": "write", "projectId": pid}),
        },
        Desired {
            path: format!("/manage/references/{}", rid.to_ascii_uppercase()),
            attributes: json!({"title": "Deploy ", "description": "rolled out", "datetime": "2024-01-15T10:30:00"}),
        },
    ];

    // Round one brings everything in line.
    assert_eq!(reconcile(&s, &desired), 3);
    let before: Vec<Value> = desired.iter().map(|d| s.get(&d.path)).collect();
    // Every later round finds nothing to change and changes nothing.
    for round in 2..=4 {
        assert_eq!(reconcile(&s, &desired), 0, "round {round} sent a PATCH");
    }
    let after: Vec<Value> = desired.iter().map(|d| s.get(&d.path)).collect();
    assert_eq!(before, after, "updatedAt moved without a change");
}

// ---------------------------------------------------------------------------------------------
// 4. `date` sent instead of `datetime`.

#[test]
fn a_reference_date_sent_as_date_is_kept_not_replaced_by_now() {
    let s = Server::start();
    let project = s.post("/manage/projects", json!({"name": "Dates"}));
    let pid = project["id"].as_str().unwrap().to_owned();

    let created = s.post(
        "/manage/references",
        json!({"projectId": pid, "title": "Launch", "date": "2024-01-15T10:30:00.000Z"}),
    );
    assert_eq!(created["date"], json!("2024-01-15T10:30:00.000Z"));
    let rid = created["id"].as_str().unwrap().to_owned();

    let updated = s.patch(
        &format!("/manage/references/{rid}"),
        json!({"date": "2024-02-01"}),
    );
    assert_eq!(updated["date"], json!("2024-02-01T00:00:00.000Z"));

    // Echoing the whole read back (as clients that round-trip resources do) changes nothing.
    let echoed = s.patch(&format!("/manage/references/{rid}"), updated.clone());
    assert_eq!(echoed["date"], updated["date"]);
    assert_eq!(echoed["title"], updated["title"]);

    // Both names for the same instant, in different spellings: accepted.
    let both = s.patch(
        &format!("/manage/references/{rid}"),
        json!({"date": "2024-03-01T00:00:00.000Z", "datetime": "2024-03-01"}),
    );
    assert_eq!(both["date"], json!("2024-03-01T00:00:00.000Z"));

    // Different instants: refused, and the stored date is untouched.
    let r = s.call(
        "PATCH",
        &format!("/manage/references/{rid}"),
        Some(&json!({"date": "2024-04-01", "datetime": "2024-05-01"})),
    );
    assert!(
        r.detail(json!(["date"])).contains("send only one of them"),
        "{}",
        r.body
    );
    let r = s.call(
        "POST",
        "/manage/references",
        Some(&json!({"projectId": pid, "title": "x", "date": "2024-04-01", "datetime": "2024-05-01"})),
    );
    assert!(r.detail(json!(["date"])).contains("different instant"));
    assert_eq!(
        s.get(&format!("/manage/references/{rid}"))["date"],
        json!("2024-03-01T00:00:00.000Z")
    );

    // A bad `date` is a 400 on `date`, never a 500 and never "now".
    for bad in [json!("yesterday"), json!("2024-02-30")] {
        let r = s.call(
            "POST",
            "/manage/references",
            Some(&json!({"projectId": pid, "title": "x", "date": bad})),
        );
        assert!(
            r.detail(json!(["date"])).starts_with("Invalid datetime"),
            "{}",
            r.body
        );
    }
    let r = s.call(
        "POST",
        "/manage/references",
        Some(&json!({"projectId": pid, "title": "x", "date": 17})),
    );
    assert_eq!(
        r.detail(json!(["date"])),
        "Expected string, received number"
    );
    assert_eq!(
        s.get(&format!("/manage/references?projectId={pid}"))
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

// ---------------------------------------------------------------------------------------------
// 5. DELETE with a JSON content type and an empty body.

#[test]
fn delete_with_a_json_content_type_and_an_empty_body_succeeds() {
    let s = Server::start();
    let project = s.post("/manage/projects", json!({"name": "Empty bodies"}));
    let pid = project["id"].as_str().unwrap().to_owned();
    let cid = project["client"]["id"].as_str().unwrap().to_owned();
    let reference = s.post(
        "/manage/references",
        json!({"projectId": pid, "title": "x"}),
    );
    let rid = reference["id"].as_str().unwrap().to_owned();

    let shapes: [&[(&str, &str)]; 3] = [
        &[
            ("content-type", "application/json"),
            ("content-length", "0"),
        ],
        &[
            ("content-type", "application/json; charset=utf-8"),
            ("content-length", "0"),
        ],
        &[("content-type", "application/json")],
    ];
    let paths = [
        format!("/manage/references/{}", rid.to_ascii_uppercase()),
        format!("/manage/clients/{cid}"),
        format!("/manage/projects/{pid}"),
    ];
    for (path, headers) in paths.iter().zip(shapes) {
        let r = s.raw("DELETE", path, headers, b"");
        assert_eq!(
            (r.status, &r.body),
            (200, &json!({"success": true})),
            "{path} {headers:?}"
        );
        assert_eq!(r.header("content-type"), Some("application/json"));
    }
    assert_eq!(s.call("GET", &paths[0], None).status, 404);
    assert_eq!(s.call("GET", &paths[1], None).status, 404);
    assert!(s.get(&paths[2])["deleteAt"].is_string());
}

// ---------------------------------------------------------------------------------------------
// Path ids, as the reference system matches them.

#[test]
fn client_and_reference_ids_match_case_insensitively_and_non_uuids_are_404() {
    let s = Server::start();
    let project = s.post("/manage/projects", json!({"name": "Ids"}));
    let pid = project["id"].as_str().unwrap().to_owned();
    let cid = project["client"]["id"].as_str().unwrap().to_owned();
    let rid = s.post(
        "/manage/references",
        json!({"projectId": pid, "title": "x"}),
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (kind, id) in [("clients", &cid), ("references", &rid)] {
        let upper = id.to_ascii_uppercase();
        let got = s.get(&format!("/manage/{kind}/{upper}"));
        assert_eq!(got["id"], json!(id), "ids are returned in lowercase");
        let mixed: String = id
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if i % 2 == 0 {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect();
        assert_eq!(s.get(&format!("/manage/{kind}/{mixed}"))["id"], json!(id));
        let resource = if kind == "clients" {
            "Client"
        } else {
            "Reference"
        };
        for bad in [
            "not-a-uuid".to_owned(),
            id.replace('-', ""),
            format!("{{{id}}}"),
            format!("urn:uuid:{id}"),
            format!("{id}0"),
        ] {
            let r = s.call("GET", &format!("/manage/{kind}/{bad}"), None);
            assert_eq!(
                (r.status, &r.body),
                (
                    404,
                    &json!({"error": "Not Found", "message": format!("{resource} not found")})
                ),
                "{kind}/{bad}"
            );
        }
    }
}
