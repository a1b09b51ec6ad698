//! The backend-agnostic storage suite: what any storage backend must do, written only against
//! the role traits of `roles.rs` (`Resources`, `Credentials`, `Grants`, `ChangeNotification`),
//! so it runs unchanged on every backend (ARCHITECTURE.md, "Adding a storage backend").
//!
//! Each `pub(crate) fn` below takes an [`Env`]: a fresh, empty backend opened with
//! [`options`] (cheap argon2, the deletion grace [`GRACE_SECONDS`], and a [`ManualClock`]
//! starting at [`T0`], so nothing sleeps) together with that clock. [`backend_suite!`] turns
//! every one of them into a `#[test]` for one backend, given a function that opens a fresh
//! backend from those options; the SQLite backend's instance is `sqlite_backend` at the end
//! of this file. A second backend adds one line in a test module of its own:
//!
//! ```text
//! crate::store::suite::backend_suite!(open_fresh_backend);
//! ```
//!
//! where `open_fresh_backend(&Options) -> (Backend, Keep)` opens an empty backend and `Keep`
//! is whatever must live as long as the test (a temporary directory, a server).

use std::sync::Arc;

use crate::domain::clock::ManualClock;
use crate::domain::model::{ClientType, ProjectType};
use crate::domain::secret::{Argon2Params, Verification};
use crate::domain::tier::Tier;
use crate::domain::time::Timestamp;
use crate::domain::token::{Token, TokenDigest, TokenKind};
use crate::error::{Error, Resource};
use crate::options::Options;
use crate::store::records::{CodeClaim, CodeRecord, NewCode, NewGrant, NewToken, Rotation};
use crate::store::roles::{ChangeNotification, Credentials, Grants, Resources};
use crate::store::{
    ClientChanges, ListOptions, NewClient, NewProject, NewReference, ProjectChanges,
    ReferenceChanges,
};

/// Every role a full backend plays.
pub(crate) trait Backend: Resources + Credentials + Grants + ChangeNotification {}

impl<B: Resources + Credentials + Grants + ChangeNotification> Backend for B {}

/// Where every backend's clock starts: 2024-01-15T10:30:00.000Z.
pub(crate) const T0: Timestamp = Timestamp(1_705_314_600_000);

/// The deletion grace the suite opens backends with (not the default, so a backend that
/// ignores the option fails).
pub(crate) const GRACE_SECONDS: i64 = 3_600;

/// The options every backend of the suite is opened with.
pub(crate) fn options(clock: &ManualClock) -> Options {
    Options {
        argon2: Argon2Params {
            m_cost: 8,
            t_cost: 1,
            p_cost: 1,
        },
        deletion_grace_seconds: GRACE_SECONDS,
        clock: Arc::new(clock.clone()),
        ..Options::default()
    }
}

/// A fresh backend and the clock it was opened with.
pub(crate) struct Env<B> {
    pub backend: B,
    pub clock: ManualClock,
}

/// Instantiates the whole suite for one backend: one `#[test]` per behaviour, each opening a
/// fresh backend with `$open(&options)` (returning the backend and what must outlive it).
macro_rules! backend_suite {
    ($open:expr) => {
        $crate::store::suite::backend_suite!(@tests $open;
            organizations_bootstrap_with_a_root_client,
            deleting_an_organization_removes_everything_in_it,
            project_ids_follow_names_with_numbered_suffixes,
            ids_are_unique_across_organizations,
            project_ids_are_never_reissued_after_purge,
            projects_update_and_keep_their_id,
            project_deletion_is_scheduled_and_cancelled_by_an_update,
            a_project_past_its_deletion_time_is_gone_before_purge,
            projects_are_scoped_to_their_organization,
            events_count_adds_up,
            lists_are_newest_first_and_paged,
            clients_keep_their_type_and_project,
            clients_list_by_project,
            client_type_and_project_cannot_change,
            the_last_organization_root_client_cannot_be_deleted,
            references_create_read_update_and_delete,
            references_are_scoped_to_projects_of_the_organization,
            credentials_hold_the_hash_never_the_secret,
            a_verified_secret_is_recorded_only_against_its_hash,
            a_rotation_keeps_the_previous_secret_for_its_grace_only,
            last_use_only_moves_forward,
            clients_are_active_until_deleted_or_their_project_is_gone,
            the_access_revision_changes_when_access_may_be_revoked,
            codes_are_claimed_once_by_their_client,
            a_code_links_to_one_grant_and_a_replay_revokes_it,
            token_records_describe_stored_tokens,
            refresh_tokens_rotate_once_with_a_grace,
            tokens_and_grants_are_revoked,
            purge_prunes_long_expired_tokens,
            the_audit_log_has_one_entry_per_change,
            purge_prunes_audit_entries_past_their_retention,
            an_expiry_change_is_audited_and_moves_the_access_revision,
            every_write_moves_the_data_revision_and_reads_do_not,
            page_validity_names_the_next_deletion_time_of_the_organization,
        );
    };
    (@tests $open:expr; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let clock = $crate::domain::clock::ManualClock::new($crate::store::suite::T0);
                let (backend, _keep) = ($open)(&$crate::store::suite::options(&clock));
                $crate::store::suite::$name(&$crate::store::suite::Env { backend, clock });
            }
        )*
    };
}
pub(crate) use backend_suite;

// Helpers.

fn named(name: &str) -> NewProject {
    NewProject {
        name: name.into(),
        ..NewProject::default()
    }
}

fn client(name: &str, client_type: ClientType, project_id: Option<&str>) -> NewClient {
    NewClient {
        name: name.into(),
        client_type,
        project_id: project_id.map(str::to_owned),
        ..NewClient::default()
    }
}

fn reference(project_id: &str, title: &str) -> NewReference {
    NewReference {
        project_id: project_id.into(),
        title: title.into(),
        ..NewReference::default()
    }
}

