//! API clients and the credentials authentication reads (src/store/sqlite/clients.rs has the
//! same rules): the secret is generated and hashed before the transaction, returned once and
//! never stored in plaintext.

use postgres::types::ToSql;
use postgres::Row;

use super::resources::{is_live_project, query_page};
use super::revision::bump;
use super::{json_column, json_text, ts, PgDb, Tx};
use crate::domain::model::{AuditAction, Client, ClientType};
use crate::domain::secret::Secret;
use crate::domain::tier::Tier;
use crate::domain::time::Timestamp;
use crate::domain::validate::{canonical_uuid, FieldError};
use crate::error::{Error, Resource, Result};
use crate::store::inputs::{
    grace_seconds_error, past_expiry_error, CheckedClientChanges, ClientChanges, NewClient,
    ValidClient, MAX_GRACE_SECONDS,
};
use crate::store::lists::{ListKind, ListOptions, Page, Window};
use crate::store::outputs::{CreatedClient, RotatedClient};
use crate::store::records::{ClientCredentials, PreviousSecret, SecretChecks};

/// A validated client ready to insert; the secret was generated and hashed outside the
/// transaction.
pub(super) struct PreparedClient {
    name: String,
    project_id: Option<String>,
    client_type: ClientType,
    ignore_cors_and_secret: bool,
    redirect_uris: Vec<String>,
    tier: Option<Tier>,
    expires_at: Option<Timestamp>,
    secret: Secret,
    hash: String,
}

/// A new secret for a rotation, generated and hashed outside the write transaction.
struct PreparedSecret {
    secret: Secret,
    hash: String,
}

impl PreparedSecret {
    fn generate(db: &PgDb) -> Result<PreparedSecret> {
        let secret = Secret::generate();
        let hash = db
            .hasher()
            .hash(&secret)
            .map_err(|e| Error::Storage(format!("hashing the secret failed: {e}")))?;
        Ok(PreparedSecret { secret, hash })
    }
}

impl PreparedClient {
    /// The JSON names of the fields a new client is given (`secret` names that one was
    /// generated; its value is never recorded).
    pub(super) fn set_fields(&self) -> Vec<&'static str> {
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
}

/// The JSON names of the fields an update changed.
fn changed_fields(before: &Client, after: &Client) -> Vec<&'static str> {
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

/// The columns [`client_from_row`] reads, in order, from `clients c`.
pub(super) const CLIENT_COLUMNS: &str = "c.id, c.name, c.type, c.project_id, c.organization_id, \
     c.ignore_cors_and_secret, c.created_at, c.updated_at, c.redirect_uris, c.tier, \
     c.expires_at, c.last_used_at";
/// How many columns [`CLIENT_COLUMNS`] has.
pub(super) const CLIENT_COLUMN_COUNT: usize = 12;

pub(super) fn client_from_row(r: &Row) -> Client {
    let ty: String = r.get(2);
    let redirect_uris: String = r.get(8);
    let tier: Option<String> = r.get(9);
    Client {
        id: r.get(0),
        name: r.get(1),
        client_type: ClientType::parse(&ty).unwrap_or(ClientType::Read),
        project_id: r.get(3),
        organization_id: r.get(4),
        ignore_cors_and_secret: r.get(5),
        redirect_uris: json_column(&redirect_uris),
        tier: tier.as_deref().and_then(Tier::parse),
        expires_at: r.get::<_, Option<i64>>(10).map(ts),
        last_used_at: r.get::<_, Option<i64>>(11).map(ts),
        created_at: ts(r.get(6)),
        updated_at: ts(r.get(7)),
    }
}

/// A client is visible unless its project is past its deletion time ($3: now).
const VISIBLE: &str = "(c.project_id IS NULL OR NOT EXISTS (
    SELECT 1 FROM projects p WHERE p.id = c.project_id AND p.delete_at IS NOT NULL AND p.delete_at <= $3))";

