//! The audit log (docs/lifecycle.md#audit-log): one row per successful change, appended by the
//! change's own transaction so the change and its entry commit or roll back together.

use rusqlite::Connection;

use super::json_text;
use super::SqlResult;
use crate::domain::model::AuditAction;
use crate::domain::time::Timestamp;
use crate::error::Result;

/// An entry to append; the id is generated here.
pub(super) struct NewAuditEntry<'a> {
    pub organization_id: &'a str,
    pub at: Timestamp,
    pub actor_client_id: Option<&'a str>,
    pub action: AuditAction,
    pub resource_id: &'a str,
    pub project_id: Option<&'a str>,
    /// Field names (JSON spelling), never values.
    pub changes: &'a [&'a str],
}

/// Appends `entry` on `conn`, which must be inside the transaction making the change.
pub(super) fn append(conn: &Connection, entry: &NewAuditEntry<'_>) -> Result<()> {
    let id = uuid::Uuid::new_v4().hyphenated().to_string();
    conn.prepare_cached(
        "INSERT INTO audit_log (id, organization_id, at, actor_client_id, action, \
         resource_type, resource_id, project_id, changes) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .and_then(|mut s| {
        s.execute(rusqlite::params![
            id,
            entry.organization_id,
            entry.at.0,
            entry.actor_client_id,
            entry.action.as_str(),
            entry.action.resource_type(),
            entry.resource_id,
            entry.project_id,
            json_text(entry.changes),
        ])
    })
    .sql()?;
    Ok(())
}
