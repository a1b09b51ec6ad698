//! Projects: slug ids, the default `First client` in the same transaction, soft deletion.

use super::paging::query_page;
use rusqlite::{OptionalExtension, Row, Transaction};

use super::ids::PROJECT_NS;
use super::SqlResult;
use super::{json_column, json_text, ts, Db};
use crate::domain::deletion;
use crate::domain::model::{AuditAction, ClientType, Project, ProjectType};
use crate::domain::slug;
use crate::domain::time::Timestamp;
use crate::error::{Error, Resource, Result};
use crate::store::common::{
    apply_project_changes, created_project, project_set_fields, ProjectUpdate,
};
use crate::store::inputs::{NewClient, NewProject, ProjectChanges};
use crate::store::lists::{ListKind, ListOptions, Page, Window};
use crate::store::outputs::CreatedProject;

const PROJECT_COLUMNS: &str = "id, name, organization_id, domain, cors, cross_domain, \
     allow_unsafe_revenue_tracking, filters, types, events_count, created_at, updated_at, delete_at";

fn project_from_row(r: &Row<'_>) -> rusqlite::Result<Project> {
    let cors: String = r.get(4)?;
    let filters: String = r.get(7)?;
    let types: String = r.get(8)?;
    Ok(Project {
        id: r.get(0)?,
        name: r.get(1)?,
        organization_id: r.get(2)?,
        domain: r.get(3)?,
        cors: json_column(&cors),
        cross_domain: r.get(5)?,
        allow_unsafe_revenue_tracking: r.get(6)?,
        filters: serde_json::from_str(&filters).unwrap_or(serde_json::Value::Array(Vec::new())),
        types: json_column::<Vec<ProjectType>>(&types),
        events_count: r.get(9)?,
        created_at: ts(r.get(10)?),
        updated_at: ts(r.get(11)?),
        delete_at: r.get::<_, Option<i64>>(12)?.map(ts),
    })
}

