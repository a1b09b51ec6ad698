//! The store through the public Rust API: ids, concurrency across threads and processes,
//! crash safety, secrets at rest, and how `open` refuses files it must not touch.

mod support;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use opcore::{
    AuthRequest, ClientChanges, ClientType, Error, Family, NewClient, NewProject, NewReference,
    Options, ProjectChanges, Resource, Store,
};
use support::{fast_normal_options, StoreEnv, FAST_ARGON2};

fn project(name: &str) -> NewProject {
    NewProject {
        name: name.into(),
        ..NewProject::default()
    }
}

/// The value after `marker` on a child's output line (the test harness may print its own
/// `test child_entry ... ` on the same line first).
fn marked<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    line.find(marker).map(|i| &line[i + marker.len()..])
}

/// Re-runs this test binary as a child process executing `child_entry` with `mode`.
fn child(mode: &str, db: &std::path::Path) -> Command {
    let mut cmd = Command::new(std::env::current_exe().expect("test binary"));
    cmd.args([
        "--ignored",
        "--exact",
        "child_entry",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("OPCORE_TEST_CHILD", mode)
    .env("OPCORE_TEST_DB", db);
    cmd
}

/// Entry point of the child processes spawned by the tests below (does nothing when run
/// without the environment they set).
#[test]
#[ignore = "child-process entry point, run by other tests"]
fn child_entry() {
    let (Ok(mode), Ok(db)) = (
        std::env::var("OPCORE_TEST_CHILD"),
        std::env::var("OPCORE_TEST_DB"),
    ) else {
        return;
    };
    let org = std::env::var("OPCORE_TEST_ORG").unwrap_or_default();
    match mode.as_str() {
        "create_same" => {
            let store = Store::open(&db, fast_normal_options()).expect("child open");
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    let store = store.clone();
                    let org = org.clone();
                    std::thread::spawn(move || {
                        (0..250)
                            .map(|_| {
                                store
                                    .create_project(&org, &project("Same"))
                                    .expect("create must not fail under contention")
                                    .project
                                    .id
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            for h in handles {
                for id in h.join().expect("thread") {
                    println!("ID {id}");
                }
            }
        }
        "write_loop" => {
            // Default options: synchronous=full, as a host would run.
            let opts = Options {
                argon2: FAST_ARGON2,
                ..Options::default()
            };
            let store = Store::open(&db, opts).expect("child open");
            let project_id = std::env::var("OPCORE_TEST_PROJECT").expect("project");
            for i in 0.. {
                let r = store
                    .create_reference(
                        &org,
                        &NewReference {
                            project_id: project_id.clone(),
                            title: format!("write {i}"),
                            ..NewReference::default()
                        },
                    )
                    .expect("write");
                // Reported only after the call returned, i.e. after the commit.
                println!("COMMITTED {}", r.id);
            }
        }
        "delete_client" => {
            let store = Store::open(&db, fast_normal_options()).expect("child open");
            let client = std::env::var("OPCORE_TEST_CLIENT").expect("client");
            store.delete_client(&org, &client).expect("delete");
            println!("DELETED");
        }
        other => panic!("unknown child mode {other}"),
    }
}

#[test]
fn ids_follow_the_name_and_are_never_reissued() {
    let env = StoreEnv::new();
    let org = env.org("Acme").organization.id;
    let ids: Vec<String> = [
        "My Project",
        "My Project",
        "my project!",
        "!!!",
        "!!!",
        "🚀",
    ]
    .iter()
    .map(|n| {
        env.store
            .create_project(&org, &project(n))
            .unwrap()
            .project
            .id
    })
    .collect();
    assert_eq!(
        ids,
        [
            "my-project",
            "my-project-1",
            "my-project-2",
            "project",
            "project-1",
            "rocket"
        ]
    );
    // Purge my-project-2, then create the same name again: a new id, never the old one.
    env.store.delete_project(&org, "my-project-2").unwrap();
    env.clock.advance_secs(24 * 3600);
    assert_eq!(env.store.purge().unwrap(), 1);
    let again = env
        .store
        .create_project(&org, &project("My Project"))
        .unwrap();
    assert_eq!(again.project.id, "my-project-3");
    // Ids are unique across organizations too.
    let other = env.org("Other").organization.id;
    let theirs = env
        .store
        .create_project(&other, &project("My Project"))
        .unwrap();
    assert_eq!(theirs.project.id, "my-project-4");
}

#[test]
fn an_organization_whose_name_has_no_slug_is_based_on_organization() {
    let env = StoreEnv::new();
    let first = env.org("!!!").organization.id;
    let second = env.org("---").organization.id;
    assert_eq!(
        [first.as_str(), second.as_str()],
        ["organization", "organization-1"]
    );
    // Projects keep their own fallback base, in their own namespace.
    let project_id = env
        .store
        .create_project(&first, &project("!!!"))
        .unwrap()
        .project
        .id;
    assert_eq!(project_id, "project");
}

#[test]
fn a_200_character_name_is_cut_at_a_word_boundary() {
    let env = StoreEnv::new();
    let org = env.org("Acme").organization.id;
    let name = "alpha beta gamma delta ".repeat(9); // 207 characters, trimmed to 206
    let id = env
        .store
        .create_project(&org, &project(&name[..200]))
        .unwrap()
        .project
        .id;
    assert!(id.len() <= 64, "{id}");
    assert!(id.starts_with("alpha-beta-gamma-delta-alpha"));
    assert!(!id.ends_with('-'));
    assert!(
        ["alpha", "beta", "gamma", "delta"]
            .iter()
            .any(|w| id.ends_with(w)),
        "{id}"
    );
}

#[test]
fn the_10000th_same_named_project_costs_no_more_lookups_than_the_2nd() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("ids.db"), fast_normal_options()).unwrap();
    let org = store.create_organization("Acme").unwrap().organization.id;
    store.create_project(&org, &project("Same")).unwrap();
    let before = store.id_probes();
    assert_eq!(
        store
            .create_project(&org, &project("Same"))
            .unwrap()
            .project
            .id,
        "same-1"
    );
    let second = store.id_probes() - before;
    for _ in 3..10_000 {
        store.create_project(&org, &project("Same")).unwrap();
    }
    let before = store.id_probes();
    let p = store.create_project(&org, &project("Same")).unwrap();
    let ten_thousandth = store.id_probes() - before;
    assert_eq!(p.project.id, "same-9999");
    assert!(second >= 1);
    assert!(
        ten_thousandth <= second,
        "10,000th: {ten_thousandth} lookups, 2nd: {second}"
    );
}

#[test]
fn two_processes_four_threads_each_get_2000_distinct_ids() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("contention.db");
    let org = {
        let store = Store::open(&db, fast_normal_options()).unwrap();
        store.create_organization("Acme").unwrap().organization.id
    };
    let children: Vec<_> = (0..2)
        .map(|_| {
            child("create_same", &db)
                .env("OPCORE_TEST_ORG", &org)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn child")
        })
        .collect();
    let mut ids = Vec::new();
    for c in children {
        let out = c.wait_with_output().expect("child output");
        assert!(
            out.status.success(),
            "child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        ids.extend(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|l| marked(l, "ID ").map(str::to_owned)),
        );
    }
    assert_eq!(ids.len(), 2000);
    let distinct: HashSet<_> = ids.iter().collect();
    assert_eq!(distinct.len(), 2000, "duplicate ids issued");
    let store = Store::open(&db, fast_normal_options()).unwrap();
    let listed: HashSet<String> = store
        .list_projects(&org)
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    for id in &ids {
        assert!(listed.contains(id), "{id} missing after reopen");
    }
    assert_eq!(listed.len(), 2000);
}

#[test]
fn a_killed_writer_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let (org, project_id) = {
        let store = Store::open(&db, fast_normal_options()).unwrap();
        let org = store.create_organization("Acme").unwrap().organization.id;
        let p = store
            .create_project(&org, &project("Crash"))
            .unwrap()
            .project
            .id;
        (org, p)
    };
    let mut acknowledged = Vec::new();
    for round in 0..3 {
        let mut c = child("write_loop", &db)
            .env("OPCORE_TEST_ORG", &org)
            .env("OPCORE_TEST_PROJECT", &project_id)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn writer");
        let stdout = c.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        // Kill at a different point each round, mid-loop.
        let kill_after = 20 + round * 37;
        let mut seen = 0;
        while let Some(Ok(line)) = lines.next() {
            if let Some(id) = marked(&line, "COMMITTED ") {
                acknowledged.push(id.to_owned());
                seen += 1;
                if seen == kill_after {
                    c.kill().expect("SIGKILL");
                    break;
                }
            }
        }
        // Whatever the child printed before dying was acknowledged too.
        for line in lines.map_while(Result::ok) {
            if let Some(id) = marked(&line, "COMMITTED ") {
                acknowledged.push(id.to_owned());
            }
        }
        c.wait().expect("reap");
        let conn = rusqlite::Connection::open(&db).unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        drop(conn);
        let store = Store::open(&db, fast_normal_options()).unwrap();
        for id in &acknowledged {
            store
                .get_reference(&org, id)
                .unwrap_or_else(|e| panic!("acknowledged write {id} lost: {e}"));
        }
    }
    assert!(acknowledged.len() >= 20 + 57 + 94);
}

#[test]
fn secrets_never_reach_the_file_a_read_debug_or_an_error() {
    let env = StoreEnv::new();
    let boot = env.org("Acme");
    let org = boot.organization.id.clone();
    let created = env
        .store
        .create_project(&org, &project("Secretive"))
        .unwrap();
    let client = env
        .store
        .create_client(
            &org,
            &NewClient {
                name: "Reader".into(),
                project_id: Some(created.project.id.clone()),
                client_type: ClientType::Read,
                ..NewClient::default()
            },
        )
        .unwrap();
    let secrets = [
        boot.client.secret.expose().to_owned(),
        created.client.secret.expose().to_owned(),
        client.secret.expose().to_owned(),
    ];
    for s in &secrets {
        assert!(s.starts_with("sec_") && s.len() == 36, "{s}");
    }
    // Use them, so the verification path runs too.
    let ok = env
        .store
        .authenticate(&AuthRequest {
            client_id: Some(&boot.client.client.id),
            client_secret: Some(&secrets[0]),
            ..AuthRequest::new(Family::Manage)
        })
        .unwrap();
    let wrong = env
        .store
        .authenticate(&AuthRequest {
            client_id: Some(&client.client.id),
            client_secret: Some(&format!("{}0", &secrets[2])),
            ..AuthRequest::new(Family::Export)
        })
        .unwrap_err();

    let mut visible = vec![
        format!("{boot:?}"),
        format!("{created:?}"),
        format!("{client:?}"),
        format!("{ok:?}"),
        format!("{wrong:?} {wrong}"),
        format!("{:?}", env.store),
        serde_json::to_string(&env.store.list_clients(&org, None).unwrap()).unwrap(),
        serde_json::to_string(&env.store.get_client(&org, &client.client.id).unwrap()).unwrap(),
        serde_json::to_string(&env.store.list_projects(&org).unwrap()).unwrap(),
    ];
    let e = env
        .store
        .update_client(
            &org,
            &client.client.id,
            &ClientChanges {
                client_type: Some(ClientType::Root),
                ..ClientChanges::default()
            },
        )
        .unwrap_err();
    visible.push(format!("{e:?} {e}"));
    for text in &visible {
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "secret in: {text}");
            assert!(!text.contains(&s[4..]), "secret hex in: {text}");
        }
    }
    // The bytes on disk: main file and WAL, before any checkpoint.
    let mut bytes = std::fs::read(env.path()).unwrap();
    if let Ok(wal) = std::fs::read(env.dir.path().join("opcore.db-wal")) {
        bytes.extend(wal);
    }
    assert!(bytes.len() > 4096);
    for s in &secrets {
        let hex = &s.as_bytes()[4..];
        assert!(
            !bytes.windows(hex.len()).any(|w| w == hex),
            "a secret's hex is in the database file"
        );
    }
    // What is stored is an argon2id PHC string.
    let conn = rusqlite::Connection::open(env.path()).unwrap();
    let hash: String = conn
        .query_row(
            "SELECT secret_hash FROM clients WHERE id = ?1",
            [&client.client.id],
            |r| r.get(0),
        )
        .unwrap();
    assert!(hash.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{hash}");
}

#[test]
fn old_parameter_hashes_verify_and_are_upgraded() {
    let env = StoreEnv::new();
    let boot = env.org("Acme");
    let upgraded = opcore::domain::secret::Argon2Params {
        m_cost: 16,
        t_cost: 2,
        p_cost: 1,
    };
    let store = Store::open(
        env.path(),
        Options {
            argon2: upgraded,
            ..support::options(&env.clock)
        },
    )
    .unwrap();
    let req = AuthRequest {
        client_id: Some(&boot.client.client.id),
        client_secret: Some(boot.client.secret.expose()),
        ..AuthRequest::new(Family::Manage)
    };
    store.authenticate(&req).expect("old hash still verifies");
    let conn = rusqlite::Connection::open(env.path()).unwrap();
    let hash: String = conn
        .query_row("SELECT secret_hash FROM clients", [], |r| r.get(0))
        .unwrap();
    assert!(hash.contains("m=16,t=2,p=1"), "not re-hashed: {hash}");
    // And the new hash verifies on a fresh handle (no cache).
    let fresh = Store::open(
        env.path(),
        Options {
            argon2: upgraded,
            ..support::options(&env.clock)
        },
    )
    .unwrap();
    fresh.authenticate(&req).expect("re-hashed secret verifies");
}

fn open_error(path: &std::path::Path) -> String {
    match Store::open(path, fast_normal_options()) {
        Err(Error::Open(m)) => m,
        other => panic!("expected an open error, got {other:?}"),
    }
}

#[test]
fn files_that_are_not_opcore_stores_are_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();

    let text = dir.path().join("notes.txt");
    std::fs::write(
        &text,
        b"this is not a database, just some text that is long enough",
    )
    .unwrap();
    let before = std::fs::read(&text).unwrap();
    let msg = open_error(&text);
    assert!(msg.contains("not an SQLite database"), "{msg}");
    assert!(msg.contains("notes.txt"), "{msg}");
    assert_eq!(std::fs::read(&text).unwrap(), before);

    let foreign = dir.path().join("foreign.db");
    {
        let c = rusqlite::Connection::open(&foreign).unwrap();
        c.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
    }
    let before = std::fs::read(&foreign).unwrap();
    let msg = open_error(&foreign);
    assert!(msg.contains("not an opcore store"), "{msg}");
    assert_eq!(std::fs::read(&foreign).unwrap(), before);

    let newer = dir.path().join("newer.db");
    drop(Store::open(&newer, fast_normal_options()).unwrap());
    {
        let c = rusqlite::Connection::open(&newer).unwrap();
        c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA user_version = 99;")
            .unwrap();
        c.execute_batch("PRAGMA journal_mode = DELETE").unwrap();
    }
    let before = std::fs::read(&newer).unwrap();
    let msg = open_error(&newer);
    assert!(msg.contains("schema version 99"), "{msg}");
    assert!(msg.contains("newer"), "{msg}");
    assert_eq!(std::fs::read(&newer).unwrap(), before);

    let unwritable = dir.path().join("no-such-dir").join("x.db");
    let msg = open_error(&unwritable);
    assert!(msg.contains("no-such-dir"), "{msg}");
    assert!(!unwritable.exists());

    let msg = open_error(dir.path());
    assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
}

