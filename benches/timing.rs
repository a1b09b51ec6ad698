//! Does a failed Manage request reveal whether its client id exists? Compares the time of a 401
//! for an unknown client id against a 401 for a known id with a wrong secret: both are refused
//! after one HMAC against a check value (the unknown id's is a dummy), with no argon2, so they
//! must be within noise of each other — as must a wrong secret for an expired client (its
//! expiry is told only to the right secret). As the reference point, a successful request whose
//! credentials are not cached (one argon2 verification, default parameters).
//!
//! Run: `cargo bench --bench timing`. Results and their reading: BENCHMARKS.md and
//! docs/security.md.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use opcore::manage::{handle, Request};
use opcore::{ClientType, Clock, ManualClock, NewClient, Options, Store, Timestamp};

/// A well-formed secret that belongs to no client.
const WRONG_SECRET: &str = "sec_0123456789abcdef0123456789abcdef";
/// A valid UUIDv4 that is no client's id.
const UNKNOWN_ID: &str = "fa0c2780-55f2-4d9e-bea0-da2e02c7b1a9";

fn timing(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = ManualClock::new(Timestamp(1_705_314_600_000));
    // Default options (argon2id m=19456 KiB, t=2, p=1) but for the clock, which the bench moves
    // a minute ahead before every request so that every failure is a 401 (the failed-attempt
    // throttle answers 429 after 10 a minute; it would do so for both cases alike).
    let store = Store::open(
        dir.path().join("timing.db"),
        Options {
            clock: Arc::new(clock.clone()),
            ..Options::default()
        },
    )
    .expect("open store");
    let boot = store.create_organization("Acme").expect("organization");
    let known_id = boot.client.client.id.clone();
    let secret = boot.client.secret.expose().to_owned();
    // A root client past its expiry (docs/lifecycle.md#expiry): a wrong secret for it must be
    // refused exactly as for any other client, so a guesser learns nothing of the expiry.
    let expiring = store
        .create_client(
            &boot.organization.id,
            &NewClient {
                name: "Expiring".into(),
                client_type: ClientType::Root,
                expires_at: Some(clock.now().plus_seconds(3600).to_rfc3339()),
                ..NewClient::default()
            },
        )
        .expect("client");
    let expired_id = expiring.client.id.clone();
    let expired_secret = expiring.secret.expose().to_owned();
    clock.advance_secs(7200);

    let call = |id: &str, secret: &str| {
        clock.advance_secs(61);
        let headers = [
            ("openpanel-client-id", id),
            ("openpanel-client-secret", secret),
        ];
        handle(
            &store,
            &Request {
                headers: &headers,
                ..Request::new("GET", "/manage/projects")
            },
        )
    };
    // What an attacker sees is the same in both cases.
    let unknown = call(UNKNOWN_ID, WRONG_SECRET);
    let wrong = call(&known_id, WRONG_SECRET);
    assert_eq!((unknown.status, &unknown.body), (wrong.status, &wrong.body));
    assert_eq!(unknown.status, 401);
    let expired_wrong = call(&expired_id, WRONG_SECRET);
    assert_eq!(
        (expired_wrong.status, &expired_wrong.body),
        (wrong.status, &wrong.body)
    );
    let expired_right = call(&expired_id, &expired_secret);
    assert_eq!(expired_right.status, 401);
    assert!(String::from_utf8_lossy(&expired_right.body).contains("Client credentials expired"));

    let argon2_before = store.authenticator().argon2_verifications();
    let mut group = c.benchmark_group("manage auth failures");
    group
        .sample_size(100)
        .measurement_time(Duration::from_secs(10))
        .warm_up_time(Duration::from_secs(2));
    group.bench_function("unknown client id", |b| {
        b.iter(|| black_box(call(UNKNOWN_ID, WRONG_SECRET)))
    });
    group.bench_function("known id, wrong secret", |b| {
        b.iter(|| black_box(call(&known_id, WRONG_SECRET)))
    });
    group.bench_function("expired id, wrong secret", |b| {
        b.iter(|| black_box(call(&expired_id, WRONG_SECRET)))
    });
    group.finish();
    assert_eq!(
        store.authenticator().argon2_verifications(),
        argon2_before,
        "failures ran argon2"
    );

    let mut group = c.benchmark_group("manage auth success (default argon2)");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10))
        .warm_up_time(Duration::from_secs(2));
    // A successful verification, for scale: each request goes to a handle opened for it (not
    // timed), whose credential cache is empty, so argon2 runs every time.
    group.bench_function("known id, right secret (uncached)", |b| {
        b.iter_batched(
            || {
                Store::open(
                    dir.path().join("timing.db"),
                    Options {
                        clock: Arc::new(clock.clone()),
                        ..Options::default()
                    },
                )
                .expect("reopen")
            },
            |fresh| {
                let headers = [
                    ("openpanel-client-id", known_id.as_str()),
                    ("openpanel-client-secret", secret.as_str()),
                ];
                let r = handle(
                    &fresh,
                    &Request {
                        headers: &headers,
                        ..Request::new("GET", "/manage/projects")
                    },
                );
                assert_eq!(r.status, 200);
                black_box(r)
            },
            criterion::BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, timing);
criterion_main!(benches);
