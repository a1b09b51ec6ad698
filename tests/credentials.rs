//! Client-credential verification under attack (docs/security.md): the keyed check value that
//! refuses wrong secrets and unknown ids without argon2, its migration onto stores made by the
//! previous release, the failed-attempt throttle that never locks out a right secret, Manage
//! revocation with no window across processes, and the file checks made before a store is
//! opened.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use opcore::manage::{self, Request, Response};
use opcore::{
    AuthError, AuthRequest, ClientType, Error, Family, NewClient, NewProject, NewReference,
    Options, Store,
};
use serde_json::{json, Value};
use support::{StoreEnv, FAST_ARGON2};

const OPCORE: &str = env!("CARGO_BIN_EXE_opcore");
const CURL: &str = "/usr/bin/curl";

/// A store written by the previous release (schema version 2, before check values): made with
/// `opcore init --name Legacy` and `opcore projects create --name Site`, argon2 m=8, t=1, p=1.
const FIXTURE: &str = "tests/fixtures/store-schema-2.db";
const LEGACY_ROOT_ID: &str = "70d67efa-ba46-447d-b995-6f0987af75f1";
const LEGACY_ROOT_SECRET: &str = "sec_2c834ec5bc1006f0c8fbdfbe17fbe617";
const LEGACY_WRITE_ID: &str = "c5204792-4986-4ed5-9fb9-9aaa0f7e862b";
const LEGACY_WRITE_SECRET: &str = "sec_85941d7678e61da26b274783815c8f9f";
const WRONG: &str = "sec_0123456789abcdef0123456789abcdef";

fn fast() -> Options {
    Options {
        argon2: FAST_ARGON2,
        ..Options::default()
    }
}

fn manage_call(store: &Store, method: &str, target: &str, creds: (&str, &str)) -> Response {
    manage_with(store, method, target, creds, b"", None)
}

fn manage_with(
    store: &Store,
    method: &str,
    target: &str,
    (id, secret): (&str, &str),
    body: &[u8],
    source: Option<&str>,
) -> Response {
    let headers = [
        ("openpanel-client-id", id),
        ("openpanel-client-secret", secret),
        ("content-type", "application/json"),
    ];
    manage::handle(
        store,
        &Request {
            method,
            target,
            headers: &headers,
            body,
            source,
        },
    )
}

fn unauthorized() -> Value {
    json!({"error": "Unauthorized", "message": "Invalid client credentials"})
}

fn column(path: &Path, sql: &str, id: &str) -> Option<i64> {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row(sql, [id], |r| r.get(0)).unwrap()
}

fn secret_check(path: &Path, id: &str) -> Option<i64> {
    column(path, "SELECT secret_check FROM clients WHERE id = ?1", id)
}

fn legacy_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("legacy.db");
    std::fs::copy(FIXTURE, &path).unwrap();
    (dir, path)
}

fn user_version(path: &Path) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Check values on a store from the previous release

#[test]
fn the_fixture_is_a_store_of_the_previous_schema() {
    let (_dir, path) = legacy_copy();
    assert_eq!(user_version(&path), 2);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let has_column: i64 = conn
        .query_row(
            "SELECT count(*) FROM pragma_table_info('clients') WHERE name = 'secret_check'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(has_column, 0);
}

#[test]
fn an_old_client_gains_its_check_value_at_its_next_successful_verification() {
    let (_dir, path) = legacy_copy();
    let store = Store::open(&path, fast()).unwrap();
    assert_eq!(user_version(&path), 7, "migrated on open");
    assert_eq!(secret_check(&path, LEGACY_ROOT_ID), None);
    assert_eq!(secret_check(&path, LEGACY_WRITE_ID), None);

    // Without a check value only argon2 can tell a wrong secret: it runs (on the bounded pool).
    let r = manage_call(&store, "GET", "/manage/projects", (LEGACY_ROOT_ID, WRONG));
    assert_eq!((r.status, r.json()), (401, unauthorized()));
    assert_eq!(store.authenticator().argon2_verifications(), 1);
    assert_eq!(secret_check(&path, LEGACY_ROOT_ID), None);

    // The old client authenticates: argon2 runs once, and its check value is written.
    let r = manage_call(
        &store,
        "GET",
        "/manage/projects",
        (LEGACY_ROOT_ID, LEGACY_ROOT_SECRET),
    );
    assert_eq!(r.status, 200, "{:?}", r.json());
    assert_eq!(r.json()["data"][0]["id"], "site");
    assert_eq!(store.authenticator().argon2_verifications(), 2);
    assert!(secret_check(&path, LEGACY_ROOT_ID).is_some());
    // The other old client is untouched until it authenticates itself.
    assert_eq!(secret_check(&path, LEGACY_WRITE_ID), None);
    drop(store);

    // A second, fresh process: the wrong secret is refused with zero argon2, the right one
    // (uncached there) verifies once.
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "child_verify_legacy", "--nocapture"])
        .env("OPCORE_TEST_DB", &path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("wrong=401 argon2=0; right=200 argon2=1"),
        "{stdout}"
    );
}

