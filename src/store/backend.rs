//! The backend a [`crate::Store`] holds: SQLite (a file path) or, with Cargo feature
//! `postgres`, PostgreSQL (a `postgres://` URL). One enum, so the SQLite hot path stays
//! statically dispatched behind one `match` (ARCHITECTURE.md, "Adding a storage backend"). Each
//! role method calls the backend method of its name.

use std::path::Path;

#[cfg(feature = "postgres")]
use crate::store::postgres::PgDb;
use crate::store::sqlite::Db;

use crate::domain::hashing::SecretHasher;
use crate::domain::model::{AuditEntry, Client, Organization, Project, Reference};
use crate::domain::secret::CheckKey;
use crate::domain::time::Timestamp;
use crate::domain::token::TokenDigest;
use crate::error::Result;
use crate::options::Options;
use crate::store::records::{
    ClientCredentials, CodeClaim, NewCode, NewGrant, NewToken, Rotation, SecretChecks, TokenRecord,
};
use crate::store::roles::{ChangeNotification, Credentials, Grants, Resources};
use crate::store::{
    Bootstrap, ClientChanges, CreatedClient, CreatedProject, ListOptions, NewClient, NewProject,
    NewReference, Page, ProjectChanges, ReferenceChanges, RotatedClient,
};

/// A store's backend. Cheap to clone; `Send + Sync`.
#[derive(Clone, Debug)]
pub(crate) enum Backend {
    Sqlite(Db),
    #[cfg(feature = "postgres")]
    Postgres(PgDb),
}

/// `dispatch!(self, b => b.method(args))`: the call on whichever backend this is.
macro_rules! dispatch {
    ($self:expr, $b:ident => $call:expr) => {
        match $self {
            Backend::Sqlite($b) => $call,
            #[cfg(feature = "postgres")]
            Backend::Postgres($b) => $call,
        }
    };
}

/// Whether `path` names a PostgreSQL database rather than a file.
fn postgres_url(path: &Path) -> Option<&str> {
    let text = path.to_str()?;
    let lower = text.get(..13).unwrap_or(text).to_ascii_lowercase();
    (lower.starts_with("postgres://") || lower.starts_with("postgresql://")).then_some(text)
}

impl Backend {
    /// Opens the backend `path` names: a `postgres://` or `postgresql://` URL opens
    /// PostgreSQL (Cargo feature `postgres`; without it, an `Error::Open` saying so),
    /// anything else the SQLite file at that path.
    pub(crate) fn open(path: &Path, options: &Options) -> Result<Backend> {
        match postgres_url(path) {
            None => Db::open(path, options).map(Backend::Sqlite),
            #[cfg(feature = "postgres")]
            Some(url) => PgDb::open(url, options).map(Backend::Postgres),
            #[cfg(not(feature = "postgres"))]
            Some(url) => Err(crate::error::Error::Open(format!(
                "{}: this build of opcore has no PostgreSQL support (Cargo feature `postgres`)",
                redacted(url)
            ))),
        }
    }

    pub(crate) fn acting_as(&self, client_id: &str) -> Backend {
        match self {
            Backend::Sqlite(b) => Backend::Sqlite(b.acting_as(client_id)),
            #[cfg(feature = "postgres")]
            Backend::Postgres(b) => Backend::Postgres(b.acting_as(client_id)),
        }
    }

    pub(crate) fn actor(&self) -> Option<&str> {
        dispatch!(self, b => b.actor())
    }

    pub(crate) fn check_actor(&self) -> Result<()> {
        dispatch!(self, b => b.check_actor())
    }

    /// The SQLite file (canonicalized), or the PostgreSQL URL without its password.
    pub(crate) fn path(&self) -> &Path {
        dispatch!(self, b => b.path())
    }

    pub(crate) fn id_probes(&self) -> u64 {
        dispatch!(self, b => b.id_probes())
    }
}

/// The URL without anything that could be a password (shown in errors of builds without
/// PostgreSQL support).
#[cfg(not(feature = "postgres"))]
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "postgres://… (unparsable URL)".into(),
    }
}

impl Resources for Backend {
    fn create_organization(&self, name: &str) -> Result<Bootstrap> {
        dispatch!(self, b => b.create_organization(name))
    }

    fn get_organization(&self, id: &str) -> Result<Organization> {
        dispatch!(self, b => b.get_organization(id))
    }

