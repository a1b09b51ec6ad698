//! What both backends (`sqlite`, `postgres`) decide alike around their SQL: the client
//! prepared before its write transaction, the records a create returns, how an update applies
//! its changes, the field names each audit entry records (docs/lifecycle.md#audit-log), and how
//! stored values read back. No SQL here; each backend keeps its own statements and row access
//! (ARCHITECTURE.md, "Adding a storage backend").

use crate::domain::model::{
    AuditAction, AuditEntry, Client, ClientType, Organization, Project, Reference,
};
use crate::domain::secret::{CheckKey, Secret, SecretHasher};
use crate::domain::tier::Tier;
use crate::domain::time::Timestamp;
use crate::domain::validate::{canonical_uuid, FieldError};
use crate::error::{Error, Resource, Result};
use crate::store::inputs::{
    grace_seconds_error, past_expiry_error, CheckedClientChanges, ClientChanges, NewClient,
    NewReference, ProjectChanges, ValidClient, ValidProject, ValidProjectChanges,
    ValidReferenceChanges, MAX_GRACE_SECONDS,
};
use crate::store::lists::{ListKind, Page, Window};
use crate::store::outputs::{
    Bootstrap, CreatedClient, CreatedProject, DefaultClient, RotatedClient,
};
use crate::store::records::PreviousSecret;

/// A validated client ready to insert; the secret was generated and hashed outside the
/// transaction.
pub(crate) struct PreparedClient {
    pub(crate) name: String,
    pub(crate) project_id: Option<String>,
    pub(crate) client_type: ClientType,
    pub(crate) ignore_cors_and_secret: bool,
    pub(crate) redirect_uris: Vec<String>,
    pub(crate) tier: Option<Tier>,
    pub(crate) expires_at: Option<Timestamp>,
    pub(crate) secret: Secret,
    pub(crate) hash: String,
}

/// A new secret, generated and hashed outside the write transaction (argon2 is slow).
pub(crate) struct PreparedSecret {
    pub(crate) secret: Secret,
    pub(crate) hash: String,
}

impl PreparedSecret {
    pub(crate) fn generate(hasher: &SecretHasher) -> Result<PreparedSecret> {
        let secret = Secret::generate();
        let hash = hasher
            .hash(&secret)
            .map_err(|e| Error::Storage(format!("hashing the secret failed: {e}")))?;
        Ok(PreparedSecret { secret, hash })
    }
}

impl PreparedClient {
    /// Validates `input` and generates and hashes its secret. `now` is read only when the
    /// input has an expiry.
    pub(crate) fn prepare(
        input: &NewClient,
        hasher: &SecretHasher,
        now: impl FnOnce() -> Timestamp,
    ) -> Result<PreparedClient> {
        let ValidClient {
            name,
            redirect_uris,
            expires_at,
        } = input.validate()?;
        // A client created already expired could never be used: refused (an existing client
        // is expired at once by a PATCH instead; docs/lifecycle.md#expiry).
        if expires_at.is_some_and(|t| t <= now()) {
            return Err(Error::Validation(vec![past_expiry_error()]));
        }
        let PreparedSecret { secret, hash } = PreparedSecret::generate(hasher)?;
        Ok(PreparedClient {
            name,
            project_id: input.project_id.clone().filter(|p| !p.is_empty()),
            client_type: input.client_type,
            ignore_cors_and_secret: input.ignore_cors_and_secret,
            redirect_uris,
            tier: input.tier,
            expires_at,
            secret,
            hash,
        })
    }

    /// The JSON names of the fields a new client is given (`secret` names that one was
    /// generated; its value is never recorded).
    pub(crate) fn set_fields(&self) -> Vec<&'static str> {
        let mut set = vec!["name", "type"];
        if self.project_id.is_some() {
            set.push("projectId");
        }
        if self.ignore_cors_and_secret {
            set.push("ignoreCorsAndSecret");
        }
        if !self.redirect_uris.is_empty() {
            set.push("redirectUris");
        }
        if self.tier.is_some() {
            set.push("tier");
        }
        if self.expires_at.is_some() {
            set.push("expiresAt");
        }
        set.push("secret");
        set
    }

    /// The client as inserted with id `id`, and its secret, returned this once.
    pub(crate) fn created(
        &self,
        id: String,
        organization_id: &str,
        project_id: Option<&str>,
        now: Timestamp,
    ) -> CreatedClient {
        CreatedClient {
            client: Client {
                id,
                name: self.name.clone(),
                client_type: self.client_type,
                project_id: project_id.map(str::to_owned),
                organization_id: organization_id.to_owned(),
                ignore_cors_and_secret: self.ignore_cors_and_secret,
                redirect_uris: self.redirect_uris.clone(),
                tier: self.tier,
                expires_at: self.expires_at,
                last_used_at: None,
                created_at: now,
                updated_at: now,
            },
            secret: Secret::from_plaintext(self.secret.expose().to_owned()),
        }
    }
}

