//! Field validation for request bodies (SPEC §3), with errors shaped like zod's issues
//! (`{"path": ["cors", 2], "message": "..."}`) so a 400 can name every offending field.
//!
//! Messages name the problem and repeat at most the offending value (shortened when long),
//! never anything else from the request.

use std::fmt;

use serde::Serialize;
use time::{Date, Month};

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

/// The longest `name` or `title`, in characters after trimming.
pub const MAX_TEXT_LEN: usize = 255;

/// The longest `domain` accepted, in characters.
pub const MAX_URL_LEN: usize = 2048;

/// How much of an offending value an error message repeats.
const MAX_ECHO_CHARS: usize = 40;

/// A `name` or `title`: trimmed, 1 to [`MAX_TEXT_LEN`] characters (Unicode scalar values).
///
/// ```
/// use opcore::domain::validate::text;
/// assert_eq!(text("name", "  My Project ").unwrap(), "My Project");
/// assert_eq!(
///     text("name", "   ").unwrap_err().to_string(),
///     "name: String must contain at least 1 character(s)"
/// );
/// ```
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

pub fn text(field: &str, value: &str) -> Result<String, FieldError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(FieldError::new(
            field,
            "String must contain at least 1 character(s)",
        ));
    }
    if trimmed.chars().count() > MAX_TEXT_LEN {
        return Err(FieldError::new(
            field,
            format!("String must contain at most {MAX_TEXT_LEN} character(s)"),
        ));
    }
    Ok(trimmed.to_string())
}

/// A project's `domain`: `None` or `""` is none; otherwise an absolute `http`/`https` URL with
/// a host name or IP address. Surrounding whitespace is trimmed; scheme and host are
/// lowercased, the default port and trailing slashes dropped, the path kept. A query or
/// fragment is refused (a domain names a site, not a page).
///
/// ```
/// use opcore::domain::validate::domain;
/// assert_eq!(domain(Some("HTTPS://Example.com/")).unwrap().as_deref(), Some("https://example.com"));
/// assert_eq!(domain(Some("")).unwrap(), None);
/// assert!(domain(Some("example.com")).is_err());
/// ```
pub fn domain(value: Option<&str>) -> Result<Option<String>, FieldError> {
    let raw = match value {
        None | Some("") => return Ok(None),
        Some(raw) => raw.trim(),
    };
    normalize_url(raw)
        .map(Some)
        .map_err(|problem| FieldError::new("domain", format!("Invalid url: {problem}")))
}

fn normalize_url(raw: &str) -> Result<String, &'static str> {
    const SHAPE: &str = "must be an absolute http or https URL with a host";
    if raw.is_empty() {
        return Err(SHAPE);
    }
    if raw.chars().count() > MAX_URL_LEN {
        return Err("must contain at most 2048 character(s)");
    }
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("spaces and control characters are not allowed");
    }
    // `url` would read `https:example.com` or `https:\\example.com` as a host; insist on the
    // usual spelling.
    let Some((scheme, _)) = raw.split_once("://") else {
        return Err(SHAPE);
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(SHAPE);
    }
    let url = url::Url::parse(raw).map_err(|_| SHAPE)?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("user information (user:password@) is not allowed");
    }
    if url.query().is_some() {
        return Err("a query is not allowed");
    }
    if url.fragment().is_some() {
        return Err("a fragment is not allowed");
    }
    let host = match url.host() {
        Some(url::Host::Domain(name)) => {
            cors::check_dns_name(name)?;
            name.to_string()
        }
        Some(url::Host::Ipv4(addr)) => addr.to_string(),
        Some(url::Host::Ipv6(addr)) => format!("[{addr}]"),
        None => return Err(SHAPE),
    };
    let mut out = format!("{}://{host}", url.scheme());
    if let Some(port) = url.port() {
        out.push_str(&format!(":{port}"));
    }
    out.push_str(url.path().trim_end_matches('/'));
    // Percent-encoding can lengthen the path: the stored form must itself be a valid domain.
    if out.chars().count() > MAX_URL_LEN {
        return Err("must contain at most 2048 character(s)");
    }
    Ok(out)
}

