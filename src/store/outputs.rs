//! What the resource operations return beyond the resources themselves: a created project or
//! client with its secret (returned once), and an organization with its first root client.

use serde::Serialize;

use crate::domain::model::{Client, Organization, Project};
use crate::domain::secret::Secret;

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
