//! Has anything been committed to the file since a given moment, by any process? Answered
//! without a transaction, from the header of SQLite's WAL index (the `-shm` file every
//! connection to a WAL database maps; its layout is SQLite's documented "WAL-index format").
//!
//! Every commit, by any connection in any process, rewrites that header (its change counter,
//! last frame and salts), and a commit becomes visible to readers only when the header is
//! written. SQLite writes the header's two copies one after the other and readers accept it
//! only when both agree; so do we. Two equal, agreeing headers read at two moments mean that
//! no transaction committed in between, so whatever a statement read at the first moment still
//! holds at the second. The Manage API's per-call check of its client (docs/security.md) uses
//! this to skip its statement when nothing has been written since it last ran — no window
//! opens: any commit at all, a deletion included, sends the next call back to the statement.
//!
//! The mapping stays valid because the watch keeps its own connection open: while any
//! connection of this process has the WAL index open, SQLite never truncates the `-shm` file
//! (it does so only when a first connection opens it with no other process attached).
//! Anything unexpected (no `-shm` file, a header being written, an uninitialised index) is
//! "unknown", and the caller runs its statement as before.

use std::sync::atomic::{fence, AtomicU32, Ordering};

use rusqlite::Connection;

/// Bytes of one header copy (SQLite's `WalIndexHdr`), in 32-bit words.
const HEADER_WORDS: usize = 12;
/// What is mapped: both header copies.
const MAPPED_BYTES: usize = 2 * HEADER_WORDS * 4;

/// A snapshot of the WAL-index header: equal snapshots, no commit in between.
pub(super) type Stamp = [u32; HEADER_WORDS];

pub(super) struct WalWatch {
    map: *const AtomicU32,
    /// Holds this process's attachment to the `-shm` file for as long as the map lives
    /// (dropped after the unmapping, see `Drop`).
    _keeper: Connection,
}

// SAFETY: the mapping is read-only shared memory, read only through atomics; the keeper
// connection is never used after construction.
unsafe impl Send for WalWatch {}
unsafe impl Sync for WalWatch {}

impl WalWatch {
    /// Watches the file that `keeper` (a connection to a WAL database, used only here) is
    /// open on. None when the platform or the file offers no WAL index to read.
    #[cfg(unix)]
    pub(super) fn new(keeper: Connection, db_path: &std::path::Path) -> Option<WalWatch> {
        use std::os::fd::AsRawFd;
        // A read makes the keeper map the WAL index and attach to it.
        keeper
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                r.get::<_, i64>(0)
            })
            .ok()?;
        let mut shm = db_path.as_os_str().to_owned();
        shm.push("-shm");
        let file = std::fs::File::open(&shm).ok()?;
        if file.metadata().ok()?.len() < MAPPED_BYTES as u64 {
            return None;
        }
        // SAFETY: a fresh read-only shared mapping of the file's first bytes, which exist
        // (checked above) and are not truncated while `keeper` is attached (module docs).
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                MAPPED_BYTES,
                libc::PROT_READ,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return None;
        }
        let watch = WalWatch {
            map: map.cast::<AtomicU32>(),
            _keeper: keeper,
        };
        // An index that does not look like SQLite's (another version's layout) is not used.
        watch.stamp()?;
        Some(watch)
    }

    #[cfg(not(unix))]
    pub(super) fn new(_keeper: Connection, _db_path: &std::path::Path) -> Option<WalWatch> {
        None
    }

    /// The header now, when both copies agree and the index is initialised; None otherwise
    /// (a writer is between the two copies, or the index is not in use).
    pub(super) fn stamp(&self) -> Option<Stamp> {
        let word = |i: usize| {
            // SAFETY: `i` < 2 * HEADER_WORDS, inside the mapping, which lives as long as self.
            unsafe { &*self.map.add(i) }.load(Ordering::Relaxed)
        };
        let first: Stamp = std::array::from_fn(word);
        fence(Ordering::Acquire);
        let second: Stamp = std::array::from_fn(|i| word(HEADER_WORDS + i));
        // Word 0 is the index version (3007000); `isInit` is the first byte of word 3 (the
        // header is in the machine's own byte order).
        let initialised = first[0] == 3_007_000 && first[3].to_ne_bytes()[0] != 0;
        (first == second && initialised).then_some(first)
    }
}

impl Drop for WalWatch {
    fn drop(&mut self) {
        #[cfg(unix)]
        // SAFETY: the mapping made in `new`, unmapped once; the keeper closes afterwards.
        unsafe {
            libc::munmap(self.map as *mut libc::c_void, MAPPED_BYTES);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(path: &std::path::Path) -> Connection {
        let c = Connection::open(path).unwrap();
        c.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
            .unwrap();
        c
    }

    #[test]
    fn every_commit_from_any_connection_changes_the_stamp_and_reads_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let writer = open(&path);
        writer.execute_batch("CREATE TABLE t (x)").unwrap();
        let watch = WalWatch::new(open(&path), &path).expect("a WAL index to watch");
        let before = watch.stamp().unwrap();
        writer
            .query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0))
            .unwrap();
        assert_eq!(watch.stamp().unwrap(), before, "a read commits nothing");
        let mut seen = vec![before];
        for i in 0..5 {
            // A second, independent connection stands in for another process.
            let other = open(&path);
            other.execute("INSERT INTO t VALUES (?1)", [i]).unwrap();
            let now = watch.stamp().unwrap();
            assert!(!seen.contains(&now), "commit {i} left the stamp as it was");
            seen.push(now);
        }
        // Across a checkpoint that restarts the log, commits still change it.
        writer
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
        let after_checkpoint = watch.stamp().unwrap();
        writer.execute("INSERT INTO t VALUES (9)", []).unwrap();
        let next = watch.stamp().unwrap();
        assert_ne!(next, after_checkpoint);
        assert!(!seen.contains(&next));
    }
}
