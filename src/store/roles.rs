//! The storage seam by role: what the rest of the crate needs from a backend, in four
//! crate-private traits (ARCHITECTURE.md, "Adding a storage backend"). The SQLite backend
//! implements them in `sqlite/roles.rs`; `auth` is generic over them and calls them with
//! static dispatch.
//!
//! - [`Resources`]: the resource operations `Store` offers hosts, and `auth` reads projects.
//! - [`Credentials`]: what authenticating a client reads and records, with the clock and the
//!   secret hasher of the handle.
//! - [`Grants`]: OAuth codes, grants and tokens, with single conditional writes for claims and
//!   rotations.
//! - [`ChangeNotification`]: the access revision, which changes whenever access may have been
//!   revoked.

use crate::domain::model::{AuditEntry, Client, Organization, Project, Reference};
use crate::domain::secret::{CheckKey, SecretHasher};
use crate::domain::time::Timestamp;
use crate::domain::token::TokenDigest;
use crate::error::Result;
use crate::store::records::{
    ClientCredentials, CodeClaim, NewCode, NewGrant, NewToken, Rotation, SecretChecks, TokenRecord,
};
use crate::store::{
    Bootstrap, ClientChanges, CreatedClient, CreatedProject, ListOptions, NewClient, NewProject,
    NewReference, Page, ProjectChanges, ReferenceChanges, RotatedClient,
};

/// Organizations, projects, clients and references, and `purge`. Every project, client and
/// reference call takes the organization it acts in.
pub(crate) trait Resources {
    fn create_organization(&self, name: &str) -> Result<Bootstrap>;
    fn get_organization(&self, id: &str) -> Result<Organization>;
    fn list_organizations(&self) -> Result<Vec<Organization>>;
    fn delete_organization(&self, id: &str) -> Result<()>;
    fn create_project(&self, organization_id: &str, input: &NewProject) -> Result<CreatedProject>;
    fn get_project(&self, organization_id: &str, id: &str) -> Result<Project>;
    fn list_projects(&self, organization_id: &str) -> Result<Vec<Project>>;
    fn list_projects_page(
        &self,
        organization_id: &str,
        options: &ListOptions,
    ) -> Result<Page<Project>>;
    fn update_project(
        &self,
        organization_id: &str,
        id: &str,
        changes: &ProjectChanges,
    ) -> Result<Project>;
    fn delete_project(&self, organization_id: &str, id: &str) -> Result<Timestamp>;
    fn increment_events_count(&self, organization_id: &str, id: &str, n: i64) -> Result<i64>;
    fn create_client(&self, organization_id: &str, input: &NewClient) -> Result<CreatedClient>;
    fn get_client(&self, organization_id: &str, id: &str) -> Result<Client>;
    fn list_clients(&self, organization_id: &str, project_id: Option<&str>) -> Result<Vec<Client>>;
    fn list_clients_page(
        &self,
        organization_id: &str,
        project_id: Option<&str>,
        options: &ListOptions,
    ) -> Result<Page<Client>>;
    fn update_client(
        &self,
        organization_id: &str,
        id: &str,
        changes: &ClientChanges,
    ) -> Result<Client>;
    fn delete_client(&self, organization_id: &str, id: &str) -> Result<()>;
    /// Replaces a client's secret; the old one stays valid for `grace_seconds`
    /// (docs/lifecycle.md#rotation).
    fn rotate_client(
        &self,
        organization_id: &str,
        id: &str,
        grace_seconds: u64,
    ) -> Result<RotatedClient>;
    fn create_reference(&self, organization_id: &str, input: &NewReference) -> Result<Reference>;
    fn get_reference(&self, organization_id: &str, id: &str) -> Result<Reference>;
    fn list_references(
        &self,
        organization_id: &str,
        project_id: Option<&str>,
    ) -> Result<Vec<Reference>>;
    fn list_references_page(
        &self,
        organization_id: &str,
        project_id: Option<&str>,
        options: &ListOptions,
    ) -> Result<Page<Reference>>;
    fn update_reference(
        &self,
        organization_id: &str,
        id: &str,
        changes: &ReferenceChanges,
    ) -> Result<Reference>;
    fn delete_reference(&self, organization_id: &str, id: &str) -> Result<()>;
    /// One page of the organization's audit log, newest first, optionally of one resource.
    fn list_audit(
        &self,
        organization_id: &str,
        resource_id: Option<&str>,
        options: &ListOptions,
    ) -> Result<Page<AuditEntry>>;
    fn purge(&self) -> Result<usize>;
}

