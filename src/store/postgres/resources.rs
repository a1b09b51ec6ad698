//! Organizations, projects and references (src/store/sqlite/ has the same rules, one file
//! each): reads scoped to their organization in the `WHERE` clause, writes reading their row
//! `FOR UPDATE` in the same transaction before changing it by id.

use postgres::types::ToSql;
use postgres::Row;

use super::ids::{ORGANIZATION_NS, PROJECT_NS};
use super::revision::bump;
use super::{clients, json_column, json_text, ts, PgDb, Tx};
use crate::domain::deletion;
use crate::domain::model::{
    AuditAction, ClientType, Organization, Project, ProjectType, Reference,
};
use crate::domain::slug;
use crate::domain::time::Timestamp;
use crate::domain::validate::{self, canonical_uuid};
use crate::error::{Error, Resource, Result};
use crate::store::common::{
    apply_project_changes, apply_reference_changes, bootstrap, changed_reference_fields,
    created_project, project_set_fields, unknown_project, unknown_project_error, ProjectUpdate,
};
use crate::store::inputs::{NewClient, NewProject, NewReference, ProjectChanges, ReferenceChanges};
use crate::store::lists::{ListKind, ListOptions, Page, Window};
use crate::store::outputs::{Bootstrap, CreatedProject};

/// Runs `query` — a `SELECT … WHERE …` over table alias `alias` using `$1`…`$n` for its own
/// `params` — for the rows of `window`: after its cursor, newest first, at most one more than
/// the page holds. The limit is a number checked by `Window`, written into the SQL.
pub(super) fn query_page<T>(
    tx: &mut Tx<'_>,
    window: &Window,
    query: &str,
    alias: &str,
    params: &[&(dyn ToSql + Sync)],
    row: impl Fn(&Row) -> T,
) -> Result<Vec<T>> {
    let mut all: Vec<&(dyn ToSql + Sync)> = params.to_vec();
    let after = match &window.after {
        None => String::new(),
        Some(after) => {
            all.push(&after.created_at);
            all.push(&after.id);
            format!(
                "AND ({alias}.created_at, {alias}.id) < (${}, ${})",
                params.len() + 1,
                params.len() + 2
            )
        }
    };
    let limit = match window.sql_limit() {
        n if n < 0 => "ALL".to_owned(),
        n => n.to_string(),
    };
    let rows = tx.all(
        &format!("{query} {after} ORDER BY {alias}.created_at DESC, {alias}.id DESC LIMIT {limit}"),
        &all,
    )?;
    Ok(rows.iter().map(row).collect())
}

fn organization_from_row(r: &Row) -> Organization {
    Organization {
        id: r.get(0),
        name: r.get(1),
        created_at: ts(r.get(2)),
        updated_at: ts(r.get(3)),
    }
}

const PROJECT_COLUMNS: &str = "id, name, organization_id, domain, cors, cross_domain, \
     allow_unsafe_revenue_tracking, filters, types, events_count, created_at, updated_at, delete_at";

fn project_from_row(r: &Row) -> Project {
    let cors: String = r.get(4);
    let filters: String = r.get(7);
    let types: String = r.get(8);
    Project {
        id: r.get(0),
        name: r.get(1),
        organization_id: r.get(2),
        domain: r.get(3),
        cors: json_column(&cors),
        cross_domain: r.get(5),
        allow_unsafe_revenue_tracking: r.get(6),
        filters: serde_json::from_str(&filters).unwrap_or(serde_json::Value::Array(Vec::new())),
        types: json_column::<Vec<ProjectType>>(&types),
        events_count: r.get(9),
        created_at: ts(r.get(10)),
        updated_at: ts(r.get(11)),
        delete_at: r.get::<_, Option<i64>>(12).map(ts),
    }
}

const REFERENCE_COLUMNS: &str =
    "r.id, r.project_id, r.title, r.description, r.date, r.created_at, r.updated_at";

