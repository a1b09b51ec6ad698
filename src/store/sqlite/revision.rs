//! The access revision: a number that changes whenever access may have been revoked, shared by
//! every handle on one file in this process ([`FileShared`]) and re-read from the file at most
//! every `cross_process_staleness_ms`, timed by a monotonic process clock.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Instant;

use rusqlite::{OptionalExtension, Transaction};

use super::{Db, SqlResult};
use crate::error::Result;

/// State shared by every handle on the same file in this process.
#[derive(Default)]
pub(super) struct FileShared {
    /// Bumped by this process on every change that can revoke access.
    local_revision: AtomicU64,
    /// The last `auth_revision` read from the file, and when.
    file_revision: AtomicU64,
    /// When the file was last read, in [`monotonic_micros`] (0: never).
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
fn monotonic_micros() -> u64 {
    let Some((secs, nanos)) = crate::domain::clock::coarse_clock(libc::CLOCK_MONOTONIC_COARSE)
    else {
        return u64::try_from(process_epoch().elapsed().as_micros()).unwrap_or(u64::MAX);
    };
    let secs = u64::try_from(secs).unwrap_or(0);
    let micros = u64::try_from(nanos).unwrap_or(0) / 1_000;
    secs.saturating_mul(1_000_000).saturating_add(micros)
}

#[cfg(not(target_os = "linux"))]
fn monotonic_micros() -> u64 {
    u64::try_from(process_epoch().elapsed().as_micros()).unwrap_or(u64::MAX)
}

fn registry() -> &'static Mutex<HashMap<PathBuf, Weak<FileShared>>> {
    static REGISTRY: OnceLock<Mutex<HashMap<PathBuf, Weak<FileShared>>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

pub(super) fn shared_for(path: &Path) -> Arc<FileShared> {
    let mut map = registry().lock().unwrap_or_else(|p| p.into_inner());
    map.retain(|_, w| w.strong_count() > 0);
    if let Some(existing) = map.get(path).and_then(Weak::upgrade) {
        return existing;
    }
    let fresh = Arc::new(FileShared::default());
    map.insert(path.to_path_buf(), Arc::downgrade(&fresh));
    fresh
}

impl Db {
    /// A number that changes whenever access may have been revoked: at once for changes made
    /// through any handle in this process, within `cross_process_staleness_ms` for changes
    /// made by other processes.
    pub(crate) fn access_revision(&self) -> Result<u64> {
        let shared = &self.inner.shared;
        let now_us = monotonic_micros();
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
    pub(super) fn bump_access_revision(&self, tx: &Transaction<'_>) -> Result<()> {
        tx.prepare_cached("UPDATE meta SET value = value + 1 WHERE key = 'auth_revision'")
            .sql()?
            .execute([])
            .sql()?;
        Ok(())
    }

    pub(super) fn revision_committed(&self) {
        self.inner
            .shared
            .local_revision
            .fetch_add(1, Ordering::SeqCst);
    }
}

impl Db {
    /// The data revision (docs/server.md#the-page-cache), in one statement: for a handle
    /// acting for a client ([`Db::acting_as`]) the same statement makes the acting check, and
    /// a client that no longer exists gets [`crate::Error::Unauthenticated`].
    pub(crate) fn data_revision(&self) -> Result<u64> {
        // Nothing committed since the statement below last ran for this actor: its answer
        // stands (docs/security.md#revocation-windows; `walwatch`).
        let stamp = self.inner.wal_watch.as_ref().and_then(|w| w.stamp());
        let now = self.now().millis();
        if let Some(stamp) = stamp {
            let memo = self
                .inner
                .revision_memo
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if let Some(revision) = memo.recall(&stamp, self.actor(), now) {
                return Ok(revision);
            }
        }
        let revision = self.read_autocommit(|c| match self.actor() {
            None => c
                .prepare_cached("SELECT value FROM meta WHERE key = 'data_revision'")
                .sql()?
                .query_row([], |r| Ok((r.get::<_, i64>(0)?, true, None)))
                .optional()
                .sql(),
            Some(actor) => c
                .prepare_cached(
                    "SELECT m.value, EXISTS (SELECT 1 FROM clients c WHERE c.id = ?1
                         AND (c.project_id IS NULL OR NOT EXISTS (
                             SELECT 1 FROM projects p WHERE p.id = c.project_id
                                 AND p.delete_at IS NOT NULL AND p.delete_at <= ?2))),
                         (SELECT p.delete_at FROM clients c JOIN projects p ON p.id = c.project_id
                          WHERE c.id = ?1)
                     FROM meta m WHERE m.key = 'data_revision'",
                )
                .sql()?
                .query_row((actor, now), |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, bool>(1)?,
                        r.get::<_, Option<i64>>(2)?,
                    ))
                })
                .optional()
                .sql(),
        })?;
        match revision {
            Some((_, false, _)) => Err(crate::error::Error::Unauthenticated),
            Some((value, true, until)) => {
                let value = u64::try_from(value).unwrap_or(0);
                if let Some(stamp) = stamp {
                    self.inner
                        .revision_memo
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remember(stamp, self.actor(), value, until);
                }
                Ok(value)
            }
            None => Err(crate::error::Error::Storage(
                "the store has no data revision (meta.data_revision is missing)".into(),
            )),
        }
    }

    /// The data revision and the first deletion time after `now` among the organization's
    /// projects, in one statement: until then (and while the revision stays), a list of the
    /// organization's resources read now stays what it is.
    pub(crate) fn page_validity(
        &self,
        organization_id: &str,
        now: crate::domain::time::Timestamp,
    ) -> Result<(u64, Option<crate::domain::time::Timestamp>)> {
        let (revision, until) = self.read_autocommit(|c| {
            c.prepare_cached(
                "SELECT (SELECT value FROM meta WHERE key = 'data_revision'),
                        (SELECT MIN(delete_at) FROM projects
                         WHERE organization_id = ?1 AND delete_at > ?2)",
            )
            .sql()?
            .query_row((organization_id, now.millis()), |r| {
                Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, Option<i64>>(1)?))
            })
            .sql()
        })?;
        Ok((
            revision.and_then(|v| u64::try_from(v).ok()).unwrap_or(0),
            until.map(crate::domain::time::Timestamp),
        ))
    }
}

