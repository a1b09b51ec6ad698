//! Authentication, authorization and rate limiting (SPEC §4) through `Store::authenticate`.

mod support;

use std::process::Command;

use opcore::auth::FAILURES_PER_CLIENT;
use opcore::{
    AuthError, AuthRequest, ClientChanges, ClientType, Family, NewClient, NewProject,
    ProjectChanges, Store,
};
use support::StoreEnv;

struct World {
    env: StoreEnv,
    org: String,
    root: (String, String),
    project: String,
    write: (String, String),
    read: (String, String),
    other_project: String,
}

fn world() -> World {
    world_with(|_| {})
}

fn world_with(tweak: impl FnOnce(&mut opcore::Options)) -> World {
    let env = StoreEnv::with(tweak);
    let boot = env.org("Acme");
    let org = boot.organization.id.clone();
    let p = env
        .store
        .create_project(
            &org,
            &NewProject {
                name: "Site".into(),
                cors: vec![
                    "https://example.com".into(),
                    "shop.io".into(),
                    "*.wild.com".into(),
                ],
                ..NewProject::default()
            },
        )
        .unwrap();
    let other = env
        .store
        .create_project(
            &org,
            &NewProject {
                name: "Other".into(),
                ..NewProject::default()
            },
        )
        .unwrap();
    let read = env
        .store
        .create_client(
            &org,
            &NewClient {
                name: "Reader".into(),
                project_id: Some(p.project.id.clone()),
                client_type: ClientType::Read,
                ..NewClient::default()
            },
        )
        .unwrap();
    World {
        root: (
            boot.client.client.id.clone(),
            boot.client.secret.expose().to_owned(),
        ),
        write: (p.client.id.clone(), p.client.secret.expose().to_owned()),
        read: (read.client.id.clone(), read.secret.expose().to_owned()),
        project: p.project.id.clone(),
        other_project: other.project.id.clone(),
        org,
        env,
    }
}

fn req<'a>(
    family: Family,
    creds: &'a (String, String),
    project: Option<&'a str>,
) -> AuthRequest<'a> {
    AuthRequest {
        client_id: Some(&creds.0),
        client_secret: Some(&creds.1),
        project_id: project,
        ..AuthRequest::new(family)
    }
}

fn message(r: Result<opcore::Principal, AuthError>) -> (u16, String) {
    match r {
        Ok(p) => (200, p.client_id.to_string()),
        Err(e) => (e.status(), e.to_string()),
    }
}

#[test]
fn every_cell_of_the_family_table() {
    let w = world();
    let p = Some(w.project.as_str());
    let table: [(Family, &(String, String), u16, &str); 12] = [
        (Family::Track, &w.write, 200, ""),
        (
            Family::Track,
            &w.read,
            401,
            "Track: Only write and root clients are allowed to track events",
        ),
        (Family::Track, &w.root, 200, ""),
        (
            Family::Export,
            &w.write,
            401,
            "Export: Client is not allowed to export",
        ),
        (Family::Export, &w.read, 200, ""),
        (Family::Export, &w.root, 200, ""),
        (
            Family::Insights,
            &w.write,
            401,
            "Insights: Client is not allowed to access insights",
        ),
        (Family::Insights, &w.read, 200, ""),
        (Family::Insights, &w.root, 200, ""),
        (
            Family::Manage,
            &w.write,
            401,
            "Manage: Only root clients are allowed to manage resources",
        ),
        (
            Family::Manage,
            &w.read,
            401,
            "Manage: Only root clients are allowed to manage resources",
        ),
        (Family::Manage, &w.root, 200, ""),
    ];
    for (family, creds, status, msg) in table {
        let (got_status, got) = message(w.env.store.authenticate(&req(family, creds, p)));
        assert_eq!(got_status, status, "{family:?} {}", creds.0);
        if status == 200 {
            assert_eq!(got, creds.0);
        } else {
            assert_eq!(got, msg);
        }
    }
}

