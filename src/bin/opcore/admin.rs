//! Admin subcommands: the store's own operations (the same rules as the Manage API, without
//! HTTP or credentials), scoped to one organization and printing JSON.

use clap::{Args, Subcommand};
use opcore::{ClientType, ListOptions, NewClient, NewProject, NewReference, Store};

use crate::{print_json, CliError};

/// A resource command and the organization it acts in.
#[derive(Args)]
pub struct Scoped<C: Subcommand> {
    /// The organization's id (see `opcore organizations list`); may be left out when the
    /// store holds exactly one organization.
    #[arg(long, value_name = "ORG_ID", global = true)]
    pub org: Option<String>,
    #[command(subcommand)]
    pub command: C,
}

#[derive(Subcommand)]
pub enum OrganizationCommand {
    /// Every organization, oldest first.
    List,
    /// One organization.
    Get {
        /// The organization's id.
        id: String,
    },
}

#[derive(Subcommand)]
pub enum ProjectCommand {
    /// Live projects (not those scheduled for deletion), newest first.
    List,
    /// One project, also while scheduled for deletion.
    Get {
        /// The project's id, e.g. `my-project`.
        id: String,
    },
    /// Create a project and its default `write` client; prints the client's secret once.
    Create {
        /// The project's name; its id is derived from it (`My Project` → `my-project`).
        #[arg(long)]
        name: String,
        /// The project's primary URL, e.g. https://example.com.
        #[arg(long)]
        domain: Option<String>,
        /// An allowed CORS origin, bare host or wildcard (repeat for several).
        #[arg(long = "cors", value_name = "ORIGIN")]
        cors: Vec<String>,
        /// Enable cross-domain tracking.
        #[arg(long)]
        cross_domain: bool,
        /// A project type (repeat for several).
        #[arg(long = "type", value_name = "TYPE", value_parser = ["website", "app", "backend"])]
        types: Vec<String>,
    },
    /// Schedule a project for deletion after the grace period; prints its `deleteAt`.
    Delete {
        /// The project's id.
        id: String,
    },
}

#[derive(Subcommand)]
pub enum ClientCommand {
    /// Clients of the organization, newest first.
    List {
        /// Only the clients of this project.
        #[arg(long, value_name = "PROJECT_ID")]
        project: Option<String>,
    },
    /// One client (never its secret).
    Get {
        /// The client's id (a UUID).
        id: String,
    },
    /// Create a client; prints its secret once.
    Create {
        /// The client's name.
        #[arg(long)]
        name: String,
        /// The project it belongs to (none: an organization-level client).
        #[arg(long, value_name = "PROJECT_ID")]
        project: Option<String>,
        /// What it may call: `write` (Track), `read` (Export, Insights) or `root`
        /// (everything, including the Manage API).
        #[arg(long = "type", value_name = "TYPE", default_value = "write",
              value_parser = ["read", "write", "root"])]
        client_type: String,
        /// Let the client track without a secret from any origin (not settable through the
        /// Manage API).
        #[arg(long)]
        ignore_cors_and_secret: bool,
        /// When its credentials stop working (a future instant, in the formats of a
        /// reference's `--datetime`); default never.
        #[arg(long, value_name = "WHEN")]
        expires_at: Option<String>,
    },
    /// Replace a client's secret; prints the new one once. The old one keeps working for
    /// `--grace-seconds` (docs/lifecycle.md).
    Rotate {
        /// The client's id.
        id: String,
        /// How long the old secret keeps working, 0 to 2592000 (30 days); 0: it stops at once.
        #[arg(long, value_name = "N", default_value_t = 0)]
        grace_seconds: u64,
    },
    /// Delete a client; it loses access at once.
    Delete {
        /// The client's id.
        id: String,
    },
}

#[derive(Subcommand)]
pub enum ReferenceCommand {
    /// References of the organization's projects, newest first.
    List {
        /// Only the references of this project.
        #[arg(long, value_name = "PROJECT_ID")]
        project: Option<String>,
    },
    /// One reference.
    Get {
        /// The reference's id (a UUID).
        id: String,
    },
    /// Create a reference on a project's timeline.
    Create {
        /// The project it marks.
        #[arg(long, value_name = "PROJECT_ID")]
        project: String,
        /// What happened.
        #[arg(long)]
        title: String,
        /// More detail.
        #[arg(long)]
        description: Option<String>,
        /// When: RFC 3339 with a time zone, or YYYY-MM-DD (default: now).
        #[arg(long)]
        datetime: Option<String>,
    },
    /// Delete a reference.
    Delete {
        /// The reference's id.
        id: String,
    },
}

/// `opcore audit`: which entries of which organization's audit log.
#[derive(Args)]
pub struct AuditArgs {
    /// The organization's id; may be left out when the store holds exactly one organization.
    #[arg(long, value_name = "ORG_ID")]
    pub org: Option<String>,
    /// Only the entries about this resource (a project, client, reference or organization id).
    #[arg(long, value_name = "ID")]
    pub resource_id: Option<String>,
    /// At most this many entries (1–1000); without it, every entry.
    #[arg(long, value_name = "N")]
    pub limit: Option<u32>,
    /// Continue after the entries of an earlier page (its `nextCursor`).
    #[arg(long)]
    pub cursor: Option<String>,
}

