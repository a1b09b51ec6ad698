//! The SQLite backend: opening and migrating the file, a small connection pool, transactions
//! with retry, and one file per resource. Nothing outside this module names SQLite.

mod audit;
mod clients;
#[cfg(feature = "postgres")]
pub(crate) mod export;
mod ids;
mod open;
mod organizations;
mod paging;
mod pool;
mod projects;
mod references;
mod revision;
mod roles;
mod schema;
mod tokens;
mod walwatch;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, Transaction, TransactionBehavior};

use self::open::{load_check_key, migrate, open_connection};
use self::revision::{shared_for, FileShared};

use crate::domain::clock::Clock;
use crate::domain::hashing::SecretHasher;
use crate::domain::secret::CheckKey;
use crate::domain::time::Timestamp;
use crate::error::{Error, Result};
use crate::options::{Options, Synchronous};
use crate::store::common::{json_column, json_text, ts};

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
    /// How long audit entries are kept, in milliseconds (`audit_retention_days`).
    audit_retention_ms: i64,
    staleness: Duration,
    shared: Arc<FileShared>,
    /// Commits to the file by anyone, seen without a transaction (None where unavailable).
    wal_watch: Option<walwatch::WalWatch>,
    /// What the last data-revision statements found, valid while the file is unchanged.
    revision_memo: Mutex<revision::RevisionMemo>,
    /// Issued-id lookups made while choosing ids (a cost counter for tests and benches).
    id_probes: AtomicU64,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

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
                audit_retention_ms: i64::from(options.audit_retention_days) * 86_400_000,
                staleness: Duration::from_millis(options.cross_process_staleness_ms),
                id_probes: AtomicU64::new(0),
                wal_watch: open_connection(path, options.synchronous, busy_timeout)
                    .ok()
                    .and_then(walwatch::WalWatch::new),
                revision_memo: Mutex::default(),
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

    /// Runs `f` on a pooled connection outside any explicit transaction (each statement is
    /// its own read transaction), retrying while the database is busy. No acting check.
    fn read_autocommit<T>(&self, f: impl Fn(&Connection) -> Result<T>) -> Result<T> {
        let mut pooled = self.conn()?;
        let result = self.retrying(|| f(pooled.get()));
        result.inspect_err(|_| pooled.discard_if_broken())
    }

    /// The acting check of [`Db::read`] alone: `Error::Unauthenticated` when this handle acts
    /// for a client that no longer exists; nothing to check (and no read) otherwise.
    pub(crate) fn check_actor(&self) -> Result<()> {
        match self.actor {
            Some(_) => self.read(|_| Ok(())),
            None => Ok(()),
        }
    }

    /// Runs `f` in an IMMEDIATE transaction (the write lock is taken up front, so concurrent
    /// writers queue on the busy timeout instead of failing on upgrade), retrying while busy.
    fn write<T>(&self, f: impl Fn(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut pooled = self.conn()?;
        let conn = pooled.get_mut();
        self.retrying(|| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .sql()?;
            if let Some(actor) = &self.actor {
                if !clients::client_active(&tx, actor, self.now())? {
                    return Err(Error::Unauthenticated);
                }
            }
            let value = f(&tx)?;
            // Every write moves the data revision, so cached read results know they are
            // stale (docs/server.md#the-page-cache).
            tx.prepare_cached("UPDATE meta SET value = value + 1 WHERE key = 'data_revision'")
                .and_then(|mut s| s.execute([]))
                .sql()?;
            tx.commit().sql()?;
            Ok(value)
        })
    }

    /// Runs `f` again while it fails with [`Error::Busy`], up to 20 times with a growing pause.
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

    /// Removes every project past its `deleteAt`, with its clients and references (one
    /// `project.purge` audit entry each, with no actor), prunes audit entries older than
    /// `audit_retention_days` and long-expired OAuth codes and tokens. Runs at open; call it
    /// periodically in long-running hosts. Returns how many projects were purged.
    pub(crate) fn purge(&self) -> Result<usize> {
        let now = self.now();
        let cutoff = Timestamp(now.millis().saturating_sub(self.inner.audit_retention_ms));
        let purged = self.write(|tx| {
            let gone: Vec<(String, String)> = tx
                .prepare_cached(
                    "DELETE FROM projects WHERE delete_at IS NOT NULL AND delete_at <= ?1
                     RETURNING id, organization_id",
                )
                .sql()?
                .query_map([now.millis()], |r| Ok((r.get(0)?, r.get(1)?)))
                .sql()?
                .collect::<rusqlite::Result<_>>()
                .sql()?;
            audit::prune(tx, cutoff)?;
            for (id, organization_id) in &gone {
                audit::append(tx, &audit::NewAuditEntry::purge(organization_id, id, now))?;
            }
            if !gone.is_empty() {
                self.bump_access_revision(tx)?;
            }
            Ok(gone.len())
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
