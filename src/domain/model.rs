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
