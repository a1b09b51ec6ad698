//! The page cache (docs/server.md#the-page-cache): serialized list responses, reused while
//! nothing they depend on can have changed. An entry is valid while the store's data revision
//! (moved by every committed write, in any process) is the one it was produced under, and
//! until the first deletion time of a project of its organization that was still ahead when
//! it was produced (past that time the project's clients and references drop out of lists).
//! Validity is checked against storage on every use, in the same statement as the acting
//! client's existence check, so a cached page is never staler than a fresh read.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use lru::LruCache;

use crate::domain::time::Timestamp;

/// How many pages are kept, per store handle family (clones share one cache).
const CAPACITY: usize = 256;
/// Larger pages are served but not kept: at most `CAPACITY × MAX_BYTES` (16 MiB) in memory.
pub(crate) const MAX_BYTES: usize = 64 * 1024;
/// Longer keys (a long cursor) are not kept.
const MAX_KEY_BYTES: usize = 512;

struct Entry {
    revision: u64,
    valid_until: Option<Timestamp>,
    body: Arc<[u8]>,
}

pub(crate) struct PageCache {
    entries: Mutex<LruCache<String, Entry>>,
}

impl std::fmt::Debug for PageCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageCache").finish_non_exhaustive()
    }
}

impl Default for PageCache {
    fn default() -> Self {
        PageCache {
            entries: Mutex::new(LruCache::new(
                NonZeroUsize::new(CAPACITY).unwrap_or(NonZeroUsize::MIN),
            )),
        }
    }
}

impl PageCache {
    /// The page kept under `key` if it was produced under `revision` and is still valid at
    /// `now`.
    pub(crate) fn get(&self, key: &str, revision: u64, now: Timestamp) -> Option<Arc<[u8]>> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let entry = entries.get(key)?;
        if entry.revision == revision && entry.valid_until.is_none_or(|until| now < until) {
            return Some(entry.body.clone());
        }
        None
    }

    /// Keeps `body`, produced under `revision`, until `valid_until` (if any).
    pub(crate) fn put(
        &self,
        key: String,
        revision: u64,
        valid_until: Option<Timestamp>,
        body: &[u8],
    ) {
        if key.len() > MAX_KEY_BYTES || body.len() > MAX_BYTES {
            return;
        }
        let entry = Entry {
            revision,
            valid_until,
            body: body.into(),
        };
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .put(key, entry);
    }
}