/// Child-process entry point for the test above.
#[test]
#[ignore = "child-process entry point, run by other tests"]
fn child_verify_legacy() {
    let Ok(db) = std::env::var("OPCORE_TEST_DB") else {
        return;
    };
    let store = Store::open(db, fast()).unwrap();
    let wrong = manage_call(&store, "GET", "/manage/projects", (LEGACY_ROOT_ID, WRONG));
    let after_wrong = store.authenticator().argon2_verifications();
    let right = manage_call(
        &store,
        "GET",
        "/manage/projects",
        (LEGACY_ROOT_ID, LEGACY_ROOT_SECRET),
    );
    println!(
        "wrong={} argon2={after_wrong}; right={} argon2={}",
        wrong.status,
        right.status,
        store.authenticator().argon2_verifications()
    );
}

#[test]
fn an_old_hash_with_other_parameters_is_rehashed_and_gains_its_check_value_at_once() {
    let (_dir, path) = legacy_copy();
    let options = Options {
        argon2: opcore::domain::secret::Argon2Params {
            m_cost: 16,
            t_cost: 1,
            p_cost: 1,
        },
        ..Options::default()
    };
    let hash = |path: &Path| {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.query_row(
            "SELECT secret_hash FROM clients WHERE id = ?1",
            [LEGACY_WRITE_ID],
            |r| r.get::<_, String>(0),
        )
        .unwrap()
    };
    assert!(hash(&path).starts_with("$argon2id$v=19$m=8,t=1,p=1$"));
    let store = Store::open(&path, options.clone()).unwrap();
    let track = AuthRequest {
        client_id: Some(LEGACY_WRITE_ID),
        client_secret: Some(LEGACY_WRITE_SECRET),
        ..AuthRequest::new(Family::Track)
    };
    assert_eq!(
        store.authenticate(&track).unwrap().project_id.as_deref(),
        Some("site")
    );
    assert!(hash(&path).starts_with("$argon2id$v=19$m=16,t=1,p=1$"));
    assert!(secret_check(&path, LEGACY_WRITE_ID).is_some());
    let fresh = Store::open(&path, options).unwrap();
    let wrong = AuthRequest {
        client_secret: Some(WRONG),
        ..track
    };
    assert!(matches!(
        fresh.authenticate(&wrong),
        Err(AuthError::InvalidCredentials)
    ));
    assert_eq!(fresh.authenticator().argon2_verifications(), 0);
    assert!(fresh.authenticate(&track).is_ok());
    assert_eq!(fresh.authenticator().argon2_verifications(), 1);
}

#[test]
fn new_clients_are_stored_with_a_check_value_and_never_their_secret() {
    let env = StoreEnv::new();
    let boot = env.org("Acme");
    let id = boot.client.client.id.clone();
    let path = env.path();
    let check = secret_check(&path, &id).expect("a check value");
    assert!(u32::try_from(check).is_ok());
    drop(env.store);
    let bytes = std::fs::read(&path).unwrap();
    let secret = boot.client.secret.expose();
    assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()));
    assert!(!bytes.windows(32).any(|w| w == &secret.as_bytes()[4..]));
}

