//! Failed-attempt throttle: an exact sliding log of failure times per key. Once a key has
//! `max` failures within `window_ms`, its further *wrong* secrets are answered 429 instead of
//! 401 (the caller decides a secret is wrong first; a right secret is never refused, see
//! docs/security.md#the-failed-attempt-throttle). Memory is bounded: at most `max` times per
//! key and at most `max_keys` keys. When the map is full, keys idle for a whole window are
//! swept out — at most once per `window_ms / 60`, so a flood of new keys cannot make every
//! request pay for a sweep — and failures of new keys are not recorded until there is room
//! (the throttle only slows guessers; it protects nothing that the check value does not).

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::Mutex;

pub struct Throttle<K> {
    max: usize,
    window_ms: i64,
    max_keys: usize,
    log: Mutex<Log<K>>,
}

struct Log<K> {
    times: HashMap<K, VecDeque<i64>>,
    last_sweep_ms: i64,
}

impl<K: Hash + Eq + Clone> Throttle<K> {
    pub fn new(max: usize, window_ms: i64, max_keys: usize) -> Self {
        Throttle {
            max,
            window_ms,
            max_keys,
            log: Mutex::new(Log {
                times: HashMap::new(),
                last_sweep_ms: i64::MIN,
            }),
        }
    }

    /// Seconds until `key` may try again, or None when it may try now.
    pub fn blocked_for(&self, key: &K, now_ms: i64) -> Option<u64> {
        let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        let times = log.times.get_mut(key)?;
        while times.front().is_some_and(|&t| t + self.window_ms <= now_ms) {
            times.pop_front();
        }
        if times.len() < self.max {
            return None;
        }
        let oldest = *times.front()?;
        let wait_ms = (oldest + self.window_ms - now_ms).max(1);
        Some(u64::try_from((wait_ms + 999) / 1000).unwrap_or(1))
    }

    /// Records one failed verification for `key`.
    pub fn record_failure(&self, key: &K, now_ms: i64) {
        let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        if log.times.len() >= self.max_keys && !log.times.contains_key(key) {
            let window = self.window_ms;
            if now_ms.saturating_sub(log.last_sweep_ms) < (window / 60).max(1) {
                return;
            }
            log.last_sweep_ms = now_ms;
            log.times
                .retain(|_, t| t.back().is_some_and(|&last| last + window > now_ms));
            if log.times.len() >= self.max_keys {
                return;
            }
        }
        let times = log.times.entry(key.clone()).or_default();
        times.push_back(now_ms);
        while times.len() > self.max {
            times.pop_front();
        }
    }

    /// Forgets a key's failures (after a successful verification).
    pub fn clear(&self, key: &K) {
        self.log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .times
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_failures_per_minute_then_blocked_until_the_oldest_expires() {
        let t = Throttle::new(10, 60_000, 100);
        for i in 0..10 {
            assert_eq!(t.blocked_for(&"a", i * 1000), None);
            t.record_failure(&"a", i * 1000);
        }
        assert_eq!(t.blocked_for(&"a", 10_000), Some(50));
        assert_eq!(t.blocked_for(&"b", 10_000), None);
        assert_eq!(t.blocked_for(&"a", 59_999), Some(1));
        assert_eq!(t.blocked_for(&"a", 60_000), None);
    }

    #[test]
    fn a_full_map_sweeps_at_most_once_per_sixtieth_of_the_window() {
        let t = Throttle::new(1, 60_000, 2);
        t.record_failure(&"a", 0);
        t.record_failure(&"b", 0);
        assert_eq!(t.blocked_for(&"a", 0), Some(60));
        // Full, nothing idle yet: the sweep finds no room and "c" is not recorded.
        t.record_failure(&"c", 59_800);
        assert_eq!(t.blocked_for(&"c", 59_800), None);
        // "a" and "b" are idle now, but the last sweep was 300 ms ago: no sweep, no room.
        t.record_failure(&"d", 60_100);
        assert_eq!(t.blocked_for(&"d", 60_100), None);
        // A second after that sweep, the next one makes room and "d" is recorded.
        t.record_failure(&"d", 60_900);
        assert_eq!(t.blocked_for(&"d", 60_900), Some(60));
        assert_eq!(t.blocked_for(&"a", 60_900), None);
    }
}
