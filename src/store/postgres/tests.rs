//! The PostgreSQL backend against a real server: the backend-agnostic suite, and what only
//! several nodes on one database show. The server is `OPCORE_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); every test creates its own database and
//! drops it at the end. A server that cannot be reached fails the test, naming the URL.

use std::collections::BTreeSet;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::PgDb;
use crate::auth::{AuthError, AuthRequest};
use crate::domain::access::Family;
use crate::domain::model::ClientType;
use crate::domain::secret::Argon2Params;
use crate::error::Error;
use crate::options::Options;
use crate::store::{NewClient, NewProject};
use crate::Store;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn server_url() -> String {
    std::env::var("OPCORE_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| DEFAULT_URL.to_owned())
}

/// A database of its own for one test, dropped (with its connections) when this is dropped.
pub(crate) struct TestDb {
    server: String,
    name: String,
    pub url: String,
}

impl TestDb {
    pub(crate) fn create() -> TestDb {
        static N: AtomicU64 = AtomicU64::new(0);
        let server = server_url();
        let name = format!(
            "opcore_test_{}_{}_{:08x}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>()
        );
        let mut admin = postgres::Client::connect(&server, postgres::NoTls).unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is not reachable at {} (set OPCORE_TEST_POSTGRES_URL): {e}",
                super::redacted(&server)
            )
        });
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
        let mut url = url::Url::parse(&server).expect("OPCORE_TEST_POSTGRES_URL is a URL");
        url.set_path(&format!("/{name}"));
        TestDb {
            server,
            name,
            url: url.to_string(),
        }
    }

    fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).expect("connect to the test database")
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

fn open(options: &Options) -> (PgDb, TestDb) {
    let db = TestDb::create();
    let backend = PgDb::open(&db.url, options).expect("open the PostgreSQL store");
    (backend, db)
}

crate::store::suite::backend_suite!(open);

use crate::store::suite::leaves_the_data_revision;

fn named(name: &str) -> NewProject {
    NewProject {
        name: name.into(),
        ..NewProject::default()
    }
}

fn cheap_options() -> Options {
    Options {
        argon2: Argon2Params {
            m_cost: 8,
            t_cost: 1,
            p_cost: 1,
        },
        ..Options::default()
    }
}

