//! What the resource operations return beyond the resources themselves: a created project or
//! client with its secret (returned once), and an organization with its first root client.

use serde::Serialize;

use crate::domain::model::{Client, Organization, Project};
use crate::domain::secret::Secret;
use crate::domain::time::Timestamp;

/// What bootstrap returns: the organization and its first root client with the secret,
/// serialized as `{"organization":{…},"client":{…,"secret":"sec_…"}}`. The only place that
/// secret ever appears.
#[derive(Debug, Serialize)]
pub struct Bootstrap {
    pub organization: Organization,
    pub client: CreatedClient,
}

/// A client as returned by its create call: the client read plus its secret, once.
#[derive(Debug, Serialize)]
pub struct CreatedClient {
    #[serde(flatten)]
    pub client: Client,
    pub secret: Secret,
}

/// A created project with its default client's id and secret (returned once), serialized as
/// the project read plus `"client": {"id", "secret"}`.
#[derive(Debug, Serialize)]
pub struct CreatedProject {
    #[serde(flatten)]
    pub project: Project,
    pub client: DefaultClient,
}

/// The `write` client created with a project.
#[derive(Debug, Serialize)]
pub struct DefaultClient {
    pub id: String,
    pub secret: Secret,
}

/// What a rotation returns: the client, its new secret (once) and when the previous secret
/// stops working (None: at once, a rotation without grace; docs/lifecycle.md#rotation).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RotatedClient {
    #[serde(flatten)]
    pub client: Client,
    pub secret: Secret,
    pub previous_secret_expires_at: Option<Timestamp>,
}
