//! Performance bars of opcore, each next to the baseline it is judged against (BENCHMARKS.md).
//! Run: `cargo bench --bench core` then `python3 scripts/bench-report.py`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::hint::black_box;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use hmac::{Hmac, Mac};
use opcore::auth::cache::{CachedClient, CredentialCache, LastUse};
use opcore::auth::ratelimit::RateLimiter;
use opcore::domain::secret::{Argon2Params, Secret, SecretHasher};
use opcore::manage::{handle, Request};
use opcore::{
    AuthRequest, ClientType, Family, NewProject, NewReference, Options, RateLimit, RateLimits,
    Store, Synchronous,
};
use sha2::Sha256;

/// Counts live heap bytes, for the memory bar.
struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const FAST: Argon2Params = Argon2Params {
    m_cost: 8,
    t_cost: 1,
    p_cost: 1,
};

fn unlimited() -> RateLimits {
    let l = RateLimit::new(u32::MAX, 1);
    RateLimits {
        track: l,
        export: l,
        insights: l,
        manage: l,
    }
}

fn open(dir: &tempfile::TempDir, argon2: Argon2Params, sync: Synchronous) -> Store {
    Store::open(
        dir.path().join("bench.db"),
        Options {
            argon2,
            synchronous: sync,
            rate_limits: unlimited(),
            ..Options::default()
        },
    )
    .expect("open")
}

/// An organization with one project named `P`: (organization id, project id).
fn org_and_project(store: &Store, organization: &str) -> (String, String) {
    let org = store
        .create_organization(organization)
        .unwrap()
        .organization
        .id;
    let project = store
        .create_project(
            &org,
            &NewProject {
                name: "P".into(),
                ..NewProject::default()
            },
        )
        .unwrap()
        .project
        .id;
    (org, project)
}

/// Bar 1: cached authentication on Track (the ingestion hot path) vs HMAC-SHA-256(id, secret),
/// a HashMap lookup and a governor check; and, reported beside it, cached Manage authentication,
/// which adds its per-call check that the client still exists (one indexed read).
fn cached_auth(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, FAST, Synchronous::Normal);
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
    let id = site.client.id.clone();
    let secret = site.client.secret.expose().to_owned();
    let req = AuthRequest {
        client_id: Some(&id),
        client_secret: Some(&secret),
        ..AuthRequest::new(Family::Track)
    };
    store.authenticate(&req).unwrap();
    c.bench_function("bar1/cached_authenticate", |b| {
        b.iter(|| black_box(store.authenticate(black_box(&req)).unwrap()))
    });
    let root_id = boot.client.client.id.clone();
    let root_secret = boot.client.secret.expose().to_owned();
    let manage = AuthRequest {
        client_id: Some(&root_id),
        client_secret: Some(&root_secret),
        ..AuthRequest::new(Family::Manage)
    };
    store.authenticate(&manage).unwrap();
    c.bench_function("bar1_manage/cached_authenticate_manage", |b| {
        b.iter(|| black_box(store.authenticate(black_box(&manage)).unwrap()))
    });

    let mac = Hmac::<Sha256>::new_from_slice(&[7u8; 32]).unwrap();
    let mut map = HashMap::new();
    let key = |id: &str, secret: &str| -> [u8; 32] {
        let mut m = mac.clone();
        m.update(&(id.len() as u64).to_be_bytes());
        m.update(id.as_bytes());
        m.update(&(secret.len() as u64).to_be_bytes());
        m.update(secret.as_bytes());
        m.finalize().into_bytes().into()
    };
    map.insert(key(&id, &secret), id.clone());
    let limiter = governor::RateLimiter::keyed(governor::Quota::per_second(
        NonZeroU32::new(u32::MAX).unwrap(),
    ));
    c.bench_function("bar1/baseline_hmac_map_governor", |b| {
        b.iter(|| {
            let k = key(black_box(&id), black_box(&secret));
            let who = map.get(&k).unwrap();
            black_box(limiter.check_key(who).is_ok())
        })
    });
}

