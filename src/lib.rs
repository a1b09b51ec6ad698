//! # opcore
//!
//! An embedded storage-and-auth core: an analytics platform's organizations, projects, API
//! clients and references in one SQLite file; client-credential authentication, authorization
//! by client type and rate limiting; and the whole Manage API as a function
//! ([`manage::handle`]), a C call (`opc_handle`) and an HTTP server (`opcore serve`).
//!
//! ```no_run
//! use opcore::{NewProject, Options, Store};
//!
//! let store = Store::open("opcore.db", Options::default())?;
//! let boot = store.create_organization("Acme")?;
//! let project = store.create_project(
//!     &boot.organization.id,
//!     &NewProject { name: "My Project".into(), ..Default::default() },
//! )?;
//! assert_eq!(project.project.id, "my-project");
//! # Ok::<(), opcore::Error>(())
//! ```

pub mod auth;
pub mod domain;
mod error;
pub mod ffi;
pub mod manage;
pub mod options;
#[cfg(feature = "server")]
pub mod server;
pub mod store;

pub use auth::oauth::{AuthorizeError, AuthorizeRequest};
pub use auth::tokens::{BearerRequest, TokenInfo};
pub use auth::{AuthError, AuthRequest, Principal};
pub use domain::access::Family;
pub use domain::clock::{Clock, ManualClock, SystemClock};
pub use domain::model::{
    AuditAction, AuditEntry, Client, ClientType, Organization, Project, ProjectType, Reference,
};
pub use domain::secret::Secret;
pub use domain::tier::Tier;
pub use domain::time::Timestamp;
pub use error::{Error, Resource, Result};
pub use options::{OnOutage, Options, RateLimit, RateLimitUrl, RateLimits, Synchronous};
#[cfg(feature = "postgres")]
pub use store::{migrate_sqlite_to_postgres, MigrationSummary, TableCount};
pub use store::{
    Bootstrap, ClientChanges, CreatedClient, CreatedProject, ListOptions, NewClient, NewProject,
    NewReference, Page, ProjectChanges, ReferenceChanges, RotatedClient, Store,
};