#[test]
fn wrong_secrets_and_unknown_ids_run_no_argon2_in_any_family() {
    let env = StoreEnv::new();
    let boot = env.org("Acme");
    let org = boot.organization.id.clone();
    let project = env
        .store
        .create_project(
            &org,
            &NewProject {
                name: "Site".into(),
                ..NewProject::default()
            },
        )
        .unwrap();
    let store = env.reopen();
    let ids = [
        boot.client.client.id.as_str(),
        project.client.id.as_str(),
        "fa0c2780-55f2-4d9e-bea0-da2e02c7b1a9",
    ];
    let secrets = [
        WRONG,
        "sec_0123456789abcdef0123",
        "sec_ABCDEF0123456789ABCDEF0123456789",
    ];
    for family in Family::ALL {
        for id in ids {
            for secret in secrets {
                let r = store.authenticate(&AuthRequest {
                    client_id: Some(id),
                    client_secret: Some(secret),
                    source: Some("198.51.100.7"),
                    ..AuthRequest::new(family)
                });
                assert!(
                    matches!(
                        r,
                        Err(AuthError::InvalidCredentials | AuthError::Throttled { .. })
                    ),
                    "{family:?} {id} {r:?}"
                );
            }
        }
    }
    assert_eq!(store.authenticator().argon2_verifications(), 0);
}

// ---------------------------------------------------------------------------------------------
// The throttle never locks out a right secret

#[test]
fn a_thousand_wrong_secrets_from_fifty_addresses_never_lock_out_the_right_one() {
    let env = StoreEnv::new();
    let boot = env.org("Acme");
    let site = env
        .store
        .create_project(
            &boot.organization.id,
            &NewProject {
                name: "Site".into(),
                ..NewProject::default()
            },
        )
        .unwrap();
    let (id, secret) = (
        site.client.id.clone(),
        site.client.secret.expose().to_owned(),
    );
    let address = |i: u32| format!("127.0.0.{}", 2 + i);
    // A fresh handle: nothing cached.
    let store = env.reopen();
    let mut statuses = std::collections::BTreeMap::<u16, u32>::new();
    for n in 0..1000u32 {
        let source = address(n % 50);
        let guess = format!("sec_{n:032x}");
        let r = store.authenticate(&AuthRequest {
            client_id: Some(&id),
            client_secret: Some(&guess),
            source: Some(&source),
            ..AuthRequest::new(Family::Track)
        });
        let status = r.expect_err("a guess").status();
        *statuses.entry(status).or_default() += 1;
    }
    // 20 guesses per address: the first 10 are 401s, the rest 429s (10 per id and source).
    assert_eq!(statuses, [(401, 500), (429, 500)].into_iter().collect());
    assert_eq!(store.authenticator().argon2_verifications(), 0);

    // The right secret, uncached, from an address that failed 20 times and from a new one.
    for (source, handle) in [
        (address(7), &store),
        ("127.0.0.200".to_owned(), &env.reopen()),
    ] {
        assert_eq!(handle.authenticator().cached_credentials(), 0);
        let before = handle.authenticator().argon2_verifications();
        let p = handle
            .authenticate(&AuthRequest {
                client_id: Some(&id),
                client_secret: Some(&secret),
                source: Some(&source),
                ..AuthRequest::new(Family::Track)
            })
            .unwrap_or_else(|e| panic!("{source}: {e:?}"));
        assert_eq!(p.project_id.as_deref(), Some("site"));
        assert_eq!(handle.authenticator().argon2_verifications() - before, 1);
    }
    // An address that never failed is never refused, even for a wrong secret (401, not 429).
    let r = store.authenticate(&AuthRequest {
        client_id: Some(&id),
        client_secret: Some(WRONG),
        source: Some("127.0.0.201"),
        ..AuthRequest::new(Family::Track)
    });
    assert!(matches!(r, Err(AuthError::InvalidCredentials)), "{r:?}");
}