#[test]
fn credential_failures_share_one_message() {
    let w = world();
    let s = &w.env.store;
    let unknown = (
        "6f1f2d3c-4b5a-4c7d-8e9f-0a1b2c3d4e5f".to_owned(),
        w.root.1.clone(),
    );
    let wrong = (
        w.root.0.clone(),
        "sec_00000000000000000000000000000000".to_owned(),
    );
    let cases: Vec<(AuthRequest, u16, &str)> = vec![
        (
            AuthRequest::new(Family::Manage),
            401,
            "Invalid client credentials",
        ),
        (
            AuthRequest {
                client_id: Some("not-a-uuid"),
                client_secret: Some(&w.root.1),
                ..AuthRequest::new(Family::Manage)
            },
            401,
            "Malformed client ID (must be a valid UUIDv4)",
        ),
        (
            req(Family::Manage, &unknown, None),
            401,
            "Invalid client credentials",
        ),
        (
            req(Family::Manage, &wrong, None),
            401,
            "Invalid client credentials",
        ),
        (
            AuthRequest {
                client_id: Some(&w.root.0),
                ..AuthRequest::new(Family::Manage)
            },
            401,
            "Invalid client credentials",
        ),
        (
            AuthRequest {
                client_id: Some(&w.root.0),
                client_secret: Some("garbage"),
                ..AuthRequest::new(Family::Manage)
            },
            401,
            "Invalid client credentials",
        ),
    ];
    for (r, status, msg) in cases {
        assert_eq!(
            message(s.authenticate(&r)),
            (status, msg.to_owned()),
            "{r:?}"
        );
    }
}

#[test]
fn unknown_ids_and_wrong_secrets_run_no_argon2_verification() {
    let w = world();
    let s = &w.env.store;
    let count = || s.authenticator().argon2_verifications();
    let before = count();
    let unknown = (
        "6f1f2d3c-4b5a-4c7d-8e9f-0a1b2c3d4e5f".to_owned(),
        w.root.1.clone(),
    );
    let wrong = (
        w.root.0.clone(),
        "sec_00000000000000000000000000000000".to_owned(),
    );
    for family in Family::ALL {
        for creds in [&unknown, &wrong] {
            assert_eq!(
                message(s.authenticate(&req(family, creds, None))),
                (401, "Invalid client credentials".into()),
                "{family:?} {creds:?}"
            );
        }
    }
    assert_eq!(count() - before, 0);
    // The right secret, not cached yet: exactly one.
    assert!(s.authenticate(&req(Family::Manage, &w.root, None)).is_ok());
    assert_eq!(count() - before, 1);
}

#[test]
fn project_scope() {
    let w = world();
    let s = &w.env.store;
    let other = Some(w.other_project.as_str());
    let forbidden = (403, "You do not have access to this project".to_owned());
    assert_eq!(
        message(s.authenticate(&req(Family::Export, &w.read, other))),
        forbidden
    );
    assert_eq!(
        message(s.authenticate(&req(Family::Track, &w.write, other))),
        forbidden
    );
    // Root reaches any project of its org, none of another org's.
    let ok = s
        .authenticate(&req(Family::Export, &w.root, other))
        .unwrap();
    assert_eq!(ok.project_id.as_deref(), other);
    let foreign = s.create_organization("Foreign").unwrap();
    let foreign_root = (
        foreign.client.client.id.clone(),
        foreign.client.secret.expose().to_owned(),
    );
    assert_eq!(
        message(s.authenticate(&req(Family::Export, &foreign_root, Some(&w.project)))),
        forbidden
    );
    assert_eq!(
        message(s.authenticate(&req(Family::Export, &foreign_root, Some("no-such-project")))),
        forbidden
    );
    // Without a requested project, the scope is the client's own.
    let p = s
        .authenticate(&req(Family::Insights, &w.read, None))
        .unwrap();
    assert_eq!(p.project_id.as_deref(), Some(w.project.as_str()));
    assert_eq!(&*p.organization_id, w.org);
    assert_eq!(p.client_type, ClientType::Read);
}

