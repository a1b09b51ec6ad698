//! Organizations: created by bootstrap together with their first root client.

use rusqlite::OptionalExtension;

use super::ids::ORGANIZATION_NS;
use super::SqlResult;
use super::{ts, Db};
use crate::domain::model::{AuditAction, ClientType, Organization};
use crate::domain::slug;
use crate::domain::validate;
use crate::error::{Error, Resource, Result};
use crate::store::common::bootstrap;
use crate::store::inputs::NewClient;
use crate::store::outputs::Bootstrap;

fn organization_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Organization> {
    Ok(Organization {
        id: r.get(0)?,
        name: r.get(1)?,
        created_at: ts(r.get(2)?),
        updated_at: ts(r.get(3)?),
    })
}

impl Db {
    /// Creates an organization and its first `root` client (named `Root client`).
    pub(crate) fn create_organization(&self, name: &str) -> Result<Bootstrap> {
        let name = validate::text("name", name).map_err(|e| Error::Validation(vec![e]))?;
        let base = slug::id_base(&name, slug::ORGANIZATION_FALLBACK);
        let prepared = self.prepare_client(&NewClient {
            name: "Root client".into(),
            client_type: ClientType::Root,
            ..NewClient::default()
        })?;
        let now = self.now();
        self.write(|tx| {
            let id = self.issue_id(tx, ORGANIZATION_NS, &base)?;
            tx.prepare_cached(
                "INSERT INTO organizations (id, name, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)",
            ).sql()?
            .execute((&id, &name, now.millis())).sql()?;
            let client = self.insert_client(tx, &id, None, &prepared, now)?;
            // One entry for the change: the organization and its first root client.
            self.audit(
                tx,
                now,
                &id,
                AuditAction::OrganizationCreate,
                &id,
                None,
                &["name", "client"],
            )?;
            Ok(bootstrap(id, &name, now, client))
        })
    }

    pub(crate) fn get_organization(&self, id: &str) -> Result<Organization> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT id, name, created_at, updated_at FROM organizations WHERE id = ?1",
            )
            .sql()?
            .query_row([id], organization_from_row)
            .optional()
            .sql()?
            .ok_or(Error::NotFound(Resource::Organization))
        })
    }

    /// Every organization, oldest first.
    pub(crate) fn list_organizations(&self) -> Result<Vec<Organization>> {
        self.read(|c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT id, name, created_at, updated_at FROM organizations
                 ORDER BY created_at, rowid",
                )
                .sql()?;
            let rows = stmt.query_map([], organization_from_row).sql()?;
            rows.collect::<std::result::Result<Vec<_>, _>>().sql()
        })
    }

    /// Removes an organization and everything in it, its audit log included. Its clients
    /// lose access at once.
    pub(crate) fn delete_organization(&self, id: &str) -> Result<()> {
        let n = self.write(|tx| {
            let n = tx
                .prepare_cached("DELETE FROM organizations WHERE id = ?1")
                .sql()?
                .execute([id])
                .sql()?;
            if n > 0 {
                tx.prepare_cached("DELETE FROM audit_log WHERE organization_id = ?1")
                    .sql()?
                    .execute([id])
                    .sql()?;
                self.bump_access_revision(tx)?;
            }
            Ok(n)
        })?;
        if n == 0 {
            return Err(Error::NotFound(Resource::Organization));
        }
        self.revision_committed();
        Ok(())
    }
}
