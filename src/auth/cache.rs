//! The verified-credential cache. After one successful argon2 verification, the same id and
//! secret are recognised from memory. Keys are HMAC-SHA-256, under a per-process random key, of
//! the length-delimited id and secret: the plaintext secret is never kept. Bounded (LRU), and
//! emptied whenever the store's access revision changes (a client deleted, a project scheduled
//! for deletion or purged, here or in another process).

use std::hash::{BuildHasherDefault, Hasher};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use hmac::{Hmac, Mac};
use lru::LruCache;
use rand::TryRngCore;
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use crate::domain::hex::LOWER_HEX_VALUE;
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
    /// The client's `expiresAt` when verified (a change empties every cache); from then on
    /// the entry proves the secret but grants nothing (docs/lifecycle.md#expiry).
    pub expires_at: Option<Timestamp>,
    /// For an entry verified with a rotation's previous secret: the end of its grace, after
    /// which the entry is worthless (docs/lifecycle.md#rotation).
    pub secret_until: Option<Timestamp>,
    /// When this client's last use was last recorded (docs/lifecycle.md#last-use).
    pub last_used: LastUse,
}

/// The time (milliseconds) a client's use was last recorded, shared by whoever holds the
/// entry; compared and swapped on every authentication, so recording costs one atomic load
/// until a minute has passed. Compares equal to every other `LastUse`: it is bookkeeping, not
/// part of what an entry proves.
#[derive(Clone, Default)]
pub struct LastUse(Arc<AtomicI64>);

impl LastUse {
    /// Starting from the stored `lastUsedAt` (None: never).
    pub fn new(recorded: Option<Timestamp>) -> Self {
        LastUse(Arc::new(AtomicI64::new(recorded.map_or(i64::MIN, |t| t.0))))
    }

    /// Whether a use at `now` should be recorded: true at most once per `interval_ms` (and
    /// then marks it recorded); false otherwise, after one atomic load.
    pub fn claim(&self, now: Timestamp, interval_ms: i64) -> bool {
        let last = self.0.load(Ordering::Relaxed);
        if now.0.saturating_sub(last) < interval_ms {
            return false;
        }
        self.0
            .compare_exchange(last, now.0, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    }
}

impl PartialEq for LastUse {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for LastUse {}

impl std::fmt::Debug for LastUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LastUse")
    }
}

pub type CacheKey = [u8; 32];

pub struct CredentialCache {
    mac: Hmac<Sha256>,
    /// The same key, for the compact form's single block (the hot path).
    compact: OneBlockHmac,
    inner: Mutex<Inner>,
}

/// HMAC-SHA-256 (RFC 2104) of a message that fits one SHA-256 block with its padding (at
/// most 55 bytes here 33), computed straight from the key's two precomputed pad states with
/// `sha2::compress256`: two compressions and no buffering, the same bytes as the `hmac`
/// crate (tested below). Only the compact cache key uses it.
struct OneBlockHmac {
    /// The SHA-256 state after absorbing `key ⊕ ipad`, and after `key ⊕ opad`.
    inner: [u32; 8],
    outer: [u32; 8],
}

/// SHA-256's initial state (FIPS 180-4, 5.3.3).
const SHA256_IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

impl OneBlockHmac {
    fn new(key: &[u8; 32]) -> Self {
        let pad_state = |pad: u8| {
            let mut block = Zeroizing::new([pad; 64]);
            for (b, k) in block.iter_mut().zip(key) {
                *b ^= k;
            }
            let mut state = SHA256_IV;
            sha2::compress256(
                &mut state,
                std::slice::from_ref(sha2::digest::generic_array::GenericArray::from_slice(
                    &block[..],
                )),
            );
            state
        };
        OneBlockHmac {
            inner: pad_state(0x36),
            outer: pad_state(0x5c),
        }
    }