impl PgDb {
    pub(super) fn prepare_client(&self, input: &NewClient) -> Result<PreparedClient> {
        let ValidClient {
            name,
            redirect_uris,
            expires_at,
        } = input.validate()?;
        // A client created already expired could never be used: refused (an existing client
        // is expired at once by a PATCH instead; docs/lifecycle.md#expiry).
        if expires_at.is_some_and(|t| t <= self.now()) {
            return Err(Error::Validation(vec![past_expiry_error()]));
        }
        let PreparedSecret { secret, hash } = PreparedSecret::generate(self)?;
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

    pub(super) fn insert_client(
        &self,
        tx: &mut Tx<'_>,
        organization_id: &str,
        project_id: Option<&str>,
        p: &PreparedClient,
        now: Timestamp,
    ) -> Result<CreatedClient> {
        let id = uuid::Uuid::new_v4().hyphenated().to_string();
        let check = self.check_key().value(&id, p.secret.expose());
        tx.exec(
            "INSERT INTO clients (id, organization_id, project_id, name, type, secret_hash,
                                  ignore_cors_and_secret, created_at, updated_at,
                                  redirect_uris, tier, secret_check, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, $11, $12)",
            &[
                &id,
                &organization_id,
                &project_id,
                &p.name,
                &p.client_type.as_str(),
                &p.hash,
                &p.ignore_cors_and_secret,
                &now.millis(),
                &json_text(&p.redirect_uris),
                &p.tier.map(Tier::as_str),
                &i64::from(check),
                &p.expires_at.map(Timestamp::millis),
            ],
        )?;
        Ok(CreatedClient {
            client: Client {
                id,
                name: p.name.clone(),
                client_type: p.client_type,
                project_id: project_id.map(str::to_owned),
                organization_id: organization_id.to_owned(),
                ignore_cors_and_secret: p.ignore_cors_and_secret,
                redirect_uris: p.redirect_uris.clone(),
                tier: p.tier,
                expires_at: p.expires_at,
                last_used_at: None,
                created_at: now,
                updated_at: now,
            },
            secret: Secret::from_plaintext(p.secret.expose().to_owned()),
        })
    }

    pub(crate) fn create_client(
        &self,
        organization_id: &str,
        input: &NewClient,
    ) -> Result<CreatedClient> {
        let prepared = match self.prepare_client(input) {
            Ok(prepared) => prepared,
            Err(Error::Validation(mut errors)) => {
                if let Some(project) = input.project_id.as_deref().filter(|p| !p.is_empty()) {
                    let now = self.now();
                    if !self.read(|tx| is_live_project(tx, organization_id, project, now, false))? {
                        errors.push(unknown_project_error());
                    }
                }
                return Err(Error::Validation(errors));
            }
            Err(e) => return Err(e),
        };
        let now = self.now();
        self.write(|tx| {
            if let Some(project) = &prepared.project_id {
                if !is_live_project(tx, organization_id, project, now, true)? {
                    return Err(unknown_project());
                }
            } else {
                // Share-locks the organization: it cannot be deleted before this commits.
                tx.opt(
                    "SELECT 1 FROM organizations WHERE id = $1 FOR SHARE",
                    &[&organization_id],
                )?;
            }
            let created = self.insert_client(
                tx,
                organization_id,
                prepared.project_id.as_deref(),
                &prepared,
                now,
            )?;
            self.audit(
                tx,
                now,
                organization_id,
                AuditAction::ClientCreate,
                &created.client.id,
                prepared.project_id.as_deref(),
                &prepared.set_fields(),
            )?;
            Ok(created)
        })
    }

    pub(crate) fn get_client(&self, organization_id: &str, id: &str) -> Result<Client> {
        let Some(id) = canonical_uuid(id) else {
            return Err(Error::NotFound(Resource::Client));
        };
        let now = self.now();
        self.read(|tx| {
            tx.opt(
                &format!(
                    "SELECT {CLIENT_COLUMNS} FROM clients c
                     WHERE id = $1 AND organization_id = $2 AND {VISIBLE}"
                ),
                &[&id, &organization_id, &now.millis()],
            )?
            .map(|r| client_from_row(&r))
            .ok_or(Error::NotFound(Resource::Client))
        })
    }

    pub(crate) fn list_clients(
        &self,
        organization_id: &str,
        project_id: Option<&str>,
    ) -> Result<Vec<Client>> {
        self.list_clients_page(organization_id, project_id, &ListOptions::default())
            .map(|page| page.items)
    }

