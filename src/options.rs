//! Options a store is opened with. The same keys are accepted as JSON by `opc_store_open`
//! and the CLI's `--options`.

use std::sync::Arc;

use serde::Deserialize;

use crate::domain::access::Family;
use crate::domain::clock::{Clock, SystemClock};
use crate::domain::deletion::DEFAULT_GRACE_SECONDS;
use crate::domain::hashing::Argon2Params;
use crate::error::Error;

/// SQLite's `synchronous` setting. `Full` (the default) survives power loss; `Normal` survives
/// a killed process but may lose the last transactions on power loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    #[default]
    Full,
    Normal,
}

/// At most `limit` requests in any window of `window_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub limit: u32,
    pub window_seconds: u32,
}

impl RateLimit {
    pub const fn new(limit: u32, window_seconds: u32) -> Self {
        RateLimit {
            limit,
            window_seconds,
        }
    }
}

/// Per-family rate limits (defaults of docs/security.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimits {
    pub track: RateLimit,
    pub export: RateLimit,
    pub insights: RateLimit,
    pub manage: RateLimit,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            track: RateLimit::new(1000, 10),
            export: RateLimit::new(100, 10),
            insights: RateLimit::new(100, 10),
            manage: RateLimit::new(20, 10),
        }
    }
}

impl RateLimits {
    pub fn for_family(&self, family: Family) -> RateLimit {
        match family {
            Family::Track => self.track,
            Family::Export => self.export,
            Family::Insights => self.insights,
            Family::Manage => self.manage,
        }
    }
}

/// How a store behaves. `Options::default()` is what `opcore serve` and a NULL
/// `options_json` use.
#[derive(Debug, Clone)]
pub struct Options {
    /// argon2id parameters for new secret hashes (older hashes still verify and are upgraded).
    pub argon2: Argon2Params,
    /// Grace between a project's DELETE and its disappearance (default 24 h).
    pub deletion_grace_seconds: i64,
    /// How many days audit entries are kept before `purge` removes them (default 90, at least
    /// 1, at most 36,500; docs/lifecycle.md#audit-log).
    pub audit_retention_days: u32,
    pub synchronous: Synchronous,
    pub rate_limits: RateLimits,
    /// How stale this process's view of deletions made by *other processes* may be
    /// (default 1000 ms; 0 checks on every call). Deletions in this process apply at once.
    pub cross_process_staleness_ms: u64,
    /// How many verified credentials are kept in memory (default 100,000).
    pub credential_cache_capacity: usize,
    /// How long SQLite waits on a lock held by another connection before retrying.
    pub busy_timeout_ms: u64,
    /// Lifetime of OAuth access tokens (default 3600 s).
    pub access_token_ttl_seconds: u32,
    /// Lifetime of OAuth refresh tokens (default 30 days); each rotation issues a fresh one.
    pub refresh_token_ttl_seconds: u32,
    /// Lifetime of authorization codes (default and maximum 600 s).
    pub authorization_code_ttl_seconds: u32,
    /// How long after its rotation a refresh token may be presented once more and get a
    /// sibling pair of the same grant, so concurrent refreshes both succeed (default 10 s,
    /// at most 300; 0: never, every reuse revokes the grant). See docs/oauth.md.
    pub refresh_reuse_grace_seconds: u32,
    /// The OAuth issuer identifier published in the authorization server metadata
    /// (`/.well-known/oauth-authorization-server`) and the base of its endpoint URLs: an
    /// `https` URL (`http` only for loopback hosts) without query, fragment or trailing slash.
    /// None: no metadata is served. The request's `Host` header is never used.
    pub issuer: Option<String>,
    /// The host's consent page that calls `authorize`, published as the metadata's
    /// `authorization_endpoint` (absent when None).
    pub authorization_endpoint: Option<String>,
    /// Where "now" comes from; tests inject a manual clock.
    pub clock: Arc<dyn Clock>,
}

/// Default of [`Options::audit_retention_days`].
pub const DEFAULT_AUDIT_RETENTION_DAYS: u32 = 90;
/// The longest [`Options::audit_retention_days`] may be (100 years).
pub const MAX_AUDIT_RETENTION_DAYS: u32 = 36_500;

