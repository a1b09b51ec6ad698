//! Time: millisecond UTC timestamps rendered as RFC 3339 (`2024-01-15T10:30:00.000Z`), and the
//! injectable [`Clock`] every store is opened with.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Milliseconds since the Unix epoch, UTC. Serialized as RFC 3339 with milliseconds and `Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn millis(self) -> i64 {
        self.0
    }

    /// Adds a number of seconds, saturating at the representable range.
    pub fn plus_seconds(self, seconds: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(seconds.saturating_mul(1000)))
    }

    /// RFC 3339 with exactly three fractional digits and `Z`.
    pub fn to_rfc3339(self) -> String {
        let nanos = i128::from(self.0) * 1_000_000;
        match OffsetDateTime::from_unix_timestamp_nanos(nanos) {
            Ok(dt) => format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                dt.year(),
                u8::from(dt.month()),
                dt.day(),
                dt.hour(),
                dt.minute(),
                dt.second(),
                dt.millisecond()
            ),
            // Out of the calendar's range: only reachable through a hand-edited database.
            Err(_) => String::from("9999-12-31T23:59:59.999Z"),
        }
    }

    /// Parses the RFC 3339 form this type serializes to (any offset accepted, precision cut
    /// to milliseconds).
    pub fn parse_rfc3339(s: &str) -> Option<Timestamp> {
        let dt = OffsetDateTime::parse(s, &Rfc3339).ok()?;
        let millis = dt.unix_timestamp_nanos().div_euclid(1_000_000);
        i64::try_from(millis).ok().map(Timestamp)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Lists serialize three timestamps a row: format on the stack, without allocating.
        let mut buf = [0u8; 24];
        match self.write_rfc3339(&mut buf) {
            Some(text) => serializer.serialize_str(text),
            None => serializer.serialize_str(&self.to_rfc3339()),
        }
    }
}

impl Timestamp {
    /// [`Timestamp::to_rfc3339`] into `buf`, for years 0000–9999 (None outside them).
    pub fn write_rfc3339(self, buf: &mut [u8; 24]) -> Option<&str> {
        // 0000-01-01T00:00:00.000Z ..= 9999-12-31T23:59:59.999Z
        if !(-62_167_219_200_000..=253_402_300_799_999).contains(&self.0) {
            return None;
        }
        let days = self.0.div_euclid(86_400_000);
        let ms_of_day = self.0.rem_euclid(86_400_000);
        let (year, month, day) = civil_from_days(days);
        let (hour, rest) = (ms_of_day / 3_600_000, ms_of_day % 3_600_000);
        let (minute, rest) = (rest / 60_000, rest % 60_000);
        let (second, milli) = (rest / 1000, rest % 1000);
        let digits = |out: &mut [u8], mut n: i64| {
            for slot in out.iter_mut().rev() {
                *slot = b'0' + (n % 10) as u8;
                n /= 10;
            }
        };
        digits(&mut buf[0..4], year);
        buf[4] = b'-';
        digits(&mut buf[5..7], month);
        buf[7] = b'-';
        digits(&mut buf[8..10], day);
        buf[10] = b'T';
        digits(&mut buf[11..13], hour);
        buf[13] = b':';
        digits(&mut buf[14..16], minute);
        buf[16] = b':';
        digits(&mut buf[17..19], second);
        buf[19] = b'.';
        digits(&mut buf[20..23], milli);
        buf[23] = b'Z';
        std::str::from_utf8(buf).ok()
    }
}

/// (year, month, day) of a day count since 1970-01-01 in the proleptic Gregorian calendar
/// (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Timestamp::parse_rfc3339(&s)
            .ok_or_else(|| serde::de::Error::custom("expected an RFC 3339 timestamp"))
    }
}

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
pub fn coarse_clock(clock: libc::clockid_t) -> Option<(i64, i64)> {
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

    #[test]
    fn renders_milliseconds_and_z() {
        assert_eq!(Timestamp(0).to_rfc3339(), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            Timestamp(1_705_314_600_123).to_rfc3339(),
            "2024-01-15T10:30:00.123Z"
        );
    }

    #[test]
    fn the_stack_formatter_agrees_with_the_calendar() {
        let mut buf = [0u8; 24];
        let mut check = |ms: i64| {
            assert_eq!(
                Timestamp(ms).write_rfc3339(&mut buf).map(str::to_owned),
                Some(Timestamp(ms).to_rfc3339()),
                "{ms}"
            );
        };
        for ms in [
            0,
            -1,
            1,
            1_705_314_600_123,
            951_782_400_000,     // 2000-02-29
            4_107_542_399_999,   // 2100-02-28T23:59:59.999
            -62_167_219_200_000, // 0000-01-01
            253_402_300_799_999, // 9999-12-31T23:59:59.999
            -2_208_988_800_001,  // 1899-12-31T23:59:59.999
        ] {
            check(ms);
        }
        // Every day of a few centuries, at a varying time of day.
        let mut ms = -5_000_000_000_000i64;
        while ms < 8_000_000_000_000 {
            check(ms);
            ms += 86_400_000 + 3_723_457;
        }
        assert_eq!(Timestamp(-62_167_219_200_001).write_rfc3339(&mut buf), None);
        assert_eq!(Timestamp(253_402_300_800_000).write_rfc3339(&mut buf), None);
        assert_eq!(
            serde_json::to_string(&Timestamp(1_705_314_600_123)).unwrap(),
            "\"2024-01-15T10:30:00.123Z\""
        );
    }

    #[test]
    fn round_trips() {
        let t = Timestamp(1_705_314_600_123);
        assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339()), Some(t));
    }
}
