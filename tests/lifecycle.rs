//! The credential lifecycle of docs/lifecycle.md through `manage::handle`: rotation with a
//! grace period (also seen from a second handle on the same file, as another process sees
//! it), expiry, and last use. Every response is checked against openapi.json, and no secret
//! appears in any response but the one that issued it (`tests/common/`). The clock is injected:
//! nothing sleeps.

mod common;

use common::{Creds, Env, Res, INVALID_CREDENTIALS, T0};
use opcore::manage::{self, Request};
use opcore::{AuthRequest, Family, Options, RateLimit, Store, Timestamp};
use serde_json::{json, Value};

const EXPIRED: &str = "Client credentials expired";
const HOUR_MS: i64 = 3_600_000;

fn text(ms: i64) -> String {
    Timestamp(ms).to_string()
}

/// A second handle on the same file, as another process opens it: its own credential cache,
/// the same injected clock, and the access revision read on every call (a staleness of 0), so
/// what it sees does not depend on the wall clock.
fn second_handle(env: &Env) -> Store {
    let options = Options {
        cross_process_staleness_ms: 0,
        ..common::test_options(&env.clock)
    };
    Store::open(env.db_path(), options).expect("second handle")
}

/// `GET /manage/projects` with `creds` through `store`: 200, or the refusal.
fn list_with(store: &Store, creds: &Creds) -> (u16, Value) {
    let headers = [
        ("openpanel-client-id", creds.id.as_str()),
        ("openpanel-client-secret", creds.secret.as_str()),
    ];
    let r = manage::handle(store, &req("GET", "/manage/projects", &headers, b""));
    (r.status, r.json())
}

fn req<'a>(
    method: &'a str,
    target: &'a str,
    headers: &'a [(&'a str, &'a str)],
    body: &'a [u8],
) -> Request<'a> {
    Request {
        headers,
        body,
        ..Request::new(method, target)
    }
}

fn assert_works(env: &Env, creds: &Creds) {
    let r = env.call("GET", "/manage/projects", Some(creds), None);
    assert_eq!(r.status, 200, "{}", r.body);
}

fn assert_refused(env: &Env, creds: &Creds, message: &str) {
    env.call("GET", "/manage/projects", Some(creds), None)
        .assert_error(401, "Unauthorized", message);
}

fn rotate(env: &Env, id: &str, body: Value) -> Res {
    env.post(&format!("/manage/clients/{id}/rotate"), body)
}

/// Rotates `creds` and returns the new credentials and `previousSecretExpiresAt`.
fn rotated(env: &Env, creds: &Creds, body: Value) -> (Creds, Value) {
    let r = rotate(env, &creds.id, body);
    let data = r.data().clone();
    assert_eq!(data["id"], creds.id.as_str());
    let secret = data["secret"].as_str().expect("secret").to_owned();
    assert_ne!(secret, creds.secret);
    (
        Creds {
            id: creds.id.clone(),
            secret,
        },
        data["previousSecretExpiresAt"].clone(),
    )
}

#[test]
fn during_a_grace_both_secrets_work_and_after_it_only_the_new_one_in_every_handle() {
    let env = Env::new();
    let other = second_handle(&env);
    let old = env.client("Deployer", "root", None);
    // Both handles have the old secret cached before the rotation.
    assert_works(&env, &old);
    assert_eq!(list_with(&other, &old).0, 200);

    let (new, until) = rotated(&env, &old, json!({ "graceSeconds": 3600 }));
    assert_eq!(until, text(T0 + HOUR_MS).as_str());
    for _ in 0..2 {
        // Uncached, then cached.
        assert_works(&env, &old);
        assert_works(&env, &new);
        assert_eq!(list_with(&other, &old).0, 200);
        assert_eq!(list_with(&other, &new).0, 200);
    }

    // The last millisecond of the grace: still valid everywhere.
    env.clock.set(Timestamp(T0 + HOUR_MS - 1));
    assert_works(&env, &old);
    assert_eq!(list_with(&other, &old).0, 200);

    // At the instant: the old secret is an invalid one, cached or not, in every handle.
    env.clock.set(Timestamp(T0 + HOUR_MS));
    assert_refused(&env, &old, INVALID_CREDENTIALS);
    let (status, body) = list_with(&other, &old);
    assert_eq!(
        (status, body["message"].as_str()),
        (401, Some(INVALID_CREDENTIALS))
    );
    assert_works(&env, &new);
    assert_eq!(list_with(&other, &new).0, 200);
    // A third handle, opened after the grace, agrees.
    assert_eq!(list_with(&second_handle(&env), &old).0, 401);
}