#[test]
fn concurrent_same_name_creates_on_two_nodes_get_distinct_ids() {
    let db = TestDb::create();
    let a = PgDb::open(&db.url, &cheap_options()).unwrap();
    let b = PgDb::open(&db.url, &cheap_options()).unwrap();
    let org = a.create_organization("Acme").unwrap().organization.id;
    const THREADS: usize = 4;
    const EACH: usize = 10;
    let ids: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS * 2)
            .map(|t| {
                let node = if t % 2 == 0 { a.clone() } else { b.clone() };
                let org = org.clone();
                s.spawn(move || {
                    (0..EACH)
                        .map(|_| {
                            node.create_project(&org, &named("Same"))
                                .expect("create a project")
                                .project
                                .id
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let total = THREADS * 2 * EACH;
    let distinct: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
    assert_eq!(distinct.len(), total, "every create got its own id");
    // The suffixes are handed out in order: exactly `same`, `same-1` … `same-79`.
    let expected: BTreeSet<String> = std::iter::once("same".to_owned())
        .chain((1..total).map(|n| format!("same-{n}")))
        .collect();
    assert_eq!(
        distinct,
        expected.iter().map(String::as_str).collect::<BTreeSet<_>>()
    );
    // At most two issued-id probes per create, however many share the base.
    assert!(
        a.id_probes() + b.id_probes() <= 2 * total as u64 + 2,
        "probes: {}",
        a.id_probes() + b.id_probes()
    );
}

fn store_on(url: &str) -> Store {
    Store::open(url, cheap_options()).expect("open a node")
}

/// A fresh database with two nodes open on it and an organization `Acme` created through the
/// first. Keep the `TestDb` alive for the test's length.
fn two_nodes() -> (TestDb, Store, Store, String) {
    let db = TestDb::create();
    let node_a = store_on(&db.url);
    let node_b = store_on(&db.url);
    let boot = node_a.create_organization("Acme").unwrap();
    let org = boot.organization.id.clone();
    (db, node_a, node_b, org)
}

/// A second organization-level root client, `Second root`, created through `store`.
fn second_root(store: &Store, org: &str) -> crate::store::CreatedClient {
    store
        .create_client(
            org,
            &NewClient {
                name: "Second root".into(),
                client_type: ClientType::Root,
                ..NewClient::default()
            },
        )
        .unwrap()
}

#[test]
fn a_client_deleted_on_one_node_is_refused_on_another() {
    let (_db, node_a, node_b, org) = two_nodes();
    let created = node_a.create_project(&org, &named("Site")).unwrap();
    let manager = second_root(&node_a, &org);
    let manage = |store: &Store| {
        store.authenticate(&AuthRequest {
            client_id: Some(&manager.client.id),
            client_secret: Some(manager.secret.expose()),
            ..AuthRequest::new(Family::Manage)
        })
    };
    let track_id = created.client.id.clone();
    let track_secret = created.client.secret.expose().to_owned();
    let track = |store: &Store| {
        store.authenticate(&AuthRequest {
            client_id: Some(&track_id),
            client_secret: Some(&track_secret),
            project_id: Some(&created.project.id),
            ..AuthRequest::new(Family::Track)
        })
    };
    // Node B authenticates both clients and caches them.
    let principal = manage(&node_b).expect("the manager authenticates on node B");
    track(&node_b).expect("the tracker authenticates on node B");
    track(&node_b).expect("and again, from the cache");
    assert!(node_b.authenticator().cached_credentials() >= 2);
    let acting = node_b.acting_as(&principal);
    acting.list_projects(&org).expect("a Manage call on node B");

    // Node A deletes the manager: node B's next Manage call is refused at once.
    node_a.delete_client(&org, &manager.client.id).unwrap();
    assert!(matches!(
        acting.list_projects(&org),
        Err(Error::Unauthenticated)
    ));
    // Node A deletes the tracker: node B's cached Track authentication fails within 1 s.
    let deleted = Instant::now();
    node_a.delete_client(&org, &track_id).unwrap();
    loop {
        match track(&node_b) {
            Err(AuthError::InvalidCredentials) => break,
            Ok(_) => assert!(
                deleted.elapsed() < Duration::from_secs(1),
                "node B still accepted a deleted client after {:?}",
                deleted.elapsed()
            ),
            Err(e) => panic!("unexpected refusal: {e:?}"),
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_database_from_a_newer_version_is_refused_and_left_untouched() {
    let db = TestDb::create();
    drop(PgDb::open(&db.url, &cheap_options()).unwrap());
    let mut admin = db.client();
    admin
        .batch_execute("UPDATE opcore_schema SET version = 99")
        .unwrap();
    let snapshot = |c: &mut postgres::Client| -> Vec<String> {
        let mut rows: Vec<String> = c
            .query(
                "SELECT table_name FROM information_schema.tables
                 WHERE table_schema = current_schema() ORDER BY 1",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect();
        let version: i64 = c
            .query_one("SELECT version FROM opcore_schema", &[])
            .unwrap()
            .get(0);
        let revision: i64 = c
            .query_one("SELECT value FROM meta WHERE key = 'auth_revision'", &[])
            .unwrap()
            .get(0);
        rows.push(format!("version={version} revision={revision}"));
        rows
    };
    let before = snapshot(&mut admin);
    let err = PgDb::open(&db.url, &cheap_options()).unwrap_err();
    let Error::Open(message) = &err else {
        panic!("expected Error::Open, got {err:?}");
    };
    assert!(
        message.contains("schema version 99")
            && message.contains(&format!(
                "newer than this opcore supports ({})",
                super::schema::current_version()
            ))
            && message.contains(&db.name),
        "{message}"
    );
    assert_eq!(snapshot(&mut admin), before);
}

#[test]
fn a_database_of_another_program_is_refused() {
    let db = TestDb::create();
    db.client()
        .batch_execute("CREATE TABLE orders (id INT); INSERT INTO orders VALUES (1);")
        .unwrap();
    let err = PgDb::open(&db.url, &cheap_options()).unwrap_err();
    assert!(
        matches!(&err, Error::Open(m) if m.contains("not an opcore store")),
        "{err:?}"
    );
    let n: i64 = db
        .client()
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(n, 1, "nothing was created");
}

#[test]
fn several_nodes_opening_a_new_database_at_once_create_it_once() {
    let db = TestDb::create();
    let opened: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| PgDb::open(&db.url, &cheap_options())))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for o in &opened {
        assert!(o.is_ok(), "{o:?}");
    }
    let keys: i64 = db
        .client()
        .query_one("SELECT count(*) FROM store_keys", &[])
        .unwrap()
        .get(0);
    assert_eq!(keys, 1);
}

#[test]
fn an_unreachable_server_is_a_clear_open_error() {
    let started = Instant::now();
    let url = "postgres://opcore:hunter2secret@127.0.0.1:1/opcore";
    let err = Store::open(url, cheap_options()).unwrap_err();
    let Error::Open(message) = &err else {
        panic!("expected Error::Open, got {err:?}");
    };
    assert!(
        message
            .starts_with("postgres://opcore:***@127.0.0.1:1/opcore: cannot connect to PostgreSQL"),
        "{message}"
    );
    assert!(!err.to_string().contains("hunter2secret"));
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn the_store_path_is_the_url_without_its_password() {
    let db = TestDb::create();
    let store = store_on(&db.url);
    assert_eq!(
        store.path().to_str(),
        Some(super::redacted(&db.url).as_str())
    );
}

/// A TCP proxy in front of the test server that can play an outage: `down` cuts every
/// connection and refuses new ones, `up` lets them through again; `cut_after` cuts the one
/// connection that next sends a given byte string: its client side at once, its server side
/// 300 ms later (a reply lost while the server does the work).
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    streams: Arc<Mutex<Vec<TcpStream>>>,
    cut: Arc<Mutex<Option<Vec<u8>>>>,
}

impl Proxy {
    /// A proxy in front of the test database's server, and the database's URL through it.
    fn in_front_of(db: &TestDb) -> (Proxy, String) {
        let mut url = url::Url::parse(&db.url).unwrap();
        let upstream = format!(
            "{}:{}",
            url.host_str().unwrap_or("127.0.0.1"),
            url.port().unwrap_or(5432)
        );
        let proxy = Proxy::start(upstream);
        url.set_host(Some("127.0.0.1")).unwrap();
        url.set_port(Some(proxy.port)).unwrap();
        (proxy, url.to_string())
    }

    fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let stop = Arc::new(AtomicBool::new(false));
        let streams: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let cut: Arc<Mutex<Option<Vec<u8>>>> = Arc::default();
        let (up2, stop2, streams2, cut2) = (up.clone(), stop.clone(), streams.clone(), cut.clone());
        std::thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                let Ok((client, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                // Checked and registered under the lock `down` takes, so that no connection
                // accepted as the outage begins escapes being cut.
                let mut streams = streams2.lock().unwrap();
                if !up2.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let _ = client.set_nonblocking(false);
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let (mut from_server, mut to_client) =
                    (server.try_clone().unwrap(), client.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from_server, &mut to_client);
                    let _ = to_client.shutdown(Shutdown::Both);
                });
                let (mut from_client, mut to_server) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                let cut = cut2.clone();
                std::thread::spawn(move || {
                    use std::io::{Read, Write};
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n @ 1..) = from_client.read(&mut buf) {
                        if to_server.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        let mut armed = cut.lock().unwrap();
                        let hit = armed
                            .as_deref()
                            .is_some_and(|m| buf[..n].windows(m.len()).any(|w| w == m));
                        if hit {
                            // The client is cut at once, before the reply can reach it; the
                            // server's side stays open until it has done the work.
                            *armed = None;
                            drop(armed);
                            let _ = from_client.shutdown(Shutdown::Both);
                            std::thread::sleep(Duration::from_millis(300));
                            break;
                        }
                    }
                    let _ = to_server.shutdown(Shutdown::Both);
                });
                streams.extend([client, server]);
                drop(streams);
            }
        });
        Proxy {
            port,
            up,
            stop,
            streams,
            cut,
        }
    }

    /// Arms the cut: the next connection to send `marker` is closed (its server side 300 ms
    /// after).
    fn cut_after(&self, marker: &[u8]) {
        *self.cut.lock().unwrap() = Some(marker.to_vec());
    }

    fn down(&self) {
        let mut streams = self.streams.lock().unwrap();
        self.up.store(false, Ordering::SeqCst);
        for s in streams.drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    fn up(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.down();
    }
}

#[test]
fn while_the_database_is_unreachable_requests_get_503_and_the_node_recovers() {
    let db = TestDb::create();
    let (proxy, url) = Proxy::in_front_of(&db);
    let store = store_on(&url);
    let boot = store.create_organization("Acme").unwrap();
    let id = boot.client.client.id.clone();
    let secret = boot.client.secret.expose().to_owned();
    let call = |method: &str, body: &[u8]| {
        let headers = [
            ("openpanel-client-id", id.as_str()),
            ("openpanel-client-secret", secret.as_str()),
            ("content-type", "application/json"),
        ];
        let started = Instant::now();
        let response = crate::manage::handle(
            &store,
            &crate::manage::Request {
                headers: &headers,
                body,
                ..crate::manage::Request::new(method, "/manage/projects")
            },
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "a request took {:?}",
            started.elapsed()
        );
        response
    };
    assert_eq!(call("GET", b"").status, 200);

    proxy.down();
    for method in ["GET", "POST", "GET"] {
        let r = call(method, br#"{"name":"During"}"#);
        assert_eq!(r.status, 503, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&r.body).unwrap(),
            serde_json::json!({"error": "Service Unavailable", "message": "Storage unavailable"})
        );
    }

    proxy.up();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = call("POST", br#"{"name":"After"}"#);
        if r.status == 201 || r.status == 200 {
            break;
        }
        assert_eq!(r.status, 503, "{}", String::from_utf8_lossy(&r.body));
        assert!(Instant::now() < deadline, "the node did not recover");
        std::thread::sleep(Duration::from_millis(50));
    }
    let names: Vec<String> = store
        .list_projects(&boot.organization.id)
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["After"], "nothing from the outage was stored");
}

/// `opcore serve` on PostgreSQL: requests answered on the server's async workers (cached
/// credentials) as well as on its blocking threads reach the database, and the server stops
/// cleanly.
#[cfg(feature = "server")]
#[test]
fn the_http_server_serves_a_postgres_store() {
    use std::io::{Read, Write};
    let db = TestDb::create();
    let store = store_on(&db.url);
    let boot = store.create_organization("Acme").unwrap();
    let server = crate::server::spawn(
        store,
        "127.0.0.1:0".parse().unwrap(),
        crate::server::LogSink::lines(|_| {}),
    )
    .unwrap();
    let request = |method: &str, body: &str| -> String {
        let mut s = TcpStream::connect(server.addr()).unwrap();
        write!(
            s,
            "{method} /manage/projects HTTP/1.1\r\nhost: test\r\nopenpanel-client-id: {}\r\n\
             openpanel-client-secret: {}\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            boot.client.client.id,
            boot.client.secret.expose(),
            body.len()
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    };
    for _ in 0..3 {
        let created = request("POST", r#"{"name":"Same"}"#);
        assert!(created.starts_with("HTTP/1.1 20"), "{created}");
        let listed = request("GET", "");
        assert!(listed.starts_with("HTTP/1.1 200"), "{listed}");
    }
    let listed = request("GET", "");
    for id in ["\"same\"", "\"same-1\"", "\"same-2\""] {
        assert!(listed.contains(id), "{listed}");
    }
    server.stop().unwrap();
}

/// A Manage request made with client credentials through `store`.
fn manage_call(
    store: &Store,
    id: &str,
    secret: &str,
    method: &str,
    target: &str,
    body: &str,
) -> crate::manage::Response {
    let headers = [
        ("openpanel-client-id", id),
        ("openpanel-client-secret", secret),
        ("content-type", "application/json"),
    ];
    crate::manage::handle(
        store,
        &crate::manage::Request {
            headers: &headers,
            body: body.as_bytes(),
            ..crate::manage::Request::new(method, target)
        },
    )
}

fn project_names(r: &crate::manage::Response) -> Vec<String> {
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let items = r.json()["data"].as_array().cloned().unwrap_or_default();
    items
        .iter()
        .map(|p| p["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn a_list_cached_on_one_node_shows_writes_made_on_another_and_refuses_a_deleted_caller() {
    let (_db, node_a, node_b, org) = two_nodes();
    let manager = second_root(&node_a, &org);
    let (id, secret) = (
        manager.client.id.clone(),
        manager.secret.expose().to_owned(),
    );
    let list = |store: &Store| manage_call(store, &id, &secret, "GET", "/manage/projects", "");
    node_a.create_project(&org, &named("Alpha")).unwrap();
    assert_eq!(project_names(&list(&node_b)), ["Alpha"]);
    assert_eq!(project_names(&list(&node_b)), ["Alpha"]);
    // A write on node A: node B's next list shows it, cached page or not.
    std::thread::sleep(Duration::from_millis(2));
    let beta = node_a
        .create_project(&org, &named("Beta"))
        .unwrap()
        .project
        .id;
    assert_eq!(project_names(&list(&node_b)), ["Beta", "Alpha"]);
    node_a.delete_project(&org, &beta).unwrap();
    assert_eq!(project_names(&list(&node_b)), ["Alpha"]);
    // A project created through node B's Manage API names its caller in the audit log that
    // node A reads.
    let created = manage_call(
        &node_b,
        &id,
        &secret,
        "POST",
        "/manage/projects",
        r#"{"name":"Gamma"}"#,
    );
    assert!(
        matches!(created.status, 200 | 201),
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    let gamma = created.json()["data"]["id"].as_str().unwrap().to_owned();
    let entries = node_a
        .list_audit(&org, Some(&gamma), &crate::store::ListOptions::default())
        .unwrap()
        .items;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].actor_client_id.as_deref(), Some(id.as_str()));
    assert_eq!(
        entries[0].action,
        crate::domain::model::AuditAction::ProjectCreate
    );
    // The caller deleted on node A: node B's cached list is refused at once.
    assert_eq!(project_names(&list(&node_b)), ["Gamma", "Alpha"]);
    node_a.delete_client(&org, &id).unwrap();
    assert_eq!(list(&node_b).status, 401);
}

#[test]
fn a_rotation_on_one_node_is_honoured_by_another() {
    let (_db, node_a, node_b, org) = two_nodes();
    let created = node_a.create_project(&org, &named("Site")).unwrap();
    let (id, project) = (created.client.id.clone(), created.project.id.clone());
    let first = created.client.secret.expose().to_owned();
    let track = |secret: &str| {
        node_b.authenticate(&AuthRequest {
            client_id: Some(&id),
            client_secret: Some(secret),
            project_id: Some(&project),
            ..AuthRequest::new(Family::Track)
        })
    };
    track(&first).expect("the first secret, cached on node B");
    // Rotated on node A with a grace: on node B both secrets work.
    let second = node_a.rotate_client(&org, &id, 600).unwrap();
    assert!(second.previous_secret_expires_at.is_some());
    let second = second.secret.expose().to_owned();
    track(&second).expect("the new secret on node B");
    track(&first).expect("the old secret during its grace");
    // Rotated again without a grace: node B refuses both earlier secrets within 1 s.
    let rotated = Instant::now();
    let third = node_a.rotate_client(&org, &id, 0).unwrap();
    assert_eq!(third.previous_secret_expires_at, None);
    for old in [&first, &second] {
        loop {
            match track(old) {
                Err(AuthError::InvalidCredentials) => break,
                Ok(_) => assert!(
                    rotated.elapsed() < Duration::from_secs(1),
                    "node B still accepted a replaced secret after {:?}",
                    rotated.elapsed()
                ),
                Err(e) => panic!("unexpected refusal: {e:?}"),
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    track(third.secret.expose()).expect("the newest secret on node B");
    // Both rotations are in the log, with no actor (direct store calls).
    let log = node_b
        .list_audit(&org, Some(&id), &crate::store::ListOptions::default())
        .unwrap()
        .items;
    let actions: Vec<_> = log
        .iter()
        .map(|e| (e.action, e.actor_client_id.clone()))
        .collect();
    use crate::domain::model::AuditAction as A;
    assert_eq!(actions, [(A::ClientRotate, None), (A::ClientRotate, None)]);
}

/// The audit entries of `resource` and the data revision.
fn audit_and_revision(
    b: &PgDb,
    org: &str,
    resource: &str,
) -> (Vec<crate::domain::model::AuditEntry>, u64) {
    let entries = b
        .list_audit(
            org,
            Some(resource),
            &crate::store::lists::ListOptions::default(),
        )
        .unwrap()
        .items;
    (entries, b.data_revision().unwrap())
}

/// Organization `Acme` with a project `Site`, made through `b`: their ids.
fn site(b: &PgDb) -> (String, String) {
    let org = b.create_organization("Acme").unwrap().organization.id;
    let project = b.create_project(&org, &named("Site")).unwrap().project.id;
    (org, project)
}

/// [`site`] and a second root client `Caller`: their ids.
fn site_and_caller(b: &PgDb) -> (String, String, String) {
    let (org, project) = site(b);
    let caller = b
        .create_client(
            &org,
            &NewClient {
                name: "Caller".into(),
                client_type: ClientType::Root,
                ..NewClient::default()
            },
        )
        .unwrap()
        .client
        .id;
    (org, project, caller)
}

#[test]
fn a_reference_commits_with_its_audit_entry_and_revision_and_checks_its_caller_first() {
    let (b, _db) = open(&cheap_options());
    let (org, project, caller) = site_and_caller(&b);
    let acting = b.acting_as(&caller);
    let reference = |project_id: &str| crate::store::NewReference {
        project_id: project_id.into(),
        title: "Release".into(),
        description: Some("v1.2.3 shipped".into()),
        datetime: Some("2024-01-15T10:30:00Z".into()),
    };
    let before = b.data_revision().unwrap();
    let created = acting.create_reference(&org, &reference(&project)).unwrap();
    assert_eq!(b.get_reference(&org, &created.id).unwrap(), created);
    let (entries, revision) = audit_and_revision(&b, &org, &created.id);
    assert!(revision > before, "{revision} > {before}");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].action.as_str(), "reference.create");
    assert_eq!(entries[0].actor_client_id.as_deref(), Some(caller.as_str()));
    assert_eq!(entries[0].project_id.as_deref(), Some(project.as_str()));
    assert_eq!(
        entries[0].changes,
        ["projectId", "title", "description", "date"]
    );

    // A project of no organization of the caller: refused, nothing written.
    let other = b.create_organization("Other").unwrap().organization.id;
    let theirs = b
        .create_project(&other, &named("Theirs"))
        .unwrap()
        .project
        .id;
    let err = acting
        .create_reference(&org, &reference(&theirs))
        .unwrap_err();
    let Error::Validation(fields) = &err else {
        panic!("expected a validation error, got {err:?}");
    };
    assert_eq!(fields.len(), 1);
    assert_eq!(
        fields[0].message,
        "Project not found in this organization (or past its deletion time)"
    );
    assert!(leaves_the_data_revision(&b, || {
        assert!(acting.create_reference(&org, &reference(&theirs)).is_err());
    }));
    assert!(b.list_references(&other, None).unwrap().is_empty());

    // The caller deleted: refused as unauthenticated before anything else, nothing written.
    b.delete_client(&org, &caller).unwrap();
    let audit_before = b
        .list_audit(&org, None, &crate::store::lists::ListOptions::default())
        .unwrap()
        .items
        .len();
    assert!(leaves_the_data_revision(&b, || {
        for project_id in [project.as_str(), theirs.as_str()] {
            assert!(matches!(
                acting.create_reference(&org, &reference(project_id)),
                Err(Error::Unauthenticated)
            ));
        }
    }));
    assert_eq!(b.list_references(&org, None).unwrap(), [created]);
    assert_eq!(
        b.list_audit(&org, None, &crate::store::lists::ListOptions::default())
            .unwrap()
            .items
            .len(),
        audit_before
    );
}

#[test]
fn the_create_reference_statements_run_twice_write_once() {
    let (b, db) = open(&cheap_options());
    let (org, project, caller) = site_and_caller(&b);
    let mut client = db.client();
    for (sql, actor) in [
        (super::resources::CREATE_REFERENCE, None),
        (
            super::resources::CREATE_REFERENCE_ACTING,
            Some(caller.as_str()),
        ),
    ] {
        let before = b.data_revision().unwrap();
        let id = uuid::Uuid::new_v4().hyphenated().to_string();
        let statement = client.prepare(sql).unwrap();
        for run in 0..2 {
            // As a retry after a lost connection sends it: the same parameters. The second
            // run is refused by the row's key and writes nothing (the store then finds the
            // first run's row).
            let audit_id = format!("audit-{run}-{id}");
            let mut params: Vec<&(dyn postgres::types::ToSql + Sync)> = vec![
                &id,
                &project,
                &"Release",
                &None::<&str>,
                &1_705_314_600_000i64,
                &1_705_314_600_000i64,
                &org,
                &audit_id,
                &"reference.create",
                &"reference",
                &r#"["projectId","title"]"#,
            ];
            if let Some(actor) = &actor {
                params.push(actor);
            }
            match client.execute(&statement, &params) {
                Ok(inserted) => assert_eq!((run, inserted), (0, 1), "{actor:?}"),
                Err(e) => {
                    let db = e.as_db_error().expect("a database error");
                    assert_eq!(run, 1, "{actor:?}: {db:?}");
                    assert_eq!(db.code().code(), "23505");
                    assert_eq!(db.constraint(), Some("project_references_pkey"));
                }
            }
        }
        let (entries, revision) = audit_and_revision(&b, &org, &id);
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].actor_client_id.as_deref(), actor);
        assert!(revision > before, "{revision} > {before}");
        assert_eq!(b.get_reference(&org, &id).unwrap().title, "Release");
    }
}

#[test]
fn a_reference_is_created_on_a_new_connection_when_the_pooled_one_was_dropped() {
    let (b, db) = open(&cheap_options());
    let org = b.create_organization("Acme").unwrap().organization.id;
    let project = b.create_project(&org, &named("Site")).unwrap().project.id;
    // The server ends every connection of the store (as when it restarts).
    let mut admin = db.client();
    let ended: i64 = admin
        .query_one(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()) t",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(ended >= 1);
    let created = b
        .create_reference(
            &org,
            &crate::store::NewReference {
                project_id: project.clone(),
                title: "After".into(),
                description: None,
                datetime: None,
            },
        )
        .unwrap();
    assert_eq!(
        b.list_references(&org, None).unwrap(),
        std::slice::from_ref(&created)
    );
    let (entries, _) = audit_and_revision(&b, &org, &created.id);
    assert_eq!(entries.len(), 1);
}

#[test]
fn a_reference_whose_reply_was_lost_after_its_commit_is_reported_once_and_stored_once() {
    let db = TestDb::create();
    let (proxy, url) = Proxy::in_front_of(&db);
    let store = PgDb::open(&url, &cheap_options()).unwrap();
    let (org, project) = site(&store);
    // The statement reaches the server and commits; its connection is then cut before the
    // reply is read, so the store sends it again on a new connection.
    proxy.cut_after(b"cut-after-this-write");
    let created = store
        .create_reference(
            &org,
            &crate::store::NewReference {
                project_id: project.clone(),
                title: "cut-after-this-write".into(),
                description: None,
                datetime: None,
            },
        )
        .unwrap();
    assert!(proxy.cut.lock().unwrap().is_none(), "the cut happened");
    assert_eq!(
        store.list_references(&org, None).unwrap(),
        std::slice::from_ref(&created)
    );
    let (entries, _) = audit_and_revision(&store, &org, &created.id);
    assert_eq!(entries.len(), 1);
}

#[test]
fn an_older_transaction_committing_after_a_newer_one_moves_the_data_revision() {
    // The case a revision made of the snapshot's xmax alone would miss: a transaction that
    // took its id first commits last, so xmax does not move, but what a read sees does.
    let (b, db) = open(&cheap_options());
    let org = b.create_organization("Acme").unwrap().organization.id;
    let (mut older, mut newer) = (db.client(), db.client());
    let mut first = older.transaction().unwrap();
    first
        .execute(
            "UPDATE organizations SET name = 'Renamed' WHERE id = $1",
            &[&org],
        )
        .unwrap();
    let mut second = newer.transaction().unwrap();
    second
        .execute(
            "INSERT INTO meta (key, value) VALUES ('test-newer', 1)",
            &[],
        )
        .unwrap();
    second.commit().unwrap();
    let before = b.data_revision().unwrap();
    assert_eq!(b.get_organization(&org).unwrap().name, "Acme");
    first.commit().unwrap();
    assert_eq!(b.get_organization(&org).unwrap().name, "Renamed");
    assert_ne!(b.data_revision().unwrap(), before);
}