#[test]
fn track_without_a_secret_needs_a_matching_origin() {
    let w = world();
    let s = &w.env.store;
    let track = |origin: Option<&str>| {
        s.authenticate(&AuthRequest {
            client_id: Some(&w.write.0),
            origin,
            ..AuthRequest::new(Family::Track)
        })
        .is_ok()
    };
    let table = [
        (Some("https://example.com"), true),
        (Some("https://EXAMPLE.com"), true),
        (Some("http://example.com"), false),
        (Some("https://www.example.com"), false),
        (Some("http://shop.io"), true),
        (Some("https://shop.io"), true),
        (Some("https://shop.io:8443"), false),
        (Some("https://a.wild.com"), true),
        (Some("https://a.b.wild.com"), true),
        (Some("https://wild.com"), false),
        (Some("https://evil.wild.com.attacker.net"), false),
        (Some("https://evilwild.com"), false),
        (Some("null"), false),
        (Some(""), false),
        (None, false),
    ];
    for (origin, expected) in table {
        assert_eq!(track(origin), expected, "{origin:?}");
    }
    // Other families never accept a missing secret, whatever the origin.
    let export = s.authenticate(&AuthRequest {
        client_id: Some(&w.read.0),
        origin: Some("https://example.com"),
        ..AuthRequest::new(Family::Export)
    });
    assert_eq!(message(export), (401, "Invalid client credentials".into()));

    // `*` matches any real origin but never an absent or null one.
    s.update_project(
        &w.org,
        &w.project,
        &ProjectChanges {
            cors: Some(vec!["*".into()]),
            ..ProjectChanges::default()
        },
    )
    .unwrap();
    assert!(track(Some("https://anything.io")));
    assert!(!track(Some("null")));
    assert!(!track(None));
}

#[test]
fn origin_matching_works_on_entries_stored_as_sent_and_on_rows_of_earlier_releases() {
    let w = world();
    let s = &w.env.store;
    let track = |origin: &str| {
        s.authenticate(&AuthRequest {
            client_id: Some(&w.write.0),
            origin: Some(origin),
            ..AuthRequest::new(Family::Track)
        })
        .is_ok()
    };
    let table = [
        ("https://shop.example.com", true),
        ("https://SHOP.Example.com:443", true),
        ("http://shop.example.com", false),
        ("http://example.org:8080", true),
        ("https://EXAMPLE.org:8080", true),
        ("https://example.org", false),
        ("https://a.wild.io", true),
        ("https://A.B.Wild.io", true),
        ("https://wild.io", false),
        ("http://a.wild.io", false),
    ];
    // Stored as sent today (trailing slashes aside)...
    let project = s
        .update_project(
            &w.org,
            &w.project,
            &ProjectChanges {
                cors: Some(vec![
                    "HTTPS://Shop.Example.COM:443/".into(),
                    "Example.org:8080".into(),
                    "https://*.Wild.IO".into(),
                ]),
                ..ProjectChanges::default()
            },
        )
        .unwrap();
    assert_eq!(
        project.cors,
        [
            "HTTPS://Shop.Example.COM:443",
            "Example.org:8080",
            "https://*.Wild.IO"
        ]
    );
    for (origin, expected) in table {
        assert_eq!(track(origin), expected, "as sent: {origin:?}");
    }
    // ...and as an earlier release stored the same input: lowercased, default port dropped.
    let conn = rusqlite::Connection::open(w.env.path()).unwrap();
    let changed = conn
        .execute(
            "UPDATE projects SET cors = ?1 WHERE id = ?2",
            (
                r#"["https://shop.example.com","example.org:8080","https://*.wild.io"]"#,
                &w.project,
            ),
        )
        .unwrap();
    assert_eq!(changed, 1);
    for (origin, expected) in table {
        assert_eq!(track(origin), expected, "earlier release's row: {origin:?}");
    }
}

