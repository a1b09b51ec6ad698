//! Copying an SQLite store into an empty PostgreSQL database (`opcore migrate`,
//! docs/scale-out.md#migrating-from-sqlite). The SQLite side reads every table of the file in
//! one read-only snapshot (`store::sqlite::export`) and hands each row to a [`Sink`]; the
//! PostgreSQL side (`store::postgres::import`) writes them in one transaction, after checking
//! the target is empty. Rows travel as backend-neutral [`Value`]s, so neither side names the
//! other's database.

use std::path::Path;

use serde::Serialize;

use crate::error::Result;

/// One column value as the SQLite file stores it. No `Debug`: a row may hold a secret's hash
/// or the store's check key.
pub(crate) enum Value {
    Null,
    Integer(i64),
    Text(String),
    Blob(Vec<u8>),
}

/// Where the rows of a copy go, table by table, in an order that satisfies the foreign keys.
pub(crate) trait Sink {
    /// The rows that follow belong to `table`, with these columns.
    fn table(&mut self, table: &str, columns: &[String]) -> Result<()>;
    /// One row of the current table, a value per column.
    fn row(&mut self, values: &[Value]) -> Result<()>;
}

/// What `opcore migrate` copied: the rows of each table, in the order they were written. Holds
/// no values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MigrationSummary {
    /// The source file, as given.
    pub from: String,
    /// The target database's URL, without its password.
    pub to: String,
    /// The schema version of both stores.
    pub schema_version: i64,
    /// Each table and how many rows were copied into it.
    pub tables: Vec<TableCount>,
}

/// One table of a [`MigrationSummary`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableCount {
    pub table: String,
    pub rows: u64,
}

/// Copies the SQLite store at `from` into the PostgreSQL database at `to`, which must be empty
/// (no tables, or an opcore schema of this version with no rows): organizations, projects
/// (scheduled for deletion too), clients with their secret hashes, check values and rotation
/// state, references, OAuth codes, grants and tokens, the issued ids and id counters, the audit
/// log, the access and data revisions and the store's check key — so every client keeps
/// authenticating with its secret, and no id is issued twice.
///
/// `from` is opened read-only and never written; a file that is not an opcore store, or whose
/// schema version is not this build's, is an [`Error::Open`](crate::Error::Open). The copy is
/// one PostgreSQL transaction: a non-empty target ([`Error::Open`](crate::Error::Open), "the
/// target database is not empty …") or any failure leaves the target as it was.
pub fn migrate_sqlite_to_postgres(from: &Path, to: &str) -> Result<MigrationSummary> {
    let source = super::sqlite::export::Source::open(from)?;
    let (to, tables) =
        super::postgres::import::import(to, source.schema_version(), |sink| source.copy(sink))?;
    Ok(MigrationSummary {
        from: from.display().to_string(),
        to,
        schema_version: source.schema_version(),
        tables: tables
            .into_iter()
            .map(|(table, rows)| TableCount { table, rows })
            .collect(),
    })
}