/// What authenticating a client needs from storage.
pub(crate) trait Credentials {
    /// "Now", from the clock the store was opened with.
    fn now(&self) -> Timestamp;
    /// The coarse "now", for per-request decisions, never for stored timestamps.
    fn now_coarse(&self) -> Timestamp;
    /// The hasher for client secrets (its counter tells how many argon2 verifications ran).
    fn hasher(&self) -> &SecretHasher;
    /// The key of this store's secret check values.
    fn check_key(&self) -> &CheckKey;
    /// Everything authentication needs about a client id, or None when no such client exists.
    fn client_credentials(&self, id: &str) -> Result<Option<ClientCredentials>>;
    /// The check values of a client's valid secrets at `now` (the previous one only during a
    /// rotation's grace): `None`, no such client.
    fn secret_checks(&self, id: &str, now: Timestamp) -> Result<Option<SecretChecks>>;
    /// Records a successful verification: the check value, and a rehashed secret if any.
    fn record_verified_secret(
        &self,
        id: &str,
        old_hash: &str,
        new_hash: Option<&str>,
        check: u32,
    ) -> Result<()>;
    /// Whether the client exists and its project is not past its deletion time.
    fn client_is_active(&self, id: &str) -> Result<bool>;
    /// Records successful authentications in one write: each client's last use becomes the
    /// later of its stored value and the given time.
    fn record_last_used(&self, uses: &[(&str, Timestamp)]) -> Result<()>;
}

/// OAuth codes, grants and tokens, stored as digests.
pub(crate) trait Grants {
    fn insert_code(&self, code: &NewCode<'_>) -> Result<()>;
    /// Claims a code for `client_id`, at most once ever.
    fn claim_code(&self, digest: TokenDigest, client_id: &str, now: Timestamp)
        -> Result<CodeClaim>;
    fn revoke_code_grant(&self, digest: TokenDigest, now: Timestamp) -> Result<bool>;
    fn create_grant(&self, grant: &NewGrant<'_>) -> Result<Option<String>>;
    fn token_record(&self, digest: TokenDigest) -> Result<Option<TokenRecord>>;
    /// Exchanges a refresh token in one conditional write.
    fn rotate_refresh_token(
        &self,
        old: TokenDigest,
        now: Timestamp,
        grace_ms: i64,
        new_tokens: &[NewToken<'_>],
    ) -> Result<Rotation>;
    fn revoke_grant(&self, grant_id: &str, now: Timestamp) -> Result<bool>;
    fn revoke_token(&self, digest: TokenDigest, now: Timestamp) -> Result<bool>;
}

/// How the credential cache learns that access may have been revoked.
pub(crate) trait ChangeNotification {
    /// A number that changes whenever access may have been revoked: at once for changes made
    /// in this process, within `cross_process_staleness_ms` for other processes' changes.
    fn access_revision(&self) -> Result<u64>;
    /// A number that every committed write changes (docs/server.md#the-page-cache), read from
    /// storage on every call. For a handle acting for a client the same read makes the acting
    /// check: `Error::Unauthenticated` when the client is gone.
    fn data_revision(&self) -> Result<u64>;
    /// The data revision and the first project deletion time after `now` in the
    /// organization: a list read now stays valid while both hold.
    fn page_validity(
        &self,
        organization_id: &str,
        now: Timestamp,
    ) -> Result<(u64, Option<Timestamp>)>;
}
