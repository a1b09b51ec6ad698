//! The Manage API (SPEC §5) through `manage::handle`: every row of the table, every error
//! body, and the semantics around them. Every response goes through the OpenAPI checker and
//! the secret check in `common::Env`.

mod common;

use common::{Creds, Env, INVALID_CREDENTIALS, MALFORMED_ID, MANAGE_DENIED, T0, T0_TEXT};
use opcore::manage::MAX_BODY_BYTES;
use opcore::Timestamp;
use serde_json::{json, Value};

/// The RFC 3339 text of `T0 + ms`.
fn at(ms: i64) -> String {
    Timestamp(T0 + ms).to_rfc3339()
}

const DAY_MS: i64 = 24 * 3600 * 1000;

fn ids(list: &Value) -> Vec<&str> {
    list.as_array()
        .expect("array")
        .iter()
        .map(|v| v["id"].as_str().expect("id"))
        .collect()
}

fn is_uuid_v4(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok_and(|u| u.get_version_num() == 4)
        && s.len() == 36
        && s == s.to_ascii_lowercase()
}

fn is_secret(s: &str) -> bool {
    s.len() == 36
        && s.starts_with("sec_")
        && s[4..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

// ---------------------------------------------------------------------------------------------
// Projects
// ---------------------------------------------------------------------------------------------

#[test]
fn create_project_returns_it_with_a_first_write_client() {
    let env = Env::new();
    // The seed's request, verbatim.
    let r = env.post(
        "/manage/projects",
        json!({
            "name": "My New Project",
            "domain": "https://example.com",
            "cors": ["https://example.com", "https://www.example.com"],
            "crossDomain": false,
            "types": ["website"]
        }),
    );
    let data = r.data().clone();
    let client = data["client"].clone();
    let client_id = client["id"].as_str().unwrap().to_owned();
    let secret = client["secret"].as_str().unwrap().to_owned();
    assert!(is_uuid_v4(&client_id), "{client_id}");
    assert!(is_secret(&secret));
    assert_eq!(
        data,
        json!({
            "id": "my-new-project",
            "name": "My New Project",
            "organizationId": env.org,
            "domain": "https://example.com",
            "cors": ["https://example.com", "https://www.example.com"],
            "crossDomain": false,
            "allowUnsafeRevenueTracking": false,
            "filters": [],
            "types": ["website"],
            "eventsCount": 0,
            "createdAt": T0_TEXT,
            "updatedAt": T0_TEXT,
            "deleteAt": null,
            "client": {"id": client_id, "secret": secret}
        })
    );

    // The client exists: `First client`, type write, on the project.
    let c = env.get(&format!("/manage/clients/{client_id}"));
    assert_eq!(
        c.data(),
        &json!({
            "id": client_id,
            "name": "First client",
            "type": "write",
            "projectId": "my-new-project",
            "organizationId": env.org,
            "ignoreCorsAndSecret": false,
            "redirectUris": [],
            "tier": null,
            "expiresAt": null,
            "lastUsedAt": null,
            "createdAt": T0_TEXT,
            "updatedAt": T0_TEXT
        })
    );
    // Its secret is real: it authenticates (then is refused as a write client), and a wrong
    // one does not.
    let first = Creds {
        id: client_id.clone(),
        secret,
    };
    env.call("GET", "/manage/projects", Some(&first), None)
        .assert_error(401, "Unauthorized", MANAGE_DENIED);
    let wrong = Creds {
        id: client_id,
        secret: "sec_00000000000000000000000000000000".into(),
    };
    env.call("GET", "/manage/projects", Some(&wrong), None)
        .assert_error(401, "Unauthorized", INVALID_CREDENTIALS);

    // The project reads back without the client.
    let p = env.get("/manage/projects/my-new-project");
    let mut expected = data;
    expected.as_object_mut().unwrap().remove("client");
    assert_eq!(p.data(), &expected);
}

#[test]
fn create_project_defaults_and_values_stored_as_sent() {
    let env = Env::new();
    let d = env.project("Defaults");
    assert_eq!(d["id"], "defaults");
    assert_eq!(d["domain"], Value::Null);
    assert_eq!(d["cors"], json!([]));
    assert_eq!(d["types"], json!([]));
    assert_eq!(d["crossDomain"], false);
    assert_eq!(d["allowUnsafeRevenueTracking"], false);
    assert_eq!(d["filters"], json!([]));

    let r = env.post(
        "/manage/projects",
        json!({
            "name": "  Привет мир  ",
            "domain": "HTTPS://Example.com/",
            "cors": ["HTTPS://A.com/", "https://a.com", "https://a.com:443", "example.com",
                     "*.example.com", "https://*.Example.com"],
            "crossDomain": true,
            "types": ["app", "website", "app"]
        }),
    );
    // Stored as sent: only trailing slashes go, nothing is merged; the id is slugged from the
    // trimmed name.
    let d = r.data();
    assert_eq!(d["id"], "privet-mir");
    assert_eq!(d["name"], "  Привет мир  ");
    assert_eq!(d["domain"], "HTTPS://Example.com");
    assert_eq!(
        d["cors"],
        json!([
            "HTTPS://A.com",
            "https://a.com",
            "https://a.com:443",
            "example.com",
            "*.example.com",
            "https://*.Example.com"
        ])
    );
    assert_eq!(d["crossDomain"], true);
    assert_eq!(d["types"], json!(["app", "website"]));

    // `domain: ""` and `null` both store none; names with no slug get the base `project`.
    let d = env
        .post("/manage/projects", json!({"name": "!!!", "domain": ""}))
        .data()
        .clone();
    assert_eq!(
        (d["id"].as_str(), &d["domain"]),
        (Some("project"), &Value::Null)
    );
    let d = env
        .post("/manage/projects", json!({"name": "---", "domain": null}))
        .data()
        .clone();
    assert_eq!(
        (d["id"].as_str(), &d["domain"]),
        (Some("project-1"), &Value::Null)
    );
    assert_eq!(env.project("🚀")["id"], "rocket");
    assert_eq!(env.project("My Project")["id"], "my-project");
    assert_eq!(env.project("my project")["id"], "my-project-1");
}

#[test]
fn unknown_and_read_only_keys_are_ignored() {
    let env = Env::new();
    let r = env.post(
        "/manage/projects",
        json!({
            "name": "Ignored",
            "id": "chosen-id",
            "organizationId": "someone-else",
            "filters": [{"x": 1}],
            "eventsCount": 99,
            "deleteAt": "2030-01-01T00:00:00.000Z",
            "allowUnsafeRevenueTracking": true,
            "client": {"id": "x"},
            "whatever": {"nested": [1, 2]}
        }),
    );
    let d = r.data();
    assert_eq!(d["id"], "ignored");
    assert_eq!(d["organizationId"], env.org.as_str());
    assert_eq!(d["filters"], json!([]));
    assert_eq!(d["eventsCount"], 0);
    assert_eq!(d["deleteAt"], Value::Null);
    assert_eq!(
        d["allowUnsafeRevenueTracking"], false,
        "not settable on create"
    );

    // PATCH: `types`, `filters`, `id` are not writable and are ignored.
    let r = env.patch(
        "/manage/projects/ignored",
        json!({"types": ["app"], "filters": [1], "id": "renamed", "eventsCount": 5, "bogus": true}),
    );
    let d = r.data();
    assert_eq!(
        (&d["id"], &d["types"], &d["filters"], &d["eventsCount"]),
        (&json!("ignored"), &json!([]), &json!([]), &json!(0))
    );

    // Clients: `ignoreCorsAndSecret` is never settable through the Manage API.
    let c = env.post(
        "/manage/clients",
        json!({"name": "Sneaky", "ignoreCorsAndSecret": true, "secret": "sec_x", "id": "x"}),
    );
    assert_eq!(c.data()["ignoreCorsAndSecret"], false);
    assert!(is_uuid_v4(c.data()["id"].as_str().unwrap()));
    assert_ne!(c.data()["secret"], "sec_x");
    let id = c.data()["id"].as_str().unwrap().to_owned();
    let r = env.patch(
        &format!("/manage/clients/{id}"),
        json!({"ignoreCorsAndSecret": true, "organizationId": "x"}),
    );
    assert_eq!(r.data()["ignoreCorsAndSecret"], false);
    assert_eq!(r.data()["organizationId"], env.org.as_str());
}

#[test]
fn project_validation_names_every_offending_field() {
    let env = Env::new();
    let r = env.post(
        "/manage/projects",
        json!({
            "name": "   ",
            "domain": "example.com",
            "cors": ["https://ok.com", "", "https://a.com/path"],
            "types": ["web", "app", "Website"]
        }),
    );
    r.assert_invalid(&[
        json!(["name"]),
        json!(["domain"]),
        json!(["cors", 1]),
        json!(["cors", 2]),
        json!(["types", 0]),
        json!(["types", 2]),
    ]);
    assert_eq!(
        r.detail(&json!(["name"])),
        "String must contain a visible character (not only whitespace or invisible characters)"
    );
    assert!(r.detail(&json!(["domain"])).starts_with("Invalid url: "));
    assert_eq!(
        r.detail(&json!(["types", 0])),
        "Invalid enum value. Expected 'website' | 'app' | 'backend', received 'web'"
    );

    // Type errors, and a missing name, are named the same way, with the rule errors of the
    // other fields.
    let r = env.post(
        "/manage/projects",
        json!({"crossDomain": "yes", "cors": "https://a.com", "types": [1], "domain": "ftp://x.org"}),
    );
    let details = r.assert_invalid(&[
        json!(["name"]),
        json!(["cors"]),
        json!(["crossDomain"]),
        json!(["types", 0]),
        json!(["domain"]),
    ]);
    assert_eq!(details.len(), 5);
    assert_eq!(r.detail(&json!(["name"])), "Required");
    assert_eq!(
        r.detail(&json!(["crossDomain"])),
        "Expected boolean, received string"
    );
    assert_eq!(
        r.detail(&json!(["cors"])),
        "Expected array, received string"
    );
    assert_eq!(
        r.detail(&json!(["types", 0])),
        "Expected string, received number"
    );

    let long = "x".repeat(256);
    env.post("/manage/projects", json!({"name": long}))
        .assert_invalid(&[json!(["name"])]);
    env.post("/manage/projects", json!({"name": null}))
        .assert_invalid(&[json!(["name"])]);

    // PATCH is validated the same way, and a failed PATCH changes nothing.
    env.project("Valid");
    env.clock.advance_secs(1);
    let r = env.patch(
        "/manage/projects/valid",
        json!({"name": "", "domain": "javascript:alert(1)", "cors": [" "], "crossDomain": 1,
               "allowUnsafeRevenueTracking": "no"}),
    );
    r.assert_invalid(&[
        json!(["crossDomain"]),
        json!(["allowUnsafeRevenueTracking"]),
        json!(["name"]),
        json!(["domain"]),
        json!(["cors", 0]),
    ]);
    let p = env.get("/manage/projects/valid");
    assert_eq!(p.data()["name"], "Valid");
    assert_eq!(p.data()["updatedAt"], T0_TEXT);
    // Nothing was created by the failed creates either.
    assert_eq!(ids(env.get("/manage/projects").data()), ["valid"]);
}

#[test]
fn a_body_that_is_not_an_object_is_a_400() {
    let env = Env::new();
    env.project("P");
    let headers = [
        ("openpanel-client-id", env.root.id.as_str()),
        ("openpanel-client-secret", env.root.secret.as_str()),
    ];
    let cases: &[(&[u8], &str)] = &[
        (b"[]", "Expected object, received array"),
        (b"[{\"name\":\"x\"}]", "Expected object, received array"),
        (b"\"name\"", "Expected object, received string"),
        (b"42", "Expected object, received number"),
        (b"null", "Expected object, received null"),
        (b"true", "Expected object, received boolean"),
    ];
    for (method, target) in [
        ("POST", "/manage/projects"),
        ("PATCH", "/manage/projects/p"),
        ("POST", "/manage/clients"),
        ("POST", "/manage/references"),
    ] {
        for (body, message) in cases {
            let r = env.raw(method, target, &headers, body);
            r.assert_invalid(&[json!([])]);
            assert_eq!(r.detail(&json!([])), *message);
        }
        for body in [
            &b"{"[..],
            b"{\"name\":}",
            b"not json",
            b"{\"a\":1}x",
            b"\xff\xfe",
        ] {
            let r = env.raw(method, target, &headers, body);
            r.assert_invalid(&[json!([])]);
            assert!(r.detail(&json!([])).starts_with("Malformed JSON: "));
        }
    }
    // An empty body is an empty object: a create says what is missing.
    let r = env.raw("POST", "/manage/projects", &headers, b"");
    r.assert_invalid(&[json!(["name"])]);
    assert_eq!(r.detail(&json!(["name"])), "Required");
}

#[test]
fn project_list_is_newest_first_and_skips_scheduled_and_foreign() {
    let env = Env::new();
    let (_, other) = env.other_org("Other");
    env.call(
        "POST",
        "/manage/projects",
        Some(&other),
        Some(&json!({"name": "Theirs"})),
    );
    assert_eq!(env.get("/manage/projects").data(), &json!([]));
    for name in ["Alpha", "Beta", "Gamma", "Delta"] {
        env.project(name);
        env.clock.advance_ms(10);
    }
    assert_eq!(
        ids(env.get("/manage/projects").data()),
        ["delta", "gamma", "beta", "alpha"]
    );
    let list = env.get("/manage/projects").data().clone();
    assert_eq!(list[0]["createdAt"], at(30));
    assert_eq!(list[3]["createdAt"], at(0));
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p.get("client").is_none()));

    env.delete("/manage/projects/beta").data_success();
    assert_eq!(
        ids(env.get("/manage/projects").data()),
        ["delta", "gamma", "alpha"]
    );
    // Same createdAt: the later insert is first.
    env.project("Epsilon");
    env.project("Zeta");
    assert_eq!(
        ids(env.get("/manage/projects").data())[..2],
        ["zeta", "epsilon"]
    );
    // The other organization sees only its own.
    let theirs = env.call("GET", "/manage/projects", Some(&other), None);
    assert_eq!(ids(theirs.data()), ["theirs"]);
}

