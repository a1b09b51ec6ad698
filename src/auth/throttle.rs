//! Failed-attempt throttle: an exact sliding log of failure times per key. Once a key has
//! `max` failures within `window_ms`, further attempts are refused without running argon2, so
//! a flood of wrong secrets costs no CPU. Memory is bounded: at most `max` times per key and
//! at most `max_keys` keys (idle keys are dropped when the map is full; each recorded failure
//! cost one argon2 verification, so the map cannot fill faster than argon2 runs).

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::Mutex;

pub struct Throttle<K> {
    max: usize,
    window_ms: i64,
    max_keys: usize,
    log: Mutex<HashMap<K, VecDeque<i64>>>,
}

impl<K: Hash + Eq + Clone> Throttle<K> {
    pub fn new(max: usize, window_ms: i64, max_keys: usize) -> Self {
        Throttle {
            max,
            window_ms,
            max_keys,
            log: Mutex::new(HashMap::new()),
        }
    }

    /// Seconds until `key` may try again, or None when it may try now.
    pub fn blocked_for(&self, key: &K, now_ms: i64) -> Option<u64> {
        let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        let times = log.get_mut(key)?;
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
        if log.len() >= self.max_keys && !log.contains_key(key) {
            let window = self.window_ms;
            log.retain(|_, t| t.back().is_some_and(|&last| last + window > now_ms));
            if log.len() >= self.max_keys {
                return;
            }
        }
        let times = log.entry(key.clone()).or_default();
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
}