#[test]
fn without_grace_the_old_secret_stops_at_once_also_in_another_handle() {
    let env = Env::new();
    let other = second_handle(&env);
    let old = env.client("Deployer", "root", None);
    assert_eq!(list_with(&other, &old).0, 200);
    assert_works(&env, &old);
    let (new, until) = rotated(&env, &old, json!({}));
    assert_eq!(until, Value::Null);
    assert_refused(&env, &old, INVALID_CREDENTIALS);
    assert_eq!(
        list_with(&other, &old).0,
        401,
        "the revision bump reaches other handles"
    );
    assert_works(&env, &new);
    assert_eq!(list_with(&other, &new).0, 200);
    // An empty body is the same as `{}`.
    let r = env.raw(
        "POST",
        &format!("/manage/clients/{}/rotate", new.id),
        &[
            ("openpanel-client-id", env.root.id.as_str()),
            ("openpanel-client-secret", env.root.secret.as_str()),
        ],
        b"",
    );
    assert_eq!(r.data()["previousSecretExpiresAt"], Value::Null);
    assert_refused(&env, &new, INVALID_CREDENTIALS);
}

#[test]
fn a_second_rotation_ends_the_first_grace_at_once() {
    let env = Env::new();
    let other = second_handle(&env);
    let first = env.client("Deployer", "root", None);
    let (second, _) = rotated(&env, &first, json!({ "graceSeconds": 3600 }));
    assert_works(&env, &first);
    assert_eq!(list_with(&other, &first).0, 200);
    env.clock.advance_ms(1000);
    let (third, until) = rotated(&env, &second, json!({ "graceSeconds": 60 }));
    assert_eq!(until, text(T0 + 1000 + 60_000).as_str());
    // At most two secrets: the first is gone although its grace had 59 minutes left.
    assert_refused(&env, &first, INVALID_CREDENTIALS);
    assert_eq!(list_with(&other, &first).0, 401);
    assert_works(&env, &second);
    assert_works(&env, &third);
    assert_eq!(list_with(&other, &second).0, 200);
    // A rotation without grace ends the second one's grace too.
    let (fourth, _) = rotated(&env, &third, json!({ "graceSeconds": 0 }));
    for gone in [&first, &second, &third] {
        assert_refused(&env, gone, INVALID_CREDENTIALS);
        assert_eq!(list_with(&other, gone).0, 401);
    }
    assert_works(&env, &fourth);
}

#[test]
fn grace_seconds_must_be_an_integer_from_0_to_30_days() {
    let env = Env::new();
    let c = env.client("Deployer", "read", None);
    let range = "Expected an integer from 0 to 2592000 (seconds)";
    let cases: &[(Value, &str)] = &[
        (json!(-1), range),
        (json!(2_592_001), range),
        (json!(1.5), range),
        (json!(1e30), range),
        (json!("60"), "Expected number, received string"),
        (json!(null), "Expected number, received null"),
        (json!(true), "Expected number, received boolean"),
        (json!([60]), "Expected number, received array"),
    ];
    for (value, message) in cases {
        let r = rotate(&env, &c.id, json!({ "graceSeconds": value }));
        r.assert_invalid(&[json!(["graceSeconds"])]);
        assert_eq!(r.detail(&json!(["graceSeconds"])), *message, "{value}");
    }
    // A refused rotation changed nothing: the client's secret still works.
    assert_works_export(&env, &c);
    let r = env.raw(
        "POST",
        &format!("/manage/clients/{}/rotate", c.id),
        &[
            ("openpanel-client-id", env.root.id.as_str()),
            ("openpanel-client-secret", env.root.secret.as_str()),
        ],
        b"[1]",
    );
    r.assert_invalid(&[json!([])]);
    let (_, until) = rotated(&env, &c, json!({ "graceSeconds": 2_592_000 }));
    assert_eq!(until, text(T0 + 2_592_000_000).as_str());
}

