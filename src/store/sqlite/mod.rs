//! The SQLite backend: opening and migrating the file, a small connection pool, transactions
//! with retry, and one file per resource. Nothing outside this module names SQLite.

mod clients;
mod ids;
mod organizations;
mod projects;
mod references;
mod roles;
mod schema;
mod tokens;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior};

use crate::domain::secret::{CheckKey, SecretHasher};
use crate::domain::time::{Clock, Timestamp};
use crate::error::{Error, Result};
use crate::options::{Options, Synchronous};

/// The SQLite-backed resource store. Cheap to clone; clones share one connection pool.
/// `Send + Sync`: use it from any number of threads at once.
#[derive(Clone)]
pub(crate) struct Db {
    inner: Arc<Inner>,
    /// The client a Manage call acts for ([`Db::acting_as`]): every transaction first
    /// checks, inside itself, that this client still exists.
    actor: Option<Arc<str>>,
}

struct Inner {
    path: PathBuf,
    pool: Mutex<Vec<Connection>>,
    synchronous: Synchronous,
    busy_timeout: Duration,
    clock: Arc<dyn Clock>,
    hasher: SecretHasher,
    check_key: CheckKey,
    deletion_grace_seconds: i64,
    staleness: Duration,
    shared: Arc<FileShared>,
    /// Issued-id lookups made while choosing ids (a cost counter for tests and benches).
    id_probes: AtomicU64,
}

/// State shared by every handle on the same file in this process.
#[derive(Default)]
struct FileShared {
    /// Bumped by this process on every change that can revoke access.
    local_revision: AtomicU64,
    /// The last `auth_revision` read from the file, and when.
    file_revision: AtomicU64,
    /// Microseconds since [`process_epoch`] when the file was last read (0: never).
    file_checked_us: AtomicU64,
}

