//! A bucketed sliding-window limiter with a hard guarantee: **no window of the limit's length
//! ever admits more than the limit**.
//!
//! Each key keeps `BUCKETS + 1` counters of `ceil(window / BUCKETS)` each. A request at `now`
//! is admitted only if the counters that intersect `[now - window, now]` hold fewer than
//! `limit` requests. Because those counters cover the whole window ending at every admitted
//! request, any window of that length holds at most `limit` admissions. The price is the one
//! extra bucket: a client sending continuously is admitted `BUCKETS / (BUCKETS + 1)` of the
//! limit (95.2% with 20 buckets), and an idle client may send the full limit at once.
//! (A GCRA, e.g. `governor`, lets a client burst the limit and then keep sending at the
//! replenish rate, which admits up to twice the limit in one window, so it does not fit.)
//!
//! Memory is ~100 bytes per key; keys idle for a whole window are evicted as the map is used.

use std::hash::{BuildHasher, Hash};
use std::sync::Mutex;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

use crate::options::RateLimit;

/// Counters per window (the window's granularity).
pub const BUCKETS: usize = 20;
const SLOTS: usize = BUCKETS + 1;
const SHARDS: usize = 16;

/// The outcome of one rate-limit check, with what the `x-ratelimit-*` headers carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    /// Requests left in the current window after this one.
    pub remaining: u32,
    /// Seconds until the quota is full again.
    pub reset_seconds: u64,
    /// Seconds until the next request can succeed (only when refused).
    pub retry_after_seconds: Option<u64>,
    /// For a client with a rate-limit tier: the state of its burst window (the
    /// `x-ratelimit-burst-*` headers). None for the per-family limits of docs/security.md.
    pub burst: Option<Quota>,
}

/// One window's state, as reported in headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub limit: u32,
    pub remaining: u32,
    pub reset_seconds: u64,
}

impl Decision {
    /// This decision's own window, as a [`Quota`].
    pub fn quota(&self) -> Quota {
        Quota {
            limit: self.limit,
            remaining: self.remaining,
            reset_seconds: self.reset_seconds,
        }
    }
}

#[derive(Clone, Copy)]
struct Window {
    /// The slot index (time / bucket length) of the newest counter.
    newest_slot: i64,
    /// When the last request was admitted: a key idle for a whole window starts afresh, even
    /// if that request's bucket still overlaps the window.
    last_admitted_ms: i64,
    counts: [u32; SLOTS],
}

impl Window {
    fn new(slot: i64) -> Self {
        Window {
            newest_slot: slot,
            last_admitted_ms: i64::MIN,
            counts: [0; SLOTS],
        }
    }

    /// Moves the ring forward to `slot`, zeroing the counters that fall out of range.
    fn advance(&mut self, slot: i64) {
        if slot <= self.newest_slot {
            return;
        }
        let steps = (slot - self.newest_slot).min(SLOTS as i64);
        for i in 1..=steps {
            let s = self.newest_slot + i;
            self.counts[s.rem_euclid(SLOTS as i64) as usize] = 0;
        }
        self.newest_slot = slot;
    }

    fn total(&self) -> u32 {
        self.counts.iter().sum()
    }

    /// The slot index of the newest counter holding a request, if any.
    fn newest_non_empty(&self) -> Option<i64> {
        (0..SLOTS as i64)
            .map(|i| self.newest_slot - i)
            .find(|s| self.counts[s.rem_euclid(SLOTS as i64) as usize] > 0)
    }

    /// Counters from oldest to newest, with their slot index.
    fn oldest_first(&self) -> impl Iterator<Item = (i64, u32)> + '_ {
        (0..SLOTS as i64).map(move |i| {
            let slot = self.newest_slot - (SLOTS as i64 - 1) + i;
            (slot, self.counts[slot.rem_euclid(SLOTS as i64) as usize])
        })
    }
}

/// Rate limiter keyed by `K`, sharded so threads on different keys rarely contend.
pub struct RateLimiter<K> {
    shards: Vec<Mutex<Shard<K>>>,
    /// Keys are authenticated client ids (never attacker-chosen), so a fast non-keyed hash is
    /// safe here and keeps a decision well under 100 ns.
    hasher: FxBuildHasher,
}

struct Shard<K> {
    /// Keyed by the same hash that chose the shard: one hash per decision, and a key is cloned
    /// only when it is first seen.
    map: HashTable<(K, Window)>,
    last_sweep_ms: i64,
}

