//! Opening a database: what it must be before anything is written to it, and the schema,
//! created or migrated forward under a transaction-scoped advisory lock so several nodes
//! opening one database at once migrate it once.

use postgres::{Client, Transaction};
use rand::TryRngCore;

use super::schema;
use super::PgResult;
use crate::domain::secret::CheckKey;
use crate::error::{Error, Result};

/// The advisory lock key every opcore node takes while migrating (`opco` in ASCII).
pub(super) const MIGRATION_LOCK: i64 = 0x6f70_636f;

/// Whether `opcore_schema` exists, read from `pg_tables` with the statement's snapshot: a
/// name lookup (`to_regclass`) may answer from a cache that still misses a table another node
/// created while this one waited for the migration lock.
const HAS_VERSION_TABLE: &str = "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables
     WHERE schemaname = current_schema() AND tablename = 'opcore_schema')";

/// The version recorded in `opcore_schema`, or None when the table does not exist.
fn recorded_version(client: &mut Client) -> Result<Option<i64>> {
    let exists: bool = client
        .query_one("SELECT to_regclass('opcore_schema') IS NOT NULL", &[])
        .pg()?
        .get(0);
    if !exists {
        return Ok(None);
    }
    let row = client
        .query_opt("SELECT max(version) FROM opcore_schema", &[])
        .pg()?;
    Ok(row.and_then(|r| r.get::<_, Option<i64>>(0)))
}

/// Checks what the database holds, then creates or migrates the schema.
///
/// A database whose schema version is newer than this build's, one with tables but no opcore
/// schema record, or a damaged record is an [`Error::Open`] naming `shown` (the URL without
/// its password), and nothing is written.
pub(super) fn migrate(client: &mut Client, shown: &str) -> Result<()> {
    let target = schema::current_version();
    let check = |version: Option<i64>, client: &mut Client| -> Result<()> {
        match version {
            Some(v) if v > target => Err(Error::Open(format!(
                "{shown}: the database has opcore schema version {v}, newer than this opcore \
                 supports ({target}); upgrade opcore"
            ))),
            Some(v) if v < schema::BASELINE_VERSION => Err(Error::Open(format!(
                "{shown}: the database has opcore schema version {v}, which no opcore writes \
                 on PostgreSQL (it must be between {} and {target}); the database is damaged \
                 or was changed by another program",
                schema::BASELINE_VERSION
            ))),
            Some(_) => Ok(()),
            None => {
                let tables: i64 = client
                    .query_one(
                        "SELECT count(*) FROM information_schema.tables
                         WHERE table_schema = current_schema()",
                        &[],
                    )
                    .pg()?
                    .get(0);
                if tables > 0 {
                    Err(Error::Open(format!(
                        "{shown}: the database's schema has tables but is not an opcore store \
                         (no opcore_schema version); use an empty database"
                    )))
                } else {
                    Ok(())
                }
            }
        }
    };
    let version = recorded_version(client)?;
    check(version, client)?;
    if version == Some(target) {
        return Ok(());
    }
    // Another node may be migrating too: take the lock, then read the version again.
    let mut tx = client.transaction().pg()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .pg()?;
    let version = {
        let exists: bool = tx.query_one(HAS_VERSION_TABLE, &[]).pg()?.get(0);
        if exists {
            tx.query_one("SELECT max(version) FROM opcore_schema", &[])
                .pg()?
                .get::<_, Option<i64>>(0)
        } else {
            None
        }
    };
    let from = match version {
        Some(v) if v > target || v < schema::BASELINE_VERSION => {
            drop(tx);
            return check(Some(v), client);
        }
        Some(v) => v,
        None => {
            create_baseline(&mut tx, shown)?;
            schema::BASELINE_VERSION
        }
    };
    migrate_forward(&mut tx, from)?;
    tx.commit().pg()
}

/// Creates the schema at [`schema::BASELINE_VERSION`] in an empty database, with a new check
/// key, inside `tx`.
pub(super) fn create_baseline(tx: &mut Transaction<'_>, shown: &str) -> Result<()> {
    tx.batch_execute(schema::BASELINE).pg()?;
    let mut key = [0u8; 32];
    rand::rngs::OsRng
        .try_fill_bytes(&mut key)
        .map_err(|e| Error::Open(format!("{shown}: no randomness for the check key ({e})")))?;
    tx.execute(
        "INSERT INTO store_keys (name, key) VALUES ('secret_check', $1)",
        &[&&key[..]],
    )
    .pg()?;
    tx.batch_execute(&format!(
        "CREATE TABLE opcore_schema (version BIGINT NOT NULL);
         INSERT INTO opcore_schema (version) VALUES ({});",
        schema::BASELINE_VERSION
    ))
    .pg()
}

/// Runs the schema steps from version `from` to this build's, inside `tx`.
pub(super) fn migrate_forward(tx: &mut Transaction<'_>, from: i64) -> Result<()> {
    let skip = usize::try_from(from - schema::BASELINE_VERSION).unwrap_or(usize::MAX);
    for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(skip) {
        tx.batch_execute(sql).pg()?;
        let next = schema::BASELINE_VERSION + i as i64 + 1;
        tx.execute("UPDATE opcore_schema SET version = $1", &[&next])
            .pg()?;
    }
    Ok(())
}

/// The store's check key, written when the schema was created.
pub(super) fn load_check_key(client: &mut Client, shown: &str) -> Result<CheckKey> {
    let row = client
        .query_opt(
            "SELECT key FROM store_keys WHERE name = 'secret_check'",
            &[],
        )
        .pg()?;
    row.and_then(|r| r.get::<_, Option<Vec<u8>>>(0))
        .as_deref()
        .and_then(CheckKey::from_bytes)
        .ok_or_else(|| {
            Error::Open(format!(
                "{shown}: the store's secret check key is missing or damaged"
            ))
        })
}
