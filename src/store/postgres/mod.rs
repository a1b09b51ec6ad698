//! The PostgreSQL backend (Cargo feature `postgres`; docs/scale-out.md#postgresql-backend):
//! several processes ("nodes") opened on one database see one store. The same operations as
//! the SQLite backend (src/store/sqlite/), with what a shared server changes:
//!
//! - every operation runs in one READ COMMITTED transaction on a pooled connection; rows a
//!   write decides on are read `FOR UPDATE`, and deadlocks and serialization failures are
//!   retried like SQLite's busy errors;
//! - the schema is created and migrated under a transaction-scoped advisory lock, so nodes
//!   opening one database at once migrate it once ([`open`]);
//! - the access revision travels by `LISTEN/NOTIFY` ([`revision`]);
//! - a database that cannot be reached is [`Error::Unavailable`], and the node reconnects by
//!   itself on its next call.
//!
//! Nothing outside this module names PostgreSQL.

/// The acting check as an SQL condition, given the placeholders of the client's id and of
/// now: the client exists and its project, if any, is not past its deletion time. One
/// definition for `clients::client_active` and the create-reference statement that makes the
/// check itself (`resources::CREATE_REFERENCE_ACTING`).
macro_rules! client_active_condition {
    ($id:literal, $now:literal) => {
        concat!(
            "EXISTS (SELECT 1 FROM clients c WHERE c.id = ",
            $id,
            " AND (c.project_id IS NULL OR NOT EXISTS (
                 SELECT 1 FROM projects p WHERE p.id = c.project_id
                     AND p.delete_at IS NOT NULL AND p.delete_at <= ",
            $now,
            ")))"
        )
    };
}

mod audit;
mod clients;
mod ids;
pub(crate) mod import;
mod open;
mod resources;
mod revision;
mod roles;
mod schema;
#[cfg(test)]
mod tests;
mod tokens;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, Row, Statement};

use self::revision::Listener;
use crate::domain::clock::Clock;
use crate::domain::hashing::SecretHasher;
use crate::domain::secret::CheckKey;
use crate::domain::time::Timestamp;
use crate::error::{Error, Result};
use crate::options::Options;
use crate::store::common::{json_column, json_text, ts};

/// Idle connections kept per handle family.
const MAX_POOLED: usize = 16;

/// Parameters of a statement.
type Params<'a> = [&'a (dyn ToSql + Sync)];

/// The URL as it may be shown: without its password.
pub(crate) fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "postgres://… (unparsable URL)".into(),
    }
}

/// The PostgreSQL-backed store. Cheap to clone; clones share one pool and one listener.
/// `Send + Sync`.
#[derive(Clone)]
pub(crate) struct PgDb {
    inner: Arc<Inner>,
    /// The client a Manage call acts for ([`PgDb::acting_as`]).
    actor: Option<Arc<str>>,
}

struct Inner {
    /// The URL without its password, as `Store::path` shows it.
    shown: PathBuf,
    config: postgres::Config,
    pool: Mutex<Vec<Conn>>,
    clock: Arc<dyn Clock>,
    hasher: SecretHasher,
    check_key: CheckKey,
    deletion_grace_seconds: i64,
    /// How long audit entries are kept, in milliseconds (`audit_retention_days`).
    audit_retention_ms: i64,
    busy_timeout: Duration,
    listener: Listener,
    id_probes: AtomicU64,
}

impl std::fmt::Debug for PgDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgDb")
            .field("url", &self.inner.shown)
            .finish_non_exhaustive()
    }
}

/// A pooled connection with its prepared statements.
pub(super) struct Conn {
    client: Client,
    statements: HashMap<String, Statement>,
}

impl Conn {
    fn new(client: Client) -> Conn {
        Conn {
            client,
            statements: HashMap::new(),
        }
    }
}

/// One transaction (or, for plain reads, the connection in autocommit) with the connection's
/// statement cache: every query of the backend goes through it.
pub(super) struct Tx<'a> {
    inner: TxInner<'a>,
    statements: &'a mut HashMap<String, Statement>,
}