#[test]
fn rotation_is_root_only_org_scoped_and_404_for_unknown_clients() {
    let env = Env::new();
    let writer = env.client("Writer", "write", None);
    let target = env.client("Target", "read", None);
    let path = format!("/manage/clients/{}/rotate", target.id);
    env.call("POST", &path, Some(&writer), Some(&json!({})))
        .assert_error(401, "Unauthorized", common::MANAGE_DENIED);
    for id in ["0b7e0c1e-5a9b-4d43-9c55-8f0e4a1f2b3c", "not-a-uuid"] {
        env.post(&format!("/manage/clients/{id}/rotate"), json!({}))
            .assert_error(404, "Not Found", "Client not found");
    }
    let (_, other_root) = env.other_org("Globex");
    env.call("POST", &path, Some(&other_root), Some(&json!({})))
        .assert_error(404, "Not Found", "Client not found");
    // Only POST.
    let r = env.get(&path);
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("POST"));
    // /rotate exists for clients only.
    assert_eq!(env.post("/manage/projects/x/rotate", json!({})).status, 404);
    // Nothing was rotated by the refusals: the target's secret still works.
    assert_works_export(&env, &target);
}

/// The client may authenticate for Export (an organization-level read client: allowed).
fn assert_works_export(env: &Env, creds: &Creds) {
    let r = env.store.authenticate(&AuthRequest {
        client_id: Some(&creds.id),
        client_secret: Some(&creds.secret),
        ..AuthRequest::new(Family::Export)
    });
    assert!(r.is_ok(), "{r:?}");
}

#[test]
fn a_rotation_returns_the_client_read_and_changes_only_updated_at() {
    let env = Env::new();
    let c = env.client("Deployer", "read", None);
    let before = env.get(&format!("/manage/clients/{}", c.id)).data().clone();
    env.clock.advance_ms(5000);
    let data = rotate(&env, &c.id, json!({ "graceSeconds": 10 }))
        .data()
        .clone();
    for field in [
        "id",
        "name",
        "type",
        "projectId",
        "organizationId",
        "expiresAt",
        "createdAt",
    ] {
        assert_eq!(data[field], before[field], "{field}");
    }
    assert_eq!(data["updatedAt"], text(T0 + 5000).as_str());
    let after = env.get(&format!("/manage/clients/{}", c.id)).data().clone();
    assert!(after.get("secret").is_none());
    assert_eq!(after["updatedAt"], text(T0 + 5000).as_str());
}

#[test]
fn an_expired_client_gets_the_expiry_message_only_with_its_right_secret() {
    let env = Env::new();
    let r = env.post(
        "/manage/clients",
        json!({ "name": "Temp", "type": "root", "expiresAt": text(T0 + 60_000) }),
    );
    let data = r.data().clone();
    assert_eq!(data["expiresAt"], text(T0 + 60_000).as_str());
    assert_eq!(data["lastUsedAt"], Value::Null);
    let c = Creds {
        id: data["id"].as_str().unwrap().to_owned(),
        secret: data["secret"].as_str().unwrap().to_owned(),
    };
    let wrong = Creds {
        id: c.id.clone(),
        secret: "sec_00000000000000000000000000000000".into(),
    };
    assert_works(&env, &c); // now cached
    env.clock.set(Timestamp(T0 + 59_999));
    assert_works(&env, &c);
    // At the instant: cached or not, in this handle and another.
    env.clock.set(Timestamp(T0 + 60_000));
    assert_refused(&env, &c, EXPIRED);
    assert_refused(&env, &wrong, INVALID_CREDENTIALS);
    let other = second_handle(&env);
    let (status, body) = list_with(&other, &c);
    assert_eq!((status, body["message"].as_str()), (401, Some(EXPIRED)));
    let (status, body) = list_with(&other, &wrong);
    assert_eq!(
        (status, body["message"].as_str()),
        (401, Some(INVALID_CREDENTIALS))
    );
    // The other families say the same.
    let e = env
        .store
        .authenticate(&AuthRequest {
            client_id: Some(&c.id),
            client_secret: Some(&c.secret),
            ..AuthRequest::new(Family::Export)
        })
        .unwrap_err();
    assert_eq!(e.to_string(), EXPIRED);

    // Clearing the expiry revives it; a past expiry given by PATCH expires it at once.
    let path = format!("/manage/clients/{}", c.id);
    assert_eq!(
        env.patch(&path, json!({ "expiresAt": null })).data()["expiresAt"],
        Value::Null
    );
    assert_works(&env, &c);
    assert_eq!(list_with(&other, &c).0, 200);
    let past = env.patch(&path, json!({ "expiresAt": text(T0 - 1) }));
    assert_eq!(past.data()["expiresAt"], text(T0 - 1).as_str());
    assert_refused(&env, &c, EXPIRED);
    let (status, body) = list_with(&other, &c);
    assert_eq!((status, body["message"].as_str()), (401, Some(EXPIRED)));
}

