//! API clients and the credentials authentication reads (src/store/sqlite/clients.rs has the
//! same rules): the secret is generated and hashed before the transaction, returned once and
//! never stored in plaintext.

use postgres::types::ToSql;
use postgres::Row;

use super::resources::{is_live_project, query_page};
use super::revision::bump;
use super::{json_column, json_text, ts, PgDb, Tx};
use crate::domain::model::{AuditAction, Client, ClientType};
use crate::domain::tier::Tier;
use crate::domain::time::Timestamp;
use crate::domain::validate::canonical_uuid;
use crate::error::{Error, Resource, Result};
use crate::store::common::{
    apply_client_changes, changed_client_fields, check_column, naming_unknown_project,
    previous_secret, unknown_project, PreparedClient, PreparedRotation,
};
use crate::store::inputs::{ClientChanges, NewClient};
use crate::store::lists::{ListKind, ListOptions, Page, Window};
use crate::store::outputs::{CreatedClient, RotatedClient};
use crate::store::records::{ClientCredentials, SecretChecks};

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
        PreparedClient::prepare(input, self.hasher(), || self.now())
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
        Ok(p.created(id, organization_id, project_id, now))
    }

    pub(crate) fn create_client(
        &self,
        organization_id: &str,
        input: &NewClient,
    ) -> Result<CreatedClient> {
        // Name every offending field: an unknown project as well as a bad name.
        let prepared = naming_unknown_project(
            self.prepare_client(input),
            input.project_id.as_deref(),
            |project| {
                let now = self.now();
                self.read(|tx| is_live_project(tx, organization_id, project, now, false))
            },
        )?;
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
        let checked = changes.check();
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
            let (updated, tier_changed) = apply_client_changes(&current, changes, &checked, now)?;
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
                &changed_client_fields(&current, &updated),
            )?;
            // Verified-credential caches hold the tier and the expiry: make them forget them.
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
                    let previous = previous_secret(previous_hash, previous_until);
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
        let rotation =
            PreparedRotation::prepare(id, grace_seconds, self.hasher(), self.check_key(), || {
                self.now()
            })?;
        let (id, fresh, check) = (rotation.id.as_str(), &rotation.fresh, rotation.check);
        let (now, previous_until) = (rotation.now, rotation.previous_until);
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
                id,
                client.project_id.as_deref(),
                &["secret"],
            )?;
            bump(tx)?;
            client.updated_at = now;
            Ok(client)
        })?;
        self.revision_committed();
        Ok(rotation.rotated(client))
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
        .one(
            concat!("SELECT ", client_active_condition!("$1", "$2")),
            &[&id, &now.millis()],
        )?
        .get(0))
}