enum TxInner<'a> {
    Tx(postgres::Transaction<'a>),
    Plain(&'a mut Client),
}

impl Tx<'_> {
    fn statement(&mut self, sql: &str) -> Result<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = match &mut self.inner {
            TxInner::Tx(tx) => tx.prepare(sql),
            TxInner::Plain(c) => c.prepare(sql),
        }
        .pg()?;
        if self.statements.len() >= 256 {
            self.statements.clear();
        }
        self.statements.insert(sql.to_owned(), s.clone());
        Ok(s)
    }

    /// The rows of `sql`.
    pub(super) fn all(&mut self, sql: &str, params: &Params<'_>) -> Result<Vec<Row>> {
        let s = self.statement(sql)?;
        match &mut self.inner {
            TxInner::Tx(tx) => tx.query(&s, params),
            TxInner::Plain(c) => c.query(&s, params),
        }
        .pg()
    }

    /// The row of `sql`, if any.
    pub(super) fn opt(&mut self, sql: &str, params: &Params<'_>) -> Result<Option<Row>> {
        let s = self.statement(sql)?;
        match &mut self.inner {
            TxInner::Tx(tx) => tx.query_opt(&s, params),
            TxInner::Plain(c) => c.query_opt(&s, params),
        }
        .pg()
    }

    /// The one row of `sql`.
    pub(super) fn one(&mut self, sql: &str, params: &Params<'_>) -> Result<Row> {
        let s = self.statement(sql)?;
        match &mut self.inner {
            TxInner::Tx(tx) => tx.query_one(&s, params),
            TxInner::Plain(c) => c.query_one(&s, params),
        }
        .pg()
    }

    /// Runs `sql`; how many rows it changed.
    pub(super) fn exec(&mut self, sql: &str, params: &Params<'_>) -> Result<u64> {
        self.exec_raw(sql, params)?.pg()
    }

    /// Runs `sql`; how many rows it changed, or `None` when it was refused because a row with
    /// the same key is in the unique index `constraint` (SQLSTATE 23505).
    pub(super) fn exec_unless_duplicate(
        &mut self,
        sql: &str,
        params: &Params<'_>,
        constraint: &str,
    ) -> Result<Option<u64>> {
        match self.exec_raw(sql, params)? {
            Err(e)
                if e.as_db_error().is_some_and(|db| {
                    *db.code() == SqlState::UNIQUE_VIOLATION && db.constraint() == Some(constraint)
                }) =>
            {
                Ok(None)
            }
            other => other.map(Some).pg(),
        }
    }

    fn exec_raw(
        &mut self,
        sql: &str,
        params: &Params<'_>,
    ) -> Result<std::result::Result<u64, postgres::Error>> {
        let s = self.statement(sql)?;
        Ok(match &mut self.inner {
            TxInner::Tx(tx) => tx.execute(&s, params),
            TxInner::Plain(c) => c.execute(&s, params),
        })
    }
}

impl PgDb {
    /// Connects to the database at `url`, creates or migrates its schema, and purges projects
    /// past their deletion time. An unreachable server is [`Error::Open`] naming the URL
    /// (without its password); a database written by a newer opcore is [`Error::Open`] and is
    /// left untouched.
    pub(crate) fn open(url: &str, options: &Options) -> Result<PgDb> {
        blocking(|| PgDb::open_here(url, options))
    }