#[test]
fn ignore_cors_and_secret_skips_both_checks_for_track_only() {
    let w = world();
    let s = &w.env.store;
    s.update_client(
        &w.org,
        &w.write.0,
        &ClientChanges {
            ignore_cors_and_secret: Some(true),
            ..ClientChanges::default()
        },
    )
    .unwrap();
    let bare = AuthRequest {
        client_id: Some(&w.write.0),
        ..AuthRequest::new(Family::Track)
    };
    assert!(s.authenticate(&bare).is_ok());
    // A presented secret is still checked.
    let wrong = (
        w.write.0.clone(),
        "sec_00000000000000000000000000000000".to_owned(),
    );
    assert!(s.authenticate(&req(Family::Track, &wrong, None)).is_err());
    // A client without a project is never a Track client.
    let org_level = s
        .create_client(
            &w.org,
            &NewClient {
                name: "Org writer".into(),
                ignore_cors_and_secret: true,
                ..NewClient::default()
            },
        )
        .unwrap();
    let creds = (
        org_level.client.id.clone(),
        org_level.secret.expose().to_owned(),
    );
    assert_eq!(
        message(s.authenticate(&req(Family::Track, &creds, None))),
        (401, "Invalid client credentials".into())
    );
}

#[test]
fn verified_credentials_are_cached_and_deletion_revokes_at_once() {
    let w = world();
    let s = &w.env.store;
    let count = || s.authenticator().argon2_verifications();
    let r = req(Family::Export, &w.read, None);
    let before = count();
    s.authenticate(&r).unwrap();
    assert_eq!(count() - before, 1);
    s.authenticate(&r).unwrap();
    s.authenticate(&r).unwrap();
    assert_eq!(count() - before, 1, "cached authentications ran argon2");
    assert_eq!(s.authenticator().cached_credentials(), 1);

    // Deleted through the same Store: rejected on the very next call.
    s.delete_client(&w.org, &w.read.0).unwrap();
    assert_eq!(
        message(s.authenticate(&r)),
        (401, "Invalid client credentials".into())
    );

    // Deleted through another Store in this process: same.
    let second = w.env.reopen();
    let wr = req(Family::Track, &w.write, None);
    s.authenticate(&wr).unwrap();
    s.authenticate(&wr).unwrap();
    second.delete_client(&w.org, &w.write.0).unwrap();
    assert!(s.authenticate(&wr).is_err());
}

#[test]
fn a_project_past_its_deletion_time_locks_its_clients_out() {
    let w = world();
    let s = &w.env.store;
    let r = req(Family::Export, &w.read, None);
    s.authenticate(&r).unwrap();
    s.delete_project(&w.org, &w.project).unwrap();
    // Scheduled, not yet gone: still works.
    s.authenticate(&r).unwrap();
    w.env.clock.advance_secs(86_400);
    assert!(s.authenticate(&r).is_err());
}

#[test]
fn a_deletion_by_another_process_is_seen_within_the_staleness_bound() {
    for staleness_ms in [0u64, 300] {
        let w = world_with(|o| o.cross_process_staleness_ms = staleness_ms);
        let s = &w.env.store;
        let r = req(Family::Export, &w.read, None);
        s.authenticate(&r).unwrap();
        s.authenticate(&r).unwrap();
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["--ignored", "--exact", "child_delete_client", "--nocapture"])
            .env("OPCORE_TEST_DB", w.env.path())
            .env("OPCORE_TEST_ORG", &w.org)
            .env("OPCORE_TEST_CLIENT", &w.read.0)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("DELETED"));
        if staleness_ms > 0 {
            std::thread::sleep(std::time::Duration::from_millis(staleness_ms + 50));
        }
        assert_eq!(
            message(s.authenticate(&r)),
            (401, "Invalid client credentials".into()),
            "staleness {staleness_ms} ms"
        );
    }
}

/// Child-process entry point for the test above.
#[test]
#[ignore = "child-process entry point, run by other tests"]
fn child_delete_client() {
    let (Ok(db), Ok(org), Ok(client)) = (
        std::env::var("OPCORE_TEST_DB"),
        std::env::var("OPCORE_TEST_ORG"),
        std::env::var("OPCORE_TEST_CLIENT"),
    ) else {
        return;
    };
    let store = Store::open(db, support::fast_normal_options()).unwrap();
    store.delete_client(&org, &client).unwrap();
    println!("DELETED");
}