/// A fixed instant of this process, so "when" fits in an atomic.
fn process_epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Microseconds on a monotonic clock, for the cross-process staleness bound only (never for
/// timestamps). On Linux the coarse clock: a few milliseconds of resolution, well inside any
/// staleness bound, read without touching the hardware clock — the precise clock costs more
/// than a third of a cached authentication's own work on virtual machines.
#[cfg(target_os = "linux")]
fn micros_since_epoch() -> u64 {
    let Some((secs, nanos)) = crate::domain::time::coarse_clock(libc::CLOCK_MONOTONIC_COARSE)
    else {
        return u64::try_from(process_epoch().elapsed().as_micros()).unwrap_or(u64::MAX);
    };
    let secs = u64::try_from(secs).unwrap_or(0);
    let micros = u64::try_from(nanos).unwrap_or(0) / 1_000;
    secs.saturating_mul(1_000_000).saturating_add(micros)
}

#[cfg(not(target_os = "linux"))]
fn micros_since_epoch() -> u64 {
    u64::try_from(process_epoch().elapsed().as_micros()).unwrap_or(u64::MAX)
}

fn registry() -> &'static Mutex<HashMap<PathBuf, Weak<FileShared>>> {
    static REGISTRY: OnceLock<Mutex<HashMap<PathBuf, Weak<FileShared>>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

fn shared_for(path: &Path) -> Arc<FileShared> {
    let mut map = registry().lock().unwrap_or_else(|p| p.into_inner());
    map.retain(|_, w| w.strong_count() > 0);
    if let Some(existing) = map.get(path).and_then(Weak::upgrade) {
        return existing;
    }
    let fresh = Arc::new(FileShared::default());
    map.insert(path.to_path_buf(), Arc::downgrade(&fresh));
    fresh
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

const MAX_POOLED: usize = 16;

impl Db {
    /// Opens (creating if absent) and migrates the store at `path`.
    ///
    /// A file that is not SQLite, an SQLite file that is not an opcore store, a store from a
    /// newer version of opcore, or an unwritable path is an [`Error::Open`] naming the problem,
    /// and the file is left byte-identical.
    pub(crate) fn open(path: impl AsRef<Path>, options: &Options) -> Result<Db> {
        options.validate()?;
        let path = path.as_ref();
        let hasher = SecretHasher::new(options.argon2).map_err(Error::Options)?;
        let busy_timeout = Duration::from_millis(options.busy_timeout_ms);
        let conn = open_connection(path, options.synchronous, busy_timeout)?;
        migrate(&conn, path)?;
        let check_key = load_check_key(&conn, path)?;
        let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let db = Db {
            inner: Arc::new(Inner {
                shared: shared_for(&canonical),
                path: canonical,
                pool: Mutex::new(vec![conn]),
                synchronous: options.synchronous,
                busy_timeout,
                clock: options.clock.clone(),
                hasher,
                check_key,
                deletion_grace_seconds: options.deletion_grace_seconds,
                staleness: Duration::from_millis(options.cross_process_staleness_ms),
                id_probes: AtomicU64::new(0),
            }),
            actor: None,
        };
        db.purge()?;
        Ok(db)
    }

    /// The file this store lives in (canonicalized).
    pub(crate) fn path(&self) -> &Path {
        &self.inner.path
    }

    /// "Now", from the clock the store was opened with.
    pub(crate) fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    /// [`Clock::now_coarse`] of the store's clock: for per-request decisions, never for
    /// stored timestamps.
    pub(crate) fn now_coarse(&self) -> Timestamp {
        self.inner.clock.now_coarse()
    }

    /// The hasher for client secrets (its counter tells how many argon2 verifications ran).
    pub(crate) fn hasher(&self) -> &SecretHasher {
        &self.inner.hasher
    }

    /// The key of this store's secret check values.
    pub(crate) fn check_key(&self) -> &CheckKey {
        &self.inner.check_key
    }

    /// This handle, acting for client `client_id`: every read and write transaction made
    /// through the result first checks, inside that transaction, that the client still exists (and its
    /// project, if any, is not past its deletion time), and fails with
    /// [`Error::Unauthenticated`] otherwise. So a client deleted by any process can make no
    /// change after the deletion commits (docs/security.md#revocation-windows).
    pub(crate) fn acting_as(&self, client_id: &str) -> Db {
        Db {
            inner: self.inner.clone(),
            actor: Some(client_id.into()),
        }
    }

    /// The client this handle acts for, if any ([`Db::acting_as`]).
    pub(crate) fn actor(&self) -> Option<&str> {
        self.actor.as_deref()
    }

    /// How many issued-id lookups id selection has made on this handle.
    #[doc(hidden)]
    pub(crate) fn id_probes(&self) -> u64 {
        self.inner.id_probes.load(Ordering::Relaxed)
    }

    /// A number that changes whenever access may have been revoked: at once for changes made
    /// through any handle in this process, within `cross_process_staleness_ms` for changes
    /// made by other processes.
    pub(crate) fn access_revision(&self) -> Result<u64> {
        let shared = &self.inner.shared;
        let now_us = micros_since_epoch();
        let checked = shared.file_checked_us.load(Ordering::Acquire);
        let due = checked == 0
            || u128::from(now_us.saturating_sub(checked)) >= self.inner.staleness.as_micros()
            // A clock that went backwards (it cannot, but a fallback could differ): re-read.
            || now_us < checked;
        if due {
            let rev = self.read(|c| {
                Ok(
                    c.prepare_cached("SELECT value FROM meta WHERE key = 'auth_revision'")
                        .sql()?
                        .query_row([], |r| r.get::<_, i64>(0))
                        .optional()
                        .sql()?
                        .unwrap_or(0),
                )
            })?;
            shared
                .file_revision
                .store(u64::try_from(rev).unwrap_or(0), Ordering::SeqCst);
            shared
                .file_checked_us
                .store(now_us.max(1), Ordering::Release);
        }
        Ok(shared
            .local_revision
            .load(Ordering::SeqCst)
            .wrapping_add(shared.file_revision.load(Ordering::SeqCst)))
    }

    /// Records, inside `tx`, that access may have been revoked; other handles see it at once
    /// after commit, other processes within their staleness bound.
    fn bump_access_revision(&self, tx: &Transaction<'_>) -> Result<()> {
        tx.prepare_cached("UPDATE meta SET value = value + 1 WHERE key = 'auth_revision'")
            .sql()?
            .execute([])
            .sql()?;
        Ok(())
    }

    fn revision_committed(&self) {
        self.inner
            .shared
            .local_revision
            .fetch_add(1, Ordering::SeqCst);
    }

    fn conn(&self) -> Result<PooledConn<'_>> {
        let existing = self
            .inner
            .pool
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop();
        let conn = match existing {
            Some(c) => c,
            None => open_connection(
                &self.inner.path,
                self.inner.synchronous,
                self.inner.busy_timeout,
            )?,
        };
        Ok(PooledConn {
            db: self,
            conn: Some(conn),
        })
    }

    /// Runs `f` on a pooled connection, retrying while the database is busy. A handle acting
    /// for a client ([`Db::acting_as`]) runs `f` in one read transaction that first checks
    /// that the client still exists, so the check and the read see the same state.
    fn read<T>(&self, f: impl Fn(&Connection) -> Result<T>) -> Result<T> {
        let mut pooled = self.conn()?;
        let result = match &self.actor {
            None => self.retrying(|| f(pooled.get())),
            Some(actor) => self.retrying(|| {
                let c = pooled.get();
                c.prepare_cached("BEGIN")
                    .and_then(|mut s| s.execute([]))
                    .sql()?;
                let result = if clients::client_active(c, actor, self.now())? {
                    f(c)
                } else {
                    Err(Error::Unauthenticated)
                };
                // A read transaction: ending it commits nothing, so failures end it the same
                // way. If even that fails, the connection is discarded below.
                let end = c.prepare_cached("COMMIT").and_then(|mut s| s.execute([]));
                if end.is_err() && !c.is_autocommit() {
                    let _ = c.execute_batch("ROLLBACK");
                }
                let value = result?;
                end.sql()?;
                Ok(value)
            }),
        };
        result.inspect_err(|_| pooled.discard_if_broken())
    }

    /// Runs `f` in an IMMEDIATE transaction (the write lock is taken up front, so concurrent
    /// writers queue on the busy timeout instead of failing on upgrade), retrying while busy.
    fn write<T>(&self, f: impl Fn(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut pooled = self.conn()?;
        let conn = pooled.get_mut();
        let mut attempt = 0u32;
        loop {
            let result = (|| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .sql()?;
                if let Some(actor) = &self.actor {
                    if !clients::client_active(&tx, actor, self.now())? {
                        return Err(Error::Unauthenticated);
                    }
                }
                let value = f(&tx)?;
                tx.commit().sql()?;
                Ok(value)
            })();
            match result {
                Err(Error::Busy) if attempt < 20 => {
                    attempt += 1;
                    std::thread::sleep(Duration::from_millis(5 * u64::from(attempt)));
                }
                other => return other,
            }
        }
    }

    fn retrying<T>(&self, mut f: impl FnMut() -> Result<T>) -> Result<T> {
        let mut attempt = 0u32;
        loop {
            match f() {
                Err(Error::Busy) if attempt < 20 => {
                    attempt += 1;
                    std::thread::sleep(Duration::from_millis(5 * u64::from(attempt)));
                }
                other => return other,
            }
        }
    }

    /// Removes every project past its `deleteAt`, with its clients and references, and prunes
    /// long-expired OAuth codes and tokens. Runs at open; call it periodically in long-running
    /// hosts. Returns how many projects were purged.
    pub(crate) fn purge(&self) -> Result<usize> {
        let now = self.now();
        let purged = self.write(|tx| {
            let n = tx
                .prepare_cached(
                    "DELETE FROM projects WHERE delete_at IS NOT NULL AND delete_at <= ?1",
                )
                .sql()?
                .execute([now.millis()])
                .sql()?;
            if n > 0 {
                self.bump_access_revision(tx)?;
            }
            Ok(n)
        })?;
        if purged > 0 {
            self.revision_committed();
        }
        self.prune_tokens()?;
        Ok(purged)
    }

    fn grace_seconds(&self) -> i64 {
        self.inner.deletion_grace_seconds
    }

    fn count_probe(&self) {
        self.inner.id_probes.fetch_add(1, Ordering::Relaxed);
    }
}

struct PooledConn<'a> {
    db: &'a Db,
    conn: Option<Connection>,
}

