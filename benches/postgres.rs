//! The PostgreSQL backend (docs/scale-out.md#postgresql-backend), each figure next to its floor
//! measured in the same run:
//!
//! - `postgres_auth/{sqlite,postgres}_cached_track`: cached Track authentication (a Store with
//!   unlimited rate limits, authenticated once, then `store.authenticate` in the loop) on
//!   SQLite and on PostgreSQL, side by side. The bar: PostgreSQL within 1.5× of SQLite — the
//!   hot path touches no network (the access revision arrives by `LISTEN/NOTIFY`).
//! - `postgres_manage/{postgres_cached_manage,select_1}`: cached Manage authentication on
//!   PostgreSQL, whose per-call check that the client still exists is one round trip, next to
//!   a plain `SELECT 1` through a `postgres::Client` on the same server.
//! - `postgres_reference/{create_reference,plain_insert}`: `store.create_reference` (the
//!   reference, its audit entry and the data-revision bump, atomically) vs a plain autocommit
//!   `INSERT` of a row of the same shape into `project_references` through a
//!   `postgres::Client` on the same database. The bar: ≥ 0.8× the plain insert's throughput.
//!   `plain_insert_with_audit_entry` adds only the reference's audit entry to that insert (one
//!   statement): what the audit log of docs/lifecycle.md costs by itself.
//! - `postgres_reference_4_writers/{create_reference,plain_insert}`: the same two with four
//!   threads writing at once (time per operation of the whole set, i.e. inverse throughput).
//!
//! Every run creates a fresh database on the server at `OPCORE_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and drops it at the end.
//! Run: `cargo bench --features postgres --bench postgres`
//! (shorter: `… --bench postgres -- --warm-up-time 1 --measurement-time 3`).

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use opcore::domain::secret::Argon2Params;
use opcore::{
    AuthRequest, Family, NewProject, NewReference, Options, RateLimit, RateLimits, Store,
    Synchronous,
};

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn unlimited() -> RateLimits {
    let l = RateLimit::new(u32::MAX, 1);
    RateLimits {
        track: l,
        export: l,
        insights: l,
        manage: l,
    }
}

fn options() -> Options {
    Options {
        argon2: Argon2Params {
            m_cost: 8,
            t_cost: 1,
            p_cost: 1,
        },
        synchronous: Synchronous::Normal,
        rate_limits: unlimited(),
        ..Options::default()
    }
}

/// A database of its own on the server, dropped (with its connections) when this is dropped.
struct FreshDb {
    server: String,
    name: String,
    url: String,
}

impl FreshDb {
    fn create() -> FreshDb {
        static N: AtomicU64 = AtomicU64::new(0);
        let server = std::env::var("OPCORE_TEST_POSTGRES_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| DEFAULT_URL.to_owned());
        let name = format!(
            "opcore_bench_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = postgres::Client::connect(&server, postgres::NoTls).unwrap_or_else(|e| {
            panic!("PostgreSQL is not reachable (OPCORE_TEST_POSTGRES_URL): {e}")
        });
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("cannot create the database {name}: {e}"));
        let mut url = url::Url::parse(&server).expect("OPCORE_TEST_POSTGRES_URL is a URL");
        url.set_path(&format!("/{name}"));
        FreshDb {
            server,
            name,
            url: url.to_string(),
        }
    }

    fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).expect("connect to the database")
    }
}

impl Drop for FreshDb {
    fn drop(&mut self) {
        if let Ok(mut admin) = postgres::Client::connect(&self.server, postgres::NoTls) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// An organization with its root client, and a project with its default client
/// (credentials as (id, secret)).
struct Seeded {
    root: (String, String),
    organization: String,
    project: String,
    site: (String, String),
}

fn seed(store: &Store) -> Seeded {
    let boot = store.create_organization("Bench").unwrap();
    let site = store
        .create_project(
            &boot.organization.id,
            &NewProject {
                name: "Site".into(),
                ..NewProject::default()
            },
        )
        .unwrap();
    Seeded {
        root: (
            boot.client.client.id.clone(),
            boot.client.secret.expose().to_owned(),
        ),
        organization: boot.organization.id,
        project: site.project.id,
        site: (
            site.client.id.clone(),
            site.client.secret.expose().to_owned(),
        ),
    }
}

fn request<'a>(family: Family, (id, secret): &'a (String, String)) -> AuthRequest<'a> {
    AuthRequest {
        client_id: Some(id),
        client_secret: Some(secret),
        ..AuthRequest::new(family)
    }
}