fn reference_from_row(r: &Row) -> Reference {
    Reference {
        id: r.get(0),
        project_id: r.get(1),
        title: r.get(2),
        description: r.get(3),
        date: ts(r.get(4)),
        created_at: ts(r.get(5)),
        updated_at: ts(r.get(6)),
    }
}

/// The project, also while scheduled for deletion; `NotFound` once past `deleteAt`. With
/// `lock`, its row is locked until the transaction ends.
fn fetch_project(
    tx: &mut Tx<'_>,
    organization_id: &str,
    id: &str,
    now: Timestamp,
    lock: bool,
) -> Result<Project> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    tx.opt(
        &format!(
            "SELECT {PROJECT_COLUMNS} FROM projects
             WHERE id = $1 AND organization_id = $2 AND (delete_at IS NULL OR delete_at > $3){lock}"
        ),
        &[&id, &organization_id, &now.millis()],
    )?
    .map(|r| project_from_row(&r))
    .ok_or(Error::NotFound(Resource::Project))
}

/// Whether `project_id` is a project of the organization not past its `deleteAt`. Inside a
/// write, the row is share-locked so it cannot be deleted or scheduled before commit.
pub(super) fn is_live_project(
    tx: &mut Tx<'_>,
    organization_id: &str,
    project_id: &str,
    now: Timestamp,
    lock: bool,
) -> Result<bool> {
    let lock = if lock { " FOR SHARE" } else { "" };
    Ok(tx
        .opt(
            &format!(
                "SELECT 1 FROM projects WHERE id = $1 AND organization_id = $2
                   AND (delete_at IS NULL OR delete_at > $3){lock}"
            ),
            &[&project_id, &organization_id, &now.millis()],
        )?
        .is_some())
}

fn fetch_reference(
    tx: &mut Tx<'_>,
    organization_id: &str,
    id: &str,
    now: Timestamp,
    lock: bool,
) -> Result<Reference> {
    let lock = if lock { " FOR UPDATE OF r" } else { "" };
    tx.opt(
        &format!(
            "SELECT {REFERENCE_COLUMNS} FROM project_references r
             JOIN projects p ON p.id = r.project_id
             WHERE r.id = $1 AND p.organization_id = $2
               AND (p.delete_at IS NULL OR p.delete_at > $3){lock}"
        ),
        &[&id, &organization_id, &now.millis()],
    )?
    .map(|r| reference_from_row(&r))
    .ok_or(Error::NotFound(Resource::Reference))
}

/// The create-reference statement (see `PgDb::create_reference`), with `$acting` (a condition,
/// or nothing) added to the project's check and `$actor` as the audit entry's actor.
/// Parameters: $1 the reference id, $2 its project, $3 title, $4 description, $5 date, $6 now,
/// $7 the organization, $8 the audit entry's id, $9 the audit action, $10 its resource type,
/// $11 its changes (JSON), and in the acting form $12 the acting client. The project is read
/// live in the organization and share-locked (a concurrent deletion waits for the commit, or
/// this insert sees it and writes nothing); the row and its audit entry are inserted from that
/// read, so a refused call writes nothing. Its row count is 1 when the reference was inserted
/// (with its audit entry), 0 when nothing was; run again with the same reference id it fails on
/// `project_references_pkey` and writes nothing (a unique violation costs nothing on the common
/// path, where `ON CONFLICT` would make every insert speculative).
macro_rules! create_reference_statement {
    ($acting:expr, $actor:literal) => {
        concat!(
            "WITH inserted AS (
                INSERT INTO project_references (id, project_id, title, description, date,
                                                created_at, updated_at, organization_id)
                SELECT $1::text, $2::text, $3::text, $4::text, $5::bigint, $6::bigint,
                       $6::bigint, $7::text
                FROM projects
                WHERE id = $2::text AND organization_id = $7::text
                  AND (delete_at IS NULL OR delete_at > $6::bigint)",
            $acting,
            "
                FOR SHARE
                RETURNING id
            )
            INSERT INTO audit_log (id, organization_id, at, actor_client_id, action,
                                   resource_type, resource_id, project_id, changes)
            SELECT $8::text, $7::text, $6::bigint, ",
            $actor,
            ", $9::text, $10::text, id, $2::text, $11::text
            FROM inserted"
        )
    };
}