#[test]
fn purge_cascades_and_scopes_hold() {
    let env = StoreEnv::new();
    let org = env.org("Acme").organization.id;
    let other = env.org("Other").organization.id;
    let p = env.store.create_project(&org, &project("Doomed")).unwrap();
    let r = env
        .store
        .create_reference(
            &org,
            &NewReference {
                project_id: p.project.id.clone(),
                title: "Launch".into(),
                ..NewReference::default()
            },
        )
        .unwrap();
    // Another organization sees nothing of it.
    assert!(matches!(
        env.store.get_project(&other, &p.project.id),
        Err(Error::NotFound(Resource::Project))
    ));
    assert!(matches!(
        env.store.get_reference(&other, &r.id),
        Err(Error::NotFound(Resource::Reference))
    ));
    assert!(matches!(
        env.store.get_client(&other, &p.client.id),
        Err(Error::NotFound(Resource::Client))
    ));
    let at = env.store.delete_project(&org, &p.project.id).unwrap();
    assert_eq!(at, support::T0.plus_seconds(86_400));
    // Still readable while scheduled, with deleteAt; not listed.
    assert_eq!(
        env.store
            .get_project(&org, &p.project.id)
            .unwrap()
            .delete_at,
        Some(at)
    );
    assert!(env.store.list_projects(&org).unwrap().is_empty());
    env.clock.advance_secs(86_400);
    // Gone at once, before any purge.
    assert!(env.store.get_project(&org, &p.project.id).is_err());
    assert!(env.store.get_client(&org, &p.client.id).is_err());
    assert!(env.store.get_reference(&org, &r.id).is_err());
    assert_eq!(env.store.purge().unwrap(), 1);
    let conn = rusqlite::Connection::open(env.path()).unwrap();
    for table in ["projects", "project_references"] {
        let n: i64 = conn
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0, "{table}");
    }
    let clients: i64 = conn
        .query_row(
            "SELECT count(*) FROM clients WHERE project_id IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(clients, 0);
}