trait SuccessExt {
    fn data_success(&self);
}

impl SuccessExt for common::Res {
    fn data_success(&self) {
        assert_eq!(
            (self.status, &self.body),
            (200, &json!({"success": true})),
            "expected a delete success"
        );
    }
}

#[test]
fn patch_project_updates_fields_and_updated_at_but_never_the_id() {
    let env = Env::new();
    env.post(
        "/manage/projects",
        json!({"name": "My Project", "domain": "https://example.com", "cors": ["https://example.com"], "types": ["website"]}),
    );
    env.clock.advance_ms(60_000);
    // The seed's PATCH, verbatim.
    let r = env.patch(
        "/manage/projects/my-project",
        json!({"name": "Updated Project Name", "crossDomain": true, "allowUnsafeRevenueTracking": false}),
    );
    assert_eq!(
        r.data(),
        &json!({
            "id": "my-project",
            "name": "Updated Project Name",
            "organizationId": env.org,
            "domain": "https://example.com",
            "cors": ["https://example.com"],
            "crossDomain": true,
            "allowUnsafeRevenueTracking": false,
            "filters": [],
            "types": ["website"],
            "eventsCount": 0,
            "createdAt": T0_TEXT,
            "updatedAt": at(60_000),
            "deleteAt": null
        })
    );
    env.clock.advance_ms(1);
    let r = env.patch(
        "/manage/projects/my-project",
        json!({"domain": "", "cors": ["HTTP://LOCALHOST:3000/"], "allowUnsafeRevenueTracking": true}),
    );
    let d = r.data();
    assert_eq!(d["domain"], Value::Null);
    // Stored as sent, trailing slashes removed.
    assert_eq!(d["cors"], json!(["HTTP://LOCALHOST:3000"]));
    assert_eq!(d["allowUnsafeRevenueTracking"], true);
    assert_eq!(d["name"], "Updated Project Name", "absent fields are kept");
    assert_eq!(d["updatedAt"], at(60_001));
    env.clock.advance_ms(1);
    let d = env
        .patch("/manage/projects/my-project", json!({"domain": null}))
        .data()
        .clone();
    assert_eq!(
        (&d["domain"], &d["updatedAt"]),
        (&Value::Null, &json!(at(60_002)))
    );
    // An empty PATCH is still a mutation.
    env.clock.advance_ms(1);
    let d = env
        .patch("/manage/projects/my-project", json!({}))
        .data()
        .clone();
    assert_eq!(d["updatedAt"], at(60_003));
    assert_eq!(env.get("/manage/projects/my-project").data(), &d);
    // The old name's slug does not follow the rename.
    env.get("/manage/projects/updated-project-name")
        .assert_error(404, "Not Found", "Project not found");
}

#[test]
fn delete_schedules_deletion_and_repeating_keeps_the_first_delete_at() {
    let env = Env::new();
    env.project("Doomed");
    env.clock.advance_ms(5_000);
    env.delete("/manage/projects/doomed").data_success();
    let p = env.get("/manage/projects/doomed");
    assert_eq!(p.data()["deleteAt"], at(5_000 + DAY_MS));
    assert_eq!(p.data()["updatedAt"], at(5_000), "DELETE is a mutation");
    env.clock.advance_ms(3_600_000);
    env.delete("/manage/projects/doomed").data_success();
    let p = env.get("/manage/projects/doomed");
    assert_eq!(
        p.data()["deleteAt"],
        at(5_000 + DAY_MS),
        "the first schedule stands"
    );
    // Still readable (with deleteAt) until then, and absent from the list.
    assert_eq!(env.get("/manage/projects").data(), &json!([]));
    env.clock.set(Timestamp(T0 + 5_000 + DAY_MS - 1));
    assert_eq!(env.get("/manage/projects/doomed").status, 200);
    env.clock.advance_ms(1);
    env.get("/manage/projects/doomed")
        .assert_error(404, "Not Found", "Project not found");
    env.delete("/manage/projects/doomed")
        .assert_error(404, "Not Found", "Project not found");
    env.patch("/manage/projects/doomed", json!({"name": "Saved?"}))
        .assert_error(404, "Not Found", "Project not found");
}

#[test]
fn the_deletion_grace_is_configurable() {
    let env = Env::with(|o| {
        o.deletion_grace_seconds = 60;
        o.rate_limits.manage = opcore::RateLimit::new(1000, 10);
    });
    env.project("Quick");
    env.delete("/manage/projects/quick").data_success();
    assert_eq!(
        env.get("/manage/projects/quick").data()["deleteAt"],
        at(60_000)
    );
}

#[test]
fn patch_cancels_a_scheduled_deletion() {
    let env = Env::new();
    let p = env.project("Saved");
    let first = Creds {
        id: p["client"]["id"].as_str().unwrap().into(),
        secret: p["client"]["secret"].as_str().unwrap().into(),
    };
    env.delete("/manage/projects/saved").data_success();
    env.clock.advance_ms(DAY_MS - 1000);
    let r = env.patch("/manage/projects/saved", json!({}));
    assert_eq!(r.data()["deleteAt"], Value::Null);
    assert_eq!(r.data()["updatedAt"], at(DAY_MS - 1000));
    assert_eq!(ids(env.get("/manage/projects").data()), ["saved"]);
    // Past the old deleteAt, the project and its client are alive.
    env.clock.advance_ms(2 * DAY_MS);
    assert_eq!(env.get("/manage/projects/saved").status, 200);
    env.call("GET", "/manage/projects", Some(&first), None)
        .assert_error(401, "Unauthorized", MANAGE_DENIED);
    // A new DELETE schedules from its own time.
    env.delete("/manage/projects/saved").data_success();
    assert_eq!(
        env.get("/manage/projects/saved").data()["deleteAt"],
        at(DAY_MS - 1000 + 2 * DAY_MS + DAY_MS)
    );
    // A failed PATCH does not cancel it.
    env.patch("/manage/projects/saved", json!({"name": ""}))
        .assert_invalid(&[json!(["name"])]);
    assert!(env.get("/manage/projects/saved").data()["deleteAt"].is_string());
}