/// Bar 2: uncached authentication vs one bare argon2 verify, default parameters.
fn uncached_auth(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        dir.path().join("bench.db"),
        Options {
            rate_limits: unlimited(),
            credential_cache_capacity: 1,
            synchronous: Synchronous::Normal,
            ..Options::default()
        },
    )
    .unwrap();
    let a = store.create_organization("A").unwrap();
    let b2 = store.create_organization("B").unwrap();
    let creds = [
        (
            a.client.client.id.clone(),
            a.client.secret.expose().to_owned(),
        ),
        (
            b2.client.client.id.clone(),
            b2.client.secret.expose().to_owned(),
        ),
    ];
    let mut i = 0usize;
    let mut g = c.benchmark_group("bar2");
    g.sample_size(20);
    g.bench_function("uncached_authenticate", |b| {
        b.iter(|| {
            // Alternating between two clients with a one-entry cache: every call misses.
            i += 1;
            let (id, secret) = &creds[i % 2];
            black_box(
                store
                    .authenticate(&AuthRequest {
                        client_id: Some(id),
                        client_secret: Some(secret),
                        ..AuthRequest::new(Family::Manage)
                    })
                    .unwrap(),
            )
        })
    });
    let hasher = SecretHasher::new(Argon2Params::default()).unwrap();
    let secret = Secret::generate();
    let phc = hasher.hash(&secret).unwrap();
    g.bench_function("baseline_argon2_verify", |b| {
        b.iter(|| black_box(hasher.verify(&phc, secret.expose())))
    });
    g.finish();
}

/// Bar 3: GET /manage/projects/{id} vs cached auth + one prepare_cached row read + serde_json.
fn manage_get(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, FAST, Synchronous::Normal);
    let boot = store.create_organization("Bench").unwrap();
    let org = boot.organization.id.clone();
    let project = store
        .create_project(
            &org,
            &NewProject {
                name: "My Project".into(),
                cors: vec!["https://example.com".into()],
                ..NewProject::default()
            },
        )
        .unwrap()
        .project;
    let id = boot.client.client.id.clone();
    let secret = boot.client.secret.expose().to_owned();
    let headers = [
        ("openpanel-client-id", id.as_str()),
        ("openpanel-client-secret", secret.as_str()),
    ];
    let target = format!("/manage/projects/{}", project.id);
    let req = Request {
        headers: &headers,
        ..Request::new("GET", &target)
    };
    assert_eq!(handle(&store, &req).status, 200);
    c.bench_function("bar3/manage_get_project", |b| {
        b.iter(|| black_box(handle(&store, black_box(&req))))
    });

    let conn = rusqlite::Connection::open(dir.path().join("bench.db")).unwrap();
    let auth = AuthRequest {
        client_id: Some(&id),
        client_secret: Some(&secret),
        ..AuthRequest::new(Family::Manage)
    };
    c.bench_function("bar3/baseline_auth_row_json", |b| {
        b.iter(|| {
            let who = store.authenticate(&auth).unwrap();
            let mut stmt = conn
                .prepare_cached(
                    "SELECT id, name, organization_id, domain, cors, cross_domain,
                            allow_unsafe_revenue_tracking, filters, types, events_count,
                            created_at, updated_at, delete_at
                     FROM projects WHERE id = ?1 AND organization_id = ?2",
                )
                .unwrap();
            let row = stmt
                .query_row((&project.id, &who.organization_id), |r| {
                    Ok(serde_json::json!({
                        "id": r.get::<_, String>(0)?, "name": r.get::<_, String>(1)?,
                        "organizationId": r.get::<_, String>(2)?,
                        "domain": r.get::<_, Option<String>>(3)?,
                        "cors": serde_json::from_str::<serde_json::Value>(&r.get::<_, String>(4)?).unwrap(),
                        "crossDomain": r.get::<_, bool>(5)?,
                        "allowUnsafeRevenueTracking": r.get::<_, bool>(6)?,
                        "filters": serde_json::from_str::<serde_json::Value>(&r.get::<_, String>(7)?).unwrap(),
                        "types": serde_json::from_str::<serde_json::Value>(&r.get::<_, String>(8)?).unwrap(),
                        "eventsCount": r.get::<_, i64>(9)?,
                        "createdAt": r.get::<_, i64>(10)?, "updatedAt": r.get::<_, i64>(11)?,
                        "deleteAt": r.get::<_, Option<i64>>(12)?,
                    }))
                })
                .unwrap();
            black_box(serde_json::to_vec(&serde_json::json!({ "data": row })).unwrap())
        })
    });
}

