//! `opcore migrate --from FILE --to URL` (docs/scale-out.md#migrating-from-sqlite): the real
//! binary copies an SQLite store into a real PostgreSQL database (`OPCORE_TEST_POSTGRES_URL`,
//! default `postgres://postgres@127.0.0.1:5432/postgres`; each test creates its own database
//! and drops it), and the PostgreSQL store then answers as the SQLite one did.
#![cfg(feature = "postgres")]

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use opcore::manage::{self, Request};
use opcore::{
    AuthRequest, ClientType, Family, ListOptions, ManualClock, NewClient, NewProject, NewReference,
    Options, Store, Timestamp,
};
use serde_json::{json, Value};
use support::FAST_ARGON2;

const T0: Timestamp = Timestamp(1_705_314_600_000); // 2024-01-15T10:30:00.000Z
const DAY_MS: i64 = 86_400_000;

fn server_url() -> String {
    std::env::var("OPCORE_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database of its own, dropped with its connections at the end.
struct TestDb {
    server: String,
    name: String,
    url: String,
}

impl TestDb {
    fn create() -> TestDb {
        static N: AtomicU64 = AtomicU64::new(0);
        let server = server_url();
        let name = format!(
            "opcore_migrate_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = postgres::Client::connect(&server, postgres::NoTls).unwrap_or_else(|e| {
            panic!("PostgreSQL is not reachable (set OPCORE_TEST_POSTGRES_URL): {e}")
        });
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let mut url = url::Url::parse(&server).unwrap();
        url.set_path(&format!("/{name}"));
        TestDb {
            server,
            name,
            url: url.to_string(),
        }
    }

    fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).unwrap()
    }

    /// Every table of the database with all its rows, as text: what "as it was" compares.
    fn contents(&self) -> Vec<(String, Vec<String>)> {
        let mut c = self.client();
        let tables: Vec<String> = c
            .query(
                "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()
                 ORDER BY tablename",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        tables
            .into_iter()
            .map(|t| {
                let rows = c
                    .query(&format!("SELECT t::text FROM {t} t ORDER BY 1"), &[])
                    .unwrap()
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
                (t, rows)
            })
            .collect()
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

fn options(clock: &ManualClock) -> Options {
    Options {
        argon2: FAST_ARGON2,
        clock: Arc::new(clock.clone()),
        deletion_grace_seconds: 86_400,
        ..Options::default()
    }
}

fn migrate(from: &Path, to: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_opcore"))
        .args(["migrate", "--from"])
        .arg(from)
        .args(["--to", to])
        .output()
        .expect("run opcore migrate")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The client type authenticated, or the refusal's message.
fn auth(store: &Store, family: Family, id: &str, secret: &str) -> Result<ClientType, String> {
    store
        .authenticate(&AuthRequest {
            client_id: Some(id),
            client_secret: Some(secret),
            ..AuthRequest::new(family)
        })
        .map(|p| p.client_type)
        .map_err(|e| e.to_string())
}

fn named(name: &str) -> NewProject {
    NewProject {
        name: name.into(),
        ..NewProject::default()
    }
}

fn client(name: &str, ty: ClientType, project: Option<&str>) -> NewClient {
    NewClient {
        name: name.into(),
        client_type: ty,
        project_id: project.map(str::to_owned),
        ..NewClient::default()
    }
}

/// A client's id and secret.
struct Creds {
    id: String,
    secret: String,
    family: Family,
}

/// What the SQLite store held, as its public reads show it, and the secrets to try.
struct Source {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    clock: ManualClock,
    /// T1: when the lasting resources were made.
    t1: Timestamp,
    orgs: Vec<String>,
    views: Value,
    working: Vec<Creds>,
    rotated_previous: Creds,
    expired: Creds,
    token: String,
    token_client: String,
}

/// Three organizations; in Acme two projects named "Same" created and purged (ids `same` and
/// `same-1`), a live one, one scheduled for deletion; clients of every type, one rotated (its
/// previous secret in its grace), one expired, one deleted; references; an OAuth access
/// token; the audit entries all of that wrote.
fn build_source() -> Source {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("opcore.db");
    let clock = ManualClock::new(T0);
    let store = Store::open(&path, options(&clock)).unwrap();
    let acme = store.create_organization("Acme").unwrap();
    let globex = store.create_organization("Globex").unwrap();
    let initech = store.create_organization("Initech").unwrap();
    let (a, g) = (acme.organization.id.clone(), globex.organization.id.clone());
    for _ in 0..2 {
        let same = store.create_project(&a, &named("Same")).unwrap();
        store.delete_project(&a, &same.project.id).unwrap();
    }
    let t1 = Timestamp(T0.millis() + 2 * DAY_MS);
    clock.set(t1);
    assert_eq!(store.purge().unwrap(), 2);

    let web = store
        .create_project(
            &a,
            &NewProject {
                name: "Web".into(),
                domain: Some("https://acme.com".into()),
                cors: vec!["https://app.acme.com".into()],
                ..NewProject::default()
            },
        )
        .unwrap();
    let pending = store.create_project(&a, &named("Pending")).unwrap();
    store.delete_project(&a, &pending.project.id).unwrap();
    let app = store.create_project(&g, &named("App")).unwrap();
    let reader = store
        .create_client(
            &a,
            &client("Reader", ClientType::Read, Some(&web.project.id)),
        )
        .unwrap();
    let ops = store
        .create_client(&a, &client("Ops", ClientType::Root, None))
        .unwrap();
    let rotated = store
        .create_client(
            &g,
            &client("Rotated", ClientType::Write, Some(&app.project.id)),
        )
        .unwrap();
    let turned = store.rotate_client(&g, &rotated.client.id, 3_600).unwrap();
    let expiring = store
        .create_client(
            &a,
            &NewClient {
                expires_at: Some(Timestamp(t1.millis() + 60_000).to_rfc3339()),
                ..client("Expiring", ClientType::Write, Some(&web.project.id))
            },
        )
        .unwrap();
    let gone = store
        .create_client(&a, &client("Gone", ClientType::Read, None))
        .unwrap();
    store.delete_client(&a, &gone.client.id).unwrap();
    for (org, project, title) in [
        (&a, &web, "Launch"),
        (&a, &web, "Redesign"),
        (&g, &app, "Beta"),
    ] {
        store
            .create_reference(
                org,
                &NewReference {
                    project_id: project.project.id.clone(),
                    title: title.into(),
                    description: Some(format!("{title} notes")),
                    datetime: Some("2024-01-10T00:00:00Z".into()),
                },
            )
            .unwrap();
    }
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        ops.client.id,
        ops.secret.expose()
    );
    let r = manage::handle(
        &store,
        &Request {
            method: "POST",
            target: "/oauth/token",
            headers: &[("Content-Type", "application/x-www-form-urlencoded")],
            body: form.as_bytes(),
            source: None,
        },
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let token = serde_json::from_slice::<Value>(&r.body).unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // Two minutes later: Expiring has expired, Rotated's previous secret is in its grace.
    clock.set(Timestamp(t1.millis() + 120_000));
    let working = vec![
        Creds {
            id: acme.client.client.id.clone(),
            secret: acme.client.secret.expose().to_owned(),
            family: Family::Manage,
        },
        Creds {
            id: globex.client.client.id.clone(),
            secret: globex.client.secret.expose().to_owned(),
            family: Family::Manage,
        },
        Creds {
            id: initech.client.client.id.clone(),
            secret: initech.client.secret.expose().to_owned(),
            family: Family::Manage,
        },
        Creds {
            id: web.client.id.clone(),
            secret: web.client.secret.expose().to_owned(),
            family: Family::Track,
        },
        Creds {
            id: reader.client.id.clone(),
            secret: reader.secret.expose().to_owned(),
            family: Family::Export,
        },
        Creds {
            id: ops.client.id.clone(),
            secret: ops.secret.expose().to_owned(),
            family: Family::Manage,
        },
        Creds {
            id: rotated.client.id.clone(),
            secret: turned.secret.expose().to_owned(),
            family: Family::Track,
        },
    ];
    let rotated_previous = Creds {
        id: rotated.client.id.clone(),
        secret: rotated.secret.expose().to_owned(),
        family: Family::Track,
    };
    let expired = Creds {
        id: expiring.client.id.clone(),
        secret: expiring.secret.expose().to_owned(),
        family: Family::Track,
    };
    // The source answers as the target must.
    for c in &working {
        auth(&store, c.family, &c.id, &c.secret).unwrap();
    }
    auth(
        &store,
        Family::Track,
        &rotated_previous.id,
        &rotated_previous.secret,
    )
    .unwrap();
    assert_eq!(
        auth(&store, Family::Track, &expired.id, &expired.secret),
        Err("Client credentials expired".into())
    );
    let orgs = vec![a, g, initech.organization.id.clone()];
    let views = views(&store, &orgs, &pending.project.id);
    drop(store);
    Source {
        _dir: dir,
        path,
        clock,
        t1,
        orgs,
        views,
        working,
        rotated_previous,
        expired,
        token,
        token_client: ops.client.id.clone(),
    }
}

/// Everything a host reads: organizations, and per organization its projects (the one
/// scheduled for deletion too), clients (with `lastUsedAt`, expiry and rotation), references
/// and audit log.
fn views(store: &Store, orgs: &[String], pending: &str) -> Value {
    let mut per_org = Vec::new();
    for org in orgs {
        per_org.push(json!({
            "projects": store.list_projects(org).unwrap(),
            "clients": store.list_clients(org, None).unwrap(),
            "references": store.list_references(org, None).unwrap(),
            "audit": store.list_audit(org, None, &ListOptions::limit(100)).unwrap().items,
        }));
    }
    json!({
        "organizations": store.list_organizations().unwrap(),
        "pending": store.get_project(&orgs[0], pending).unwrap(),
        "orgs": per_org,
    })
}

#[test]
fn a_migrated_store_answers_as_the_sqlite_one_did() {
    let source = build_source();
    let before = std::fs::read(&source.path).unwrap();
    let db = TestDb::create();

    let out = migrate(&source.path, &db.url);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    for c in source
        .working
        .iter()
        .chain([&source.rotated_previous, &source.expired])
    {
        assert!(!stdout.contains(&c.secret), "a secret in the summary");
    }
    assert!(
        !stdout.contains("argon2"),
        "a hash in the summary: {stdout}"
    );
    assert!(!stdout.contains(&source.token));
    assert_eq!(summary["from"], source.path.display().to_string());
    assert_eq!(summary["to"], db.url);
    assert_eq!(summary["schemaVersion"], 7);
    assert_eq!(
        summary["tables"],
        json!([
            {"table": "organizations", "rows": 3},
            {"table": "issued_ids", "rows": 8},
            {"table": "id_counters", "rows": 1},
            {"table": "projects", "rows": 3},
            {"table": "clients", "rows": 10},
            {"table": "project_references", "rows": 3},
            {"table": "oauth_grants", "rows": 1},
            {"table": "oauth_codes", "rows": 0},
            {"table": "oauth_tokens", "rows": 1},
            {"table": "audit_log", "rows": summary["tables"][9]["rows"]},
            {"table": "meta", "rows": 2},
            {"table": "store_keys", "rows": 1},
        ])
    );
    let audit_rows: usize = source.views["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["audit"].as_array().unwrap().len())
        .sum();
    assert_eq!(summary["tables"][9]["rows"], audit_rows);
    assert!(audit_rows >= 15, "{audit_rows}");
    assert_eq!(
        std::fs::read(&source.path).unwrap(),
        before,
        "the source file changed"
    );

    let pg = Store::open(&db.url, options(&source.clock)).unwrap();
    let pending = source.views["pending"]["id"].as_str().unwrap().to_owned();
    assert_eq!(views(&pg, &source.orgs, &pending), source.views);
    assert!(source.views["pending"]["deleteAt"].is_string());

    for c in &source.working {
        assert!(auth(&pg, c.family, &c.id, &c.secret).is_ok(), "{}", c.id);
    }
    let prev = &source.rotated_previous;
    assert_eq!(
        auth(&pg, Family::Track, &prev.id, &prev.secret),
        Ok(ClientType::Write)
    );
    assert_eq!(
        auth(
            &pg,
            Family::Track,
            &source.expired.id,
            &source.expired.secret
        ),
        Err("Client credentials expired".into())
    );
    assert_eq!(
        auth(
            &pg,
            Family::Track,
            &source.expired.id,
            "0".repeat(64).as_str()
        ),
        Err("Invalid client credentials".into())
    );
    let info = pg.verify_access_token(&source.token).unwrap();
    assert_eq!(info.client_id, source.token_client);
    // The grace ends when it did on SQLite: an hour after the rotation.
    source
        .clock
        .set(Timestamp(source.t1.millis() + 3_600_000 + 1));
    assert_eq!(
        auth(&pg, Family::Track, &prev.id, &prev.secret),
        Err("Invalid client credentials".into())
    );
    assert!(auth(
        &pg,
        Family::Track,
        &source.working[6].id,
        &source.working[6].secret
    )
    .is_ok());

    // No id is issued twice: `same` and `same-1` were purged before the migration.
    let acme = &source.orgs[0];
    assert_eq!(
        pg.create_project(acme, &named("Same")).unwrap().project.id,
        "same-2"
    );
    assert_eq!(
        pg.create_project(acme, &named("Web")).unwrap().project.id,
        "web-1"
    );
    assert_eq!(
        pg.create_organization("Acme").unwrap().organization.id,
        "acme-1"
    );
    // The audit log goes on after the copied entries.
    let audit = pg
        .list_audit(acme, None, &ListOptions::limit(100))
        .unwrap()
        .items;
    let old = source.views["orgs"][0]["audit"].as_array().unwrap();
    assert_eq!(audit.len(), old.len() + 2);
    assert_eq!(
        serde_json::to_value(&audit[2..]).unwrap(),
        Value::Array(old.clone())
    );
    assert_eq!(audit[0].resource_id, "web-1");
}

#[test]
fn a_non_empty_target_is_refused_and_left_as_it_was() {
    let source = build_source();
    let db = TestDb::create();
    let first = migrate(&source.path, &db.url);
    assert!(first.status.success(), "{}", stderr(&first));
    let before = db.contents();

    let again = migrate(&source.path, &db.url);
    assert_eq!(again.status.code(), Some(1));
    assert!(again.stdout.is_empty());
    let audit = before
        .iter()
        .find(|(t, _)| t == "audit_log")
        .map(|(_, rows)| rows.len())
        .unwrap();
    assert_eq!(
        stderr(&again),
        format!(
            "opcore: cannot open store: {}: the target database is not empty (it holds an \
             opcore store with data: organizations: 3 rows, issued_ids: 8 rows, id_counters: \
             1 row, projects: 3 rows, clients: 10 rows, project_references: 3 rows, \
             oauth_grants: 1 row, oauth_tokens: 1 row, audit_log: {audit} rows); opcore \
             migrate writes only into an empty database\n",
            db.url
        )
    );
    assert_eq!(db.contents(), before);

    // A database holding anything else is not touched either.
    let other = TestDb::create();
    other
        .client()
        .batch_execute("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('keep me');")
        .unwrap();
    let before = other.contents();
    let out = migrate(&source.path, &other.url);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "opcore: cannot open store: {}: the target database is not empty (it has tables \
             that are not an opcore store's: notes); opcore migrate writes only into an empty \
             database\n",
            other.url
        )
    );
    assert_eq!(other.contents(), before);
}

#[test]
fn an_empty_opcore_schema_is_a_valid_target() {
    let source = build_source();
    let db = TestDb::create();
    drop(Store::open(&db.url, options(&source.clock)).unwrap());
    let out = migrate(&source.path, &db.url);
    assert!(out.status.success(), "{}", stderr(&out));
    let pg = Store::open(&db.url, options(&source.clock)).unwrap();
    for c in &source.working {
        assert!(auth(&pg, c.family, &c.id, &c.secret).is_ok(), "{}", c.id);
    }
}

#[test]
fn a_failure_mid_copy_leaves_the_target_empty() {
    let source = build_source();
    // A value no opcore writes, in the audit log (copied after the organizations, projects
    // and clients): the copy fails there.
    let broken = source._dir.path().join("broken.db");
    std::fs::copy(&source.path, &broken).unwrap();
    let conn = rusqlite::Connection::open(&broken).unwrap();
    conn.execute_batch(
        "UPDATE audit_log SET changes = x'00ff' WHERE seq = (SELECT max(seq) FROM audit_log)",
    )
    .unwrap();
    drop(conn);
    let db = TestDb::create();
    let out = migrate(&broken, &db.url);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "opcore: storage failure: audit_log.changes: a blob where PostgreSQL expects text; \
         the source file was changed by another program\n"
    );
    assert_eq!(db.contents(), vec![], "the schema was rolled back too");
    // The same database takes the intact store afterwards.
    let out = migrate(&source.path, &db.url);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn sources_it_cannot_copy_are_refused_before_the_target_is_touched() {
    let source = build_source();
    let db = TestDb::create();
    let newer = source._dir.path().join("newer.db");
    std::fs::copy(&source.path, &newer).unwrap();
    rusqlite::Connection::open(&newer)
        .unwrap()
        .execute_batch("PRAGMA user_version = 9")
        .unwrap();
    let bytes = std::fs::read(&newer).unwrap();
    let out = migrate(&newer, &db.url);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "opcore: cannot open store: {}: the store has schema version 9, newer than this \
             opcore supports (7); migrate it with the opcore that wrote it\n",
            newer.display()
        )
    );
    assert_eq!(std::fs::read(&newer).unwrap(), bytes);

    let older = source._dir.path().join("older.db");
    std::fs::copy(&source.path, &older).unwrap();
    rusqlite::Connection::open(&older)
        .unwrap()
        .execute_batch("PRAGMA user_version = 6")
        .unwrap();
    let out = migrate(&older, &db.url);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "opcore: cannot open store: {0}: the store has schema version 6, older than this \
             opcore's (7); open it once with this opcore (for example `opcore organizations \
             list --db {0}`), which upgrades it, then migrate\n",
            older.display()
        )
    );

    let missing = source._dir.path().join("missing.db");
    let out = migrate(&missing, &db.url);
    assert_eq!(
        stderr(&out),
        format!(
            "opcore: cannot open store: {}: no such store file\n",
            missing.display()
        )
    );
    assert!(!missing.exists());

    let out = migrate(&source.path, "./other.db");
    assert_eq!(
        stderr(&out),
        "opcore: --to must be a PostgreSQL URL (postgres://… or postgresql://…)\n"
    );
    assert_eq!(db.contents(), vec![]);
}