#[test]
fn past_delete_at_the_project_its_clients_and_references_are_gone() {
    let env = Env::new();
    let p = env.project("Gone");
    let kept_first = env.project("Kept")["client"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let first = Creds {
        id: p["client"]["id"].as_str().unwrap().into(),
        secret: p["client"]["secret"].as_str().unwrap().into(),
    };
    let project_root = env.client("Project root", "root", Some("gone"));
    let reader = env.client("Reader", "read", Some("gone"));
    let kept_client = env.client("Kept reader", "read", Some("kept"));
    let reference = env.reference("gone", "Launch");
    let kept_reference = env.reference("kept", "Kept launch");
    // Authenticated once, so the credential cache holds them.
    env.call("GET", "/manage/projects", Some(&project_root), None)
        .data();
    env.call("GET", "/manage/projects", Some(&first), None)
        .assert_error(401, "Unauthorized", MANAGE_DENIED);

    env.delete("/manage/projects/gone").data_success();
    // While scheduled, everything still works.
    env.call("GET", "/manage/projects", Some(&project_root), None)
        .data();
    let rid = reference["id"].as_str().unwrap();
    assert_eq!(env.get(&format!("/manage/references/{rid}")).status, 200);

    env.clock.advance_ms(DAY_MS);
    env.get("/manage/projects/gone")
        .assert_error(404, "Not Found", "Project not found");
    assert_eq!(ids(env.get("/manage/projects").data()), ["kept"]);
    // Its clients: not readable, not listed, and their credentials are rejected (even cached).
    for c in [&first, &project_root, &reader] {
        env.get(&format!("/manage/clients/{}", c.id)).assert_error(
            404,
            "Not Found",
            "Client not found",
        );
        env.call("GET", "/manage/projects", Some(c), None)
            .assert_error(401, "Unauthorized", INVALID_CREDENTIALS);
    }
    let listed = env.get("/manage/clients").data().clone();
    // All three were created in the same millisecond: such rows are listed by id, descending
    // (docs/behaviour.md#lists).
    let mut expected = [
        kept_client.id.as_str(),
        kept_first.as_str(),
        env.root.id.as_str(),
    ];
    expected.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(ids(&listed), expected);
    env.get("/manage/clients?projectId=gone")
        .assert_error(404, "Not Found", "Project not found");
    env.patch(
        &format!("/manage/clients/{}", reader.id),
        json!({"name": "x"}),
    )
    .assert_error(404, "Not Found", "Client not found");
    env.delete(&format!("/manage/clients/{}", reader.id))
        .assert_error(404, "Not Found", "Client not found");
    // Its references likewise.
    env.get(&format!("/manage/references/{rid}")).assert_error(
        404,
        "Not Found",
        "Reference not found",
    );
    env.get("/manage/references?projectId=gone").assert_error(
        404,
        "Not Found",
        "Project not found",
    );
    assert_eq!(
        ids(env.get("/manage/references").data()),
        [kept_reference["id"].as_str().unwrap()]
    );
    // And nothing new can be attached to it.
    env.post(
        "/manage/clients",
        json!({"name": "Late", "projectId": "gone"}),
    )
    .assert_invalid(&[json!(["projectId"])]);
    env.post(
        "/manage/references",
        json!({"title": "Late", "projectId": "gone"}),
    )
    .assert_invalid(&[json!(["projectId"])]);
    // The kept project's client still works.
    env.call("GET", "/manage/projects", Some(&kept_client), None)
        .assert_error(401, "Unauthorized", MANAGE_DENIED);
}

fn count(env: &Env, sql: &str, arg: &str) -> i64 {
    let conn = rusqlite::Connection::open(env.db_path()).unwrap();
    conn.query_row(sql, [arg], |r| r.get(0)).unwrap()
}

#[test]
fn purge_removes_the_project_its_clients_and_references_and_ids_are_never_reissued() {
    let env = Env::new();
    let p = env.project("My Project");
    let first_id = p["client"]["id"].as_str().unwrap().to_owned();
    env.client("Reader", "read", Some("my-project"));
    env.reference("my-project", "One");
    env.reference("my-project", "Two");
    env.project("Other");
    env.delete("/manage/projects/my-project").data_success();
    // Added while scheduled: they go with the project.
    env.client("Late reader", "read", Some("my-project"));
    env.reference("my-project", "Late");
    assert_eq!(env.store.purge().unwrap(), 0, "not yet due");
    env.clock.advance_ms(DAY_MS);
    assert_eq!(env.store.purge().unwrap(), 1);
    assert_eq!(env.store.purge().unwrap(), 0);
    let by_project = |table: &str| {
        count(
            &env,
            &format!("SELECT count(*) FROM {table} WHERE project_id = ?1"),
            "my-project",
        )
    };
    assert_eq!(
        count(
            &env,
            "SELECT count(*) FROM projects WHERE id = ?1",
            "my-project"
        ),
        0
    );
    assert_eq!(by_project("clients"), 0);
    assert_eq!(by_project("project_references"), 0);
    // The default client's row is gone (what authentication reads for a client id).
    assert_eq!(
        count(
            &env,
            "SELECT count(*) FROM clients WHERE id = ?1",
            &first_id
        ),
        0
    );
    assert_eq!(
        count(&env, "SELECT count(*) FROM projects WHERE id = ?1", "other"),
        1
    );

    // The id is never issued again, by this or any organization.
    assert_eq!(env.project("My Project")["id"], "my-project-1");
    let (_, other) = env.other_org("Other Org");
    let theirs = env.call(
        "POST",
        "/manage/projects",
        Some(&other),
        Some(&json!({"name": "My Project"})),
    );
    assert_eq!(theirs.data()["id"], "my-project-2");
    env.get("/manage/projects/my-project")
        .assert_error(404, "Not Found", "Project not found");
}

#[test]
fn opening_the_store_purges_due_projects() {
    let env = Env::new();
    env.project("Old");
    env.reference("old", "Ref");
    env.delete("/manage/projects/old").data_success();
    env.clock.advance_ms(DAY_MS + 1);
    let reopened =
        opcore::Store::open(env.db_path(), common::test_options(&env.clock)).expect("reopen");
    drop(reopened);
    assert_eq!(
        count(&env, "SELECT count(*) FROM projects WHERE id = ?1", "old"),
        0
    );
    assert_eq!(
        count(
            &env,
            "SELECT count(*) FROM project_references WHERE project_id = ?1",
            "old"
        ),
        0
    );
}

// ---------------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------------

#[test]
fn create_client_returns_its_secret_once() {
    let env = Env::new();
    env.project("My Project");
    env.clock.advance_ms(30 * 60_000);
    // The seed's request, verbatim.
    let r = env.post(
        "/manage/clients",
        json!({"name": "My API Client", "projectId": "my-project", "type": "read"}),
    );
    let d = r.data().clone();
    let id = d["id"].as_str().unwrap().to_owned();
    let secret = d["secret"].as_str().unwrap().to_owned();
    assert!(is_uuid_v4(&id));
    assert!(is_secret(&secret), "{secret}");
    let mut read = d.clone();
    read.as_object_mut().unwrap().remove("secret");
    assert_eq!(
        read,
        json!({
            "id": id,
            "name": "My API Client",
            "type": "read",
            "projectId": "my-project",
            "organizationId": env.org,
            "ignoreCorsAndSecret": false,
            "redirectUris": [],
            "tier": null,
            "expiresAt": null,
            "lastUsedAt": null,
            "createdAt": at(30 * 60_000),
            "updatedAt": at(30 * 60_000)
        })
    );
    // Reads never carry it (the harness also checks no response ever repeats it).
    assert_eq!(env.get(&format!("/manage/clients/{id}")).data(), &read);
    assert!(env
        .get("/manage/clients")
        .data()
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c.get("secret").is_none()));
    // It authenticates.
    let creds = Creds { id, secret };
    env.call("GET", "/manage/clients", Some(&creds), None)
        .assert_error(401, "Unauthorized", MANAGE_DENIED);

    // Defaults: type write, organization-level.
    let d = env
        .post("/manage/clients", json!({"name": "Plain"}))
        .data()
        .clone();
    assert_eq!(
        (&d["type"], &d["projectId"]),
        (&json!("write"), &Value::Null)
    );
    // `projectId: ""` and `null` are organization-level too.
    for project in [json!(""), Value::Null] {
        let d = env
            .post(
                "/manage/clients",
                json!({"name": "Org", "projectId": project, "type": "root"}),
            )
            .data()
            .clone();
        assert_eq!(
            (&d["type"], &d["projectId"]),
            (&json!("root"), &Value::Null)
        );
    }
    // Secrets are all different.
    let a = env.client("A", "write", None);
    let b = env.client("B", "write", None);
    assert_ne!(a.secret, b.secret);
}

#[test]
fn client_project_must_be_a_project_of_the_organization_not_past_its_delete_at() {
    let env = Env::new();
    let (_, other) = env.other_org("Other");
    env.call(
        "POST",
        "/manage/projects",
        Some(&other),
        Some(&json!({"name": "Foreign"})),
    );
    env.project("Scheduled");
    env.delete("/manage/projects/scheduled").data_success();
    for project in ["foreign", "missing", "FOREIGN", " foreign", "Scheduled"] {
        let r = env.post(
            "/manage/clients",
            json!({"name": "X", "projectId": project}),
        );
        r.assert_invalid(&[json!(["projectId"])]);
        assert_eq!(
            r.detail(&json!(["projectId"])),
            "Project not found in this organization (or past its deletion time)"
        );
    }
    // Nothing was created.
    assert_eq!(ids(env.get("/manage/clients").data()).len(), 2); // root + First client

    // A project only scheduled for deletion still takes new clients.
    let r = env.post(
        "/manage/clients",
        json!({"name": "After delete", "projectId": "scheduled"}),
    );
    assert_eq!(r.data()["projectId"], "scheduled");
    assert_eq!(ids(env.get("/manage/clients").data()).len(), 3);
}