/// Bar 4: `opc_handle` through the C ABI vs `manage::handle`, same request, same store file.
fn c_abi_overhead(c: &mut Criterion) {
    use std::ffi::{c_char, CStr, CString};
    use std::ptr;
    let dir = tempfile::tempdir().unwrap();
    let path = CString::new(dir.path().join("bench.db").to_str().unwrap()).unwrap();
    let options = CString::new(
        r#"{"argon2":{"m_cost":8,"t_cost":1,"p_cost":1},"synchronous":"normal",
            "rate_limits":{"manage":{"limit":4000000000,"window_seconds":1}}}"#,
    )
    .unwrap();
    let mut store = ptr::null_mut();
    let mut boot_json: *mut c_char = ptr::null_mut();
    let name = CString::new("Bench").unwrap();
    // SAFETY: valid NUL-terminated strings and out-pointers, as the header documents.
    let boot: serde_json::Value = unsafe {
        assert_eq!(
            opcore::ffi::opc_store_open(path.as_ptr(), options.as_ptr(), &mut store) as u32,
            0
        );
        assert_eq!(
            opcore::ffi::opc_organization_create(store, name.as_ptr(), &mut boot_json) as u32,
            0
        );
        let v = serde_json::from_str(CStr::from_ptr(boot_json).to_str().unwrap()).unwrap();
        opcore::ffi::opc_string_free(boot_json);
        v
    };
    let id = boot["client"]["id"].as_str().unwrap().to_owned();
    let secret = boot["client"]["secret"].as_str().unwrap().to_owned();
    let c_names = [
        CString::new("openpanel-client-id").unwrap(),
        CString::new("openpanel-client-secret").unwrap(),
    ];
    let c_values = [
        CString::new(id.clone()).unwrap(),
        CString::new(secret.clone()).unwrap(),
    ];
    let names: Vec<*const c_char> = c_names.iter().map(|s| s.as_ptr()).collect();
    let values: Vec<*const c_char> = c_values.iter().map(|s| s.as_ptr()).collect();
    let method = CString::new("GET").unwrap();
    let target = CString::new("/manage/projects").unwrap();
    let call_c = || unsafe {
        let mut response = ptr::null_mut();
        let status = opcore::ffi::opc_handle(
            store,
            method.as_ptr(),
            target.as_ptr(),
            names.as_ptr(),
            values.as_ptr(),
            2,
            ptr::null(),
            0,
            &mut response,
        );
        assert_eq!(status as u32, 0);
        black_box(opcore::ffi::opc_response_status(response));
        opcore::ffi::opc_response_free(response);
    };
    call_c();
    c.bench_function("bar4/opc_handle_get_projects", |b| b.iter(call_c));

    // The same request through the Rust function, on a second handle to the same file.
    let rust_store = Store::open(
        dir.path().join("bench.db"),
        Options {
            argon2: FAST,
            synchronous: Synchronous::Normal,
            rate_limits: unlimited(),
            ..Options::default()
        },
    )
    .unwrap();
    let headers = [
        ("openpanel-client-id", id.as_str()),
        ("openpanel-client-secret", secret.as_str()),
    ];
    let req = Request {
        headers: &headers,
        ..Request::new("GET", "/manage/projects")
    };
    assert_eq!(handle(&rust_store, &req).status, 200);
    c.bench_function("bar4/manage_handle_get_projects", |b| {
        b.iter(|| black_box(handle(&rust_store, black_box(&req))))
    });
    // SAFETY: the store was opened above and is closed once.
    unsafe { opcore::ffi::opc_store_close(store) };
}

