//! The library's error type: one enum for every public operation of [`crate::Store`].

use crate::domain::validate::FieldError;

/// Which kind of resource a [`Error::NotFound`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Organization,
    Project,
    Client,
    Reference,
}

impl Resource {
    /// The message a caller sees, e.g. `Project not found`.
    pub fn not_found_message(self) -> &'static str {
        match self {
            Resource::Organization => "Organization not found",
            Resource::Project => "Project not found",
            Resource::Client => "Client not found",
            Resource::Reference => "Reference not found",
        }
    }
}

/// Everything a store operation can fail with. No variant ever carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input broke one or more rules; every offending field is listed.
    #[error("invalid input: {}", join(.0))]
    Validation(Vec<FieldError>),
    /// The resource does not exist in the caller's organization (or is past its deletion time).
    #[error("{}", .0.not_found_message())]
    NotFound(Resource),
    /// The request is well-formed but refused by a rule on the stored state.
    #[error("{0}")]
    Conflict(String),
    /// The client a write acts for ([`crate::Store::acting_as`]) no longer exists (or its
    /// project is past its deletion time); nothing was changed. The Manage API answers 401
    /// `Invalid client credentials`.
    #[error("the calling client no longer exists")]
    Unauthenticated,
    /// The options given to `open` are invalid.
    #[error("invalid options: {0}")]
    Options(String),
    /// The file cannot be opened as an opcore store (not SQLite, not opcore, newer schema,
    /// unwritable). The file is left untouched.
    #[error("cannot open store: {0}")]
    Open(String),
    /// Another connection held the database lock for longer than the busy timeout, even
    /// after retries.
    #[error("database is busy: another connection held the lock too long")]
    Busy,
    /// The storage failed in a way the caller cannot fix by changing the request.
    #[error("storage failure: {0}")]
    Storage(String),
    /// The storage cannot be reached: the PostgreSQL server is down, restarting or out of
    /// reach (docs/scale-out.md#outages). The detail is for logs. Try again later: the store
    /// reconnects by itself. A write whose connection was lost while it committed may have
    /// been applied. The Manage API answers 503 `Storage unavailable`.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

fn join(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
