//! A project's `cors` list (see `docs/behaviour.md#cors`): validating entries, and matching a
//! request's `Origin`.
//!
//! An entry is one of
//! - an origin `scheme://host[:port]` (`http` or `https`);
//! - a bare host `example.com[:port]`, which matches that host on `http` and `https`;
//! - a wildcard `*.example.com` or `https://*.example.com[:port]`, which matches any subdomain
//!   at any depth but never the apex, anchored at both ends;
//! - `*`, any origin.
//!
//! Validate strictly, store as sent, match normalized: a valid entry is stored exactly as sent
//! except that trailing slashes are removed ([`validate_entry`]); entries are never merged,
//! reordered or rewritten otherwise. Matching compares the entry's **match form**
//! ([`match_form`]): scheme and host lowercased, a Unicode host in its ASCII `xn--` form (what
//! browsers send), the scheme's default port dropped. The match form of a match form is
//! itself, so entries stored by earlier releases (which stored that form) match exactly as
//! before.
//!
//! Hosts are DNS names (letters, digits and `-` in dot-separated labels), IPv4 addresses in
//! dotted decimal, or bracketed IPv6 addresses.
//!
//! Matching never lets an absent, empty, `null` or unparseable `Origin` through, not even for
//! `*`: no Origin means no browser, and such a request must present the secret.

use std::fmt::Write as _;

use url::Host;

const PREFIX: &str = "Invalid CORS origin";

/// Longest DNS name (RFC 1035), also bounding how much work one entry can cause.
const MAX_HOST_LEN: usize = 253;
const MAX_LABEL_LEN: usize = 63;

/// Validates one `cors` entry and returns its stored form: the entry as sent with trailing
/// slashes removed. The error never repeats the entry (the caller names it by its index).
///
/// ```
/// use opcore::domain::cors::validate_entry;
/// assert_eq!(validate_entry("HTTPS://Example.com:443/").unwrap(), "HTTPS://Example.com:443");
/// assert!(validate_entry(" https://example.com").is_err());
/// assert!(validate_entry("https://a.com/path").is_err());
/// ```
pub fn validate_entry(raw: &str) -> Result<String, String> {
    parse_entry(raw)
        .map(|_| stored_form(raw).to_string())
        .map_err(|problem| format!("{PREFIX}: {problem}"))
}

/// The stored form of an entry that [`validate_entry`] accepts: trailing slashes removed.
fn stored_form(raw: &str) -> &str {
    raw.trim_end_matches('/')
}

/// The match form of a valid entry (as sent or as stored): scheme and host lowercased, a
/// Unicode host in its `xn--` form, the scheme's default port and trailing slashes dropped.
///
/// ```
/// use opcore::domain::cors::match_form;
/// assert_eq!(match_form("HTTPS://Example.com:443/").unwrap(), "https://example.com");
/// assert_eq!(match_form("*.Shop.io").unwrap(), "*.shop.io");
/// assert!(match_form("https://a.com/path").is_err());
/// ```
pub fn match_form(entry: &str) -> Result<String, String> {
    parse_entry(entry)
        .map(|entry| entry.to_string())
        .map_err(|problem| format!("{PREFIX}: {problem}"))
}