/// The organization a command acts in: the one named by `--org` (which must exist), or the
/// only one in the store.
pub fn organization(store: &Store, org: Option<&str>) -> Result<String, CliError> {
    if let Some(id) = org {
        return store
            .get_organization(id)
            .map(|o| o.id)
            .map_err(|e| CliError::new(format!("{e}: `{id}`")));
    }
    let orgs = store.list_organizations()?;
    match orgs.as_slice() {
        [only] => Ok(only.id.clone()),
        [] => Err(CliError::new(
            "this store holds no organization yet; create one with `opcore init --name NAME`",
        )),
        many => Err(CliError::new(format!(
            "this store holds {} organizations; choose one with --org ({})",
            many.len(),
            many.iter()
                .map(|o| o.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Adds the id the user gave to a not-found message, e.g. ``Project not found: `x` ``.
fn naming(id: &str) -> impl FnOnce(opcore::Error) -> CliError + '_ {
    move |e| match e {
        opcore::Error::NotFound(_) => CliError::new(format!("{e}: `{id}`")),
        other => other.into(),
    }
}

pub fn organizations(store: &Store, cmd: OrganizationCommand) -> Result<(), CliError> {
    match cmd {
        OrganizationCommand::List => print_json(&store.list_organizations()?),
        OrganizationCommand::Get { id } => {
            print_json(&store.get_organization(&id).map_err(naming(&id))?)
        }
    }
}

pub fn projects(store: &Store, org: &str, cmd: ProjectCommand) -> Result<(), CliError> {
    match cmd {
        ProjectCommand::List => print_json(&store.list_projects(org)?),
        ProjectCommand::Get { id } => {
            print_json(&store.get_project(org, &id).map_err(naming(&id))?)
        }
        ProjectCommand::Create {
            name,
            domain,
            cors,
            cross_domain,
            types,
        } => {
            let input = NewProject {
                name,
                domain,
                cors,
                cross_domain,
                types,
            };
            print_json(&store.create_project(org, &input)?)
        }
        ProjectCommand::Delete { id } => {
            let delete_at = store.delete_project(org, &id).map_err(naming(&id))?;
            print_json(&serde_json::json!({ "success": true, "deleteAt": delete_at }))
        }
    }
}

pub fn clients(store: &Store, org: &str, cmd: ClientCommand) -> Result<(), CliError> {
    match cmd {
        ClientCommand::List { project } => print_json(
            &store
                .list_clients(org, project.as_deref())
                .map_err(naming(project.as_deref().unwrap_or_default()))?,
        ),
        ClientCommand::Get { id } => print_json(&store.get_client(org, &id).map_err(naming(&id))?),
        ClientCommand::Create {
            name,
            project,
            client_type,
            ignore_cors_and_secret,
            expires_at,
        } => {
            let client_type = ClientType::parse(&client_type)
                .ok_or_else(|| CliError::new(format!("unknown client type `{client_type}`")))?;
            let input = NewClient {
                name,
                project_id: project,
                client_type,
                ignore_cors_and_secret,
                expires_at,
                ..NewClient::default()
            };
            print_json(&store.create_client(org, &input)?)
        }
        ClientCommand::Rotate { id, grace_seconds } => print_json(
            &store
                .rotate_client(org, &id, grace_seconds)
                .map_err(naming(&id))?,
        ),
        ClientCommand::Delete { id } => {
            store.delete_client(org, &id).map_err(naming(&id))?;
            print_json(&serde_json::json!({ "success": true }))
        }
    }
}

pub fn references(store: &Store, org: &str, cmd: ReferenceCommand) -> Result<(), CliError> {
    match cmd {
        ReferenceCommand::List { project } => print_json(
            &store
                .list_references(org, project.as_deref())
                .map_err(naming(project.as_deref().unwrap_or_default()))?,
        ),
        ReferenceCommand::Get { id } => {
            print_json(&store.get_reference(org, &id).map_err(naming(&id))?)
        }
        ReferenceCommand::Create {
            project,
            title,
            description,
            datetime,
        } => {
            let input = NewReference {
                project_id: project,
                title,
                description,
                datetime,
            };
            print_json(&store.create_reference(org, &input)?)
        }
        ReferenceCommand::Delete { id } => {
            store.delete_reference(org, &id).map_err(naming(&id))?;
            print_json(&serde_json::json!({ "success": true }))
        }
    }
}

pub fn audit(store: &Store, org: &str, args: AuditArgs) -> Result<(), CliError> {
    let options = ListOptions {
        limit: args.limit,
        cursor: args.cursor,
    };
    let page = store.list_audit(org, args.resource_id.as_deref(), &options)?;
    let mut body = serde_json::json!({ "data": page.items });
    if let Some(next) = page.next_cursor {
        body["nextCursor"] = next.into();
    }
    print_json(&body)
}
