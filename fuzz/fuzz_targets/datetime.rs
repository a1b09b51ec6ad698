//! Reference datetimes: whatever `validate::datetime` accepts is rendered as RFC 3339 in UTC
//! with milliseconds, and that rendering parses back to the same instant; timestamps in the
//! four-digit-year range round-trip through their text.

#![no_main]

use libfuzzer_sys::fuzz_target;
use opcore::domain::validate::datetime;
use opcore::Timestamp;

/// 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z.
const MIN_MS: i64 = -62_167_219_200_000;
const MAX_MS: i64 = 253_402_300_799_999;

fn assert_rendering(text: &str) {
    let b = text.as_bytes();
    let shaped = b.len() == 24
        && [4, 7].iter().all(|&i| b[i] == b'-')
        && b[10] == b'T'
        && [13, 16].iter().all(|&i| b[i] == b':')
        && b[19] == b'.'
        && b[23] == b'Z'
        && [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22]
            .iter()
            .all(|&i| b[i].is_ascii_digit());
    assert!(shaped, "{text:?} is not YYYY-MM-DDTHH:MM:SS.mmmZ");
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match datetime(&text) {
        Ok(t) => {
            let rendered = t.to_rfc3339();
            assert_rendering(&rendered);
            assert_eq!(
                datetime(&rendered).ok(),
                Some(t),
                "{text:?} -> {rendered:?} does not parse back"
            );
            assert_eq!(Timestamp::parse_rfc3339(&rendered), Some(t));
        }
        Err(e) => assert!(
            e.to_string().starts_with("datetime: Invalid datetime: expected an ISO 8601"),
            "{e}"
        ),
    }

    if let Some((n, _)) = data.split_first_chunk::<8>() {
        // Every instant opcore can store (the parser refuses anything outside four-digit
        // years) renders in the fixed shape and parses back to itself.
        let t = Timestamp(i64::from_le_bytes(*n));
        let rendered = t.to_rfc3339();
        if (MIN_MS..=MAX_MS).contains(&t.0) {
            assert_rendering(&rendered);
            assert_eq!(datetime(&rendered).ok(), Some(t), "{} -> {rendered}", t.0);
        }
    }
});