    /// The MAC of the `N`-byte message at the start of `block` (`N` ≤ 55, the rest of the
    /// block zero), computed in place; `block` is zeroized.
    fn mac_block<const N: usize>(&self, block: &mut [u8; 64]) -> CacheKey {
        const { assert!(N <= 55) };
        block[N] = 0x80;
        // The message's length in bits, after the 64-byte pad block.
        block[56..].copy_from_slice(&(((64 + N) * 8) as u64).to_be_bytes());
        let mut inner = self.inner;
        // Borrowed, not copied: no copy of the message is left behind.
        sha2::compress256(
            &mut inner,
            std::slice::from_ref(sha2::digest::generic_array::GenericArray::from_slice(
                &block[..],
            )),
        );
        block.zeroize();
        let mut outer_block = [0u8; 64];
        for (chunk, word) in outer_block.chunks_exact_mut(4).zip(inner) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        outer_block[32] = 0x80;
        outer_block[56..].copy_from_slice(&(((64 + 32) * 8) as u64).to_be_bytes());
        let mut outer = self.outer;
        sha2::compress256(&mut outer, &[outer_block.into()]);
        let mut out = [0u8; 32];
        for (chunk, word) in out.chunks_exact_mut(4).zip(outer) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }
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
            compact: OneBlockHmac::new(&key),
            inner: Mutex::new(Inner {
                revision: 0,
                entries: LruCache::with_hasher(
                    NonZeroUsize::new(capacity.max(1)).unwrap_or(NonZeroUsize::MIN),
                    BuildHasherDefault::default(),
                ),
            }),
        }
    }

    /// HMAC-SHA-256 of an unambiguous encoding of (id, secret). A lowercase hyphenated UUID
    /// and a `sec_` + 32 lowercase hex digits secret (every generated pair) are encoded as
    /// `1 ‖ 16 id bytes ‖ 16 secret bytes`, which fits one SHA-256 block; anything else as
    /// `2 ‖ len(id) ‖ id ‖ len(secret) ‖ secret`. The leading byte keeps the two forms apart,
    /// and only lowercase hex is decoded, so `sec_AB…` and `sec_ab…` never share a key.
    pub fn key(&self, id: &str, secret: &str) -> CacheKey {
        if let Some(key) = self.compact_key(id, secret) {
            return key;
        }
        let mut mac = self.mac.clone();
        {
            mac.update(&[2]);
            mac.update(&(id.len() as u64).to_be_bytes());
            mac.update(id.as_bytes());
            mac.update(&(secret.len() as u64).to_be_bytes());
            mac.update(secret.as_bytes());
        }
        mac.finalize().into_bytes().into()
    }

    /// [`CredentialCache::key`] for a pair in the compact form only: a lowercase hyphenated
    /// UUID and a `sec_` + 32 lowercase hex digits secret, which is also proof that both are
    /// well formed (every generated pair; the hot path's shortcut). None for anything else.
    pub fn compact_key(&self, id: &str, secret: &str) -> Option<CacheKey> {
        let mut block = [0u8; 64];
        if !compact_form(id, secret, &mut block) {
            block.zeroize();
            return None;
        }
        // `mac_block` zeroizes the block.
        Some(self.compact.mac_block::<33>(&mut block))
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

    /// Forgets `key` (an entry that outlived its secret's grace).
    pub fn remove(&self, key: &CacheKey) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.entries.pop(key);
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

/// Fills `out[..33]` with `1 ‖ id bytes ‖ secret bytes` when both are in their generated form.
fn compact_form(id: &str, secret: &str, out: &mut [u8; 64]) -> bool {
    let Some(hex) = secret.strip_prefix(crate::domain::secret::SECRET_PREFIX) else {
        return false;
    };
    let (id, hex) = (id.as_bytes(), hex.as_bytes());
    if id.len() != 36 || hex.len() != 32 || [8, 13, 18, 23].iter().any(|&i| id[i] != b'-') {
        return false;
    }
    out[0] = 1;
    // (source range, destination offset): the UUID's five groups, then the secret.
    let parts: [(&[u8], usize); 6] = [
        (&id[..8], 1),
        (&id[9..13], 5),
        (&id[14..18], 7),
        (&id[19..23], 9),
        (&id[24..], 11),
        (hex, 17),
    ];
    let mut ok = true;
    for (src, at) in parts {
        for (d, pair) in out[at..].iter_mut().zip(src.chunks_exact(2)) {
            let (h, l) = (
                LOWER_HEX_VALUE[usize::from(pair[0])],
                LOWER_HEX_VALUE[usize::from(pair[1])],
            );
            ok &= (h | l) < 16;
            *d = (h << 4) | (l & 15);
        }
    }
    ok
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
            expires_at: None,
            secret_until: None,
            last_used: LastUse::default(),
        }
    }

    #[test]
    fn a_use_is_claimed_once_per_interval() {
        let l = LastUse::new(None);
        assert!(l.claim(Timestamp(1_000), 60_000));
        assert!(!l.claim(Timestamp(1_000), 60_000));
        assert!(!l.claim(Timestamp(60_999), 60_000));
        assert!(l.claim(Timestamp(61_000), 60_000));
        let recorded = LastUse::new(Some(Timestamp(5_000)));
        assert!(!recorded.claim(Timestamp(64_999), 60_000));
        assert!(recorded.claim(Timestamp(65_000), 60_000));
    }

    #[test]
    fn the_one_block_hmac_is_hmac_sha256() {
        for seed in 0u8..=40 {
            let key: [u8; 32] =
                std::array::from_fn(|i| seed.wrapping_mul(31).wrapping_add(i as u8));
            let fast = OneBlockHmac::new(&key);
            let msg: [u8; 33] = std::array::from_fn(|i| (i as u8) ^ seed.rotate_left(3));
            let mut reference = Hmac::<Sha256>::new_from_slice(&key).unwrap();
            reference.update(&msg);
            let expected: CacheKey = reference.finalize().into_bytes().into();
            let mut block = [0u8; 64];
            block[..33].copy_from_slice(&msg);
            assert_eq!(fast.mac_block::<33>(&mut block), expected, "seed {seed}");
            assert_eq!(block, [0u8; 64], "the message is zeroized");
        }
        // RFC 4231 test case 2 ("Jefe"), whose key is shorter than a block.
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(b"Jefe");
        let msg = b"what do ya want for nothing?";
        let mut reference = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        reference.update(msg);
        let expected: CacheKey = reference.finalize().into_bytes().into();
        let mut block = [0u8; 64];
        block[..28].copy_from_slice(msg);
        assert_eq!(
            OneBlockHmac::new(&key).mac_block::<28>(&mut block),
            expected
        );
        assert_eq!(
            expected[..4],
            [0x5b, 0xdc, 0xc1, 0x46],
            "a 32-byte zero-padded key is the same HMAC key as \"Jefe\""
        );
    }

    #[test]
    fn keys_are_length_delimited_and_per_process() {
        let c = CredentialCache::new(4);
        assert_ne!(c.key("ab", "c"), c.key("a", "bc"));
        assert_eq!(c.key("a", "b"), c.key("a", "b"));
        assert_ne!(c.key("a", "b"), CredentialCache::new(4).key("a", "b"));
    }

    #[test]
    fn generated_pairs_take_the_compact_form_and_nothing_else_collides_with_it() {
        let c = CredentialCache::new(4);
        let id = "6f1f2d3c-4b5a-4c7d-8e9f-0a1b2c3d4e5f";
        let secret = "sec_00112233445566778899aabbccddeeff";
        let mut out = [0u8; 64];
        assert!(compact_form(id, secret, &mut out));
        assert_eq!(out[0], 1);
        assert_eq!(&out[1..4], &[0x6f, 0x1f, 0x2d]);
        assert_eq!(&out[17..20], &[0x00, 0x11, 0x22]);
        assert_eq!(out[32], 0xff);
        // Case matters for secrets: the uppercase one takes the long form, another key.
        let upper = "sec_00112233445566778899AABBCCDDEEFF";
        assert!(!compact_form(id, upper, &mut out));
        assert_ne!(c.key(id, secret), c.key(id, upper));
        for (i, s) in [
            (id, "sec_00112233445566778899aabbccddee"),
            (id, "sec_00112233445566778899aabbccddeeff00"),
            (id, "00112233445566778899aabbccddeeff"),
            ("6f1f2d3c4b5a4c7d8e9f0a1b2c3d4e5f0000", secret),
            ("6F1F2D3C-4B5A-4C7D-8E9F-0A1B2C3D4E5F", secret),
        ] {
            assert!(!compact_form(i, s, &mut out), "{i} {s}");
            assert_ne!(c.key(i, s), c.key(id, secret), "{i} {s}");
        }
        // One digit apart: different keys.
        assert_ne!(
            c.key(id, secret),
            c.key(id, "sec_00112233445566778899aabbccddeefe")
        );
        assert_ne!(
            c.key(id, secret),
            c.key("6f1f2d3c-4b5a-4c7d-8e9f-0a1b2c3d4e5e", secret)
        );
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
