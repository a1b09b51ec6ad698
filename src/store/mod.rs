//! Storage: [`Store`], the facade hosts hold (`facade`); what callers pass in (`inputs`); lists
//! and their cursors (`lists`); what the operations return (`outputs`); the backends, SQLite
//! (`sqlite`) and PostgreSQL (`postgres`, Cargo feature `postgres`), both crate-private, and
//! the enum of the two a `Store` holds (`backend`); what the two decide alike around their SQL
//! (`common`). Nothing outside `sqlite` and `postgres`
//! writes SQL or names a database.

pub(crate) mod backend;
pub(crate) mod common;
mod facade;
pub(crate) mod inputs;
mod lists;
#[cfg(feature = "postgres")]
mod migrate;
mod outputs;
mod pages;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
pub(crate) mod records;
pub(crate) mod roles;
pub(crate) mod sqlite;
#[cfg(test)]
mod suite;

pub use facade::Store;
pub use inputs::MAX_GRACE_SECONDS;
pub use inputs::{
    ClientChanges, NewClient, NewProject, NewReference, Problems, ProjectChanges, ReferenceChanges,
};
pub use lists::{limit_error, ListOptions, Page, MAX_LIMIT};
#[cfg(feature = "postgres")]
pub use migrate::{migrate_sqlite_to_postgres, MigrationSummary, TableCount};
pub use outputs::{Bootstrap, CreatedClient, CreatedProject, DefaultClient, RotatedClient};
pub(crate) use records::{
    ClientCredentials, CodeClaim, NewCode, NewGrant, NewToken, Rotation, TokenRecord,
};