/// Default of [`Options::refresh_reuse_grace_seconds`].
pub const DEFAULT_REFRESH_REUSE_GRACE_SECONDS: u32 = 10;
/// The longest [`Options::refresh_reuse_grace_seconds`] may be.
pub const MAX_REFRESH_REUSE_GRACE_SECONDS: u32 = 300;

/// The longest an authorization code may live (RFC 6749 §4.1.2 recommends at most 10 minutes).
pub const MAX_AUTHORIZATION_CODE_TTL_SECONDS: u32 = 600;

impl Default for Options {
    fn default() -> Self {
        Options {
            argon2: Argon2Params::default(),
            deletion_grace_seconds: DEFAULT_GRACE_SECONDS,
            audit_retention_days: DEFAULT_AUDIT_RETENTION_DAYS,
            synchronous: Synchronous::Full,
            rate_limits: RateLimits::default(),
            cross_process_staleness_ms: 1000,
            credential_cache_capacity: 100_000,
            busy_timeout_ms: 10_000,
            access_token_ttl_seconds: 3600,
            refresh_token_ttl_seconds: 30 * 24 * 3600,
            authorization_code_ttl_seconds: MAX_AUTHORIZATION_CODE_TTL_SECONDS,
            refresh_reuse_grace_seconds: DEFAULT_REFRESH_REUSE_GRACE_SECONDS,
            issuer: None,
            authorization_endpoint: None,
            clock: Arc::new(SystemClock),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OptionsJson {
    argon2: Option<Argon2Params>,
    deletion_grace_seconds: Option<i64>,
    audit_retention_days: Option<u32>,
    synchronous: Option<Synchronous>,
    rate_limits: Option<RateLimits>,
    cross_process_staleness_ms: Option<u64>,
    credential_cache_capacity: Option<usize>,
    busy_timeout_ms: Option<u64>,
    access_token_ttl_seconds: Option<u32>,
    refresh_token_ttl_seconds: Option<u32>,
    authorization_code_ttl_seconds: Option<u32>,
    refresh_reuse_grace_seconds: Option<u32>,
    issuer: Option<String>,
    authorization_endpoint: Option<String>,
}

impl Options {
    /// Parses the JSON form (`opc_store_open`, `--options`). Unknown keys are an error so a
    /// typo never silently falls back to a default.
    pub fn from_json(json: &str) -> Result<Options, Error> {
        let parsed: OptionsJson =
            serde_json::from_str(json).map_err(|e| Error::Options(e.to_string()))?;
        let mut options = Options::default();
        if let Some(v) = parsed.argon2 {
            options.argon2 = v;
        }
        if let Some(v) = parsed.deletion_grace_seconds {
            options.deletion_grace_seconds = v;
        }
        if let Some(v) = parsed.audit_retention_days {
            options.audit_retention_days = v;
        }
        if let Some(v) = parsed.synchronous {
            options.synchronous = v;
        }
        if let Some(v) = parsed.rate_limits {
            options.rate_limits = v;
        }
        if let Some(v) = parsed.cross_process_staleness_ms {
            options.cross_process_staleness_ms = v;
        }
        if let Some(v) = parsed.credential_cache_capacity {
            options.credential_cache_capacity = v;
        }
        if let Some(v) = parsed.busy_timeout_ms {
            options.busy_timeout_ms = v;
        }
        if let Some(v) = parsed.access_token_ttl_seconds {
            options.access_token_ttl_seconds = v;
        }
        if let Some(v) = parsed.refresh_token_ttl_seconds {
            options.refresh_token_ttl_seconds = v;
        }
        if let Some(v) = parsed.authorization_code_ttl_seconds {
            options.authorization_code_ttl_seconds = v;
        }
        if let Some(v) = parsed.refresh_reuse_grace_seconds {
            options.refresh_reuse_grace_seconds = v;
        }
        options.issuer = parsed.issuer;
        options.authorization_endpoint = parsed.authorization_endpoint;
        options.validate()?;
        Ok(options)
    }

    /// Checks every value; the error names the offending key.
    pub fn validate(&self) -> Result<(), Error> {
        self.argon2
            .validate()
            .map_err(|e| Error::Options(format!("argon2: {e}")))?;
        if self.deletion_grace_seconds < 0 {
            return Err(Error::Options(
                "deletion_grace_seconds must not be negative".into(),
            ));
        }
        if !(1..=MAX_AUDIT_RETENTION_DAYS).contains(&self.audit_retention_days) {
            return Err(Error::Options(format!(
                "audit_retention_days must be between 1 and {MAX_AUDIT_RETENTION_DAYS}"
            )));
        }
        for family in Family::ALL {
            let l = self.rate_limits.for_family(family);
            if l.limit == 0 || l.window_seconds == 0 {
                return Err(Error::Options(format!(
                    "rate_limits.{}: limit and window_seconds must be at least 1",
                    family.as_str()
                )));
            }
        }
        if self.access_token_ttl_seconds == 0 || self.refresh_token_ttl_seconds == 0 {
            return Err(Error::Options(
                "access_token_ttl_seconds and refresh_token_ttl_seconds must be at least 1".into(),
            ));
        }
        if !(1..=MAX_AUTHORIZATION_CODE_TTL_SECONDS).contains(&self.authorization_code_ttl_seconds)
        {
            return Err(Error::Options(format!(
                "authorization_code_ttl_seconds must be between 1 and \
                 {MAX_AUTHORIZATION_CODE_TTL_SECONDS}"
            )));
        }
        if self.refresh_reuse_grace_seconds > MAX_REFRESH_REUSE_GRACE_SECONDS {
            return Err(Error::Options(format!(
                "refresh_reuse_grace_seconds must be at most {MAX_REFRESH_REUSE_GRACE_SECONDS}"
            )));
        }
        if let Some(issuer) = &self.issuer {
            oauth_url(issuer, false).map_err(|e| Error::Options(format!("issuer {e}")))?;
        }
        if let Some(endpoint) = &self.authorization_endpoint {
            oauth_url(endpoint, true)
                .map_err(|e| Error::Options(format!("authorization_endpoint {e}")))?;
        }
        if self.credential_cache_capacity == 0 {
            return Err(Error::Options(
                "credential_cache_capacity must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

/// An issuer (RFC 8414 §2: `https`, no query or fragment) or authorization endpoint
/// (RFC 6749 §3.1: may carry a query, no fragment). `http` is accepted for loopback hosts
/// only, for development. Neither may end with `/`, so endpoint URLs never hold `//`.
fn oauth_url(text: &str, query_allowed: bool) -> Result<(), &'static str> {
    let url = url::Url::parse(text).map_err(|_| "must be an absolute URL")?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err("must be an absolute URL with a host"),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err("must use https (http is allowed only for loopback hosts)"),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain user information");
    }
    if url.fragment().is_some() || text.contains('#') {
        return Err("must not have a fragment");
    }
    if !query_allowed && (url.query().is_some() || text.contains('?')) {
        return Err("must not have a query");
    }
    if text.ends_with('/') {
        return Err("must not end with /");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keys_override_defaults() {
        let o = Options::from_json(
            r#"{"argon2":{"m_cost":8,"t_cost":1,"p_cost":1},"deletion_grace_seconds":60,
                "synchronous":"normal","rate_limits":{"manage":{"limit":5,"window_seconds":1}},
                "cross_process_staleness_ms":0,"audit_retention_days":7}"#,
        )
        .unwrap();
        assert_eq!(o.argon2.m_cost, 8);
        assert_eq!(o.deletion_grace_seconds, 60);
        assert_eq!(o.audit_retention_days, 7);
        assert_eq!(Options::default().audit_retention_days, 90);
        assert_eq!(o.synchronous, Synchronous::Normal);
        assert_eq!(o.rate_limits.manage, RateLimit::new(5, 1));
        assert_eq!(o.rate_limits.track, RateLimit::new(1000, 10));
        assert_eq!(o.cross_process_staleness_ms, 0);
        assert_eq!(o.access_token_ttl_seconds, 3600);
        let o = Options::from_json(
            r#"{"access_token_ttl_seconds":60,"refresh_token_ttl_seconds":120,
                "authorization_code_ttl_seconds":30}"#,
        )
        .unwrap();
        assert_eq!(
            (
                o.access_token_ttl_seconds,
                o.refresh_token_ttl_seconds,
                o.authorization_code_ttl_seconds
            ),
            (60, 120, 30)
        );
    }

    #[test]
    fn oauth_keys() {
        let o = Options::from_json("{}").unwrap();
        assert_eq!(o.refresh_reuse_grace_seconds, 10);
        assert_eq!((o.issuer, o.authorization_endpoint), (None, None));
        let o = Options::from_json(
            r#"{"refresh_reuse_grace_seconds":0,"issuer":"https://auth.example.com/opcore",
                "authorization_endpoint":"https://app.example.com/consent?tenant=a"}"#,
        )
        .unwrap();
        assert_eq!(o.refresh_reuse_grace_seconds, 0);
        assert_eq!(o.issuer.as_deref(), Some("https://auth.example.com/opcore"));
        assert_eq!(
            o.authorization_endpoint.as_deref(),
            Some("https://app.example.com/consent?tenant=a")
        );
        for issuer in [
            "http://127.0.0.1:3333",
            "http://localhost:8080",
            "http://[::1]:1",
        ] {
            let json = format!(r#"{{"issuer":"{issuer}"}}"#);
            assert_eq!(
                Options::from_json(&json).unwrap().issuer.as_deref(),
                Some(issuer)
            );
        }
    }

    #[test]
    fn bad_json_names_the_problem() {
        let cases = [
            (r#"{"argon":{}}"#, "unknown field `argon`"),
            (r#"{"synchronous":"off"}"#, "unknown variant `off`"),
            (r#"{"deletion_grace_seconds":-1}"#, "deletion_grace_seconds"),
            (
                r#"{"audit_retention_days":0}"#,
                "audit_retention_days must be between 1 and 36500",
            ),
            (
                r#"{"audit_retention_days":36501}"#,
                "audit_retention_days must be between 1 and 36500",
            ),
            (r#"{"audit_retention_days":-1}"#, "invalid value"),
            (
                r#"{"rate_limits":{"track":{"limit":0,"window_seconds":1}}}"#,
                "rate_limits.track",
            ),
            ("[", "EOF"),
            (
                r#"{"authorization_code_ttl_seconds":601}"#,
                "authorization_code_ttl_seconds must be between 1 and 600",
            ),
            (
                r#"{"access_token_ttl_seconds":0}"#,
                "access_token_ttl_seconds",
            ),
            (
                r#"{"refresh_reuse_grace_seconds":301}"#,
                "refresh_reuse_grace_seconds must be at most 300",
            ),
            (
                r#"{"issuer":"http://auth.example.com"}"#,
                "issuer must use https (http is allowed only for loopback hosts)",
            ),
            (
                r#"{"issuer":"example.com"}"#,
                "issuer must be an absolute URL",
            ),
            (
                r#"{"issuer":"https://auth.example.com/"}"#,
                "issuer must not end with /",
            ),
            (
                r#"{"issuer":"https://auth.example.com?x=1"}"#,
                "issuer must not have a query",
            ),
            (
                r#"{"issuer":"https://auth.example.com#x"}"#,
                "issuer must not have a fragment",
            ),
            (
                r#"{"issuer":"https://u:p@auth.example.com"}"#,
                "issuer must not contain user information",
            ),
            (
                r#"{"authorization_endpoint":"ftp://example.com/consent"}"#,
                "authorization_endpoint must use https",
            ),
            (r#"{"issuer":1}"#, "invalid type"),
            (
                r#"{"issuers":"https://a.example"}"#,
                "unknown field `issuers`",
            ),
        ];
        for (json, needle) in cases {
            let e = Options::from_json(json).unwrap_err().to_string();
            assert!(e.contains(needle), "{json}: {e}");
        }
    }
}
