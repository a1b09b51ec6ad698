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
//! The header is read through SQLite's own mapping of the WAL index, obtained from a connection
//! kept open for that purpose (`xShmMap` on its file, the call SQLite's WAL layer makes itself):
//! no descriptor of the `-shm` file is ever opened or closed here — closing one would drop
//! every POSIX lock this process holds on it, SQLite's included — and the mapping lives exactly
//! as long as that connection. Anything unexpected (no WAL index, a header being written, an
//! uninitialised index) is "unknown", and the caller runs its statement as before.

use std::sync::atomic::{fence, AtomicU32, Ordering};

use rusqlite::Connection;

/// Bytes of one header copy (SQLite's `WalIndexHdr`), in 32-bit words.
const HEADER_WORDS: usize = 12;

/// A snapshot of the WAL-index header: equal snapshots, no commit in between.
pub(super) type Stamp = [u32; HEADER_WORDS];

pub(super) struct WalWatch {
    /// The first bytes of SQLite's mapping of the WAL index (owned by `keeper`).
    map: *const AtomicU32,
    /// The connection whose mapping `map` is; never used otherwise, closed (and the mapping
    /// with it) when the watch is dropped.
    _keeper: Connection,
}

// SAFETY: the mapping is shared memory read only through atomics, valid while `_keeper` is
// open; the keeper connection is never used after construction.
unsafe impl Send for WalWatch {}
unsafe impl Sync for WalWatch {}

impl WalWatch {
    /// Watches the WAL index of the database `keeper` (a connection used only here) is open
    /// on. None when it has none (not in WAL mode, a VFS without shared memory).
    pub(super) fn new(keeper: Connection) -> Option<WalWatch> {
        use rusqlite::ffi;
        // A read makes the keeper map the WAL index (region 0 holds the header).
        keeper
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                r.get::<_, i64>(0)
            })
            .ok()?;
        let mut file: *mut ffi::sqlite3_file = std::ptr::null_mut();
        // SAFETY: the keeper's open handle; SQLITE_FCNTL_FILE_POINTER writes one pointer.
        let rc = unsafe {
            ffi::sqlite3_file_control(
                keeper.handle(),
                c"main".as_ptr(),
                ffi::SQLITE_FCNTL_FILE_POINTER,
                (&mut file as *mut *mut ffi::sqlite3_file).cast(),
            )
        };
        if rc != ffi::SQLITE_OK || file.is_null() {
            return None;
        }
        // SAFETY: `file` is the keeper's open main-database file; its methods table is
        // SQLite's, and version 2 or later has the shared-memory calls.
        let shm_map = unsafe {
            let methods = (*file).pMethods;
            if methods.is_null() || (*methods).iVersion < 2 {
                return None;
            }
            (*methods).xShmMap?
        };
        let mut region: *mut std::ffi::c_void = std::ptr::null_mut();
        // SAFETY: region 0 of the WAL index, 32 KiB (SQLite's WALINDEX_PGSZ), not extended:
        // the mapping the keeper already has, valid until the keeper closes.
        let rc = unsafe { shm_map(file, 0, 32 * 1024, 0, &mut region) };
        if rc != ffi::SQLITE_OK || region.is_null() {
            return None;
        }
        let watch = WalWatch {
            map: region.cast::<AtomicU32>().cast_const(),
            _keeper: keeper,
        };
        // An index that does not look like SQLite's (another version's layout) is not used.
        watch.stamp()?;
        Some(watch)
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
        let watch = WalWatch::new(open(&path)).expect("a WAL index to watch");
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
