//! A project's `cors` list (SPEC §3): normalizing entries, and matching a request's `Origin`.
//!
//! An entry is one of
//! - an origin `scheme://host[:port]` (`http` or `https`), stored as `https://example.com`
//!   (scheme and host lowercased, trailing slashes and the scheme's default port dropped);
//! - a bare host `example.com[:port]`, which matches that host on `http` and `https`;
//! - a wildcard `*.example.com` or `https://*.example.com[:port]`, which matches any subdomain
//!   at any depth but never the apex, anchored at both ends;
//! - `*`, any origin.
//!
//! Hosts are DNS names (letters, digits and `-` in dot-separated labels; Unicode names are
//! stored in their ASCII `xn--` form, which is what browsers send), IPv4 addresses in dotted
//! decimal, or bracketed IPv6 addresses.
//!
//! Matching never lets an absent, empty, `null` or unparseable `Origin` through, not even for
//! `*`: no Origin means no browser, and such a request must present the secret.

use std::collections::HashSet;
use std::fmt::Write as _;

use url::Host;

const PREFIX: &str = "Invalid CORS origin";

/// Longest DNS name (RFC 1035), also bounding how much work one entry can cause.
const MAX_HOST_LEN: usize = 253;
const MAX_LABEL_LEN: usize = 63;

/// Normalizes one `cors` entry, or says what is wrong with it. The error never repeats the
/// entry (the caller names it by its index).
///
/// ```
/// use opcore::domain::cors::normalize_entry;
/// assert_eq!(normalize_entry("HTTPS://Example.com:443/").unwrap(), "https://example.com");
/// assert_eq!(normalize_entry("*.Shop.io").unwrap(), "*.shop.io");
/// assert!(normalize_entry("https://a.com/path").is_err());
/// ```
pub fn normalize_entry(raw: &str) -> Result<String, String> {
    parse_entry(raw)
        .map(|entry| entry.to_string())
        .map_err(|problem| format!("{PREFIX}: {problem}"))
}

/// Normalizes every entry and de-duplicates the normalized forms, keeping first occurrences.
/// On failure, returns every invalid entry's index with its message.
pub fn normalize_list(raw: &[String]) -> Result<Vec<String>, Vec<(usize, String)>> {
    let mut out = Vec::with_capacity(raw.len());
    let mut seen = HashSet::with_capacity(raw.len());
    let mut errors = Vec::new();
    for (i, item) in raw.iter().enumerate() {
        match normalize_entry(item) {
            Ok(entry) => {
                if seen.insert(entry.clone()) {
                    out.push(entry);
                }
            }
            Err(message) => errors.push((i, message)),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Whether a request's `Origin` header is allowed by a project's (normalized) `cors` list.
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
        // Stored entries are normalized; one that no longer parses matches nothing.
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

fn parse_entry(raw: &str) -> Result<Entry, &'static str> {
    let s = raw.trim();
    if s.is_empty() {
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
    fn normalizes_valid_entries() {
        let cases: &[(&str, &str)] = &[
            ("https://example.com", "https://example.com"),
            ("https://example.com/", "https://example.com"),
            ("https://example.com///", "https://example.com"),
            ("HTTPS://Example.COM", "https://example.com"),
            ("  https://example.com  ", "https://example.com"),
            ("\thttps://example.com\n", "https://example.com"),
            ("https://a.com:443", "https://a.com"),
            ("http://a.com:80", "http://a.com"),
            ("http://a.com:8080", "http://a.com:8080"),
            ("https://a.com:80", "https://a.com:80"),
            ("http://a.com:0080", "http://a.com"),
            ("example.com", "example.com"),
            ("example.com/", "example.com"),
            ("Example.com:3000", "example.com:3000"),
            ("example.com:443", "example.com:443"),
            ("*.example.com", "*.example.com"),
            ("*.Example.com:8443", "*.example.com:8443"),
            ("https://*.Example.com/", "https://*.example.com"),
            ("https://*.example.com:443", "https://*.example.com"),
            ("*", "*"),
            (" * ", "*"),
            ("localhost:3000", "localhost:3000"),
            ("localhost", "localhost"),
            ("http://localhost:3000/", "http://localhost:3000"),
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("127.0.0.1", "127.0.0.1"),
            ("http://[::1]:8080", "http://[::1]:8080"),
            ("http://[0:0:0:0:0:0:0:1]", "http://[::1]"),
            ("[::1]:3000", "[::1]:3000"),
            ("https://Bücher.de", "https://xn--bcher-kva.de"),
            ("https://xn--bcher-kva.de", "https://xn--bcher-kva.de"),
            (
                "https://my-site.example.co.uk",
                "https://my-site.example.co.uk",
            ),
        ];
        for (raw, want) in cases {
            assert_eq!(normalize_entry(raw).as_deref(), Ok(*want), "entry {raw:?}");
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
            let err = normalize_entry(raw).expect_err(raw);
            assert!(
                err.starts_with("Invalid CORS origin: ") && err.contains(want),
                "entry {raw:?}: {err:?} should mention {want:?}"
            );
        }
        let long_label = format!("https://{}.com", "a".repeat(64));
        assert!(normalize_entry(&long_label).unwrap_err().contains("63"));
        let long_host = format!("https://{}com", "abcdefghi.".repeat(26));
        assert!(normalize_entry(&long_host).is_err());
    }

    #[test]
    fn lists_dedupe_and_collect_every_error() {
        let raw = list(&[
            "HTTPS://Example.com/",
            "https://example.com",
            "https://a.com:443",
            "*.shop.io",
        ]);
        assert_eq!(
            normalize_list(&raw),
            Ok(list(&["https://example.com", "https://a.com", "*.shop.io"]))
        );
        assert_eq!(normalize_list(&[]), Ok(vec![]));

        let raw = list(&["https://ok.com", "", "https://a.com/x", "ok.com"]);
        let errors = normalize_list(&raw).unwrap_err();
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
            let cors = vec![normalize_entry(entry).expect(entry)];
            assert_eq!(
                origin_allowed(&cors, Some(origin)),
                *want,
                "entry {entry:?} origin {origin:?}"
            );
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
        fn normalization_is_idempotent(raw in prop_oneof![entry_like(), any::<String>()]) {
            if let Ok(normal) = normalize_entry(&raw) {
                prop_assert_eq!(normalize_entry(&normal), Ok(normal.clone()));
                prop_assert!(normal.is_ascii());
            }
        }

        #[test]
        fn origins_match_their_own_entry(raw in entry_like()) {
            if let Ok(normal) = normalize_entry(&raw) {
                let cors = vec![normal.clone()];
                if normal.contains("://") && !normal.contains('*') {
                    prop_assert!(origin_allowed(&cors, Some(&normal)), "{}", normal);
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
