//! The audit log (docs/lifecycle.md#audit-log): one row per successful change, appended by the
//! change's own transaction so the change and its entry commit or roll back together.

use rusqlite::{Connection, Row, ToSql};

use super::{json_column, json_text, ts, Db, SqlResult};
use crate::domain::model::{AuditAction, AuditEntry};
use crate::domain::time::Timestamp;
use crate::error::Result;
use crate::store::common::audit_page;
use crate::store::lists::{ListKind, ListOptions, Page, Window};

pub(super) use crate::store::common::NewAuditEntry;

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

/// Deletes the entries written before `cutoff`; returns how many. The log is walked from its
/// oldest entry (in `seq`, i.e. commit, order) up to the first one written at or after
/// `cutoff`, so the cost is the number of entries pruned, with no index on `at`; an entry
/// that follows a newer one (the clock stepped back) goes with the entries after it.
pub(super) fn prune(conn: &Connection, cutoff: Timestamp) -> Result<usize> {
    conn.prepare_cached(
        "DELETE FROM audit_log WHERE seq < COALESCE(
             (SELECT seq FROM audit_log WHERE at >= ?1 ORDER BY seq LIMIT 1),
             9223372036854775807)",
    )
    .sql()?
    .execute([cutoff.millis()])
    .sql()
}

const AUDIT_COLUMNS: &str = "a.seq, a.id, a.at, a.actor_client_id, a.action, a.resource_type, \
     a.resource_id, a.project_id, a.changes";

/// An entry with its position in the log (`seq`, the order entries were committed in).
fn entry_from_row(r: &Row<'_>) -> rusqlite::Result<(i64, AuditEntry)> {
    let action: String = r.get(4)?;
    let changes: String = r.get(8)?;
    let action = AuditAction::parse(&action).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            4,
            rusqlite::types::Type::Text,
            format!("unknown audit action {action:?}").into(),
        )
    })?;
    Ok((
        r.get(0)?,
        AuditEntry {
            id: r.get(1)?,
            at: ts(r.get(2)?),
            actor_client_id: r.get(3)?,
            action,
            resource_type: r.get(5)?,
            resource_id: r.get(6)?,
            project_id: r.get(7)?,
            changes: json_column(&changes),
        },
    ))
}

impl Db {
    /// Appends the entry of a change made in `tx` by this handle's actor (None for handles
    /// acting for no client: the CLI, bootstrap, purge and direct store calls), at `at`. One
    /// argument per column of the entry, so each call reads as the entry it writes.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn audit(
        &self,
        tx: &Connection,
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
        let limit = window.sql_limit();
        let rows = self.read(|c| {
            let mut query =
                format!("SELECT {AUDIT_COLUMNS} FROM audit_log a WHERE a.organization_id = :org");
            let mut params: Vec<(&str, &dyn ToSql)> = vec![(":org", &organization_id)];
            if let Some(resource) = &resource_id {
                query.push_str(" AND a.resource_id = :resource");
                params.push((":resource", resource));
            }
            if let Some(after) = &window.after {
                // An audit cursor's position is the `seq` of the last entry returned.
                query.push_str(" AND a.seq < :after_seq");
                params.push((":after_seq", &after.created_at));
            }
            // The limit is a number checked by `Window`, never request text (see paging.rs).
            query.push_str(&format!(" ORDER BY a.seq DESC LIMIT {limit}"));
            let mut stmt = c.prepare_cached(&query).sql()?;
            let rows = stmt.query_map(params.as_slice(), entry_from_row).sql()?;
            rows.collect::<std::result::Result<Vec<_>, _>>().sql()
        })?;
        Ok(audit_page(&window, rows))
    }
}