#[test]
fn an_update_cancels_a_scheduled_deletion() {
    let env = StoreEnv::new();
    let org = env.org("Acme").organization.id;
    let p = env
        .store
        .create_project(&org, &project("Saved"))
        .unwrap()
        .project;
    env.store.delete_project(&org, &p.id).unwrap();
    env.clock.advance_secs(60);
    let updated = env
        .store
        .update_project(
            &org,
            &p.id,
            &ProjectChanges {
                cross_domain: Some(true),
                ..ProjectChanges::default()
            },
        )
        .unwrap();
    assert_eq!(updated.delete_at, None);
    assert_eq!(updated.updated_at, support::T0.plus_seconds(60));
    env.clock.advance_secs(2 * 86_400);
    assert_eq!(env.store.purge().unwrap(), 0);
    assert!(env.store.get_project(&org, &p.id).is_ok());
}

#[test]
fn events_count_increments_atomically_across_threads() {
    let env = StoreEnv::new();
    let org = env.org("Acme").organization.id;
    let p = env
        .store
        .create_project(&org, &project("Busy"))
        .unwrap()
        .project
        .id;
    let store = Arc::new(env.store.clone());
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (store, org, p) = (store.clone(), org.clone(), p.clone());
            std::thread::spawn(move || {
                for _ in 0..50 {
                    store.increment_events_count(&org, &p, 2).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(env.store.get_project(&org, &p).unwrap().events_count, 400);
}

#[test]
fn validation_names_every_offending_field() {
    let env = StoreEnv::new();
    let org = env.org("Acme").organization.id;
    let e = env
        .store
        .create_project(
            &org,
            &NewProject {
                name: "   ".into(),
                domain: Some("javascript:alert(1)".into()),
                cors: vec!["https://ok.com".into(), "www.".into()],
                cross_domain: false,
                types: vec!["website".into(), "tv".into()],
            },
        )
        .unwrap_err();
    let Error::Validation(errors) = e else {
        panic!("expected validation error");
    };
    let paths: Vec<String> = errors
        .iter()
        .map(|e| serde_json::to_string(&e.path).unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            r#"["name"]"#,
            r#"["domain"]"#,
            r#"["cors",1]"#,
            r#"["types",1]"#
        ]
    );
}
