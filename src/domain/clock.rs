//! The injectable [`Clock`] every store is opened with: the system's wall clock
//! ([`SystemClock`]), a clock that moves only when told to ([`ManualClock`]), and Linux's coarse
//! clocks.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use super::time::Timestamp;

/// Where a store gets "now" from. Tests use [`ManualClock`] so nothing ever sleeps.
pub trait Clock: Send + Sync + fmt::Debug {
    fn now(&self) -> Timestamp;

    /// "Now" for decisions that tolerate a few milliseconds of error and run on every request
    /// (rate limits, failed-attempt throttles, expiry of a cached credential's project):
    /// never ahead of [`Clock::now`], at most one scheduler tick behind. Defaults to `now`.
    fn now_coarse(&self) -> Timestamp {
        self.now()
    }
}

/// The system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        // Milliseconds straight from the system clock: no calendar conversion on the hot path.
        let millis = match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            Ok(since) => i64::try_from(since.as_millis()).unwrap_or(i64::MAX),
            Err(before) => i64::try_from(before.duration().as_millis()).map_or(i64::MIN, |m| -m),
        };
        Timestamp(millis)
    }

    /// Linux's `CLOCK_REALTIME_COARSE`: the time of the last scheduler tick, read without the
    /// hardware clock (a fraction of the cost of `now` on virtual machines).
    #[cfg(target_os = "linux")]
    fn now_coarse(&self) -> Timestamp {
        let Some((secs, nanos)) = coarse_clock(libc::CLOCK_REALTIME_COARSE) else {
            return self.now();
        };
        let millis = nanos / 1_000_000;
        Timestamp(secs.saturating_mul(1000).saturating_add(millis))
    }
}

/// Seconds and nanoseconds of one of Linux's coarse clocks (`CLOCK_REALTIME_COARSE`,
/// `CLOCK_MONOTONIC_COARSE`): the time of the last scheduler tick, read without the hardware
/// clock. None if the call fails.
#[cfg(target_os = "linux")]
pub(crate) fn coarse_clock(clock: libc::clockid_t) -> Option<(i64, i64)> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec and the only memory the call writes.
    if unsafe { libc::clock_gettime(clock, &mut ts) } != 0 {
        return None;
    }
    // `time_t` and `c_long` are 32 bits on some Linux targets.
    #[allow(clippy::useless_conversion)]
    Some((i64::from(ts.tv_sec), i64::from(ts.tv_nsec)))
}

/// A clock that moves only when told to; clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        ManualClock(Arc::new(AtomicI64::new(start.0)))
    }

    pub fn set(&self, t: Timestamp) {
        self.0.store(t.0, Ordering::SeqCst);
    }

    pub fn advance_ms(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }

    pub fn advance_secs(&self, secs: i64) {
        self.advance_ms(secs.saturating_mul(1000));
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_coarse_system_clock_is_never_ahead_and_at_most_a_tick_behind() {
        let clock = SystemClock;
        for _ in 0..1000 {
            let coarse = clock.now_coarse();
            let precise = clock.now();
            assert!(coarse.0 <= precise.0, "{coarse:?} > {precise:?}");
            // A tick is 1-10 ms; allow for a descheduled thread, not for a unit error.
            assert!(precise.0 - coarse.0 < 1_000, "{coarse:?} vs {precise:?}");
        }
        // Both are milliseconds since the Unix epoch: after 2020, before 2200.
        assert!((1_577_836_800_000..7_258_118_400_000).contains(&clock.now_coarse().0));
    }
}