/// Now, in ms since the Unix epoch (the store's timestamps).
fn now_millis() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// The floor of `postgres_reference`: a reference's row and nothing else.
const PLAIN_INSERT: &str = "INSERT INTO project_references (id, project_id, title, description,
                                                date, created_at, updated_at, organization_id)
                            VALUES ($1, $2, $3, $4, $5, $6, $6, $7)";

/// One plain insert of a reference's row (a new id, now) with `insert`, a prepared
/// [`PLAIN_INSERT`].
fn plain_insert(client: &mut postgres::Client, insert: &postgres::Statement, seed: &Seeded) -> u64 {
    let id = uuid::Uuid::new_v4().hyphenated().to_string();
    client
        .execute(
            insert,
            &[
                &id,
                &seed.project,
                &"Release",
                &Some("v1.2.3 shipped"),
                &1_705_314_600_000i64,
                &now_millis(),
                &seed.organization,
            ],
        )
        .unwrap()
}

/// Writers running at once in the four-writer groups.
const WRITERS: u64 = 4;

/// Runs `writer(k, per)` on [`WRITERS`] threads at once (k the thread's index, per its share
/// of `iters` operations) and returns the time per operation of the whole set scaled to
/// `iters`, so that ratios of the results are ratios of throughput.
fn with_writers(iters: u64, writer: impl Fn(usize, u64) + Sync) -> Duration {
    let per = iters.div_ceil(WRITERS);
    let started = std::time::Instant::now();
    std::thread::scope(|s| {
        for k in 0..WRITERS {
            let writer = &writer;
            s.spawn(move || writer(usize::try_from(k).unwrap(), per));
        }
    });
    started.elapsed() * u32::try_from(iters).unwrap() / u32::try_from(per * WRITERS).unwrap()
}

