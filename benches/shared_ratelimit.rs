//! A shared rate-limit decision (option `rate_limit_url`, docs/scale-out.md) next to one plain
//! Redis `PING` round trip on the same kind of connection, in the same run (the bar: ≤ 1.5×).
//! The decision is measured as a cached Track authentication of a store whose limits are
//! shared, so it includes the in-memory credential check (reported alone as `local`).
//! Run: `cargo bench --features redis --bench shared_ratelimit` with a Redis at
//! `OPCORE_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use opcore::domain::secret::Argon2Params;
use opcore::{AuthRequest, Family, NewProject, Options, RateLimit, RateLimitUrl, Store};

fn bench(c: &mut Criterion) {
    let url =
        std::env::var("OPCORE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("opcore-bench:{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("opcore.db");
    let options = |shared: bool| {
        let mut o = Options {
            argon2: Argon2Params {
                m_cost: 8,
                t_cost: 1,
                p_cost: 1,
            },
            rate_limit_url: shared.then(|| RateLimitUrl::new(&url)),
            rate_limit_key_prefix: prefix.clone(),
            ..Options::default()
        };
        o.rate_limits.track = RateLimit::new(u32::MAX, 10);
        o
    };
    let local = Store::open(&path, options(false)).unwrap();
    let boot = local.create_organization("Bench").unwrap();
    let site = local
        .create_project(
            &boot.organization.id,
            &NewProject {
                name: "Site".into(),
                ..NewProject::default()
            },
        )
        .unwrap();
    let shared = Store::open(&path, options(true)).unwrap();
    let (id, secret) = (
        site.client.id.clone(),
        site.client.secret.expose().to_owned(),
    );
    let req = AuthRequest {
        client_id: Some(&id),
        client_secret: Some(&secret),
        ..AuthRequest::new(Family::Track)
    };
    assert!(local.authenticate(&req).is_ok());
    let first = shared
        .authenticate(&req)
        .expect("a shared decision (is Redis up?)");
    assert_eq!(first.rate.limit, u32::MAX);

    let mut conn = redis::Client::open(url.as_str())
        .unwrap()
        .get_connection_with_timeout(Duration::from_millis(250))
        .unwrap();
    conn.set_read_timeout(Some(Duration::from_millis(250)))
        .unwrap();
    let mut g = c.benchmark_group("shared_ratelimit");
    g.bench_function("redis_ping", |b| {
        b.iter(|| black_box(redis::cmd("PING").query::<String>(&mut conn).unwrap()))
    });
    g.bench_function("shared_decision", |b| {
        b.iter(|| black_box(shared.authenticate(black_box(&req)).unwrap()))
    });
    g.bench_function("local", |b| {
        b.iter(|| black_box(local.authenticate(black_box(&req)).unwrap()))
    });
    g.finish();

    // The same two operations interleaved, in alternating batches, so that a change of load on
    // the machine (Redis shares its two cores with this process) falls on both alike: the
    // ratio of the medians is the bar's figure.
    let (mut ping, mut decision) = (Vec::new(), Vec::new());
    const BATCH: u32 = 2_000;
    for _ in 0..15 {
        let t = std::time::Instant::now();
        for _ in 0..BATCH {
            black_box(redis::cmd("PING").query::<String>(&mut conn).unwrap());
        }
        ping.push(t.elapsed().as_nanos() as f64 / f64::from(BATCH));
        let t = std::time::Instant::now();
        for _ in 0..BATCH {
            black_box(shared.authenticate(black_box(&req)).unwrap());
        }
        decision.push(t.elapsed().as_nanos() as f64 / f64::from(BATCH));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (p, d) = (median(&mut ping), median(&mut decision));
    println!(
        "shared_ratelimit/interleaved: redis_ping {:.2} µs, shared_decision {:.2} µs, ratio {:.2}x \
         (medians of 15 alternating batches of {BATCH})",
        p / 1000.0,
        d / 1000.0,
        d / p
    );
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query(&mut conn)
        .unwrap();
    if !keys.is_empty() {
        redis::cmd("DEL").arg(&keys).query::<()>(&mut conn).unwrap();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