impl PooledConn<'_> {
    fn get(&self) -> &Connection {
        self.conn.as_ref().expect("connection present until drop")
    }

    fn get_mut(&mut self) -> &mut Connection {
        self.conn.as_mut().expect("connection present until drop")
    }

    /// A connection left inside a transaction by a failure is not returned to the pool.
    fn discard_if_broken(&mut self) {
        if self.conn.as_ref().is_some_and(|c| !c.is_autocommit()) {
            self.conn = None;
        }
    }
}

impl Drop for PooledConn<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            if !conn.is_autocommit() {
                return;
            }
            let mut pool = self.db.inner.pool.lock().unwrap_or_else(|p| p.into_inner());
            if pool.len() < MAX_POOLED {
                pool.push(conn);
            }
        }
    }
}

fn open_connection(path: &Path, sync: Synchronous, busy_timeout: Duration) -> Result<Connection> {
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
fn migrate(conn: &Connection, path: &Path) -> Result<()> {
    let shown = path.display();
    let probe = |sql: &str| -> Result<i64> {
        conn.query_row(sql, [], |r| r.get(0))
            .map_err(|e| match e.sqlite_error_code() {
                Some(rusqlite::ErrorCode::NotADatabase) => {
                    Error::Open(format!("{shown}: the file is not an SQLite database"))
                }
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                    Error::Busy
                }
                _ => Error::Open(format!("{shown}: cannot read the file ({e})")),
            })
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
fn load_check_key(conn: &Connection, path: &Path) -> Result<CheckKey> {
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

/// Reads a JSON array column written by this module.
fn json_column<T: serde::de::DeserializeOwned + Default>(text: &str) -> T {
    serde_json::from_str(text).unwrap_or_default()
}

fn ts(millis: i64) -> Timestamp {
    Timestamp(millis)
}

/// How an SQLite failure reaches callers: a lock held past the busy timeout is
/// [`Error::Busy`], anything else [`Error::Storage`]. `crate::Error` knows nothing of SQLite;
/// the mapping lives here.
fn storage_error(e: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked};
    match e.sqlite_error_code() {
        Some(DatabaseBusy | DatabaseLocked) => Error::Busy,
        _ => Error::Storage(e.to_string()),
    }
}

/// `.sql()?` on an SQLite result: its error as an [`Error`] ([`storage_error`]).
trait SqlResult<T> {
    fn sql(self) -> Result<T>;
}

impl<T> SqlResult<T> for rusqlite::Result<T> {
    fn sql(self) -> Result<T> {
        self.map_err(storage_error)
    }
}

/// The version of the SQLite library linked in, e.g. `3.50.2`.
pub(crate) fn sqlite_version() -> &'static str {
    rusqlite::version()
}
