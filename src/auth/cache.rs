//! The verified-credential cache. After one successful argon2 verification, the same id and
//! secret are recognised from memory. Keys are HMAC-SHA-256, under a per-process random key, of
//! the length-delimited id and secret: the plaintext secret is never kept. Bounded (LRU), and
//! emptied whenever the store's access revision changes (a client deleted, a project scheduled
//! for deletion or purged, here or in another process).

use std::hash::{BuildHasherDefault, Hasher};
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use hmac::{Hmac, Mac};
use lru::LruCache;
use rand::TryRngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::domain::model::ClientType;
use crate::domain::tier::Tier;
use crate::domain::time::Timestamp;

/// What a cache hit proves about the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedClient {
    pub client_id: Arc<str>,
    pub organization_id: Arc<str>,
    pub client_type: ClientType,
    pub project_id: Option<Arc<str>>,
    pub ignore_cors_and_secret: bool,
    /// The project's `deleteAt` when verified; past it, the entry grants nothing.
    pub project_delete_at: Option<Timestamp>,
    /// The client's rate-limit tier (a tier change empties every cache).
    pub tier: Option<Tier>,
}

pub type CacheKey = [u8; 32];

pub struct CredentialCache {
    mac: Hmac<Sha256>,
    inner: Mutex<Inner>,
}

struct Inner {
    revision: u64,
    entries: LruCache<CacheKey, CachedClient, BuildHasherDefault<MacHasher>>,
}

/// Hashes a cache key by taking 8 of its bytes: keys are HMAC outputs under a secret key,
/// already uniform and unpredictable to callers, so hashing them again buys nothing.
#[derive(Default)]
struct MacHasher(u64);

impl Hasher for MacHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // `[u8; 32]` hashes as its length, then its bytes; fold whatever arrives.
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(word);
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.0 = self.0.rotate_left(5) ^ n as u64;
    }
}

impl CredentialCache {
    pub fn new(capacity: usize) -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        // The OS CSPRNG failing is unrecoverable for a security library; a fixed key would
        // still never expose a secret (only the cache keys would become predictable).
        let _ = rand::rngs::OsRng.try_fill_bytes(key.as_mut());
        let mac = Hmac::<Sha256>::new_from_slice(key.as_ref()).expect("HMAC takes any key length");
        CredentialCache {
            mac,
            inner: Mutex::new(Inner {
                revision: 0,
                entries: LruCache::with_hasher(
                    NonZeroUsize::new(capacity.max(1)).unwrap_or(NonZeroUsize::MIN),
                    BuildHasherDefault::default(),
                ),
            }),
        }
    }

    /// HMAC of `len(id) ‖ id ‖ len(secret) ‖ secret`, so no two (id, secret) pairs collide by
    /// concatenation.
    pub fn key(&self, id: &str, secret: &str) -> CacheKey {
        let mut mac = self.mac.clone();
        mac.update(&(id.len() as u64).to_be_bytes());
        mac.update(id.as_bytes());
        mac.update(&(secret.len() as u64).to_be_bytes());
        mac.update(secret.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The entry for `key`, if present and recorded under `revision`. A newer revision
    /// empties the cache first.
    pub fn get(&self, key: &CacheKey, revision: u64) -> Option<CachedClient> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.revision != revision {
            inner.entries.clear();
            inner.revision = revision;
            return None;
        }
        inner.entries.get(key).cloned()
    }

    /// Stores an entry verified while the store was at `revision`; ignored if the revision
    /// has moved on since (the verification may have seen a client that is now deleted).
    pub fn insert(&self, key: CacheKey, revision: u64, client: CachedClient) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.revision != revision {
            return;
        }
        inner.entries.put(key, client);
    }

    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entries
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> CachedClient {
        CachedClient {
            client_id: "c".into(),
            organization_id: "o".into(),
            client_type: ClientType::Root,
            project_id: None,
            ignore_cors_and_secret: false,
            project_delete_at: None,
            tier: None,
        }
    }

    #[test]
    fn keys_are_length_delimited_and_per_process() {
        let c = CredentialCache::new(4);
        assert_ne!(c.key("ab", "c"), c.key("a", "bc"));
        assert_eq!(c.key("a", "b"), c.key("a", "b"));
        assert_ne!(c.key("a", "b"), CredentialCache::new(4).key("a", "b"));
    }

    #[test]
    fn a_new_revision_empties_the_cache_and_stale_inserts_are_dropped() {
        let c = CredentialCache::new(4);
        let k = c.key("a", "b");
        assert_eq!(c.get(&k, 0), None);
        c.insert(k, 0, client());
        assert_eq!(c.get(&k, 0), Some(client()));
        assert_eq!(c.get(&k, 1), None);
        c.insert(k, 0, client());
        assert_eq!(c.get(&k, 1), None);
    }

    #[test]
    fn bounded() {
        let c = CredentialCache::new(2);
        for i in 0..5 {
            c.insert(c.key(&i.to_string(), "s"), 0, client());
        }
        assert_eq!(c.len(), 2);
    }
}
