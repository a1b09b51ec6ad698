//! API clients: the secret is generated and hashed before the write transaction (argon2 is
//! slow; the write lock is not held for it; `store::common::PreparedClient`), returned once and
//! never stored in plaintext.

use super::paging::query_page;
use rusqlite::{OptionalExtension, Row, Transaction};

use super::audit::{self, NewAuditEntry};
use super::projects::is_live_project;
use super::SqlResult;
use super::{json_column, json_text, ts, Db};
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
/// How many columns [`CLIENT_COLUMNS`] has (the next one's index in a wider SELECT).
pub(super) const CLIENT_COLUMN_COUNT: usize = 12;

pub(super) fn client_from_row(r: &Row<'_>) -> rusqlite::Result<Client> {
    let ty: String = r.get(2)?;
    let redirect_uris: String = r.get(8)?;
    let tier: Option<String> = r.get(9)?;
    Ok(Client {
        id: r.get(0)?,
        name: r.get(1)?,
        client_type: ClientType::parse(&ty).unwrap_or(ClientType::Read),
        project_id: r.get(3)?,
        organization_id: r.get(4)?,
        ignore_cors_and_secret: r.get(5)?,
        redirect_uris: json_column(&redirect_uris),
        tier: tier.as_deref().and_then(Tier::parse),
        expires_at: r.get::<_, Option<i64>>(10)?.map(ts),
        last_used_at: r.get::<_, Option<i64>>(11)?.map(ts),
        created_at: ts(r.get(6)?),
        updated_at: ts(r.get(7)?),
    })
}

impl Db {
    pub(crate) fn prepare_client(&self, input: &NewClient) -> Result<PreparedClient> {
        PreparedClient::prepare(input, self.hasher(), || self.now())
    }

