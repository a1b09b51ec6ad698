//! Field validation for request bodies (see `docs/behaviour.md`), with errors shaped like zod's issues
//! (`{"path": ["cors", 2], "message": "..."}`) so a 400 can name every offending field.
//!
//! Messages name the problem and repeat at most the offending value (shortened when long),
//! never anything else from the request.

use std::fmt;

use serde::Serialize;
use time::format_description::well_known::Rfc2822;
use time::macros::format_description;
use time::parsing::Parsed;
use time::{Date, OffsetDateTime};

use super::cors;
use super::model::{ClientType, ProjectType};
use super::tier::Tier;
use super::time::Timestamp;

/// One step of a field path: an object key or an array index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum PathSegment {
    Key(String),
    Index(usize),
}

/// A validation failure on one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub path: Vec<PathSegment>,
    pub message: String,
}

impl FieldError {
    /// An error on a top-level field: path `[field]`.
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        FieldError {
            path: vec![PathSegment::Key(field.to_string())],
            message: message.into(),
        }
    }

    /// An error on one element of an array field: path `[field, index]`.
    pub fn at_index(field: &str, index: usize, message: impl Into<String>) -> Self {
        FieldError {
            path: vec![
                PathSegment::Key(field.to_string()),
                PathSegment::Index(index),
            ],
            message: message.into(),
        }
    }
}