/// The same over real sockets: a server started on a fresh handle (nothing cached), 1,000
/// wrong secrets for the root client from 50 loopback addresses, then the right secret from
/// one of them and from a new one.
#[test]
fn over_http_a_flood_from_fifty_addresses_does_not_lock_out_the_owner() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("opcore.db");
    let boot = Store::open(&path, fast())
        .unwrap()
        .create_organization("Acme")
        .unwrap();
    let (id, secret) = (
        boot.client.client.id.clone(),
        boot.client.secret.expose().to_owned(),
    );
    let store = Store::open(&path, fast()).unwrap();
    let lines = Arc::new(Mutex::new(0usize));
    let sink = lines.clone();
    let server = opcore::server::spawn(
        store.clone(),
        "127.0.0.1:0".parse().unwrap(),
        opcore::server::LogSink::lines(move |_: &str| *sink.lock().unwrap() += 1),
    )
    .unwrap();
    let url = format!("{}/manage/projects", server.base_url());
    let codes = |interface: &str, secret: &str, n: usize| -> Vec<String> {
        let mut args: Vec<String> = Vec::new();
        for i in 0..n {
            if i > 0 {
                args.push("--next".into());
            }
            for a in [
                url.as_str(),
                "--interface",
                interface,
                "--silent",
                "--output",
                "/dev/null",
                "--write-out",
                "%{http_code}\\n",
                "-H",
            ] {
                args.push(a.into());
            }
            args.push(format!("openpanel-client-id: {id}"));
            args.push("-H".into());
            args.push(format!("openpanel-client-secret: {secret}"));
        }
        let out = Command::new(CURL).args(&args).output().unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    };
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    for a in 0..50 {
        for code in codes(&format!("127.0.0.{}", 2 + a), WRONG, 20) {
            *seen.entry(code).or_default() += 1;
        }
    }
    assert_eq!(
        seen,
        [("401".to_owned(), 500), ("429".to_owned(), 500)]
            .into_iter()
            .collect()
    );
    assert_eq!(store.authenticator().argon2_verifications(), 0);
    assert_eq!(store.authenticator().cached_credentials(), 0);
    assert_eq!(codes("127.0.0.9", &secret, 1), ["200"]);
    assert_eq!(codes("127.0.0.99", &secret, 1), ["200"]);
    assert_eq!(store.authenticator().argon2_verifications(), 1);
    server.stop().unwrap();
    assert!(*lines.lock().unwrap() >= 1002);
}

// ---------------------------------------------------------------------------------------------
// Manage revocation: no window, in any process

struct Roots {
    env: StoreEnv,
    org: String,
    /// The root client that will be deleted, and the one that stays.
    doomed: (String, String),
    keeper: (String, String),
}

fn roots() -> Roots {
    let env = StoreEnv::new();
    let boot = env.org("Acme");
    let org = boot.organization.id.clone();
    let keeper = env
        .store
        .create_client(
            &org,
            &NewClient {
                name: "Keeper".into(),
                client_type: ClientType::Root,
                ..NewClient::default()
            },
        )
        .unwrap();
    Roots {
        doomed: (
            boot.client.client.id.clone(),
            boot.client.secret.expose().to_owned(),
        ),
        keeper: (keeper.client.id.clone(), keeper.secret.expose().to_owned()),
        env,
        org,
    }
}

/// Every kind of Manage write, as the doomed client would send it.
fn writes(project: &str, client: &str) -> Vec<(&'static str, String, Vec<u8>)> {
    vec![
        (
            "POST",
            "/manage/projects".into(),
            br#"{"name":"Replacement"}"#.to_vec(),
        ),
        (
            "POST",
            "/manage/clients".into(),
            br#"{"name":"New root","type":"root"}"#.to_vec(),
        ),
        (
            "PATCH",
            format!("/manage/projects/{project}"),
            br#"{"name":"Renamed"}"#.to_vec(),
        ),
        ("DELETE", format!("/manage/clients/{client}"), Vec::new()),
        ("GET", "/manage/projects".into(), Vec::new()),
    ]
}

