//! [`Store`]: the handle hosts hold, and the only way into storage from outside the crate. It
//! joins the SQLite backend with the authentication state (credential cache, throttles, rate
//! limiter) that belongs to it, and names every operation a host may call (ARCHITECTURE.md,
//! "The public API of the Rust crate"). Credential, code, grant and token storage stay inside
//! the crate: `auth` reaches them, hosts cannot.

use std::path::Path;
use std::sync::Arc;

use crate::auth::oauth::{AuthorizeError, AuthorizeRequest};
use crate::auth::tokens::{BearerRequest, TokenInfo};
use crate::auth::{AuthError, AuthRequest, Authenticator, Principal};
use crate::domain::model::{AuditEntry, Client, Organization, Project, Reference};
use crate::domain::time::Timestamp;
use crate::error::Result;
use crate::options::Options;
use crate::store::backend::Backend;
use crate::store::pages::{self, PageCache};
use crate::store::roles::{ChangeNotification, Credentials, Resources};
use crate::store::{
    Bootstrap, ClientChanges, CreatedClient, CreatedProject, ListOptions, NewClient, NewProject,
    NewReference, Page, ProjectChanges, ReferenceChanges, RotatedClient,
};

/// An open opcore store. Cheap to clone (clones share everything); `Send + Sync`, so one handle
/// serves every thread of a process. Its methods are the whole of what a host can do with the
/// storage: resource operations (organizations, projects, clients, references, their lists),
/// `increment_events_count`, `purge`, and authentication.
///
/// # What a host cannot reach
///
/// The storage of credentials, authorization codes, grants and tokens is not part of the API:
/// `auth` uses it inside the crate, and a host can neither call it on a `Store` nor reach the
/// storage backend behind one. Each block below must fail to compile, with the error code
/// given; the doc tests check that, so each proves one door is shut. The same setup with a
/// public method compiles (see [`Store::authorize`]).
///
/// A client's stored credentials (its secret hash) cannot be read:
///
/// ```compile_fail,E0599
/// # let store = opcore::Store::open("opcore.db", opcore::Options::default())?;
/// let _ = store.client_credentials("0b7e0c1e-5a9b-4d43-9c55-8f0e4a1f2b3c");
/// # Ok::<(), opcore::Error>(())
/// ```
///
/// An authorization code cannot be stored (nor claimed, nor a grant created or a refresh
/// token rotated) except through the OAuth flows of [`crate::auth`]:
///
/// ```compile_fail,E0599
/// # let store = opcore::Store::open("opcore.db", opcore::Options::default())?;
/// let _ = store.insert_code(todo!());
/// # Ok::<(), opcore::Error>(())
/// ```
///
/// A `Store` does not dereference to its backend, so no backend method (here the access
/// revision, which `auth` reads) is reachable through it:
///
/// ```compile_fail,E0599
/// # let store = opcore::Store::open("opcore.db", opcore::Options::default())?;
/// let _ = store.access_revision();
/// # Ok::<(), opcore::Error>(())
/// ```
///
/// Nor can a host name the backend type:
///
/// ```compile_fail,E0603
/// fn backend(_: &opcore::store::sqlite::Db) {}
/// ```
#[derive(Clone, Debug)]
pub struct Store {
    db: Backend,
    auth: Arc<Authenticator>,
    pages: Arc<PageCache>,
}

impl Store {
    /// Opens (creating and migrating as needed) the store at `path`, then purges projects
    /// past their deletion time. `path` is an SQLite file, or with Cargo feature `postgres` a
    /// `postgres://user@host:port/database` URL (docs/scale-out.md#postgresql-backend); a
    /// URL in a build without that feature is an [`crate::Error::Open`] saying so.
    pub fn open(path: impl AsRef<Path>, options: Options) -> Result<Store> {
        let db = Backend::open(path.as_ref(), &options)?;
        let auth = Arc::new(Authenticator::new(db.clone(), &options)?);
        Ok(Store {
            db,
            auth,
            pages: Arc::default(),
        })
    }

    /// Authenticates and authorizes one request (docs/security.md).
    pub fn authenticate(&self, request: &AuthRequest<'_>) -> Result<Principal, AuthError> {
        self.auth.authenticate(request)
    }