/// `name: String must contain at least 1 character(s)`; indexes print as `cors[2]`.
impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.path.iter().enumerate() {
            match segment {
                PathSegment::Key(key) if i == 0 => f.write_str(key)?,
                PathSegment::Key(key) => write!(f, ".{key}")?,
                PathSegment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        if !self.path.is_empty() {
            f.write_str(": ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for FieldError {}

/// The longest `name` or `title`, in characters (Unicode scalar values) as sent.
pub const MAX_TEXT_LEN: usize = 255;

/// The longest `domain` accepted, in characters.
pub const MAX_URL_LEN: usize = 2048;

/// How much of an offending value an error message repeats.
const MAX_ECHO_CHARS: usize = 40;

/// Whether `s` is a UUID in its hyphenated 36-character form (either case), the only form
/// client ids take: exactly what `uuid::Uuid::parse_str` accepts at that length, checked
/// without decoding (this runs on every authentication).
pub fn is_hyphenated_uuid(s: &str) -> bool {
    const HEX: [bool; 256] = {
        let mut t = [false; 256];
        let mut i = 0;
        while i < 256 {
            t[i] = (i as u8).is_ascii_hexdigit();
            i += 1;
        }
        t
    };
    let b = s.as_bytes();
    if b.len() != 36 || b[8] != b'-' || b[13] != b'-' || b[18] != b'-' || b[23] != b'-' {
        return false;
    }
    // Branch-free over each group of hex digits.
    [&b[..8], &b[9..13], &b[14..18], &b[19..23], &b[24..]]
        .iter()
        .all(|group| group.iter().fold(true, |ok, &c| ok & HEX[usize::from(c)]))
}

/// The canonical (lowercase) form of a hyphenated UUID ([`is_hyphenated_uuid`]), or None for
/// anything else: ids that are not UUIDs of that shape cannot exist.
///
/// ```
/// use opcore::domain::validate::canonical_uuid;
/// assert_eq!(
///     canonical_uuid("0F2A6B1C-3D4E-4F50-8A6B-7C8D9E0F1A2B").as_deref(),
///     Some("0f2a6b1c-3d4e-4f50-8a6b-7c8d9e0f1a2b")
/// );
/// assert_eq!(canonical_uuid("0f2a6b1c3d4e4f508a6b7c8d9e0f1a2b"), None);
/// ```
pub fn canonical_uuid(s: &str) -> Option<String> {
    is_hyphenated_uuid(s).then(|| s.to_ascii_lowercase())
}

/// A `name` or `title`, stored as sent (no trimming): 1 to [`MAX_TEXT_LEN`] characters
/// (Unicode scalar values), not blank (only whitespace or invisible characters, see
/// [`is_invisible`]), without control characters (U+0000–U+001F, U+007F–U+009F) or
/// bidirectional overrides (U+202A–U+202E, U+2066–U+2069).
///
/// ```
/// use opcore::domain::validate::text;
/// assert_eq!(text("name", "  My Project ").unwrap(), "  My Project ");
/// assert_eq!(
///     text("name", "").unwrap_err().to_string(),
///     "name: String must contain at least 1 character(s)"
/// );
/// assert!(text("name", "\u{200B}\u{200B}").is_err());
/// ```
pub fn text(field: &str, value: &str) -> Result<String, FieldError> {
    if value.is_empty() {
        return Err(FieldError::new(field, TEXT_EMPTY));
    }
    if value.chars().count() > MAX_TEXT_LEN {
        return Err(FieldError::new(
            field,
            format!("String must contain at most {MAX_TEXT_LEN} character(s)"),
        ));
    }
    if value.chars().any(is_control) {
        return Err(FieldError::new(field, TEXT_CONTROL));
    }
    if value.chars().any(is_bidi_override) {
        return Err(FieldError::new(field, TEXT_BIDI));
    }
    if value.chars().all(|c| c.is_whitespace() || is_invisible(c)) {
        return Err(FieldError::new(field, TEXT_BLANK));
    }
    Ok(value.to_string())
}

const TEXT_EMPTY: &str = "String must contain at least 1 character(s)";
const TEXT_BLANK: &str =
    "String must contain a visible character (not only whitespace or invisible characters)";
const TEXT_CONTROL: &str =
    "String must not contain control characters (U+0000-U+001F, U+007F-U+009F)";
const TEXT_BIDI: &str =
    "String must not contain bidirectional overrides (U+202A-U+202E, U+2066-U+2069)";

/// U+0000–U+001F and U+007F–U+009F (Unicode's `Cc` category).
fn is_control(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{1F}' | '\u{7F}'..='\u{9F}')
}

/// The embedding, override and isolate controls that reorder the text around them.
fn is_bidi_override(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that render as nothing: Unicode's `Default_Ignorable_Code_Point` set (zero-width
/// space, joiners, word joiner, byte-order mark, soft hyphen, variation selectors, Hangul
/// fillers, tags, …) and the blank braille pattern U+2800. A name made only of these (and
/// whitespace) looks empty, so it is refused as blank; inside a visible name they are kept
/// (emoji sequences need the zero-width joiner).
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{2800}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFF8}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// A project's `domain`: `None` or `""` is none; otherwise an absolute `http`/`https` URL with
/// a host name or IP address and no surrounding whitespace, stored as sent with trailing
/// slashes removed and nothing else changed. A query or fragment is refused (a domain names a
/// site, not a page).
///
/// ```
/// use opcore::domain::validate::domain;
/// assert_eq!(domain(Some("HTTPS://Example.com/")).unwrap().as_deref(), Some("HTTPS://Example.com"));
/// assert_eq!(domain(Some("")).unwrap(), None);
/// assert!(domain(Some("example.com")).is_err());
/// assert!(domain(Some(" https://example.com")).is_err());
/// ```
pub fn domain(value: Option<&str>) -> Result<Option<String>, FieldError> {
    let raw = match value {
        None | Some("") => return Ok(None),
        Some(raw) => raw,
    };
    check_url(raw)
        .map(|()| Some(raw.trim_end_matches('/').to_string()))
        .map_err(|problem| FieldError::new("domain", format!("Invalid url: {problem}")))
}

/// Checks a domain as sent and as it will be stored (trailing slashes removed).
fn check_url(raw: &str) -> Result<(), &'static str> {
    const SHAPE: &str = "must be an absolute http or https URL with a host";
    if raw.trim().is_empty() {
        return Err(SHAPE);
    }
    if raw.chars().count() > MAX_URL_LEN {
        return Err("must contain at most 2048 character(s)");
    }
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("spaces and control characters are not allowed");
    }
    let stored = raw.trim_end_matches('/');
    // `url` would read `https:example.com` or `https:\\example.com` as a host; insist on the
    // usual spelling.
    let Some((scheme, after)) = stored.split_once("://") else {
        return Err(SHAPE);
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(SHAPE);
    }
    if after.contains('\\') {
        return Err("a backslash is not allowed");
    }
    let url = url::Url::parse(stored).map_err(|_| SHAPE)?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("user information (user:password@) is not allowed");
    }
    if url.query().is_some() {
        return Err("a query is not allowed");
    }
    if url.fragment().is_some() {
        return Err("a fragment is not allowed");
    }
    match url.host() {
        Some(url::Host::Domain(name)) => cors::check_dns_name(name),
        Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) => Ok(()),
        None => Err(SHAPE),
    }
}