/// A rotation's new secret, its check value and the end of the old secret's grace, prepared
/// before the write transaction (docs/lifecycle.md#rotation).
pub(crate) struct PreparedRotation {
    /// The client's id, canonical.
    pub(crate) id: String,
    pub(crate) fresh: PreparedSecret,
    pub(crate) check: u32,
    pub(crate) now: Timestamp,
    /// When the old secret stops working; None: at once (no grace).
    pub(crate) previous_until: Option<Timestamp>,
}

impl PreparedRotation {
    /// Checks `grace_seconds` and `id`, then generates and hashes the new secret; `now` is
    /// read after the hashing.
    pub(crate) fn prepare(
        id: &str,
        grace_seconds: u64,
        hasher: &SecretHasher,
        check_key: &CheckKey,
        now: impl FnOnce() -> Timestamp,
    ) -> Result<PreparedRotation> {
        if grace_seconds > MAX_GRACE_SECONDS {
            return Err(Error::Validation(vec![grace_seconds_error()]));
        }
        let Some(id) = canonical_uuid(id) else {
            return Err(Error::NotFound(Resource::Client));
        };
        // argon2 runs before the write transaction begins, as for a new client.
        let fresh = PreparedSecret::generate(hasher)?;
        let check = check_key.value(&id, fresh.secret.expose());
        let now = now();
        // At most 30 days of milliseconds: no overflow.
        let grace_ms = i64::try_from(grace_seconds).unwrap_or(0) * 1000;
        let previous_until = (grace_ms > 0).then(|| Timestamp(now.millis() + grace_ms));
        Ok(PreparedRotation {
            id,
            fresh,
            check,
            now,
            previous_until,
        })
    }

    /// The rotated `client` with its new secret, returned this once.
    pub(crate) fn rotated(&self, client: Client) -> RotatedClient {
        RotatedClient {
            client,
            secret: Secret::from_plaintext(self.fresh.secret.expose().to_owned()),
            previous_secret_expires_at: self.previous_until,
        }
    }
}