#[test]
fn client_validation_names_every_offending_field() {
    let env = Env::new();
    let r = env.post("/manage/clients", json!({"type": "admin", "projectId": 7}));
    r.assert_invalid(&[json!(["name"]), json!(["projectId"]), json!(["type"])]);
    assert_eq!(r.detail(&json!(["name"])), "Required");
    assert_eq!(
        r.detail(&json!(["projectId"])),
        "Expected string, received number"
    );
    assert_eq!(
        r.detail(&json!(["type"])),
        "Invalid enum value. Expected 'read' | 'write' | 'root', received 'admin'"
    );
    let r = env.post("/manage/clients", json!({"name": "", "type": "ROOT"}));
    r.assert_invalid(&[json!(["type"]), json!(["name"])]);
    env.post("/manage/clients", json!({"name": "  "}))
        .assert_invalid(&[json!(["name"])]);
    // An invalid name and a foreign project: both named.
    let r = env.post("/manage/clients", json!({"name": "", "projectId": "nope"}));
    r.assert_invalid(&[json!(["name"]), json!(["projectId"])]);
}

#[test]
fn client_list_is_newest_first_and_filters_by_project() {
    let env = Env::new();
    // Same-millisecond rows are ordered by id (docs/behaviour.md#lists): keep every
    // createdAt distinct so the expected order is the creation order.
    env.clock.advance_ms(1);
    let a = env.project("A")["client"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    env.clock.advance_ms(1);
    let b = env.project("B")["client"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    env.clock.advance_ms(1);
    let reader = env.client("Reader", "read", Some("a"));
    env.clock.advance_ms(1);
    let org_level = env.client("Org", "write", None);
    let (_, other) = env.other_org("Other");
    env.call(
        "POST",
        "/manage/projects",
        Some(&other),
        Some(&json!({"name": "Z"})),
    );

    let all = env.get("/manage/clients").data().clone();
    assert_eq!(
        ids(&all),
        [
            org_level.id.as_str(),
            reader.id.as_str(),
            b.as_str(),
            a.as_str(),
            env.root.id.as_str()
        ]
    );
    assert_eq!(all[0]["createdAt"], at(4));
    assert_eq!(
        ids(env.get("/manage/clients?projectId=a").data()),
        [reader.id.as_str(), a.as_str()]
    );
    assert_eq!(
        ids(env.get("/manage/clients?projectId=b").data()),
        [b.as_str()]
    );
    // An empty filter is no filter; other parameters are ignored.
    assert_eq!(ids(env.get("/manage/clients?projectId=").data()).len(), 5);
    assert_eq!(ids(env.get("/manage/clients?foo=bar").data()).len(), 5);
    // The filter is percent-decoded.
    env.project("Spaced Out");
    assert_eq!(
        ids(env.get("/manage/clients?projectId=spaced%2Dout").data()).len(),
        1
    );
    // A project of another organization, or none at all: 404.
    for target in [
        "/manage/clients?projectId=z",
        "/manage/clients?projectId=nope",
    ] {
        env.get(target)
            .assert_error(404, "Not Found", "Project not found");
    }
}

#[test]
fn patch_client_renames_and_accepts_unchanged_type_and_project() {
    let env = Env::new();
    env.project("My Project");
    let reader = env.client("Reader", "read", Some("my-project"));
    let org_level = env.client("Org", "root", None);
    let url = format!("/manage/clients/{}", reader.id);
    env.clock.advance_ms(30 * 60_000);
    // The seed's PATCH.
    let r = env.patch(&url, json!({"name": "Updated Client Name"}));
    let d = r.data();
    assert_eq!(d["name"], "Updated Client Name");
    assert_eq!(d["type"], "read");
    assert_eq!(d["createdAt"], T0_TEXT);
    assert_eq!(d["updatedAt"], at(30 * 60_000));
    // Real clients resend type and projectId: equal values are fine.
    env.clock.advance_ms(1);
    let r = env.patch(
        &url,
        json!({"name": "  Trimmed  ", "type": "read", "projectId": "my-project"}),
    );
    assert_eq!(r.data()["name"], "  Trimmed  ", "stored as sent");
    assert_eq!(r.data()["updatedAt"], at(30 * 60_000 + 1));
    let org_url = format!("/manage/clients/{}", org_level.id);
    for project in [json!(""), Value::Null] {
        let r = env.patch(&org_url, json!({"type": "root", "projectId": project}));
        assert_eq!(r.data()["projectId"], Value::Null);
    }
    // Different values: 400 naming the field and saying what to do.
    let r = env.patch(&url, json!({"type": "root"}));
    r.assert_invalid(&[json!(["type"])]);
    assert_eq!(
        r.detail(&json!(["type"])),
        "The client type cannot be changed; delete the client and create a new one"
    );
    let r = env.patch(&url, json!({"projectId": "other"}));
    r.assert_invalid(&[json!(["projectId"])]);
    assert_eq!(
        r.detail(&json!(["projectId"])),
        "The client's project cannot be changed; delete the client and create a new one"
    );
    env.patch(&url, json!({"type": "write", "projectId": null}))
        .assert_invalid(&[json!(["type"]), json!(["projectId"])]);
    env.patch(&org_url, json!({"projectId": "my-project"}))
        .assert_invalid(&[json!(["projectId"])]);
    // With an invalid name too: every field is named.
    env.patch(&url, json!({"name": "", "type": "write"}))
        .assert_invalid(&[json!(["name"]), json!(["type"])]);
    env.patch(&url, json!({"name": 1, "type": "nope"}))
        .assert_invalid(&[json!(["name"]), json!(["type"])]);
    // None of the failures changed anything.
    let d = env.get(&url).data().clone();
    assert_eq!(
        (&d["name"], &d["type"], &d["updatedAt"]),
        (
            &json!("  Trimmed  "),
            &json!("read"),
            &json!(at(30 * 60_000 + 1))
        )
    );
    // The secret is unchanged by a rename.
    env.call("GET", "/manage/projects", Some(&reader), None)
        .assert_error(401, "Unauthorized", MANAGE_DENIED);
}

#[test]
fn delete_client_ends_its_access_at_once() {
    let env = Env::new();
    let second_root = env.client("Second root", "root", None);
    env.call("GET", "/manage/projects", Some(&second_root), None)
        .data();
    let url = format!("/manage/clients/{}", second_root.id);
    // The seed's DELETE.
    env.delete(&url).data_success();
    env.call("GET", "/manage/projects", Some(&second_root), None)
        .assert_error(401, "Unauthorized", INVALID_CREDENTIALS);
    env.get(&url)
        .assert_error(404, "Not Found", "Client not found");
    env.delete(&url)
        .assert_error(404, "Not Found", "Client not found");
    assert_eq!(
        ids(env.get("/manage/clients").data()),
        [env.root.id.as_str()]
    );
}

#[test]
fn the_last_root_client_cannot_be_deleted() {
    let env = Env::new();
    let own = format!("/manage/clients/{}", env.root.id);
    let r = env.delete(&own);
    r.assert_error(
        400,
        "Bad Request",
        "Cannot delete the last root client of the organization",
    );
    assert!(r.body.get("details").is_none());
    assert_eq!(env.get(&own).status, 200);
    // With a second root, the first may go (even itself); then the second is the last.
    let second = env.client("Second", "root", None);
    env.delete(&own).data_success();
    env.get("/manage/projects")
        .assert_error(401, "Unauthorized", INVALID_CREDENTIALS);
    let r = env.call(
        "DELETE",
        &format!("/manage/clients/{}", second.id),
        Some(&second),
        None,
    );
    r.assert_error(
        400,
        "Bad Request",
        "Cannot delete the last root client of the organization",
    );
    // A project's root client goes with its project, so it does not count…
    let project = env
        .call(
            "POST",
            "/manage/projects",
            Some(&second),
            Some(&serde_json::json!({"name": "Rooted"})),
        )
        .data()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let bound = env.call(
        "POST",
        "/manage/clients",
        Some(&second),
        Some(&serde_json::json!({"name": "Bound root", "type": "root", "projectId": project})),
    );
    let bound = Creds {
        id: bound.data()["id"].as_str().unwrap().to_owned(),
        secret: bound.data()["secret"].as_str().unwrap().to_owned(),
    };
    env.call(
        "DELETE",
        &format!("/manage/clients/{}", second.id),
        Some(&bound),
        None,
    )
    .assert_error(
        400,
        "Bad Request",
        "Cannot delete the last root client of the organization",
    );
    // …and may itself be deleted freely.
    env.call(
        "DELETE",
        &format!("/manage/clients/{}", bound.id),
        Some(&second),
        None,
    )
    .data_success();
    // Other organizations' roots do not count.
    let (_, other) = env.other_org("Other");
    env.call(
        "DELETE",
        &format!("/manage/clients/{}", other.id),
        Some(&other),
        None,
    )
    .assert_error(
        400,
        "Bad Request",
        "Cannot delete the last root client of the organization",
    );
}

#[test]
fn client_ids_are_case_insensitive_uuids_and_anything_else_is_404() {
    let env = Env::new();
    let c = env.client("C", "read", None);
    let upper = c.id.to_ascii_uppercase();
    assert_eq!(
        env.get(&format!("/manage/clients/{upper}")).data()["id"],
        c.id.as_str()
    );
    for bad in [
        "not-a-uuid",
        "123",
        "00000000-0000-0000-0000-000000000000",
        &c.id[..35],
        format!("{}0", c.id).as_str(),
        c.id.replace('-', "").as_str(),
        format!("{{{}}}", c.id).as_str(),
        "%00",
        "..",
    ] {
        for method in ["GET", "PATCH", "DELETE"] {
            let r = env.call(
                method,
                &format!("/manage/clients/{bad}"),
                Some(&env.root),
                Some(&json!({})),
            );
            r.assert_error(404, "Not Found", "Client not found");
            let r = env.call(
                method,
                &format!("/manage/references/{bad}"),
                Some(&env.root),
                Some(&json!({})),
            );
            r.assert_error(404, "Not Found", "Reference not found");
        }
    }
    // Project ids are slugs: a missing one is a 404 on every item method.
    for method in ["GET", "PATCH", "DELETE"] {
        env.call(
            method,
            "/manage/projects/nope",
            Some(&env.root),
            Some(&json!({})),
        )
        .assert_error(404, "Not Found", "Project not found");
    }
}

// ---------------------------------------------------------------------------------------------
// References
// ---------------------------------------------------------------------------------------------

#[test]
fn reference_crud() {
    let env = Env::new();
    env.project("My Project");
    let r = env.post(
        "/manage/references",
        json!({"projectId": "my-project", "title": "  Launch  ", "description": "v1", "datetime": "2024-01-15T12:30:00+02:00"}),
    );
    let d = r.data().clone();
    let id = d["id"].as_str().unwrap().to_owned();
    assert!(is_uuid_v4(&id));
    assert_eq!(
        d,
        json!({
            "id": id,
            "projectId": "my-project",
            "title": "  Launch  ",
            "description": "v1",
            "date": "2024-01-15T10:30:00.000Z",
            "createdAt": T0_TEXT,
            "updatedAt": T0_TEXT
        })
    );
    let url = format!("/manage/references/{id}");
    assert_eq!(env.get(&url).data(), &d);
    // Defaults: date now, description null ("" too).
    env.clock.advance_ms(1_234);
    let d2 = env
        .post(
            "/manage/references",
            json!({"projectId": "my-project", "title": "Now", "description": ""}),
        )
        .data()
        .clone();
    assert_eq!(
        (&d2["date"], &d2["description"]),
        (&json!(at(1_234)), &Value::Null)
    );
    let d3 = env
        .post(
            "/manage/references",
            json!({"projectId": "my-project", "title": "Null", "description": null}),
        )
        .data()
        .clone();
    assert_eq!(d3["description"], Value::Null);

    env.clock.advance_ms(1);
    let p = env
        .patch(
            &url,
            json!({"title": "Launch day", "datetime": "2024-02-01"}),
        )
        .data()
        .clone();
    assert_eq!(p["title"], "Launch day");
    assert_eq!(p["date"], "2024-02-01T00:00:00.000Z");
    assert_eq!(p["description"], "v1", "absent fields are kept");
    assert_eq!(p["updatedAt"], at(1_235));
    assert_eq!(p["createdAt"], T0_TEXT);
    env.clock.advance_ms(1);
    let p = env.patch(&url, json!({"description": null})).data().clone();
    assert_eq!(
        (&p["description"], &p["updatedAt"]),
        (&Value::Null, &json!(at(1_236)))
    );
    env.clock.advance_ms(1);
    let p = env
        .patch(&url, json!({"description": "back"}))
        .data()
        .clone();
    assert_eq!(p["description"], "back");
    let p = env.patch(&url, json!({"description": ""})).data().clone();
    assert_eq!(p["description"], Value::Null);
    env.clock.advance_ms(1);
    assert_eq!(env.patch(&url, json!({})).data()["updatedAt"], at(1_238));

    env.delete(&url).data_success();
    env.get(&url)
        .assert_error(404, "Not Found", "Reference not found");
    env.delete(&url)
        .assert_error(404, "Not Found", "Reference not found");
    env.patch(&url, json!({"title": "x"}))
        .assert_error(404, "Not Found", "Reference not found");
}

#[test]
fn reference_list_is_newest_first_and_scoped() {
    let env = Env::new();
    env.project("A");
    env.project("B");
    let (_, other) = env.other_org("Other");
    env.call(
        "POST",
        "/manage/projects",
        Some(&other),
        Some(&json!({"name": "Z"})),
    );
    env.call(
        "POST",
        "/manage/references",
        Some(&other),
        Some(&json!({"projectId": "z", "title": "Theirs"})),
    )
    .data();
    assert_eq!(env.get("/manage/references").data(), &json!([]));
    let r1 = env.reference("a", "One")["id"].as_str().unwrap().to_owned();
    env.clock.advance_ms(1);
    let r2 = env.reference("b", "Two")["id"].as_str().unwrap().to_owned();
    env.clock.advance_ms(1);
    let r3 = env.reference("a", "Three")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The date is not the order: createdAt is.
    env.patch(
        &format!("/manage/references/{r1}"),
        json!({"datetime": "2099-01-01"}),
    )
    .data();
    assert_eq!(ids(env.get("/manage/references").data()), [&r3, &r2, &r1]);
    assert_eq!(
        ids(env.get("/manage/references?projectId=a").data()),
        [&r3, &r1]
    );
    assert_eq!(
        ids(env.get("/manage/references?projectId=").data()).len(),
        3
    );
    for target in [
        "/manage/references?projectId=z",
        "/manage/references?projectId=nope",
    ] {
        env.get(target)
            .assert_error(404, "Not Found", "Project not found");
    }
    // A scheduled project's references are still listed until its deleteAt.
    env.delete("/manage/projects/b").data_success();
    assert_eq!(ids(env.get("/manage/references?projectId=b").data()), [&r2]);
}

#[test]
fn reference_project_must_be_a_project_of_the_organization_not_past_its_delete_at() {
    let env = Env::new();
    let (_, other) = env.other_org("Other");
    env.call(
        "POST",
        "/manage/projects",
        Some(&other),
        Some(&json!({"name": "Z"})),
    );
    env.project("Scheduled");
    env.delete("/manage/projects/scheduled").data_success();
    for project in ["z", "missing", "Scheduled", ""] {
        let r = env.post(
            "/manage/references",
            json!({"projectId": project, "title": "T"}),
        );
        r.assert_invalid(&[json!(["projectId"])]);
    }
    assert_eq!(env.get("/manage/references").data(), &json!([]));

    // A project only scheduled for deletion still takes new references.
    let r = env.post(
        "/manage/references",
        json!({"projectId": "scheduled", "title": "After delete"}),
    );
    assert_eq!(r.data()["projectId"], "scheduled");
    assert_eq!(ids(env.get("/manage/references").data()).len(), 1);
}

#[test]
fn reference_validation_names_every_offending_field() {
    let env = Env::new();
    env.project("P");
    let r = env.post("/manage/references", json!({}));
    r.assert_invalid(&[json!(["projectId"]), json!(["title"])]);
    assert_eq!(r.detail(&json!(["title"])), "Required");
    let r = env.post(
        "/manage/references",
        json!({"projectId": "p", "title": " ", "datetime": "yesterday", "description": 3}),
    );
    r.assert_invalid(&[
        json!(["description"]),
        json!(["title"]),
        json!(["datetime"]),
    ]);
    assert_eq!(
        r.detail(&json!(["description"])),
        "Expected string, received number"
    );
    assert_eq!(
        r.detail(&json!(["datetime"])),
        "Invalid datetime: expected an ISO 8601 date-time (a zone or offset, or none for UTC), \
         a date YYYY-MM-DD, or an RFC 2822 date"
    );
    // Invalid title with a foreign project: both named.
    env.post(
        "/manage/references",
        json!({"projectId": "nope", "title": ""}),
    )
    .assert_invalid(&[json!(["title"]), json!(["projectId"])]);
    let id = env.reference("p", "R")["id"].as_str().unwrap().to_owned();
    env.patch(
        &format!("/manage/references/{id}"),
        json!({"title": "", "datetime": 5}),
    )
    .assert_invalid(&[json!(["datetime"]), json!(["title"])]);
}

/// SPEC §3's datetime vectors, through the API: each valid input is stored and returned as the
/// expected `date` (on create and on update), each invalid one is a 400 on `datetime`.
#[test]
fn datetime_vectors_through_the_api() {
    let env = Env::new();
    env.project("P");
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/datetime.json");
    let vectors: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let valid = vectors["valid"].as_array().unwrap();
    let invalid = vectors["invalid"].as_array().unwrap();
    assert!(!valid.is_empty() && !invalid.is_empty());
    let id = env.reference("p", "Target")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = format!("/manage/references/{id}");
    for case in valid {
        let (input, expected) = (&case[0], &case[1]);
        let r = env.post(
            "/manage/references",
            json!({"projectId": "p", "title": "T", "datetime": input}),
        );
        assert_eq!(r.data()["date"], *expected, "create with {input}");
        let r = env.patch(&url, json!({"datetime": input}));
        assert_eq!(r.data()["date"], *expected, "update with {input}");
        assert_eq!(env.get(&url).data()["date"], *expected);
    }
    for input in invalid {
        let r = env.post(
            "/manage/references",
            json!({"projectId": "p", "title": "T", "datetime": input}),
        );
        r.assert_invalid(&[json!(["datetime"])]);
        env.patch(&url, json!({"datetime": input}))
            .assert_invalid(&[json!(["datetime"])]);
    }
    // Not a string at all, and absurdly long text: 400s, never 500s.
    for input in [json!(20240115), json!(null), json!("9".repeat(10_000))] {
        env.post(
            "/manage/references",
            json!({"projectId": "p", "title": "T", "datetime": input}),
        )
        .assert_invalid(&[json!(["datetime"])]);
    }
}

// ---------------------------------------------------------------------------------------------
// Errors, limits and transport details
// ---------------------------------------------------------------------------------------------

#[test]
fn unauthorized_bodies() {
    let env = Env::new();
    let reader = env.client("Reader", "read", None);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![], INVALID_CREDENTIALS),
        (
            vec![("openpanel-client-secret", env.root.secret.as_str())],
            INVALID_CREDENTIALS,
        ),
        (vec![("openpanel-client-id", "")], INVALID_CREDENTIALS),
        (
            vec![("openpanel-client-id", env.root.id.as_str())],
            INVALID_CREDENTIALS,
        ),
        (
            vec![
                ("openpanel-client-id", env.root.id.as_str()),
                ("openpanel-client-secret", ""),
            ],
            INVALID_CREDENTIALS,
        ),
        (
            vec![
                ("openpanel-client-id", "not-a-uuid"),
                ("openpanel-client-secret", env.root.secret.as_str()),
            ],
            MALFORMED_ID,
        ),
        (vec![("openpanel-client-id", "12345")], MALFORMED_ID),
        (
            vec![
                (
                    "openpanel-client-id",
                    "fa0c2780-55f2-4d9e-bea0-da2e02c7b1a9",
                ),
                ("openpanel-client-secret", env.root.secret.as_str()),
            ],
            INVALID_CREDENTIALS,
        ),
        (
            vec![
                ("openpanel-client-id", env.root.id.as_str()),
                ("openpanel-client-secret", reader.secret.as_str()),
            ],
            INVALID_CREDENTIALS,
        ),
        (
            vec![
                ("openpanel-client-id", env.root.id.as_str()),
                ("openpanel-client-secret", "sec_b2521ca283bf903b46b3"),
            ],
            INVALID_CREDENTIALS,
        ),
        (
            vec![
                ("openpanel-client-id", env.root.id.as_str()),
                ("openpanel-client-secret", "not even a secret"),
            ],
            INVALID_CREDENTIALS,
        ),
        (
            vec![
                ("openpanel-client-id", reader.id.as_str()),
                ("openpanel-client-secret", reader.secret.as_str()),
            ],
            MANAGE_DENIED,
        ),
        // Another Authorization scheme is not a Manage credential.
        (vec![("authorization", "Basic sec_x")], INVALID_CREDENTIALS),
    ];
    for (headers, message) in &cases {
        let r = env.raw("GET", "/manage/projects", headers, b"");
        r.assert_error(401, "Unauthorized", message);
        assert_eq!(r.rate(), None, "401s carry no rate-limit headers");
    }
    // A Bearer header is checked as an OAuth access token (tests/oauth.rs), with the seed's
    // bodies; a client secret is not one.
    let r = env.raw(
        "GET",
        "/manage/projects",
        &[("authorization", "Bearer sec_x")],
        b"",
    );
    r.assert_error(401, "invalid_api_key", "The API key provided is invalid.");
    assert_eq!(r.rate(), None, "401s carry no rate-limit headers");
    // Header names are case-insensitive.
    let r = env.raw(
        "GET",
        "/manage/projects",
        &[
            ("OpenPanel-Client-Id", env.root.id.as_str()),
            ("OPENPANEL-CLIENT-SECRET", env.root.secret.as_str()),
        ],
        b"",
    );
    assert_eq!(r.status, 200);
    // Credentials are checked before the body is even looked at.
    let r = env.raw(
        "POST",
        "/manage/projects",
        &[],
        &vec![b' '; MAX_BODY_BYTES + 1],
    );
    r.assert_error(401, "Unauthorized", INVALID_CREDENTIALS);
}