/// A project's `cors` list as stored: every entry as sent minus trailing slashes, in order,
/// duplicates kept (see [`cors()`]); every invalid entry is reported at path `["cors", index]`.
pub fn cors(values: &[String]) -> Result<Vec<String>, Vec<FieldError>> {
    cors::validate_list(values).map_err(|errors| {
        errors
            .into_iter()
            .map(|(i, message)| FieldError::at_index("cors", i, message))
            .collect()
    })
}

/// A project's `types`: each `website`, `app` or `backend`; duplicates removed keeping the
/// first occurrence.
pub fn types(values: &[String]) -> Result<Vec<ProjectType>, Vec<FieldError>> {
    let mut out = Vec::with_capacity(values.len());
    let mut errors = Vec::new();
    for (i, value) in values.iter().enumerate() {
        match ProjectType::parse(value) {
            Some(t) if !out.contains(&t) => out.push(t),
            Some(_) => {}
            None => errors.push(FieldError::at_index(
                "types",
                i,
                enum_message("'website' | 'app' | 'backend'", value),
            )),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// A client's `type`: `read`, `write` or `root`.
pub fn client_type(value: &str) -> Result<ClientType, FieldError> {
    ClientType::parse(value)
        .ok_or_else(|| FieldError::new("type", enum_message("'read' | 'write' | 'root'", value)))
}

/// A client's rate-limit `tier`: `free`, `pro` or `enterprise`.
pub fn tier(value: &str) -> Result<Tier, FieldError> {
    Tier::parse(value).ok_or_else(|| {
        FieldError::new("tier", enum_message("'free' | 'pro' | 'enterprise'", value))
    })
}

/// A client's `redirectUris` (see [`super::redirect::validate`]); exact duplicates removed
/// keeping the first occurrence.
pub fn redirect_uris(values: &[String]) -> Result<Vec<String>, Vec<FieldError>> {
    super::redirect::validate_list(values).map_err(|errors| {
        errors
            .into_iter()
            .map(|(i, message)| FieldError::at_index("redirectUris", i, message))
            .collect()
    })
}

fn enum_message(expected: &str, received: &str) -> String {
    format!(
        "Invalid enum value. Expected {expected}, received '{}'",
        echo(received)
    )
}

/// The offending value as it may appear in a message: at most [`MAX_ECHO_CHARS`] characters,
/// control characters replaced.
fn echo(value: &str) -> String {
    let mut out: String = value
        .chars()
        .take(MAX_ECHO_CHARS)
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect();
    if value.chars().nth(MAX_ECHO_CHARS).is_some() {
        out.push('…');
    }
    out
}

const DATETIME_MESSAGE: &str =
    "Invalid datetime: expected an ISO 8601 date-time (a zone or offset, \
     or none for UTC), a date YYYY-MM-DD, or an RFC 2822 date";

/// The instants whose UTC year has four digits, the only ones RFC 3339 can write:
/// 0000-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z.
const DATETIME_RANGE_MS: std::ops::RangeInclusive<i64> = -62_167_219_200_000..=253_402_300_799_999;

/// A reference's `datetime` (see `docs/behaviour.md#dates`), returned as UTC milliseconds:
/// - an ISO 8601 / RFC 3339 date-time: `T` (or `t`) or one space between date and time,
///   seconds optional, a fraction of any length (cut to milliseconds), then `Z`, an offset
///   `±hh:mm`, `±hhmm` or `±hh`, or nothing, meaning UTC;
/// - a date `YYYY-MM-DD`, read as midnight UTC;
/// - an RFC 2822 date (`Mon, 15 Jan 2024 10:30:00 GMT`).
///
/// A leap second is refused, and so is an offset that moves the instant out of the years
/// 0000–9999 in UTC (it could not be written back as RFC 3339).
///
/// ```
/// use opcore::domain::validate::datetime;
/// assert_eq!(
///     datetime("2024-01-15T12:30:00+02:00").unwrap().to_rfc3339(),
///     "2024-01-15T10:30:00.000Z"
/// );
/// assert_eq!(datetime("2024-01-15 10:30").unwrap().to_rfc3339(), "2024-01-15T10:30:00.000Z");
/// assert_eq!(datetime("2024-02-01").unwrap().to_rfc3339(), "2024-02-01T00:00:00.000Z");
/// assert!(datetime("yesterday").is_err());
/// ```
pub fn datetime(value: &str) -> Result<Timestamp, FieldError> {
    datetime_field("datetime", value)
}

/// [`datetime`], with errors on another field name (the `date` alias).
pub fn datetime_field(field: &str, value: &str) -> Result<Timestamp, FieldError> {
    // No valid input comes near this; it bounds the parser's work on hostile input.
    if value.len() <= 64 {
        if let Some(t) = parse_datetime(value).filter(|t| DATETIME_RANGE_MS.contains(&t.0)) {
            return Ok(t);
        }
    }
    Err(FieldError::new(field, DATETIME_MESSAGE))
}

fn parse_datetime(value: &str) -> Option<Timestamp> {
    // The ISO forms start with a four-digit year (no sign, no expanded years); RFC 2822
    // starts with a day name or a day of the month.
    if value.len() >= 10 && value.as_bytes()[..4].iter().all(u8::is_ascii_digit) {
        return iso(value);
    }
    OffsetDateTime::parse(value, &Rfc2822)
        .ok()
        .and_then(to_timestamp)
}

fn iso(value: &str) -> Option<Timestamp> {
    if value.len() == 10 {
        let date = Date::parse(value, format_description!("[year]-[month]-[day]")).ok()?;
        return to_timestamp(date.midnight().assume_utc());
    }
    // The time crate's parsers, one piece at a time (`parse_items` leaves `parsed` untouched
    // when a piece does not match, so optional pieces are simply tried).
    let mut parsed = Parsed::new();
    let rest = parsed
        .parse_items(
            value.as_bytes(),
            format_description!("[year]-[month]-[day]"),
        )
        .ok()?;
    let rest = match rest.split_first() {
        Some((b'T' | b't' | b' ', rest)) => rest,
        _ => return None,
    };
    let mut rest = parsed
        .parse_items(rest, format_description!("[hour]:[minute]"))
        .ok()?;
    if let Ok(after) = parsed.parse_items(rest, format_description!(":[second]")) {
        rest = after;
        if let Ok(after) = parsed.parse_items(rest, format_description!(".[subsecond]")) {
            rest = after;
        }
    }
    match rest {
        // `Z`, or no zone at all: UTC.
        b"" | b"Z" | b"z" => parsed.set_offset_hour(0)?,
        _ => {
            let offsets = [
                format_description!("[offset_hour sign:mandatory]:[offset_minute]"),
                format_description!("[offset_hour sign:mandatory][offset_minute]"),
                format_description!("[offset_hour sign:mandatory]"),
            ];
            let complete = offsets
                .iter()
                .any(|offset| parsed.parse_items(rest, offset).is_ok_and(<[u8]>::is_empty));
            // RFC 3339 offsets run from -23:59 to +23:59 (the parser allows ±25).
            if !complete
                || parsed
                    .offset_hour()
                    .is_none_or(|h| !(-23..=23).contains(&h))
            {
                return None;
            }
        }
    }
    to_timestamp(OffsetDateTime::try_from(parsed).ok()?)
}

fn to_timestamp(t: OffsetDateTime) -> Option<Timestamp> {
    let millis = t.unix_timestamp_nanos().div_euclid(1_000_000);
    i64::try_from(millis).ok().map(Timestamp)
}

/// A reference's `description`: `None` or `""` is none; anything else is stored as given.
pub fn description(value: Option<&str>) -> Option<String> {
    match value {
        None | Some("") => None,
        Some(s) => Some(s.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn texts() {
        let max = "é".repeat(MAX_TEXT_LEN);
        let over = "é".repeat(MAX_TEXT_LEN + 1);
        let padded = format!("  {}  ", "é".repeat(MAX_TEXT_LEN - 4));
        let family = "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}";
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("My Project", Ok("My Project")),
            ("  My Project ", Ok("  My Project ")),
            ("a", Ok("a")),
            ("🚀", Ok("🚀")),
            (family, Ok(family)),
            ("a\u{200B}b", Ok("a\u{200B}b")),
            ("\u{00A0}x\u{3000}", Ok("\u{00A0}x\u{3000}")),
            (&max, Ok(&max)),
            (&padded, Ok(&padded)),
            ("", Err(TEXT_EMPTY)),
            ("   ", Err(TEXT_BLANK)),
            ("\u{00A0}\u{2003}\u{3000}", Err(TEXT_BLANK)),
            ("\u{200B}", Err(TEXT_BLANK)),
            ("\u{200B}\u{200C}\u{200D}\u{2060}\u{FEFF}", Err(TEXT_BLANK)),
            (
                " \u{00AD} \u{3164}\u{2800}\u{FE0F}\u{E0041}",
                Err(TEXT_BLANK),
            ),
            ("\n\t", Err(TEXT_CONTROL)),
            ("My Project\t", Err(TEXT_CONTROL)),
            ("a\u{0}b", Err(TEXT_CONTROL)),
            ("a\u{1F}", Err(TEXT_CONTROL)),
            ("a\u{7F}", Err(TEXT_CONTROL)),
            ("a\u{85}", Err(TEXT_CONTROL)),
            ("a\u{9F}", Err(TEXT_CONTROL)),
            ("\u{202E}txt.exe", Err(TEXT_BIDI)),
            ("a\u{202A}", Err(TEXT_BIDI)),
            ("a\u{2066}b\u{2069}", Err(TEXT_BIDI)),
            (&over, Err("String must contain at most 255 character(s)")),
        ];
        for (input, want) in cases {
            let got = text("name", input);
            match want {
                Ok(v) => assert_eq!(got.as_deref(), Ok(*v), "{input:?}"),
                Err(m) => assert_eq!(got, Err(FieldError::new("name", *m)), "{input:?}"),
            }
        }
        // Characters just outside the refused ranges are fine.
        for ok in [
            "a\u{A0}",
            "a\u{2029}b",
            "a\u{202F}",
            "a\u{2065}",
            "a\u{206A}",
        ] {
            assert!(text("name", ok).is_ok(), "{ok:?}");
        }
    }

    #[test]
    fn displays_and_serializes_like_zod() {
        let e = FieldError::new("name", "String must contain at least 1 character(s)");
        assert_eq!(
            e.to_string(),
            "name: String must contain at least 1 character(s)"
        );
        let e = FieldError::at_index("cors", 2, "bad");
        assert_eq!(e.to_string(), "cors[2]: bad");
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({"path": ["cors", 2], "message": "bad"})
        );
    }

    #[test]
    fn domains() {
        let cases: &[(Option<&str>, Option<&str>)] = &[
            (None, None),
            (Some(""), None),
            (Some("https://example.com"), Some("https://example.com")),
            (Some("HTTPS://Example.com/"), Some("HTTPS://Example.com")),
            (
                Some("http://localhost:3000/"),
                Some("http://localhost:3000"),
            ),
            (
                Some("https://example.com:443"),
                Some("https://example.com:443"),
            ),
            (
                Some("https://example.com:8443/"),
                Some("https://example.com:8443"),
            ),
            (
                Some("https://example.com/app/"),
                Some("https://example.com/app"),
            ),
            (
                Some("https://example.com/App//"),
                Some("https://example.com/App"),
            ),
            (Some("https://example.com///"), Some("https://example.com")),
            (Some("http://127.0.0.1:8080"), Some("http://127.0.0.1:8080")),
            (Some("http://[::1]:8080/"), Some("http://[::1]:8080")),
            (Some("https://bücher.de"), Some("https://bücher.de")),
        ];
        for (input, want) in cases {
            assert_eq!(
                domain(*input).as_ref().map(|d| d.as_deref()),
                Ok(*want),
                "{input:?}"
            );
        }
    }

    #[test]
    fn invalid_domains() {
        let cases: &[(&str, &str)] = &[
            ("example.com", "absolute http or https"),
            ("localhost:3000", "absolute http or https"),
            ("javascript:alert(1)", "absolute http or https"),
            ("mailto:a@b.c", "absolute http or https"),
            ("ftp://x.org", "absolute http or https"),
            ("http://", "absolute http or https"),
            ("https:///", "absolute http or https"),
            ("https:example.com", "absolute http or https"),
            ("https://*.example.com", "only letters"),
            ("https://exa_mple.com", "only letters"),
            ("https://www./", "empty label"),
            ("   ", "absolute http or https"),
            (" https://example.com", "spaces"),
            ("https://example.com ", "spaces"),
            ("https://example.com\n", "spaces"),
            ("https://exa mple.com", "spaces"),
            ("https://example.com/a b", "spaces"),
            ("https://example.com\\a", "backslash"),
            ("https://user:pw@example.com", "user information"),
            ("https://example.com/?q=1", "query"),
            ("https://example.com/#top", "fragment"),
        ];
        for (input, want) in cases {
            let err = domain(Some(input)).expect_err(input);
            assert_eq!(err.path, vec![PathSegment::Key("domain".into())]);
            assert!(
                err.message.starts_with("Invalid url: ") && err.message.contains(want),
                "{input:?}: {err}"
            );
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert!(domain(Some(&long)).is_err());
    }

    #[test]
    fn cors_errors_name_each_index() {
        assert_eq!(
            cors(&strings(&[
                "HTTPS://A.com/",
                "https://a.com",
                "https://a.com"
            ])),
            Ok(strings(&[
                "HTTPS://A.com",
                "https://a.com",
                "https://a.com"
            ]))
        );
        let errors = cors(&strings(&["https://ok.com", "", "https://a.com/p"])).unwrap_err();
        assert_eq!(errors.len(), 2);
        assert_eq!(
            errors[0].path,
            vec![PathSegment::Key("cors".into()), PathSegment::Index(1)]
        );
        assert_eq!(
            errors[1].path,
            vec![PathSegment::Key("cors".into()), PathSegment::Index(2)]
        );
        assert!(errors[1].message.contains("path"));
    }

    #[test]
    fn project_types() {
        use ProjectType::*;
        // Input, then the parsed types or the indexes of the invalid ones.
        type Case<'a> = (&'a [&'a str], Result<Vec<ProjectType>, Vec<usize>>);
        let cases: &[Case] = &[
            (&[], Ok(vec![])),
            (&["website"], Ok(vec![Website])),
            (
                &["backend", "app", "website"],
                Ok(vec![Backend, App, Website]),
            ),
            (&["app", "app", "website", "app"], Ok(vec![App, Website])),
            (&["x"], Err(vec![0])),
            (&["app", "Website", "web", "app"], Err(vec![1, 2])),
        ];
        for (input, want) in cases {
            let got = types(&strings(input));
            match want {
                Ok(v) => assert_eq!(&got, &Ok(v.clone()), "{input:?}"),
                Err(indexes) => {
                    let errors = got.expect_err("invalid types");
                    let got_indexes: Vec<usize> = errors
                        .iter()
                        .map(|e| match e.path.as_slice() {
                            [PathSegment::Key(k), PathSegment::Index(i)] if k == "types" => *i,
                            other => panic!("unexpected path {other:?}"),
                        })
                        .collect();
                    assert_eq!(&got_indexes, indexes);
                }
            }
        }
        assert_eq!(
            types(&strings(&["x"])).unwrap_err()[0].message,
            "Invalid enum value. Expected 'website' | 'app' | 'backend', received 'x'"
        );
    }

    #[test]
    fn client_types() {
        let cases: &[(&str, Option<ClientType>)] = &[
            ("read", Some(ClientType::Read)),
            ("write", Some(ClientType::Write)),
            ("root", Some(ClientType::Root)),
            ("Root", None),
            ("admin", None),
            ("", None),
        ];
        for (input, want) in cases {
            match want {
                Some(t) => assert_eq!(client_type(input), Ok(*t)),
                None => {
                    let e = client_type(input).unwrap_err();
                    assert_eq!(e.path, vec![PathSegment::Key("type".into())]);
                    assert_eq!(
                        e.message,
                        format!(
                            "Invalid enum value. Expected 'read' | 'write' | 'root', received '{input}'"
                        )
                    );
                }
            }
        }
    }

    #[test]
    fn long_enum_values_are_shortened_in_messages() {
        let e = client_type(&"x".repeat(10_000)).unwrap_err();
        assert!(e.message.len() < 120, "{}", e.message);
        assert!(e.message.ends_with("…'"));
        let e = client_type("a\nb").unwrap_err();
        assert!(!e.message.contains('\n'));
    }

    #[test]
    fn datetimes() {
        let cases: &[(&str, &str)] = &[
            ("2024-01-15T10:30:00Z", "2024-01-15T10:30:00.000Z"),
            ("2024-01-15T10:30:00.123Z", "2024-01-15T10:30:00.123Z"),
            ("2024-01-15T10:30:00.123456Z", "2024-01-15T10:30:00.123Z"),
            ("2024-01-15T10:30:00.999999999Z", "2024-01-15T10:30:00.999Z"),
            ("2024-01-15T10:30:00.1Z", "2024-01-15T10:30:00.100Z"),
            ("2024-01-15T12:30:00+02:00", "2024-01-15T10:30:00.000Z"),
            ("2024-01-15T05:30:00-05:00", "2024-01-15T10:30:00.000Z"),
            ("2024-01-15T10:30:00+00:00", "2024-01-15T10:30:00.000Z"),
            ("2024-01-15T12:30:00+0200", "2024-01-15T10:30:00.000Z"),
            ("2024-01-15T12:30:00.5+02", "2024-01-15T10:30:00.500Z"),
            ("2024-01-15T05:30:00-0500", "2024-01-15T10:30:00.000Z"),
            ("2024-01-15t10:30:00z", "2024-01-15T10:30:00.000Z"),
            ("2024-01-15T10:30:00", "2024-01-15T10:30:00.000Z"),
            ("2024-01-15 10:30:00", "2024-01-15T10:30:00.000Z"),
            ("2024-01-15 10:30", "2024-01-15T10:30:00.000Z"),
            ("2024-01-15T10:30", "2024-01-15T10:30:00.000Z"),
            ("2024-01-15T10:30Z", "2024-01-15T10:30:00.000Z"),
            ("2024-01-15T12:30+02:00", "2024-01-15T10:30:00.000Z"),
            ("2024-01-15T10:30:00.5", "2024-01-15T10:30:00.500Z"),
            ("2024-01-15 10:30:00.123456789", "2024-01-15T10:30:00.123Z"),
            ("Mon, 15 Jan 2024 10:30:00 GMT", "2024-01-15T10:30:00.000Z"),
            (
                "Mon, 15 Jan 2024 12:30:00 +0200",
                "2024-01-15T10:30:00.000Z",
            ),
            ("15 Jan 2024 10:30:00 +0000", "2024-01-15T10:30:00.000Z"),
            ("Mon, 15 Jan 2024 10:30 GMT", "2024-01-15T10:30:00.000Z"),
            ("1969-12-31T23:59:59.9995Z", "1969-12-31T23:59:59.999Z"),
            ("2024-02-01", "2024-02-01T00:00:00.000Z"),
            ("2024-02-29", "2024-02-29T00:00:00.000Z"),
            ("1970-01-01", "1970-01-01T00:00:00.000Z"),
        ];
        for (input, want) in cases {
            assert_eq!(
                datetime(input).map(|t| t.to_rfc3339()).as_deref(),
                Ok(*want),
                "{input:?}"
            );
        }
    }

    #[test]
    fn invalid_datetimes() {
        let cases: &[&str] = &[
            "yesterday",
            "2024-13-01",
            "",
            " ",
            "2024-02-30",
            "2023-02-29",
            "2024-00-10",
            "2024-01-00",
            "15/01/2024",
            "2024-1-15",
            "+2024-01-15",
            "-2024-01-15T10:30:00Z",
            "2024-01-15T25:00:00Z",
            "2024-01-15T10Z",
            "2024-01-15T10",
            "2024-01-15Z",
            "2024-01-15+02",
            "2024-01-15T",
            "2024-01-15  10:30:00",
            "2024-01-15T10:30:00+2",
            "2024-01-15T10:30:00+020",
            "2024-01-15T10:30:00+2400",
            "2024-01-15T10:30:00 +0200",
            "2024-01-15T10:30:00 +0200 extra",
            "2024-01-15T10:30:00Z ",
            " 2024-01-15T10:30:00Z",
            "2024-01-15T10:30:00.Z",
            "2024-01-15T23:59:60Z",
            "2024-01-15T10:30:00ZZ",
            "10:30:00",
            "-0500",
            "１２３４-01-15",
            "Mon, 15 Jan 2024 25:30:00 GMT",
            "Mon, 32 Jan 2024 10:30:00 GMT",
            "Mon, 15 Jan 2024 10:30:00 GMT extra",
        ];
        for input in cases {
            let e = datetime(input).expect_err(input);
            assert_eq!(e.path, vec![PathSegment::Key("datetime".into())]);
            assert_eq!(e.message, DATETIME_MESSAGE);
        }
        assert!(datetime(&format!("2024-01-15T10:30:00.{}Z", "1".repeat(100))).is_err());
        assert_eq!(
            datetime_field("date", "nope").unwrap_err().path,
            vec![PathSegment::Key("date".into())]
        );
    }

    #[test]
    fn descriptions() {
        assert_eq!(description(None), None);
        assert_eq!(description(Some("")), None);
        assert_eq!(description(Some(" ")).as_deref(), Some(" "));
        assert_eq!(
            description(Some("Release 1.0")).as_deref(),
            Some("Release 1.0")
        );
    }

    #[test]
    fn hyphenated_uuids() {
        for ok in [
            "6f1f2d3c-4b5a-4c7d-8e9f-0a1b2c3d4e5f",
            "6F1F2D3C-4B5A-4C7D-8E9F-0A1B2C3D4E5F",
            "00000000-0000-0000-0000-000000000000",
        ] {
            assert!(is_hyphenated_uuid(ok), "{ok}");
        }
        for bad in [
            "",
            "6f1f2d3c4b5a4c7d8e9f0a1b2c3d4e5f",
            "{6f1f2d3c-4b5a-4c7d-8e9f-0a1b2c3d4e5}",
            "6f1f2d3c-4b5a-4c7d-8e9f-0a1b2c3d4e5g",
            "6f1f2d3c-4b5a-4c7d-8e9f+0a1b2c3d4e5f",
            "6f1f2d3c-4b5a-4c7d-8e9f-0a1b2c3d4e5f0",
            "6f1f2d3c--b5a-4c7d-8e9f-0a1b2c3d4e5f",
            "6f1f2d3c-4b5a-4c7d-8e9f-0a1b2c3d4é",
        ] {
            assert!(!is_hyphenated_uuid(bad), "{bad}");
        }
    }

    proptest! {
        /// The same verdict as the uuid crate's parser restricted to 36 characters.
        #[test]
        fn hyphenated_uuid_agrees_with_the_uuid_crate(
            s in "[0-9a-fA-F-]{36}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9A-F]{4}-[0-9a-f]{4}-[0-9a-fx]{12}|.{30,40}"
        ) {
            let expected = uuid::Uuid::parse_str(&s).is_ok() && s.len() == 36;
            prop_assert_eq!(is_hyphenated_uuid(&s), expected);
        }
    }

    proptest! {
        #[test]
        fn text_is_stored_as_sent_and_bounded(s in any::<String>()) {
            if let Ok(t) = text("name", &s) {
                prop_assert_eq!(&t, &s);
                prop_assert!(!t.trim().is_empty());
                let n = t.chars().count();
                prop_assert!((1..=MAX_TEXT_LEN).contains(&n));
                prop_assert_eq!(text("name", &t), Ok(t.clone()));
            }
        }

        #[test]
        fn domain_store_as_sent_is_idempotent(
            s in prop_oneof![
                "(https?|HTTPS?)://[a-zA-Z0-9.-]{1,20}(:[0-9]{1,5})?(/[a-zA-Z0-9._-]{0,8}){0,3}/?",
                any::<String>(),
            ]
        ) {
            if let Ok(Some(d)) = domain(Some(&s)) {
                prop_assert_eq!(domain(Some(&d)), Ok(Some(d.clone())));
                prop_assert_eq!(d.as_str(), s.trim_end_matches('/'));
            }
        }

        #[test]
        fn datetime_round_trips(ms in -62_135_596_800_000i64..253_402_300_799_999i64) {
            let t = Timestamp(ms);
            prop_assert_eq!(datetime(&t.to_rfc3339()), Ok(t));
        }

        #[test]
        fn datetime_never_panics(s in any::<String>()) {
            let _ = datetime(&s);
        }
    }
}
