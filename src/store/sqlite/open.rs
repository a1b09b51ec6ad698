//! Opening the file: each connection's settings, what the file must be before anything is
//! written to it, and the migrations.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::{schema, SqlResult};
use crate::domain::secret::CheckKey;
use crate::error::{Error, Result};
use crate::options::Synchronous;

pub(super) fn open_connection(
    path: &Path,
    sync: Synchronous,
    busy_timeout: Duration,
) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| {
        Error::Open(format!(
            "{}: cannot open or create the file ({e})",
            path.display()
        ))
    })?;
    if conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false) {
        return Err(Error::Open(format!(
            "{}: the file is read-only",
            path.display()
        )));
    }
    conn.busy_timeout(busy_timeout)
        .map_err(|e| classify(path, e))?;
    conn.set_prepared_statement_cache_capacity(64);
    let sync = match sync {
        Synchronous::Full => "FULL",
        Synchronous::Normal => "NORMAL",
    };
    conn.execute_batch(&format!(
        "PRAGMA foreign_keys = ON; PRAGMA synchronous = {sync};"
    ))
    .map_err(|e| classify(path, e))?;
    Ok(conn)
}

/// Errors met while opening name the file and what is wrong with it.
fn classify(path: &Path, e: rusqlite::Error) -> Error {
    let shown = path.display();
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => {
            Error::Open(format!("{shown}: the file is not an SQLite database"))
        }
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            Error::Busy
        }
        _ => Error::Open(format!("{shown}: cannot read the file ({e})")),
    }
}

/// Checks what the file is before writing anything to it, then migrates it forward.
pub(super) fn migrate(conn: &Connection, path: &Path) -> Result<()> {
    let shown = path.display();
    let probe = |sql: &str| -> Result<i64> {
        conn.query_row(sql, [], |r| r.get(0))
            .map_err(|e| classify(path, e))
    };
    let app_id = probe("PRAGMA application_id")?;
    let version = probe("PRAGMA user_version")?;
    let tables = probe("SELECT count(*) FROM sqlite_master")?;
    let target = schema::current_version();
    if app_id != i64::from(schema::APPLICATION_ID) && !(app_id == 0 && tables == 0) {
        return Err(Error::Open(format!(
            "{shown}: the file is an SQLite database but not an opcore store"
        )));
    }
    if version > target {
        return Err(Error::Open(format!(
            "{shown}: the store has schema version {version}, newer than this opcore \
             supports ({target}); upgrade opcore"
        )));
    }
    if version < 0 {
        return Err(Error::Open(format!(
            "{shown}: the store has schema version {version}, which no opcore writes \
             (PRAGMA user_version must be between 1 and {target}); the file is damaged or \
             was changed by another program"
        )));
    }
    if version == 0 && tables > 0 {
        return Err(Error::Open(format!(
            "{shown}: the file is tagged as an opcore store and has tables, but its schema \
             version is 0 (PRAGMA user_version must be between 1 and {target}); the file is \
             damaged or was changed by another program"
        )));
    }
    if version > 0 && app_id != i64::from(schema::APPLICATION_ID) {
        return Err(Error::Open(format!(
            "{shown}: the file is an empty SQLite database with schema version {version} but \
             not tagged as an opcore store"
        )));
    }
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .sql()?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::Open(format!(
            "{shown}: cannot switch the file to WAL mode (got {mode})"
        )));
    }
    if version == target {
        return Ok(());
    }
    // Another process may be migrating too: take the write lock, then re-read the version.
    conn.execute_batch("BEGIN IMMEDIATE").sql()?;
    let result = (|| -> Result<()> {
        let current: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .sql()?;
        for (from, sql) in schema::MIGRATIONS.iter().enumerate().skip(current as usize) {
            conn.execute_batch(sql).sql()?;
            conn.execute_batch(&format!("PRAGMA user_version = {}", from + 1))
                .sql()?;
        }
        conn.execute_batch(&format!(
            "PRAGMA application_id = {}",
            schema::APPLICATION_ID
        ))
        .sql()?;
        Ok(())
    })();
    match result {
        Ok(()) => conn.execute_batch("COMMIT").sql(),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// The store's check key, written by the migration that introduced check values.
pub(super) fn load_check_key(conn: &Connection, path: &Path) -> Result<CheckKey> {
    let bytes: Option<Vec<u8>> = conn
        .query_row(
            "SELECT key FROM store_keys WHERE name = 'secret_check'",
            [],
            |r| r.get(0),
        )
        .optional()
        .sql()?;
    bytes
        .as_deref()
        .and_then(CheckKey::from_bytes)
        .ok_or_else(|| {
            Error::Open(format!(
                "{}: the store's secret check key is missing or damaged",
                path.display()
            ))
        })
}
