//! Writing a copied store for `opcore migrate` (src/store/migrate.rs): checks the target is
//! empty, creates the schema, and inserts every row the source hands over, all in one
//! transaction under the migration lock, so a failure or a refusal leaves the database as it
//! was.

use std::time::Duration;

use postgres::types::{ToSql, Type};
use postgres::{Statement, Transaction};

use super::open::{create_baseline, migrate_forward, MIGRATION_LOCK};
use super::{blocking, redacted, schema, PgResult};
use crate::error::{Error, Result};
use crate::store::migrate::{Sink, Value};

/// The tables of the schema that hold a store's data: a target with a row in any of them is
/// not empty.
const DATA_TABLES: &[&str] = &[
    "organizations",
    "issued_ids",
    "id_counters",
    "projects",
    "clients",
    "project_references",
    "oauth_grants",
    "oauth_codes",
    "oauth_tokens",
    "audit_log",
];

/// Tables every store has from its creation; their rows are replaced by the source's.
const STATE_TABLES: &[(&str, &str)] = &[("meta", "key"), ("store_keys", "name")];

/// Copies into the database at `url` what `fill` hands its sink, in one transaction. `version`
/// is the source's schema version, which must be this build's. Returns the URL as it may be
/// shown and the rows written per table.
pub(crate) fn import(
    url: &str,
    version: i64,
    fill: impl FnOnce(&mut dyn Sink) -> Result<()>,
) -> Result<(String, Vec<(String, u64)>)> {
    blocking(|| import_here(url, version, fill))
}

fn import_here(
    url: &str,
    version: i64,
    fill: impl FnOnce(&mut dyn Sink) -> Result<()>,
) -> Result<(String, Vec<(String, u64)>)> {
    let shown = redacted(url);
    let target = schema::current_version();
    if version != target {
        return Err(Error::Open(format!(
            "the source store has schema version {version}, but this opcore writes version \
             {target} on PostgreSQL"
        )));
    }
    let mut config: postgres::Config = url
        .parse()
        .map_err(|e| Error::Open(format!("{shown}: not a valid PostgreSQL URL ({e})")))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(5));
    }
    if config.get_application_name().is_none() {
        config.application_name("opcore migrate");
    }
    let mut client = config
        .connect(postgres::NoTls)
        .map_err(|e| Error::Open(format!("{shown}: cannot connect to PostgreSQL ({e})")))?;
    let mut tx = client.transaction().pg()?;
    // Nodes opening the database, and another migration, wait until this one has committed.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .pg()?;
    prepare_target(&mut tx, &shown)?;
    let mut sink = PgSink {
        tx: &mut tx,
        current: None,
        counts: Vec::new(),
    };
    fill(&mut sink)?;
    let counts = sink.counts;
    // The audit log's entries keep their `seq`; the next entry follows the last one copied.
    tx.execute(
        "SELECT setval(pg_get_serial_sequence('audit_log', 'seq'),
                       COALESCE(max(seq), 0) + 1, false) FROM audit_log",
        &[],
    )
    .pg()?;
    tx.commit().pg()?;
    Ok((shown, counts))
}

/// Checks the database is empty — no tables, or an opcore schema of this version with no rows
/// in its data tables — and creates the schema if it has none.
fn prepare_target(tx: &mut Transaction<'_>, shown: &str) -> Result<()> {
    let tables: Vec<String> = tx
        .query(
            "SELECT tablename::text FROM pg_catalog.pg_tables
             WHERE schemaname = current_schema() ORDER BY tablename",
            &[],
        )
        .pg()?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let not_empty = |what: String| {
        Error::Open(format!(
            "{shown}: the target database is not empty ({what}); opcore migrate writes only \
             into an empty database"
        ))
    };
    if tables.is_empty() {
        create_baseline(tx, shown)?;
        return migrate_forward(tx, schema::BASELINE_VERSION);
    }
    let foreign: Vec<&str> = tables
        .iter()
        .map(String::as_str)
        .filter(|t| {
            *t != "opcore_schema"
                && !DATA_TABLES.contains(t)
                && !STATE_TABLES.iter().any(|(name, _)| name == t)
        })
        .collect();
    if !foreign.is_empty() || !tables.iter().any(|t| t == "opcore_schema") {
        let names: Vec<&str> = if foreign.is_empty() {
            tables.iter().map(String::as_str).collect()
        } else {
            foreign
        };
        return Err(not_empty(format!(
            "it has tables that are not an opcore store's: {}",
            names.join(", ")
        )));
    }
    let recorded: Option<i64> = tx
        .query_one("SELECT max(version) FROM opcore_schema", &[])
        .pg()?
        .get(0);
    if recorded != Some(schema::current_version()) {
        return Err(not_empty(format!(
            "it holds an opcore store of schema version {}, not {}",
            recorded.map_or_else(|| "none".to_owned(), |v| v.to_string()),
            schema::current_version()
        )));
    }
    let mut filled = Vec::new();
    for table in DATA_TABLES {
        let rows: i64 = tx
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .pg()?
            .get(0);
        if rows > 0 {
            let noun = if rows == 1 { "row" } else { "rows" };
            filled.push(format!("{table}: {rows} {noun}"));
        }
    }
    if !filled.is_empty() {
        return Err(not_empty(format!(
            "it holds an opcore store with data: {}",
            filled.join(", ")
        )));
    }
    Ok(())
}

