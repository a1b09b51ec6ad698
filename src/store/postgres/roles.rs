//! The PostgreSQL backend in the roles of `crate::store::roles`: each method is the `PgDb`
//! method of the same name.

use super::PgDb;
use crate::domain::hashing::SecretHasher;
use crate::domain::model::{AuditEntry, Client, Organization, Project, Reference};
use crate::domain::secret::CheckKey;
use crate::domain::time::Timestamp;
use crate::domain::token::TokenDigest;
use crate::error::Result;
use crate::store::records::{
    ClientCredentials, CodeClaim, NewCode, NewGrant, NewToken, Rotation, SecretChecks, TokenRecord,
};
use crate::store::roles::{ChangeNotification, Credentials, Grants, Resources};
use crate::store::{
    Bootstrap, ClientChanges, CreatedClient, CreatedProject, ListOptions, NewClient, NewProject,
    NewReference, Page, ProjectChanges, ReferenceChanges, RotatedClient,
};

impl Resources for PgDb {
    fn create_organization(&self, name: &str) -> Result<Bootstrap> {
        PgDb::create_organization(self, name)
    }

    fn get_organization(&self, id: &str) -> Result<Organization> {
        PgDb::get_organization(self, id)
    }

    fn list_organizations(&self) -> Result<Vec<Organization>> {
        PgDb::list_organizations(self)
    }

    fn delete_organization(&self, id: &str) -> Result<()> {
        PgDb::delete_organization(self, id)
    }

    fn create_project(&self, organization_id: &str, input: &NewProject) -> Result<CreatedProject> {
        PgDb::create_project(self, organization_id, input)
    }

    fn get_project(&self, organization_id: &str, id: &str) -> Result<Project> {
        PgDb::get_project(self, organization_id, id)
    }

    fn list_projects(&self, organization_id: &str) -> Result<Vec<Project>> {
        PgDb::list_projects(self, organization_id)
    }

    fn list_projects_page(
        &self,
        organization_id: &str,
        options: &ListOptions,
    ) -> Result<Page<Project>> {
        PgDb::list_projects_page(self, organization_id, options)
    }

    fn update_project(
        &self,
        organization_id: &str,
        id: &str,
        changes: &ProjectChanges,
    ) -> Result<Project> {
        PgDb::update_project(self, organization_id, id, changes)
    }

    fn delete_project(&self, organization_id: &str, id: &str) -> Result<Timestamp> {
        PgDb::delete_project(self, organization_id, id)
    }

    fn increment_events_count(&self, organization_id: &str, id: &str, n: i64) -> Result<i64> {
        PgDb::increment_events_count(self, organization_id, id, n)
    }

    fn create_client(&self, organization_id: &str, input: &NewClient) -> Result<CreatedClient> {
        PgDb::create_client(self, organization_id, input)
    }

    fn get_client(&self, organization_id: &str, id: &str) -> Result<Client> {
        PgDb::get_client(self, organization_id, id)
    }

    fn list_clients(&self, organization_id: &str, project_id: Option<&str>) -> Result<Vec<Client>> {
        PgDb::list_clients(self, organization_id, project_id)
    }

    fn list_clients_page(
        &self,
        organization_id: &str,
        project_id: Option<&str>,
        options: &ListOptions,
    ) -> Result<Page<Client>> {
        PgDb::list_clients_page(self, organization_id, project_id, options)
    }

    fn update_client(
        &self,
        organization_id: &str,
        id: &str,
        changes: &ClientChanges,
    ) -> Result<Client> {
        PgDb::update_client(self, organization_id, id, changes)
    }

    fn delete_client(&self, organization_id: &str, id: &str) -> Result<()> {
        PgDb::delete_client(self, organization_id, id)
    }

    fn rotate_client(
        &self,
        organization_id: &str,
        id: &str,
        grace_seconds: u64,
    ) -> Result<RotatedClient> {
        PgDb::rotate_client(self, organization_id, id, grace_seconds)
    }

    fn create_reference(&self, organization_id: &str, input: &NewReference) -> Result<Reference> {
        PgDb::create_reference(self, organization_id, input)
    }

    fn get_reference(&self, organization_id: &str, id: &str) -> Result<Reference> {
        PgDb::get_reference(self, organization_id, id)
    }

