//! Lists (docs/behaviour.md#lists): everything by default; with `limit`, pages that carry a
//! `nextCursor` while more rows remain and continue exactly after the last row returned, even
//! while rows are created and deleted between pages, with ties on `createdAt`. Every Manage
//! exchange here is checked against openapi.json by the harness.

mod common;

use std::collections::{BTreeMap, HashSet};

use common::{Env, T0};
use opcore::{Error, ListOptions, NewClient, NewProject, NewReference, Page, Store};
use proptest::prelude::*;
use serde_json::{json, Value};

const LIMIT_MESSAGE: &str = "Expected an integer from 1 to 1000";
const CURSOR_MESSAGE: &str = "Invalid cursor: pass back the nextCursor of the same list";

fn ids(data: &Value) -> Vec<String> {
    data.as_array()
        .expect("array")
        .iter()
        .map(|v| v["id"].as_str().expect("id").to_owned())
        .collect()
}

/// Asserts a 400 `Invalid query parameters` naming exactly these parameters and messages.
fn assert_query_error(r: &common::Res, expected: &[(&str, &str)]) {
    assert_eq!(r.status, 400, "{}", r.body);
    let details: Vec<Value> = expected
        .iter()
        .map(|(field, message)| json!({"path": [field], "message": message}))
        .collect();
    assert_eq!(
        r.body,
        json!({"error": "Bad Request", "message": "Invalid query parameters", "details": details})
    );
}

/// Every page of `base` (a list target, with or without a query) at `limit`, following
/// `nextCursor`; returns the ids in order and checks that only the last page lacks a cursor.
fn all_pages(env: &Env, base: &str, limit: u32) -> Vec<String> {
    let sep = if base.contains('?') { '&' } else { '?' };
    let mut target = format!("{base}{sep}limit={limit}");
    let mut out = Vec::new();
    for _ in 0..10_000 {
        let r = env.get(&target);
        let page = ids(r.data());
        assert!(page.len() <= limit as usize);
        out.extend(page.iter().cloned());
        match r.body.get("nextCursor") {
            Some(next) => {
                assert_eq!(page.len(), limit as usize, "a short page with a cursor");
                let next = next.as_str().expect("string cursor");
                target = format!("{base}{sep}limit={limit}&cursor={next}");
            }
            None => return out,
        }
    }
    panic!("pagination did not end");
}

#[test]
fn without_limit_lists_are_everything_and_carry_no_cursor() {
    let env = Env::new();
    let p = env.project("Alpha")["id"].as_str().unwrap().to_owned();
    for i in 0..5 {
        env.clock.advance_ms(1);
        env.reference(&p, &format!("r{i}"));
    }
    let r = env.get("/manage/references");
    assert_eq!(r.data().as_array().unwrap().len(), 5);
    assert_eq!(
        r.body.as_object().unwrap().len(),
        1,
        "only data: {}",
        r.body
    );
    let titles: Vec<&str> = r
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["r4", "r3", "r2", "r1", "r0"]);
    // A limit that covers everything: no cursor either (nothing remains).
    let r = env.get("/manage/references?limit=5");
    assert_eq!(r.data().as_array().unwrap().len(), 5);
    assert!(r.body.get("nextCursor").is_none(), "{}", r.body);
    let r = env.get("/manage/references?limit=4");
    assert_eq!(r.data().as_array().unwrap().len(), 4);
    assert!(r.body["nextCursor"].is_string());
    // A cursor without a limit: everything after it.
    let next = r.body["nextCursor"].as_str().unwrap().to_owned();
    let rest = env.get(&format!("/manage/references?cursor={next}"));
    assert_eq!(
        rest.data()
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["title"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["r0"]
    );
    assert!(rest.body.get("nextCursor").is_none());
    // An empty cursor is the first page.
    let first = env.get("/manage/references?limit=2&cursor=");
    assert_eq!(
        ids(first.data()),
        ids(&env.get("/manage/references?limit=2").body["data"])
    );
}

