//! The resources opcore keeps, as returned to callers (JSON field names in camelCase).

use serde::{Deserialize, Serialize};

use super::tier::Tier;
use super::time::Timestamp;

/// An organization: the scope of every read and write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    pub id: String,
    pub name: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What a project is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProjectType {
    Website,
    App,
    Backend,
}

impl ProjectType {
    pub fn as_str(self) -> &'static str {
        match self {
            ProjectType::Website => "website",
            ProjectType::App => "app",
            ProjectType::Backend => "backend",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "website" => Some(ProjectType::Website),
            "app" => Some(ProjectType::App),
            "backend" => Some(ProjectType::Backend),
            _ => None,
        }
    }
}

/// A project, as read (never contains a secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    pub id: String,
    pub name: String,
    pub organization_id: String,
    pub domain: Option<String>,
    pub cors: Vec<String>,
    pub cross_domain: bool,
    pub allow_unsafe_revenue_tracking: bool,
    pub filters: serde_json::Value,
    pub types: Vec<ProjectType>,
    pub events_count: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub delete_at: Option<Timestamp>,
}

/// Access level of an API client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientType {
    Read,
    Write,
    Root,
}

impl ClientType {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientType::Read => "read",
            ClientType::Write => "write",
            ClientType::Root => "root",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "read" => Some(ClientType::Read),
            "write" => Some(ClientType::Write),
            "root" => Some(ClientType::Root),
            _ => None,
        }
    }
}

/// An API client, as read. The secret is never part of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Client {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub client_type: ClientType,
    pub project_id: Option<String>,
    pub organization_id: String,
    pub ignore_cors_and_secret: bool,
    /// Where authorization codes may be sent (docs/oauth.md), matched exactly; empty by default.
    pub redirect_uris: Vec<String>,
    /// The rate-limit tier; None: the per-family limits of docs/security.md apply.
    pub tier: Option<Tier>,
    /// When the client's credentials stop working (docs/lifecycle.md#expiry); None: never.
    pub expires_at: Option<Timestamp>,
    /// The last successful authentication, kept to within a minute
    /// (docs/lifecycle.md#last-use); None: never used.
    pub last_used_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A marker on a project's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reference {
    pub id: String,
    pub project_id: String,
    pub title: String,
    pub description: Option<String>,
    pub date: Timestamp,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What an audit entry records (docs/lifecycle.md#audit-log).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AuditAction {
    #[serde(rename = "organization.create")]
    OrganizationCreate,
    #[serde(rename = "project.create")]
    ProjectCreate,
    #[serde(rename = "project.update")]
    ProjectUpdate,
    #[serde(rename = "project.delete")]
    ProjectDelete,
    #[serde(rename = "project.restore")]
    ProjectRestore,
    #[serde(rename = "project.purge")]
    ProjectPurge,
    #[serde(rename = "client.create")]
    ClientCreate,
    #[serde(rename = "client.update")]
    ClientUpdate,
    #[serde(rename = "client.rotate")]
    ClientRotate,
    #[serde(rename = "client.delete")]
    ClientDelete,
    #[serde(rename = "reference.create")]
    ReferenceCreate,
    #[serde(rename = "reference.update")]
    ReferenceUpdate,
    #[serde(rename = "reference.delete")]
    ReferenceDelete,
}

impl AuditAction {
    /// Every action, in the order of docs/lifecycle.md#audit-log.
    pub const ALL: [AuditAction; 13] = [
        AuditAction::OrganizationCreate,
        AuditAction::ProjectCreate,
        AuditAction::ProjectUpdate,
        AuditAction::ProjectDelete,
        AuditAction::ProjectRestore,
        AuditAction::ProjectPurge,
        AuditAction::ClientCreate,
        AuditAction::ClientUpdate,
        AuditAction::ClientRotate,
        AuditAction::ClientDelete,
        AuditAction::ReferenceCreate,
        AuditAction::ReferenceUpdate,
        AuditAction::ReferenceDelete,
    ];

    /// The action's name, e.g. `client.rotate`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::OrganizationCreate => "organization.create",
            AuditAction::ProjectCreate => "project.create",
            AuditAction::ProjectUpdate => "project.update",
            AuditAction::ProjectDelete => "project.delete",
            AuditAction::ProjectRestore => "project.restore",
            AuditAction::ProjectPurge => "project.purge",
            AuditAction::ClientCreate => "client.create",
            AuditAction::ClientUpdate => "client.update",
            AuditAction::ClientRotate => "client.rotate",
            AuditAction::ClientDelete => "client.delete",
            AuditAction::ReferenceCreate => "reference.create",
            AuditAction::ReferenceUpdate => "reference.update",
            AuditAction::ReferenceDelete => "reference.delete",
        }
    }

    /// The action named `s`, if any.
    pub fn parse(s: &str) -> Option<AuditAction> {
        AuditAction::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// The type of resource the action changes: `organization`, `project`, `client` or
    /// `reference`.
    pub fn resource_type(self) -> &'static str {
        let name = self.as_str();
        &name[..name.find('.').unwrap_or(name.len())]
    }
}

/// One entry of an organization's audit log: who changed what, never a secret's value
/// (docs/lifecycle.md#audit-log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub id: String,
    pub at: Timestamp,
    /// The client whose Manage call made the change; None for the CLI, bootstrap and purge.
    pub actor_client_id: Option<String>,
    pub action: AuditAction,
    /// `organization`, `project`, `client` or `reference` (the action's prefix).
    pub resource_type: String,
    pub resource_id: String,
    /// The project the resource belongs to (the project itself for project actions), if any.
    pub project_id: Option<String>,
    /// The names of the fields that changed (JSON names, e.g. `expiresAt`); a secret's name
    /// (`secret`) may appear, never its value.
    pub changes: Vec<String>,
}