#[test]
fn route_not_found_and_method_not_allowed() {
    let env = Env::new();
    for target in [
        "/manage/nothing",
        "/manage/projects/a/b",
        "/",
        "/api/manage/",
        "/manage/clients/x/y/",
    ] {
        for creds in [None, Some(&env.root)] {
            let r = env.call("GET", target, creds, None);
            r.assert_error(404, "Not Found", "Route not found");
            assert_eq!(r.rate(), None);
        }
    }
    let cases = [
        ("PUT", "/manage/projects", "GET, HEAD, POST"),
        ("DELETE", "/manage/clients", "GET, HEAD, POST"),
        ("PATCH", "/api/manage/references", "GET, HEAD, POST"),
        ("POST", "/manage/projects/p", "GET, HEAD, PATCH, DELETE"),
        ("PUT", "/manage/clients/x", "GET, HEAD, PATCH, DELETE"),
        (
            "OPTIONS",
            "/manage/references/x",
            "GET, HEAD, PATCH, DELETE",
        ),
        ("get", "/manage/projects", "GET, HEAD, POST"),
        ("DELETE", "/manage/openapi.json", "GET, HEAD"),
    ];
    for (method, target, allow) in cases {
        let r = env.call(method, target, Some(&env.root), None);
        r.assert_error(
            405,
            "Method Not Allowed",
            &format!("Method {method} is not allowed on this route"),
        );
        assert_eq!(r.header("allow"), Some(allow));
    }
    // Methods are case-sensitive (RFC 9110): `get` above is a 405. HEAD is answered wherever
    // GET is, without a body; a long method name is cut in the message.
    let head = env.raw(
        "HEAD",
        "/manage/projects",
        &[
            ("openpanel-client-id", env.root.id.as_str()),
            ("openpanel-client-secret", env.root.secret.as_str()),
        ],
        b"",
    );
    assert_eq!(head.status, 200);
    let long = "X".repeat(100);
    let r = env.call(&long, "/manage/projects", None, None);
    assert_eq!(r.status, 405);
    assert_eq!(
        r.body["message"],
        format!("Method {} is not allowed on this route", "X".repeat(16))
    );
    // Trailing slash and the /api/manage alias route the same.
    assert_eq!(env.get("/manage/projects/").status, 200);
    assert_eq!(env.get("/api/manage/projects").status, 200);
}