    fn list_references(
        &self,
        organization_id: &str,
        project_id: Option<&str>,
    ) -> Result<Vec<Reference>> {
        PgDb::list_references(self, organization_id, project_id)
    }

    fn list_references_page(
        &self,
        organization_id: &str,
        project_id: Option<&str>,
        options: &ListOptions,
    ) -> Result<Page<Reference>> {
        PgDb::list_references_page(self, organization_id, project_id, options)
    }

    fn update_reference(
        &self,
        organization_id: &str,
        id: &str,
        changes: &ReferenceChanges,
    ) -> Result<Reference> {
        PgDb::update_reference(self, organization_id, id, changes)
    }

    fn delete_reference(&self, organization_id: &str, id: &str) -> Result<()> {
        PgDb::delete_reference(self, organization_id, id)
    }

    fn list_audit(
        &self,
        organization_id: &str,
        resource_id: Option<&str>,
        options: &ListOptions,
    ) -> Result<Page<AuditEntry>> {
        PgDb::list_audit(self, organization_id, resource_id, options)
    }

    fn purge(&self) -> Result<usize> {
        PgDb::purge(self)
    }
}

impl Credentials for PgDb {
    fn now(&self) -> Timestamp {
        PgDb::now(self)
    }

    fn now_coarse(&self) -> Timestamp {
        PgDb::now_coarse(self)
    }

    fn hasher(&self) -> &SecretHasher {
        PgDb::hasher(self)
    }

    fn check_key(&self) -> &CheckKey {
        PgDb::check_key(self)
    }

    fn client_credentials(&self, id: &str) -> Result<Option<ClientCredentials>> {
        PgDb::client_credentials(self, id)
    }

    fn secret_checks(&self, id: &str, now: Timestamp) -> Result<Option<SecretChecks>> {
        PgDb::secret_checks(self, id, now)
    }

    fn record_verified_secret(
        &self,
        id: &str,
        old_hash: &str,
        new_hash: Option<&str>,
        check: u32,
    ) -> Result<()> {
        PgDb::record_verified_secret(self, id, old_hash, new_hash, check)
    }

    fn client_is_active(&self, id: &str) -> Result<bool> {
        PgDb::client_is_active(self, id)
    }

    fn record_last_used(&self, uses: &[(&str, Timestamp)]) -> Result<()> {
        PgDb::record_last_used(self, uses)
    }
}

impl Grants for PgDb {
    fn insert_code(&self, code: &NewCode<'_>) -> Result<()> {
        PgDb::insert_code(self, code)
    }

    fn claim_code(
        &self,
        digest: TokenDigest,
        client_id: &str,
        now: Timestamp,
    ) -> Result<CodeClaim> {
        PgDb::claim_code(self, digest, client_id, now)
    }

    fn revoke_code_grant(&self, digest: TokenDigest, now: Timestamp) -> Result<bool> {
        PgDb::revoke_code_grant(self, digest, now)
    }

    fn create_grant(&self, grant: &NewGrant<'_>) -> Result<Option<String>> {
        PgDb::create_grant(self, grant)
    }

    fn token_record(&self, digest: TokenDigest) -> Result<Option<TokenRecord>> {
        PgDb::token_record(self, digest)
    }

    fn rotate_refresh_token(
        &self,
        old: TokenDigest,
        now: Timestamp,
        grace_ms: i64,
        new_tokens: &[NewToken<'_>],
    ) -> Result<Rotation> {
        PgDb::rotate_refresh_token(self, old, now, grace_ms, new_tokens)
    }

    fn revoke_grant(&self, grant_id: &str, now: Timestamp) -> Result<bool> {
        PgDb::revoke_grant(self, grant_id, now)
    }

    fn revoke_token(&self, digest: TokenDigest, now: Timestamp) -> Result<bool> {
        PgDb::revoke_token(self, digest, now)
    }
}

impl ChangeNotification for PgDb {
    fn access_revision(&self) -> Result<u64> {
        PgDb::access_revision(self)
    }

    fn data_revision(&self) -> Result<u64> {
        PgDb::data_revision(self)
    }

    fn page_validity(
        &self,
        organization_id: &str,
        now: Timestamp,
    ) -> Result<(u64, Option<Timestamp>)> {
        PgDb::page_validity(self, organization_id, now)
    }
}
