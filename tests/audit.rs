//! The audit log (docs/lifecycle.md#audit-log): every mutating Manage route leaves exactly one
//! entry on success and none on failure, with the right action, resource, actor and changed
//! fields; bootstrap, direct store calls and purge have no actor; `GET /manage/audit` pages,
//! filters and is scoped to the caller's organization; retention; and no secret reaches an
//! entry, a response or the database file.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;

use common::{Creds, Env, MANAGE_DENIED};
use opcore::{AuditAction, AuditEntry, ListOptions, NewProject, Timestamp};
use serde_json::{json, Value};

/// Every entry of the organization, newest first, read directly from the store.
fn entries(env: &Env, org: &str) -> Vec<AuditEntry> {
    env.store
        .list_audit(org, None, &ListOptions::default())
        .expect("audit log")
        .items
}

/// What one request must leave in the log: `None` for a request that must fail and leave
/// nothing; otherwise the action, the resource id (`""`: the id the response returns, for
/// creations of resources with random ids), the project id and the changed fields.
struct Expect {
    action: AuditAction,
    resource: String,
    project: Option<String>,
    changes: Vec<&'static str>,
}

fn expect(
    action: AuditAction,
    resource: &str,
    project: Option<&str>,
    changes: &[&'static str],
) -> Option<Expect> {
    Some(Expect {
        action,
        resource: resource.into(),
        project: project.map(str::to_owned),
        changes: changes.to_vec(),
    })
}

/// Sends `method target body` as the root client and checks the log: exactly one new entry,
/// as `want` says, on success; no new entry otherwise. Returns the response.
fn check(
    env: &Env,
    method: &str,
    target: &str,
    body: Option<Value>,
    want: Option<Expect>,
) -> Value {
    let before = entries(env, &env.org);
    let r = env.call(method, target, Some(&env.root), body.as_ref());
    let after = entries(env, &env.org);
    match want {
        None => {
            assert_ne!(r.status, 200, "{method} {target} should fail: {}", r.body);
            assert_eq!(after, before, "{method} {target} failed yet wrote an entry");
        }
        Some(want) => {
            assert_eq!(r.status, 200, "{method} {target}: {}", r.body);
            assert_eq!(
                after.len(),
                before.len() + 1,
                "{method} {target}: exactly one entry"
            );
            assert_eq!(&after[1..], &before[..], "older entries unchanged");
            let e = &after[0];
            assert_eq!(e.action, want.action, "{method} {target}");
            assert_eq!(e.resource_type, want.action.resource_type());
            let resource = if want.resource.is_empty() {
                r.body["data"]["id"]
                    .as_str()
                    .expect("created id")
                    .to_owned()
            } else {
                want.resource
            };
            assert_eq!(e.resource_id, resource, "{method} {target}");
            assert_eq!(e.project_id, want.project, "{method} {target}");
            assert_eq!(e.changes, want.changes, "{method} {target}");
            assert_eq!(e.actor_client_id.as_deref(), Some(env.root.id.as_str()));
            assert_eq!(e.at, env.store.now());
        }
    }
    r.body
}

#[test]
fn every_mutating_route_writes_one_entry_on_success_and_none_on_failure() {
    use AuditAction::*;
    let env = Env::new();
    let org = env.org.clone();
    let body = |v: Value| Some(v);

    // Projects.
    check(
        &env,
        "POST",
        "/manage/projects",
        body(json!({"name": ""})),
        None,
    );
    check(
        &env,
        "POST",
        "/manage/projects",
        body(json!(["not an object"])),
        None,
    );
    check(
        &env,
        "POST",
        "/manage/projects",
        body(json!({"name": "Shop", "domain": "https://shop.example", "types": ["website"]})),
        expect(
            ProjectCreate,
            "shop",
            Some("shop"),
            &["name", "domain", "types", "client"],
        ),
    );
    check(
        &env,
        "POST",
        "/manage/projects",
        body(json!({"name": "Blog"})),
        expect(ProjectCreate, "blog", Some("blog"), &["name", "client"]),
    );
    check(
        &env,
        "PATCH",
        "/manage/projects/nope",
        body(json!({"name": "X"})),
        None,
    );
    check(
        &env,
        "PATCH",
        "/manage/projects/shop",
        body(json!({"name": ""})),
        None,
    );
    check(
        &env,
        "PATCH",
        "/manage/projects/shop",
        body(json!({"name": "Shop 2", "crossDomain": true, "domain": "https://shop.example"})),
        expect(
            ProjectUpdate,
            "shop",
            Some("shop"),
            &["name", "crossDomain"],
        ),
    );
    // A PATCH that leaves every field as it was still changes `updatedAt`: one entry, no
    // field names.
    check(
        &env,
        "PATCH",
        "/manage/projects/shop",
        body(json!({"name": "Shop 2"})),
        expect(ProjectUpdate, "shop", Some("shop"), &[]),
    );
    check(&env, "DELETE", "/manage/projects/nope", None, None);
    check(
        &env,
        "DELETE",
        "/manage/projects/blog",
        None,
        expect(ProjectDelete, "blog", Some("blog"), &[]),
    );
    // Repeating the DELETE keeps the first schedule and changes nothing: no entry.
    let before = entries(&env, &org);
    assert_eq!(env.delete("/manage/projects/blog").status, 200);
    assert_eq!(entries(&env, &org), before);
    // A successful PATCH of a scheduled project cancels the deletion.
    check(
        &env,
        "PATCH",
        "/manage/projects/blog",
        body(json!({"name": "Blog 2"})),
        expect(ProjectRestore, "blog", Some("blog"), &["name", "deleteAt"]),
    );
    check(
        &env,
        "PATCH",
        "/manage/projects/blog",
        body(json!({"cors": [1]})),
        None,
    );

    // Clients.
    check(
        &env,
        "POST",
        "/manage/clients",
        body(json!({"name": ""})),
        None,
    );
    check(
        &env,
        "POST",
        "/manage/clients",
        body(json!({"name": "X", "projectId": "nope"})),
        None,
    );
    check(
        &env,
        "POST",
        "/manage/clients",
        body(json!({"name": "X", "type": "admin"})),
        None,
    );
    let reader = check(
        &env,
        "POST",
        "/manage/clients",
        body(json!({"name": "Reader", "type": "read", "projectId": "shop"})),
        expect(
            ClientCreate,
            "",
            Some("shop"),
            &["name", "type", "projectId", "secret"],
        ),
    );
    let reader = reader["data"]["id"].as_str().unwrap().to_owned();
    let admin = check(
        &env,
        "POST",
        "/manage/clients",
        body(json!({"name": "Admin", "type": "root"})),
        expect(ClientCreate, "", None, &["name", "type", "secret"]),
    );
    let admin = admin["data"]["id"].as_str().unwrap().to_owned();
    let reader_path = format!("/manage/clients/{reader}");
    check(&env, "PATCH", &reader_path, body(json!({"name": ""})), None);
    check(
        &env,
        "PATCH",
        &reader_path,
        body(json!({"type": "write"})),
        None,
    );
    check(
        &env,
        "PATCH",
        &reader_path,
        body(json!({"projectId": "blog"})),
        None,
    );
    check(
        &env,
        "PATCH",
        "/manage/clients/fa0c2780-55f2-4d9e-bea0-da2e02c7b1a9",
        body(json!({"name": "X"})),
        None,
    );
    check(
        &env,
        "PATCH",
        &reader_path,
        body(json!({"name": "Reader 2", "type": "read", "projectId": "shop"})),
        expect(ClientUpdate, &reader, Some("shop"), &["name"]),
    );
    check(
        &env,
        "DELETE",
        "/manage/clients/fa0c2780-55f2-4d9e-bea0-da2e02c7b1a9",
        None,
        None,
    );
    check(&env, "DELETE", "/manage/clients/not-a-uuid", None, None);
    check(
        &env,
        "DELETE",
        &reader_path,
        None,
        expect(ClientDelete, &reader, Some("shop"), &[]),
    );
    check(
        &env,
        "DELETE",
        &format!("/manage/clients/{admin}"),
        None,
        expect(ClientDelete, &admin, None, &[]),
    );
    // The last root client of the organization cannot be deleted: no entry.
    check(
        &env,
        "DELETE",
        &format!("/manage/clients/{}", env.root.id),
        None,
        None,
    );

    // References.
    check(
        &env,
        "POST",
        "/manage/references",
        body(json!({"projectId": "shop", "title": ""})),
        None,
    );
    check(
        &env,
        "POST",
        "/manage/references",
        body(json!({"projectId": "nope", "title": "X"})),
        None,
    );
    check(
        &env,
        "POST",
        "/manage/references",
        body(json!({"projectId": "shop", "title": "X", "datetime": "yesterday"})),
        None,
    );
    let reference = check(
        &env,
        "POST",
        "/manage/references",
        body(json!({"projectId": "shop", "title": "Launch", "description": "v1"})),
        expect(
            ReferenceCreate,
            "",
            Some("shop"),
            &["projectId", "title", "description"],
        ),
    );
    let reference = reference["data"]["id"].as_str().unwrap().to_owned();
    check(
        &env,
        "POST",
        "/manage/references",
        body(json!({"projectId": "shop", "title": "Dated", "datetime": "2024-01-01"})),
        expect(
            ReferenceCreate,
            "",
            Some("shop"),
            &["projectId", "title", "date"],
        ),
    );
    let reference_path = format!("/manage/references/{reference}");
    check(
        &env,
        "PATCH",
        &reference_path,
        body(json!({"title": ""})),
        None,
    );
    check(
        &env,
        "PATCH",
        "/manage/references/fa0c2780-55f2-4d9e-bea0-da2e02c7b1a9",
        body(json!({"title": "X"})),
        None,
    );
    check(
        &env,
        "PATCH",
        &reference_path,
        body(json!({"title": "Launch", "datetime": "2024-02-01"})),
        expect(ReferenceUpdate, &reference, Some("shop"), &["date"]),
    );
    check(
        &env,
        "DELETE",
        "/manage/references/fa0c2780-55f2-4d9e-bea0-da2e02c7b1a9",
        None,
        None,
    );
    check(
        &env,
        "DELETE",
        &reference_path,
        None,
        expect(ReferenceDelete, &reference, Some("shop"), &[]),
    );
    check(&env, "DELETE", &reference_path, None, None);

    // Refused callers change nothing and leave nothing.
    let before = entries(&env, &org);
    let wrong = Creds {
        id: env.root.id.clone(),
        secret: "sec_0000000000000000000000000000000000000000000000000000000000000000".into(),
    };
    let r = env.call(
        "POST",
        "/manage/projects",
        Some(&wrong),
        Some(&json!({"name": "Z"})),
    );
    assert_eq!(r.status, 401);
    let writer = env.client("Writer", "write", Some("shop"));
    let r = env.call(
        "POST",
        "/manage/projects",
        Some(&writer),
        Some(&json!({"name": "Z"})),
    );
    r.assert_error(401, "Unauthorized", MANAGE_DENIED);
    let r = env.call("DELETE", "/manage/projects/shop", None, None);
    assert_eq!(r.status, 401);
    let after = entries(&env, &org);
    assert_eq!(after.len(), before.len() + 1, "only the writer's creation");
    assert_eq!(&after[1..], &before[..]);
    assert_eq!(env.get("/manage/projects/shop").status, 200);
}

/// The `data` of `GET target` as the root client `creds`, asserting a 200.
fn audit_page(env: &Env, target: &str, creds: &Creds) -> Value {
    let r = env.call("GET", target, Some(creds), None);
    assert_eq!(r.status, 200, "{target}: {}", r.body);
    r.body
}

fn ids(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn get_audit_pages_newest_first_filters_by_resource_and_stays_in_its_organization() {
    let env = Env::new();
    for name in ["One", "Two", "Three"] {
        env.project(name);
        env.clock.advance_ms(1);
    }
    assert_eq!(
        env.patch("/manage/projects/two", json!({"name": "2"}))
            .status,
        200
    );
    // Entries written in the same millisecond keep their commit order.
    assert_eq!(
        env.patch("/manage/projects/one", json!({"name": "1"}))
            .status,
        200
    );
    let all = entries(&env, &env.org);
    let actions: Vec<(&str, &str)> = all
        .iter()
        .map(|e| (e.action.as_str(), e.resource_id.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("project.update", "one"),
            ("project.update", "two"),
            ("project.create", "three"),
            ("project.create", "two"),
            ("project.create", "one"),
            ("organization.create", env.org.as_str()),
        ]
    );

    // The API returns the same entries, as JSON with the documented names.
    let body = audit_page(&env, "/manage/audit", &env.root);
    assert_eq!(body["nextCursor"], Value::Null);
    let listed: Vec<AuditEntry> = serde_json::from_value(body["data"].clone()).unwrap();
    assert_eq!(listed, all);
    let first = &body["data"][0];
    assert_eq!(first["action"], "project.update");
    assert_eq!(first["resourceType"], "project");
    assert_eq!(first["resourceId"], "one");
    assert_eq!(first["projectId"], "one");
    assert_eq!(first["actorClientId"], env.root.id.as_str());
    assert_eq!(first["changes"], json!(["name"]));
    let boot = &body["data"][5];
    assert_eq!(boot["actorClientId"], Value::Null);
    assert_eq!(boot["resourceType"], "organization");
    assert_eq!(boot["projectId"], Value::Null);
    assert_eq!(boot["changes"], json!(["name", "client"]));
    // Also under /api/manage and with a trailing slash; HEAD has no body.
    assert_eq!(
        ids(&audit_page(&env, "/api/manage/audit/", &env.root)),
        ids(&body)
    );
    let head = env.call("HEAD", "/manage/audit", Some(&env.root), None);
    assert_eq!((head.status, head.raw.body.len()), (200, 0));

    // Pages of two: every entry once, in order, then no cursor.
    let mut seen = Vec::new();
    let mut target = "/manage/audit?limit=2".to_owned();
    loop {
        let page = audit_page(&env, &target, &env.root);
        let got = ids(&page);
        assert!(got.len() <= 2);
        seen.extend(got);
        match page["nextCursor"].as_str() {
            Some(next) => target = format!("/manage/audit?limit=2&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(seen, ids(&body));

    // One resource's entries.
    let two = audit_page(&env, "/manage/audit?resourceId=two", &env.root);
    let two: Vec<&str> = two["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(two, ["project.update", "project.create"]);
    let page = audit_page(&env, "/manage/audit?resourceId=two&limit=1", &env.root);
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    let next = page["nextCursor"].as_str().expect("one more");
    let rest = audit_page(
        &env,
        &format!("/manage/audit?resourceId=two&limit=1&cursor={next}"),
        &env.root,
    );
    assert_eq!(rest["data"][0]["action"], "project.create");
    assert_eq!(rest["nextCursor"], Value::Null);
    assert_eq!(
        audit_page(&env, "/manage/audit?resourceId=nothing", &env.root)["data"],
        json!([])
    );
    assert_eq!(
        ids(&audit_page(&env, "/manage/audit?resourceId=", &env.root)),
        ids(&body)
    );

    // Another organization's root client sees only its own organization's entries, even
    // when it names this organization's resources.
    let (other_org, other_root) = env.other_org("Other");
    let theirs = audit_page(&env, "/manage/audit", &other_root);
    assert_eq!(theirs["data"].as_array().unwrap().len(), 1);
    assert_eq!(theirs["data"][0]["resourceId"], other_org.as_str());
    assert_eq!(
        audit_page(&env, "/manage/audit?resourceId=one", &other_root)["data"],
        json!([])
    );
    assert_eq!(
        audit_page(
            &env,
            &format!("/manage/audit?resourceId={}", env.org),
            &other_root
        )["data"],
        json!([])
    );
    assert_eq!(
        ids(&audit_page(&env, "/manage/audit", &env.root)),
        ids(&body)
    );
}

#[test]
fn get_audit_refuses_what_other_manage_routes_refuse() {
    let env = Env::new();
    env.project("One");
    let writer = env.client("Writer", "write", Some("one"));
    let reader = env.client("Reader", "read", None);
    for creds in [&writer, &reader] {
        env.call("GET", "/manage/audit", Some(creds), None)
            .assert_error(401, "Unauthorized", MANAGE_DENIED);
    }
    let r = env.call("GET", "/manage/audit", None, None);
    assert_eq!(r.status, 401);
    assert!(r.header("www-authenticate").is_some());

    for method in ["POST", "PATCH", "DELETE", "PUT"] {
        let r = env.call(method, "/manage/audit", Some(&env.root), Some(&json!({})));
        assert_eq!(r.status, 405, "{method}");
        assert_eq!(r.header("allow"), Some("GET, HEAD"));
    }
    assert_eq!(env.get("/manage/audit/some-id").status, 404);

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=x", "limit"),
        ("cursor=nope", "cursor"),
    ] {
        let r = env.get(&format!("/manage/audit?{query}"));
        assert_eq!(r.status, 400, "{query}: {}", r.body);
        assert_eq!(r.body["details"][0]["path"], json!([field]), "{query}");
    }
    // A cursor of another list is refused, not read as a position.
    let clients = env.get("/manage/clients?limit=1");
    let cursor = clients.body["nextCursor"]
        .as_str()
        .expect("a clients cursor");
    let r = env.get(&format!("/manage/audit?cursor={cursor}"));
    assert_eq!(r.status, 400);
    assert_eq!(r.body["details"][0]["path"], json!(["cursor"]));
    // No entry was written by any of it.
    let actions: Vec<&str> = entries(&env, &env.org)
        .iter()
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "client.create",
            "client.create",
            "project.create",
            "organization.create"
        ]
    );
}

#[test]
fn direct_store_calls_bootstrap_and_purge_have_no_actor() {
    let env = Env::with(|o| o.deletion_grace_seconds = 60);
    let created = env
        .store
        .create_project(
            &env.org,
            &NewProject {
                name: "Direct".into(),
                ..NewProject::default()
            },
        )
        .unwrap();
    env.remember_secret(created.client.secret.expose());
    env.store.delete_project(&env.org, "direct").unwrap();
    env.clock.advance_ms(60_000);
    assert_eq!(env.store.purge().unwrap(), 1);
    let log = entries(&env, &env.org);
    let got: Vec<(&str, &str, Option<&str>)> = log
        .iter()
        .map(|e| {
            (
                e.action.as_str(),
                e.resource_id.as_str(),
                e.actor_client_id.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("project.purge", "direct", None),
            ("project.delete", "direct", None),
            ("project.create", "direct", None),
            ("organization.create", env.org.as_str(), None),
        ]
    );
    assert_eq!(log[0].at, env.store.now());
    assert!(log[0].changes.is_empty());
    // A purged project's entries stay readable (the resource is gone, its history is not).
    let body = audit_page(&env, "/manage/audit?resourceId=direct", &env.root);
    assert_eq!(body["data"].as_array().unwrap().len(), 3);
}

#[test]
fn purge_prunes_entries_older_than_the_retention_and_deleting_an_organization_removes_its_log() {
    let env = Env::with(|o| o.audit_retention_days = 2);
    env.project("Old");
    env.clock.advance_ms(86_400_000);
    env.project("Newer");
    // Two days after the organization was created: its entry and `old`'s are exactly at the
    // limit and kept; a millisecond later they are gone.
    env.clock.advance_ms(86_400_000);
    env.store.purge().unwrap();
    assert_eq!(entries(&env, &env.org).len(), 3);
    env.clock.advance_ms(1);
    env.store.purge().unwrap();
    let left: Vec<String> = entries(&env, &env.org)
        .iter()
        .map(|e| e.resource_id.clone())
        .collect();
    assert_eq!(left, ["newer"]);
    // Opening a store purges too.
    env.clock.advance_ms(86_400_000);
    let reopened = opcore::Store::open(env.db_path(), {
        let mut o = common::test_options(&env.clock);
        o.audit_retention_days = 2;
        o
    })
    .unwrap();
    assert_eq!(
        reopened
            .list_audit(&env.org, None, &ListOptions::default())
            .unwrap()
            .items,
        []
    );

    let (other, _) = env.other_org("Other");
    assert_eq!(entries(&env, &other).len(), 1);
    env.store.delete_organization(&other).unwrap();
    assert_eq!(entries(&env, &other), []);
    let rows: i64 = rusqlite::Connection::open(env.db_path())
        .unwrap()
        .query_row(
            "SELECT count(*) FROM audit_log WHERE organization_id = ?1",
            [&other],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(rows, 0);
}

#[test]
fn retention_outside_its_range_is_refused_when_opening() {
    for days in [0, 36_501] {
        let dir = tempfile::tempdir().unwrap();
        let clock = opcore::ManualClock::new(Timestamp(0));
        let mut o = common::test_options(&clock);
        o.audit_retention_days = days;
        let e = opcore::Store::open(dir.path().join("s.db"), o).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid options: audit_retention_days must be between 1 and 36500"
        );
    }
}

/// Every secret handed out by the run below is looked for in the responses, the audit log,
/// and the bytes of the database file and its WAL.
#[test]
fn no_secret_reaches_an_entry_a_response_or_the_database_file() {
    let env = Env::new();
    let mut secrets = vec![env.root.secret.clone()];
    let project = env.project("Vault");
    secrets.push(project["client"]["secret"].as_str().unwrap().to_owned());
    for kind in ["read", "write", "root"] {
        let c = env.client(kind, kind, None);
        assert_eq!(
            env.patch(&format!("/manage/clients/{}", c.id), json!({"name": "x"}))
                .status,
            200
        );
        secrets.push(c.secret.clone());
    }
    let c = env.client("Gone", "write", Some("vault"));
    assert_eq!(env.delete(&format!("/manage/clients/{}", c.id)).status, 200);
    secrets.push(c.secret);
    // The audit log's own responses are checked against every secret by `Env` as well.
    let log = env.get("/manage/audit").body;
    let text = log.to_string();
    for s in &secrets {
        assert!(!text.contains(s.as_str()));
        // Nor any part long enough to matter (the hex after `sec_`).
        assert!(!text.contains(&s[4..20]));
    }
    // Recent writes are in the WAL, older ones in the main file: both are read.
    for suffix in ["", "-wal"] {
        let path = format!("{}{suffix}", env.db_path().display());
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        for s in &secrets {
            assert!(
                !bytes.windows(s.len()).any(|w| w == s.as_bytes()),
                "a secret is in {path}"
            );
            let tail = &s.as_bytes()[4..];
            assert!(
                !bytes.windows(tail.len()).any(|w| w == tail),
                "a secret's hex is in {path}"
            );
        }
    }
    let db = rusqlite::Connection::open(env.db_path()).unwrap();
    let changes: Vec<String> = db
        .prepare("SELECT changes FROM audit_log")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for c in changes {
        let names: Vec<String> = serde_json::from_str(&c).unwrap();
        for n in names {
            assert!(
                n.chars().all(|ch| ch.is_ascii_alphabetic()) && n.len() < 32,
                "a field name, not a value: {n:?}"
            );
        }
    }
}

/// A bare HTTP/1.1 exchange with `Connection: close`: status and JSON body.
fn http(addr: &str, method: &str, path: &str, creds: &Creds, body: Option<&Value>) -> (u16, Value) {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\
         openpanel-client-id: {}\r\nopenpanel-client-secret: {}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        creds.id,
        creds.secret,
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, payload) = text.split_once("\r\n\r\n").expect("a response");
    let status = head[9..12].parse().unwrap();
    assert!(
        head.to_ascii_lowercase().contains("content-length:"),
        "a sized body: {head}"
    );
    (status, serde_json::from_str(payload).unwrap_or(Value::Null))
}

#[test]
fn over_http_changes_leave_their_entries_and_failures_none() {
    let env = Env::new();
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sink = log.clone();
    let server = opcore::server::spawn(
        env.store.clone(),
        "127.0.0.1:0".parse().unwrap(),
        opcore::server::LogSink::lines(move |line: &str| {
            sink.lock().unwrap().push(line.to_owned())
        }),
    )
    .unwrap();
    let base = server.base_url();
    let addr = base.trim_start_matches("http://").to_owned();
    let root = env.root.clone();
    let (status, created) = http(
        &addr,
        "POST",
        "/manage/projects",
        &root,
        Some(&json!({"name": "Net"})),
    );
    assert_eq!(status, 200);
    let first_secret = created["data"]["client"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = http(
        &addr,
        "POST",
        "/manage/projects",
        &root,
        Some(&json!({"name": ""})),
    );
    assert_eq!(status, 400);
    let (status, _) = http(&addr, "DELETE", "/manage/projects/nope", &root, None);
    assert_eq!(status, 404);
    let (status, _) = http(&addr, "DELETE", "/manage/projects/net", &root, None);
    assert_eq!(status, 200);
    let (status, page) = http(&addr, "GET", "/manage/audit?limit=2", &root, None);
    assert_eq!(status, 200);
    let got: Vec<(&str, &str)> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["actorClientId"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("project.delete", root.id.as_str()),
            ("project.create", root.id.as_str())
        ]
    );
    assert!(page["nextCursor"].is_string());
    let (status, _) = http(&addr, "PUT", "/manage/audit", &root, None);
    assert_eq!(status, 405);
    server.stop().unwrap();
    for line in log.lock().unwrap().iter() {
        for s in [&root.secret, &first_secret] {
            assert!(!line.contains(s.as_str()), "a secret in the log: {line}");
        }
    }
    assert!(!log.lock().unwrap().is_empty());
}

#[test]
fn a_change_made_with_an_access_token_names_the_token_s_client() {
    let env = Env::new();
    let token = env
        .store
        .authenticator()
        .token(
            &opcore::auth::oauth::ClientAuth {
                client_id: Some(&env.root.id),
                client_secret: Some(&env.root.secret),
                source: None,
            },
            &opcore::auth::oauth::Grant::ClientCredentials {
                scope: Some("manage"),
            },
        )
        .unwrap();
    let bearer = format!("Bearer {}", token.access_token.expose());
    let r = env.raw(
        "POST",
        "/manage/projects",
        &[
            ("authorization", bearer.as_str()),
            ("content-type", "application/json"),
        ],
        br#"{"name":"Token"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let e = &entries(&env, &env.org)[0];
    assert_eq!(
        (
            e.action,
            e.resource_id.as_str(),
            e.actor_client_id.as_deref()
        ),
        (
            AuditAction::ProjectCreate,
            "token",
            Some(env.root.id.as_str())
        )
    );
    // The token itself is in no entry.
    let log = env.get("/manage/audit").body.to_string();
    assert!(!log.contains(token.access_token.expose()));
}