#[test]
fn pages_cover_every_list_exactly_once_with_ties() {
    let env = Env::new();
    // The clock stands still: every row below shares one createdAt.
    let mut projects = Vec::new();
    for i in 0..7 {
        projects.push(
            env.project(&format!("Project {i}"))["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    for i in 0..9 {
        env.reference(&projects[i % 2], &format!("r{i}"));
        env.client(&format!("c{i}"), "read", Some(&projects[i % 3]));
    }
    for base in [
        "/manage/projects".to_owned(),
        "/manage/clients".to_owned(),
        format!("/manage/clients?projectId={}", projects[0]),
        "/manage/references".to_owned(),
        format!("/manage/references?projectId={}", projects[1]),
        "/api/manage/references".to_owned(),
    ] {
        let everything = ids(env.get(&base).data());
        assert!(everything.len() >= 3, "{base}");
        // Ties on createdAt are ordered by id, descending.
        let mut sorted = everything.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(everything, sorted, "{base}");
        for limit in [1, 2, 3, 1000] {
            assert_eq!(
                all_pages(&env, &base, limit),
                everything,
                "{base} limit {limit}"
            );
        }
    }
}

#[test]
fn a_page_continues_after_its_last_row_even_once_that_row_is_gone() {
    let env = Env::new();
    let p = env.project("Alpha")["id"].as_str().unwrap().to_owned();
    let mut made = Vec::new();
    for i in 0..6 {
        env.clock.advance_ms(1);
        made.push(
            env.reference(&p, &format!("r{i}"))["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let first = env.get("/manage/references?limit=2");
    assert_eq!(ids(first.data()), [made[5].clone(), made[4].clone()]);
    let next = first.body["nextCursor"].as_str().unwrap().to_owned();
    // The last row returned is deleted, a newer row appears, an older row is deleted.
    env.delete(&format!("/manage/references/{}", made[4]))
        .data_success();
    env.clock.advance_ms(1);
    env.reference(&p, "newer");
    env.delete(&format!("/manage/references/{}", made[2]))
        .data_success();
    let second = env.get(&format!("/manage/references?limit=2&cursor={next}"));
    assert_eq!(ids(second.data()), [made[3].clone(), made[1].clone()]);
    let next = second.body["nextCursor"].as_str().unwrap().to_owned();
    let third = env.get(&format!("/manage/references?limit=2&cursor={next}"));
    assert_eq!(ids(third.data()), [made[0].clone()]);
    assert!(third.body.get("nextCursor").is_none());
}

trait Success {
    fn data_success(&self);
}

impl Success for common::Res {
    fn data_success(&self) {
        assert_eq!(self.body, json!({"success": true}), "{}", self.body);
    }
}

#[test]
fn bad_limits_are_400s_naming_limit() {
    let env = Env::new();
    for list in ["/manage/projects", "/manage/clients", "/manage/references"] {
        for bad in [
            "0",
            "1001",
            "-1",
            "+5",
            "1.0",
            "1e2",
            "",
            "abc",
            " 5",
            "5 ",
            "0x10",
            "99999999999",
            "%35%00",
        ] {
            let r = env.get(&format!("{list}?limit={bad}"));
            assert_query_error(&r, &[("limit", LIMIT_MESSAGE)]);
        }
        let r = env.get(&format!("{list}?limit=5&limit=6"));
        assert_query_error(&r, &[("limit", "Given more than once")]);
        for good in ["1", "1000", "007"] {
            assert_eq!(env.get(&format!("{list}?limit={good}")).status, 200);
        }
    }
    // Both wrong: both named.
    let r = env.get("/manage/projects?limit=0&cursor=nope");
    assert_query_error(&r, &[("limit", LIMIT_MESSAGE), ("cursor", CURSOR_MESSAGE)]);
}

#[test]
fn forged_or_foreign_cursors_are_400s_naming_cursor_never_500s() {
    let env = Env::new();
    let p = env.project("Alpha")["id"].as_str().unwrap().to_owned();
    env.reference(&p, "a");
    env.reference(&p, "b");
    env.client("c", "read", None);
    let cursor_of = |list: &str| {
        env.get(&format!("{list}?limit=1")).body["nextCursor"]
            .as_str()
            .expect("cursor")
            .to_owned()
    };
    let references = cursor_of("/manage/references");
    let clients = cursor_of("/manage/clients");
    env.project("Beta");
    let projects = cursor_of("/manage/projects");
    // A cursor of one list is refused by another.
    for (list, foreign) in [
        ("/manage/projects", &references),
        ("/manage/clients", &references),
        ("/manage/references", &clients),
        ("/manage/references", &projects),
    ] {
        let r = env.get(&format!("{list}?limit=1&cursor={foreign}"));
        assert_query_error(&r, &[("cursor", CURSOR_MESSAGE)]);
    }
    let mut flipped = references.clone().into_bytes();
    let last = flipped.len() - 1;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let long = "A".repeat(5000);
    for bad in [
        "x",
        "AAAA",
        "%00",
        "'%20OR%201=1",
        &format!("{references}="),
        &format!("{references}AA"),
        &references[..references.len() - 2],
        &flipped,
        long.as_str(),
    ] {
        let r = env.get(&format!("/manage/references?limit=1&cursor={bad}"));
        if r.status == 200 {
            // Flipping the last character can land on another valid position: then it must
            // still be a well-formed page of this organization.
            assert_eq!(bad, flipped, "accepted {bad:?}");
            continue;
        }
        assert_query_error(&r, &[("cursor", CURSOR_MESSAGE)]);
    }
    let r = env.get(&format!(
        "/manage/references?limit=1&cursor={references}&cursor={references}"
    ));
    assert_query_error(&r, &[("cursor", "Given more than once")]);
}

/// A cursor names a position, not rows: another organization's cursor (or a forged position
/// inside another organization's rows) only ever yields the caller's own rows.
#[test]
fn cursors_never_reach_into_another_organization() {
    let env = Env::new();
    let (_other_org, other) = env.other_org("Other");
    let mine = env.project("Mine")["id"].as_str().unwrap().to_owned();
    let theirs = env
        .call(
            "POST",
            "/manage/projects",
            Some(&other),
            Some(&json!({"name": "Theirs"})),
        )
        .data()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for i in 0..4 {
        env.reference(&mine, &format!("mine {i}"));
        env.call(
            "POST",
            "/manage/references",
            Some(&other),
            Some(&json!({"projectId": theirs, "title": format!("theirs {i}")})),
        );
    }
    let their_page = env.call("GET", "/manage/references?limit=1", Some(&other), None);
    let their_cursor = their_page.body["nextCursor"].as_str().unwrap().to_owned();
    let mine_all: HashSet<String> = ids(env.get("/manage/references").data())
        .into_iter()
        .collect();
    let r = env.get(&format!(
        "/manage/references?limit=1000&cursor={their_cursor}"
    ));
    for row in r.data().as_array().unwrap() {
        assert!(mine_all.contains(row["id"].as_str().unwrap()), "{row}");
        assert_eq!(row["projectId"], mine.as_str());
    }
    // With another organization's project as the filter: 404, cursor or not.
    let r = env.get(&format!(
        "/manage/references?projectId={theirs}&limit=1&cursor={their_cursor}"
    ));
    r.assert_error(404, "Not Found", "Project not found");
}

#[test]
fn the_rust_api_pages_and_keeps_the_all_rows_calls() {
    let env = Env::new();
    let store = &env.store;
    let org = env.org.clone();
    let p = store
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
    for i in 0..5 {
        store
            .create_reference(
                &org,
                &NewReference {
                    project_id: p.clone(),
                    title: format!("r{i}"),
                    ..NewReference::default()
                },
            )
            .unwrap();
    }
    let all = store.list_references(&org, None).unwrap();
    assert_eq!(all.len(), 5);
    let first = store
        .list_references_page(&org, Some(&p), &ListOptions::limit(3))
        .unwrap();
    assert_eq!(first.items, all[..3]);
    let next = first.next_cursor.clone().expect("more remain");
    let second = store
        .list_references_page(
            &org,
            None,
            &ListOptions {
                limit: Some(3),
                cursor: Some(next),
            },
        )
        .unwrap();
    assert_eq!(second.items, all[3..]);
    assert_eq!(second.next_cursor, None);
    // No limit: everything, no cursor.
    assert_eq!(
        store
            .list_references_page(&org, None, &ListOptions::default())
            .unwrap(),
        Page {
            items: all.clone(),
            next_cursor: None
        }
    );
    // Bad options are validation errors naming the field.
    let Err(Error::Validation(errors)) = store.list_projects_page(&org, &ListOptions::limit(0))
    else {
        panic!("limit 0 accepted");
    };
    assert_eq!(errors[0].to_string(), format!("limit: {LIMIT_MESSAGE}"));
    let Err(Error::Validation(errors)) = store.list_clients_page(
        &org,
        None,
        &ListOptions {
            limit: None,
            cursor: Some("garbage".into()),
        },
    ) else {
        panic!("bad cursor accepted");
    };
    assert_eq!(errors[0].to_string(), format!("cursor: {CURSOR_MESSAGE}"));
}

/// References created before the lists gained their indexes (schema version 3) are listed
/// after the store is migrated, organization-wide too.
#[test]
fn references_from_an_older_store_are_listed_after_migration() {
    let env = Env::new();
    let p = env.project("Old")["id"].as_str().unwrap().to_owned();
    let made: Vec<String> = (0..3)
        .map(|i| {
            env.clock.advance_ms(1);
            env.reference(&p, &format!("old {i}"))["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let path = env.db_path();
    let Env {
        store,
        dir,
        clock,
        org,
        ..
    } = env;
    drop(store);
    // Back to the version-3 layout: no organization column, the old indexes.
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute_batch(
        "DROP INDEX projects_list; DROP INDEX clients_list; DROP INDEX clients_list_by_project;
         DROP INDEX references_list; DROP INDEX references_list_by_project;
         ALTER TABLE project_references DROP COLUMN organization_id;
         CREATE INDEX clients_by_org ON clients (organization_id, created_at);
         CREATE INDEX clients_by_project ON clients (project_id);
         CREATE INDEX references_by_project ON project_references (project_id, created_at);
         ALTER TABLE clients DROP COLUMN secret_check; DROP TABLE store_keys;
         ALTER TABLE clients DROP COLUMN expires_at; ALTER TABLE clients DROP COLUMN last_used_at;
         ALTER TABLE clients DROP COLUMN previous_secret_hash;
         ALTER TABLE clients DROP COLUMN previous_secret_check;
         ALTER TABLE clients DROP COLUMN previous_secret_expires_at; DROP TABLE audit_log;
         DELETE FROM meta WHERE key = 'data_revision';
         PRAGMA user_version = 3;",
    )
    .unwrap();
    drop(raw);
    let store = Store::open(&path, common::test_options(&clock)).unwrap();
    let listed: Vec<String> = store
        .list_references(&org, None)
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(listed, made.iter().rev().cloned().collect::<Vec<_>>());
    drop(dir);
}

// ---------------------------------------------------------------------------------------------
// Property: paging while rows come and go

#[derive(Debug, Clone, Copy)]
enum Kind {
    Projects,
    Clients,
    References,
}

#[derive(Debug, Clone)]
enum Op {
    /// Create a row; advance the clock by this many milliseconds first (0: a tie).
    Insert(u8),
    /// Delete the n-th (mod count) row currently listed.
    Delete(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u8..2).prop_map(Op::Insert),
        2 => any::<usize>().prop_map(Op::Delete),
    ]
}

struct Fixture {
    env: Env,
    project: String,
    made: usize,
}

impl Fixture {
    fn new() -> Fixture {
        let env = Env::new();
        let project = env
            .store
            .create_project(
                &env.org,
                &NewProject {
                    name: "Home".into(),
                    ..NewProject::default()
                },
            )
            .unwrap()
            .project
            .id;
        Fixture {
            env,
            project,
            made: 0,
        }
    }

    fn insert(&mut self, kind: Kind) {
        self.made += 1;
        let (store, org) = (&self.env.store, &self.env.org);
        let name = format!("row {}", self.made);
        match kind {
            Kind::Projects => {
                store
                    .create_project(
                        org,
                        &NewProject {
                            name,
                            ..NewProject::default()
                        },
                    )
                    .unwrap();
            }
            Kind::Clients => {
                store
                    .create_client(
                        org,
                        &NewClient {
                            name,
                            project_id: Some(self.project.clone()),
                            ..NewClient::default()
                        },
                    )
                    .unwrap();
            }
            Kind::References => {
                store
                    .create_reference(
                        org,
                        &NewReference {
                            project_id: self.project.clone(),
                            title: name,
                            ..NewReference::default()
                        },
                    )
                    .unwrap();
            }
        }
    }

    /// (createdAt, id) of every listed row, newest first.
    fn page(&self, kind: Kind, options: &ListOptions) -> Page<(i64, String)> {
        let (store, org) = (&self.env.store, &self.env.org);
        fn keys<T>(page: Page<T>, key: impl Fn(T) -> (i64, String)) -> Page<(i64, String)> {
            Page {
                items: page.items.into_iter().map(key).collect(),
                next_cursor: page.next_cursor,
            }
        }
        match kind {
            Kind::Projects => keys(store.list_projects_page(org, options).unwrap(), |p| {
                (p.created_at.0, p.id)
            }),
            Kind::Clients => keys(store.list_clients_page(org, None, options).unwrap(), |c| {
                (c.created_at.0, c.id)
            }),
            Kind::References => keys(
                store.list_references_page(org, None, options).unwrap(),
                |r| (r.created_at.0, r.id),
            ),
        }
    }

    fn all(&self, kind: Kind) -> Vec<(i64, String)> {
        self.page(kind, &ListOptions::default()).items
    }

    fn delete(&self, kind: Kind, id: &str) {
        let (store, org) = (&self.env.store, &self.env.org);
        match kind {
            Kind::Projects => {
                store.delete_project(org, id).unwrap();
            }
            Kind::Clients => store.delete_client(org, id).unwrap(),
            Kind::References => store.delete_reference(org, id).unwrap(),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Paging through a list while rows are created (often with the same createdAt) and
    /// deleted between pages returns every row that existed throughout exactly once, never a
    /// row twice, and always in (createdAt, id) descending order.
    #[test]
    fn paging_never_repeats_or_skips_a_row_that_existed_throughout(
        kind in prop_oneof![Just(Kind::Projects), Just(Kind::Clients), Just(Kind::References)],
        initial in proptest::collection::vec(0u8..2, 0..30),
        limit in 1u32..6,
        between in proptest::collection::vec(proptest::collection::vec(op(), 0..4), 0..20),
    ) {
        let mut f = Fixture::new();
        f.env.clock.set(opcore::Timestamp(T0));
        for tick in &initial {
            f.env.clock.advance_ms(i64::from(*tick));
            f.insert(kind);
        }
        let at_start: BTreeMap<String, i64> =
            f.all(kind).into_iter().map(|(t, id)| (id, t)).collect();
        let mut deleted = HashSet::new();
        let mut seen: Vec<(i64, String)> = Vec::new();
        let mut options = ListOptions::limit(limit);
        let mut round = 0;
        loop {
            let page = f.page(kind, &options);
            prop_assert!(page.items.len() <= limit as usize);
            seen.extend(page.items.iter().cloned());
            let Some(next) = page.next_cursor else { break };
            prop_assert_eq!(page.items.len(), limit as usize);
            options.cursor = Some(next);
            for op in between.get(round).into_iter().flatten() {
                match op {
                    Op::Insert(tick) => {
                        f.env.clock.advance_ms(i64::from(*tick));
                        f.insert(kind);
                    }
                    Op::Delete(n) => {
                        let now = f.all(kind);
                        // Keep the organization's root client: it may not be deleted.
                        let candidates: Vec<&(i64, String)> = now
                            .iter()
                            .filter(|(_, id)| {
                                !(matches!(kind, Kind::Clients) && *id == f.env.root.id)
                            })
                            .collect();
                        if !candidates.is_empty() {
                            let (_, id) = candidates[n % candidates.len()];
                            f.delete(kind, id);
                            deleted.insert(id.clone());
                        }
                    }
                }
            }
            round += 1;
            prop_assert!(round < 1000, "pagination did not end");
        }
        let mut unique = HashSet::new();
        for (_, id) in &seen {
            prop_assert!(unique.insert(id.clone()), "{} returned twice", id);
        }
        for pair in seen.windows(2) {
            prop_assert!(pair[0] > pair[1], "out of order: {:?}", pair);
        }
        for id in at_start.keys() {
            if !deleted.contains(id) {
                prop_assert!(unique.contains(id), "{} existed throughout but was skipped", id);
            }
        }
    }
}

// The page cache (docs/server.md#the-page-cache): a list served from memory is never staler
// than a fresh read — not after a write by another handle on the file (another process), not
// after a project's deletion time passes with no write at all, and never for a deleted caller.

/// The `field` of every listed item, sorted (the order is not what these tests check).
fn names(r: &common::Res, field: &str) -> Vec<String> {
    let mut names: Vec<String> = r
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x[field].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_cached_list_shows_every_write_made_through_another_handle_on_the_file() {
    let env = Env::new();
    env.project("Alpha");
    assert_eq!(names(&env.get("/manage/projects"), "name"), ["Alpha"]);
    assert_eq!(names(&env.get("/manage/projects"), "name"), ["Alpha"]);
    // A second store on the same file: its own pool and cache, like another process.
    let other = Store::open(env.db_path(), common::test_options(&env.clock)).unwrap();
    env.clock.advance_ms(1);
    let beta = other
        .create_project(
            &env.org,
            &NewProject {
                name: "Beta".into(),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        names(&env.get("/manage/projects"), "name"),
        ["Alpha", "Beta"]
    );
    other
        .update_project(
            &env.org,
            &beta.project.id,
            &opcore::ProjectChanges {
                name: Some("Gamma".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        names(&env.get("/manage/projects"), "name"),
        ["Alpha", "Gamma"]
    );
    other.delete_project(&env.org, &beta.project.id).unwrap();
    assert_eq!(names(&env.get("/manage/projects"), "name"), ["Alpha"]);
    // The same holds for each page of a paged list.
    let first = env.get("/manage/projects?limit=1");
    assert_eq!(names(&first, "name"), ["Alpha"]);
    env.clock.advance_ms(1);
    other
        .create_project(
            &env.org,
            &NewProject {
                name: "Delta".into(),
                ..Default::default()
            },
        )
        .unwrap();
    // Newest first: the same page now holds the new project.
    env.clock.advance_ms(1);
    assert_eq!(
        names(&env.get("/manage/projects?limit=1"), "name"),
        ["Delta"]
    );
}

#[test]
fn a_cached_list_drops_a_project_s_clients_and_references_when_its_deletion_time_passes() {
    let env = Env::new();
    let p = env.project("Doomed")["id"].as_str().unwrap().to_owned();
    env.reference(&p, "launch");
    assert_eq!(env.delete(&format!("/manage/projects/{p}")).status, 200);
    // Scheduled, not yet past: still listed (and now cached).
    let clients = |env: &Env| names(&env.get("/manage/clients"), "name");
    let references = |env: &Env| names(&env.get("/manage/references"), "title");
    assert_eq!(clients(&env), ["First client", "Root client"]);
    assert_eq!(clients(&env), ["First client", "Root client"]);
    assert_eq!(references(&env), ["launch"]);
    assert_eq!(references(&env), ["launch"]);
    // No write happens; only time passes.
    env.clock.advance_ms(24 * 3600 * 1000 - 1);
    assert_eq!(clients(&env), ["First client", "Root client"]);
    env.clock.advance_ms(1);
    assert_eq!(clients(&env), ["Root client"]);
    assert_eq!(references(&env), Vec::<String>::new());
}

#[test]
fn a_caller_deleted_through_another_handle_gets_401_even_for_a_cached_list() {
    let env = Env::new();
    let second = env.client("Second root", "root", None);
    assert_eq!(
        env.call("GET", "/manage/projects", Some(&second), None)
            .status,
        200
    );
    assert_eq!(
        env.call("GET", "/manage/projects", Some(&second), None)
            .status,
        200
    );
    let other = Store::open(env.db_path(), common::test_options(&env.clock)).unwrap();
    other.delete_client(&env.org, &second.id).unwrap();
    env.call("GET", "/manage/projects", Some(&second), None)
        .assert_error(401, "Unauthorized", common::INVALID_CREDENTIALS);
}