/// Bar 5: reference insert (autocommit, synchronous=full) vs a raw rusqlite insert of the same
/// row. (Listing references is measured by `benches/lists.rs`.)
fn references(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, FAST, Synchronous::Full);
    let (org, project) = org_and_project(&store, "Bench");
    let input = NewReference {
        project_id: project.clone(),
        title: "Release".into(),
        description: Some("v1.2.3 shipped".into()),
        datetime: Some("2024-01-15T10:30:00Z".into()),
    };
    let mut g = c.benchmark_group("bar5");
    g.sample_size(30);
    g.bench_function("create_reference_full_sync", |b| {
        b.iter(|| black_box(store.create_reference(&org, &input).unwrap()))
    });
    let raw = rusqlite::Connection::open(dir.path().join("bench.db")).unwrap();
    raw.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
        .unwrap();
    raw.busy_timeout(Duration::from_secs(10)).unwrap();
    g.bench_function("baseline_raw_insert_full_sync", |b| {
        b.iter(|| {
            let id = uuid::Uuid::new_v4().hyphenated().to_string();
            raw.prepare_cached(
                "INSERT INTO project_references (id, project_id, title, description, date,
                                                 created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            )
            .unwrap()
            .execute((
                &id,
                &project,
                "Release",
                "v1.2.3 shipped",
                1_705_314_600_000i64,
                1i64,
            ))
            .unwrap()
        })
    });
    g.finish();
}

/// Bar 6: creating the 10,000th same-named project vs the 2nd (minimal argon2), both in a store
/// holding 10,000 projects.
fn project_ids(c: &mut Criterion) {
    let template = tempfile::tempdir().unwrap();
    let org = {
        let store = open(&template, FAST, Synchronous::Normal);
        let org = store.create_organization("Ids").unwrap().organization.id;
        for _ in 0..9_999 {
            store
                .create_project(
                    &org,
                    &NewProject {
                        name: "Same".into(),
                        ..NewProject::default()
                    },
                )
                .unwrap();
        }
        org
    };
    // The 2nd of a name in a store of the same size (9,998 projects of other names before it),
    // so both sides read B-trees of the same depth and only the number of same-named projects
    // differs.
    let fresh = tempfile::tempdir().unwrap();
    let fresh_org = {
        let store = open(&fresh, FAST, Synchronous::Normal);
        let org = store.create_organization("Ids").unwrap().organization.id;
        for i in 0..9_998 {
            store
                .create_project(
                    &org,
                    &NewProject {
                        name: format!("Other {i}"),
                        ..NewProject::default()
                    },
                )
                .unwrap();
        }
        store
            .create_project(
                &org,
                &NewProject {
                    name: "Same".into(),
                    ..NewProject::default()
                },
            )
            .unwrap();
        org
    };
    let input = NewProject {
        name: "Same".into(),
        ..NewProject::default()
    };
    let mut g = c.benchmark_group("bar6");
    g.sample_size(30);
    for (name, dir, org) in [
        ("create_2nd_same_name", &fresh, &fresh_org),
        ("create_10000th_same_name", &template, &org),
    ] {
        let store = open(dir, FAST, Synchronous::Normal);
        // Each measured create is undone (outside the timing) so every sample creates the same
        // n-th project: the id counter is reset with the project.
        let db = dir.path().join("bench.db");
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let raw = rusqlite::Connection::open(&db).unwrap();
                raw.execute_batch("PRAGMA foreign_keys = ON").unwrap();
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    let p = store.create_project(org, &input).unwrap();
                    total += start.elapsed();
                    raw.execute_batch(&format!(
                        "DELETE FROM projects WHERE id = '{id}';
                         DELETE FROM issued_ids WHERE id = '{id}';
                         UPDATE id_counters SET next = next - 1 WHERE base = 'same';",
                        id = p.project.id
                    ))
                    .unwrap();
                }
                total
            })
        });
    }
    g.finish();
}