    pub(crate) fn list_clients_page(
        &self,
        organization_id: &str,
        project_id: Option<&str>,
        options: &ListOptions,
    ) -> Result<Page<Client>> {
        let window = Window::new(ListKind::Clients, options)?;
        let now = self.now();
        let items = self.read(|tx| {
            if let Some(p) = project_id {
                if !is_live_project(tx, organization_id, p, now, false)? {
                    return Err(Error::NotFound(Resource::Project));
                }
            }
            let millis = now.millis();
            let (scope, params): (&str, Vec<&(dyn ToSql + Sync)>) = match &project_id {
                None => ("c.organization_id = $1", vec![&organization_id, &millis]),
                Some(p) => (
                    "c.project_id = $3 AND c.organization_id = $1",
                    vec![&organization_id, &millis, p],
                ),
            };
            query_page(
                tx,
                &window,
                &format!(
                    "SELECT {CLIENT_COLUMNS} FROM clients c
                     WHERE {scope} AND (c.project_id IS NULL OR NOT EXISTS (
                         SELECT 1 FROM projects p WHERE p.id = c.project_id
                             AND p.delete_at IS NOT NULL AND p.delete_at <= $2))"
                ),
                "c",
                &params,
                client_from_row,
            )
        })?;
        Ok(window.page(ListKind::Clients, items, |c| (c.created_at, c.id.as_str())))
    }