impl<K: Hash + Eq + Clone> Default for RateLimiter<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    pub fn new() -> Self {
        RateLimiter {
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        map: HashTable::new(),
                        last_sweep_ms: i64::MIN,
                    })
                })
                .collect(),
            hasher: FxBuildHasher,
        }
    }

    /// Checks (and on success counts) one request for `key` at `now_ms`.
    pub fn check(&self, key: &K, limit: RateLimit, now_ms: i64) -> Decision {
        self.decide(key, limit, now_ms, true)
    }

    /// What [`RateLimiter::check`] would decide, without counting anything: `remaining` and
    /// `reset_seconds` describe the window as it is.
    pub fn peek(&self, key: &K, limit: RateLimit, now_ms: i64) -> Decision {
        self.decide(key, limit, now_ms, false)
    }

    /// Takes back one request counted by [`RateLimiter::check`] at the same `now_ms` (when a
    /// second limit refused it). Between the check and the refund the request was counted,
    /// which can only make other requests wait, never admit more than the limit.
    pub fn refund(&self, key: &K, limit: RateLimit, now_ms: i64) {
        let window_ms = i64::from(limit.window_seconds.max(1)) * 1000;
        let bucket_ms = (window_ms + BUCKETS as i64 - 1) / BUCKETS as i64;
        let slot = now_ms.div_euclid(bucket_ms);
        let hash = self.hasher.hash_one(key);
        let mut shard = self.shards[shard_of(hash)]
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some((_, window)) = shard.map.find_mut(hash, |(k, _)| k == key) {
            if slot <= window.newest_slot && window.newest_slot - slot < SLOTS as i64 {
                let count = &mut window.counts[slot.rem_euclid(SLOTS as i64) as usize];
                *count = count.saturating_sub(1);
            }
        }
    }

    fn decide(&self, key: &K, limit: RateLimit, now_ms: i64, count: bool) -> Decision {
        let window_ms = i64::from(limit.window_seconds.max(1)) * 1000;
        let bucket_ms = (window_ms + BUCKETS as i64 - 1) / BUCKETS as i64;
        let slot = now_ms.div_euclid(bucket_ms);
        let hash = self.hasher.hash_one(key);
        let mut guard = self.shards[shard_of(hash)]
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let shard = &mut *guard;
        // Evict keys idle for longer than a whole window, at most once per window per shard.
        if now_ms.saturating_sub(shard.last_sweep_ms) >= window_ms {
            shard.last_sweep_ms = now_ms;
            shard
                .map
                .retain(|(_, w)| slot - w.newest_slot < SLOTS as i64);
        }
        let window = match shard.map.find_mut(hash, |(k, _)| k == key) {
            Some((_, window)) => window,
            None => {
                let hasher = &self.hasher;
                &mut shard
                    .map
                    .insert_unique(hash, (key.clone(), Window::new(slot)), |(k, _)| {
                        hasher.hash_one(k)
                    })
                    .into_mut()
                    .1
            }
        };
        window.advance(slot);
        // Idle for a whole window: no admitted request lies in [now - window, now).
        if now_ms.saturating_sub(window.last_admitted_ms) >= window_ms {
            window.counts = [0; SLOTS];
        }
        let mut used = window.total();
        let lim = limit.limit;
        let allowed = used < lim;
        if allowed && count {
            window.counts[slot.rem_euclid(SLOTS as i64) as usize] += 1;
            window.last_admitted_ms = now_ms;
            used += 1;
        }
        // The quota is full again once the newest non-empty counter leaves the range, or once
        // the key has been idle for a whole window, whichever comes first.
        let idle_reset_ms = window
            .last_admitted_ms
            .saturating_add(window_ms)
            .saturating_sub(now_ms);
        let newest_used = window.newest_non_empty();
        let reset_ms = newest_used.map_or(0, |s| {
            ((s + SLOTS as i64) * bucket_ms - now_ms).min(idle_reset_ms)
        });
        let retry_after_seconds = (!allowed).then(|| {
            // Drop counters oldest-first until fewer than `limit` remain.
            let mut left = used;
            let mut at_ms = 0;
            for (s, c) in window.oldest_first() {
                if left < lim {
                    break;
                }
                left -= c;
                at_ms = (s + SLOTS as i64) * bucket_ms - now_ms;
            }
            ceil_seconds(at_ms.min(idle_reset_ms)).max(1)
        });
        Decision {
            allowed,
            limit: lim,
            remaining: lim.saturating_sub(used),
            reset_seconds: ceil_seconds(reset_ms),
            retry_after_seconds,
            burst: None,
        }
    }

    /// How many keys are tracked now (for memory tests).
    pub fn tracked_keys(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).map.len())
            .sum()
    }
}

/// The shard from the hash's top bits: the maps inside use the low bits, so keys of one shard
/// still spread over their map.
fn shard_of(hash: u64) -> usize {
    const _: () = assert!(SHARDS == 16);
    (hash >> 60) as usize
}

