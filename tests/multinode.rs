//! Three `opcore serve` processes on one PostgreSQL database and one Redis, as a deployment
//! behind a load balancer runs them (docs/scale-out.md#several-nodes), seen from their HTTP
//! clients: concurrent same-name creates, the shared Manage limit, revocation across nodes, a
//! node killed during writes, and PostgreSQL stopped and started again.
//!
//! These tests stop the PostgreSQL server they use, so they are `#[ignore]`d and run by
//! `scripts/multinode.sh`, which starts a throwaway cluster of its own and passes it in:
//! `OPCORE_TEST_POSTGRES_URL` (its URL), `OPCORE_MULTINODE_PG_CTL` (the `pg_ctl -D DATADIR`
//! command that stops and starts it) and `OPCORE_MULTINODE_PG_LOG` (its log file). Redis is
//! `OPCORE_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`); each test uses its own database
//! and key prefix and removes both.
#![cfg(all(feature = "postgres", feature = "redis", feature = "server"))]

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use opcore::{AuthError, AuthRequest, Family, Options, Store};
use serde_json::{json, Value};
use support::FAST_ARGON2;

const RUN_THE_SCRIPT: &str = "run these tests with scripts/multinode.sh: it starts the \
                              PostgreSQL cluster they stop and restart";

/// The Manage limit of the nodes of every part but the rate-limit one, so that the limiter is
/// not what those parts test.
const RAISED_MANAGE: &str = r#""rate_limits":{"manage":{"limit":1000000,"window_seconds":10}}"#;

/// The longest any answer may take while PostgreSQL is down: the connection timeout of the
/// store's URL (5 s, docs/scale-out.md) and a second for the rest.
const OUTAGE_ANSWER_BOUND: Duration = Duration::from_secs(6);

/// The tests of this file stop the one PostgreSQL server they share: one at a time.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

fn required_env(name: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| panic!("{name} is not set: {RUN_THE_SCRIPT}"))
}

fn redis_url() -> String {
    std::env::var("OPCORE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A database of its own on the script's server, dropped when this is dropped.
struct TestDb {
    server: String,
    name: String,
    url: String,
}

impl TestDb {
    fn create() -> TestDb {
        static N: AtomicU64 = AtomicU64::new(0);
        required_env("OPCORE_MULTINODE_PG_CTL");
        required_env("OPCORE_MULTINODE_PG_LOG");
        let server = required_env("OPCORE_TEST_POSTGRES_URL");
        let name = format!(
            "opcore_multinode_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = postgres::Client::connect(&server, postgres::NoTls)
            .unwrap_or_else(|e| panic!("PostgreSQL does not answer at {server}: {e}"));
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("cannot create the database {name}: {e}"));
        let mut url = url::Url::parse(&server).expect("OPCORE_TEST_POSTGRES_URL is a URL");
        url.set_path(&format!("/{name}"));
        TestDb {
            server,
            name,
            url: url.to_string(),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut admin) = postgres::Client::connect(&self.server, postgres::NoTls) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// A key prefix of its own in Redis, whose keys are deleted when this is dropped.
struct RedisPrefix {
    url: String,
    prefix: String,
}

impl RedisPrefix {
    fn new() -> RedisPrefix {
        static N: AtomicU64 = AtomicU64::new(0);
        let url = redis_url();
        redis::Client::open(url.as_str())
            .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(2)))
            .unwrap_or_else(|e| {
                panic!("the test Redis at {url} does not answer (set OPCORE_TEST_REDIS_URL): {e}")
            });
        let prefix = format!(
            "opcore-test:multinode:{}:{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        RedisPrefix { url, prefix }
    }
}

impl Drop for RedisPrefix {
    fn drop(&mut self) {
        let Ok(mut conn) = redis::Client::open(self.url.as_str())
            .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(2)))
        else {
            return;
        };
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}:*", self.prefix))
            .query(&mut conn)
            .unwrap_or_default();
        if !keys.is_empty() {
            let _ = redis::cmd("DEL").arg(&keys).query::<()>(&mut conn);
        }
    }
}