/// Bar 7: one rate-limit decision; two threads on different keys vs one.
fn rate_limit(c: &mut Criterion) {
    // As `Authenticator` holds them: one limiter per family, keyed by the client id.
    let limiter: RateLimiter<Arc<str>> = RateLimiter::new();
    let key: Arc<str> = "6f1f2d3c-4b5a-4c7d-8e9f-0a1b2c3d4e5f".into();
    let limit = RateLimit::new(u32::MAX, 10);
    let mut now = 0i64;
    c.bench_function("bar7/rate_limit_decision", |b| {
        b.iter(|| {
            now += 1;
            black_box(limiter.check(&key, limit, now))
        })
    });
    let limiter = Arc::new(limiter);
    let run = |threads: usize, per_thread: u64| -> Duration {
        let start = Instant::now();
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let limiter = limiter.clone();
                std::thread::spawn(move || {
                    let key: Arc<str> = format!("client-{t}").into();
                    for i in 0..per_thread {
                        black_box(limiter.check(&key, limit, i as i64));
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        start.elapsed()
    };
    let mut g = c.benchmark_group("bar7_threads");
    g.bench_function("one_thread_1M", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| run(1, 1_000_000)).sum())
    });
    g.bench_function("two_threads_1M_each", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| run(2, 1_000_000)).sum())
    });
    g.finish();
}

/// Bar 8: opening a store holding 100,000 clients; memory of 100,000 cached credentials.
fn open_and_memory(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(&dir, FAST, Synchronous::Normal);
        let (org, project) = org_and_project(&store, "Many");
        for i in 0..100_000 {
            store
                .create_client(
                    &org,
                    &opcore::NewClient {
                        name: format!("client {i}"),
                        project_id: Some(project.clone()),
                        client_type: ClientType::Read,
                        ..opcore::NewClient::default()
                    },
                )
                .unwrap();
        }
    }
    let mut g = c.benchmark_group("bar8");
    g.sample_size(30);
    g.bench_function("open_store_100k_clients", |b| {
        b.iter(|| black_box(open(&dir, FAST, Synchronous::Full)))
    });
    g.finish();

    let before = LIVE.load(Ordering::Relaxed);
    let cache = CredentialCache::new(100_000);
    for i in 0..100_000u32 {
        let id = uuid::Uuid::new_v4().hyphenated().to_string();
        cache.insert(
            cache.key(&id, "sec_0123456789abcdef0123456789abcdef"),
            0,
            CachedClient {
                client_id: id.as_str().into(),
                organization_id: "organization".into(),
                client_type: ClientType::Read,
                project_id: Some(format!("project-{}", i % 100).as_str().into()),
                ignore_cors_and_secret: false,
                project_delete_at: None,
                tier: None,
                expires_at: None,
                secret_until: None,
                last_used: LastUse::default(),
            },
        );
    }
    let bytes = LIVE.load(Ordering::Relaxed) - before;
    println!(
        "bar8/cache_100k_credentials_bytes: {bytes} ({:.1} MiB, {} entries)",
        bytes as f64 / (1024.0 * 1024.0),
        cache.len()
    );
    let report =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/criterion/bar8-memory.txt");
    let _ = std::fs::create_dir_all(report.parent().unwrap());
    let _ = std::fs::write(report, format!("{bytes}\n"));
    black_box(cache);
}

criterion_group!(
    benches,
    cached_auth,
    uncached_auth,
    manage_get,
    c_abi_overhead,
    references,
    project_ids,
    rate_limit,
    open_and_memory
);
criterion_main!(benches);