#[test]
fn payload_too_large() {
    let env = Env::new();
    let mut big = br#"{"name":"Big"}"#.to_vec();
    big.resize(MAX_BODY_BYTES + 1, b' ');
    let headers = [
        ("openpanel-client-id", env.root.id.as_str()),
        ("openpanel-client-secret", env.root.secret.as_str()),
    ];
    for (method, target) in [
        ("POST", "/manage/projects"),
        ("PATCH", "/manage/projects/p"),
        ("POST", "/manage/clients"),
        ("GET", "/manage/clients"),
        ("DELETE", "/manage/references/x"),
    ] {
        let r = env.raw(method, target, &headers, &big);
        r.assert_error(
            413,
            "Payload Too Large",
            "Request body exceeds 1048576 bytes",
        );
        assert!(r.rate().is_some());
    }
    assert_eq!(env.get("/manage/projects").data(), &json!([]));
    // Exactly the limit is accepted.
    big.truncate(MAX_BODY_BYTES);
    let r = env.raw("POST", "/manage/projects", &headers, &big);
    assert_eq!(r.data()["id"], "big");
}

#[test]
fn rate_limit_20_per_10_seconds_with_headers() {
    let env = Env::with_default_limits();
    for i in 0..20u64 {
        let r = env.get("/manage/projects");
        assert_eq!(r.status, 200, "request {i}");
        let (limit, remaining, reset) = r.rate().expect("rate headers");
        assert_eq!((limit, remaining), (20, 19 - i));
        // Idle for a whole window after this request, the quota is full again.
        assert_eq!(reset, 10, "reset");
        assert_eq!(r.header("retry-after"), None);
    }
    let r = env.get("/manage/projects");
    r.assert_error(429, "Too Many Requests", "Rate limit exceeded");
    let (limit, remaining, reset) = r.rate().expect("rate headers on 429");
    assert_eq!((limit, remaining), (20, 0));
    assert!((10..=11).contains(&reset));
    let retry: i64 = r
        .header("retry-after")
        .expect("retry-after")
        .parse()
        .unwrap();
    assert!((10..=11).contains(&retry), "retry-after {retry}");
    // Every route is limited, and refusals do not reach the handler.
    let r = env.post("/manage/projects", json!({"name": "Blocked"}));
    assert_eq!(r.status, 429);
    // Another client has its own quota.
    let (_, other) = env.other_org("Other");
    assert_eq!(
        env.call("GET", "/manage/projects", Some(&other), None)
            .status,
        200
    );
    // After retry-after seconds, requests succeed again.
    env.clock.advance_secs(retry - 1);
    assert_eq!(env.get("/manage/projects").status, 429);
    env.clock.advance_secs(1);
    let r = env.get("/manage/projects");
    assert_eq!(r.data(), &json!([]), "nothing was created while limited");
    // x-ratelimit-reset seconds later the quota is full again.
    let (_, remaining, reset) = r.rate().unwrap();
    assert_eq!(remaining, 19);
    env.clock.advance_secs(reset as i64 - 1);
    let (_, remaining, reset) = env.get("/manage/projects").rate().unwrap();
    assert_eq!(remaining, 18, "the request one second earlier still counts");
    // Idle for `reset` seconds after the last request: the whole quota is back.
    env.clock.advance_secs(reset as i64);
    let r = env.get("/manage/projects");
    assert_eq!(r.rate().map(|(l, rem, _)| (l, rem)), Some((20, 19)));
}

#[test]
fn failed_attempts_are_throttled_without_rate_headers() {
    let env = Env::new();
    let wrong = Creds {
        id: env.root.id.clone(),
        secret: "sec_ffffffffffffffffffffffffffffffff".into(),
    };
    for _ in 0..10 {
        env.call("GET", "/manage/projects", Some(&wrong), None)
            .assert_error(401, "Unauthorized", INVALID_CREDENTIALS);
    }
    let r = env.call("GET", "/manage/projects", Some(&wrong), None);
    r.assert_error(429, "Too Many Requests", "Rate limit exceeded");
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(r.rate(), None);
    // Wrong secrets stay refused until the window passes...
    env.clock.advance_secs(retry as i64 - 1);
    env.call("GET", "/manage/projects", Some(&wrong), None)
        .assert_error(429, "Too Many Requests", "Rate limit exceeded");
    // ...but the throttle never refuses the right secret (docs/security.md).
    assert_eq!(env.get("/manage/projects").status, 200);
}

