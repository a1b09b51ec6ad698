//! Redirect URIs registered per client for the authorization-code grant (RFC 6749 §3.1.2,
//! RFC 9700 §4.1.3): registered as absolute URLs and matched **exactly**, byte for byte, so no
//! open redirector or path-confusion trick can divert a code.

/// The longest redirect URI accepted, in bytes.
pub const MAX_REDIRECT_URI_LEN: usize = 2048;
/// How many redirect URIs one client may register.
pub const MAX_REDIRECT_URIS: usize = 20;

/// Checks one redirect URI for registration. It is stored exactly as given (no
/// normalization), since requests must repeat it exactly.
///
/// Accepted: an absolute `https` URL with a host; or `http` when the host is a loopback
/// address (`127.0.0.0/8`, `[::1]`) or `localhost` (native apps, RFC 8252 §7.3). Refused: other
/// schemes, a fragment (RFC 6749 §3.1.2), user information, surrounding whitespace.
///
/// ```
/// use opcore::domain::redirect::validate;
/// assert!(validate("https://app.example.com/callback").is_ok());
/// assert!(validate("http://127.0.0.1:8080/cb").is_ok());
/// assert!(validate("http://app.example.com/callback").is_err());
/// ```
pub fn validate(uri: &str) -> Result<(), &'static str> {
    if uri.is_empty() {
        return Err("Redirect URI must not be empty");
    }
    if uri.len() > MAX_REDIRECT_URI_LEN {
        return Err("Redirect URI must be at most 2048 characters");
    }
    if uri.trim() != uri || uri.chars().any(char::is_control) {
        return Err("Redirect URI must not contain whitespace or control characters");
    }
    let url = url::Url::parse(uri).map_err(|_| "Redirect URI must be an absolute URL")?;
    if uri.contains('#') {
        return Err("Redirect URI must not contain a fragment");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("Redirect URI must not contain user information");
    }
    let scheme = url.scheme();
    if scheme != "https" && scheme != "http" {
        return Err(HTTPS_ONLY);
    }
    let host = url.host().ok_or("Redirect URI must have a host")?;
    if scheme == "http" && !is_loopback(&host) {
        return Err(HTTPS_ONLY);
    }
    Ok(())
}

const HTTPS_ONLY: &str = "Redirect URI must use https (http is allowed only for loopback hosts)";

fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// Validates a list for registration; exact duplicates are dropped, keeping the first.
/// Errors carry the index of the offending entry.
pub fn validate_list(uris: &[String]) -> Result<Vec<String>, Vec<(usize, &'static str)>> {
    let mut out: Vec<String> = Vec::with_capacity(uris.len());
    let mut errors = Vec::new();
    for (i, uri) in uris.iter().enumerate() {
        match validate(uri) {
            Ok(()) if !out.contains(uri) => out.push(uri.clone()),
            Ok(()) => {}
            Err(e) => errors.push((i, e)),
        }
    }
    if errors.is_empty() && out.len() > MAX_REDIRECT_URIS {
        errors.push((
            MAX_REDIRECT_URIS,
            "At most 20 redirect URIs may be registered",
        ));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Whether `given` is exactly one of `registered`.
pub fn is_registered(registered: &[String], given: &str) -> bool {
    registered.iter().any(|r| r == given)
}

/// `redirect_uri` with `params` appended to its query, leaving the registered text intact.
pub fn with_query(redirect_uri: &str, params: &[(&str, &str)]) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        query.append_pair(k, v);
    }
    let query = query.finish();
    let separator = match redirect_uri.find('?') {
        None => "?",
        Some(_) if redirect_uri.ends_with('?') || redirect_uri.ends_with('&') => "",
        Some(_) => "&",
    };
    format!("{redirect_uri}{separator}{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_rules() {
        let table: &[(&str, Result<(), &str>)] = &[
            ("https://app.example.com/callback", Ok(())),
            ("https://app.example.com/cb?tenant=1", Ok(())),
            ("https://app.example.com:8443/cb", Ok(())),
            ("http://127.0.0.1:51000/cb", Ok(())),
            ("http://127.1.2.3/cb", Ok(())),
            ("http://[::1]:8080/cb", Ok(())),
            ("http://localhost:3000/cb", Ok(())),
            ("http://LOCALHOST/cb", Ok(())),
            (
                "http://app.example.com/cb",
                Err("Redirect URI must use https (http is allowed only for loopback hosts)"),
            ),
            (
                "http://localhost.attacker.net/cb",
                Err("Redirect URI must use https (http is allowed only for loopback hosts)"),
            ),
            (
                "com.example.app:/oauth",
                Err("Redirect URI must use https (http is allowed only for loopback hosts)"),
            ),
            (
                "javascript:alert(1)",
                Err("Redirect URI must use https (http is allowed only for loopback hosts)"),
            ),
            ("/callback", Err("Redirect URI must be an absolute URL")),
            (
                "app.example.com/cb",
                Err("Redirect URI must be an absolute URL"),
            ),
            (
                "https://app.example.com/cb#frag",
                Err("Redirect URI must not contain a fragment"),
            ),
            (
                "https://app.example.com/cb#",
                Err("Redirect URI must not contain a fragment"),
            ),
            (
                "https://user:pw@app.example.com/cb",
                Err("Redirect URI must not contain user information"),
            ),
            (
                " https://app.example.com/cb",
                Err("Redirect URI must not contain whitespace or control characters"),
            ),
            ("", Err("Redirect URI must not be empty")),
        ];
        for &(uri, expected) in table {
            assert_eq!(validate(uri), expected, "{uri}");
        }
        let long = format!("https://a.example/{}", "x".repeat(2048));
        assert_eq!(
            validate(&long),
            Err("Redirect URI must be at most 2048 characters")
        );
    }

    #[test]
    fn lists_dedupe_and_report_every_index() {
        let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            validate_list(&list(&["https://a.example/cb", "https://a.example/cb"])),
            Ok(list(&["https://a.example/cb"]))
        );
        let errors = validate_list(&list(&["ftp://x", "https://a.example/cb", "/cb"])).unwrap_err();
        assert_eq!(errors.iter().map(|e| e.0).collect::<Vec<_>>(), vec![0, 2]);
        let many: Vec<String> = (0..21).map(|i| format!("https://a.example/{i}")).collect();
        assert!(validate_list(&many).is_err());
        assert!(validate_list(&many[..20]).is_ok());
    }

    #[test]
    fn matching_is_exact() {
        let registered = vec!["https://app.example.com/callback".to_string()];
        for (given, ok) in [
            ("https://app.example.com/callback", true),
            ("https://app.example.com/callback/", false),
            ("https://APP.example.com/callback", false),
            ("https://app.example.com/Callback", false),
            ("https://app.example.com/callback?x=1", false),
            ("https://app.example.com:443/callback", false),
            ("https://app.example.com/callback/../callback", false),
            ("https://app.example.com.attacker.net/callback", false),
        ] {
            assert_eq!(is_registered(&registered, given), ok, "{given}");
        }
    }

    #[test]
    fn query_parameters_are_appended_and_encoded() {
        let p = [("code", "opac_x"), ("state", "a b&c=d")];
        assert_eq!(
            with_query("https://a.example/cb", &p),
            "https://a.example/cb?code=opac_x&state=a+b%26c%3Dd"
        );
        assert_eq!(
            with_query("https://a.example/cb?tenant=1", &p[..1]),
            "https://a.example/cb?tenant=1&code=opac_x"
        );
        assert_eq!(
            with_query("https://a.example/cb?", &p[..1]),
            "https://a.example/cb?code=opac_x"
        );
    }
}