    /// Whether [`Store::authenticate`] may run an argon2 verification for these credentials
    /// (a well-formed id and secret not in the credential cache). Lets an event-loop host run
    /// only those requests on a blocking thread.
    pub fn may_verify_secret(&self, client_id: Option<&str>, client_secret: Option<&str>) -> bool {
        self.auth.may_verify_secret(client_id, client_secret)
    }

    /// Whether rate-limit decisions wait on the network (option `rate_limit_url`,
    /// docs/scale-out.md), so an event-loop host runs authentication on a blocking thread.
    pub(crate) fn shared_rate_limits(&self) -> bool {
        self.auth.shared_rate_limits()
    }

    /// Authenticates and authorizes one request made with `Authorization: Bearer` (docs/oauth.md).
    /// Runs no argon2.
    pub fn authenticate_bearer(&self, request: &BearerRequest<'_>) -> Result<Principal, AuthError> {
        self.auth.authenticate_bearer(request)
    }

    /// Checks an access token without counting it against any limit: what it proves, or
    /// `MissingToken` / `InvalidToken` / `TokenExpired`.
    pub fn verify_access_token(&self, token: &str) -> Result<TokenInfo, AuthError> {
        self.auth.verify_access_token(token)
    }

    /// Issues an authorization code once the host's user has consented, and returns the
    /// redirect URL carrying `code` and `state` (docs/oauth.md). The redirect URI must be registered
    /// for the client and match exactly; otherwise the error must be shown to the user, never
    /// redirected.
    ///
    /// ```no_run
    /// # let store = opcore::Store::open("opcore.db", opcore::Options::default())?;
    /// use opcore::auth::oauth::AuthorizeRequest;
    /// let url = store.authorize(&AuthorizeRequest {
    ///     client_id: "0b7e0c1e-5a9b-4d43-9c55-8f0e4a1f2b3c",
    ///     redirect_uri: "https://app.example.com/callback",
    ///     scope: Some("manage"),
    ///     code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    ///     code_challenge_method: "S256",
    ///     state: Some("xyz"),
    ///     subject: "user-42",
    /// });
    /// # Ok::<(), opcore::Error>(())
    /// ```
    pub fn authorize(&self, request: &AuthorizeRequest<'_>) -> Result<String, AuthorizeError> {
        self.auth.authorize(request)
    }

    /// This handle, acting for the client `principal` authenticated: every read and write made
    /// through the result checks, inside its own transaction, that the client still exists, and fails
    /// with [`crate::Error::Unauthenticated`] otherwise, so a client deleted by any process can
    /// make no change after the deletion commits (docs/security.md#revocation-windows). The
    /// Manage API makes every call through such a handle.
    pub fn acting_as(&self, principal: &Principal) -> Store {
        Store {
            db: self.db.acting_as(&principal.client_id),
            auth: self.auth.clone(),
            pages: self.pages.clone(),
        }
    }

    /// For a handle acting for a client ([`Store::acting_as`]): one read transaction that only
    /// makes the acting check, [`crate::Error::Unauthenticated`] if the client is gone. The
    /// Manage dispatcher's refusals made before any transaction use it.
    pub(crate) fn check_actor(&self) -> Result<()> {
        self.db.check_actor()
    }

    /// A list page as JSON bytes: from the page cache when nothing it depends on can have
    /// changed (docs/server.md#the-page-cache), else `produce`d by a fresh read and kept. The
    /// check is one read of storage, which for a handle acting for a client is also the
    /// acting check. `key` names the page within `organization_id`'s lists completely.
    pub(crate) fn cached_page<E: From<crate::Error>>(
        &self,
        key: String,
        organization_id: &str,
        produce: impl FnOnce(&Store) -> std::result::Result<Vec<u8>, E>,
    ) -> std::result::Result<Vec<u8>, E> {
        let revision = ChangeNotification::data_revision(&self.db)?;
        let now = Credentials::now(&self.db);
        if let Some(body) = self.pages.get(&key, revision, now) {
            return Ok(body.to_vec());
        }
        let body = produce(self)?;
        if body.len() <= pages::MAX_BYTES {
            // Kept only if no write committed since `revision` was read, i.e. the page is
            // what the store held at that revision.
            let (after, until) = ChangeNotification::page_validity(&self.db, organization_id, now)?;
            if after == revision {
                self.pages.put(key, revision, until, &body);
            }
        }
        Ok(body)
    }