    pub(crate) fn update_client(
        &self,
        organization_id: &str,
        id: &str,
        changes: &ClientChanges,
    ) -> Result<Client> {
        let Some(id) = canonical_uuid(id) else {
            return Err(Error::NotFound(Resource::Client));
        };
        let CheckedClientChanges {
            name,
            redirect_uris,
            expires_at,
            errors: input_errors,
        } = changes.check();
        let now = self.now();
        let (updated, tier_changed) = self.write(|tx| {
            let current = tx
                .opt(
                    &format!(
                        "SELECT {CLIENT_COLUMNS} FROM clients c
                         WHERE id = $1 AND organization_id = $2 AND {VISIBLE} FOR UPDATE OF c"
                    ),
                    &[&id, &organization_id, &now.millis()],
                )?
                .map(|r| client_from_row(&r))
                .ok_or(Error::NotFound(Resource::Client))?;
            let mut errors: Vec<FieldError> = input_errors.clone();
            if changes.client_type.is_some_and(|t| t != current.client_type) {
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
            if let Some(n) = &name {
                updated.name = n.clone();
            }
            if let Some(flag) = changes.ignore_cors_and_secret {
                updated.ignore_cors_and_secret = flag;
            }
            if let Some(uris) = &redirect_uris {
                updated.redirect_uris = uris.clone();
            }
            let tier_changed = changes.tier.is_some_and(|t| t != updated.tier);
            if let Some(tier) = changes.tier {
                updated.tier = tier;
            }
            let expiry_changed = expires_at.is_some_and(|t| t != updated.expires_at);
            if let Some(t) = expires_at {
                updated.expires_at = t;
            }
            updated.updated_at = now;
            tx.exec(
                "UPDATE clients SET name = $2, ignore_cors_and_secret = $3, updated_at = $4,
                                    redirect_uris = $5, tier = $6, expires_at = $7
                 WHERE id = $1",
                &[
                    &updated.id,
                    &updated.name,
                    &updated.ignore_cors_and_secret,
                    &now.millis(),
                    &json_text(&updated.redirect_uris),
                    &updated.tier.map(Tier::as_str),
                    &updated.expires_at.map(Timestamp::millis),
                ],
            )?;
            self.audit(
                tx,
                now,
                organization_id,
                AuditAction::ClientUpdate,
                &updated.id,
                updated.project_id.as_deref(),
                &changed_fields(&current, &updated),
            )?;
            // Verified-credential caches hold the tier and the expiry: make them forget them.
            let tier_changed = tier_changed || expiry_changed;
            if tier_changed {
                bump(tx)?;
            }
            Ok((updated, tier_changed))
        })?;
        if tier_changed {
            self.revision_committed();
        }
        Ok(updated)
    }

    /// Deletes a client for good. The organization's last root client cannot be deleted: the
    /// organization row is locked first, so two nodes deleting its last two root clients at
    /// once are decided one after the other.
    pub(crate) fn delete_client(&self, organization_id: &str, id: &str) -> Result<()> {
        let Some(id) = canonical_uuid(id) else {
            return Err(Error::NotFound(Resource::Client));
        };
        let now = self.now();
        self.write(|tx| {
            tx.opt(
                "SELECT 1 FROM organizations WHERE id = $1 FOR UPDATE",
                &[&organization_id],
            )?;
            let row = tx
                .opt(
                    &format!(
                        "SELECT type, project_id FROM clients c
                         WHERE id = $1 AND organization_id = $2 AND {VISIBLE}"
                    ),
                    &[&id, &organization_id, &now.millis()],
                )?
                .ok_or(Error::NotFound(Resource::Client))?;
            let ty: String = row.get(0);
            let project: Option<String> = row.get(1);
            if ty == ClientType::Root.as_str() && project.is_none() {
                let roots: i64 = tx
                    .one(
                        "SELECT count(*) FROM clients
                         WHERE organization_id = $1 AND type = 'root' AND project_id IS NULL",
                        &[&organization_id],
                    )?
                    .get(0);
                if roots <= 1 {
                    return Err(Error::Conflict(
                        "Cannot delete the last root client of the organization".into(),
                    ));
                }
            }
            tx.exec("DELETE FROM clients WHERE id = $1", &[&id])?;
            self.audit(
                tx,
                now,
                organization_id,
                AuditAction::ClientDelete,
                &id,
                project.as_deref(),
                &[],
            )?;
            bump(tx)
        })?;
        self.revision_committed();
        Ok(())
    }

    pub(crate) fn client_credentials(&self, id: &str) -> Result<Option<ClientCredentials>> {
        let Some(id) = canonical_uuid(id) else {
            return Ok(None);
        };
        self.read(|tx| {
            Ok(tx
                .opt(
                    &format!(
                        "SELECT {CLIENT_COLUMNS}, c.secret_hash, p.delete_at, p.cors, c.secret_check,
                                c.previous_secret_hash, c.previous_secret_expires_at
                         FROM clients c LEFT JOIN projects p ON p.id = c.project_id
                         WHERE c.id = $1"
                    ),
                    &[&id],
                )?
                .map(|r| {
                    const N: usize = CLIENT_COLUMN_COUNT;
                    let cors: Option<String> = r.get(N + 2);
                    let previous_hash: Option<String> = r.get(N + 4);
                    let previous_until: Option<i64> = r.get(N + 5);
                    let previous = match (previous_hash, previous_until) {
                        (Some(hash), Some(until)) => Some(PreviousSecret {
                            hash,
                            expires_at: ts(until),
                        }),
                        _ => None,
                    };
                    ClientCredentials {
                        previous,
                        client: client_from_row(&r),
                        secret_hash: r.get(N),
                        secret_check: check_column(r.get(N + 3)),
                        project_delete_at: r.get::<_, Option<i64>>(N + 1).map(ts),
                        project_cors: cors.map(|c| json_column(&c)).unwrap_or_default(),
                    }
                }))
        })
    }

    /// The check values of a client's valid secrets at `now` (the previous one only while
    /// its grace lasts). `None`: no such client. One indexed read of one row.
    pub(crate) fn secret_checks(&self, id: &str, now: Timestamp) -> Result<Option<SecretChecks>> {
        self.read(|tx| {
            Ok(tx
                .opt(
                    "SELECT secret_check, previous_secret_check, previous_secret_expires_at
                     FROM clients WHERE id = $1",
                    &[&id],
                )?
                .map(|r| {
                    let previous_until: Option<i64> = r.get(2);
                    SecretChecks {
                        current: check_column(r.get(0)),
                        previous: previous_until
                            .map(ts)
                            .filter(|until| now < *until)
                            .map(|until| (check_column(r.get(1)), until)),
                    }
                }))
        })
    }

    /// Replaces client `id`'s secret with a new one, returned once. With `grace_seconds` > 0
    /// the old secret stays valid until `now + grace` (exclusive); any earlier rotation's
    /// previous secret dies at once, so at most two secrets are ever valid
    /// (docs/lifecycle.md#rotation). The audit entry `client.rotate` is written in the same
    /// transaction, and the access revision is bumped (and notified) so every credential
    /// cache, on every node, forgets the old state.
    pub(crate) fn rotate_client(
        &self,
        organization_id: &str,
        id: &str,
        grace_seconds: u64,
    ) -> Result<RotatedClient> {
        if grace_seconds > MAX_GRACE_SECONDS {
            return Err(Error::Validation(vec![grace_seconds_error()]));
        }
        let Some(id) = canonical_uuid(id) else {
            return Err(Error::NotFound(Resource::Client));
        };
        // argon2 runs before the transaction begins, as for a new client.
        let fresh = PreparedSecret::generate(self)?;
        let check = self.check_key().value(&id, fresh.secret.expose());
        let now = self.now();
        // At most 30 days of milliseconds: no overflow.
        let grace_ms = i64::try_from(grace_seconds).unwrap_or(0) * 1000;
        let previous_until = (grace_ms > 0).then(|| Timestamp(now.millis() + grace_ms));
        let client = self.write(|tx| {
            let mut client = tx
                .opt(
                    &format!(
                        "SELECT {CLIENT_COLUMNS} FROM clients c
                         WHERE id = $1 AND organization_id = $2 AND {VISIBLE} FOR UPDATE OF c"
                    ),
                    &[&id, &organization_id, &now.millis()],
                )?
                .map(|r| client_from_row(&r))
                .ok_or(Error::NotFound(Resource::Client))?;
            // The current secret becomes the previous one (with its check value) while the
            // grace lasts; without a grace, no previous secret is kept at all.
            tx.exec(
                "UPDATE clients SET
                     previous_secret_hash = CASE WHEN $4::BIGINT IS NULL THEN NULL ELSE secret_hash END,
                     previous_secret_check = CASE WHEN $4::BIGINT IS NULL THEN NULL ELSE secret_check END,
                     previous_secret_expires_at = $4::BIGINT,
                     secret_hash = $2, secret_check = $3, updated_at = $5
                 WHERE id = $1",
                &[
                    &id,
                    &fresh.hash,
                    &i64::from(check),
                    &previous_until.map(Timestamp::millis),
                    &now.millis(),
                ],
            )?;
            self.audit(
                tx,
                now,
                organization_id,
                AuditAction::ClientRotate,
                &id,
                client.project_id.as_deref(),
                &["secret"],
            )?;
            bump(tx)?;
            client.updated_at = now;
            Ok(client)
        })?;
        self.revision_committed();
        Ok(RotatedClient {
            client,
            secret: Secret::from_plaintext(fresh.secret.expose().to_owned()),
            previous_secret_expires_at: previous_until,
        })
    }

    /// Records successful authentications: each client's `last_used_at` becomes the later of
    /// its stored value and the given time. One transaction for the whole batch; clients
    /// deleted meanwhile are skipped (docs/lifecycle.md#last-use). Rows are updated in id
    /// order, so two nodes writing overlapping batches cannot deadlock.
    pub(crate) fn record_last_used(&self, uses: &[(&str, Timestamp)]) -> Result<()> {
        if uses.is_empty() {
            return Ok(());
        }
        let mut sorted: Vec<(&str, i64)> = uses.iter().map(|(id, at)| (*id, at.millis())).collect();
        sorted.sort_unstable();
        self.write(|tx| {
            for (id, at) in &sorted {
                tx.exec(
                    "UPDATE clients SET last_used_at = $2
                     WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)",
                    &[id, at],
                )?;
            }
            Ok(())
        })
    }