#[test]
fn expires_at_is_validated_and_a_past_one_is_refused_on_create() {
    let env = Env::new();
    for (value, message) in [
        (
            json!(text(T0)),
            "Must be in the future; to expire an existing client now, PATCH its expiresAt",
        ),
        (
            json!(text(T0 - HOUR_MS)),
            "Must be in the future; to expire an existing client now, PATCH its expiresAt",
        ),
        (json!("tomorrow"), "Invalid datetime"),
    ] {
        let r = env.post(
            "/manage/clients",
            json!({ "name": "Temp", "expiresAt": value }),
        );
        r.assert_invalid(&[json!(["expiresAt"])]);
        let detail = r.detail(&json!(["expiresAt"]));
        assert!(detail.starts_with(message), "{value}: {detail}");
    }
    let r = env.post("/manage/clients", json!({ "name": "Temp", "expiresAt": 5 }));
    r.assert_invalid(&[json!(["expiresAt"])]);
    assert_eq!(
        r.detail(&json!(["expiresAt"])),
        "Expected string, received number"
    );
    let c = env.client("Temp", "read", None);
    let r = env.patch(
        &format!("/manage/clients/{}", c.id),
        json!({ "expiresAt": "nope" }),
    );
    r.assert_invalid(&[json!(["expiresAt"])]);
    // Null on create: never expires.
    let r = env.post(
        "/manage/clients",
        json!({ "name": "Forever", "expiresAt": null }),
    );
    assert_eq!(r.data()["expiresAt"], Value::Null);
    // The date-only form is midnight UTC, as for a reference's datetime.
    let r = env.post(
        "/manage/clients",
        json!({ "name": "Dated", "expiresAt": "2030-01-01" }),
    );
    assert_eq!(r.data()["expiresAt"], "2030-01-01T00:00:00.000Z");
}

#[test]
fn tokens_issued_to_an_expired_client_stop_working() {
    let env = Env::new();
    let data = env
        .post(
            "/manage/clients",
            json!({ "name": "App", "type": "root", "expiresAt": text(T0 + 60_000) }),
        )
        .data()
        .clone();
    let (id, secret) = (
        data["id"].as_str().unwrap(),
        data["secret"].as_str().unwrap(),
    );
    let form = format!("grant_type=client_credentials&client_id={id}&client_secret={secret}");
    let r = manage::handle(
        &env.store,
        &req(
            "POST",
            "/oauth/token",
            &[("content-type", "application/x-www-form-urlencoded")],
            form.as_bytes(),
        ),
    );
    assert_eq!(r.status, 200);
    let token = r.json()["access_token"].as_str().unwrap().to_owned();
    let bearer = format!("Bearer {token}");
    let call = |store: &Store| {
        manage::handle(
            store,
            &req(
                "GET",
                "/manage/projects",
                &[("authorization", &bearer)],
                b"",
            ),
        )
    };
    assert_eq!(call(&env.store).status, 200);
    env.clock.set(Timestamp(T0 + 60_000));
    let r = call(&env.store);
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"], "invalid_api_key");
    assert!(env.store.verify_access_token(&token).is_err());
    // Nor can it get another.
    let r = manage::handle(
        &env.store,
        &req(
            "POST",
            "/oauth/token",
            &[("content-type", "application/x-www-form-urlencoded")],
            form.as_bytes(),
        ),
    );
    assert_eq!(r.status, 401);
    assert!(!String::from_utf8_lossy(&r.body).contains(secret));
}