/// Validates every entry and returns their stored forms, in order, duplicates kept. On
/// failure, returns every invalid entry's index with its message.
pub fn validate_list(raw: &[String]) -> Result<Vec<String>, Vec<(usize, String)>> {
    let mut out = Vec::with_capacity(raw.len());
    let mut errors = Vec::new();
    for (i, item) in raw.iter().enumerate() {
        match validate_entry(item) {
            Ok(entry) => out.push(entry),
            Err(message) => errors.push((i, message)),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Whether a request's `Origin` header is allowed by a project's stored `cors` list: the
/// Origin's match form against each entry's match form, computed from the stored entry (so
/// rows stored as sent and rows stored lowercased by earlier releases both match).
///
/// ```
/// use opcore::domain::cors::origin_allowed;
/// let cors = vec!["*.example.com".to_string()];
/// assert!(origin_allowed(&cors, Some("https://a.b.example.com")));
/// assert!(!origin_allowed(&cors, Some("https://example.com")));
/// assert!(!origin_allowed(&["*".to_string()], Some("null")));
/// ```
pub fn origin_allowed(cors: &[String], origin: Option<&str>) -> bool {
    let Some(origin) = origin.map(str::trim) else {
        return false;
    };
    if origin.is_empty() || origin == "null" {
        return false;
    }
    let origin = match parse_entry(origin) {
        Ok(Entry::Pattern {
            scheme: Some(scheme),
            wildcard: false,
            host,
            port,
        }) => Origin {
            scheme,
            port: port.unwrap_or(scheme.default_port()),
            host,
        },
        _ => return false,
    };
    cors.iter().any(|entry| match parse_entry(entry) {
        Ok(entry) => entry.matches(&origin),
        // Stored entries are valid; one that no longer parses matches nothing.
        Err(_) => false,
    })
}

/// Validates a host as it appears in an origin or entry and returns its normalized form:
/// a lowercase ASCII DNS name, a dotted-decimal IPv4 address or a bracketed IPv6 address.
pub(crate) fn normalize_host(raw: &str) -> Result<ParsedHost, &'static str> {
    if raw.is_empty() {
        return Err("a host is required");
    }
    if raw.len() > MAX_HOST_LEN + 2 {
        return Err("the host is too long");
    }
    if raw.contains('%') {
        return Err("percent-encoding is not allowed in a host");
    }
    match Host::parse(raw).map_err(|_| "the host is not a valid host name or IP address")? {
        Host::Domain(name) => {
            check_dns_name(&name)?;
            Ok(ParsedHost::Domain(name))
        }
        Host::Ipv4(addr) => {
            // The URL standard also reads `0x7f.1` or `2130706433` as IPv4; only accept the
            // form everyone reads the same way.
            if addr.to_string() != raw {
                return Err("an IPv4 address must be written as four decimal numbers");
            }
            Ok(ParsedHost::Ip(addr.to_string()))
        }
        Host::Ipv6(addr) => Ok(ParsedHost::Ip(format!("[{addr}]"))),
    }
}

/// A host after [`normalize_host`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ParsedHost {
    Domain(String),
    /// An IPv4 address, or an IPv6 address in brackets.
    Ip(String),
}

impl ParsedHost {
    fn as_str(&self) -> &str {
        match self {
            ParsedHost::Domain(s) | ParsedHost::Ip(s) => s,
        }
    }
}

/// Letter-digit-hyphen labels of 1–63 characters, separated by single dots.
pub(crate) fn check_dns_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name.len() > MAX_HOST_LEN {
        return Err("the host name must be 1 to 253 characters");
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err("the host name has an empty label (a leading, trailing or double dot)");
        }
        if label.len() > MAX_LABEL_LEN {
            return Err("a host name label is longer than 63 characters");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err("the host name may contain only letters, digits, '-' and '.'");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a host name label may not start or end with '-'");
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Http,
    Https,
}

impl Scheme {
    fn parse(s: &str) -> Option<Scheme> {
        if s.eq_ignore_ascii_case("http") {
            Some(Scheme::Http)
        } else if s.eq_ignore_ascii_case("https") {
            Some(Scheme::Https)
        } else {
            None
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// A parsed entry. `port` is as written, except that a default port given with its scheme is
/// dropped (`https://a.com:443` is `https://a.com`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Any,
    Pattern {
        scheme: Option<Scheme>,
        wildcard: bool,
        host: ParsedHost,
        port: Option<u16>,
    },
}

/// A request origin, with its effective port.
struct Origin {
    scheme: Scheme,
    host: ParsedHost,
    port: u16,
}

impl Entry {
    fn matches(&self, origin: &Origin) -> bool {
        let Entry::Pattern {
            scheme,
            wildcard,
            host,
            port,
        } = self
        else {
            return true;
        };
        if scheme.is_some_and(|s| s != origin.scheme) {
            return false;
        }
        // Without a port, an entry names the default port of the origin's scheme (for a bare
        // host or a scheme-less wildcard, that is 80 on http and 443 on https).
        let want_port = port.unwrap_or(origin.scheme.default_port());
        if origin.port != want_port {
            return false;
        }
        if *wildcard {
            // Any depth below the entry's host, never the host itself; the '.' anchors the
            // suffix at a label boundary and `ends_with` anchors it at the end.
            match (&origin.host, host) {
                (ParsedHost::Domain(o), ParsedHost::Domain(h)) => o
                    .strip_suffix(h.as_str())
                    .is_some_and(|rest| rest.len() > 1 && rest.ends_with('.')),
                _ => false,
            }
        } else {
            origin.host == *host
        }
    }
}

impl std::fmt::Display for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Entry::Any => f.write_char('*'),
            Entry::Pattern {
                scheme,
                wildcard,
                host,
                port,
            } => {
                if let Some(scheme) = scheme {
                    write!(f, "{}://", scheme.as_str())?;
                }
                if *wildcard {
                    f.write_str("*.")?;
                }
                f.write_str(host.as_str())?;
                if let Some(port) = port {
                    write!(f, ":{port}")?;
                }
                Ok(())
            }
        }
    }
}