    pub(crate) fn record_verified_secret(
        &self,
        id: &str,
        old_hash: &str,
        new_hash: Option<&str>,
        check: u32,
    ) -> Result<()> {
        self.write(|tx| {
            tx.exec(
                "UPDATE clients SET secret_hash = coalesce($3, secret_hash), secret_check = $4
                 WHERE id = $1 AND secret_hash = $2",
                &[&id, &old_hash, &new_hash, &i64::from(check)],
            )?;
            Ok(())
        })
    }

    pub(crate) fn client_is_active(&self, id: &str) -> Result<bool> {
        let now = self.now();
        self.read(|tx| client_active(tx, id, now))
    }
}

/// Whether the client exists and its project is not past its deletion time; run inside
/// every transaction made for a Manage caller.
pub(super) fn client_active(tx: &mut Tx<'_>, id: &str, now: Timestamp) -> Result<bool> {
    Ok(tx
        .opt(
            "SELECT 1 FROM clients c WHERE c.id = $1 AND (c.project_id IS NULL OR NOT EXISTS (
                 SELECT 1 FROM projects p
                 WHERE p.id = c.project_id AND p.delete_at IS NOT NULL AND p.delete_at <= $2))",
            &[&id, &now.millis()],
        )?
        .is_some())
}

fn check_column(v: Option<i64>) -> Option<u32> {
    v.and_then(|v| u32::try_from(v).ok())
}

pub(super) fn unknown_project() -> Error {
    Error::Validation(vec![unknown_project_error()])
}

pub(super) fn unknown_project_error() -> FieldError {
    FieldError::new(
        "projectId",
        "Project not found in this organization (or past its deletion time)",
    )
}