/// `current` with `changes` applied at `now`, and whether its tier or expiry changed (then
/// verified-credential caches must forget it). Every offending field is named: those
/// `checked` found as well as a changed type or project.
pub(crate) fn apply_client_changes(
    current: &Client,
    changes: &ClientChanges,
    checked: &CheckedClientChanges,
    now: Timestamp,
) -> Result<(Client, bool)> {
    let mut errors: Vec<FieldError> = checked.errors.clone();
    if changes
        .client_type
        .is_some_and(|t| t != current.client_type)
    {
        errors.push(FieldError::new(
            "type",
            "The client type cannot be changed; delete the client and create a new one",
        ));
    }
    if let Some(p) = &changes.project_id {
        let wanted = p.as_deref().filter(|p| !p.is_empty());
        if wanted != current.project_id.as_deref() {
            errors.push(FieldError::new(
                "projectId",
                "The client's project cannot be changed; delete the client and create a new one",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    let mut updated = current.clone();
    if let Some(n) = &checked.name {
        updated.name = n.clone();
    }
    if let Some(flag) = changes.ignore_cors_and_secret {
        updated.ignore_cors_and_secret = flag;
    }
    if let Some(uris) = &checked.redirect_uris {
        updated.redirect_uris = uris.clone();
    }
    let tier_changed = changes.tier.is_some_and(|t| t != updated.tier);
    if let Some(tier) = changes.tier {
        updated.tier = tier;
    }
    let expiry_changed = checked.expires_at.is_some_and(|t| t != updated.expires_at);
    if let Some(t) = checked.expires_at {
        updated.expires_at = t;
    }
    updated.updated_at = now;
    Ok((updated, tier_changed || expiry_changed))
}

/// The JSON names of the fields a client update changed.
pub(crate) fn changed_client_fields(before: &Client, after: &Client) -> Vec<&'static str> {
    let mut changed = Vec::new();
    if before.name != after.name {
        changed.push("name");
    }
    if before.ignore_cors_and_secret != after.ignore_cors_and_secret {
        changed.push("ignoreCorsAndSecret");
    }
    if before.redirect_uris != after.redirect_uris {
        changed.push("redirectUris");
    }
    if before.tier != after.tier {
        changed.push("tier");
    }
    if before.expires_at != after.expires_at {
        changed.push("expiresAt");
    }
    changed
}

/// The secret a rotation replaced, from its two columns (both set while its grace lasts).
pub(crate) fn previous_secret(hash: Option<String>, until: Option<i64>) -> Option<PreviousSecret> {
    match (hash, until) {
        (Some(hash), Some(until)) => Some(PreviousSecret {
            hash,
            expires_at: ts(until),
        }),
        _ => None,
    }
}

/// A stored check value: 32 bits kept in an integer column (anything else reads as none).
pub(crate) fn check_column(v: Option<i64>) -> Option<u32> {
    v.and_then(|v| u32::try_from(v).ok())
}

/// A create's `result`; when it is a validation failure and the create names a project
/// (`project_id`, neither None nor ""), `projectId` is named too if `is_live` says that project
/// is not live: every offending field is named at once.
pub(crate) fn naming_unknown_project<T>(
    result: Result<T>,
    project_id: Option<&str>,
    is_live: impl FnOnce(&str) -> Result<bool>,
) -> Result<T> {
    match result {
        Err(Error::Validation(mut errors)) => {
            if let Some(project) = project_id.filter(|p| !p.is_empty()) {
                if !is_live(project)? {
                    errors.push(unknown_project_error());
                }
            }
            Err(Error::Validation(errors))
        }
        other => other,
    }
}

pub(crate) fn unknown_project() -> Error {
    Error::Validation(vec![unknown_project_error()])
}

pub(crate) fn unknown_project_error() -> FieldError {
    FieldError::new(
        "projectId",
        "Project not found in this organization (or past its deletion time)",
    )
}

/// A new organization and its first root client, as bootstrap returns them.
pub(crate) fn bootstrap(
    id: String,
    name: &str,
    now: Timestamp,
    client: CreatedClient,
) -> Bootstrap {
    Bootstrap {
        organization: Organization {
            id,
            name: name.to_owned(),
            created_at: now,
            updated_at: now,
        },
        client,
    }
}

/// The JSON names of the fields a new project is given; its default client is part of the
/// same change, named as `client`.
pub(crate) fn project_set_fields(valid: &ValidProject) -> Vec<&'static str> {
    let mut set = vec!["name"];
    if valid.domain.is_some() {
        set.push("domain");
    }
    if !valid.cors.is_empty() {
        set.push("cors");
    }
    if valid.cross_domain {
        set.push("crossDomain");
    }
    if !valid.types.is_empty() {
        set.push("types");
    }
    set.push("client");
    set
}

/// A new project as inserted with id `id`, with its default client.
pub(crate) fn created_project(
    id: &str,
    organization_id: &str,
    valid: &ValidProject,
    now: Timestamp,
    client: CreatedClient,
) -> CreatedProject {
    CreatedProject {
        project: Project {
            id: id.to_owned(),
            name: valid.name.clone(),
            organization_id: organization_id.to_owned(),
            domain: valid.domain.clone(),
            cors: valid.cors.clone(),
            cross_domain: valid.cross_domain,
            allow_unsafe_revenue_tracking: false,
            filters: serde_json::Value::Array(Vec::new()),
            types: valid.types.clone(),
            events_count: 0,
            created_at: now,
            updated_at: now,
            delete_at: None,
        },
        client: DefaultClient {
            id: client.client.id,
            secret: client.secret,
        },
    }
}

/// A project update: `before` with the changes applied at `now` (which cancels a scheduled
/// deletion), the audit action (`project.restore` when it cancelled one) and the changed
/// fields.
pub(crate) struct ProjectUpdate {
    pub(crate) project: Project,
    pub(crate) cancelled: bool,
    pub(crate) action: AuditAction,
    pub(crate) changed: Vec<&'static str>,
}

pub(crate) fn apply_project_changes(
    before: &Project,
    valid: &ValidProjectChanges,
    changes: &ProjectChanges,
    now: Timestamp,
) -> ProjectUpdate {
    let mut p = before.clone();
    let cancelled = p.delete_at.is_some();
    if let Some(n) = &valid.name {
        p.name = n.clone();
    }
    if let Some(d) = &valid.domain {
        p.domain = d.clone();
    }
    if let Some(c) = &valid.cors {
        p.cors = c.clone();
    }
    if let Some(v) = changes.cross_domain {
        p.cross_domain = v;
    }
    if let Some(v) = changes.allow_unsafe_revenue_tracking {
        p.allow_unsafe_revenue_tracking = v;
    }
    p.updated_at = now;
    p.delete_at = None;
    let action = if cancelled {
        AuditAction::ProjectRestore
    } else {
        AuditAction::ProjectUpdate
    };
    let changed = changed_project_fields(before, &p);
    ProjectUpdate {
        project: p,
        cancelled,
        action,
        changed,
    }
}

/// The JSON names of the fields a project update changed (`deleteAt` when it cancelled a
/// deletion).
fn changed_project_fields(before: &Project, after: &Project) -> Vec<&'static str> {
    let mut changed = Vec::new();
    if before.name != after.name {
        changed.push("name");
    }
    if before.domain != after.domain {
        changed.push("domain");
    }
    if before.cors != after.cors {
        changed.push("cors");
    }
    if before.cross_domain != after.cross_domain {
        changed.push("crossDomain");
    }
    if before.allow_unsafe_revenue_tracking != after.allow_unsafe_revenue_tracking {
        changed.push("allowUnsafeRevenueTracking");
    }
    if before.delete_at != after.delete_at {
        changed.push("deleteAt");
    }
    changed
}

/// The JSON names of the fields a new reference is given.
pub(crate) fn reference_set_fields(
    reference: &Reference,
    input: &NewReference,
) -> Vec<&'static str> {
    let mut set = vec!["projectId", "title"];
    if reference.description.is_some() {
        set.push("description");
    }
    if input.datetime.is_some() {
        set.push("date");
    }
    set
}

