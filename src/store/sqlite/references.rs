//! References: markers on a project's timeline, scoped through their project's organization.

use super::paging::query_page;
use rusqlite::{OptionalExtension, Row};

use super::projects::is_live_project;
use super::SqlResult;
use super::{ts, Db};
use crate::domain::model::{AuditAction, Reference};
use crate::domain::time::Timestamp;
use crate::domain::validate::canonical_uuid;
use crate::error::{Error, Resource, Result};
use crate::store::common::{
    apply_reference_changes, changed_reference_fields, reference_set_fields, unknown_project,
    unknown_project_error,
};
use crate::store::inputs::{NewReference, ReferenceChanges};
use crate::store::lists::{ListKind, ListOptions, Page, Window};

const REFERENCE_COLUMNS: &str =
    "r.id, r.project_id, r.title, r.description, r.date, r.created_at, r.updated_at";

/// A reference is visible when its project belongs to the organization (?2) and is not past
/// its deletion time (?3).
const SCOPED: &str = "JOIN projects p ON p.id = r.project_id
    WHERE p.organization_id = ?2 AND (p.delete_at IS NULL OR p.delete_at > ?3)";

fn reference_from_row(r: &Row<'_>) -> rusqlite::Result<Reference> {
    Ok(Reference {
        id: r.get(0)?,
        project_id: r.get(1)?,
        title: r.get(2)?,
        description: r.get(3)?,
        date: ts(r.get(4)?),
        created_at: ts(r.get(5)?),
        updated_at: ts(r.get(6)?),
    })
}

impl Db {
    pub(crate) fn create_reference(
        &self,
        organization_id: &str,
        input: &NewReference,
    ) -> Result<Reference> {
        let valid = match input.validate() {
            Ok(valid) => valid,
            Err(Error::Validation(mut errors)) => {
                // Name every offending field: an unknown project as well as a bad title or date.
                let now = self.now();
                if !self.read(|c| is_live_project(c, organization_id, &input.project_id, now))? {
                    errors.push(unknown_project_error());
                }
                return Err(Error::Validation(errors));
            }
            Err(e) => return Err(e),
        };
        let now = self.now();
        let reference = Reference {
            id: uuid::Uuid::new_v4().hyphenated().to_string(),
            project_id: input.project_id.clone(),
            title: valid.title,
            description: valid.description,
            date: valid.date.unwrap_or(now),
            created_at: now,
            updated_at: now,
        };
        self.write(|tx| {
            if !is_live_project(tx, organization_id, &reference.project_id, now)? {
                return Err(unknown_project());
            }
            tx.prepare_cached(
                "INSERT INTO project_references (id, project_id, title, description, date,
                                                 created_at, updated_at, organization_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)",
            )
            .sql()?
            .execute((
                &reference.id,
                &reference.project_id,
                &reference.title,
                &reference.description,
                reference.date.millis(),
                now.millis(),
                organization_id,
            ))
            .sql()?;
            self.audit(
                tx,
                now,
                organization_id,
                AuditAction::ReferenceCreate,
                &reference.id,
                Some(&reference.project_id),
                &reference_set_fields(&reference, input),
            )?;
            Ok(())
        })?;
        Ok(reference)
    }

    pub(crate) fn get_reference(&self, organization_id: &str, id: &str) -> Result<Reference> {
        let Some(id) = canonical_uuid(id) else {
            return Err(Error::NotFound(Resource::Reference));
        };
        let now = self.now();
        self.read(|c| fetch(c, organization_id, &id, now))
    }

    /// References of the organization's projects, newest first; with `project_id`, of that
    /// project only (404 when it is not a project of the organization).
    pub(crate) fn list_references(
        &self,
        organization_id: &str,
        project_id: Option<&str>,
    ) -> Result<Vec<Reference>> {
        self.list_references_page(organization_id, project_id, &ListOptions::default())
            .map(|page| page.items)
    }

    /// One page of [`Db::list_references`] (docs/behaviour.md#lists).
    pub(crate) fn list_references_page(
        &self,
        organization_id: &str,
        project_id: Option<&str>,
        options: &ListOptions,
    ) -> Result<Page<Reference>> {
        let window = Window::new(ListKind::References, options)?;
        let now = self.now();
        let items = self.read(|c| {
            if let Some(p) = project_id {
                if !is_live_project(c, organization_id, p, now)? {
                    return Err(Error::NotFound(Resource::Project));
                }
            }
            // The scope (organization, project not past its deletion) is checked on every
            // row whatever the cursor says; the cursor only says where to start.
            let scope = match project_id {
                None => "r.organization_id = :org",
                Some(_) => "r.project_id = :project",
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
                    "SELECT {REFERENCE_COLUMNS} FROM project_references r
                     JOIN projects p ON p.id = r.project_id
                     WHERE {scope} AND p.organization_id = :org
                       AND (p.delete_at IS NULL OR p.delete_at > :now)"
                ),
                "r",
                params,
                reference_from_row,
            )
        })?;
        Ok(window.page(ListKind::References, items, |r| {
            (r.created_at, r.id.as_str())
        }))
    }

    pub(crate) fn update_reference(
        &self,
        organization_id: &str,
        id: &str,
        changes: &ReferenceChanges,
    ) -> Result<Reference> {
        let Some(id) = canonical_uuid(id) else {
            return Err(Error::NotFound(Resource::Reference));
        };
        let valid = changes.validate()?;
        let now = self.now();
        self.write(|tx| {
            let before = fetch(tx, organization_id, &id, now)?;
            let r = apply_reference_changes(&before, &valid, now);
            tx.prepare_cached(
                "UPDATE project_references SET title = ?2, description = ?3, date = ?4, updated_at = ?5
                 WHERE id = ?1",
            ).sql()?
            .execute((&r.id, &r.title, &r.description, r.date.millis(), now.millis())).sql()?;
            self.audit(
                tx,
                now,
                organization_id,
                AuditAction::ReferenceUpdate,
                &r.id,
                Some(&r.project_id),
                &changed_reference_fields(&before, &r),
            )?;
            Ok(r)
        })
    }

    pub(crate) fn delete_reference(&self, organization_id: &str, id: &str) -> Result<()> {
        let Some(id) = canonical_uuid(id) else {
            return Err(Error::NotFound(Resource::Reference));
        };
        let now = self.now();
        self.write(|tx| {
            let r = fetch(tx, organization_id, &id, now)?;
            tx.prepare_cached("DELETE FROM project_references WHERE id = ?1")
                .sql()?
                .execute([&id])
                .sql()?;
            self.audit(
                tx,
                now,
                organization_id,
                AuditAction::ReferenceDelete,
                &id,
                Some(&r.project_id),
                &[],
            )
        })
    }
}

fn fetch(
    c: &rusqlite::Connection,
    organization_id: &str,
    id: &str,
    now: Timestamp,
) -> Result<Reference> {
    c.prepare_cached(&format!(
        "SELECT {REFERENCE_COLUMNS} FROM project_references r {SCOPED} AND r.id = ?1"
    ))
    .sql()?
    .query_row((id, organization_id, now.millis()), reference_from_row)
    .optional()
    .sql()?
    .ok_or(Error::NotFound(Resource::Reference))
}