/// The answers of [`Db::data_revision`] at one WAL-index stamp: the revision, and the actors
/// found to exist then (with the deletion time of their project, past which they no longer
/// do). Forgotten as soon as the stamp changes, i.e. on any commit by anyone.
#[derive(Default)]
pub(super) struct RevisionMemo {
    stamp: Option<super::walwatch::Stamp>,
    revision: u64,
    anonymous: bool,
    actors: HashMap<Arc<str>, Option<i64>>,
}

/// Actors remembered at once; past it the memo starts afresh (a cost, never a wrong answer).
const MEMO_ACTORS: usize = 4096;

impl RevisionMemo {
    fn recall(&self, stamp: &super::walwatch::Stamp, actor: Option<&str>, now: i64) -> Option<u64> {
        if self.stamp.as_ref() != Some(stamp) {
            return None;
        }
        let known = match actor {
            None => self.anonymous,
            Some(actor) => self
                .actors
                .get(actor)
                .is_some_and(|until| until.is_none_or(|t| now < t)),
        };
        known.then_some(self.revision)
    }

    fn remember(
        &mut self,
        stamp: super::walwatch::Stamp,
        actor: Option<&str>,
        revision: u64,
        until: Option<i64>,
    ) {
        if self.stamp != Some(stamp) || self.actors.len() >= MEMO_ACTORS {
            *self = RevisionMemo {
                stamp: Some(stamp),
                revision,
                ..RevisionMemo::default()
            };
        }
        // The stamp is the same, so is the revision (nothing committed in between).
        match actor {
            None => self.anonymous = true,
            Some(actor) => {
                self.actors.insert(actor.into(), until);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Db;
    use crate::options::Options;

    /// A store on a local file watches its WAL index, and an unchanged header answers the
    /// data-revision check from the memo; a commit through another handle is seen at once.
    #[test]
    fn the_data_revision_check_is_remembered_until_anything_commits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("memo.db");
        let db = Db::open(&path, &Options::default()).unwrap();
        let watch = db.inner.wal_watch.as_ref().expect("a WAL index to watch");
        let first = db.data_revision().unwrap();
        let stamp = watch.stamp().unwrap();
        assert_eq!(db.data_revision().unwrap(), first);
        assert_eq!(
            db.inner
                .revision_memo
                .lock()
                .unwrap()
                .recall(&stamp, None, 0),
            Some(first)
        );
        // Another process's write, as any write: the data revision moves in its transaction.
        let other = rusqlite::Connection::open(&path).unwrap();
        other
            .execute(
                "UPDATE meta SET value = value + 1 WHERE key = 'data_revision'",
                [],
            )
            .unwrap();
        assert_ne!(
            watch.stamp().unwrap(),
            stamp,
            "a commit elsewhere changes the header"
        );
        assert!(db.data_revision().unwrap() > first);
    }
}