/// A project's `cors` list, normalized and de-duplicated (see [`cors`]); every invalid entry is
/// reported at path `["cors", index]`.
pub fn cors(values: &[String]) -> Result<Vec<String>, Vec<FieldError>> {
    cors::normalize_list(values).map_err(|errors| {
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

const DATETIME_MESSAGE: &str = "Invalid datetime: expected RFC 3339 with a time zone or YYYY-MM-DD";

/// The instants whose UTC year has four digits, the only ones RFC 3339 can write:
/// 0000-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z.
const DATETIME_RANGE_MS: std::ops::RangeInclusive<i64> = -62_167_219_200_000..=253_402_300_799_999;

/// A reference's `datetime`: RFC 3339 with a time zone (`Z` or `±hh:mm`, also ISO 8601's
/// `±hhmm` and `±hh`; any fractional precision, truncated to milliseconds), or a date
/// `YYYY-MM-DD`, read as midnight UTC. Seconds are required; a leap second is refused, and so
/// is an offset that moves the instant out of the years 0000–9999 in UTC (it could not be
/// written back as RFC 3339).
///
/// ```
/// use opcore::domain::validate::datetime;
/// assert_eq!(
///     datetime("2024-01-15T12:30:00+02:00").unwrap().to_rfc3339(),
///     "2024-01-15T10:30:00.000Z"
/// );
/// assert_eq!(datetime("2024-02-01").unwrap().to_rfc3339(), "2024-02-01T00:00:00.000Z");
/// assert!(datetime("2024-01-15T10:30:00").is_err());
/// ```
pub fn datetime(value: &str) -> Result<Timestamp, FieldError> {
    // No valid input comes near this; it bounds the parser's work on hostile input.
    if value.len() <= 64 {
        let parsed = date_only(value)
            .or_else(|| Timestamp::parse_rfc3339(value))
            .or_else(|| Timestamp::parse_rfc3339(&iso_offset_with_colon(value)?));
        if let Some(t) = parsed.filter(|t| DATETIME_RANGE_MS.contains(&t.0)) {
            return Ok(t);
        }
    }
    Err(FieldError::new("datetime", DATETIME_MESSAGE))
}

/// ISO 8601 also writes offsets as `+hhmm` or `+hh`; RFC 3339 wants `+hh:mm`.
fn iso_offset_with_colon(value: &str) -> Option<String> {
    let b = value.as_bytes();
    let n = b.len();
    let is_sign = |i: usize| b[i] == b'+' || b[i] == b'-';
    let digits = |from: usize| b[from..].iter().all(u8::is_ascii_digit);
    if n > 5 && is_sign(n - 5) && digits(n - 4) {
        Some(format!("{}:{}", &value[..n - 2], &value[n - 2..]))
    } else if n > 3 && is_sign(n - 3) && digits(n - 2) {
        Some(format!("{value}:00"))
    } else {
        None
    }
}

fn date_only(value: &str) -> Option<Timestamp> {
    let b = value.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && [0, 1, 2, 3, 5, 6, 8, 9]
            .iter()
            .all(|&i| b[i].is_ascii_digit());
    if !shaped {
        return None;
    }
    let year: i32 = value[0..4].parse().ok()?;
    let month: u8 = value[5..7].parse().ok()?;
    let day: u8 = value[8..10].parse().ok()?;
    let date = Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()?;
    let seconds = date.midnight().assume_utc().unix_timestamp();
    Some(Timestamp(seconds.checked_mul(1000)?))
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
        let padded = format!("  {max}  ");
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("My Project", Ok("My Project")),
            ("  My Project\t", Ok("My Project")),
            ("a", Ok("a")),
            ("🚀", Ok("🚀")),
            (&max, Ok(&max)),
            (&padded, Ok(&max)),
            ("", Err("String must contain at least 1 character(s)")),
            ("   ", Err("String must contain at least 1 character(s)")),
            ("\n\t", Err("String must contain at least 1 character(s)")),
            (&over, Err("String must contain at most 255 character(s)")),
        ];
        for (input, want) in cases {
            let got = text("name", input);
            match want {
                Ok(v) => assert_eq!(got.as_deref(), Ok(*v)),
                Err(m) => assert_eq!(got, Err(FieldError::new("name", *m))),
            }
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
            (Some("HTTPS://Example.com/"), Some("https://example.com")),
            (Some(" https://example.com "), Some("https://example.com")),
            (
                Some("http://localhost:3000/"),
                Some("http://localhost:3000"),
            ),
            (Some("https://example.com:443"), Some("https://example.com")),
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
            (Some("http://127.0.0.1:8080"), Some("http://127.0.0.1:8080")),
            (Some("http://[::1]:8080/"), Some("http://[::1]:8080")),
            (Some("https://bücher.de"), Some("https://xn--bcher-kva.de")),
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
            ("https:example.com", "absolute http or https"),
            ("https://*.example.com", "only letters"),
            ("https://exa_mple.com", "only letters"),
            ("https://www./", "empty label"),
            ("   ", "absolute http or https"),
            ("https://exa mple.com", "spaces"),
            ("https://example.com/a b", "spaces"),
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
            cors(&strings(&["HTTPS://A.com/", "https://a.com"])),
            Ok(strings(&["https://a.com"]))
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
            "2024-01-15T10:30:00",
            "",
            " ",
            "2024-02-30",
            "2023-02-29",
            "2024-00-10",
            "2024-01-00",
            "15/01/2024",
            "2024-1-15",
            "+2024-01-15",
            "2024-01-15T25:00:00Z",
            "2024-01-15T10:30Z",
            "2024-01-15Z",
            "2024-01-15+02",
            "2024-01-15T10:30:00+2",
            "2024-01-15T10:30:00+020",
            "2024-01-15T10:30:00+2400",
            "2024-01-15T10:30:00",
            "2024-01-15T23:59:60Z",
            "-0500",
            "１２３４-01-15",
        ];
        for input in cases {
            let e = datetime(input).expect_err(input);
            assert_eq!(e.path, vec![PathSegment::Key("datetime".into())]);
            assert_eq!(e.message, DATETIME_MESSAGE);
        }
        assert!(datetime(&format!("2024-01-15T10:30:00.{}Z", "1".repeat(100))).is_err());
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
        fn text_output_is_trimmed_and_bounded(s in any::<String>()) {
            if let Ok(t) = text("name", &s) {
                prop_assert_eq!(t.trim(), t.as_str());
                let n = t.chars().count();
                prop_assert!((1..=MAX_TEXT_LEN).contains(&n));
                prop_assert_eq!(text("name", &t), Ok(t.clone()));
            }
        }

        #[test]
        fn domain_normalization_is_idempotent(
            s in prop_oneof![
                "(https?|HTTPS?)://[a-zA-Z0-9.-]{1,20}(:[0-9]{1,5})?(/[a-zA-Z0-9._-]{0,8}){0,3}/?",
                any::<String>(),
            ]
        ) {
            if let Ok(Some(d)) = domain(Some(&s)) {
                prop_assert_eq!(domain(Some(&d)), Ok(Some(d.clone())));
                prop_assert!(!d.ends_with('/'));
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