    pub(crate) fn insert_client(
        &self,
        tx: &Transaction<'_>,
        organization_id: &str,
        project_id: Option<&str>,
        p: &PreparedClient,
        now: Timestamp,
    ) -> Result<CreatedClient> {
        let id = uuid::Uuid::new_v4().hyphenated().to_string();
        let check = self.check_key().value(&id, p.secret.expose());
        tx.prepare_cached(
            "INSERT INTO clients (id, organization_id, project_id, name, type, secret_hash,
                                  ignore_cors_and_secret, created_at, updated_at,
                                  redirect_uris, tier, secret_check, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9, ?10, ?11, ?12)",
        )
        .sql()?
        .execute((
            &id,
            organization_id,
            project_id,
            &p.name,
            p.client_type.as_str(),
            &p.hash,
            p.ignore_cors_and_secret,
            now.millis(),
            json_text(&p.redirect_uris),
            p.tier.map(Tier::as_str),
            i64::from(check),
            p.expires_at.map(Timestamp::millis),
        ))
        .sql()?;
        Ok(p.created(id, organization_id, project_id, now))
    }

    /// Creates a client; its secret is in the result and nowhere else, ever.
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
                self.read(|c| is_live_project(c, organization_id, project, now))
            },
        )?;
        let now = self.now();
        self.write(|tx| {
            if let Some(project) = &prepared.project_id {
                if !is_live_project(tx, organization_id, project, now)? {
                    return Err(unknown_project());
                }
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
        self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {CLIENT_COLUMNS} FROM clients c
                 WHERE id = ?1 AND organization_id = ?2 AND {VISIBLE}"
            ))
            .sql()?
            .query_row((&id, organization_id, now.millis()), client_from_row)
            .optional()
            .sql()?
            .ok_or(Error::NotFound(Resource::Client))
        })
    }

    /// The organization's clients, newest first, optionally of one project.
    pub(crate) fn list_clients(
        &self,
        organization_id: &str,
        project_id: Option<&str>,
    ) -> Result<Vec<Client>> {
        self.list_clients_page(organization_id, project_id, &ListOptions::default())
            .map(|page| page.items)
    }

    /// One page of [`Db::list_clients`] (docs/behaviour.md#lists).
    pub(crate) fn list_clients_page(
        &self,
        organization_id: &str,
        project_id: Option<&str>,
        options: &ListOptions,
    ) -> Result<Page<Client>> {
        let window = Window::new(ListKind::Clients, options)?;
        let now = self.now();
        let items = self.read(|c| {
            if let Some(p) = project_id {
                if !is_live_project(c, organization_id, p, now)? {
                    return Err(Error::NotFound(Resource::Project));
                }
            }
            let scope = match project_id {
                None => "c.organization_id = :org",
                Some(_) => "c.project_id = :project AND c.organization_id = :org",
            };
            let mut params: Vec<(&str, &dyn rusqlite::ToSql)> =
                vec![(":org", &organization_id), (":now", &now.0)];
            if let Some(p) = &project_id {
                params.push((":project", p));
            }
            query_page(
                c,
                &window,
                &format!(
                    "SELECT {CLIENT_COLUMNS} FROM clients c
                     WHERE {scope} AND (c.project_id IS NULL OR NOT EXISTS (
                         SELECT 1 FROM projects p WHERE p.id = c.project_id
                             AND p.delete_at IS NOT NULL AND p.delete_at <= :now))"
                ),
                "c",
                params,
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
                .prepare_cached(&format!(
                    "SELECT {CLIENT_COLUMNS} FROM clients c
                     WHERE id = ?1 AND organization_id = ?2 AND {VISIBLE}"
                ))
                .sql()?
                .query_row((&id, organization_id, now.millis()), client_from_row)
                .optional()
                .sql()?
                .ok_or(Error::NotFound(Resource::Client))?;
            let (updated, tier_changed) = apply_client_changes(&current, changes, &checked, now)?;
            tx.prepare_cached(
                "UPDATE clients SET name = ?2, ignore_cors_and_secret = ?3, updated_at = ?4,
                                    redirect_uris = ?5, tier = ?6, expires_at = ?7
                 WHERE id = ?1",
            )
            .sql()?
            .execute((
                &updated.id,
                &updated.name,
                updated.ignore_cors_and_secret,
                now.millis(),
                json_text(&updated.redirect_uris),
                updated.tier.map(Tier::as_str),
                updated.expires_at.map(Timestamp::millis),
            ))
            .sql()?;
            self.audit(
                tx,
                now,
                organization_id,
                AuditAction::ClientUpdate,
                &updated.id,
                updated.project_id.as_deref(),
                &changed_client_fields(&current, &updated),
            )?;
            if tier_changed {
                // Verified-credential caches hold the tier and the expiry: make them forget
                // them.
                self.bump_access_revision(tx)?;
            }
            Ok((updated, tier_changed))
        })?;
        if tier_changed {
            self.revision_committed();
        }
        Ok(updated)
    }

    /// Deletes a client for good; it loses access at once in this process and within the
    /// staleness bound in others. The organization's last root client cannot be deleted.
    pub(crate) fn delete_client(&self, organization_id: &str, id: &str) -> Result<()> {
        let Some(id) = canonical_uuid(id) else {
            return Err(Error::NotFound(Resource::Client));
        };
        let now = self.now();
        self.write(|tx| {
            let (ty, project): (String, Option<String>) = tx
                .prepare_cached(&format!(
                    "SELECT type, project_id FROM clients c
                     WHERE id = ?1 AND organization_id = ?2 AND {VISIBLE}"
                ))
                .sql()?
                .query_row((&id, organization_id, now.millis()), |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()
                .sql()?
                .ok_or(Error::NotFound(Resource::Client))?;
            // Only organization-level root clients count: a project's root client disappears
            // with its project, so it cannot be what keeps the organization manageable.
            if ty == ClientType::Root.as_str() && project.is_none() {
                let roots: i64 = tx
                    .prepare_cached(
                        "SELECT count(*) FROM clients
                         WHERE organization_id = ?1 AND type = 'root' AND project_id IS NULL",
                    )
                    .sql()?
                    .query_row([organization_id], |r| r.get(0))
                    .sql()?;
                if roots <= 1 {
                    return Err(Error::Conflict(
                        "Cannot delete the last root client of the organization".into(),
                    ));
                }
            }
            tx.prepare_cached("DELETE FROM clients WHERE id = ?1")
                .sql()?
                .execute([&id])
                .sql()?;
            self.audit(
                tx,
                now,
                organization_id,
                AuditAction::ClientDelete,
                &id,
                project.as_deref(),
                &[],
            )?;
            self.bump_access_revision(tx)
        })?;
        self.revision_committed();
        Ok(())
    }

    /// Everything authentication needs about a client id, or None when no such client exists
    /// (including a malformed id).
    pub(crate) fn client_credentials(&self, id: &str) -> Result<Option<ClientCredentials>> {
        let Some(id) = canonical_uuid(id) else {
            return Ok(None);
        };
        self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {CLIENT_COLUMNS}, c.secret_hash, p.delete_at, p.cors, c.secret_check,
                        c.previous_secret_hash, c.previous_secret_expires_at
                 FROM clients c LEFT JOIN projects p ON p.id = c.project_id
                 WHERE c.id = ?1"
            ))
            .sql()?
            .query_row([&id], |r| {
                const N: usize = CLIENT_COLUMN_COUNT;
                let cors: Option<String> = r.get(N + 2)?;
                let previous_hash: Option<String> = r.get(N + 4)?;
                let previous_until: Option<i64> = r.get(N + 5)?;
                let previous = previous_secret(previous_hash, previous_until);
                Ok(ClientCredentials {
                    previous,
                    client: client_from_row(r)?,
                    secret_hash: r.get(N)?,
                    secret_check: check_column(r.get(N + 3)?),
                    project_delete_at: r.get::<_, Option<i64>>(N + 1)?.map(ts),
                    project_cors: cors.map(|c| super::json_column(&c)).unwrap_or_default(),
                })
            })
            .optional()
            .sql()
        })
    }

    /// The first step of authenticating a client id with a secret: the check values of its
    /// valid secrets (the previous one only while its grace lasts at `now`). `None`: no such
    /// client. One indexed read of one row, the same work for a known and an unknown id.
    pub(crate) fn secret_checks(&self, id: &str, now: Timestamp) -> Result<Option<SecretChecks>> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT secret_check, previous_secret_check, previous_secret_expires_at
                 FROM clients WHERE id = ?1",
            )
            .sql()?
            .query_row([id], |r| {
                let previous_until: Option<i64> = r.get(2)?;
                Ok(SecretChecks {
                    current: check_column(r.get(0)?),
                    previous: previous_until
                        .map(ts)
                        .filter(|until| now < *until)
                        .map(|until| Ok::<_, rusqlite::Error>((check_column(r.get(1)?), until)))
                        .transpose()?,
                })
            })
            .optional()
            .sql()
        })
    }

    /// Replaces client `id`'s secret with a new one, returned once. With `grace_seconds` > 0
    /// the old secret stays valid until `now + grace` (exclusive); any earlier rotation's
    /// previous secret dies at once, so at most two secrets are ever valid
    /// (docs/lifecycle.md#rotation). The audit entry `client.rotate` is written in the same
    /// transaction, and the access revision is bumped so every credential cache forgets the
    /// old state.
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
                .prepare_cached(&format!(
                    "SELECT {CLIENT_COLUMNS} FROM clients c
                     WHERE id = ?1 AND organization_id = ?2 AND {VISIBLE}"
                ))
                .sql()?
                .query_row((&id, organization_id, now.millis()), client_from_row)
                .optional()
                .sql()?
                .ok_or(Error::NotFound(Resource::Client))?;
            // The current secret becomes the previous one (with its check value) while the
            // grace lasts; without a grace, no previous secret is kept at all.
            tx.prepare_cached(
                "UPDATE clients SET
                     previous_secret_hash = CASE WHEN ?4 IS NULL THEN NULL ELSE secret_hash END,
                     previous_secret_check = CASE WHEN ?4 IS NULL THEN NULL ELSE secret_check END,
                     previous_secret_expires_at = ?4,
                     secret_hash = ?2, secret_check = ?3, updated_at = ?5
                 WHERE id = ?1",
            )
            .sql()?
            .execute((
                &id,
                &fresh.hash,
                i64::from(check),
                previous_until.map(Timestamp::millis),
                now.millis(),
            ))
            .sql()?;
            audit::append(
                tx,
                &NewAuditEntry {
                    organization_id,
                    at: now,
                    actor_client_id: self.actor(),
                    action: AuditAction::ClientRotate,
                    resource_id: id,
                    project_id: client.project_id.as_deref(),
                    changes: &["secret"],
                },
            )?;
            self.bump_access_revision(tx)?;
            client.updated_at = now;
            Ok(client)
        })?;
        self.revision_committed();
        Ok(rotation.rotated(client))
    }

    /// Records successful authentications: each client's `last_used_at` becomes the later of
    /// its stored value and the given time. One transaction for the whole batch; clients
    /// deleted meanwhile are skipped (docs/lifecycle.md#last-use).
    pub(crate) fn record_last_used(&self, uses: &[(&str, Timestamp)]) -> Result<()> {
        if uses.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            let mut update = tx
                .prepare_cached(
                    "UPDATE clients SET last_used_at = ?2
                     WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at < ?2)",
                )
                .sql()?;
            for (id, at) in uses {
                update.execute((id, at.millis())).sql()?;
            }
            Ok(())
        })
    }

    /// After a successful verification against `old_hash`: stores the secret's check value
    /// (hashes from before check values gain it here) and, when given, a hash with the current
    /// argon2 parameters — unless the secret was replaced meanwhile.
    pub(crate) fn record_verified_secret(
        &self,
        id: &str,
        old_hash: &str,
        new_hash: Option<&str>,
        check: u32,
    ) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached(
                "UPDATE clients SET secret_hash = coalesce(?3, secret_hash), secret_check = ?4
                 WHERE id = ?1 AND secret_hash = ?2",
            )
            .sql()?
            .execute((id, old_hash, new_hash, i64::from(check)))
            .sql()?;
            Ok(())
        })
    }

    /// Whether client `id` still exists and its project (if any) is not past its deletion
    /// time: one indexed read. Manage calls make it on every request, cached or not.
    pub(crate) fn client_is_active(&self, id: &str) -> Result<bool> {
        let now = self.now();
        self.read(|c| client_active(c, id, now))
    }
}

/// A client is visible unless its project is past its deletion time (then it is gone).
const VISIBLE: &str = "(c.project_id IS NULL OR NOT EXISTS (
    SELECT 1 FROM projects p WHERE p.id = c.project_id AND p.delete_at IS NOT NULL AND p.delete_at <= ?3))";

/// See [`Db::client_is_active`]; also run inside every write made for a Manage caller.
pub(crate) fn client_active(conn: &rusqlite::Connection, id: &str, now: Timestamp) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM clients c WHERE c.id = ?1 AND (c.project_id IS NULL OR NOT EXISTS (
                 SELECT 1 FROM projects p
                 WHERE p.id = c.project_id AND p.delete_at IS NOT NULL AND p.delete_at <= ?2))",
        )
        .sql()?
        .query_row((id, now.millis()), |_| Ok(()))
        .optional()
        .sql()?
        .is_some())
}
