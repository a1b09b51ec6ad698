//! The lists' bars (BENCHMARKS.md, "Lists"), each next to the floor it is judged against:
//! 1. `GET /manage/references` of 10,000 references through `manage::handle` (authentication
//!    cached) vs a floor: the same rows read by SQLite and written as typed JSON;
//! 2. page 1,000 vs page 1 of a list of 1,000,000 references (`limit=1000`).
//!
//! Run: `cargo bench --no-default-features --bench lists`.

use std::hint::black_box;
use std::io::Write;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use opcore::domain::secret::Argon2Params;
use opcore::manage::{handle, Request};
use opcore::{NewProject, NewReference, Options, RateLimit, RateLimits, Store, Synchronous};
use serde::Serialize;

const FAST: Argon2Params = Argon2Params {
    m_cost: 8,
    t_cost: 1,
    p_cost: 1,
};

fn open(dir: &tempfile::TempDir) -> Store {
    let l = RateLimit::new(u32::MAX, 1);
    Store::open(
        dir.path().join("bench.db"),
        Options {
            argon2: FAST,
            synchronous: Synchronous::Normal,
            rate_limits: RateLimits {
                track: l,
                export: l,
                insights: l,
                manage: l,
            },
            ..Options::default()
        },
    )
    .expect("open")
}

/// A store with one organization and one project: (store, root id, root secret, project id).
fn store_with_project(dir: &tempfile::TempDir) -> (Store, String, String, String, String) {
    let store = open(dir);
    let boot = store.create_organization("Bench").unwrap();
    let org = boot.organization.id.clone();
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
    let id = boot.client.client.id.clone();
    let secret = boot.client.secret.expose().to_owned();
    (store, org, id, secret, project)
}

/// A timestamp formatted the simplest allocation-free way: the `time` crate's calendar,
/// written into a stack buffer.
struct Rfc3339(i64);

impl Serialize for Rfc3339 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let dt = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000)
            .map_err(serde::ser::Error::custom)?;
        let mut buf = [0u8; 24];
        let mut w = &mut buf[..];
        write!(
            w,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            dt.year(),
            u8::from(dt.month()),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second(),
            dt.millisecond()
        )
        .map_err(serde::ser::Error::custom)?;
        s.serialize_str(std::str::from_utf8(&buf).map_err(serde::ser::Error::custom)?)
    }
}

/// One reference as the floor writes it: borrowed straight from SQLite's row.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FloorReference<'a> {
    id: &'a str,
    project_id: &'a str,
    title: &'a str,
    description: Option<&'a str>,
    date: Rfc3339,
    created_at: Rfc3339,
    updated_at: Rfc3339,
}