#[test]
fn a_root_client_deleted_by_another_process_can_make_no_further_change() {
    let w = roots();
    let s = &w.env.store;
    let site = s
        .create_project(
            &w.org,
            &NewProject {
                name: "Site".into(),
                ..NewProject::default()
            },
        )
        .unwrap();
    let doomed = (w.doomed.0.as_str(), w.doomed.1.as_str());
    // Cached in this process, and the default staleness (1 s) for other families.
    assert_eq!(
        manage_call(s, "GET", "/manage/projects", doomed).status,
        200
    );
    assert_eq!(
        manage_call(s, "GET", "/manage/projects", doomed).status,
        200
    );

    let out = Command::new(OPCORE)
        .args(["--db"])
        .arg(w.env.path())
        .args([
            "--options",
            r#"{"argon2":{"m_cost":8,"t_cost":1,"p_cost":1}}"#,
        ])
        .args(["clients", "delete", &w.doomed.0])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Not even one request later: every Manage call is refused and nothing changes.
    let before = s.list_projects(&w.org).unwrap().len();
    for (method, target, body) in writes(&site.project.id, &site.client.id) {
        let r = manage_with(s, method, &target, doomed, &body, None);
        assert_eq!(
            (r.status, r.json()),
            (401, unauthorized()),
            "{method} {target}"
        );
    }
    assert_eq!(s.list_projects(&w.org).unwrap().len(), before);
    assert!(s.get_client(&w.org, &site.client.id).is_ok());
    let keeper = (w.keeper.0.as_str(), w.keeper.1.as_str());
    assert_eq!(
        manage_call(s, "GET", "/manage/projects", keeper).status,
        200
    );
}

#[test]
fn a_deletion_no_revision_announces_still_ends_manage_access_at_once() {
    let w = roots();
    let s = &w.env.store;
    let doomed = (w.doomed.0.as_str(), w.doomed.1.as_str());
    assert_eq!(
        manage_call(s, "GET", "/manage/projects", doomed).status,
        200
    );
    // A second handle on the file, deleting the row with plain SQL: no access revision is
    // bumped, so only the per-call check can notice.
    let conn = rusqlite::Connection::open(w.env.path()).unwrap();
    conn.execute("DELETE FROM clients WHERE id = ?1", [&w.doomed.0])
        .unwrap();
    let r = manage_with(
        s,
        "POST",
        "/manage/projects",
        doomed,
        br#"{"name":"Replacement"}"#,
        None,
    );
    assert_eq!((r.status, r.json()), (401, unauthorized()));
    assert!(s.list_projects(&w.org).unwrap().is_empty());
}

#[test]
fn a_deleted_client_gets_its_401_before_any_other_refusal() {
    let w = roots();
    let s = &w.env.store;
    let doomed = (w.doomed.0.as_str(), w.doomed.1.as_str());
    assert_eq!(
        manage_call(s, "GET", "/manage/projects", doomed).status,
        200
    );
    // Refusals that need no transaction of their own, while the client still exists.
    let bad_body = || manage_with(s, "POST", "/manage/projects", doomed, b"[1]", None);
    let bad_query = || manage_call(s, "GET", "/manage/projects?limit=0", doomed);
    let bad_id = || manage_call(s, "GET", "/manage/clients/not-a-uuid", doomed);
    assert_eq!(bad_body().status, 400);
    assert_eq!(bad_query().status, 400);
    assert_eq!(bad_id().status, 404);
    // Deleted behind the cache's back (no access revision): every one is now a 401.
    let conn = rusqlite::Connection::open(w.env.path()).unwrap();
    conn.execute("DELETE FROM clients WHERE id = ?1", [&w.doomed.0])
        .unwrap();
    for r in [bad_body(), bad_query(), bad_id()] {
        assert_eq!((r.status, r.json()), (401, unauthorized()));
    }
}

#[test]
fn a_write_checks_its_client_inside_its_own_transaction() {
    let w = roots();
    let s = &w.env.store;
    let site = s
        .create_project(
            &w.org,
            &NewProject {
                name: "Site".into(),
                ..NewProject::default()
            },
        )
        .unwrap();
    let principal = s
        .authenticate(&AuthRequest {
            client_id: Some(&w.doomed.0),
            client_secret: Some(&w.doomed.1),
            ..AuthRequest::new(Family::Manage)
        })
        .unwrap();
    let acting = s.acting_as(&principal);
    assert_eq!(acting.actor(), Some(w.doomed.0.as_str()));
    // Authenticated, then deleted through another handle before the write runs.
    let other = w.env.reopen();
    other.delete_client(&w.org, &w.doomed.0).unwrap();
    let refused = |r: Result<(), Error>| {
        assert!(matches!(r, Err(Error::Unauthenticated)), "{r:?}");
    };
    refused(
        acting
            .create_project(
                &w.org,
                &NewProject {
                    name: "Replacement".into(),
                    ..NewProject::default()
                },
            )
            .map(drop),
    );
    refused(
        acting
            .create_client(
                &w.org,
                &NewClient {
                    name: "New root".into(),
                    client_type: ClientType::Root,
                    ..NewClient::default()
                },
            )
            .map(drop),
    );
    refused(
        acting
            .create_reference(
                &w.org,
                &NewReference {
                    project_id: site.project.id.clone(),
                    title: "Release".into(),
                    ..NewReference::default()
                },
            )
            .map(drop),
    );
    refused(acting.delete_project(&w.org, &site.project.id).map(drop));
    refused(acting.delete_client(&w.org, &w.keeper.0));
    assert_eq!(s.list_projects(&w.org).unwrap().len(), 1);
    assert_eq!(s.list_clients(&w.org, None).unwrap().len(), 2);
    // A handle acting for a live client writes as usual.
    let keeper = s
        .authenticate(&AuthRequest {
            client_id: Some(&w.keeper.0),
            client_secret: Some(&w.keeper.1),
            ..AuthRequest::new(Family::Manage)
        })
        .unwrap();
    assert!(s
        .acting_as(&keeper)
        .delete_project(&w.org, &site.project.id)
        .is_ok());
}

