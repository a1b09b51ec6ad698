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

/// Implements the four roles for a backend type whose inherent methods have the roles' names
/// and signatures: each role method is the backend method of the same name. Both backends use
/// it (`sqlite/roles.rs`, `postgres/roles.rs`).
macro_rules! impl_roles {
    ($db:ty) => {
        const _: () = {
            use $crate::domain::model::{AuditEntry, Client, Organization, Project, Reference};
            use $crate::domain::secret::{CheckKey, SecretHasher};
            use $crate::domain::time::Timestamp;
            use $crate::domain::token::TokenDigest;
            use $crate::error::Result;
            use $crate::store::records::{
                ClientCredentials, CodeClaim, NewCode, NewGrant, NewToken, Rotation, SecretChecks,
                TokenRecord,
            };
            use $crate::store::roles::{ChangeNotification, Credentials, Grants, Resources};
            use $crate::store::{
                Bootstrap, ClientChanges, CreatedClient, CreatedProject, ListOptions, NewClient,
                NewProject, NewReference, Page, ProjectChanges, ReferenceChanges, RotatedClient,
            };

            impl Resources for $db {
                fn create_organization(&self, name: &str) -> Result<Bootstrap> {
                    <$db>::create_organization(self, name)
                }

                fn get_organization(&self, id: &str) -> Result<Organization> {
                    <$db>::get_organization(self, id)
                }

                fn list_organizations(&self) -> Result<Vec<Organization>> {
                    <$db>::list_organizations(self)
                }

                fn delete_organization(&self, id: &str) -> Result<()> {
                    <$db>::delete_organization(self, id)
                }

                fn create_project(
                    &self,
                    organization_id: &str,
                    input: &NewProject,
                ) -> Result<CreatedProject> {
                    <$db>::create_project(self, organization_id, input)
                }

                fn get_project(&self, organization_id: &str, id: &str) -> Result<Project> {
                    <$db>::get_project(self, organization_id, id)
                }

                fn list_projects(&self, organization_id: &str) -> Result<Vec<Project>> {
                    <$db>::list_projects(self, organization_id)
                }

                fn list_projects_page(
                    &self,
                    organization_id: &str,
                    options: &ListOptions,
                ) -> Result<Page<Project>> {
                    <$db>::list_projects_page(self, organization_id, options)
                }

                fn update_project(
                    &self,
                    organization_id: &str,
                    id: &str,
                    changes: &ProjectChanges,
                ) -> Result<Project> {
                    <$db>::update_project(self, organization_id, id, changes)
                }

                fn delete_project(&self, organization_id: &str, id: &str) -> Result<Timestamp> {
                    <$db>::delete_project(self, organization_id, id)
                }

                fn increment_events_count(
                    &self,
                    organization_id: &str,
                    id: &str,
                    n: i64,
                ) -> Result<i64> {
                    <$db>::increment_events_count(self, organization_id, id, n)
                }

                fn create_client(
                    &self,
                    organization_id: &str,
                    input: &NewClient,
                ) -> Result<CreatedClient> {
                    <$db>::create_client(self, organization_id, input)
                }

                fn get_client(&self, organization_id: &str, id: &str) -> Result<Client> {
                    <$db>::get_client(self, organization_id, id)
                }

                fn list_clients(
                    &self,
                    organization_id: &str,
                    project_id: Option<&str>,
                ) -> Result<Vec<Client>> {
                    <$db>::list_clients(self, organization_id, project_id)
                }

                fn list_clients_page(
                    &self,
                    organization_id: &str,
                    project_id: Option<&str>,
                    options: &ListOptions,
                ) -> Result<Page<Client>> {
                    <$db>::list_clients_page(self, organization_id, project_id, options)
                }

                fn update_client(
                    &self,
                    organization_id: &str,
                    id: &str,
                    changes: &ClientChanges,
                ) -> Result<Client> {
                    <$db>::update_client(self, organization_id, id, changes)
                }

                fn delete_client(&self, organization_id: &str, id: &str) -> Result<()> {
                    <$db>::delete_client(self, organization_id, id)
                }

                fn rotate_client(
                    &self,
                    organization_id: &str,
                    id: &str,
                    grace_seconds: u64,
                ) -> Result<RotatedClient> {
                    <$db>::rotate_client(self, organization_id, id, grace_seconds)
                }

                fn create_reference(
                    &self,
                    organization_id: &str,
                    input: &NewReference,
                ) -> Result<Reference> {
                    <$db>::create_reference(self, organization_id, input)
                }

                fn get_reference(&self, organization_id: &str, id: &str) -> Result<Reference> {
                    <$db>::get_reference(self, organization_id, id)
                }

                fn list_references(
                    &self,
                    organization_id: &str,
                    project_id: Option<&str>,
                ) -> Result<Vec<Reference>> {
                    <$db>::list_references(self, organization_id, project_id)
                }

                fn list_references_page(
                    &self,
                    organization_id: &str,
                    project_id: Option<&str>,
                    options: &ListOptions,
                ) -> Result<Page<Reference>> {
                    <$db>::list_references_page(self, organization_id, project_id, options)
                }

                fn update_reference(
                    &self,
                    organization_id: &str,
                    id: &str,
                    changes: &ReferenceChanges,
                ) -> Result<Reference> {
                    <$db>::update_reference(self, organization_id, id, changes)
                }

                fn delete_reference(&self, organization_id: &str, id: &str) -> Result<()> {
                    <$db>::delete_reference(self, organization_id, id)
                }

                fn list_audit(
                    &self,
                    organization_id: &str,
                    resource_id: Option<&str>,
                    options: &ListOptions,
                ) -> Result<Page<AuditEntry>> {
                    <$db>::list_audit(self, organization_id, resource_id, options)
                }

                fn purge(&self) -> Result<usize> {
                    <$db>::purge(self)
                }
            }

            impl Credentials for $db {
                fn now(&self) -> Timestamp {
                    <$db>::now(self)
                }

                fn now_coarse(&self) -> Timestamp {
                    <$db>::now_coarse(self)
                }

                fn hasher(&self) -> &SecretHasher {
                    <$db>::hasher(self)
                }

                fn check_key(&self) -> &CheckKey {
                    <$db>::check_key(self)
                }

                fn client_credentials(&self, id: &str) -> Result<Option<ClientCredentials>> {
                    <$db>::client_credentials(self, id)
                }

                fn secret_checks(&self, id: &str, now: Timestamp) -> Result<Option<SecretChecks>> {
                    <$db>::secret_checks(self, id, now)
                }

                fn record_verified_secret(
                    &self,
                    id: &str,
                    old_hash: &str,
                    new_hash: Option<&str>,
                    check: u32,
                ) -> Result<()> {
                    <$db>::record_verified_secret(self, id, old_hash, new_hash, check)
                }

                fn client_is_active(&self, id: &str) -> Result<bool> {
                    <$db>::client_is_active(self, id)
                }

                fn record_last_used(&self, uses: &[(&str, Timestamp)]) -> Result<()> {
                    <$db>::record_last_used(self, uses)
                }
            }

            impl Grants for $db {
                fn insert_code(&self, code: &NewCode<'_>) -> Result<()> {
                    <$db>::insert_code(self, code)
                }

                fn claim_code(
                    &self,
                    digest: TokenDigest,
                    client_id: &str,
                    now: Timestamp,
                ) -> Result<CodeClaim> {
                    <$db>::claim_code(self, digest, client_id, now)
                }

                fn revoke_code_grant(&self, digest: TokenDigest, now: Timestamp) -> Result<bool> {
                    <$db>::revoke_code_grant(self, digest, now)
                }

                fn create_grant(&self, grant: &NewGrant<'_>) -> Result<Option<String>> {
                    <$db>::create_grant(self, grant)
                }

                fn token_record(&self, digest: TokenDigest) -> Result<Option<TokenRecord>> {
                    <$db>::token_record(self, digest)
                }

                fn rotate_refresh_token(
                    &self,
                    old: TokenDigest,
                    now: Timestamp,
                    grace_ms: i64,
                    new_tokens: &[NewToken<'_>],
                ) -> Result<Rotation> {
                    <$db>::rotate_refresh_token(self, old, now, grace_ms, new_tokens)
                }

                fn revoke_grant(&self, grant_id: &str, now: Timestamp) -> Result<bool> {
                    <$db>::revoke_grant(self, grant_id, now)
                }

                fn revoke_token(&self, digest: TokenDigest, now: Timestamp) -> Result<bool> {
                    <$db>::revoke_token(self, digest, now)
                }
            }

            impl ChangeNotification for $db {
                fn access_revision(&self) -> Result<u64> {
                    <$db>::access_revision(self)
                }

                fn data_revision(&self) -> Result<u64> {
                    <$db>::data_revision(self)
                }

                fn page_validity(
                    &self,
                    organization_id: &str,
                    now: Timestamp,
                ) -> Result<(u64, Option<Timestamp>)> {
                    <$db>::page_validity(self, organization_id, now)
                }
            }
        };
    };
}
pub(crate) use impl_roles;