/// The path of every field a validation error names, as JSON (`["name"]`, `["cors",1]`).
fn invalid_fields(result: Result<impl std::fmt::Debug, Error>) -> Vec<String> {
    match result {
        Err(Error::Validation(errors)) => errors
            .iter()
            .map(|e| serde_json::to_string(&e.path).expect("a path serializes"))
            .collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn is_not_found<T: std::fmt::Debug>(result: Result<T, Error>, resource: Resource) -> bool {
    match result {
        Err(Error::NotFound(r)) => r == resource,
        other => panic!("expected {resource:?} not found, got {other:?}"),
    }
}

fn org<B: Backend>(env: &Env<B>, name: &str) -> (String, String) {
    let boot = env.backend.create_organization(name).expect("bootstrap");
    (boot.organization.id, boot.client.client.id)
}

fn ids<T>(items: &[T], id: impl Fn(&T) -> &str) -> Vec<String> {
    items.iter().map(|t| id(t).to_owned()).collect()
}

// Organizations.

pub(crate) fn organizations_bootstrap_with_a_root_client<B: Backend>(env: &Env<B>) {
    let b = &env.backend;
    let boot = b.create_organization("Acme Corp").unwrap();
    assert_eq!(boot.organization.id, "acme-corp");
    assert_eq!(boot.organization.name, "Acme Corp");
    assert_eq!(boot.organization.created_at, T0);
    assert_eq!(boot.organization.updated_at, T0);
    let root = &boot.client.client;
    assert_eq!(root.name, "Root client");
    assert_eq!(root.client_type, ClientType::Root);
    assert_eq!(root.project_id, None);
    assert_eq!(root.organization_id, "acme-corp");
    assert!(boot.client.secret.expose().starts_with("sec_"));
    assert_eq!(b.get_client("acme-corp", &root.id).unwrap(), *root);
    assert_eq!(b.get_organization("acme-corp").unwrap(), boot.organization);

    env.clock.advance_ms(1);
    let second = b.create_organization("Beta").unwrap().organization;
    let listed = b.list_organizations().unwrap();
    assert_eq!(
        ids(&listed, |o| &o.id),
        ["acme-corp", "beta"],
        "oldest first"
    );
    assert_eq!(listed[1], second);
    assert!(is_not_found(
        b.get_organization("gamma"),
        Resource::Organization
    ));
    assert_eq!(invalid_fields(b.create_organization("")), [r#"["name"]"#]);
}

pub(crate) fn deleting_an_organization_removes_everything_in_it<B: Backend>(env: &Env<B>) {
    let b = &env.backend;
    let (acme, root) = org(env, "Acme");
    let (other, _) = org(env, "Other");
    let p = b.create_project(&acme, &named("Site")).unwrap();
    let r = b
        .create_reference(&acme, &reference("site", "Launch"))
        .unwrap();
    b.delete_organization(&acme).unwrap();
    assert!(is_not_found(
        b.get_organization(&acme),
        Resource::Organization
    ));
    assert!(is_not_found(
        b.get_project(&acme, "site"),
        Resource::Project
    ));
    assert!(is_not_found(b.get_client(&acme, &root), Resource::Client));
    assert!(is_not_found(
        b.get_reference(&acme, &r.id),
        Resource::Reference
    ));
    assert!(b.client_credentials(&root).unwrap().is_none());
    assert!(b.client_credentials(&p.client.id).unwrap().is_none());
    assert!(!b.client_is_active(&p.client.id).unwrap());
    assert!(is_not_found(
        b.delete_organization(&acme),
        Resource::Organization
    ));
    // The other organization is untouched.
    assert_eq!(ids(&b.list_organizations().unwrap(), |o| &o.id), [other]);
}

// Projects.

pub(crate) fn project_ids_follow_names_with_numbered_suffixes<B: Backend>(env: &Env<B>) {
    let b = &env.backend;
    let (acme, _) = org(env, "Acme");
    let created: Vec<String> = ["My Site", "My Site", "my site!", "!!!", "!!!"]
        .iter()
        .map(|n| b.create_project(&acme, &named(n)).unwrap().project.id)
        .collect();
    assert_eq!(
        created,
        ["my-site", "my-site-1", "my-site-2", "project", "project-1"]
    );

    let p = b
        .create_project(
            &acme,
            &NewProject {
                name: "Shop".into(),
                domain: Some("https://shop.example.com/".into()),
                cors: vec!["https://example.com".into(), "shop.io".into()],
                cross_domain: true,
                types: vec!["website".into(), "app".into()],
            },
        )
        .unwrap();
    let project = &p.project;
    assert_eq!(project.id, "shop");
    assert_eq!(project.organization_id, acme);
    assert_eq!(project.domain.as_deref(), Some("https://shop.example.com"));
    assert_eq!(project.cors, ["https://example.com", "shop.io"]);
    assert!(project.cross_domain);
    assert!(!project.allow_unsafe_revenue_tracking);
    assert_eq!(project.types, [ProjectType::Website, ProjectType::App]);
    assert_eq!(project.events_count, 0);
    assert_eq!((project.created_at, project.updated_at), (T0, T0));
    assert_eq!(project.delete_at, None);
    assert_eq!(b.get_project(&acme, "shop").unwrap(), *project);

    // The project's default client: `First client`, type write, in the project.
    let first = b.get_client(&acme, &p.client.id).unwrap();
    assert_eq!(first.name, "First client");
    assert_eq!(first.client_type, ClientType::Write);
    assert_eq!(first.project_id.as_deref(), Some("shop"));
    assert!(p.client.secret.expose().starts_with("sec_"));

    // A refused project takes no id.
    assert_eq!(
        invalid_fields(b.create_project(
            &acme,
            &NewProject {
                name: "Next".into(),
                domain: Some("javascript:alert(1)".into()),
                ..NewProject::default()
            }
        )),
        [r#"["domain"]"#]
    );
    assert_eq!(
        b.create_project(&acme, &named("Next")).unwrap().project.id,
        "next"
    );
    assert!(is_not_found(
        b.create_project("no-such-org", &named("Lost")),
        Resource::Organization
    ));
}

pub(crate) fn ids_are_unique_across_organizations<B: Backend>(env: &Env<B>) {
    let b = &env.backend;
    let (first, _) = org(env, "Acme");
    let (second, _) = org(env, "Acme");
    assert_eq!((first.as_str(), second.as_str()), ("acme", "acme-1"));
    let mine = b
        .create_project(&first, &named("Shared"))
        .unwrap()
        .project
        .id;
    let theirs = b
        .create_project(&second, &named("Shared"))
        .unwrap()
        .project
        .id;
    assert_eq!((mine.as_str(), theirs.as_str()), ("shared", "shared-1"));
    // Client and reference ids are UUIDs, distinct too.
    let c1 = b
        .create_client(&first, &client("A", ClientType::Read, None))
        .unwrap();
    let c2 = b
        .create_client(&second, &client("A", ClientType::Read, None))
        .unwrap();
    assert_ne!(c1.client.id, c2.client.id);
    assert_eq!(c1.client.id.len(), 36);
    let r1 = b.create_reference(&first, &reference(&mine, "R")).unwrap();
    let r2 = b
        .create_reference(&second, &reference(&theirs, "R"))
        .unwrap();
    assert_ne!(r1.id, r2.id);
}

pub(crate) fn project_ids_are_never_reissued_after_purge<B: Backend>(env: &Env<B>) {
    let b = &env.backend;
    let (acme, _) = org(env, "Acme");
    assert_eq!(
        b.create_project(&acme, &named("Gone")).unwrap().project.id,
        "gone"
    );
    assert_eq!(
        b.delete_project(&acme, "gone").unwrap(),
        T0.plus_seconds(GRACE_SECONDS)
    );
    env.clock.advance_secs(GRACE_SECONDS);
    assert_eq!(b.purge().unwrap(), 1);
    assert_eq!(b.purge().unwrap(), 0);
    assert_eq!(
        b.create_project(&acme, &named("Gone")).unwrap().project.id,
        "gone-1"
    );
    // Nor after the whole organization is gone.
    b.delete_organization(&acme).unwrap();
    let (again, _) = org(env, "Acme");
    assert_eq!(again, "acme-1");
    assert_eq!(
        b.create_project(&again, &named("Gone")).unwrap().project.id,
        "gone-2"
    );
}

pub(crate) fn projects_update_and_keep_their_id<B: Backend>(env: &Env<B>) {
    let b = &env.backend;
    let (acme, _) = org(env, "Acme");
    let before = b
        .create_project(
            &acme,
            &NewProject {
                name: "Site".into(),
                domain: Some("https://site.com".into()),
                ..NewProject::default()
            },
        )
        .unwrap()
        .project;
    env.clock.advance_secs(5);
    let after = b
        .update_project(
            &acme,
            "site",
            &ProjectChanges {
                name: Some("Renamed".into()),
                domain: Some(None),
                cors: Some(vec!["https://renamed.com".into()]),
                cross_domain: Some(true),
                allow_unsafe_revenue_tracking: Some(true),
            },
        )
        .unwrap();
    assert_eq!(after.id, "site", "the id never follows the name");
    assert_eq!(after.name, "Renamed");
    assert_eq!(after.domain, None);
    assert_eq!(after.cors, ["https://renamed.com"]);
    assert!(after.cross_domain && after.allow_unsafe_revenue_tracking);
    assert_eq!(after.created_at, before.created_at);
    assert_eq!(after.updated_at, T0.plus_seconds(5));
    assert_eq!(b.get_project(&acme, "site").unwrap(), after);

    // An empty change set changes only `updatedAt`; a refused one changes nothing.
    env.clock.advance_secs(1);
    let touched = b
        .update_project(&acme, "site", &ProjectChanges::default())
        .unwrap();
    assert_eq!(touched.name, "Renamed");
    assert_eq!(touched.updated_at, T0.plus_seconds(6));
    assert_eq!(
        invalid_fields(b.update_project(
            &acme,
            "site",
            &ProjectChanges {
                name: Some(String::new()),
                cors: Some(vec!["https://ok.com".into(), "www.".into()]),
                ..ProjectChanges::default()
            }
        )),
        [r#"["name"]"#, r#"["cors",1]"#]
    );
    assert_eq!(b.get_project(&acme, "site").unwrap(), touched);
    assert!(is_not_found(
        b.update_project(&acme, "nope", &ProjectChanges::default()),
        Resource::Project
    ));
}

pub(crate) fn project_deletion_is_scheduled_and_cancelled_by_an_update<B: Backend>(env: &Env<B>) {
    let b = &env.backend;
    let (acme, _) = org(env, "Acme");
    b.create_project(&acme, &named("Keep")).unwrap();
    b.create_project(&acme, &named("Doomed")).unwrap();
    let at = b.delete_project(&acme, "doomed").unwrap();
    assert_eq!(at, T0.plus_seconds(GRACE_SECONDS));
    // Still readable, no longer listed.
    assert_eq!(b.get_project(&acme, "doomed").unwrap().delete_at, Some(at));
    assert_eq!(ids(&b.list_projects(&acme).unwrap(), |p| &p.id), ["keep"]);
    // Repeating the deletion keeps the first schedule.
    env.clock.advance_secs(60);
    assert_eq!(b.delete_project(&acme, "doomed").unwrap(), at);
    // An update cancels it.
    let restored = b
        .update_project(&acme, "doomed", &ProjectChanges::default())
        .unwrap();
    assert_eq!(restored.delete_at, None);
    assert_eq!(restored.updated_at, T0.plus_seconds(60));
    // Listed again, in creation order (both at T0: the larger id first).
    assert_eq!(
        ids(&b.list_projects(&acme).unwrap(), |p| &p.id),
        ["keep", "doomed"]
    );
    env.clock.advance_secs(GRACE_SECONDS);
    assert_eq!(b.purge().unwrap(), 0);
    assert!(b.get_project(&acme, "doomed").is_ok());
    // A new deletion starts a new schedule.
    assert_eq!(
        b.delete_project(&acme, "doomed").unwrap(),
        T0.plus_seconds(60 + 2 * GRACE_SECONDS)
    );
}

pub(crate) fn a_project_past_its_deletion_time_is_gone_before_purge<B: Backend>(env: &Env<B>) {
    let b = &env.backend;
    let (acme, _) = org(env, "Acme");
    let p = b.create_project(&acme, &named("Site")).unwrap();
    let extra = b
        .create_client(&acme, &client("Reader", ClientType::Read, Some("site")))
        .unwrap();
    let r = b
        .create_reference(&acme, &reference("site", "Launch"))
        .unwrap();
    let at = b.delete_project(&acme, "site").unwrap();

    // One millisecond before: everything is there, and the project still takes new things.
    env.clock.set(Timestamp(at.0 - 1));
    assert!(b.get_client(&acme, &extra.client.id).is_ok());
    assert!(b.client_is_active(&p.client.id).unwrap());
    let late = b
        .create_reference(&acme, &reference("site", "Late"))
        .unwrap();
    assert_eq!(b.list_references(&acme, Some("site")).unwrap().len(), 2);

    // At `deleteAt` exactly: gone everywhere, before any purge.
    env.clock.set(at);
    assert!(is_not_found(
        b.get_project(&acme, "site"),
        Resource::Project
    ));
    assert!(is_not_found(
        b.update_project(&acme, "site", &ProjectChanges::default()),
        Resource::Project
    ));
    assert!(is_not_found(
        b.increment_events_count(&acme, "site", 1),
        Resource::Project
    ));
    assert!(is_not_found(
        b.get_client(&acme, &p.client.id),
        Resource::Client
    ));
    assert!(is_not_found(
        b.get_reference(&acme, &r.id),
        Resource::Reference
    ));
    assert!(is_not_found(
        b.list_clients(&acme, Some("site")),
        Resource::Project
    ));
    assert!(is_not_found(
        b.list_references(&acme, Some("site")),
        Resource::Project
    ));
    let clients = b.list_clients(&acme, None).unwrap();
    assert_eq!(clients.len(), 1, "only the root client: {clients:?}");
    assert!(b.list_references(&acme, None).unwrap().is_empty());
    assert!(!b.client_is_active(&extra.client.id).unwrap());
    assert_eq!(
        invalid_fields(b.create_client(&acme, &client("New", ClientType::Read, Some("site")))),
        [r#"["projectId"]"#]
    );

    assert_eq!(b.purge().unwrap(), 1);
    assert!(b.client_credentials(&extra.client.id).unwrap().is_none());
    assert!(is_not_found(
        b.get_reference(&acme, &late.id),
        Resource::Reference
    ));
}

pub(crate) fn projects_are_scoped_to_their_organization<B: Backend>(env: &Env<B>) {
    let b = &env.backend;
    let (acme, _) = org(env, "Acme");
    let (other, _) = org(env, "Other");
    b.create_project(&acme, &named("Site")).unwrap();
    assert!(is_not_found(
        b.get_project(&other, "site"),
        Resource::Project
    ));
    assert!(is_not_found(
        b.update_project(
            &other,
            "site",
            &ProjectChanges {
                name: Some("Taken".into()),
                ..ProjectChanges::default()
            }
        ),
        Resource::Project
    ));
    assert!(is_not_found(
        b.delete_project(&other, "site"),
        Resource::Project
    ));
    assert!(is_not_found(
        b.increment_events_count(&other, "site", 1),
        Resource::Project
    ));
    assert!(b.list_projects(&other).unwrap().is_empty());
    let mine = b.get_project(&acme, "site").unwrap();
    assert_eq!(
        (mine.name.as_str(), mine.delete_at, mine.events_count),
        ("Site", None, 0)
    );
}

pub(crate) fn events_count_adds_up<B: Backend>(env: &Env<B>) {
    let b = &env.backend;
    let (acme, _) = org(env, "Acme");
    b.create_project(&acme, &named("Site")).unwrap();
    assert_eq!(b.increment_events_count(&acme, "site", 5).unwrap(), 5);
    assert_eq!(b.increment_events_count(&acme, "site", 3).unwrap(), 8);
    assert_eq!(b.get_project(&acme, "site").unwrap().events_count, 8);
    assert!(is_not_found(
        b.increment_events_count(&acme, "nope", 1),
        Resource::Project
    ));
    // Counting goes on while the project is only scheduled for deletion.
    b.delete_project(&acme, "site").unwrap();
    assert_eq!(b.increment_events_count(&acme, "site", 2).unwrap(), 10);
}

pub(crate) fn lists_are_newest_first_and_paged<B: Backend>(env: &Env<B>) {
    let b = &env.backend;
    let (acme, root) = org(env, "Acme");
    let mut first_clients = Vec::new();
    for name in ["One", "Two", "Three"] {
        env.clock.advance_ms(1);
        let p = b.create_project(&acme, &named(name)).unwrap();
        first_clients.push(p.client.id);
        b.create_reference(&acme, &reference(&p.project.id, name))
            .unwrap();
    }
    assert_eq!(
        ids(&b.list_projects(&acme).unwrap(), |p| &p.id),
        ["three", "two", "one"]
    );

    let page = b.list_projects_page(&acme, &ListOptions::limit(2)).unwrap();
    assert_eq!(ids(&page.items, |p| &p.id), ["three", "two"]);
    let cursor = page.next_cursor.expect("a next page");
    let rest = b
        .list_projects_page(
            &acme,
            &ListOptions {
                limit: Some(2),
                cursor: Some(cursor.clone()),
            },
        )
        .unwrap();
    assert_eq!(ids(&rest.items, |p| &p.id), ["one"]);
    assert_eq!(rest.next_cursor, None);
    // A projects cursor is refused by another list.
    let refused = b.list_clients_page(
        &acme,
        None,
        &ListOptions {
            limit: Some(2),
            cursor: Some(cursor),
        },
    );
    assert_eq!(invalid_fields(refused), [r#"["cursor"]"#]);

    let clients = b
        .list_clients_page(&acme, None, &ListOptions::limit(3))
        .unwrap();
    let newest: Vec<String> = first_clients.iter().rev().cloned().collect();
    assert_eq!(ids(&clients.items, |c| &c.id), newest);
    let last = b
        .list_clients_page(
            &acme,
            None,
            &ListOptions {
                limit: Some(3),
                cursor: clients.next_cursor,
            },
        )
        .unwrap();
    assert_eq!(ids(&last.items, |c| &c.id), [root]);
    assert_eq!(last.next_cursor, None);

    let titles: Vec<String> = b
        .list_references(&acme, None)
        .unwrap()
        .into_iter()
        .map(|r| r.title)
        .collect();
    assert_eq!(titles, ["Three", "Two", "One"]);
    let refs = b
        .list_references_page(&acme, Some("two"), &ListOptions::limit(1))
        .unwrap();
    assert_eq!(refs.items.len(), 1);
    assert_eq!(refs.items[0].title, "Two");
    assert_eq!(refs.next_cursor, None);
}

// Clients.

pub(crate) fn clients_keep_their_type_and_project<B: Backend>(env: &Env<B>) {
    let b = &env.backend;
    let (acme, _) = org(env, "Acme");
    let (other, _) = org(env, "Other");
    b.create_project(&acme, &named("Site")).unwrap();
    b.create_project(&other, &named("Theirs")).unwrap();
    env.clock.advance_secs(1);
    let created = b
        .create_client(
            &acme,
            &NewClient {
                name: "Dashboard".into(),
                project_id: Some("site".into()),
                client_type: ClientType::Read,
                ignore_cors_and_secret: true,
                redirect_uris: vec!["https://app.example.com/callback".into()],
                tier: Some(Tier::Pro),
                expires_at: None,
            },
        )
        .unwrap();
    let c = &created.client;
    assert_eq!(c.name, "Dashboard");
    assert_eq!(c.client_type, ClientType::Read);
    assert_eq!(c.project_id.as_deref(), Some("site"));
    assert_eq!(c.organization_id, acme);
    assert!(c.ignore_cors_and_secret);
    assert_eq!(c.redirect_uris, ["https://app.example.com/callback"]);
    assert_eq!(c.tier, Some(Tier::Pro));
    assert_eq!(
        (c.created_at, c.updated_at),
        (T0.plus_seconds(1), T0.plus_seconds(1))
    );
    assert_eq!(b.get_client(&acme, &c.id).unwrap(), *c);
    // Every type may live in a project or at the organization level; an empty project id is none.
    for ty in [ClientType::Read, ClientType::Write, ClientType::Root] {
        let in_project = b
            .create_client(&acme, &client("P", ty, Some("site")))
            .unwrap();
        assert_eq!(in_project.client.client_type, ty);
        let top = b.create_client(&acme, &client("O", ty, Some(""))).unwrap();
        assert_eq!((top.client.client_type, top.client.project_id), (ty, None));
    }
    // Another organization's project, or none at all, is refused, naming the field.
    for project in ["theirs", "nope"] {
        assert_eq!(
            invalid_fields(b.create_client(&acme, &client("X", ClientType::Read, Some(project)))),
            [r#"["projectId"]"#]
        );
    }
    assert_eq!(
        invalid_fields(b.create_client(&acme, &client("", ClientType::Read, Some("nope")))),
        [r#"["name"]"#, r#"["projectId"]"#]
    );
    // Scoped to the organization.
    assert!(is_not_found(b.get_client(&other, &c.id), Resource::Client));
    assert!(is_not_found(
        b.delete_client(&other, &c.id),
        Resource::Client
    ));
    assert!(is_not_found(
        b.update_client(&other, &c.id, &ClientChanges::default()),
        Resource::Client
    ));
    assert!(is_not_found(
        b.get_client(&acme, "not-a-uuid"),
        Resource::Client
    ));
}

pub(crate) fn clients_list_by_project<B: Backend>(env: &Env<B>) {
    let b = &env.backend;
    let (acme, root) = org(env, "Acme");
    let (other, _) = org(env, "Other");
    env.clock.advance_ms(1);
    let site = b.create_project(&acme, &named("Site")).unwrap().client.id;
    env.clock.advance_ms(1);
    let blog = b.create_project(&acme, &named("Blog")).unwrap().client.id;
    env.clock.advance_ms(1);
    let reader = b
        .create_client(&acme, &client("Reader", ClientType::Read, Some("site")))
        .unwrap()
        .client
        .id;
    env.clock.advance_ms(1);
    let admin = b
        .create_client(&acme, &client("Admin", ClientType::Root, None))
        .unwrap()
        .client
        .id;
    let all = b.list_clients(&acme, None).unwrap();
    assert_eq!(
        ids(&all, |c| &c.id),
        [
            admin.as_str(),
            reader.as_str(),
            blog.as_str(),
            site.as_str(),
            root.as_str()
        ]
    );
    assert_eq!(
        ids(&b.list_clients(&acme, Some("site")).unwrap(), |c| &c.id),
        [reader.as_str(), site.as_str()]
    );
    assert_eq!(
        ids(&b.list_clients(&acme, Some("blog")).unwrap(), |c| &c.id),
        [blog.as_str()]
    );
    assert!(is_not_found(
        b.list_clients(&acme, Some("nope")),
        Resource::Project
    ));
    assert!(is_not_found(
        b.list_clients(&other, Some("site")),
        Resource::Project
    ));
    assert_eq!(b.list_clients(&other, None).unwrap().len(), 1);
    // Deleted clients leave the lists.
    b.delete_client(&acme, &reader).unwrap();
    assert_eq!(
        ids(&b.list_clients(&acme, Some("site")).unwrap(), |c| &c.id),
        [site.as_str()]
    );
    assert!(is_not_found(b.get_client(&acme, &reader), Resource::Client));
    assert!(is_not_found(
        b.delete_client(&acme, &reader),
        Resource::Client
    ));
}

pub(crate) fn client_type_and_project_cannot_change<B: Backend>(env: &Env<B>) {
    let b = &env.backend;
    let (acme, _) = org(env, "Acme");
    b.create_project(&acme, &named("Site")).unwrap();
    b.create_project(&acme, &named("Blog")).unwrap();
    let c = b
        .create_client(&acme, &client("Reader", ClientType::Read, Some("site")))
        .unwrap()
        .client;
    env.clock.advance_secs(2);
    // Resending the stored type and project is accepted.
    let updated = b
        .update_client(
            &acme,
            &c.id,
            &ClientChanges {
                name: Some("Renamed".into()),
                client_type: Some(ClientType::Read),
                project_id: Some(Some("site".into())),
                redirect_uris: Some(vec!["https://app.example.com/cb".into()]),
                tier: Some(Some(Tier::Enterprise)),
                ..ClientChanges::default()
            },
        )
        .unwrap();
    assert_eq!(updated.name, "Renamed");
    assert_eq!(updated.redirect_uris, ["https://app.example.com/cb"]);
    assert_eq!(updated.tier, Some(Tier::Enterprise));
    assert_eq!(updated.created_at, c.created_at);
    assert_eq!(updated.updated_at, T0.plus_seconds(2));
    assert_eq!(b.get_client(&acme, &c.id).unwrap(), updated);
    // Changing either is refused, naming every offending field, and changes nothing.
    assert_eq!(
        invalid_fields(b.update_client(
            &acme,
            &c.id,
            &ClientChanges {
                name: Some(String::new()),
                client_type: Some(ClientType::Write),
                project_id: Some(Some("blog".into())),
                ..ClientChanges::default()
            }
        )),
        [r#"["name"]"#, r#"["type"]"#, r#"["projectId"]"#]
    );
    assert_eq!(
        invalid_fields(b.update_client(
            &acme,
            &c.id,
            &ClientChanges {
                project_id: Some(None),
                ..ClientChanges::default()
            }
        )),
        [r#"["projectId"]"#]
    );
    assert_eq!(b.get_client(&acme, &c.id).unwrap(), updated);
    // `Some(None)` removes the tier.
    let untiered = b
        .update_client(
            &acme,
            &c.id,
            &ClientChanges {
                tier: Some(None),
                ..ClientChanges::default()
            },
        )
        .unwrap();
    assert_eq!((untiered.name.as_str(), untiered.tier), ("Renamed", None));
}

pub(crate) fn the_last_organization_root_client_cannot_be_deleted<B: Backend>(env: &Env<B>) {
    let b = &env.backend;
    let (acme, root) = org(env, "Acme");
    let refused = b.delete_client(&acme, &root);
    assert!(matches!(refused, Err(Error::Conflict(_))), "{refused:?}");
    assert!(b.get_client(&acme, &root).is_ok());
    // A project's root client does not keep the organization manageable, and may go.
    b.create_project(&acme, &named("Site")).unwrap();
    let project_root = b
        .create_client(
            &acme,
            &client("Project root", ClientType::Root, Some("site")),
        )
        .unwrap()
        .client
        .id;
    assert!(matches!(
        b.delete_client(&acme, &root),
        Err(Error::Conflict(_))
    ));
    b.delete_client(&acme, &project_root).unwrap();
    // With a second organization-level root client, either may go, but not both.
    let second = b
        .create_client(&acme, &client("Second root", ClientType::Root, None))
        .unwrap()
        .client
        .id;
    b.delete_client(&acme, &root).unwrap();
    assert!(is_not_found(b.get_client(&acme, &root), Resource::Client));
    assert!(matches!(
        b.delete_client(&acme, &second),
        Err(Error::Conflict(_))
    ));
    // Another organization's root clients do not count.
    let (_other, _) = org(env, "Other");
    assert!(matches!(
        b.delete_client(&acme, &second),
        Err(Error::Conflict(_))
    ));
    assert!(is_not_found(
        b.delete_client(&acme, "not-a-uuid"),
        Resource::Client
    ));
}

// References.

pub(crate) fn references_create_read_update_and_delete<B: Backend>(env: &Env<B>) {
    let b = &env.backend;
    let (acme, _) = org(env, "Acme");
    b.create_project(&acme, &named("Site")).unwrap();
    let dated = b
        .create_reference(
            &acme,
            &NewReference {
                project_id: "site".into(),
                title: "Launch".into(),
                description: Some("v1 is out".into()),
                datetime: Some("2024-01-01".into()),
            },
        )
        .unwrap();
    assert_eq!(dated.project_id, "site");
    assert_eq!(dated.title, "Launch");
    assert_eq!(dated.description.as_deref(), Some("v1 is out"));
    assert_eq!(dated.date, Timestamp(1_704_067_200_000));
    assert_eq!((dated.created_at, dated.updated_at), (T0, T0));
    assert_eq!(dated.id.len(), 36);
    assert_eq!(b.get_reference(&acme, &dated.id).unwrap(), dated);
    // Without a date, it is dated now.
    env.clock.advance_secs(1);
    let undated = b
        .create_reference(&acme, &reference("site", "Now"))
        .unwrap();
    assert_eq!(undated.date, T0.plus_seconds(1));
    assert_eq!(undated.description, None);
    assert_eq!(
        ids(&b.list_references(&acme, Some("site")).unwrap(), |r| &r.id),
        [undated.id.as_str(), dated.id.as_str()]
    );

    env.clock.advance_secs(1);
    let updated = b
        .update_reference(
            &acme,
            &dated.id,
            &ReferenceChanges {
                title: Some("Launched".into()),
                description: Some(None),
                datetime: Some("2024-02-01T12:00:00Z".into()),
            },
        )
        .unwrap();
    assert_eq!(updated.title, "Launched");
    assert_eq!(updated.description, None);
    assert_eq!(updated.date, Timestamp(1_706_788_800_000));
    assert_eq!(updated.created_at, T0);
    assert_eq!(updated.updated_at, T0.plus_seconds(2));
    assert_eq!(b.get_reference(&acme, &dated.id).unwrap(), updated);
    assert_eq!(
        invalid_fields(b.update_reference(
            &acme,
            &dated.id,
            &ReferenceChanges {
                title: Some(String::new()),
                datetime: Some("yesterday".into()),
                ..ReferenceChanges::default()
            }
        )),
        [r#"["title"]"#, r#"["datetime"]"#]
    );

    b.delete_reference(&acme, &dated.id).unwrap();
    assert!(is_not_found(
        b.get_reference(&acme, &dated.id),
        Resource::Reference
    ));
    assert!(is_not_found(
        b.delete_reference(&acme, &dated.id),
        Resource::Reference
    ));
    assert!(is_not_found(
        b.update_reference(&acme, &dated.id, &ReferenceChanges::default()),
        Resource::Reference
    ));
    assert_eq!(
        ids(&b.list_references(&acme, None).unwrap(), |r| &r.id),
        [undated.id.as_str()]
    );
}

pub(crate) fn references_are_scoped_to_projects_of_the_organization<B: Backend>(env: &Env<B>) {
    let b = &env.backend;
    let (acme, _) = org(env, "Acme");
    let (other, _) = org(env, "Other");
    b.create_project(&acme, &named("Site")).unwrap();
    b.create_project(&acme, &named("Blog")).unwrap();
    b.create_project(&other, &named("Theirs")).unwrap();
    let site = b.create_reference(&acme, &reference("site", "S")).unwrap();
    let blog = b.create_reference(&acme, &reference("blog", "B")).unwrap();
    let theirs = b
        .create_reference(&other, &reference("theirs", "T"))
        .unwrap();

    assert_eq!(
        ids(&b.list_references(&acme, Some("site")).unwrap(), |r| &r.id),
        [site.id.as_str()]
    );
    assert_eq!(b.list_references(&acme, None).unwrap().len(), 2);
    assert_eq!(
        ids(&b.list_references(&other, None).unwrap(), |r| &r.id),
        [theirs.id.as_str()]
    );
    // Another organization's project: refused on create, not found on list.
    assert_eq!(
        invalid_fields(b.create_reference(&acme, &reference("theirs", "X"))),
        [r#"["projectId"]"#]
    );
    assert_eq!(
        invalid_fields(b.create_reference(&acme, &reference("nope", ""))),
        [r#"["title"]"#, r#"["projectId"]"#]
    );
    assert!(is_not_found(
        b.list_references(&acme, Some("theirs")),
        Resource::Project
    ));
    // Another organization's reference cannot be read, changed or deleted.
    assert!(is_not_found(
        b.get_reference(&other, &blog.id),
        Resource::Reference
    ));
    assert!(is_not_found(
        b.update_reference(
            &other,
            &blog.id,
            &ReferenceChanges {
                title: Some("Mine".into()),
                ..ReferenceChanges::default()
            }
        ),
        Resource::Reference
    ));
    assert!(is_not_found(
        b.delete_reference(&other, &blog.id),
        Resource::Reference
    ));
    assert_eq!(b.get_reference(&acme, &blog.id).unwrap(), blog);
    assert!(is_not_found(
        b.get_reference(&acme, "not-a-uuid"),
        Resource::Reference
    ));
}

// Credentials and the access revision.

pub(crate) fn credentials_hold_the_hash_never_the_secret<B: Backend>(env: &Env<B>) {
    let b = &env.backend;
    let (acme, _) = org(env, "Acme");
    b.create_project(
        &acme,
        &NewProject {
            name: "Site".into(),
            cors: vec!["https://example.com".into()],
            ..NewProject::default()
        },
    )
    .unwrap();
    let created = b
        .create_client(&acme, &client("Reader", ClientType::Read, Some("site")))
        .unwrap();
    let id = &created.client.id;
    let secret = created.secret.expose();

    let creds = b.client_credentials(id).unwrap().expect("a stored client");
    assert_eq!(creds.client, created.client);
    assert!(!creds.secret_hash.contains(secret));
    assert!(!creds.secret_hash.contains(&secret[4..]));
    assert_eq!(
        b.hasher().verify(&creds.secret_hash, secret),
        Verification::Valid {
            needs_rehash: false
        }
    );
    assert_eq!(
        b.hasher().verify(&creds.secret_hash, "sec_wrong"),
        Verification::Invalid
    );
    let check = b.check_key().value(id, secret);
    assert_eq!(creds.secret_check, Some(check));
    assert_eq!(
        b.secret_checks(id, b.now()).unwrap().map(|c| c.current),
        Some(Some(check))
    );
    assert_eq!(creds.project_delete_at, None);
    assert_eq!(creds.project_cors, ["https://example.com"]);

    // An organization-level client has no project to describe.
    let (_, root) = org(env, "Other");
    let root_creds = b.client_credentials(&root).unwrap().unwrap();
    assert_eq!(
        (root_creds.project_delete_at, root_creds.project_cors.len()),
        (None, 0)
    );

    // A project scheduled for deletion shows its deleteAt.
    let at = b.delete_project(&acme, "site").unwrap();
    assert_eq!(
        b.client_credentials(id).unwrap().unwrap().project_delete_at,
        Some(at)
    );

    // Unknown and malformed ids have none.
    let unknown = "0b7e0c1e-5a9b-4d43-9c55-8f0e4a1f2b3c";
    assert!(b.client_credentials(unknown).unwrap().is_none());
    assert!(b.client_credentials("not-a-uuid").unwrap().is_none());
    assert_eq!(
        b.secret_checks(unknown, b.now())
            .unwrap()
            .map(|c| c.current),
        None
    );
    // The clock is the one the backend was opened with.
    env.clock.advance_secs(7);
    assert_eq!(b.now(), T0.plus_seconds(7));
    assert_eq!(b.now_coarse(), T0.plus_seconds(7));
}

pub(crate) fn a_rotation_keeps_the_previous_secret_for_its_grace_only<B: Backend>(env: &Env<B>) {
    let b = &env.backend;
    let (acme, root) = org(env, "Acme");
    let before = b.client_credentials(&root).unwrap().unwrap();
    let old_check = before.secret_check;
    let revision = b.access_revision().unwrap();
    let rotated = b.rotate_client(&acme, &root, 60).unwrap();
    assert_ne!(
        b.access_revision().unwrap(),
        revision,
        "a rotation bumps the revision"
    );
    let until = b.now().plus_seconds(60);
    assert_eq!(rotated.previous_secret_expires_at, Some(until));
    let creds = b.client_credentials(&root).unwrap().unwrap();
    let previous = creds.previous.expect("a previous secret");
    assert_eq!(
        (previous.hash.as_str(), previous.expires_at),
        (before.secret_hash.as_str(), until)
    );
    let new_check = b.check_key().value(&root, rotated.secret.expose());
    assert_eq!(creds.secret_check, Some(new_check));
    assert!(matches!(
        b.hasher()
            .verify(&creds.secret_hash, rotated.secret.expose()),
        Verification::Valid { .. }
    ));
    let checks = b.secret_checks(&root, b.now()).unwrap().unwrap();
    assert_eq!(checks.current, Some(new_check));
    assert_eq!(checks.previous, Some((old_check, until)));
    // Not at the instant the grace ends.
    assert_eq!(
        b.secret_checks(&root, until).unwrap().unwrap().previous,
        None
    );
    // A rotation without grace keeps no previous secret; a bad grace or client changes nothing.
    let again = b.rotate_client(&acme, &root, 0).unwrap();
    assert_eq!(again.previous_secret_expires_at, None);
    assert!(b
        .client_credentials(&root)
        .unwrap()
        .unwrap()
        .previous
        .is_none());
    assert!(matches!(
        b.rotate_client(&acme, &root, 2_592_001),
        Err(Error::Validation(_))
    ));
    let (other, _) = org(env, "Other");
    assert!(matches!(
        b.rotate_client(&other, &root, 0),
        Err(Error::NotFound(Resource::Client))
    ));
    let current = b.client_credentials(&root).unwrap().unwrap().secret_check;
    assert_eq!(
        current,
        Some(b.check_key().value(&root, again.secret.expose()))
    );
}

pub(crate) fn last_use_only_moves_forward<B: Backend>(env: &Env<B>) {
    let b = &env.backend;
    let (acme, root) = org(env, "Acme");
    assert_eq!(b.get_client(&acme, &root).unwrap().last_used_at, None);
    b.record_last_used(&[(&root, Timestamp(5_000))]).unwrap();
    b.record_last_used(&[(&root, Timestamp(4_000)), ("unknown", Timestamp(9))])
        .unwrap();
    assert_eq!(
        b.get_client(&acme, &root).unwrap().last_used_at,
        Some(Timestamp(5_000))
    );
    b.record_last_used(&[(&root, Timestamp(6_000))]).unwrap();
    assert_eq!(
        b.get_client(&acme, &root).unwrap().last_used_at,
        Some(Timestamp(6_000))
    );
}

pub(crate) fn a_verified_secret_is_recorded_only_against_its_hash<B: Backend>(env: &Env<B>) {
    let b = &env.backend;
    let (_, root) = org(env, "Acme");
    let old_hash = b.client_credentials(&root).unwrap().unwrap().secret_hash;
    let old_check = b
        .secret_checks(&root, b.now())
        .unwrap()
        .map(|c| c.current)
        .unwrap();
    // Against a hash that is no longer stored: nothing changes.
    b.record_verified_secret(&root, "$argon2id$stale", Some("$argon2id$new"), 7)
        .unwrap();
    let creds = b.client_credentials(&root).unwrap().unwrap();
    assert_eq!(creds.secret_hash, old_hash);
    assert_eq!(
        b.secret_checks(&root, b.now()).unwrap().map(|c| c.current),
        Some(old_check)
    );
    // Against the stored hash, without a rehash: only the check value.
    b.record_verified_secret(&root, &old_hash, None, 42)
        .unwrap();
    let creds = b.client_credentials(&root).unwrap().unwrap();
    assert_eq!(
        (creds.secret_hash.as_str(), creds.secret_check),
        (old_hash.as_str(), Some(42))
    );
    // With a rehash: both.
    b.record_verified_secret(&root, &old_hash, Some("$argon2id$rehashed"), u32::MAX)
        .unwrap();
    let creds = b.client_credentials(&root).unwrap().unwrap();
    assert_eq!(creds.secret_hash, "$argon2id$rehashed");
    assert_eq!(
        b.secret_checks(&root, b.now()).unwrap().map(|c| c.current),
        Some(Some(u32::MAX))
    );
}

pub(crate) fn clients_are_active_until_deleted_or_their_project_is_gone<B: Backend>(env: &Env<B>) {
    let b = &env.backend;
    let (acme, root) = org(env, "Acme");
    let p = b.create_project(&acme, &named("Site")).unwrap();
    let reader = b
        .create_client(&acme, &client("Reader", ClientType::Read, None))
        .unwrap()
        .client
        .id;
    assert!(b.client_is_active(&root).unwrap());
    assert!(b.client_is_active(&reader).unwrap());
    assert!(b.client_is_active(&p.client.id).unwrap());
    assert!(!b
        .client_is_active("0b7e0c1e-5a9b-4d43-9c55-8f0e4a1f2b3c")
        .unwrap());
    b.delete_client(&acme, &reader).unwrap();
    assert!(!b.client_is_active(&reader).unwrap());
    assert!(b.client_credentials(&reader).unwrap().is_none());
    let at = b.delete_project(&acme, "site").unwrap();
    assert!(b.client_is_active(&p.client.id).unwrap(), "only scheduled");
    env.clock.set(at);
    assert!(!b.client_is_active(&p.client.id).unwrap());
    assert!(b.client_is_active(&root).unwrap());
}

pub(crate) fn the_access_revision_changes_when_access_may_be_revoked<B: Backend>(env: &Env<B>) {
    let b = &env.backend;
    let (acme, _) = org(env, "Acme");
    let p = b.create_project(&acme, &named("Site")).unwrap();
    let reader = b
        .create_client(&acme, &client("Reader", ClientType::Read, None))
        .unwrap()
        .client
        .id;
    let mut seen = vec![b.access_revision().unwrap()];
    let mut changed = |what: &str| {
        let now = b.access_revision().unwrap();
        assert!(
            !seen.contains(&now),
            "{what}: revision {now} seen before ({seen:?})"
        );
        seen.push(now);
    };
    // Each revoking change is seen at once by the handle that made it.
    b.update_client(
        &acme,
        &reader,
        &ClientChanges {
            tier: Some(Some(Tier::Free)),
            ..ClientChanges::default()
        },
    )
    .unwrap();
    changed("a tier change");
    b.delete_client(&acme, &reader).unwrap();
    changed("a client deletion");
    b.delete_project(&acme, "site").unwrap();
    changed("a project scheduled for deletion");
    b.update_project(&acme, "site", &ProjectChanges::default())
        .unwrap();
    changed("a cancelled deletion");
    b.delete_project(&acme, "site").unwrap();
    changed("a second scheduled deletion");
    env.clock.advance_secs(GRACE_SECONDS);
    assert_eq!(b.purge().unwrap(), 1);
    assert!(b.client_credentials(&p.client.id).unwrap().is_none());
    changed("a purge");
    b.delete_organization(&acme).unwrap();
    changed("an organization deletion");
}

// OAuth codes, grants and tokens.

const REDIRECT: &str = "https://app.example.com/callback";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn digest(kind: TokenKind) -> TokenDigest {
    Token::generate(kind).digest()
}

fn store_code<B: Backend>(env: &Env<B>, client_id: &str) -> TokenDigest {
    let code = digest(TokenKind::Code);
    let now = env.backend.now();
    env.backend
        .insert_code(&NewCode {
            digest: code,
            client_id,
            redirect_uri: REDIRECT,
            scope: "manage",
            code_challenge: CHALLENGE,
            subject: "user-42",
            created_at: now,
            expires_at: now.plus_seconds(600),
        })
        .unwrap();
    code
}

fn token(digest: TokenDigest, kind: TokenKind, now: Timestamp, ttl: i64) -> NewToken<'static> {
    NewToken {
        digest,
        kind,
        scope: "manage",
        created_at: now,
        expires_at: now.plus_seconds(ttl),
    }
}

/// A grant with an access and a refresh token; returns its id and the two digests.
fn issue<B: Backend>(
    env: &Env<B>,
    client_id: &str,
    code: Option<TokenDigest>,
) -> Option<(String, TokenDigest, TokenDigest)> {
    let now = env.backend.now();
    let (access, refresh) = (digest(TokenKind::Access), digest(TokenKind::Refresh));
    let tokens = [
        token(access, TokenKind::Access, now, 3_600),
        token(refresh, TokenKind::Refresh, now, 86_400),
    ];
    env.backend
        .create_grant(&NewGrant {
            client_id,
            subject: Some("user-42"),
            scope: "manage",
            created_at: now,
            code,
            tokens: &tokens,
        })
        .unwrap()
        .map(|id| (id, access, refresh))
}

pub(crate) fn codes_are_claimed_once_by_their_client<B: Backend>(env: &Env<B>) {
    let b = &env.backend;
    let (_, root) = org(env, "Acme");
    let (_, other) = org(env, "Other");
    let code = store_code(env, &root);
    env.clock.advance_secs(3);
    // Another client's presentation is as if the code did not exist, and spends nothing.
    assert_eq!(
        b.claim_code(code, &other, b.now()).unwrap(),
        CodeClaim::Unknown
    );
    assert_eq!(
        b.claim_code(code, &root, b.now()).unwrap(),
        CodeClaim::Claimed(CodeRecord {
            client_id: root.clone(),
            redirect_uri: REDIRECT.into(),
            scope: "manage".into(),
            code_challenge: CHALLENGE.into(),
            subject: "user-42".into(),
            created_at: T0,
            expires_at: T0.plus_seconds(600),
        })
    );
    assert_eq!(
        b.claim_code(code, &root, b.now()).unwrap(),
        CodeClaim::AlreadyUsed
    );
    assert_eq!(
        b.claim_code(code, &root, b.now()).unwrap(),
        CodeClaim::AlreadyUsed
    );
    assert_eq!(
        b.claim_code(digest(TokenKind::Code), &root, b.now())
            .unwrap(),
        CodeClaim::Unknown
    );
    // Codes are independent of each other.
    let second = store_code(env, &root);
    assert!(matches!(
        b.claim_code(second, &root, b.now()).unwrap(),
        CodeClaim::Claimed(_)
    ));
}

pub(crate) fn a_code_links_to_one_grant_and_a_replay_revokes_it<B: Backend>(env: &Env<B>) {
    let b = &env.backend;
    let (_, root) = org(env, "Acme");
    let code = store_code(env, &root);
    assert!(matches!(
        b.claim_code(code, &root, b.now()).unwrap(),
        CodeClaim::Claimed(_)
    ));
    let (grant, access, refresh) = issue(env, &root, Some(code)).expect("a grant");
    assert_eq!(grant.len(), 36);
    // A code already linked issues nothing more.
    assert_eq!(issue(env, &root, Some(code)), None);
    // Its replay revokes what it issued, once.
    assert_eq!(
        b.claim_code(code, &root, b.now()).unwrap(),
        CodeClaim::AlreadyUsed
    );
    assert!(b.revoke_code_grant(code, b.now()).unwrap());
    assert!(!b.revoke_code_grant(code, b.now()).unwrap());
    assert!(b.token_record(access).unwrap().unwrap().revoked);
    assert!(b.token_record(refresh).unwrap().unwrap().revoked);

    // A code replayed before its grant was created links to nothing.
    let raced = store_code(env, &root);
    assert!(matches!(
        b.claim_code(raced, &root, b.now()).unwrap(),
        CodeClaim::Claimed(_)
    ));
    assert_eq!(
        b.claim_code(raced, &root, b.now()).unwrap(),
        CodeClaim::AlreadyUsed
    );
    assert_eq!(issue(env, &root, Some(raced)), None);
    assert!(!b.revoke_code_grant(raced, b.now()).unwrap());
    // Grants without a code (client credentials) need none.
    assert!(issue(env, &root, None).is_some());
}

pub(crate) fn token_records_describe_stored_tokens<B: Backend>(env: &Env<B>) {
    let b = &env.backend;
    let (acme, _) = org(env, "Acme");
    let p = b.create_project(&acme, &named("Site")).unwrap();
    let writer = b.get_client(&acme, &p.client.id).unwrap();
    let (grant, access, refresh) = issue(env, &writer.id, None).unwrap();

    let a = b.token_record(access).unwrap().expect("the access token");
    assert_eq!(a.kind, TokenKind::Access);
    assert_eq!(a.grant_id, grant);
    assert_eq!(a.client, writer);
    assert_eq!(a.project_delete_at, None);
    assert_eq!(a.scope, "manage");
    assert_eq!(a.subject.as_deref(), Some("user-42"));
    assert_eq!((a.created_at, a.expires_at), (T0, T0.plus_seconds(3_600)));
    assert!(!a.revoked && !a.rotated);
    let r = b.token_record(refresh).unwrap().expect("the refresh token");
    assert_eq!(
        (r.kind, r.grant_id.as_str()),
        (TokenKind::Refresh, grant.as_str())
    );
    assert_eq!(r.expires_at, T0.plus_seconds(86_400));
    assert!(b.token_record(digest(TokenKind::Access)).unwrap().is_none());

    // The record shows the client as it is now, and its project's deletion.
    env.clock.advance_secs(1);
    b.update_client(
        &acme,
        &writer.id,
        &ClientChanges {
            name: Some("Renamed".into()),
            ..ClientChanges::default()
        },
    )
    .unwrap();
    let at = b.delete_project(&acme, "site").unwrap();
    let a = b.token_record(access).unwrap().unwrap();
    assert_eq!(a.client.name, "Renamed");
    assert_eq!(a.project_delete_at, Some(at));
    // A deleted client's tokens are gone.
    b.delete_client(&acme, &writer.id).unwrap();
    assert!(b.token_record(access).unwrap().is_none());
    assert!(b.token_record(refresh).unwrap().is_none());
}

pub(crate) fn refresh_tokens_rotate_once_with_a_grace<B: Backend>(env: &Env<B>) {
    let b = &env.backend;
    let (_, root) = org(env, "Acme");
    let grace_ms = 10_000;
    let (grant, access, refresh) = issue(env, &root, None).unwrap();
    let pair = |now: Timestamp| {
        let (a, r) = (digest(TokenKind::Access), digest(TokenKind::Refresh));
        (
            [
                token(a, TokenKind::Access, now, 3_600),
                token(r, TokenKind::Refresh, now, 86_400),
            ],
            a,
            r,
        )
    };

    env.clock.advance_secs(1);
    let (tokens, a1, r1) = pair(b.now());
    assert_eq!(
        b.rotate_refresh_token(refresh, b.now(), grace_ms, &tokens)
            .unwrap(),
        Rotation::Rotated
    );
    let old = b.token_record(refresh).unwrap().unwrap();
    assert!(old.rotated && !old.revoked);
    let new_refresh = b.token_record(r1).unwrap().unwrap();
    assert_eq!(new_refresh.grant_id, grant);
    assert!(!new_refresh.rotated && !new_refresh.revoked);
    assert_eq!(
        b.token_record(a1).unwrap().unwrap().created_at,
        T0.plus_seconds(1)
    );
    assert!(!b.token_record(access).unwrap().unwrap().revoked);

    // Presented again within the grace: a sibling pair, once.
    env.clock.advance_secs(2);
    let (tokens, a2, r2) = pair(b.now());
    assert_eq!(
        b.rotate_refresh_token(refresh, b.now(), grace_ms, &tokens)
            .unwrap(),
        Rotation::Sibling
    );
    assert_eq!(b.token_record(r2).unwrap().unwrap().grant_id, grant);
    assert!(b.token_record(a2).is_ok_and(|t| t.is_some()));
    // A third presentation is a replay: the whole grant goes, and nothing is stored.
    let (tokens, a3, _) = pair(b.now());
    assert_eq!(
        b.rotate_refresh_token(refresh, b.now(), grace_ms, &tokens)
            .unwrap(),
        Rotation::Replayed
    );
    assert!(b.token_record(a3).unwrap().is_none());
    for t in [access, a1, r1, a2, r2] {
        assert!(b.token_record(t).unwrap().unwrap().revoked);
    }
    // A revoked grant's tokens rotate no more.
    let (tokens, ..) = pair(b.now());
    assert_eq!(
        b.rotate_refresh_token(r1, b.now(), grace_ms, &tokens)
            .unwrap(),
        Rotation::NotCurrent
    );

    // Past the grace, a second presentation is a replay at once.
    let (_, _, refresh) = issue(env, &root, None).unwrap();
    let (tokens, _, fresh) = pair(b.now());
    assert_eq!(
        b.rotate_refresh_token(refresh, b.now(), grace_ms, &tokens)
            .unwrap(),
        Rotation::Rotated
    );
    env.clock.advance_ms(grace_ms);
    let (tokens, ..) = pair(b.now());
    assert_eq!(
        b.rotate_refresh_token(refresh, b.now(), grace_ms, &tokens)
            .unwrap(),
        Rotation::Replayed
    );
    assert!(b.token_record(fresh).unwrap().unwrap().revoked);

    // Access tokens and unknown digests are not refresh tokens.
    let (_, access, _) = issue(env, &root, None).unwrap();
    let (tokens, ..) = pair(b.now());
    assert_eq!(
        b.rotate_refresh_token(access, b.now(), grace_ms, &tokens)
            .unwrap(),
        Rotation::NotCurrent
    );
    assert!(!b.token_record(access).unwrap().unwrap().rotated);
    assert_eq!(
        b.rotate_refresh_token(digest(TokenKind::Refresh), b.now(), grace_ms, &tokens)
            .unwrap(),
        Rotation::NotCurrent
    );
}

pub(crate) fn tokens_and_grants_are_revoked<B: Backend>(env: &Env<B>) {
    let b = &env.backend;
    let (_, root) = org(env, "Acme");
    let (grant, access, refresh) = issue(env, &root, None).unwrap();
    let (other_grant, other_access, _) = issue(env, &root, None).unwrap();
    // One token: only it.
    assert!(b.revoke_token(access, b.now()).unwrap());
    assert!(!b.revoke_token(access, b.now()).unwrap());
    assert!(b.token_record(access).unwrap().unwrap().revoked);
    assert!(!b.token_record(refresh).unwrap().unwrap().revoked);
    assert!(!b.revoke_token(digest(TokenKind::Access), b.now()).unwrap());
    // A refresh token revoked on its own rotates no more.
    let (_, _, lone) = issue(env, &root, None).unwrap();
    assert!(b.revoke_token(lone, b.now()).unwrap());
    assert_eq!(
        b.rotate_refresh_token(lone, b.now(), 10_000, &[]).unwrap(),
        Rotation::NotCurrent
    );
    // A whole grant: every token in it, and no other grant's.
    assert!(b.revoke_grant(&grant, b.now()).unwrap());
    assert!(!b.revoke_grant(&grant, b.now()).unwrap());
    assert!(b.token_record(refresh).unwrap().unwrap().revoked);
    assert!(!b.token_record(other_access).unwrap().unwrap().revoked);
    assert!(!b
        .revoke_grant("0b7e0c1e-5a9b-4d43-9c55-8f0e4a1f2b3c", b.now())
        .unwrap());
    assert!(b.revoke_grant(&other_grant, b.now()).unwrap());
    assert!(b.token_record(other_access).unwrap().unwrap().revoked);
}

pub(crate) fn purge_prunes_long_expired_tokens<B: Backend>(env: &Env<B>) {
    let b = &env.backend;
    let (_, root) = org(env, "Acme");
    // Access tokens live an hour, refresh tokens a day (see `issue`).
    let (_, access, refresh) = issue(env, &root, None).unwrap();
    let code = store_code(env, &root);
    // Expired, but within the retention of docs/oauth.md (24 h): still known.
    env.clock.advance_secs(3_601);
    assert_eq!(b.purge().unwrap(), 0);
    let kept = b.token_record(access).unwrap().expect("kept while recent");
    assert!(kept.expires_at < b.now());
    assert!(b.token_record(refresh).unwrap().is_some());
    assert!(matches!(
        b.claim_code(code, &root, b.now()).unwrap(),
        CodeClaim::Claimed(_)
    ));
    // Long past: pruned.
    env.clock.advance_secs(2 * 86_400);
    b.purge().unwrap();
    assert!(b.token_record(access).unwrap().is_none());
    assert!(b.token_record(refresh).unwrap().is_none());
    assert_eq!(
        b.claim_code(code, &root, b.now()).unwrap(),
        CodeClaim::Unknown
    );
}

/// The suite on the SQLite backend, each test on a fresh store file in its own directory.
mod sqlite_backend {
    use crate::options::Options;
    use crate::store::sqlite::Db;

    fn open(options: &Options) -> (Db, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = Db::open(dir.path().join("opcore.db"), options).expect("open the store");
        (db, dir)
    }

    super::backend_suite!(open);
}

// The audit log (docs/lifecycle.md#audit-log).

pub(crate) fn the_audit_log_has_one_entry_per_change<B: Backend>(env: &Env<B>) {
    use crate::domain::model::AuditAction as A;
    let b = &env.backend;
    let (other, _) = org(env, "Other");
    let (org, _) = org(env, "Acme");
    let p = b.create_project(&org, &named("Shop")).unwrap().project.id;
    let c = b
        .create_client(&org, &client("Reader", ClientType::Read, Some(&p)))
        .unwrap()
        .client
        .id;
    let r = b
        .create_reference(&org, &reference(&p, "Launch"))
        .unwrap()
        .id;
    b.update_reference(
        &org,
        &r,
        &ReferenceChanges {
            title: Some("Launched".into()),
            ..ReferenceChanges::default()
        },
    )
    .unwrap();
    // Failures leave nothing.
    assert!(b.create_project(&org, &named("")).is_err());
    assert!(b
        .delete_reference(&org, "fa0c2780-55f2-4d9e-bea0-da2e02c7b1a9")
        .is_err());
    b.delete_reference(&org, &r).unwrap();
    b.delete_client(&org, &c).unwrap();
    b.delete_project(&org, &p).unwrap();
    // A repeated deletion changes nothing and writes nothing.
    b.delete_project(&org, &p).unwrap();
    b.update_project(
        &org,
        &p,
        &ProjectChanges {
            cross_domain: Some(true),
            ..ProjectChanges::default()
        },
    )
    .unwrap();
    b.delete_project(&org, &p).unwrap();
    env.clock.advance_secs(GRACE_SECONDS);
    assert_eq!(b.purge().unwrap(), 1);

    let log = b
        .list_audit(&org, None, &ListOptions::default())
        .unwrap()
        .items;
    let got: Vec<(A, &str, Option<&str>, Vec<&str>)> = log
        .iter()
        .map(|e| {
            (
                e.action,
                e.resource_id.as_str(),
                e.project_id.as_deref(),
                e.changes.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    let some = Some(p.as_str());
    assert_eq!(
        got,
        [
            (A::ProjectPurge, p.as_str(), some, vec![]),
            (A::ProjectDelete, p.as_str(), some, vec![]),
            (
                A::ProjectRestore,
                p.as_str(),
                some,
                vec!["crossDomain", "deleteAt"]
            ),
            (A::ProjectDelete, p.as_str(), some, vec![]),
            (A::ClientDelete, c.as_str(), some, vec![]),
            (A::ReferenceDelete, r.as_str(), some, vec![]),
            (A::ReferenceUpdate, r.as_str(), some, vec!["title"]),
            (
                A::ReferenceCreate,
                r.as_str(),
                some,
                vec!["projectId", "title"]
            ),
            (
                A::ClientCreate,
                c.as_str(),
                some,
                vec!["name", "type", "projectId", "secret"]
            ),
            (A::ProjectCreate, p.as_str(), some, vec!["name", "client"]),
            (
                A::OrganizationCreate,
                org.as_str(),
                None,
                vec!["name", "client"]
            ),
        ]
    );
    assert!(log.iter().all(|e| e.actor_client_id.is_none()));
    assert!(log
        .iter()
        .all(|e| e.resource_type == e.action.resource_type()));

    // Pages of three, a resource filter, and the other organization's log apart.
    let first = b.list_audit(&org, None, &ListOptions::limit(3)).unwrap();
    assert_eq!(first.items, log[..3]);
    let next = ListOptions {
        limit: Some(3),
        cursor: first.next_cursor.clone(),
    };
    assert_eq!(b.list_audit(&org, None, &next).unwrap().items, log[3..6]);
    let of_client = b
        .list_audit(&org, Some(&c), &ListOptions::default())
        .unwrap();
    assert_eq!(of_client.items.len(), 2);
    let theirs = b
        .list_audit(&other, None, &ListOptions::default())
        .unwrap()
        .items;
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].action, A::OrganizationCreate);
    assert!(b
        .list_audit(&other, Some(&p), &ListOptions::default())
        .unwrap()
        .items
        .is_empty());
    b.delete_organization(&other).unwrap();
    assert!(b
        .list_audit(&other, None, &ListOptions::default())
        .unwrap()
        .items
        .is_empty());
}

pub(crate) fn purge_prunes_audit_entries_past_their_retention<B: Backend>(env: &Env<B>) {
    use crate::domain::model::AuditAction as A;
    let b = &env.backend;
    let (org, _) = org(env, "Acme");
    let old = b.create_project(&org, &named("Old")).unwrap().project.id;
    // One day short of the retention: kept.
    let retention_days = i64::from(crate::options::DEFAULT_AUDIT_RETENTION_DAYS);
    env.clock.advance_secs((retention_days - 1) * 86_400);
    let recent = b.create_project(&org, &named("Recent")).unwrap().project.id;
    b.purge().unwrap();
    let actions = |b: &B| -> Vec<(A, String)> {
        b.list_audit(&org, None, &ListOptions::default())
            .unwrap()
            .items
            .into_iter()
            .map(|e| (e.action, e.resource_id))
            .collect()
    };
    assert_eq!(
        actions(b),
        [
            (A::ProjectCreate, recent.clone()),
            (A::ProjectCreate, old.clone()),
            (A::OrganizationCreate, org.clone()),
        ]
    );
    // Past the retention: the first two entries go, the recent one stays.
    env.clock.advance_secs(86_400 + 1);
    b.purge().unwrap();
    assert_eq!(actions(b), [(A::ProjectCreate, recent)]);
    // The resources themselves are untouched.
    assert_eq!(b.get_project(&org, &old).unwrap().id, old);
}

pub(crate) fn an_expiry_change_is_audited_and_moves_the_access_revision<B: Backend>(env: &Env<B>) {
    use crate::domain::model::AuditAction as A;
    let b = &env.backend;
    let (org, _) = org(env, "Acme");
    let c = b
        .create_client(&org, &client("Reader", ClientType::Read, None))
        .unwrap()
        .client
        .id;
    let set = |value: Option<&str>| ClientChanges {
        expires_at: Some(value.map(str::to_owned)),
        ..ClientChanges::default()
    };
    let before = b.access_revision().unwrap();
    let updated = b
        .update_client(&org, &c, &set(Some("2024-02-01T00:00:00.000Z")))
        .unwrap();
    let until = Timestamp(1_706_745_600_000);
    assert_eq!(updated.expires_at, Some(until));
    assert_ne!(b.access_revision().unwrap(), before);
    let creds = b.client_credentials(&c).unwrap().unwrap();
    assert_eq!(creds.client.expires_at, Some(until));
    assert_eq!(b.get_client(&org, &c).unwrap().expires_at, Some(until));
    // The same expiry again changes nothing that caches hold.
    let same = b.access_revision().unwrap();
    b.update_client(&org, &c, &set(Some("2024-02-01T00:00:00.000Z")))
        .unwrap();
    assert_eq!(b.access_revision().unwrap(), same);
    // Cleared: moves again.
    b.update_client(&org, &c, &set(None)).unwrap();
    assert_ne!(b.access_revision().unwrap(), same);
    assert_eq!(b.get_client(&org, &c).unwrap().expires_at, None);
    let log: Vec<(A, Vec<String>)> = b
        .list_audit(&org, Some(&c), &ListOptions::default())
        .unwrap()
        .items
        .into_iter()
        .map(|e| (e.action, e.changes))
        .collect();
    assert_eq!(
        log,
        [
            (A::ClientUpdate, vec!["expiresAt".to_owned()]),
            (A::ClientUpdate, vec![]),
            (A::ClientUpdate, vec!["expiresAt".to_owned()]),
            (
                A::ClientCreate,
                vec!["name".to_owned(), "type".to_owned(), "secret".to_owned()]
            ),
        ]
    );
}

/// Whether running `f` between two readings of the data revision leaves it where it was, in
/// at least one of 20 tries. On SQLite nothing else writes, so the first try decides. On
/// PostgreSQL the revision is the server's transaction snapshot, which any commit on the
/// server moves (other tests' included, docs/scale-out.md): something that moved it by itself
/// would move it in every try.
pub(crate) fn leaves_the_data_revision<B: Backend>(b: &B, mut f: impl FnMut()) -> bool {
    (0..20).any(|i| {
        if i > 0 {
            std::thread::sleep(std::time::Duration::from_millis(i));
        }
        let before = b.data_revision().unwrap();
        f();
        b.data_revision().unwrap() == before
    })
}

pub(crate) fn every_write_moves_the_data_revision_and_reads_do_not<B: Backend>(env: &Env<B>) {
    let b = &env.backend;
    let (org, root) = org(env, "Acme");
    let start = b.data_revision().unwrap();
    let p = b.create_project(&org, &named("Shop")).unwrap().project.id;
    let after_create = b.data_revision().unwrap();
    assert!(after_create > start, "{after_create} > {start}");
    // Reads leave it where it is.
    assert!(leaves_the_data_revision(b, || {
        b.get_project(&org, &p).unwrap();
        b.list_projects(&org).unwrap();
        b.list_clients(&org, None).unwrap();
        b.client_credentials(&root).unwrap();
        b.secret_checks(&root, b.now()).unwrap();
        b.list_audit(&org, None, &ListOptions::default()).unwrap();
        b.page_validity(&org, b.now()).unwrap();
    }));
    // A failed write leaves it too.
    assert!(leaves_the_data_revision(b, || {
        assert!(b
            .delete_reference(&org, "fa0c2780-55f2-4d9e-bea0-da2e02c7b1a9")
            .is_err());
    }));
    // Every kind of write moves it: resources, counters, and last use.
    let mut last = b.data_revision().unwrap();
    let mut moved = |what: &str| {
        let now = b.data_revision().unwrap();
        assert!(now > last, "{what}: {now} > {last}");
        last = now;
    };
    b.increment_events_count(&org, &p, 2).unwrap();
    moved("events count");
    b.record_last_used(&[(root.as_str(), b.now())]).unwrap();
    moved("last use");
    b.rotate_client(&org, &root, 0).unwrap();
    moved("rotation");
    b.delete_project(&org, &p).unwrap();
    moved("deletion");
}

/// Whether `page_validity` and `data_revision` read one after the other agree, in one of 20
/// tries (see [`leaves_the_data_revision`]); the deletion time `page_validity` named.
fn page_validity_agrees<B: Backend>(b: &B, org: &str) -> Option<Timestamp> {
    for i in 0..20 {
        std::thread::sleep(std::time::Duration::from_millis(i));
        let (revision, until) = b.page_validity(org, b.now()).unwrap();
        if revision == b.data_revision().unwrap() {
            return until;
        }
    }
    panic!("page_validity's revision never matched data_revision's");
}

pub(crate) fn page_validity_names_the_next_deletion_time_of_the_organization<B: Backend>(
    env: &Env<B>,
) {
    let b = &env.backend;
    let (other, _) = org(env, "Other");
    let (org, _) = org(env, "Acme");
    let p = b.create_project(&org, &named("Shop")).unwrap().project.id;
    let q = b.create_project(&org, &named("Blog")).unwrap().project.id;
    let theirs = b
        .create_project(&other, &named("Theirs"))
        .unwrap()
        .project
        .id;
    assert_eq!(page_validity_agrees(b, &org), None);
    // Another organization's scheduled deletion is not this one's.
    b.delete_project(&other, &theirs).unwrap();
    assert_eq!(b.page_validity(&org, b.now()).unwrap().1, None);
    let first = b.delete_project(&org, &p).unwrap();
    env.clock.advance_secs(60);
    let second = b.delete_project(&org, &q).unwrap();
    assert_eq!(page_validity_agrees(b, &org), Some(first));
    // Once the first time has passed, the next one counts.
    assert_eq!(b.page_validity(&org, first).unwrap().1, Some(second));
    assert_eq!(b.page_validity(&org, second).unwrap().1, None);
}