    /// The authentication state (cache size and the like).
    pub fn authenticator(&self) -> &Authenticator {
        &self.auth
    }

    /// The client this handle acts for, if any ([`Store::acting_as`]).
    pub fn actor(&self) -> Option<&str> {
        self.db.actor()
    }

    /// The file this store lives in (canonicalized), or its PostgreSQL URL without the
    /// password.
    pub fn path(&self) -> &Path {
        self.db.path()
    }

    /// "Now", from the clock the store was opened with ([`crate::Options`]' `clock`).
    pub fn now(&self) -> Timestamp {
        crate::store::roles::Credentials::now(&self.db)
    }

    /// Removes every project past its `deleteAt`, with its clients and references, and prunes
    /// long-expired OAuth codes and tokens. Runs at open; call it periodically in long-running
    /// hosts. Returns how many projects were purged.
    pub fn purge(&self) -> Result<usize> {
        Resources::purge(&self.db)
    }

    /// How many issued-id lookups id selection has made on this handle. A cost counter for the
    /// tests and benches that show id selection stays cheap as ids pile up; not part of the API.
    #[doc(hidden)]
    pub fn id_probes(&self) -> u64 {
        self.db.id_probes()
    }

    // Organizations.

    /// Creates an organization and its first `root` client (named `Root client`).
    pub fn create_organization(&self, name: &str) -> Result<Bootstrap> {
        Resources::create_organization(&self.db, name)
    }

    pub fn get_organization(&self, id: &str) -> Result<Organization> {
        Resources::get_organization(&self.db, id)
    }

    /// Every organization, oldest first.
    pub fn list_organizations(&self) -> Result<Vec<Organization>> {
        Resources::list_organizations(&self.db)
    }

    /// Removes an organization and everything in it. Its clients lose access at once.
    pub fn delete_organization(&self, id: &str) -> Result<()> {
        Resources::delete_organization(&self.db, id)
    }

    // Projects.

    /// Creates a project and its default `write` client (`First client`) in one transaction.
    pub fn create_project(
        &self,
        organization_id: &str,
        input: &NewProject,
    ) -> Result<CreatedProject> {
        Resources::create_project(&self.db, organization_id, input)
    }

    /// A project of the organization, also while scheduled for deletion; gone (404) once
    /// past `deleteAt`.
    pub fn get_project(&self, organization_id: &str, id: &str) -> Result<Project> {
        Resources::get_project(&self.db, organization_id, id)
    }

    /// The organization's live projects (not scheduled for deletion), newest first.
    pub fn list_projects(&self, organization_id: &str) -> Result<Vec<Project>> {
        Resources::list_projects(&self.db, organization_id)
    }

    /// One page of [`Store::list_projects`] (docs/behaviour.md#lists).
    pub fn list_projects_page(
        &self,
        organization_id: &str,
        options: &ListOptions,
    ) -> Result<Page<Project>> {
        Resources::list_projects_page(&self.db, organization_id, options)
    }

    /// Applies the given changes. A successful update of a project scheduled for deletion
    /// cancels the deletion. The id never changes.
    pub fn update_project(
        &self,
        organization_id: &str,
        id: &str,
        changes: &ProjectChanges,
    ) -> Result<Project> {
        Resources::update_project(&self.db, organization_id, id, changes)
    }

    /// Schedules the project for deletion `deletion_grace_seconds` from now; repeating it
    /// keeps the first schedule. Returns the `deleteAt`.
    pub fn delete_project(&self, organization_id: &str, id: &str) -> Result<Timestamp> {
        Resources::delete_project(&self.db, organization_id, id)
    }

    /// Adds `n` to the project's `eventsCount` atomically; returns the new count.
    pub fn increment_events_count(&self, organization_id: &str, id: &str, n: i64) -> Result<i64> {
        Resources::increment_events_count(&self.db, organization_id, id, n)
    }

    // Clients.

    /// Creates a client; its secret is in the result and nowhere else, ever.
    pub fn create_client(&self, organization_id: &str, input: &NewClient) -> Result<CreatedClient> {
        Resources::create_client(&self.db, organization_id, input)
    }

    pub fn get_client(&self, organization_id: &str, id: &str) -> Result<Client> {
        self.auth.flush_last_used();
        Resources::get_client(&self.db, organization_id, id)
    }