#[test]
fn every_authenticated_response_carries_rate_limit_headers() {
    let env = Env::with(|o| o.rate_limits.manage = opcore::RateLimit::new(1000, 10));
    env.project("P");
    let c = env.client("C", "read", Some("p"));
    let responses = [
        env.get("/manage/projects"),
        env.get("/manage/projects/p"),
        env.get("/manage/projects/nope"),
        env.post("/manage/projects", json!({})),
        env.patch("/manage/projects/p", json!({"name": "Q"})),
        env.get("/manage/clients"),
        env.get(&format!("/manage/clients/{}", c.id)),
        env.get("/manage/clients?projectId=nope"),
        env.delete(&format!("/manage/clients/{}", env.root.id)),
        env.get("/manage/references"),
        env.post(
            "/manage/references",
            json!({"projectId": "p", "title": "R"}),
        ),
        env.get("/manage/references/x"),
        env.delete("/manage/projects/p"),
    ];
    let mut last_remaining = u64::MAX;
    for r in &responses {
        let (limit, remaining, _) = r
            .rate()
            .unwrap_or_else(|| panic!("no rate headers: {}", r.body));
        assert_eq!(limit, 1000);
        assert!(remaining < last_remaining, "every request counts");
        last_remaining = remaining;
    }
}

#[test]
fn internal_errors_leak_nothing() {
    let env = Env::new();
    env.project("P");
    env.reference("p", "R");
    // Break the store behind its back.
    let conn = rusqlite::Connection::open(env.db_path()).unwrap();
    conn.execute_batch("DROP TABLE project_references").unwrap();
    drop(conn);
    for (method, target, body) in [
        ("GET", "/manage/references", None),
        (
            "POST",
            "/manage/references",
            Some(json!({"projectId": "p", "title": "T"})),
        ),
    ] {
        let r = env.call(method, target, Some(&env.root), body.as_ref());
        assert_eq!(r.status, 500);
        assert_eq!(
            r.body,
            json!({"error": "Internal Server Error", "message": "Internal server error"})
        );
        let text = String::from_utf8_lossy(&r.raw.body).to_string();
        assert!(!text.contains("project_references") && !text.contains("no such table"));
        // The host's log gets the cause.
        let internal = r
            .raw
            .internal_error
            .as_deref()
            .expect("internal detail for logs");
        assert!(internal.contains("project_references"), "{internal}");
        assert!(!internal.contains(&env.root.secret));
        assert!(r.rate().is_some(), "authenticated, so rate-limited");
    }
    // The rest of the API still works.
    assert_eq!(ids(env.get("/manage/projects").data()), ["p"]);
}

#[test]
fn the_api_manage_alias_serves_every_route() {
    let env = Env::new();
    let d = env
        .post("/api/manage/projects", json!({"name": "Alias"}))
        .data()
        .clone();
    assert_eq!(d["id"], "alias");
    assert_eq!(
        env.get("/api/manage/projects/alias").data()["name"],
        "Alias"
    );
    env.patch("/api/manage/projects/alias", json!({"name": "Renamed"}))
        .data();
    let c = env
        .post(
            "/api/manage/clients",
            json!({"name": "C", "projectId": "alias"}),
        )
        .data()
        .clone();
    let cid = c["id"].as_str().unwrap();
    assert_eq!(
        ids(env.get("/api/manage/clients?projectId=alias").data()).len(),
        2
    );
    env.patch(&format!("/api/manage/clients/{cid}"), json!({"name": "D"}))
        .data();
    env.delete(&format!("/api/manage/clients/{cid}"))
        .data_success();
    let r = env
        .post(
            "/api/manage/references",
            json!({"projectId": "alias", "title": "T"}),
        )
        .data()
        .clone();
    let rid = r["id"].as_str().unwrap();
    assert_eq!(
        env.get(&format!("/api/manage/references/{rid}")).data()["title"],
        "T"
    );
    env.patch(
        &format!("/api/manage/references/{rid}"),
        json!({"title": "U"}),
    )
    .data();
    assert_eq!(
        ids(env.get("/api/manage/references?projectId=alias").data()),
        [rid]
    );
    env.delete(&format!("/api/manage/references/{rid}"))
        .data_success();
    env.delete("/api/manage/projects/alias").data_success();
    // Both prefixes see the same data.
    assert_eq!(
        env.get("/manage/projects/alias").body,
        env.get("/api/manage/projects/alias").body
    );
}

// ---------------------------------------------------------------------------------------------
// Route by route: other organizations and non-root clients
// ---------------------------------------------------------------------------------------------

/// Organization A with one of everything, plus the ids a test needs.
struct World {
    env: Env,
    project: String,
    client: String,
    reference: String,
}

fn world() -> World {
    let env = Env::new();
    let p = env.project("Alpha Project");
    let client = env.client("Alpha reader", "read", Some("alpha-project")).id;
    let reference = env.reference("alpha-project", "Alpha launch")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(p["id"], "alpha-project");
    World {
        env,
        project: "alpha-project".into(),
        client,
        reference,
    }
}

/// Every Manage operation (method, path, body), on organization A's resources.
fn routes(w: &World) -> Vec<(&'static str, String, Option<Value>)> {
    let (p, c, r) = (&w.project, &w.client, &w.reference);
    vec![
        ("GET", "/projects".into(), None),
        (
            "POST",
            "/projects".into(),
            Some(json!({"name": "Intruder"})),
        ),
        ("GET", format!("/projects/{p}"), None),
        (
            "PATCH",
            format!("/projects/{p}"),
            Some(json!({"name": "Hijacked"})),
        ),
        ("DELETE", format!("/projects/{p}"), None),
        ("GET", "/clients".into(), None),
        (
            "POST",
            "/clients".into(),
            Some(json!({"name": "Intruder", "type": "root"})),
        ),
        ("GET", format!("/clients/{c}"), None),
        (
            "PATCH",
            format!("/clients/{c}"),
            Some(json!({"name": "Hijacked"})),
        ),
        ("DELETE", format!("/clients/{c}"), None),
        (
            "POST",
            format!("/clients/{c}/rotate"),
            Some(json!({"graceSeconds": 60})),
        ),
        ("GET", "/references".into(), None),
        (
            "POST",
            "/references".into(),
            Some(json!({"projectId": p, "title": "Intruder"})),
        ),
        ("GET", format!("/references/{r}"), None),
        (
            "PATCH",
            format!("/references/{r}"),
            Some(json!({"title": "Hijacked"})),
        ),
        ("DELETE", format!("/references/{r}"), None),
    ]
}

/// A's resources are exactly as `world()` made them.
fn assert_untouched(w: &World) {
    let env = &w.env;
    let p = env
        .get(&format!("/manage/projects/{}", w.project))
        .data()
        .clone();
    assert_eq!(
        (&p["name"], &p["deleteAt"]),
        (&json!("Alpha Project"), &Value::Null)
    );
    assert_eq!(
        ids(env.get("/manage/projects").data()),
        [w.project.as_str()]
    );
    let c = env
        .get(&format!("/manage/clients/{}", w.client))
        .data()
        .clone();
    assert_eq!(c["name"], "Alpha reader");
    assert!(ids(env.get("/manage/clients").data()).contains(&w.client.as_str()));
    let r = env
        .get(&format!("/manage/references/{}", w.reference))
        .data()
        .clone();
    assert_eq!(r["title"], "Alpha launch");
    assert_eq!(
        ids(env.get("/manage/references").data()),
        [w.reference.as_str()]
    );
}

#[test]
fn read_and_write_clients_get_the_manage_401_on_every_route() {
    let w = world();
    let env = &w.env;
    let first_client = {
        // A write client with a project (like a project's First client) and one without.
        let p = env.client("Writer", "write", Some("alpha-project"));
        vec![
            ("write (project)", p),
            (
                "write (organization)",
                env.client("Org writer", "write", None),
            ),
            (
                "read (project)",
                env.client("Reader 2", "read", Some("alpha-project")),
            ),
            (
                "read (organization)",
                env.client("Org reader", "read", None),
            ),
        ]
    };
    let before = env.get("/manage/clients").data().clone();
    for prefix in ["/manage", "/api/manage"] {
        for (kind, creds) in &first_client {
            for (method, path, body) in routes(&w) {
                let target = format!("{prefix}{path}");
                let r = env.call(method, &target, Some(creds), body.as_ref());
                assert_eq!(
                    (r.status, r.body["message"].as_str()),
                    (401, Some(MANAGE_DENIED)),
                    "{kind} client, {method} {target}: {}",
                    r.body
                );
                assert_eq!(r.body["error"], "Unauthorized");
                assert_eq!(r.rate(), None);
            }
        }
    }
    assert_eq!(env.get("/manage/clients").data(), &before);
    assert_untouched(&w);
}

#[test]
fn a_root_client_of_another_organization_gets_404_on_every_route() {
    let w = world();
    let env = &w.env;
    let (other_org, other) = env.other_org("Beta");
    let missing_uuid = "fa0c2780-55f2-4d9e-bea0-da2e02c7b1a9";
    for prefix in ["/manage", "/api/manage"] {
        for (method, path, body) in routes(&w) {
            let target = format!("{prefix}{path}");
            let r = env.call(method, &target, Some(&other), body.as_ref());
            let what = format!("{method} {target}: {}", r.body);
            let is_item = path.matches('/').count() == 2 || path.ends_with("/rotate");
            if is_item {
                let message = match path.split('/').nth(1) {
                    Some("projects") => "Project not found",
                    Some("clients") => "Client not found",
                    _ => "Reference not found",
                };
                r.assert_error(404, "Not Found", message);
                // Indistinguishable from a missing one.
                let missing = match path.split('/').nth(1) {
                    Some("projects") => format!("{prefix}/projects/no-such-project"),
                    Some(kind) if path.ends_with("/rotate") => {
                        format!("{prefix}/{kind}/{missing_uuid}/rotate")
                    }
                    Some(kind) => format!("{prefix}/{kind}/{missing_uuid}"),
                    None => unreachable!(),
                };
                let m = env.call(method, &missing, Some(&other), body.as_ref());
                assert_eq!((m.status, &m.body), (r.status, &r.body), "{what}");
                continue;
            }
            match (method, path.as_str()) {
                ("GET", _) => {
                    let listed = r.data();
                    let text = listed.to_string();
                    assert!(
                        !text.contains(&w.project)
                            && !text.contains(&w.client)
                            && !text.contains(&w.reference)
                            && !text.contains(&env.org),
                        "{what}"
                    );
                }
                ("POST", "/projects") => {
                    assert_eq!(r.data()["organizationId"], other_org.as_str(), "{what}");
                }
                ("POST", "/clients") => {
                    assert_eq!(r.data()["organizationId"], other_org.as_str(), "{what}");
                }
                ("POST", "/references") => {
                    r.assert_invalid(&[json!(["projectId"])]);
                }
                _ => unreachable!("{what}"),
            }
        }
        // Filters naming A's project are 404s; creating a client on it is a 400.
        env.call(
            "GET",
            &format!("{prefix}/clients?projectId={}", w.project),
            Some(&other),
            None,
        )
        .assert_error(404, "Not Found", "Project not found");
        env.call(
            "GET",
            &format!("{prefix}/references?projectId={}", w.project),
            Some(&other),
            None,
        )
        .assert_error(404, "Not Found", "Project not found");
        env.call(
            "POST",
            &format!("{prefix}/clients"),
            Some(&other),
            Some(&json!({"name": "Intruder", "projectId": w.project})),
        )
        .assert_invalid(&[json!(["projectId"])]);
    }
    assert_untouched(&w);
}