fn bench(c: &mut Criterion) {
    let db = FreshDb::create();
    let pg = Store::open(&db.url, options()).expect("open the PostgreSQL store");
    let dir = tempfile::tempdir().unwrap();
    let lite = Store::open(dir.path().join("bench.db"), options()).expect("open the SQLite store");
    let pg_seed = seed(&pg);
    let lite_seed = seed(&lite);

    // (a) Cached Track authentication, SQLite and PostgreSQL side by side.
    let pg_track = request(Family::Track, &pg_seed.site);
    let lite_track = request(Family::Track, &lite_seed.site);
    pg.authenticate(&pg_track).unwrap();
    lite.authenticate(&lite_track).unwrap();
    // The access revision is read from memory once the listener is connected.
    std::thread::sleep(Duration::from_millis(200));
    let mut g = c.benchmark_group("postgres_auth");
    g.bench_function("sqlite_cached_track", |b| {
        b.iter(|| black_box(lite.authenticate(black_box(&lite_track)).unwrap()))
    });
    g.bench_function("postgres_cached_track", |b| {
        b.iter(|| black_box(pg.authenticate(black_box(&pg_track)).unwrap()))
    });
    g.finish();

    // (b) Cached Manage authentication on PostgreSQL (one round trip proves the client still
    // exists) next to a plain `SELECT 1` round trip on the same server.
    let pg_manage = request(Family::Manage, &pg_seed.root);
    pg.authenticate(&pg_manage).unwrap();
    let mut plain = db.client();
    let select_1 = plain.prepare("SELECT 1").unwrap();
    let mut g = c.benchmark_group("postgres_manage");
    g.bench_function("select_1", |b| {
        b.iter(|| black_box(plain.query_one(&select_1, &[]).unwrap().get::<_, i32>(0)))
    });
    g.bench_function("postgres_cached_manage", |b| {
        b.iter(|| black_box(pg.authenticate(black_box(&pg_manage)).unwrap()))
    });
    g.finish();

    // (c) Creating a reference vs a plain autocommit INSERT of a row of the same shape.
    let input = NewReference {
        project_id: pg_seed.project.clone(),
        title: "Release".into(),
        description: Some("v1.2.3 shipped".into()),
        datetime: Some("2024-01-15T10:30:00Z".into()),
    };
    let insert = plain.prepare(PLAIN_INSERT).unwrap();
    let mut g = c.benchmark_group("postgres_reference");
    g.sample_size(30);
    g.bench_function("plain_insert", |b| {
        b.iter(|| black_box(plain_insert(&mut plain, &insert, &pg_seed)))
    });
    // What the audit log alone costs: the same row and its audit entry (the columns the store
    // writes for `reference.create`) in one autocommit statement, and nothing else (no acting
    // check, no project check, no data revision).
    let with_audit = plain
        .prepare(
            "WITH inserted AS (
                 INSERT INTO project_references (id, project_id, title, description, date,
                                                 created_at, updated_at, organization_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $6, $7)
                 RETURNING id)
             INSERT INTO audit_log (id, organization_id, at, actor_client_id, action,
                                    resource_type, resource_id, project_id, changes)
             SELECT $8, $7, $6, NULL, 'reference.create', 'reference', id, $2,
                    '[\"projectId\",\"title\",\"description\",\"date\"]'
             FROM inserted",
        )
        .unwrap();
    g.bench_function("plain_insert_with_audit_entry", |b| {
        b.iter(|| {
            let id = uuid::Uuid::new_v4().hyphenated().to_string();
            let audit_id = uuid::Uuid::new_v4().hyphenated().to_string();
            let now = now_millis();
            black_box(
                plain
                    .execute(
                        &with_audit,
                        &[
                            &id,
                            &pg_seed.project,
                            &"Release",
                            &Some("v1.2.3 shipped"),
                            &1_705_314_600_000i64,
                            &now,
                            &pg_seed.organization,
                            &audit_id,
                        ],
                    )
                    .unwrap(),
            )
        })
    });
    g.bench_function("create_reference", |b| {
        b.iter(|| black_box(pg.create_reference(&pg_seed.organization, &input).unwrap()))
    });
    g.finish();

    // The bar's figure: the store's call interleaved with the plain insert, in alternating
    // batches (which goes first rotates too), so that a change of the machine's speed during
    // the run (a commit's flush on this virtual machine varies by tens of percent from one
    // minute to the next) falls on all alike: the ratio of the medians. Beside them, the call
    // as the Manage API makes it: acting for the authenticated client, whose existence the
    // statement checks too.
    let acting = pg.acting_as(&pg.authenticate(&pg_manage).unwrap());
    /// A measured operation: its name, one call, and its batches' times per call (ns).
    type Op<'a> = (&'static str, Box<dyn FnMut() + 'a>, Vec<f64>);
    let mut ops: [Op<'_>; 3] = [
        (
            "plain_insert",
            Box::new(|| {
                black_box(plain_insert(&mut plain, &insert, &pg_seed));
            }),
            Vec::new(),
        ),
        (
            "create_reference",
            Box::new(|| {
                black_box(pg.create_reference(&pg_seed.organization, &input).unwrap());
            }),
            Vec::new(),
        ),
        (
            "create_reference_acting",
            Box::new(|| {
                black_box(
                    acting
                        .create_reference(&pg_seed.organization, &input)
                        .unwrap(),
                );
            }),
            Vec::new(),
        ),
    ];
    const BATCH: u32 = 300;
    for round in 0..15 {
        for k in 0..ops.len() {
            let (_, op, times) = &mut ops[(round + k) % 3];
            let t = std::time::Instant::now();
            for _ in 0..BATCH {
                op();
            }
            times.push(t.elapsed().as_nanos() as f64 / f64::from(BATCH));
        }
    }
    let medians: Vec<(&str, f64)> = ops
        .iter_mut()
        .map(|(name, _, times)| {
            times.sort_by(f64::total_cmp);
            (*name, times[times.len() / 2] / 1000.0)
        })
        .collect();
    let floor = medians[0].1;
    for (name, median) in &medians {
        println!(
            "postgres_reference/interleaved/{name}: {median:.1} µs, rate {:.2}x of plain_insert \
             (medians of 15 rotating batches of {BATCH})",
            floor / median
        );
    }
    drop(ops);

    // (d) The same two with four writers at once (each plain writer on its own connection,
    // the store with its pool): what concurrent writes of several nodes' requests share.
    let plain_writers: Vec<std::sync::Mutex<postgres::Client>> = (0..WRITERS)
        .map(|_| std::sync::Mutex::new(db.client()))
        .collect();
    let mut g = c.benchmark_group("postgres_reference_4_writers");
    g.sample_size(20);
    g.bench_function("plain_insert", |b| {
        b.iter_custom(|iters| {
            with_writers(iters, |k, per| {
                let mut client = plain_writers[k].lock().unwrap();
                let insert = client.prepare(PLAIN_INSERT).unwrap();
                for _ in 0..per {
                    plain_insert(&mut client, &insert, &pg_seed);
                }
            })
        })
    });
    for (name, store) in [
        ("create_reference", &pg),
        ("create_reference_acting", &acting),
    ] {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                with_writers(iters, |_, per| {
                    for _ in 0..per {
                        store
                            .create_reference(&pg_seed.organization, &input)
                            .unwrap();
                    }
                })
            })
        });
    }
    g.finish();
    drop(plain_writers);

    // The store's connections close before the database is dropped.
    drop(pg);
    drop(plain);
    drop(db);
}

criterion_group!(benches, bench);
criterion_main!(benches);