    /// The organization's clients, newest first, optionally of one project.
    pub fn list_clients(
        &self,
        organization_id: &str,
        project_id: Option<&str>,
    ) -> Result<Vec<Client>> {
        self.auth.flush_last_used();
        Resources::list_clients(&self.db, organization_id, project_id)
    }

    /// One page of [`Store::list_clients`] (docs/behaviour.md#lists).
    pub fn list_clients_page(
        &self,
        organization_id: &str,
        project_id: Option<&str>,
        options: &ListOptions,
    ) -> Result<Page<Client>> {
        self.auth.flush_last_used();
        Resources::list_clients_page(&self.db, organization_id, project_id, options)
    }

    pub fn update_client(
        &self,
        organization_id: &str,
        id: &str,
        changes: &ClientChanges,
    ) -> Result<Client> {
        Resources::update_client(&self.db, organization_id, id, changes)
    }

    /// Deletes a client for good; it loses access at once in this process and within the
    /// staleness bound in others. The organization's last root client cannot be deleted.
    pub fn delete_client(&self, organization_id: &str, id: &str) -> Result<()> {
        Resources::delete_client(&self.db, organization_id, id)
    }

    /// Replaces a client's secret with a new one, returned once in the result. The old secret
    /// keeps working until `previous_secret_expires_at` (now + `grace_seconds`, at most
    /// [`crate::store::MAX_GRACE_SECONDS`]; 0: it stops at once) and not a moment longer;
    /// rotating again ends any earlier grace at once, so at most two secrets are ever valid.
    /// Every credential cache forgets the old state: at once in this process, within the
    /// staleness bound in others (docs/lifecycle.md#rotation).
    pub fn rotate_client(
        &self,
        organization_id: &str,
        id: &str,
        grace_seconds: u64,
    ) -> Result<RotatedClient> {
        Resources::rotate_client(&self.db, organization_id, id, grace_seconds)
    }

    // References.

    pub fn create_reference(
        &self,
        organization_id: &str,
        input: &NewReference,
    ) -> Result<Reference> {
        Resources::create_reference(&self.db, organization_id, input)
    }

    pub fn get_reference(&self, organization_id: &str, id: &str) -> Result<Reference> {
        Resources::get_reference(&self.db, organization_id, id)
    }

    /// References of the organization's projects, newest first; with `project_id`, of that
    /// project only (404 when it is not a project of the organization).
    pub fn list_references(
        &self,
        organization_id: &str,
        project_id: Option<&str>,
    ) -> Result<Vec<Reference>> {
        Resources::list_references(&self.db, organization_id, project_id)
    }

    /// One page of [`Store::list_references`] (docs/behaviour.md#lists).
    pub fn list_references_page(
        &self,
        organization_id: &str,
        project_id: Option<&str>,
        options: &ListOptions,
    ) -> Result<Page<Reference>> {
        Resources::list_references_page(&self.db, organization_id, project_id, options)
    }

    pub fn update_reference(
        &self,
        organization_id: &str,
        id: &str,
        changes: &ReferenceChanges,
    ) -> Result<Reference> {
        Resources::update_reference(&self.db, organization_id, id, changes)
    }

    pub fn delete_reference(&self, organization_id: &str, id: &str) -> Result<()> {
        Resources::delete_reference(&self.db, organization_id, id)
    }

    // The audit log.

    /// One page of the organization's audit log, newest first (the order the changes
    /// committed in); with `resource_id`, only the entries about that resource
    /// (docs/lifecycle.md#audit-log). Entries older than `audit_retention_days` are removed by
    /// [`Store::purge`].
    ///
    /// ```no_run
    /// # let store = opcore::Store::open("opcore.db", opcore::Options::default())?;
    /// let page = store.list_audit("acme", None, &opcore::ListOptions::limit(50))?;
    /// for entry in &page.items {
    ///     println!("{} {} {}", entry.at, entry.action.as_str(), entry.resource_id);
    /// }
    /// # Ok::<(), opcore::Error>(())
    /// ```
    pub fn list_audit(
        &self,
        organization_id: &str,
        resource_id: Option<&str>,
        options: &ListOptions,
    ) -> Result<Page<AuditEntry>> {
        Resources::list_audit(&self.db, organization_id, resource_id, options)
    }
}