#[test]
fn last_used_at_moves_on_use_and_a_thousand_cached_authentications_write_once() {
    let env = Env::with(|o| {
        o.rate_limits.manage = RateLimit::new(1_000_000, 10);
        o.rate_limits.export = RateLimit::new(1_000_000, 10);
    });
    let c = env.client("Exporter", "read", None);
    let path = format!("/manage/clients/{}", c.id);
    assert_eq!(env.get(&path).data()["lastUsedAt"], Value::Null);
    let auth = || {
        env.store
            .authenticate(&AuthRequest {
                client_id: Some(&c.id),
                client_secret: Some(&c.secret),
                ..AuthRequest::new(Family::Export)
            })
            .expect("authenticated")
    };
    // The root client's own calls are written too: count from here.
    env.store.authenticator().flush_last_used();
    let writes = env.store.authenticator().last_used_writes();
    env.clock.advance_ms(1000);
    for _ in 0..1000 {
        auth();
    }
    env.store.authenticator().flush_last_used();
    assert_eq!(env.store.authenticator().last_used_writes() - writes, 1);
    let used = text(T0 + 1000);
    // (The root client's GET below is within its minute: no write of its own.)
    assert_eq!(env.get(&path).data()["lastUsedAt"], used.as_str());
    assert_eq!(env.store.authenticator().last_used_writes() - writes, 1);

    // Within the minute: nothing more is written, lastUsedAt stays.
    env.clock.advance_ms(59_999);
    auth();
    env.store.authenticator().flush_last_used();
    assert_eq!(env.store.authenticator().last_used_writes() - writes, 1);
    // A minute after the last record: written again.
    env.clock.advance_ms(1);
    auth();
    assert_eq!(
        env.get(&path).data()["lastUsedAt"],
        text(T0 + 61_000).as_str()
    );
    // Another handle reads it from the file.
    let other = second_handle(&env);
    assert_eq!(
        other.get_client(&env.org, &c.id).unwrap().last_used_at,
        Some(Timestamp(T0 + 61_000))
    );
    // Lists show it as well.
    let list = env.get("/manage/clients").data().clone();
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == c.id.as_str())
        .unwrap();
    assert_eq!(listed["lastUsedAt"], text(T0 + 61_000).as_str());
    // A failed authentication is no use.
    env.clock.advance_ms(120_000);
    let wrong = env.store.authenticate(&AuthRequest {
        client_id: Some(&c.id),
        client_secret: Some("sec_00000000000000000000000000000000"),
        ..AuthRequest::new(Family::Export)
    });
    assert!(wrong.is_err());
    assert_eq!(
        env.get(&path).data()["lastUsedAt"],
        text(T0 + 61_000).as_str()
    );
}

#[test]
fn no_secret_but_the_returned_one_is_stored_or_shown() {
    let env = Env::new();
    let c = env.client("Deployer", "root", None);
    let (new, _) = rotated(&env, &c, json!({ "graceSeconds": 60 }));
    let (newer, _) = rotated(&env, &new, json!({ "graceSeconds": 60 }));
    // The responses were checked by the harness; the file holds hashes only.
    let bytes = std::fs::read(env.db_path()).unwrap();
    let wal = std::fs::read(env.dir.path().join("opcore.db-wal")).unwrap_or_default();
    for secret in [&c.secret, &new.secret, &newer.secret] {
        for file in [&bytes, &wal] {
            assert!(!file.windows(secret.len()).any(|w| w == secret.as_bytes()));
        }
    }
    let listed = serde_json::to_string(env.get("/manage/clients").data()).unwrap();
    assert!(!listed.contains("sec_"));
}