    fn open_here(url: &str, options: &Options) -> Result<PgDb> {
        options.validate()?;
        let shown = redacted(url);
        let hasher = SecretHasher::new(options.argon2).map_err(Error::Options)?;
        let mut config: postgres::Config = url
            .parse()
            .map_err(|e| Error::Open(format!("{shown}: not a valid PostgreSQL URL ({e})")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        if config.get_application_name().is_none() {
            config.application_name("opcore");
        }
        let busy_timeout = Duration::from_millis(options.busy_timeout_ms);
        let mut client = config
            .connect(postgres::NoTls)
            .map_err(|e| Error::Open(format!("{shown}: cannot connect to PostgreSQL ({e})")))?;
        open::migrate(&mut client, &shown)?;
        let check_key = open::load_check_key(&mut client, &shown)?;
        let staleness = Duration::from_millis(options.cross_process_staleness_ms.min(1_000));
        let db = PgDb {
            inner: Arc::new(Inner {
                listener: Listener::start(config.clone(), staleness),
                shown: PathBuf::from(shown),
                config,
                pool: Mutex::new(vec![Conn::new(client)]),
                clock: options.clock.clone(),
                hasher,
                check_key,
                deletion_grace_seconds: options.deletion_grace_seconds,
                audit_retention_ms: i64::from(options.audit_retention_days) * 86_400_000,
                busy_timeout,
                id_probes: AtomicU64::new(0),
            }),
            actor: None,
        };
        db.purge()?;
        Ok(db)
    }

    /// The database URL, without its password.
    pub(crate) fn path(&self) -> &Path {
        &self.inner.shown
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    pub(crate) fn now_coarse(&self) -> Timestamp {
        self.inner.clock.now_coarse()
    }

    pub(crate) fn hasher(&self) -> &SecretHasher {
        &self.inner.hasher
    }

    pub(crate) fn check_key(&self) -> &CheckKey {
        &self.inner.check_key
    }

    /// This handle, acting for client `client_id`: every transaction made through the result
    /// first checks, inside itself, that the client still exists and its project is not past
    /// its deletion time ([`Error::Unauthenticated`] otherwise), as `sqlite::Db::acting_as`.
    pub(crate) fn acting_as(&self, client_id: &str) -> PgDb {
        PgDb {
            inner: self.inner.clone(),
            actor: Some(client_id.into()),
        }
    }

    pub(crate) fn actor(&self) -> Option<&str> {
        self.actor.as_deref()
    }

    pub(crate) fn id_probes(&self) -> u64 {
        self.inner.id_probes.load(Ordering::Relaxed)
    }

    fn count_probe(&self) {
        self.inner.id_probes.fetch_add(1, Ordering::Relaxed);
    }

    fn grace_seconds(&self) -> i64 {
        self.inner.deletion_grace_seconds
    }

    /// The acting check alone (see `sqlite::Db::check_actor`).
    pub(crate) fn check_actor(&self) -> Result<()> {
        match self.actor {
            Some(_) => self.read(|_| Ok(())),
            None => Ok(()),
        }
    }

    /// A connection from the pool (`true`), or a new one (`false`).
    fn conn(&self) -> Result<(Conn, bool)> {
        let pooled = self
            .inner
            .pool
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop();
        match pooled {
            Some(c) if !c.client.is_closed() => Ok((c, true)),
            _ => self
                .inner
                .config
                .connect(postgres::NoTls)
                .map(|c| (Conn::new(c), false))
                .map_err(|e| unavailable(&e)),
        }
    }

    fn give_back(&self, conn: Conn) {
        if conn.client.is_closed() {
            return;
        }
        let mut pool = self.inner.pool.lock().unwrap_or_else(|p| p.into_inner());
        if pool.len() < MAX_POOLED {
            pool.push(conn);
        }
    }

    /// Drops every idle connection: after one was found dead (the server restarted), the
    /// others are too.
    fn empty_pool(&self) {
        self.inner
            .pool
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// Runs `f` on a pooled connection. Plain reads run in autocommit; a handle acting for a
    /// client runs `f` in one transaction that first checks the client, so the check and the
    /// read see the same state. A read takes no transaction id, so it moves no data revision
    /// ([`revision`]).
    fn read<T>(&self, f: impl Fn(&mut Tx<'_>) -> Result<T>) -> Result<T> {
        if self.actor.is_some() {
            return self.transaction(f);
        }
        self.read_autocommit(f)
    }

    /// Runs `f` on a pooled connection outside any explicit transaction (each statement is
    /// its own), retrying like the other calls. No acting check.
    fn read_autocommit<T>(&self, f: impl Fn(&mut Tx<'_>) -> Result<T>) -> Result<T> {
        self.autocommit(f)
    }

    /// Runs `f`, a write made of ONE statement, outside any explicit transaction: the
    /// statement is its own transaction, so it must make the acting check and append its audit
    /// entry itself (data-modifying `WITH` queries), and commit all of it or nothing. One round
    /// trip instead of a transaction's several. Like a read, it runs once more on a new
    /// connection when a pooled one turns out to be dead, so the statement must be idempotent:
    /// run twice, it changes nothing the second time, and the caller can tell that the first
    /// run's change is there (creating a reference looks its row up).
    fn write_autocommit<T>(&self, f: impl Fn(&mut Tx<'_>) -> Result<T>) -> Result<T> {
        self.autocommit(f)
    }

    fn autocommit<T>(&self, f: impl Fn(&mut Tx<'_>) -> Result<T>) -> Result<T> {
        self.retrying(|| {
            let mut stale_retried = false;
            loop {
                let (mut conn, pooled) = self.conn()?;
                let result = {
                    let Conn { client, statements } = &mut conn;
                    let mut tx = Tx {
                        inner: TxInner::Plain(client),
                        statements,
                    };
                    f(&mut tx)
                };
                self.give_back(conn);
                // A read changes nothing (an autocommit write is idempotent): on a pooled
                // connection the server dropped (it restarted), run it once more on a new one.
                if matches!(result, Err(Error::Unavailable(_))) && pooled && !stale_retried {
                    stale_retried = true;
                    self.empty_pool();
                    continue;
                }
                return result;
            }
        })
    }

    /// Runs `f` in one write transaction, first checking the acting client if any. Its commit
    /// moves the data revision by itself: the revision is the server's transaction snapshot
    /// ([`revision`], docs/server.md#the-page-cache), so no row is updated for it.
    fn write<T>(&self, f: impl Fn(&mut Tx<'_>) -> Result<T>) -> Result<T> {
        self.transaction(f)
    }

    /// Runs `f` in one transaction, first checking the acting client if any; retries on
    /// deadlocks and serialization failures.
    fn transaction<T>(&self, f: impl Fn(&mut Tx<'_>) -> Result<T>) -> Result<T> {
        self.retrying(|| {
            let mut stale_retried = false;
            loop {
                let (mut conn, pooled) = self.conn()?;
                let mut began = false;
                let result = (|| {
                    let Conn { client, statements } = &mut conn;
                    let tx = client.transaction().pg()?;
                    began = true;
                    let mut tx = Tx {
                        inner: TxInner::Tx(tx),
                        statements,
                    };
                    if let Some(actor) = &self.actor {
                        if !clients::client_active(&mut tx, actor, self.now())? {
                            return Err(Error::Unauthenticated);
                        }
                    }
                    let value = f(&mut tx)?;
                    match tx.inner {
                        TxInner::Tx(tx) => tx.commit().pg()?,
                        TxInner::Plain(_) => {}
                    }
                    Ok(value)
                })();
                // A failed transaction was rolled back when dropped; a broken connection is
                // not returned to the pool.
                self.give_back(conn);
                // Only a failed BEGIN is retried on a new connection: nothing was sent that
                // could have committed.
                if matches!(result, Err(Error::Unavailable(_)))
                    && pooled
                    && !began
                    && !stale_retried
                {
                    stale_retried = true;
                    self.empty_pool();
                    continue;
                }
                return result;
            }
        })
    }

    /// Runs `f` again while it fails with [`Error::Busy`] (a deadlock or serialization
    /// failure), with a growing pause, until the busy timeout has passed.
    fn retrying<T>(&self, f: impl FnMut() -> Result<T>) -> Result<T> {
        blocking(|| self.retrying_here(f))
    }

    fn retrying_here<T>(&self, mut f: impl FnMut() -> Result<T>) -> Result<T> {
        let started = std::time::Instant::now();
        let mut attempt = 0u32;
        loop {
            match f() {
                Err(Error::Busy) if attempt < 20 && started.elapsed() < self.inner.busy_timeout => {
                    attempt += 1;
                    std::thread::sleep(Duration::from_millis(
                        u64::from(attempt) * 2 + rand::random::<u64>() % 5,
                    ));
                }
                other => return other,
            }
        }
    }

    /// Removes every project past its `deleteAt`, with its clients and references (one
    /// `project.purge` audit entry each, with no actor), prunes audit entries older than
    /// `audit_retention_days` and long-expired OAuth rows. Safe on several nodes at once:
    /// rows another node is deleting are skipped (`FOR UPDATE SKIP LOCKED`), never waited for
    /// or deleted twice. Returns how many projects were purged.
    pub(crate) fn purge(&self) -> Result<usize> {
        let now = self.now();
        let cutoff = Timestamp(now.millis().saturating_sub(self.inner.audit_retention_ms));
        let purged = self.write(|tx| {
            let gone: Vec<(String, String)> = tx
                .all(
                    "DELETE FROM projects WHERE id IN (
                         SELECT id FROM projects WHERE delete_at IS NOT NULL AND delete_at <= $1
                         FOR UPDATE SKIP LOCKED)
                     RETURNING id, organization_id",
                    &[&now.millis()],
                )?
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
            audit::prune(tx, cutoff)?;
            for (id, organization_id) in &gone {
                audit::append(tx, &audit::NewAuditEntry::purge(organization_id, id, now))?;
            }
            if !gone.is_empty() {
                revision::bump(tx)?;
            }
            Ok(gone.len())
        })?;
        if purged > 0 {
            self.revision_committed();
        }
        self.prune_tokens()?;
        Ok(purged)
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.listener.stop();
        // Closing a connection blocks on rust-postgres's own runtime, which panics on a
        // thread running a Tokio runtime: close them on a thread of their own there.
        let conns = std::mem::take(&mut *self.pool.lock().unwrap_or_else(|p| p.into_inner()));
        if tokio::runtime::Handle::try_current().is_ok() {
            let _ = std::thread::Builder::new()
                .name("opcore-pg-close".into())
                .spawn(move || drop(conns));
        } else {
            drop(conns);
        }
    }
}

/// Runs `f`, which uses rust-postgres's synchronous client. That client drives each
/// connection with a runtime of its own and panics when called on a thread that is running a
/// Tokio runtime (as `opcore serve`'s workers, docs/server.md): there, `f` runs through
/// `block_in_place`, which lets the worker block. On a current-thread runtime nothing can
/// block safely, so the call fails with a message saying what to do instead.
fn blocking<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Err(_) => f(),
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        Ok(_) => Err(Error::Storage(
            "the PostgreSQL backend cannot be called on a current-thread Tokio runtime's \
             thread; call it from a blocking thread (spawn_blocking)"
                .into(),
        )),
    }
}

/// A lost or refused connection: the database cannot be reached.
fn unavailable(e: &postgres::Error) -> Error {
    Error::Unavailable(describe(e))
}

/// How a PostgreSQL failure reaches callers: a deadlock, serialization failure or lock
/// timeout is [`Error::Busy`] (retried first); a lost connection or a server going away is
/// [`Error::Unavailable`]; anything else [`Error::Storage`]. `crate::Error` knows nothing of
/// PostgreSQL; the mapping lives here.
fn storage_error(e: postgres::Error) -> Error {
    let Some(code) = e.code() else {
        // No SQLSTATE: the connection itself failed (closed, I/O, timeout).
        return unavailable(&e);
    };
    if *code == SqlState::T_R_SERIALIZATION_FAILURE
        || *code == SqlState::T_R_DEADLOCK_DETECTED
        || *code == SqlState::LOCK_NOT_AVAILABLE
    {
        return Error::Busy;
    }
    // Class 08 (connection exception), 57P0x (operator intervention: shutdown, crash),
    // 53 (insufficient resources, such as too many connections).
    let class = code.code();
    if class.starts_with("08") || class.starts_with("57P") || class.starts_with("53") {
        return unavailable(&e);
    }
    Error::Storage(describe(&e))
}

/// A failure's text with the server's message (rust-postgres's own text is only "db error").
fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({}): {}", e, db.code().code(), db.message()),
        None => e.to_string(),
    }
}

/// `.pg()?` on a PostgreSQL result: its error as an [`Error`] ([`storage_error`]).
trait PgResult<T> {
    fn pg(self) -> Result<T>;
}

impl<T> PgResult<T> for std::result::Result<T, postgres::Error> {
    fn pg(self) -> Result<T> {
        self.map_err(storage_error)
    }
}

/// `i64` to the `usize` counts callers get.
fn count(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}