/// `before` with the changes applied at `now`.
pub(crate) fn apply_reference_changes(
    before: &Reference,
    valid: &ValidReferenceChanges,
    now: Timestamp,
) -> Reference {
    let mut r = before.clone();
    if let Some(t) = &valid.title {
        r.title = t.clone();
    }
    if let Some(d) = &valid.description {
        r.description = d.clone();
    }
    if let Some(d) = valid.date {
        r.date = d;
    }
    r.updated_at = now;
    r
}

/// The JSON names of the fields a reference update changed.
pub(crate) fn changed_reference_fields(before: &Reference, after: &Reference) -> Vec<&'static str> {
    let mut changed = Vec::new();
    if before.title != after.title {
        changed.push("title");
    }
    if before.description != after.description {
        changed.push("description");
    }
    if before.date != after.date {
        changed.push("date");
    }
    changed
}

/// An audit entry to append; the id is generated by the backend's `append`.
pub(crate) struct NewAuditEntry<'a> {
    pub organization_id: &'a str,
    pub at: Timestamp,
    pub actor_client_id: Option<&'a str>,
    pub action: AuditAction,
    pub resource_id: &'a str,
    pub project_id: Option<&'a str>,
    /// Field names (JSON spelling), never values.
    pub changes: &'a [&'a str],
}

impl<'a> NewAuditEntry<'a> {
    /// The `project.purge` entry of a project purged at `at`: no actor, no fields.
    pub(crate) fn purge(organization_id: &'a str, id: &'a str, at: Timestamp) -> Self {
        NewAuditEntry {
            organization_id,
            at,
            actor_client_id: None,
            action: AuditAction::ProjectPurge,
            resource_id: id,
            project_id: Some(id),
            changes: &[],
        }
    }
}

/// One page of an audit log from rows of `(seq, entry)`, newest first: an audit cursor's
/// position is the `seq` of the last entry returned.
pub(crate) fn audit_page(window: &Window, rows: Vec<(i64, AuditEntry)>) -> Page<AuditEntry> {
    let page = window.page(ListKind::Audit, rows, |(seq, e)| {
        (Timestamp(*seq), e.id.as_str())
    });
    Page {
        items: page.items.into_iter().map(|(_, e)| e).collect(),
        next_cursor: page.next_cursor,
    }
}

/// Reads a JSON array column written by a backend.
pub(crate) fn json_column<T: serde::de::DeserializeOwned + Default>(text: &str) -> T {
    serde_json::from_str(text).unwrap_or_default()
}

/// A list as the JSON text of its column (`[]` should it not serialize).
pub(crate) fn json_text<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "[]".into())
}

/// A stored time (milliseconds since the epoch).
pub(crate) fn ts(millis: i64) -> Timestamp {
    Timestamp(millis)
}