fn ceil_seconds(ms: i64) -> u64 {
    u64::try_from((ms.max(0) + 999) / 1000).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const L: RateLimit = RateLimit::new(20, 10);

    #[test]
    fn idle_client_gets_the_full_limit_at_once_then_429_with_headers() {
        let rl = RateLimiter::new();
        for i in 0..20 {
            let d = rl.check(&1u32, L, 1_000);
            assert!(d.allowed);
            assert_eq!(d.remaining, 19 - i);
            assert_eq!(d.limit, 20);
        }
        let d = rl.check(&1u32, L, 1_000);
        assert!(!d.allowed);
        assert_eq!(d.remaining, 0);
        // The last admission was at 1000: idle for a whole window at 11000.
        assert_eq!(d.retry_after_seconds, Some(10));
        assert_eq!(d.reset_seconds, 10);
        assert!(!rl.check(&1u32, L, 10_999).allowed);
        for _ in 0..20 {
            assert!(rl.check(&1u32, L, 11_000).allowed);
        }
        assert!(!rl.check(&1u32, L, 11_000).allowed);
        // Other keys are independent.
        assert!(rl.check(&2u32, L, 1_000).allowed);
    }

    #[test]
    fn requests_spread_over_the_window_free_up_bucket_by_bucket() {
        let rl = RateLimiter::new();
        // 10 at t=0, 10 at t=6000: full; at t=10500 the first bucket has left the range.
        for _ in 0..10 {
            assert!(rl.check(&1u32, L, 0).allowed);
        }
        for _ in 0..10 {
            assert!(rl.check(&1u32, L, 6_000).allowed);
        }
        let d = rl.check(&1u32, L, 6_000);
        assert!(!d.allowed);
        assert_eq!(d.retry_after_seconds, Some(5)); // bucket [0, 500) leaves at 10500
        assert_eq!(d.reset_seconds, 10); // idle for a window after 6000 → 16000
        assert!(!rl.check(&1u32, L, 10_499).allowed);
        assert!(rl.check(&1u32, L, 10_500).allowed);
    }

    #[test]
    fn peek_counts_nothing_and_refund_takes_back_one_request() {
        let rl = RateLimiter::new();
        let l = RateLimit::new(3, 10);
        assert_eq!(rl.peek(&1u32, l, 0).remaining, 3);
        assert!(rl.check(&1u32, l, 0).allowed);
        assert!(rl.check(&1u32, l, 0).allowed);
        let p = rl.peek(&1u32, l, 0);
        assert!(p.allowed);
        assert_eq!((p.remaining, p.burst), (1, None));
        rl.refund(&1u32, l, 0);
        assert_eq!(rl.peek(&1u32, l, 0).remaining, 2);
        assert!(rl.check(&1u32, l, 0).allowed);
        assert!(rl.check(&1u32, l, 0).allowed);
        assert!(!rl.check(&1u32, l, 0).allowed);
        // A refund for a key that was never seen, or to an empty bucket, changes nothing.
        rl.refund(&2u32, l, 0);
        rl.refund(&1u32, l, 9_000);
        assert_eq!(rl.peek(&1u32, l, 9_000).remaining, 0);
    }

    #[test]
    fn idle_keys_are_evicted() {
        let rl = RateLimiter::new();
        for k in 0..100_000u32 {
            rl.check(&k, L, 0);
        }
        assert_eq!(rl.tracked_keys(), 100_000);
        // A window and a bucket later every old key is idle; touching the shards sweeps them.
        for k in 0..1_000u32 {
            rl.check(&(1_000_000 + k), L, 11_000);
        }
        assert!(rl.tracked_keys() <= 1_000, "{}", rl.tracked_keys());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// For random arrival times, no window of the limit's length admits more than it.
        #[test]
        fn no_window_admits_more_than_the_limit(
            limit in 1u32..30,
            window in 1u32..5,
            gaps in proptest::collection::vec(0i64..400, 1..600),
        ) {
            let rl = RateLimiter::new();
            let l = RateLimit::new(limit, window);
            let mut now = 0i64;
            let mut admitted = Vec::new();
            for g in gaps {
                now += g;
                if rl.check(&0u8, l, now).allowed {
                    admitted.push(now);
                }
            }
            let w = i64::from(window) * 1000;
            for (i, &start) in admitted.iter().enumerate() {
                let in_window = admitted[i..].iter().take_while(|&&t| t < start + w).count();
                prop_assert!(in_window as u32 <= limit, "{} admitted in [{start}, {})", in_window, start + w);
            }
        }

        /// A client sending continuously for 100 windows gets at least 90% of the limit.
        #[test]
        fn continuous_sender_gets_at_least_90_percent(limit in 1u32..200, window in 1u32..10, step in 5i64..50) {
            let rl = RateLimiter::new();
            let l = RateLimit::new(limit, window);
            let end = i64::from(window) * 1000 * 100;
            let mut admitted = 0u64;
            let mut now = 0;
            while now < end {
                if rl.check(&0u8, l, now).allowed {
                    admitted += 1;
                }
                now += step;
            }
            let sent = (end / step) as u64;
            let expected = (u64::from(limit) * 100).min(sent);
            prop_assert!(admitted * 10 >= expected * 9, "admitted {admitted} of {expected}");
        }
    }
}