// ---------------------------------------------------------------------------------------------
// File checks on open

fn opcore_store(dir: &Path) -> PathBuf {
    let path = dir.join("store.db");
    Store::open(&path, fast()).unwrap();
    path
}

fn set(path: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(sql).unwrap();
}

#[test]
fn files_with_an_impossible_schema_version_are_refused_and_left_untouched() {
    type Make = fn(&Path) -> PathBuf;
    let cases: Vec<(&str, Make, &str)> = vec![
        (
            "opcore store, user_version -1",
            |d| {
                let p = opcore_store(d);
                set(&p, "PRAGMA user_version = -1");
                p
            },
            "the store has schema version -1, which no opcore writes (PRAGMA user_version \
             must be between 1 and 7); the file is damaged or was changed by another program",
        ),
        (
            "opcore store, user_version 0",
            |d| {
                let p = opcore_store(d);
                set(&p, "PRAGMA user_version = 0");
                p
            },
            "the file is tagged as an opcore store and has tables, but its schema version is 0 \
             (PRAGMA user_version must be between 1 and 7); the file is damaged or was changed \
             by another program",
        ),
        (
            "opcore store, user_version from the future",
            |d| {
                let p = opcore_store(d);
                set(&p, "PRAGMA user_version = 99");
                p
            },
            "the store has schema version 99, newer than this opcore supports (7); upgrade opcore",
        ),
        (
            "empty database, negative user_version",
            |d| {
                let p = d.join("empty.db");
                set(&p, "PRAGMA user_version = -7");
                p
            },
            "the store has schema version -7, which no opcore writes",
        ),
        (
            "empty database, a user_version but no opcore tag",
            |d| {
                let p = d.join("empty.db");
                set(&p, "PRAGMA user_version = 2");
                p
            },
            "the file is an empty SQLite database with schema version 2 but not tagged as an \
             opcore store",
        ),
        (
            "opcore tables without the opcore tag",
            |d| {
                let p = opcore_store(d);
                set(&p, "PRAGMA application_id = 0; PRAGMA user_version = 0");
                p
            },
            "the file is an SQLite database but not an opcore store",
        ),
        (
            "another program's database",
            |d| {
                let p = d.join("other.db");
                set(&p, "CREATE TABLE t (x); PRAGMA user_version = -1");
                p
            },
            "the file is an SQLite database but not an opcore store",
        ),
    ];
    for (name, make, message) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = make(dir.path());
        let before = std::fs::read(&path).unwrap();
        let err = Store::open(&path, fast()).expect_err(name);
        let Error::Open(text) = &err else {
            panic!("{name}: {err:?}");
        };
        assert!(
            text.starts_with(&path.display().to_string()),
            "{name}: {text}"
        );
        assert!(text.contains(message), "{name}: {text}");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            before,
            "{name}: file changed"
        );
        let siblings: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(siblings.len(), 1, "{name}: {siblings:?}");
    }
}

#[test]
fn an_empty_file_and_a_current_store_still_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    std::fs::write(&path, b"").unwrap();
    Store::open(&path, fast()).unwrap();
    assert_eq!(user_version(&path), 7);
    Store::open(&path, fast()).unwrap();
}