/// Parses an entry as sent (surrounding whitespace is invalid, as is any whitespace).
fn parse_entry(s: &str) -> Result<Entry, &'static str> {
    if s.trim().is_empty() {
        return Err("an entry must not be empty");
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("spaces and control characters are not allowed");
    }
    if s == "*" {
        return Ok(Entry::Any);
    }
    let (scheme, rest) = match s.split_once("://") {
        Some((scheme, rest)) => (
            Some(Scheme::parse(scheme).ok_or("the scheme must be http or https")?),
            rest,
        ),
        None => (None, s),
    };
    let rest = rest.trim_end_matches('/');
    if rest.is_empty() {
        return Err("a host is required");
    }
    if rest.contains('@') {
        return Err("user information (user:password@) is not allowed");
    }
    if rest.contains('#') {
        return Err("a fragment is not allowed");
    }
    if rest.contains('?') {
        return Err("a query is not allowed");
    }
    if rest.contains('/') || rest.contains('\\') {
        return Err("a path is not allowed");
    }
    let (wildcard, authority) = match rest.strip_prefix("*.") {
        Some(after) => (true, after),
        None => (false, rest),
    };
    if authority.contains('*') {
        return Err("a wildcard is allowed only as one leading '*.' label, as in *.example.com");
    }
    let (host, port) = split_host_port(authority, scheme.is_none())?;
    let host = normalize_host(host)?;
    if wildcard && !matches!(host, ParsedHost::Domain(_)) {
        return Err("a wildcard needs a host name, not an IP address");
    }
    let port = match scheme {
        Some(scheme) if port == Some(scheme.default_port()) => None,
        _ => port,
    };
    Ok(Entry::Pattern {
        scheme,
        wildcard,
        host,
        port,
    })
}

/// Splits `host[:port]` / `[v6][:port]`.
fn split_host_port(authority: &str, schemeless: bool) -> Result<(&str, Option<u16>), &'static str> {
    let (host, port) = if authority.starts_with('[') {
        let end = authority
            .find(']')
            .ok_or("an IPv6 address must be closed with ']'")?;
        let (host, after) = authority.split_at(end + 1);
        match after.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if after.is_empty() => (host, None),
            None => return Err("unexpected text after the IPv6 address"),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        None => None,
        Some(port) => Some(parse_port(port).map_err(|problem| {
            // `javascript:alert(1)` reads as host "javascript" with a bad port; say what the
            // entry should look like instead.
            if schemeless && !port.bytes().all(|b| b.is_ascii_digit()) {
                "expected scheme://host[:port], host[:port], *.host or *"
            } else {
                problem
            }
        })?),
    };
    Ok((host, port))
}