/// Bar 1: listing 10,000 references as JSON.
fn list_10000(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let (store, _org, id, secret, project) = store_with_project(&dir);
    for i in 0..10_000 {
        store
            .create_reference(
                &_org,
                &NewReference {
                    project_id: project.clone(),
                    title: format!("Reference {i}"),
                    description: (i % 2 == 0).then(|| format!("Shipped release {i}")),
                    datetime: Some("2024-01-15T10:30:00Z".into()),
                },
            )
            .unwrap();
    }
    let headers = [
        ("openpanel-client-id", id.as_str()),
        ("openpanel-client-secret", secret.as_str()),
    ];
    let req = Request {
        headers: &headers,
        ..Request::new("GET", "/manage/references")
    };
    let first = handle(&store, &req);
    assert_eq!(first.status, 200);

    let raw = rusqlite::Connection::open(dir.path().join("bench.db")).unwrap();
    let floor = || -> Vec<u8> {
        let mut stmt = raw
            .prepare_cached(
                "SELECT id, project_id, title, description, date, created_at, updated_at
                 FROM project_references WHERE project_id = ?1
                 ORDER BY created_at DESC, id DESC",
            )
            .unwrap();
        let mut rows = stmt.query([&project]).unwrap();
        let mut out = Vec::new();
        out.extend_from_slice(b"{\"data\":[");
        let mut first = true;
        while let Some(r) = rows.next().unwrap() {
            if !first {
                out.push(b',');
            }
            first = false;
            let row = FloorReference {
                id: r.get_ref(0).unwrap().as_str().unwrap(),
                project_id: r.get_ref(1).unwrap().as_str().unwrap(),
                title: r.get_ref(2).unwrap().as_str().unwrap(),
                description: r.get_ref(3).unwrap().as_str_or_null().unwrap(),
                date: Rfc3339(r.get(4).unwrap()),
                created_at: Rfc3339(r.get(5).unwrap()),
                updated_at: Rfc3339(r.get(6).unwrap()),
            };
            serde_json::to_writer(&mut out, &row).unwrap();
        }
        out.extend_from_slice(b"]}");
        out
    };
    // Both produce the same bytes: the floor does exactly the work of the real path.
    assert_eq!(floor(), first.body, "the floor and the API disagree");

    let mut g = c.benchmark_group("lists_10000");
    g.sample_size(30);
    g.bench_function("manage_get_references", |b| {
        b.iter(|| black_box(handle(&store, black_box(&req))))
    });
    g.bench_function("floor_select_typed_json", |b| b.iter(|| black_box(floor())));
    g.finish();
}

/// Bar 2: page 1 vs page 1,000 of 1,000,000 references, `limit=1000`.
///
/// The million rows are written straight into the store's file in one transaction (the same
/// columns `create_reference` writes; ten rows share each `createdAt`), because a million
/// single-row transactions through the API would take most of an hour of setup.
fn page_position(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let (store, org, id, secret, project) = store_with_project(&dir);
    {
        let mut raw = rusqlite::Connection::open(dir.path().join("bench.db")).unwrap();
        raw.execute_batch("PRAGMA synchronous = OFF").unwrap();
        let tx = raw.transaction().unwrap();
        {
            let mut insert = tx
                .prepare(
                    "INSERT INTO project_references (id, project_id, title, description, date,
                                                     created_at, updated_at, organization_id)
                     VALUES (?1, ?2, ?3, NULL, ?4, ?4, ?4, ?5)",
                )
                .unwrap();
            for i in 0..1_000_000i64 {
                let t = 1_705_314_600_000 + i / 10;
                insert
                    .execute((
                        uuid::Uuid::new_v4().hyphenated().to_string(),
                        &project,
                        format!("Reference {i}"),
                        t,
                        &org,
                    ))
                    .unwrap();
            }
        }
        tx.commit().unwrap();
        raw.execute_batch("ANALYZE").unwrap();
    }
    let headers = [
        ("openpanel-client-id", id.as_str()),
        ("openpanel-client-secret", secret.as_str()),
    ];
    let get = |target: &str| {
        let r = handle(
            &store,
            &Request {
                headers: &headers,
                ..Request::new("GET", target)
            },
        );
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        r
    };
    // Walk to page 1,000 once, the way a client does.
    let mut target = "/manage/references?limit=1000".to_owned();
    let page_1 = target.clone();
    for _ in 1..1000 {
        let next = get(&target).json()["nextCursor"]
            .as_str()
            .expect("more pages")
            .to_owned();
        target = format!("/manage/references?limit=1000&cursor={next}");
    }
    let page_1000 = target;
    let last = get(&page_1000).json();
    assert_eq!(last["data"].as_array().unwrap().len(), 1000);
    assert!(last.get("nextCursor").is_none(), "page 1,000 is the last");

    let mut g = c.benchmark_group("lists_1m");
    g.sample_size(50);
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("page_1", |b| b.iter(|| black_box(get(&page_1))));
    g.bench_function("page_1000", |b| b.iter(|| black_box(get(&page_1000))));
    g.finish();
}

criterion_group!(benches, list_10000, page_position);
criterion_main!(benches);