#[derive(Clone)]
struct Creds {
    id: String,
    secret: String,
}

/// The database with one organization, "Acme"; returns an embedded store on it (cheap argon2)
/// and the organization's root client.
fn bootstrap(db: &TestDb) -> (Store, Creds) {
    let store = Store::open(
        &db.url,
        Options {
            argon2: FAST_ARGON2,
            ..Options::default()
        },
    )
    .expect("open the test database");
    let boot = store.create_organization("Acme").unwrap();
    let root = Creds {
        id: boot.client.client.id.clone(),
        secret: boot.client.secret.expose().to_owned(),
    };
    (store, root)
}

/// One `opcore serve` process on a free port.
struct Node {
    child: Child,
    addr: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Node {
    /// `opcore serve --db URL --listen 127.0.0.1:0` sharing the Redis key prefix; `extra` is
    /// more of the `--options` JSON object (or empty).
    fn start(db: &TestDb, redis: &RedisPrefix, extra: &str) -> Node {
        let mut json = format!(
            r#"{{"argon2":{{"m_cost":8,"t_cost":1,"p_cost":1}},"rate_limit_url":"{}","rate_limit_key_prefix":"{}""#,
            redis.url, redis.prefix
        );
        if !extra.is_empty() {
            json.push(',');
            json.push_str(extra);
        }
        json.push('}');
        let mut child = Command::new(env!("CARGO_BIN_EXE_opcore"))
            .args(["serve", "--db", &db.url, "--listen", "127.0.0.1:0"])
            .args(["--options", &json])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start opcore serve");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut seen = Vec::new();
        let addr = loop {
            let Some(Ok(line)) = lines.next() else {
                panic!("opcore serve exited without announcing its address: {seen:?}");
            };
            if let Some((_, at)) = line.rsplit_once(" on http://") {
                break at.trim().to_owned();
            }
            seen.push(line);
        };
        let log = Arc::new(Mutex::new(seen));
        let sink = log.clone();
        // Keep draining stderr so the node never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Node { child, addr, log }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// SIGKILL, and wait for the process to be gone.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

fn three_nodes(db: &TestDb, redis: &RedisPrefix, extra: &str) -> Vec<Node> {
    (0..3).map(|_| Node::start(db, redis, extra)).collect()
}

/// An answer: its status and its body as JSON (`Null` when empty).
#[derive(Debug)]
struct Answer {
    status: u16,
    body: Value,
}

/// One Manage request on a connection of its own; an I/O error when the node cannot be
/// reached or the connection breaks before the whole answer has arrived.
fn http(
    addr: &str,
    method: &str,
    path: &str,
    creds: &Creds,
    body: Option<&Value>,
) -> std::io::Result<Answer> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let body = body.map(Value::to_string).unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nopenpanel-client-id: {}\r\n\
         openpanel-client-secret: {}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        creds.id,
        creds.secret,
        body.len()
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let broken = || std::io::Error::new(std::io::ErrorKind::UnexpectedEof, text.to_string());
    let (head, rest) = text.split_once("\r\n\r\n").ok_or_else(broken)?;
    let status = head
        .get(9..12)
        .and_then(|c| c.parse().ok())
        .ok_or_else(broken)?;
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    if rest.len() < length {
        return Err(broken());
    }
    let body = if rest.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(rest).map_err(|_| broken())?
    };
    Ok(Answer { status, body })
}

fn call(node: &Node, method: &str, path: &str, creds: &Creds, body: Option<Value>) -> Answer {
    http(&node.addr, method, path, creds, body.as_ref()).unwrap_or_else(|e| {
        panic!(
            "{method} {path} at {}: {e}\nnode log:\n{}",
            node.addr,
            node.log()
        )
    })
}

/// `call`, asserting a 200; the assertion's message is `label` followed by the body.
fn call_ok(
    node: &Node,
    method: &str,
    path: &str,
    creds: &Creds,
    body: Option<Value>,
    label: &str,
) -> Answer {
    let r = call(node, method, path, creds, body);
    assert_eq!(r.status, 200, "{label}{}", r.body);
    r
}

/// 1. 300 same-name project creates at once, spread round-robin over three nodes: every one
///    is a 200 with its own id, and the ids are exactly `same`, `same-1` … `same-299`.
#[test]
#[ignore = "stops PostgreSQL: run by scripts/multinode.sh"]
fn concurrent_same_name_creates_on_three_nodes_get_distinct_ids() {
    let _one = one_at_a_time();
    let db = TestDb::create();
    let redis = RedisPrefix::new();
    let (_store, root) = bootstrap(&db);
    let nodes = three_nodes(&db, &redis, RAISED_MANAGE);
    const N: usize = 300;
    let start = Arc::new(Barrier::new(N));
    let began = Instant::now();
    let answers: Vec<(usize, std::io::Result<Answer>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..N)
            .map(|i| {
                let (start, root, addr) = (start.clone(), &root, &nodes[i % 3].addr);
                s.spawn(move || {
                    start.wait();
                    let body = json!({"name": "Same"});
                    (
                        i % 3,
                        http(addr, "POST", "/manage/projects", root, Some(&body)),
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    println!(
        "creates: {N} same-name creates on three nodes answered in {:?}",
        began.elapsed()
    );
    let mut ids = BTreeSet::new();
    for (node, answer) in answers {
        let answer = answer.unwrap_or_else(|e| panic!("node {node}: {e}"));
        assert_eq!(
            answer.status,
            200,
            "node {node}: {}\nnode log:\n{}",
            answer.body,
            nodes[node].log()
        );
        assert_eq!(answer.body["data"]["name"], "Same");
        let id = answer.body["data"]["id"].as_str().unwrap().to_owned();
        assert!(ids.insert(id.clone()), "the id {id} was issued twice");
    }
    let expected: BTreeSet<String> = std::iter::once("same".to_owned())
        .chain((1..N).map(|n| format!("same-{n}")))
        .collect();
    assert_eq!(ids, expected);
}

/// The most admissions any window of `window` holds (windows start at each admission), with
/// `slack` taken off the window for the time between a decision and its recording.
fn max_in_window(times: &[Instant], window: Duration, slack: Duration) -> usize {
    let w = window - slack;
    (0..times.len())
        .map(|i| times[i..].iter().take_while(|&&t| t - times[i] < w).count())
        .max()
        .unwrap_or(0)
}

/// 2. A root client with the default Manage limit (20 per 10 s) sends round-robin to three
///    nodes for `OPCORE_MULTINODE_SECONDS` (default 12) s: no 10 s window of the admitted
///    requests holds more than 20. Timestamps are taken as each answer arrives, so the check
///    shortens the window by 20 ms for the time between Redis's decision and the recording.
#[test]
#[ignore = "stops PostgreSQL: run by scripts/multinode.sh"]
fn one_manage_limit_holds_across_three_nodes_on_postgres() {
    let _one = one_at_a_time();
    let seconds: u64 = std::env::var("OPCORE_MULTINODE_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12);
    let db = TestDb::create();
    let redis = RedisPrefix::new();
    let (_store, root) = bootstrap(&db);
    let nodes = three_nodes(&db, &redis, "");
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut admitted = Vec::new();
    let mut refused = 0;
    let mut i = 0;
    while Instant::now() < end {
        let node = &nodes[i % 3];
        i += 1;
        let answer = call(node, "GET", "/manage/projects", &root, None);
        match answer.status {
            200 => admitted.push(Instant::now()),
            429 => {
                assert_eq!(
                    answer.body,
                    json!({"error": "Too Many Requests", "message": "Rate limit exceeded"})
                );
                refused += 1;
            }
            other => panic!("node {}: status {other}: {}", node.addr, answer.body),
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let most = max_in_window(
        &admitted,
        Duration::from_secs(10),
        Duration::from_millis(20),
    );
    println!(
        "rate limit: {} admitted, {refused} refused in {seconds} s; at most {most} in a 10 s window",
        admitted.len()
    );
    assert!(
        refused > 0 && admitted.len() >= 20,
        "{} admitted, {refused} refused",
        admitted.len()
    );
    assert!(
        most <= 20,
        "{most} admitted in one 10 s window across three nodes"
    );
}

/// 3. A root client deleted through node A is refused (401) by node B's very next Manage call,
///    after B had it cached. A Track client deleted through node A is refused within 1 s by a
///    node that had its authentication cached: `opcore serve` answers only the Manage API and
///    OAuth, so that node is a host embedding the library on the same database.
#[test]
#[ignore = "stops PostgreSQL: run by scripts/multinode.sh"]
fn a_client_deleted_through_one_node_is_refused_by_the_others() {
    let _one = one_at_a_time();
    let db = TestDb::create();
    let redis = RedisPrefix::new();
    let (embedded, root) = bootstrap(&db);
    let nodes = three_nodes(&db, &redis, RAISED_MANAGE);
    let (a, b, c) = (&nodes[0], &nodes[1], &nodes[2]);
    let unauthorized = json!({"error": "Unauthorized", "message": "Invalid client credentials"});

    let created = call_ok(
        a,
        "POST",
        "/manage/clients",
        &root,
        Some(json!({"name": "Second root", "type": "root"})),
        "",
    );
    let doomed = Creds {
        id: created.body["data"]["id"].as_str().unwrap().to_owned(),
        secret: created.body["data"]["secret"].as_str().unwrap().to_owned(),
    };
    for node in [b, c, b] {
        call_ok(node, "GET", "/manage/projects", &doomed, None, "");
    }
    let deleted = call(
        a,
        "DELETE",
        &format!("/manage/clients/{}", doomed.id),
        &root,
        None,
    );
    assert_eq!(
        (deleted.status, deleted.body),
        (200, json!({"success": true}))
    );
    for node in [b, c] {
        let r = call(node, "GET", "/manage/projects", &doomed, None);
        assert_eq!(
            (r.status, r.body),
            (401, unauthorized.clone()),
            "{}",
            node.addr
        );
    }

    let project = call_ok(
        a,
        "POST",
        "/manage/projects",
        &root,
        Some(json!({"name": "Tracked", "domain": "https://acme.example"})),
        "",
    );
    let project_id = project.body["data"]["id"].as_str().unwrap().to_owned();
    let tracker = call_ok(
        a,
        "POST",
        "/manage/clients",
        &root,
        Some(json!({"name": "Tracker", "type": "write", "projectId": project_id})),
        "",
    );
    let track_id = tracker.body["data"]["id"].as_str().unwrap().to_owned();
    let track_secret = tracker.body["data"]["secret"].as_str().unwrap().to_owned();
    let track = || {
        embedded.authenticate(&AuthRequest {
            client_id: Some(&track_id),
            client_secret: Some(&track_secret),
            project_id: Some(&project_id),
            ..AuthRequest::new(Family::Track)
        })
    };
    track().expect("the Track client authenticates");
    track().expect("and again, from the cache");
    call_ok(
        a,
        "DELETE",
        &format!("/manage/clients/{track_id}"),
        &root,
        None,
        "",
    );
    let since = Instant::now();
    let delay = loop {
        match track() {
            Err(AuthError::InvalidCredentials) => break since.elapsed(),
            Ok(_) => assert!(
                since.elapsed() <= Duration::from_secs(1),
                "a Track client deleted through node A still authenticated after {:?}",
                since.elapsed()
            ),
            Err(e) => panic!("unexpected refusal: {e:?}"),
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    println!("revocation: the deleted Track client was refused after {delay:?}");
    assert!(delay <= Duration::from_secs(1), "{delay:?}");
}

/// 4. Four threads create projects at node C; C is SIGKILLed while they do. Every create that
///    was answered 200 is then found through node A, with the name it was created with.
#[test]
#[ignore = "stops PostgreSQL: run by scripts/multinode.sh"]
fn a_node_killed_during_writes_loses_no_acknowledged_write() {
    let _one = one_at_a_time();
    let db = TestDb::create();
    let redis = RedisPrefix::new();
    let (_store, root) = bootstrap(&db);
    let mut nodes = three_nodes(&db, &redis, RAISED_MANAGE);
    let victim = nodes[2].addr.clone();
    let acknowledged = Mutex::new(Vec::<(String, String)>::new());
    let stop = AtomicBool::new(false);
    let cut = AtomicU64::new(0);
    std::thread::scope(|s| {
        for t in 0..4 {
            let (acknowledged, stop, cut, root, victim) =
                (&acknowledged, &stop, &cut, &root, &victim);
            s.spawn(move || {
                for n in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let name = format!("Write {t}-{n}");
                    let body = json!({ "name": name });
                    match http(victim, "POST", "/manage/projects", root, Some(&body)) {
                        Ok(a) if a.status == 200 => {
                            let id = a.body["data"]["id"].as_str().unwrap().to_owned();
                            acknowledged.lock().unwrap().push((id, name));
                        }
                        Ok(a) => panic!("a create at node C was answered {}: {}", a.status, a.body),
                        // The node is gone: this request (maybe in flight) was not acknowledged.
                        Err(_) => {
                            cut.fetch_add(1, Ordering::Relaxed);
                            return;
                        }
                    }
                }
            });
        }
        // Kill once writes are flowing: after the 100th acknowledgement.
        let deadline = Instant::now() + Duration::from_secs(30);
        while acknowledged.lock().unwrap().len() < 100 {
            assert!(
                Instant::now() < deadline,
                "node C acknowledged too few writes"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        nodes[2].kill();
        // Any thread still going after the kill can only fail from now on.
        std::thread::sleep(Duration::from_millis(200));
        stop.store(true, Ordering::Relaxed);
    });
    let acknowledged = acknowledged.into_inner().unwrap();
    println!(
        "kill: {} creates acknowledged before the SIGKILL, {} cut by it",
        acknowledged.len(),
        cut.load(Ordering::Relaxed)
    );
    assert!(
        cut.load(Ordering::Relaxed) >= 1,
        "no write was cut by the kill"
    );
    let a = &nodes[0];
    for (id, name) in &acknowledged {
        let r = call(a, "GET", &format!("/manage/projects/{id}"), &root, None);
        assert_eq!(
            (r.status, &r.body["data"]["name"]),
            (200, &json!(name)),
            "an acknowledged create ({id}) is missing after the kill: {}",
            r.body
        );
    }
    // The killed node's address serves again once a node is started in its place.
    let replacement = Node::start(&db, &redis, RAISED_MANAGE);
    call_ok(
        &replacement,
        "GET",
        "/manage/projects?limit=1",
        &root,
        None,
        "",
    );
}

/// The script's cluster: stopped and started with `pg_ctl`. Dropping this while the server is
/// down starts it again, so a failing test leaves the cluster up for the next.
struct Cluster {
    ctl: Vec<String>,
    log: String,
    down: bool,
}

impl Cluster {
    fn from_env() -> Cluster {
        let ctl: Vec<String> = required_env("OPCORE_MULTINODE_PG_CTL")
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        Cluster {
            ctl,
            log: required_env("OPCORE_MULTINODE_PG_LOG"),
            down: false,
        }
    }

    fn pg_ctl(&self, args: &[&str]) {
        let status = Command::new(&self.ctl[0])
            .args(&self.ctl[1..])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.ctl.join(" ")));
        assert!(
            status.success(),
            "`{} {}` failed ({status}); see {}",
            self.ctl.join(" "),
            args.join(" "),
            self.log
        );
    }

    fn stop(&mut self) {
        self.down = true;
        self.pg_ctl(&["-m", "fast", "-w", "-t", "60", "stop"]);
    }

    fn start(&mut self) {
        self.pg_ctl(&["-l", &self.log, "-w", "-t", "60", "start"]);
        self.down = false;
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.down {
            self.down = false;
            let _ = Command::new(&self.ctl[0])
                .args(&self.ctl[1..])
                .args(["-l", &self.log, "-w", "-t", "60", "start"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// 5. PostgreSQL stopped (`pg_ctl stop -m fast`) for 5 s: every node answers every request
///    `503 {"error":"Service Unavailable","message":"Storage unavailable"}` within 6 s — never a
///    500 — and, once it is started again on the same port, each node serves again by itself
///    within 15 s; a write then succeeds on all three, and nothing asked during the outage
///    was stored.
#[test]
#[ignore = "stops PostgreSQL: run by scripts/multinode.sh"]
fn postgres_stopped_and_started_again_gives_503_then_service_resumes() {
    let _one = one_at_a_time();
    let db = TestDb::create();
    let redis = RedisPrefix::new();
    let mut cluster = Cluster::from_env();
    let (_store, root) = bootstrap(&db);
    let nodes = three_nodes(&db, &redis, RAISED_MANAGE);
    let unavailable = json!({"error": "Service Unavailable", "message": "Storage unavailable"});
    for (i, node) in nodes.iter().enumerate() {
        call_ok(
            node,
            "POST",
            "/manage/projects",
            &root,
            Some(json!({"name": format!("Before {i}")})),
            "",
        );
    }

    cluster.stop();
    let outage = Instant::now();
    let answered = AtomicU64::new(0);
    std::thread::scope(|s| {
        for (i, node) in nodes.iter().enumerate() {
            let (root, unavailable, answered) = (&root, &unavailable, &answered);
            s.spawn(move || {
                let mut n = 0;
                while outage.elapsed() < Duration::from_secs(5) {
                    let (method, path, body) = match n % 3 {
                        0 => ("GET", "/manage/projects".to_owned(), None),
                        1 => (
                            "POST",
                            "/manage/projects".to_owned(),
                            Some(json!({"name": format!("During {i}-{n}")})),
                        ),
                        _ => ("GET", "/manage/clients".to_owned(), None),
                    };
                    n += 1;
                    let asked = Instant::now();
                    let r = call(node, method, &path, root, body);
                    let took = asked.elapsed();
                    assert!(
                        took < OUTAGE_ANSWER_BOUND,
                        "{method} {path} at node {i} took {took:?} while PostgreSQL was down"
                    );
                    assert_eq!(
                        (r.status, &r.body),
                        (503, unavailable),
                        "{method} {path} at node {i} while PostgreSQL was down"
                    );
                    answered.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(20));
                }
                assert!(n >= 2, "node {i} answered {n} requests during the outage");
            });
        }
    });
    cluster.start();
    let restarted = Instant::now();
    println!(
        "outage: {} requests answered 503 in {:?}",
        answered.load(Ordering::Relaxed),
        restarted - outage
    );

    for (i, node) in nodes.iter().enumerate() {
        loop {
            let r = call(
                node,
                "POST",
                "/manage/projects",
                &root,
                Some(json!({"name": format!("After {i}")})),
            );
            if r.status == 200 {
                break;
            }
            assert_eq!(
                (r.status, &r.body),
                (503, &unavailable),
                "node {i} after PostgreSQL started again"
            );
            assert!(
                restarted.elapsed() < Duration::from_secs(15),
                "node {i} still answers 503 {:?} after PostgreSQL started again",
                restarted.elapsed()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    println!(
        "outage: all three nodes wrote again {:?} after PostgreSQL started",
        restarted.elapsed()
    );
    for (i, node) in nodes.iter().enumerate() {
        call_ok(
            node,
            "POST",
            "/manage/projects",
            &root,
            Some(json!({"name": format!("Again {i}")})),
            &format!("node {i}: "),
        );
    }
    let listed = call_ok(
        &nodes[0],
        "GET",
        "/manage/projects?limit=100",
        &root,
        None,
        "",
    );
    let names: BTreeSet<&str> = listed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    let expected: BTreeSet<&str> = [
        "Before 0", "Before 1", "Before 2", "After 0", "After 1", "After 2", "Again 0", "Again 1",
        "Again 2",
    ]
    .into();
    assert_eq!(
        names, expected,
        "nothing asked during the outage was stored"
    );
}
