//! The SQLite backend in the roles of `crate::store::roles`: each method is the `Db` method of
//! the same name.

use super::Db;
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

impl Resources for Db {
    fn create_organization(&self, name: &str) -> Result<Bootstrap> {
        Db::create_organization(self, name)
    }

    fn get_organization(&self, id: &str) -> Result<Organization> {
        Db::get_organization(self, id)
    }

    fn list_organizations(&self) -> Result<Vec<Organization>> {
        Db::list_organizations(self)
    }

    fn delete_organization(&self, id: &str) -> Result<()> {
        Db::delete_organization(self, id)
    }

    fn create_project(&self, organization_id: &str, input: &NewProject) -> Result<CreatedProject> {
        Db::create_project(self, organization_id, input)
    }

    fn get_project(&self, organization_id: &str, id: &str) -> Result<Project> {
        Db::get_project(self, organization_id, id)
    }

    fn list_projects(&self, organization_id: &str) -> Result<Vec<Project>> {
        Db::list_projects(self, organization_id)
    }

    fn list_projects_page(
        &self,
        organization_id: &str,
        options: &ListOptions,
    ) -> Result<Page<Project>> {
        Db::list_projects_page(self, organization_id, options)
    }

    fn update_project(
        &self,
        organization_id: &str,
        id: &str,
        changes: &ProjectChanges,
    ) -> Result<Project> {
        Db::update_project(self, organization_id, id, changes)
    }

    fn delete_project(&self, organization_id: &str, id: &str) -> Result<Timestamp> {
        Db::delete_project(self, organization_id, id)
    }

    fn increment_events_count(&self, organization_id: &str, id: &str, n: i64) -> Result<i64> {
        Db::increment_events_count(self, organization_id, id, n)
    }

    fn create_client(&self, organization_id: &str, input: &NewClient) -> Result<CreatedClient> {
        Db::create_client(self, organization_id, input)
    }

    fn get_client(&self, organization_id: &str, id: &str) -> Result<Client> {
        Db::get_client(self, organization_id, id)
    }

    fn list_clients(&self, organization_id: &str, project_id: Option<&str>) -> Result<Vec<Client>> {
        Db::list_clients(self, organization_id, project_id)
    }

    fn list_clients_page(
        &self,
        organization_id: &str,
        project_id: Option<&str>,
        options: &ListOptions,
    ) -> Result<Page<Client>> {
        Db::list_clients_page(self, organization_id, project_id, options)
    }

    fn update_client(
        &self,
        organization_id: &str,
        id: &str,
        changes: &ClientChanges,
    ) -> Result<Client> {
        Db::update_client(self, organization_id, id, changes)
    }

    fn delete_client(&self, organization_id: &str, id: &str) -> Result<()> {
        Db::delete_client(self, organization_id, id)
    }

    fn rotate_client(
        &self,
        organization_id: &str,
        id: &str,
        grace_seconds: u64,
    ) -> Result<RotatedClient> {
        Db::rotate_client(self, organization_id, id, grace_seconds)
    }

    fn create_reference(&self, organization_id: &str, input: &NewReference) -> Result<Reference> {
        Db::create_reference(self, organization_id, input)
    }

    fn get_reference(&self, organization_id: &str, id: &str) -> Result<Reference> {
        Db::get_reference(self, organization_id, id)
    }

    fn list_references(
        &self,
        organization_id: &str,
        project_id: Option<&str>,
    ) -> Result<Vec<Reference>> {
        Db::list_references(self, organization_id, project_id)
    }

    fn list_references_page(
        &self,
        organization_id: &str,
        project_id: Option<&str>,
        options: &ListOptions,
    ) -> Result<Page<Reference>> {
        Db::list_references_page(self, organization_id, project_id, options)
    }

    fn update_reference(
        &self,
        organization_id: &str,
        id: &str,
        changes: &ReferenceChanges,
    ) -> Result<Reference> {
        Db::update_reference(self, organization_id, id, changes)
    }

    fn delete_reference(&self, organization_id: &str, id: &str) -> Result<()> {
        Db::delete_reference(self, organization_id, id)
    }

    fn list_audit(
        &self,
        organization_id: &str,
        resource_id: Option<&str>,
        options: &ListOptions,
    ) -> Result<Page<AuditEntry>> {
        Db::list_audit(self, organization_id, resource_id, options)
    }

    fn purge(&self) -> Result<usize> {
        Db::purge(self)
    }
}

impl Credentials for Db {
    fn now(&self) -> Timestamp {
        Db::now(self)
    }

    fn now_coarse(&self) -> Timestamp {
        Db::now_coarse(self)
    }

    fn hasher(&self) -> &SecretHasher {
        Db::hasher(self)
    }

    fn check_key(&self) -> &CheckKey {
        Db::check_key(self)
    }

    fn client_credentials(&self, id: &str) -> Result<Option<ClientCredentials>> {
        Db::client_credentials(self, id)
    }

    fn secret_checks(&self, id: &str, now: Timestamp) -> Result<Option<SecretChecks>> {
        Db::secret_checks(self, id, now)
    }

    fn record_verified_secret(
        &self,
        id: &str,
        old_hash: &str,
        new_hash: Option<&str>,
        check: u32,
    ) -> Result<()> {
        Db::record_verified_secret(self, id, old_hash, new_hash, check)
    }

    fn client_is_active(&self, id: &str) -> Result<bool> {
        Db::client_is_active(self, id)
    }

    fn record_last_used(&self, uses: &[(&str, Timestamp)]) -> Result<()> {
        Db::record_last_used(self, uses)
    }
}

impl Grants for Db {
    fn insert_code(&self, code: &NewCode<'_>) -> Result<()> {
        Db::insert_code(self, code)
    }

    fn claim_code(
        &self,
        digest: TokenDigest,
        client_id: &str,
        now: Timestamp,
    ) -> Result<CodeClaim> {
        Db::claim_code(self, digest, client_id, now)
    }

    fn revoke_code_grant(&self, digest: TokenDigest, now: Timestamp) -> Result<bool> {
        Db::revoke_code_grant(self, digest, now)
    }

    fn create_grant(&self, grant: &NewGrant<'_>) -> Result<Option<String>> {
        Db::create_grant(self, grant)
    }

    fn token_record(&self, digest: TokenDigest) -> Result<Option<TokenRecord>> {
        Db::token_record(self, digest)
    }

    fn rotate_refresh_token(
        &self,
        old: TokenDigest,
        now: Timestamp,
        grace_ms: i64,
        new_tokens: &[NewToken<'_>],
    ) -> Result<Rotation> {
        Db::rotate_refresh_token(self, old, now, grace_ms, new_tokens)
    }

    fn revoke_grant(&self, grant_id: &str, now: Timestamp) -> Result<bool> {
        Db::revoke_grant(self, grant_id, now)
    }

    fn revoke_token(&self, digest: TokenDigest, now: Timestamp) -> Result<bool> {
        Db::revoke_token(self, digest, now)
    }
}

impl ChangeNotification for Db {
    fn access_revision(&self) -> Result<u64> {
        Db::access_revision(self)
    }

    fn data_revision(&self) -> Result<u64> {
        Db::data_revision(self)
    }

    fn page_validity(
        &self,
        organization_id: &str,
        now: Timestamp,
    ) -> Result<(u64, Option<Timestamp>)> {
        Db::page_validity(self, organization_id, now)
    }
}