impl Db {
    /// Creates a project and its default `write` client (`First client`) in one transaction.
    pub(crate) fn create_project(
        &self,
        organization_id: &str,
        input: &NewProject,
    ) -> Result<CreatedProject> {
        let valid = input.validate()?;
        let base = slug::id_base(&valid.name, slug::PROJECT_FALLBACK);
        let client = self.prepare_client(&NewClient {
            name: "First client".into(),
            client_type: ClientType::Write,
            ..NewClient::default()
        })?;
        let now = self.now();
        self.write(|tx| {
            organization_exists(tx, organization_id)?;
            let id = self.issue_id(tx, PROJECT_NS, &base)?;
            tx.prepare_cached(
                "INSERT INTO projects (id, organization_id, name, domain, cors, cross_domain,
                                       allow_unsafe_revenue_tracking, filters, types,
                                       events_count, created_at, updated_at, delete_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, '[]', ?7, 0, ?8, ?8, NULL)",
            )
            .sql()?
            .execute((
                &id,
                organization_id,
                &valid.name,
                &valid.domain,
                json_text(&valid.cors),
                valid.cross_domain,
                json_text(&valid.types),
                now.millis(),
            ))
            .sql()?;
            let created = self.insert_client(tx, organization_id, Some(&id), &client, now)?;
            self.audit(
                tx,
                now,
                organization_id,
                AuditAction::ProjectCreate,
                &id,
                Some(&id),
                &project_set_fields(&valid),
            )?;
            Ok(created_project(&id, organization_id, &valid, now, created))
        })
    }

    /// A project of the organization, also while scheduled for deletion; gone (404) once
    /// past `deleteAt`.
    pub(crate) fn get_project(&self, organization_id: &str, id: &str) -> Result<Project> {
        let now = self.now();
        self.read(|c| fetch_project(c, organization_id, id, now))
    }

    /// The organization's live projects (not scheduled for deletion), newest first.
    pub(crate) fn list_projects(&self, organization_id: &str) -> Result<Vec<Project>> {
        self.list_projects_page(organization_id, &ListOptions::default())
            .map(|page| page.items)
    }

    /// One page of [`Db::list_projects`] (docs/behaviour.md#lists).
    pub(crate) fn list_projects_page(
        &self,
        organization_id: &str,
        options: &ListOptions,
    ) -> Result<Page<Project>> {
        let window = Window::new(ListKind::Projects, options)?;
        let items = self.read(|c| {
            query_page(
                c,
                &window,
                &format!(
                    "SELECT {PROJECT_COLUMNS} FROM projects p
                     WHERE p.organization_id = :org AND p.delete_at IS NULL"
                ),
                "p",
                vec![(":org", &organization_id)],
                project_from_row,
            )
        })?;
        Ok(window.page(ListKind::Projects, items, |p| (p.created_at, p.id.as_str())))
    }

    /// Applies the given changes. A successful update of a project scheduled for deletion
    /// cancels the deletion. The id never changes.
    pub(crate) fn update_project(
        &self,
        organization_id: &str,
        id: &str,
        changes: &ProjectChanges,
    ) -> Result<Project> {
        let valid = changes.validate()?;
        let now = self.now();
        let (project, cancelled) = self.write(|tx| {
            let before = fetch_project(tx, organization_id, id, now)?;
            let ProjectUpdate {
                project: p,
                cancelled,
                action,
                changed,
            } = apply_project_changes(&before, &valid, changes, now);
            self.audit(
                tx,
                now,
                organization_id,
                action,
                &p.id,
                Some(&p.id),
                &changed,
            )?;
            tx.prepare_cached(
                "UPDATE projects SET name = ?2, domain = ?3, cors = ?4, cross_domain = ?5,
                        allow_unsafe_revenue_tracking = ?6, updated_at = ?7, delete_at = NULL
                 WHERE id = ?1",
            )
            .sql()?
            .execute((
                &p.id,
                &p.name,
                &p.domain,
                json_text(&p.cors),
                p.cross_domain,
                p.allow_unsafe_revenue_tracking,
                now.millis(),
            ))
            .sql()?;
            if cancelled {
                self.bump_access_revision(tx)?;
            }
            Ok((p, cancelled))
        })?;
        if cancelled {
            self.revision_committed();
        }
        Ok(project)
    }

    /// Schedules the project for deletion `deletion_grace_seconds` from now; repeating it
    /// keeps the first schedule. Returns the `deleteAt`.
    pub(crate) fn delete_project(&self, organization_id: &str, id: &str) -> Result<Timestamp> {
        let now = self.now();
        let grace = self.grace_seconds();
        let at = self.write(|tx| {
            let p = fetch_project(tx, organization_id, id, now)?;
            let at = deletion::schedule(p.delete_at, now, grace);
            if p.delete_at.is_none() {
                tx.prepare_cached(
                    "UPDATE projects SET delete_at = ?2, updated_at = ?3 WHERE id = ?1",
                )
                .sql()?
                .execute((&p.id, at.millis(), now.millis()))
                .sql()?;
                self.audit(
                    tx,
                    now,
                    organization_id,
                    AuditAction::ProjectDelete,
                    &p.id,
                    Some(&p.id),
                    &[],
                )?;
                self.bump_access_revision(tx)?;
            }
            Ok(at)
        })?;
        self.revision_committed();
        Ok(at)
    }

    /// Adds `n` to the project's `eventsCount` atomically; returns the new count.
    pub(crate) fn increment_events_count(
        &self,
        organization_id: &str,
        id: &str,
        n: i64,
    ) -> Result<i64> {
        let now = self.now();
        self.write(|tx| {
            tx.prepare_cached(
                "UPDATE projects SET events_count = events_count + ?3
                 WHERE id = ?1 AND organization_id = ?2 AND (delete_at IS NULL OR delete_at > ?4)
                 RETURNING events_count",
            )
            .sql()?
            .query_row((id, organization_id, n, now.millis()), |r| r.get(0))
            .optional()
            .sql()?
            .ok_or(Error::NotFound(Resource::Project))
        })
    }
}

fn fetch_project(
    c: &rusqlite::Connection,
    organization_id: &str,
    id: &str,
    now: Timestamp,
) -> Result<Project> {
    c.prepare_cached(&format!(
        "SELECT {PROJECT_COLUMNS} FROM projects
         WHERE id = ?1 AND organization_id = ?2 AND (delete_at IS NULL OR delete_at > ?3)"
    ))
    .sql()?
    .query_row((id, organization_id, now.millis()), project_from_row)
    .optional()
    .sql()?
    .ok_or(Error::NotFound(Resource::Project))
}

fn organization_exists(tx: &Transaction<'_>, organization_id: &str) -> Result<()> {
    tx.prepare_cached("SELECT 1 FROM organizations WHERE id = ?1")
        .sql()?
        .query_row([organization_id], |_| Ok(()))
        .optional()
        .sql()?
        .ok_or(Error::NotFound(Resource::Organization))
}

/// Whether `project_id` is a project of the organization that is not past its `deleteAt`: one
/// that reads see, and that may receive new clients and references. A project only scheduled
/// for deletion is (docs/behaviour.md#projects-scheduled-for-deletion); what is added goes
/// with it if it is purged.
pub(crate) fn is_live_project(
    conn: &rusqlite::Connection,
    organization_id: &str,
    project_id: &str,
    now: Timestamp,
) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM projects WHERE id = ?1 AND organization_id = ?2
               AND (delete_at IS NULL OR delete_at > ?3)",
        )
        .sql()?
        .query_row((project_id, organization_id, now.millis()), |_| Ok(()))
        .optional()
        .sql()?
        .is_some())
}
