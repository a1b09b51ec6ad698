//! The audit log (docs/lifecycle.md#audit-log; src/store/sqlite/audit.rs has the same rules):
//! one row per successful change, appended by the change's own transaction so the change and
//! its entry commit or roll back together. `seq` (a sequence) orders the entries.

use postgres::types::ToSql;
use postgres::Row;

use super::{json_column, json_text, ts, PgDb, Tx};
use crate::domain::model::{AuditAction, AuditEntry};
use crate::domain::time::Timestamp;
use crate::error::{Error, Result};
use crate::store::common::audit_page;
use crate::store::lists::{ListKind, ListOptions, Page, Window};

pub(super) use crate::store::common::NewAuditEntry;

/// Appends `entry` inside `tx`, the transaction making the change.
pub(super) fn append(tx: &mut Tx<'_>, entry: &NewAuditEntry<'_>) -> Result<()> {
    let id = uuid::Uuid::new_v4().hyphenated().to_string();
    tx.exec(
        "INSERT INTO audit_log (id, organization_id, at, actor_client_id, action,
                                resource_type, resource_id, project_id, changes)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &id,
            &entry.organization_id,
            &entry.at.millis(),
            &entry.actor_client_id,
            &entry.action.as_str(),
            &entry.action.resource_type(),
            &entry.resource_id,
            &entry.project_id,
            &json_text(entry.changes),
        ],
    )?;
    Ok(())
}

/// Deletes the entries written before `cutoff`; returns how many. As on SQLite, the log is
/// walked in `seq` order up to the first entry written at or after `cutoff`.
pub(super) fn prune(tx: &mut Tx<'_>, cutoff: Timestamp) -> Result<u64> {
    tx.exec(
        "DELETE FROM audit_log WHERE seq < COALESCE(
             (SELECT seq FROM audit_log WHERE at >= $1 ORDER BY seq LIMIT 1),
             9223372036854775807)",
        &[&cutoff.millis()],
    )
}

const AUDIT_COLUMNS: &str = "a.seq, a.id, a.at, a.actor_client_id, a.action, a.resource_type, \
     a.resource_id, a.project_id, a.changes";

/// An entry with its position in the log.
fn entry_from_row(r: &Row) -> Result<(i64, AuditEntry)> {
    let action: String = r.get(4);
    let changes: String = r.get(8);
    let action = AuditAction::parse(&action)
        .ok_or_else(|| Error::Storage(format!("unknown audit action {action:?}")))?;
    Ok((
        r.get(0),
        AuditEntry {
            id: r.get(1),
            at: ts(r.get(2)),
            actor_client_id: r.get(3),
            action,
            resource_type: r.get(5),
            resource_id: r.get(6),
            project_id: r.get(7),
            changes: json_column(&changes),
        },
    ))
}

impl PgDb {
    /// Appends the entry of a change made in `tx` by this handle's actor (None for handles
    /// acting for no client), at `at`; as `sqlite::Db::audit`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn audit(
        &self,
        tx: &mut Tx<'_>,
        at: Timestamp,
        organization_id: &str,
        action: AuditAction,
        resource_id: &str,
        project_id: Option<&str>,
        changes: &[&str],
    ) -> Result<()> {
        append(
            tx,
            &NewAuditEntry {
                organization_id,
                at,
                actor_client_id: self.actor(),
                action,
                resource_id,
                project_id,
                changes,
            },
        )
    }

    /// One page of the organization's audit log, newest first (the order entries were
    /// committed in), optionally of one resource (docs/lifecycle.md#audit-log).
    pub(crate) fn list_audit(
        &self,
        organization_id: &str,
        resource_id: Option<&str>,
        options: &ListOptions,
    ) -> Result<Page<AuditEntry>> {
        let window = Window::new(ListKind::Audit, options)?;
        let limit = match window.sql_limit() {
            n if n < 0 => "ALL".to_owned(),
            n => n.to_string(),
        };
        let rows = self.read(|tx| {
            let mut query =
                format!("SELECT {AUDIT_COLUMNS} FROM audit_log a WHERE a.organization_id = $1");
            let mut params: Vec<&(dyn ToSql + Sync)> = vec![&organization_id];
            if let Some(resource) = &resource_id {
                params.push(resource);
                query.push_str(&format!(" AND a.resource_id = ${}", params.len()));
            }
            if let Some(after) = &window.after {
                // An audit cursor's position is the `seq` of the last entry returned.
                params.push(&after.created_at);
                query.push_str(&format!(" AND a.seq < ${}", params.len()));
            }
            // The limit is a number checked by `Window`, never request text.
            query.push_str(&format!(" ORDER BY a.seq DESC LIMIT {limit}"));
            tx.all(&query, &params)?
                .iter()
                .map(entry_from_row)
                .collect::<Result<Vec<_>>>()
        })?;
        Ok(audit_page(&window, rows))
    }
}