/// Creates a reference for no acting client (see [`create_reference_statement`]).
pub(super) const CREATE_REFERENCE: &str = create_reference_statement!("", "NULL");

/// Creates a reference acting for client $12: the acting check (`client_active_condition!`,
/// as `clients::client_active` makes it) is a condition of the project's read, evaluated once
/// before it, so a refused caller locks nothing.
pub(super) const CREATE_REFERENCE_ACTING: &str = create_reference_statement!(
    concat!(" AND ", client_active_condition!("$12::text", "$6::bigint")),
    "$12::text"
);

impl PgDb {
    // Organizations.

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
            tx.exec(
                "INSERT INTO organizations (id, name, created_at, updated_at)
                 VALUES ($1, $2, $3, $3)",
                &[&id, &name, &now.millis()],
            )?;
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
        self.read(|tx| {
            tx.opt(
                "SELECT id, name, created_at, updated_at FROM organizations WHERE id = $1",
                &[&id],
            )?
            .map(|r| organization_from_row(&r))
            .ok_or(Error::NotFound(Resource::Organization))
        })
    }

    /// Every organization, oldest first.
    pub(crate) fn list_organizations(&self) -> Result<Vec<Organization>> {
        self.read(|tx| {
            Ok(tx
                .all(
                    "SELECT id, name, created_at, updated_at FROM organizations
                     ORDER BY created_at, seq",
                    &[],
                )?
                .iter()
                .map(organization_from_row)
                .collect())
        })
    }

    /// Removes an organization and everything in it, its audit log included. Its clients
    /// lose access at once.
    pub(crate) fn delete_organization(&self, id: &str) -> Result<()> {
        let n = self.write(|tx| {
            let n = tx.exec("DELETE FROM organizations WHERE id = $1", &[&id])?;
            if n > 0 {
                tx.exec("DELETE FROM audit_log WHERE organization_id = $1", &[&id])?;
                bump(tx)?;
            }
            Ok(n)
        })?;
        if n == 0 {
            return Err(Error::NotFound(Resource::Organization));
        }
        self.revision_committed();
        Ok(())
    }

    // Projects.

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
            // Share-locks the organization: it cannot be deleted before this commits.
            tx.opt(
                "SELECT 1 FROM organizations WHERE id = $1 FOR SHARE",
                &[&organization_id],
            )?
            .ok_or(Error::NotFound(Resource::Organization))?;
            let id = self.issue_id(tx, PROJECT_NS, &base)?;
            tx.exec(
                "INSERT INTO projects (id, organization_id, name, domain, cors, cross_domain,
                                       allow_unsafe_revenue_tracking, filters, types,
                                       events_count, created_at, updated_at, delete_at)
                 VALUES ($1, $2, $3, $4, $5, $6, FALSE, '[]', $7, 0, $8, $8, NULL)",
                &[
                    &id,
                    &organization_id,
                    &valid.name,
                    &valid.domain,
                    &json_text(&valid.cors),
                    &valid.cross_domain,
                    &json_text(&valid.types),
                    &now.millis(),
                ],
            )?;
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

    pub(crate) fn get_project(&self, organization_id: &str, id: &str) -> Result<Project> {
        let now = self.now();
        self.read(|tx| fetch_project(tx, organization_id, id, now, false))
    }

    pub(crate) fn list_projects(&self, organization_id: &str) -> Result<Vec<Project>> {
        self.list_projects_page(organization_id, &ListOptions::default())
            .map(|page| page.items)
    }

    pub(crate) fn list_projects_page(
        &self,
        organization_id: &str,
        options: &ListOptions,
    ) -> Result<Page<Project>> {
        let window = Window::new(ListKind::Projects, options)?;
        let items = self.read(|tx| {
            query_page(
                tx,
                &window,
                &format!(
                    "SELECT {PROJECT_COLUMNS} FROM projects p
                     WHERE p.organization_id = $1 AND p.delete_at IS NULL"
                ),
                "p",
                &[&organization_id],
                project_from_row,
            )
        })?;
        Ok(window.page(ListKind::Projects, items, |p| (p.created_at, p.id.as_str())))
    }

    pub(crate) fn update_project(
        &self,
        organization_id: &str,
        id: &str,
        changes: &ProjectChanges,
    ) -> Result<Project> {
        let valid = changes.validate()?;
        let now = self.now();
        let (project, cancelled) = self.write(|tx| {
            let before = fetch_project(tx, organization_id, id, now, true)?;
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
            tx.exec(
                "UPDATE projects SET name = $2, domain = $3, cors = $4, cross_domain = $5,
                        allow_unsafe_revenue_tracking = $6, updated_at = $7, delete_at = NULL
                 WHERE id = $1",
                &[
                    &p.id,
                    &p.name,
                    &p.domain,
                    &json_text(&p.cors),
                    &p.cross_domain,
                    &p.allow_unsafe_revenue_tracking,
                    &now.millis(),
                ],
            )?;
            if cancelled {
                bump(tx)?;
            }
            Ok((p, cancelled))
        })?;
        if cancelled {
            self.revision_committed();
        }
        Ok(project)
    }

    pub(crate) fn delete_project(&self, organization_id: &str, id: &str) -> Result<Timestamp> {
        let now = self.now();
        let grace = self.grace_seconds();
        let at = self.write(|tx| {
            let p = fetch_project(tx, organization_id, id, now, true)?;
            let at = deletion::schedule(p.delete_at, now, grace);
            if p.delete_at.is_none() {
                tx.exec(
                    "UPDATE projects SET delete_at = $2, updated_at = $3 WHERE id = $1",
                    &[&p.id, &at.millis(), &now.millis()],
                )?;
                self.audit(
                    tx,
                    now,
                    organization_id,
                    AuditAction::ProjectDelete,
                    &p.id,
                    Some(&p.id),
                    &[],
                )?;
                bump(tx)?;
            }
            Ok(at)
        })?;
        self.revision_committed();
        Ok(at)
    }

    pub(crate) fn increment_events_count(
        &self,
        organization_id: &str,
        id: &str,
        n: i64,
    ) -> Result<i64> {
        let now = self.now();
        self.write(|tx| {
            tx.opt(
                "UPDATE projects SET events_count = events_count + $3
                 WHERE id = $1 AND organization_id = $2 AND (delete_at IS NULL OR delete_at > $4)
                 RETURNING events_count",
                &[&id, &organization_id, &n, &now.millis()],
            )?
            .map(|r| r.get::<_, i64>(0))
            .ok_or(Error::NotFound(Resource::Project))
        })
    }

    // References.

    pub(crate) fn create_reference(
        &self,
        organization_id: &str,
        input: &NewReference,
    ) -> Result<Reference> {
        let valid = match input.validate() {
            Ok(valid) => valid,
            Err(Error::Validation(mut errors)) => {
                let now = self.now();
                if !self.read(|tx| {
                    is_live_project(tx, organization_id, &input.project_id, now, false)
                })? {
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
        let mut set = vec!["projectId", "title"];
        if reference.description.is_some() {
            set.push("description");
        }
        if input.datetime.is_some() {
            set.push("date");
        }
        let action = AuditAction::ReferenceCreate;
        let audit_id = uuid::Uuid::new_v4().hyphenated().to_string();
        let changes = json_text(&set);
        let actor = self.actor();
        let params: [&(dyn ToSql + Sync); 12] = [
            &reference.id,
            &reference.project_id,
            &reference.title,
            &reference.description,
            &reference.date.millis(),
            &now.millis(),
            &organization_id,
            &audit_id,
            &action.as_str(),
            &action.resource_type(),
            &changes,
            &actor,
        ];
        let (statement, params) = match actor {
            Some(_) => (CREATE_REFERENCE_ACTING, &params[..]),
            None => (CREATE_REFERENCE, &params[..11]),
        };
        // One statement in autocommit, so one round trip: the acting check, the project
        // share-locked as live in the organization, the row and its audit entry commit
        // together or not at all; the commit moves the data revision by itself (the revision
        // is the transaction snapshot). Idempotent on the reference id: run again after a lost
        // connection, it is refused by the row's key (a fresh random id, so only the first
        // run's row can hold it) and writes nothing; that row is found below. Why nothing was
        // inserted is looked up only then, off the common path.
        for _ in 0..3 {
            let inserted = self.write_autocommit(|tx| {
                tx.exec_unless_duplicate(statement, params, "project_references_pkey")
            })?;
            if inserted == Some(1) {
                return Ok(reference);
            }
            let (stored, active, live) = self.read_autocommit(|tx| {
                let stored = tx
                    .opt(
                        "SELECT 1 FROM project_references WHERE id = $1",
                        &[&reference.id],
                    )?
                    .is_some();
                let active = match actor {
                    Some(actor) => clients::client_active(tx, actor, now)?,
                    None => true,
                };
                let live = is_live_project(tx, organization_id, &reference.project_id, now, false)?;
                Ok((stored, active, live))
            })?;
            if stored {
                return Ok(reference);
            }
            if !active {
                return Err(Error::Unauthenticated);
            }
            if !live {
                return Err(unknown_project());
            }
            // Refused, yet caller and project are as required now: they changed in between
            // (a deletion cancelled); try again.
        }
        Err(Error::Storage(format!(
            "reference {} was refused three times while its caller and project were valid",
            reference.id
        )))
    }

    pub(crate) fn get_reference(&self, organization_id: &str, id: &str) -> Result<Reference> {
        let Some(id) = canonical_uuid(id) else {
            return Err(Error::NotFound(Resource::Reference));
        };
        let now = self.now();
        self.read(|tx| fetch_reference(tx, organization_id, &id, now, false))
    }

    pub(crate) fn list_references(
        &self,
        organization_id: &str,
        project_id: Option<&str>,
    ) -> Result<Vec<Reference>> {
        self.list_references_page(organization_id, project_id, &ListOptions::default())
            .map(|page| page.items)
    }

    pub(crate) fn list_references_page(
        &self,
        organization_id: &str,
        project_id: Option<&str>,
        options: &ListOptions,
    ) -> Result<Page<Reference>> {
        let window = Window::new(ListKind::References, options)?;
        let now = self.now();
        let items = self.read(|tx| {
            if let Some(p) = project_id {
                if !is_live_project(tx, organization_id, p, now, false)? {
                    return Err(Error::NotFound(Resource::Project));
                }
            }
            let millis = now.millis();
            let (scope, params): (&str, Vec<&(dyn ToSql + Sync)>) = match &project_id {
                None => ("r.organization_id = $1", vec![&organization_id, &millis]),
                Some(p) => ("r.project_id = $3", vec![&organization_id, &millis, p]),
            };
            query_page(
                tx,
                &window,
                &format!(
                    "SELECT {REFERENCE_COLUMNS} FROM project_references r
                     JOIN projects p ON p.id = r.project_id
                     WHERE {scope} AND p.organization_id = $1
                       AND (p.delete_at IS NULL OR p.delete_at > $2)"
                ),
                "r",
                &params,
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
            let before = fetch_reference(tx, organization_id, &id, now, true)?;
            let r = apply_reference_changes(&before, &valid, now);
            tx.exec(
                "UPDATE project_references SET title = $2, description = $3, date = $4,
                        updated_at = $5
                 WHERE id = $1",
                &[
                    &r.id,
                    &r.title,
                    &r.description,
                    &r.date.millis(),
                    &now.millis(),
                ],
            )?;
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
            let r = fetch_reference(tx, organization_id, &id, now, true)?;
            tx.exec("DELETE FROM project_references WHERE id = $1", &[&id])?;
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
