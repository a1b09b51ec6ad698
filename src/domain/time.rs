//! Time: millisecond UTC timestamps rendered as RFC 3339 (`2024-01-15T10:30:00.000Z`). The
//! clocks that tell "now" are in [`super::clock`].

use std::fmt;

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

#[cfg(test)]
mod tests {
    use super::*;

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
