//! Reading a whole store for `opcore migrate` (src/store/migrate.rs): the file is opened
//! read-only, checked like `open` checks it, and every table is read in one snapshot.

use std::path::Path;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use super::{schema, SqlResult};
use crate::error::{Error, Result};
use crate::store::migrate::{Sink, Value};

/// Every table of the current schema, in an order that satisfies the foreign keys, with the
/// order its rows are copied in (organizations and the audit log keep their insertion order).
/// `sqlite_sequence` (the audit log's AUTOINCREMENT counter) is not copied: the target's
/// counter is set from the copied `seq` values.
const TABLES: &[(&str, &str)] = &[
    ("organizations", "rowid"),
    ("issued_ids", "namespace, id"),
    ("id_counters", "namespace, base"),
    ("projects", "rowid"),
    ("clients", "rowid"),
    ("project_references", "rowid"),
    ("oauth_grants", "rowid"),
    ("oauth_codes", "digest"),
    ("oauth_tokens", "digest"),
    ("audit_log", "seq"),
    ("meta", "key"),
    ("store_keys", "name"),
];

/// A store file opened read-only, inside one read transaction.
pub(crate) struct Source {
    conn: Connection,
    version: i64,
}

impl Source {
    /// Opens `path` read-only and checks it is an opcore store of this build's schema version.
    pub(crate) fn open(path: &Path) -> Result<Source> {
        let shown = path.display();
        if !path.is_file() {
            return Err(Error::Open(format!("{shown}: no such store file")));
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|e| Error::Open(format!("{shown}: cannot open the file ({e})")))?;
        let probe = |sql: &str| -> Result<i64> {
            conn.query_row(sql, [], |r| r.get(0)).map_err(|e| {
                if e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) {
                    Error::Open(format!("{shown}: the file is not an SQLite database"))
                } else {
                    Error::Open(format!("{shown}: cannot read the file ({e})"))
                }
            })
        };
        let app_id = probe("PRAGMA application_id")?;
        let version = probe("PRAGMA user_version")?;
        let target = schema::current_version();
        if app_id != i64::from(schema::APPLICATION_ID) {
            return Err(Error::Open(format!(
                "{shown}: the file is not an opcore store"
            )));
        }
        if version > target {
            return Err(Error::Open(format!(
                "{shown}: the store has schema version {version}, newer than this opcore \
                 supports ({target}); migrate it with the opcore that wrote it"
            )));
        }
        if version < target {
            return Err(Error::Open(format!(
                "{shown}: the store has schema version {version}, older than this opcore's \
                 ({target}); open it once with this opcore (for example `opcore organizations \
                 list --db {shown}`), which upgrades it, then migrate"
            )));
        }
        // One snapshot for every table: a writer in another process commits either before
        // all of the reads or after them.
        conn.execute_batch("BEGIN").sql()?;
        let tables: Vec<String> = {
            let mut stmt = conn
                .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
                .sql()?;
            let names = stmt.query_map([], |r| r.get(0)).sql()?;
            names.collect::<rusqlite::Result<_>>().sql()?
        };
        if let Some(unknown) = tables
            .iter()
            .find(|t| *t != "sqlite_sequence" && !TABLES.iter().any(|(name, _)| name == t))
        {
            return Err(Error::Open(format!(
                "{shown}: the store has a table this opcore does not know ({unknown}); the \
                 file was changed by another program"
            )));
        }
        Ok(Source { conn, version })
    }

    pub(crate) fn schema_version(&self) -> i64 {
        self.version
    }

    /// Hands every row of every table to `sink`.
    pub(crate) fn copy(&self, sink: &mut dyn Sink) -> Result<()> {
        for (table, order) in TABLES {
            let columns: Vec<String> = {
                let mut stmt = self
                    .conn
                    .prepare(&format!(
                        "SELECT name FROM pragma_table_info('{table}') ORDER BY cid"
                    ))
                    .sql()?;
                let names = stmt.query_map([], |r| r.get(0)).sql()?;
                names.collect::<rusqlite::Result<_>>().sql()?
            };
            let list = columns
                .iter()
                .map(|c| format!("\"{}\"", c.replace('"', "\"\"")))
                .collect::<Vec<_>>()
                .join(", ");
            sink.table(table, &columns)?;
            let mut stmt = self
                .conn
                .prepare(&format!("SELECT {list} FROM {table} ORDER BY {order}"))
                .sql()?;
            let mut rows = stmt.query([]).sql()?;
            let mut values = Vec::with_capacity(columns.len());
            while let Some(row) = rows.next().sql()? {
                values.clear();
                for (i, column) in columns.iter().enumerate() {
                    values.push(match row.get_ref(i).sql()? {
                        ValueRef::Null => Value::Null,
                        ValueRef::Integer(n) => Value::Integer(n),
                        ValueRef::Text(t) => match std::str::from_utf8(t) {
                            Ok(t) => Value::Text(t.to_owned()),
                            Err(_) => {
                                return Err(Error::Storage(format!(
                                    "{table}.{column}: text that is not UTF-8, which no opcore \
                                     writes"
                                )))
                            }
                        },
                        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
                        ValueRef::Real(_) => {
                            return Err(Error::Storage(format!(
                                "{table}.{column}: a floating-point value, which no opcore \
                                 writes"
                            )))
                        }
                    });
                }
                sink.row(&values)?;
            }
        }
        Ok(())
    }
}