fn parse_port(port: &str) -> Result<u16, &'static str> {
    const BAD: &str = "the port must be a number from 1 to 65535";
    if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BAD);
    }
    match port.parse::<u16>() {
        Ok(0) | Err(_) => Err(BAD),
        Ok(p) => Ok(p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn valid_entries_store_as_sent_and_match_normalized() {
        // Input, stored form, match form.
        let cases: &[(&str, &str, &str)] = &[
            (
                "https://example.com",
                "https://example.com",
                "https://example.com",
            ),
            (
                "https://example.com/",
                "https://example.com",
                "https://example.com",
            ),
            (
                "https://example.com///",
                "https://example.com",
                "https://example.com",
            ),
            (
                "HTTPS://Example.COM",
                "HTTPS://Example.COM",
                "https://example.com",
            ),
            ("https://a.com:443", "https://a.com:443", "https://a.com"),
            ("http://a.com:80", "http://a.com:80", "http://a.com"),
            (
                "http://a.com:8080",
                "http://a.com:8080",
                "http://a.com:8080",
            ),
            ("https://a.com:80", "https://a.com:80", "https://a.com:80"),
            ("http://a.com:0080", "http://a.com:0080", "http://a.com"),
            ("example.com", "example.com", "example.com"),
            ("example.com/", "example.com", "example.com"),
            ("Example.com:3000", "Example.com:3000", "example.com:3000"),
            ("example.com:443", "example.com:443", "example.com:443"),
            ("*.example.com", "*.example.com", "*.example.com"),
            (
                "*.Example.com:8443",
                "*.Example.com:8443",
                "*.example.com:8443",
            ),
            (
                "https://*.Example.com/",
                "https://*.Example.com",
                "https://*.example.com",
            ),
            (
                "https://*.example.com:443",
                "https://*.example.com:443",
                "https://*.example.com",
            ),
            ("*", "*", "*"),
            ("localhost:3000", "localhost:3000", "localhost:3000"),
            ("localhost", "localhost", "localhost"),
            (
                "http://localhost:3000/",
                "http://localhost:3000",
                "http://localhost:3000",
            ),
            (
                "http://127.0.0.1:8080",
                "http://127.0.0.1:8080",
                "http://127.0.0.1:8080",
            ),
            ("127.0.0.1", "127.0.0.1", "127.0.0.1"),
            (
                "http://[::1]:8080",
                "http://[::1]:8080",
                "http://[::1]:8080",
            ),
            (
                "http://[0:0:0:0:0:0:0:1]",
                "http://[0:0:0:0:0:0:0:1]",
                "http://[::1]",
            ),
            ("[::1]:3000", "[::1]:3000", "[::1]:3000"),
            (
                "https://Bücher.de",
                "https://Bücher.de",
                "https://xn--bcher-kva.de",
            ),
            (
                "https://xn--bcher-kva.de",
                "https://xn--bcher-kva.de",
                "https://xn--bcher-kva.de",
            ),
            (
                "https://my-site.example.co.uk",
                "https://my-site.example.co.uk",
                "https://my-site.example.co.uk",
            ),
        ];
        for (raw, stored, matched) in cases {
            assert_eq!(validate_entry(raw).as_deref(), Ok(*stored), "entry {raw:?}");
            assert_eq!(match_form(raw).as_deref(), Ok(*matched), "entry {raw:?}");
            // The match form of the stored form, and of the match form, is the same.
            assert_eq!(
                match_form(stored).as_deref(),
                Ok(*matched),
                "stored {stored:?}"
            );
            assert_eq!(match_form(matched).as_deref(), Ok(*matched), "{matched:?}");
            // A stored form stores as itself.
            assert_eq!(validate_entry(stored).as_deref(), Ok(*stored), "{stored:?}");
        }
    }

    #[test]
    fn rejects_invalid_entries_naming_the_problem() {
        let cases: &[(&str, &str)] = &[
            ("", "empty"),
            ("   ", "empty"),
            ("www.", "empty label"),
            ("a..com", "empty label"),
            (".a.com", "empty label"),
            ("http://", "host is required"),
            ("https://", "host is required"),
            ("https:///", "host is required"),
            ("https://a.com/path", "path"),
            ("https://a.com/path/", "path"),
            ("a.com/path", "path"),
            ("https://a.com\\path", "path"),
            ("ftp://a.com", "scheme"),
            ("ws://a.com", "scheme"),
            ("javascript:alert(1)", "expected scheme://host"),
            ("https://exa mple.com", "spaces"),
            ("https://a.com?x=1", "query"),
            ("https://a.com/?x=1", "query"),
            ("https://user:pw@a.com", "user information"),
            ("mailto:a@b.c", "user information"),
            ("https://a.com#frag", "fragment"),
            ("  https://example.com  ", "spaces"),
            (" https://example.com", "spaces"),
            ("https://example.com\t", "spaces"),
            ("\thttps://example.com\n", "spaces"),
            (" * ", "spaces"),
            ("**.a.com", "wildcard"),
            ("a.*.com", "wildcard"),
            ("*.*.a.com", "wildcard"),
            ("https://*", "wildcard"),
            ("*.", "host is required"),
            ("*.127.0.0.1", "wildcard needs a host name"),
            ("https://a.com:", "port"),
            ("https://a.com:0", "port"),
            ("https://a.com:65536", "port"),
            ("https://a.com:123456", "port"),
            ("https://a.com:8o", "port"),
            ("https://a.com:80:80", "port"),
            ("https://a_b.com", "only letters"),
            ("https://-a.com", "start or end with '-'"),
            ("https://a%2ecom", "percent"),
            ("http://0x7f.1", "IPv4"),
            ("http://[::1", "closed with ']'"),
            ("http://[::1]x", "after the IPv6"),
            ("http://[zz::1]", "not a valid host"),
        ];
        for (raw, want) in cases {
            let err = validate_entry(raw).expect_err(raw);
            assert_eq!(match_form(raw), Err(err.clone()), "{raw:?}");
            assert!(
                err.starts_with("Invalid CORS origin: ") && err.contains(want),
                "entry {raw:?}: {err:?} should mention {want:?}"
            );
        }
        let long_label = format!("https://{}.com", "a".repeat(64));
        assert!(validate_entry(&long_label).unwrap_err().contains("63"));
        let long_host = format!("https://{}com", "abcdefghi.".repeat(26));
        assert!(validate_entry(&long_host).is_err());
    }

    #[test]
    fn lists_keep_every_entry_in_order_and_collect_every_error() {
        let raw = list(&[
            "HTTPS://Example.com/",
            "https://example.com",
            "https://a.com:443",
            "*.shop.io",
            "https://example.com",
        ]);
        assert_eq!(
            validate_list(&raw),
            Ok(list(&[
                "HTTPS://Example.com",
                "https://example.com",
                "https://a.com:443",
                "*.shop.io",
                "https://example.com",
            ]))
        );
        assert_eq!(validate_list(&[]), Ok(vec![]));

        let raw = list(&["https://ok.com", "", "https://a.com/x", "ok.com"]);
        let errors = validate_list(&raw).unwrap_err();
        let indexes: Vec<usize> = errors.iter().map(|(i, _)| *i).collect();
        assert_eq!(indexes, vec![1, 2]);
        assert!(errors[1].1.contains("path"));
    }

    #[test]
    fn matches_origins() {
        let cases: &[(&str, &str, bool)] = &[
            ("https://example.com", "https://example.com", true),
            ("https://example.com", "http://example.com", false),
            ("https://example.com", "https://EXAMPLE.com", true),
            ("https://example.com", "https://www.example.com", false),
            ("https://example.com", "https://example.com:8443", false),
            ("https://a.com", "https://a.com:443", true),
            ("https://a.com:80", "https://a.com:80", true),
            ("https://a.com:80", "http://a.com", false),
            ("http://localhost:3000", "http://localhost:3000", true),
            ("http://localhost:3000", "http://localhost:3001", false),
            ("http://localhost:3000", "http://localhost", false),
            ("example.com", "http://example.com", true),
            ("example.com", "https://example.com", true),
            ("example.com", "https://example.com:8443", false),
            ("example.com", "http://example.com:443", false),
            ("example.com", "https://www.example.com", false),
            ("example.com:8443", "https://example.com:8443", true),
            ("example.com:8443", "http://example.com:8443", true),
            ("example.com:8443", "https://example.com", false),
            ("localhost:3000", "http://localhost:3000", true),
            ("*.example.com", "https://a.example.com", true),
            ("*.example.com", "http://a.example.com", true),
            ("*.example.com", "https://a.b.example.com", true),
            ("*.example.com", "https://A.Example.COM", true),
            ("*.example.com", "https://example.com", false),
            (
                "*.example.com",
                "https://evil.example.com.attacker.net",
                false,
            ),
            ("*.example.com", "https://evilexample.com", false),
            ("*.example.com", "https://a.example.com:8443", false),
            ("*.example.com:8443", "https://a.example.com:8443", true),
            ("*.example.com:8443", "https://a.example.com", false),
            ("https://*.example.com", "http://a.example.com", false),
            ("https://*.example.com", "https://a.example.com", true),
            ("https://*.example.com", "https://a.example.com:443", true),
            ("http://[::1]:8080", "http://[::1]:8080", true),
            ("http://[::1]:8080", "http://[0::1]:8080", true),
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080", true),
            ("*", "https://anything.io", true),
            ("*", "http://localhost:3000", true),
            ("https://example.com", "null", false),
            ("https://example.com", "", false),
            ("*", "null", false),
            ("*", "", false),
            ("*", "   ", false),
            // Unparseable or non-http(s) origins match nothing, not even `*`.
            ("*", "file://", false),
            ("*", "chrome-extension://abcdef", false),
            ("*", "example.com", false),
            ("*", "https://*.example.com", false),
            ("*", "https://a.com/path", false),
            ("example.com", "example.com", false),
        ];
        for (entry, origin, want) in cases {
            // The stored form, the match form (what earlier releases stored) and the entry
            // with its host upper-cased all decide the same way.
            let stored = validate_entry(entry).expect(entry);
            let matched = match_form(entry).expect(entry);
            let upper = validate_entry(&entry.to_ascii_uppercase()).expect(entry);
            for cors in [vec![stored], vec![matched], vec![upper]] {
                assert_eq!(
                    origin_allowed(&cors, Some(origin)),
                    *want,
                    "entry {cors:?} origin {origin:?}"
                );
            }
        }
    }

    #[test]
    fn absent_origin_and_empty_list_match_nothing() {
        assert!(!origin_allowed(&list(&["*"]), None));
        assert!(!origin_allowed(&[], Some("https://example.com")));
        let cors = list(&["https://a.com", "https://b.com"]);
        assert!(origin_allowed(&cors, Some("https://b.com")));
        assert!(!origin_allowed(&cors, Some("https://c.com")));
    }

    fn entry_like() -> impl Strategy<Value = String> {
        let scheme = prop_oneof![
            Just(""),
            Just("http://"),
            Just("https://"),
            Just("HTTPS://"),
            Just("ftp://")
        ];
        let star = prop_oneof![Just(""), Just("*."), Just("*")];
        let host = prop_oneof![
            "[a-zA-Z0-9-]{1,10}(\\.[a-zA-Z0-9-]{1,10}){0,3}",
            "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}",
            Just("[::1]".to_string()),
            "\\PC{1,12}",
        ];
        let port = prop_oneof![Just(String::new()), "(:[0-9]{1,6})"];
        let tail = prop_oneof![Just(""), Just("/"), Just("//"), Just("/p"), Just("?q")];
        (scheme, star, host, port, tail).prop_map(|(a, b, c, d, e)| format!("{a}{b}{c}{d}{e}"))
    }

    proptest! {
        #[test]
        fn store_as_sent_is_idempotent(raw in prop_oneof![entry_like(), any::<String>()]) {
            if let Ok(stored) = validate_entry(&raw) {
                prop_assert_eq!(validate_entry(&stored), Ok(stored.clone()));
                // Only trailing slashes are removed.
                prop_assert_eq!(raw.trim_end_matches('/'), stored.as_str());
                prop_assert_eq!(match_form(&stored), match_form(&raw));
            } else {
                prop_assert!(match_form(&raw).is_err());
            }
        }

        #[test]
        fn match_form_is_idempotent_and_case_insensitive(
            raw in prop_oneof![entry_like(), any::<String>()]
        ) {
            if let Ok(matched) = match_form(&raw) {
                prop_assert_eq!(match_form(&matched), Ok(matched.clone()));
                prop_assert!(matched.is_ascii());
                for recased in [raw.to_ascii_uppercase(), raw.to_ascii_lowercase()] {
                    prop_assert_eq!(match_form(&recased), Ok(matched.clone()));
                }
            }
        }

        #[test]
        fn origins_match_their_own_entry(raw in entry_like()) {
            if let Ok(stored) = validate_entry(&raw) {
                let matched = match_form(&raw).unwrap();
                let cors = vec![stored];
                if matched.contains("://") && !matched.contains('*') {
                    prop_assert!(origin_allowed(&cors, Some(&matched)), "{}", matched);
                    prop_assert!(origin_allowed(&cors, Some(&matched.to_ascii_uppercase())));
                }
                prop_assert!(!origin_allowed(&cors, None));
                prop_assert!(!origin_allowed(&cors, Some("null")));
            }
        }

        #[test]
        fn matching_never_panics(entry in any::<String>(), origin in any::<String>()) {
            let _ = origin_allowed(&[entry], Some(&origin));
        }
    }
}