    fn list_organizations(&self) -> Result<Vec<Organization>> {
        dispatch!(self, b => b.list_organizations())
    }

    fn delete_organization(&self, id: &str) -> Result<()> {
        dispatch!(self, b => b.delete_organization(id))
    }

    fn create_project(&self, organization_id: &str, input: &NewProject) -> Result<CreatedProject> {
        dispatch!(self, b => b.create_project(organization_id, input))
    }

    fn get_project(&self, organization_id: &str, id: &str) -> Result<Project> {
        dispatch!(self, b => b.get_project(organization_id, id))
    }

    fn list_projects(&self, organization_id: &str) -> Result<Vec<Project>> {
        dispatch!(self, b => b.list_projects(organization_id))
    }

    fn list_projects_page(
        &self,
        organization_id: &str,
        options: &ListOptions,
    ) -> Result<Page<Project>> {
        dispatch!(self, b => b.list_projects_page(organization_id, options))
    }

    fn update_project(
        &self,
        organization_id: &str,
        id: &str,
        changes: &ProjectChanges,
    ) -> Result<Project> {
        dispatch!(self, b => b.update_project(organization_id, id, changes))
    }

    fn delete_project(&self, organization_id: &str, id: &str) -> Result<Timestamp> {
        dispatch!(self, b => b.delete_project(organization_id, id))
    }

    fn increment_events_count(&self, organization_id: &str, id: &str, n: i64) -> Result<i64> {
        dispatch!(self, b => b.increment_events_count(organization_id, id, n))
    }

    fn create_client(&self, organization_id: &str, input: &NewClient) -> Result<CreatedClient> {
        dispatch!(self, b => b.create_client(organization_id, input))
    }

    fn get_client(&self, organization_id: &str, id: &str) -> Result<Client> {
        dispatch!(self, b => b.get_client(organization_id, id))
    }

    fn list_clients(&self, organization_id: &str, project_id: Option<&str>) -> Result<Vec<Client>> {
        dispatch!(self, b => b.list_clients(organization_id, project_id))
    }

    fn list_clients_page(
        &self,
        organization_id: &str,
        project_id: Option<&str>,
        options: &ListOptions,
    ) -> Result<Page<Client>> {
        dispatch!(self, b => b.list_clients_page(organization_id, project_id, options))
    }

    fn update_client(
        &self,
        organization_id: &str,
        id: &str,
        changes: &ClientChanges,
    ) -> Result<Client> {
        dispatch!(self, b => b.update_client(organization_id, id, changes))
    }

    fn delete_client(&self, organization_id: &str, id: &str) -> Result<()> {
        dispatch!(self, b => b.delete_client(organization_id, id))
    }

    fn rotate_client(
        &self,
        organization_id: &str,
        id: &str,
        grace_seconds: u64,
    ) -> Result<RotatedClient> {
        dispatch!(self, b => b.rotate_client(organization_id, id, grace_seconds))
    }

    fn create_reference(&self, organization_id: &str, input: &NewReference) -> Result<Reference> {
        dispatch!(self, b => b.create_reference(organization_id, input))
    }

    fn get_reference(&self, organization_id: &str, id: &str) -> Result<Reference> {
        dispatch!(self, b => b.get_reference(organization_id, id))
    }

    fn list_references(
        &self,
        organization_id: &str,
        project_id: Option<&str>,
    ) -> Result<Vec<Reference>> {
        dispatch!(self, b => b.list_references(organization_id, project_id))
    }

    fn list_references_page(
        &self,
        organization_id: &str,
        project_id: Option<&str>,
        options: &ListOptions,
    ) -> Result<Page<Reference>> {
        dispatch!(self, b => b.list_references_page(organization_id, project_id, options))
    }

    fn update_reference(
        &self,
        organization_id: &str,
        id: &str,
        changes: &ReferenceChanges,
    ) -> Result<Reference> {
        dispatch!(self, b => b.update_reference(organization_id, id, changes))
    }

    fn delete_reference(&self, organization_id: &str, id: &str) -> Result<()> {
        dispatch!(self, b => b.delete_reference(organization_id, id))
    }

    fn list_audit(
        &self,
        organization_id: &str,
        resource_id: Option<&str>,
        options: &ListOptions,
    ) -> Result<Page<AuditEntry>> {
        dispatch!(self, b => b.list_audit(organization_id, resource_id, options))
    }