#[test]
fn a_flood_of_wrong_secrets_runs_no_argon2_and_is_throttled_after_ten_a_minute() {
    let w = world();
    let s = &w.env.store;
    // The owner authenticated before the flood (its credentials are cached).
    assert!(s.authenticate(&req(Family::Manage, &w.root, None)).is_ok());
    let before = s.authenticator().argon2_verifications();
    let mut throttled = 0;
    let mut first_retry = None;
    for i in 0..1000u32 {
        let wrong = (w.root.0.clone(), format!("sec_{i:032x}"));
        match s.authenticate(&req(Family::Manage, &wrong, None)) {
            Err(AuthError::Throttled {
                retry_after_seconds,
            }) => {
                throttled += 1;
                first_retry.get_or_insert(retry_after_seconds);
            }
            Err(AuthError::InvalidCredentials) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(s.authenticator().argon2_verifications() - before, 0);
    assert_eq!(throttled, 1000 - FAILURES_PER_CLIENT);
    assert_eq!(first_retry, Some(60));
    // The owner is not locked out by someone else's flood, cached or not.
    assert!(s.authenticate(&req(Family::Manage, &w.root, None)).is_ok());
    let fresh = w.env.reopen();
    assert!(fresh
        .authenticate(&req(Family::Manage, &w.root, None))
        .is_ok());
    assert_eq!(fresh.authenticator().argon2_verifications(), 1);
    // The throttle keeps answering 429 while the flood goes on (every wrong secret counts);
    // a minute after it stops, wrong secrets are plain 401s again.
    w.env.clock.advance_secs(60);
    let wrong = (w.root.0.clone(), "sec_ffff".to_owned());
    assert!(matches!(
        s.authenticate(&req(Family::Manage, &wrong, None)),
        Err(AuthError::InvalidCredentials)
    ));
    assert_eq!(s.authenticator().argon2_verifications() - before, 0);
}

#[test]
fn a_source_address_is_throttled_across_client_ids() {
    let w = world();
    let s = &w.env.store;
    let mut throttled = 0;
    for i in 0..150u32 {
        let id = format!("6f1f2d3c-4b5a-4c7d-8e9f-{i:012x}");
        let r = AuthRequest {
            client_id: Some(&id),
            client_secret: Some("sec_00"),
            source: Some("203.0.113.9"),
            ..AuthRequest::new(Family::Manage)
        };
        if let Err(AuthError::Throttled { .. }) = s.authenticate(&r) {
            throttled += 1;
        }
    }
    assert_eq!(throttled, 50);
    // Another source is unaffected.
    let r = AuthRequest {
        source: Some("198.51.100.1"),
        ..req(Family::Manage, &w.root, None)
    };
    assert!(s.authenticate(&r).is_ok());
}

#[test]
fn rate_limits_per_family_with_headers_values() {
    let w = world();
    let s = &w.env.store;
    let r = req(Family::Manage, &w.root, None);
    for i in 0..20u32 {
        let p = s.authenticate(&r).unwrap();
        assert_eq!(p.rate.limit, 20);
        assert_eq!(p.rate.remaining, 19 - i);
        assert_eq!(p.rate.reset_seconds, 10);
    }
    match s.authenticate(&r) {
        Err(AuthError::RateLimited(d)) => {
            assert_eq!(d.remaining, 0);
            assert_eq!(d.retry_after_seconds, Some(10));
        }
        other => panic!("expected 429, got {other:?}"),
    }
    // Families are limited separately.
    assert_eq!(
        s.authenticate(&req(Family::Export, &w.root, None))
            .unwrap()
            .rate
            .limit,
        100
    );
    assert_eq!(
        s.authenticate(&req(Family::Track, &w.write, None))
            .unwrap()
            .rate
            .limit,
        1000
    );
    w.env.clock.advance_secs(10);
    assert!(s.authenticate(&r).is_ok());
}