#[test]
fn secrets_issued_through_the_api_are_not_stored_in_plaintext() {
    let env = Env::new();
    let p = env.project("P");
    let mut secrets = vec![
        env.root.secret.clone(),
        p["client"]["secret"].as_str().unwrap().to_owned(),
    ];
    for kind in ["read", "write", "root"] {
        secrets.push(env.client(kind, kind, Some("p")).secret);
    }
    let mut bytes = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let mut path = env.db_path().into_os_string();
        path.push(suffix);
        bytes.extend(std::fs::read(&path).unwrap_or_default());
    }
    assert!(bytes.len() > 4096);
    for s in &secrets {
        assert!(is_secret(s));
        let hex = &s.as_bytes()[4..];
        assert!(
            !bytes.windows(hex.len()).any(|w| w == hex),
            "a secret is in the database file"
        );
    }
}

/// The other direction of drift: every response the document lists for every operation is one
/// the API really produces (each exchange also passes the checker, as everywhere).
#[test]
fn every_documented_response_is_produced() {
    use std::collections::BTreeSet;

    let ops =
        |project: &str, client: &str, reference: &str| -> Vec<(&'static str, String, Value)> {
            vec![
                ("GET", "/manage/projects".into(), json!({})),
                ("POST", "/manage/projects".into(), json!({"name": "Made"})),
                ("GET", format!("/manage/projects/{project}"), json!({})),
                (
                    "PATCH",
                    format!("/manage/projects/{project}"),
                    json!({"name": "Renamed"}),
                ),
                ("DELETE", format!("/manage/projects/{project}"), json!({})),
                ("GET", "/manage/clients".into(), json!({})),
                ("POST", "/manage/clients".into(), json!({"name": "Made"})),
                ("GET", format!("/manage/clients/{client}"), json!({})),
                (
                    "PATCH",
                    format!("/manage/clients/{client}"),
                    json!({"name": "Renamed"}),
                ),
                (
                    "POST",
                    format!("/manage/clients/{client}/rotate"),
                    json!({"graceSeconds": 60}),
                ),
                ("DELETE", format!("/manage/clients/{client}"), json!({})),
                ("GET", "/manage/references".into(), json!({})),
                (
                    "POST",
                    "/manage/references".into(),
                    json!({"projectId": project, "title": "Made"}),
                ),
                ("GET", format!("/manage/references/{reference}"), json!({})),
                (
                    "PATCH",
                    format!("/manage/references/{reference}"),
                    json!({"title": "Renamed"}),
                ),
                (
                    "DELETE",
                    format!("/manage/references/{reference}"),
                    json!({}),
                ),
                ("GET", "/manage/audit".into(), json!({})),
            ]
        };
    let send = |env: &Env, method: &str, target: &str, body: &Value| {
        let body = (method == "POST" || method == "PATCH").then_some(body);
        env.call(method, target, Some(&env.root), body)
    };
    let missing = "fa0c2780-55f2-4d9e-bea0-da2e02c7b1a9";

    // 200s, 400s, 404s, 401s, 403s and 413s.
    let env = Env::new();
    // A root client's access token whose scope leaves out `manage`.
    let track_only = env
        .store
        .authenticator()
        .token(
            &opcore::auth::oauth::ClientAuth {
                client_id: Some(&env.root.id),
                client_secret: Some(&env.root.secret),
                source: None,
            },
            &opcore::auth::oauth::Grant::ClientCredentials {
                scope: Some("track"),
            },
        )
        .unwrap();
    let track_only = format!("Bearer {}", track_only.access_token.expose());
    env.project("P");
    let c = env.client("C", "read", Some("p")).id;
    let r = env.reference("p", "R")["id"].as_str().unwrap().to_owned();
    env.get("/manage/openapi.json");
    let mut happy = ops("p", &c, &r);
    // The project's DELETE last, so the reference can still be created on it.
    happy.sort_by_key(|(m, t, _)| *m == "DELETE" && t.starts_with("/manage/projects"));
    for (method, target, body) in happy {
        assert_eq!(
            send(&env, method, &target, &body).status,
            200,
            "{method} {target}"
        );
        env.call(method, &target, None, None);
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        let headers = [
            ("openpanel-client-id", env.root.id.as_str()),
            ("openpanel-client-secret", env.root.secret.as_str()),
        ];
        assert_eq!(env.raw(method, &target, &headers, &big).status, 413);
        let bearer = [("authorization", track_only.as_str())];
        assert_eq!(env.raw(method, &target, &bearer, b"").status, 403);
    }
    for (method, target, _) in ops("nope", missing, missing) {
        if target.matches('/').count() == 3 || target.ends_with("/rotate") {
            assert_eq!(send(&env, method, &target, &json!({})).status, 404);
        }
    }
    for target in [
        "/manage/clients?projectId=nope",
        "/manage/references?projectId=nope",
    ] {
        assert_eq!(env.get(target).status, 404);
    }
    env.project("Q");
    let c = env.client("C", "read", Some("q")).id;
    let r = env.reference("q", "R")["id"].as_str().unwrap().to_owned();
    for (method, target, _) in ops("q", &c, &r) {
        if method == "POST" || method == "PATCH" {
            let bad = json!({"name": 1, "title": 1, "graceSeconds": -1});
            assert_eq!(send(&env, method, &target, &bad).status, 400);
        }
    }
    env.delete(&format!("/manage/clients/{}", env.root.id))
        .assert_error(
            400,
            "Bad Request",
            "Cannot delete the last root client of the organization",
        );
    env.get("/manage/nowhere");
    env.call("PUT", "/manage/projects", None, None);
    // Bad list parameters (docs/behaviour.md#lists).
    for target in [
        "/manage/projects?limit=0",
        "/manage/clients?limit=1001",
        "/manage/references?cursor=forged",
        "/manage/audit?limit=0",
    ] {
        assert_eq!(env.get(target).status, 400, "{target}");
    }
    // The authorization server metadata: 404 while no issuer is configured (docs/oauth.md).
    const METADATA: &str = "/.well-known/oauth-authorization-server";
    assert_eq!(env.call("GET", METADATA, None, None).status, 404);
    let mut hits = env.hits();
    let env = Env::with(|o| o.issuer = Some("https://auth.example.com".into()));
    assert_eq!(env.call("GET", METADATA, None, None).status, 200);
    hits.extend(env.hits());

    // 429s: a limit of one request per window.
    let env = Env::with(|o| o.rate_limits.manage = opcore::RateLimit::new(1, 1));
    for (method, target, body) in ops("x", missing, missing) {
        env.clock.advance_secs(5);
        send(&env, method, &target, &body);
        assert_eq!(send(&env, method, &target, &body).status, 429);
    }
    hits.extend(env.hits());

    // 500s: the resource tables disappear behind the store's back.
    let env = Env::new();
    env.get("/manage/projects");
    let conn = rusqlite::Connection::open(env.db_path()).unwrap();
    conn.execute_batch(
        "DROP TABLE project_references; DROP TABLE clients; DROP TABLE projects; \
         DROP TABLE audit_log;",
    )
    .unwrap();
    for (method, target, body) in ops("x", missing, missing) {
        assert_eq!(
            send(&env, method, &target, &body).status,
            500,
            "{method} {target}"
        );
    }
    hits.extend(env.hits());

    let doc = common::openapi::OpenApi::global().doc();
    let mut documented = BTreeSet::new();
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Some(responses) = operation.get("responses").and_then(Value::as_object) else {
                continue;
            };
            for code in responses.keys() {
                let status: u16 = code.parse().expect("numeric status codes only");
                documented.insert((method.to_ascii_uppercase(), template.clone(), status));
            }
        }
    }
    documented.insert(("*".into(), "x-unmatched-route".into(), 404));
    documented.insert(("*".into(), "x-method-not-allowed".into(), 405));
    // A 503 needs a database that cannot be reached (PostgreSQL) or a server out of
    // connections, neither of which a store file can stage: they are produced, with their exact
    // bodies, by the PostgreSQL outage tests (src/store/postgres/tests.rs, tests/multinode.rs)
    // and the connection caps' (tests/hostile.rs), and tests/openapi.rs checks the documented
    // 503 on every operation.
    let staged_elsewhere = documented.iter().filter(|(_, _, s)| *s == 503).count();
    assert!(
        staged_elsewhere > 0,
        "every Manage operation documents its 503"
    );
    documented.retain(|(_, _, status)| *status != 503);
    let never: Vec<_> = documented.difference(&hits).collect();
    assert!(
        never.is_empty(),
        "documented but never produced: {never:#?}"
    );
    assert_eq!(
        documented.len(),
        hits.len(),
        "every produced response is documented"
    );
}