/// The sink writing each row with one prepared `INSERT` per table.
struct PgSink<'a, 'b> {
    tx: &'a mut Transaction<'b>,
    current: Option<Current>,
    counts: Vec<(String, u64)>,
}

struct Current {
    table: String,
    columns: Vec<String>,
    statement: Statement,
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl Sink for PgSink<'_, '_> {
    fn table(&mut self, table: &str, columns: &[String]) -> Result<()> {
        let state = STATE_TABLES.iter().find(|(name, _)| *name == table);
        if !DATA_TABLES.contains(&table) && state.is_none() {
            return Err(Error::Storage(format!(
                "the source has a table the PostgreSQL schema does not have ({table})"
            )));
        }
        let list: Vec<String> = columns.iter().map(|c| quoted(c)).collect();
        let params: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
        let mut sql = format!(
            "INSERT INTO {table} ({}) VALUES ({})",
            list.join(", "),
            params.join(", ")
        );
        // The schema's own rows (revisions at 0, a new check key) give way to the source's.
        if let Some((_, key)) = state {
            let updates: Vec<String> = columns
                .iter()
                .filter(|c| c != key)
                .map(|c| format!("{} = EXCLUDED.{}", quoted(c), quoted(c)))
                .collect();
            sql.push_str(&format!(
                " ON CONFLICT ({key}) DO UPDATE SET {}",
                updates.join(", ")
            ));
        }
        let statement = self.tx.prepare(&sql).pg()?;
        self.current = Some(Current {
            table: table.to_owned(),
            columns: columns.to_vec(),
            statement,
        });
        self.counts.push((table.to_owned(), 0));
        Ok(())
    }

    fn row(&mut self, values: &[Value]) -> Result<()> {
        let Some(current) = &self.current else {
            return Err(Error::Storage("a row before its table".into()));
        };
        let types = current.statement.params();
        if values.len() != types.len() {
            return Err(Error::Storage(format!(
                "{}: {} values for {} columns",
                current.table,
                values.len(),
                types.len()
            )));
        }
        let mut params: Vec<Box<dyn ToSql + Sync>> = Vec::with_capacity(values.len());
        for ((value, ty), column) in values.iter().zip(types).zip(&current.columns) {
            params.push(convert(value, ty).ok_or_else(|| {
                Error::Storage(format!(
                    "{}.{column}: {} where PostgreSQL expects {}; the source file was changed \
                     by another program",
                    current.table,
                    kind(value),
                    ty.name()
                ))
            })?);
        }
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref()).collect();
        self.tx.execute(&current.statement, &refs).pg()?;
        if let Some((_, n)) = self.counts.last_mut() {
            *n += 1;
        }
        Ok(())
    }
}

/// What a value is, for a message that must not show it.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "NULL",
        Value::Integer(_) => "an integer",
        Value::Text(_) => "text",
        Value::Blob(_) => "a blob",
    }
}

/// A source value as the parameter of a column of type `ty`, if it fits.
fn convert(value: &Value, ty: &Type) -> Option<Box<dyn ToSql + Sync>> {
    Some(match (value, ty) {
        (Value::Null, t) if *t == Type::BOOL => Box::new(None::<bool>),
        (Value::Null, t) if *t == Type::INT8 => Box::new(None::<i64>),
        (Value::Null, t) if *t == Type::TEXT => Box::new(None::<String>),
        (Value::Null, t) if *t == Type::BYTEA => Box::new(None::<Vec<u8>>),
        (Value::Integer(n), t) if *t == Type::INT8 => Box::new(*n),
        (Value::Integer(n @ (0 | 1)), t) if *t == Type::BOOL => Box::new(*n == 1),
        (Value::Text(s), t) if *t == Type::TEXT => Box::new(s.clone()),
        (Value::Blob(b), t) if *t == Type::BYTEA => Box::new(b.clone()),
        _ => return None,
    })
}