    fn purge(&self) -> Result<usize> {
        dispatch!(self, b => b.purge())
    }
}

impl Credentials for Backend {
    fn now(&self) -> Timestamp {
        dispatch!(self, b => b.now())
    }

    fn now_coarse(&self) -> Timestamp {
        dispatch!(self, b => b.now_coarse())
    }

    fn hasher(&self) -> &SecretHasher {
        dispatch!(self, b => b.hasher())
    }

    fn check_key(&self) -> &CheckKey {
        dispatch!(self, b => b.check_key())
    }

    fn client_credentials(&self, id: &str) -> Result<Option<ClientCredentials>> {
        dispatch!(self, b => b.client_credentials(id))
    }

    fn secret_checks(&self, id: &str, now: Timestamp) -> Result<Option<SecretChecks>> {
        dispatch!(self, b => b.secret_checks(id, now))
    }

    fn record_verified_secret(
        &self,
        id: &str,
        old_hash: &str,
        new_hash: Option<&str>,
        check: u32,
    ) -> Result<()> {
        dispatch!(self, b => b.record_verified_secret(id, old_hash, new_hash, check))
    }

    fn client_is_active(&self, id: &str) -> Result<bool> {
        dispatch!(self, b => b.client_is_active(id))
    }

    fn record_last_used(&self, uses: &[(&str, Timestamp)]) -> Result<()> {
        dispatch!(self, b => b.record_last_used(uses))
    }
}

impl Grants for Backend {
    fn insert_code(&self, code: &NewCode<'_>) -> Result<()> {
        dispatch!(self, b => b.insert_code(code))
    }

    fn claim_code(
        &self,
        digest: TokenDigest,
        client_id: &str,
        now: Timestamp,
    ) -> Result<CodeClaim> {
        dispatch!(self, b => b.claim_code(digest, client_id, now))
    }

    fn revoke_code_grant(&self, digest: TokenDigest, now: Timestamp) -> Result<bool> {
        dispatch!(self, b => b.revoke_code_grant(digest, now))
    }

    fn create_grant(&self, grant: &NewGrant<'_>) -> Result<Option<String>> {
        dispatch!(self, b => b.create_grant(grant))
    }

    fn token_record(&self, digest: TokenDigest) -> Result<Option<TokenRecord>> {
        dispatch!(self, b => b.token_record(digest))
    }

    fn rotate_refresh_token(
        &self,
        old: TokenDigest,
        now: Timestamp,
        grace_ms: i64,
        new_tokens: &[NewToken<'_>],
    ) -> Result<Rotation> {
        dispatch!(self, b => b.rotate_refresh_token(old, now, grace_ms, new_tokens))
    }

    fn revoke_grant(&self, grant_id: &str, now: Timestamp) -> Result<bool> {
        dispatch!(self, b => b.revoke_grant(grant_id, now))
    }

    fn revoke_token(&self, digest: TokenDigest, now: Timestamp) -> Result<bool> {
        dispatch!(self, b => b.revoke_token(digest, now))
    }
}

impl ChangeNotification for Backend {
    fn access_revision(&self) -> Result<u64> {
        dispatch!(self, b => b.access_revision())
    }

    fn data_revision(&self) -> Result<u64> {
        dispatch!(self, b => b.data_revision())
    }

    fn page_validity(
        &self,
        organization_id: &str,
        now: Timestamp,
    ) -> Result<(u64, Option<Timestamp>)> {
        dispatch!(self, b => b.page_validity(organization_id, now))
    }
}

#[cfg(all(test, not(feature = "postgres")))]
mod tests {
    use super::Backend;
    use crate::error::Error;
    use crate::options::Options;

    #[test]
    fn a_postgres_url_without_the_feature_is_refused_and_creates_no_file() {
        let cwd = std::env::current_dir().unwrap();
        let url = "postgres://opcore:hunter2secret@127.0.0.1:5432/opcore";
        let err = Backend::open(std::path::Path::new(url), &Options::default()).unwrap_err();
        assert!(
            matches!(&err, Error::Open(m) if m == "postgres://opcore:***@127.0.0.1:5432/opcore: \
                this build of opcore has no PostgreSQL support (Cargo feature `postgres`)"),
            "{err:?}"
        );
        assert!(!cwd.join("postgres:").exists());
    }
}
