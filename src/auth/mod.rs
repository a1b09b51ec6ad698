//! Authentication, authorization and rate limiting for the four API families (docs/security.md), and
//! OAuth 2.0 bearer tokens (docs/oauth.md: [`tokens`], [`oauth`]).
//!
//! Order of checks: client id present and well-formed → credentials (a wrong secret is refused
//! after one HMAC against its keyed check value, and an unknown id after the same HMAC against
//! a dummy value, so "unknown" and "wrong secret" look the same by message and by time; argon2
//! runs only for secrets that pass) → client type allowed for the family → project scope →
//! rate limit. Manage calls also re-read, on every call, that their client still exists.

pub mod cache;
pub(crate) mod limiter;
pub mod oauth;
pub mod ratelimit;
#[cfg(feature = "redis")]
pub(crate) mod shared;
pub mod throttle;
pub mod tokens;
pub(crate) mod usage;

use std::sync::Arc;

use crate::domain::access::Family;
use crate::domain::cors;
use crate::domain::deletion;
use crate::domain::hashing::Verification;
use crate::domain::model::ClientType;
use crate::error::Error;
use crate::options::{Options, RateLimits};
use crate::store::backend::Backend;
use crate::store::roles::{ChangeNotification, Credentials, Grants, Resources};
use cache::{CachedClient, CredentialCache, LastUse};
use limiter::{Limiter, Limiters, Rule};
use oauth::{
    AuthorizeError, AuthorizeRequest, ClientAuth, Grant, IssuedTokens, Metadata, OAuthError,
};
use ratelimit::Decision;
use throttle::Throttle;
use tokens::{BearerRequest, TokenInfo};

/// Wrong secrets per client id and source address per minute before further wrong secrets for
/// that pair are answered 429 instead of 401. A right secret is never refused.
pub const FAILURES_PER_CLIENT: usize = 10;
/// Wrong secrets per source address per minute before its further wrong secrets are answered
/// 429 instead of 401. A right secret is never refused.
pub const FAILURES_PER_SOURCE: usize = 100;
const FAILURE_WINDOW_MS: i64 = 60_000;

/// One request to authenticate. Every field but `family` may be absent.
#[derive(Debug, Clone, Copy)]
pub struct AuthRequest<'a> {
    pub family: Family,
    pub client_id: Option<&'a str>,
    /// Never logged or echoed.
    pub client_secret: Option<&'a str>,
    /// The request's `Origin` header (Track without a secret).
    pub origin: Option<&'a str>,
    /// The project the request is about, when it names one.
    pub project_id: Option<&'a str>,
    /// The caller's network address, when the host knows it (throttles failures per source).
    pub source: Option<&'a str>,
}

impl<'a> AuthRequest<'a> {
    pub fn new(family: Family) -> Self {
        AuthRequest {
            family,
            client_id: None,
            client_secret: None,
            origin: None,
            project_id: None,
            source: None,
        }
    }
}

/// Who is calling, what they may reach, and the rate-limit decision for this request.
///
/// The ids are shared (`Arc<str>`) with the credential cache, so a cached authentication
/// allocates nothing for them; they read as `&str` through `Deref` (`&*p.client_id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub client_id: Arc<str>,
    pub organization_id: Arc<str>,
    pub client_type: ClientType,
    /// The client's own project (None: an organization-level client).
    pub client_project_id: Option<Arc<str>>,
    /// The project this request may act on: the requested one if allowed, else the client's.
    pub project_id: Option<Arc<str>>,
    pub rate: Decision,
    /// The user an authorization-code token acts for (None for client credentials).
    pub subject: Option<String>,
}

/// Why a request was refused. Its `Display` text is the exact text a caller sees; the HTTP
/// status and bodies for each are `manage`'s (`AuthError::status`, `manage::auth_error_response`,
/// `manage::bearer_error_response`).
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Missing id, unknown id, wrong or missing secret, origin not allowed.
    #[error("Invalid client credentials")]
    InvalidCredentials,
    /// The id is not a UUID.
    #[error("Malformed client ID (must be a valid UUIDv4)")]
    MalformedClientId,
    /// The right secret of a client past its `expiresAt` (docs/lifecycle.md#expiry); only
    /// ever said once the secret is proven, so it tells a guesser nothing.
    #[error("Client credentials expired")]
    CredentialsExpired,
    /// Valid credentials of a type the family refuses.
    #[error("{}", .0.denied_message())]
    WrongType(Family),
    /// A client asking for a project outside its scope.
    #[error("You do not have access to this project")]
    ProjectForbidden,
    /// A wrong secret from a (client id, source) or source that has sent too many; only
    /// ever for a wrong secret.
    #[error("Rate limit exceeded")]
    Throttled { retry_after_seconds: u64 },
    /// The client's rate limit for this family is used up.
    #[error("Rate limit exceeded")]
    RateLimited(Decision),
    /// Bearer: `Authorization: Bearer` with no token.
    #[error("No API key provided in the Authorization header.")]
    MissingToken,
    /// Bearer: not an access token opcore issued, unknown, revoked, or its client is gone.
    #[error("The API key provided is invalid.")]
    InvalidToken,
    /// Bearer: the access token is past its expiry.
    #[error("The access token has expired.")]
    TokenExpired,
    /// Bearer: the token's scope does not include the family.
    #[error("The access token's scope does not include {}.", .0.as_str())]
    InsufficientScope(Family),
    /// The store failed; details are for logs, never for the caller.
    #[error("storage failure")]
    Storage(#[source] Error),
}

/// Authentication state for one store handle: the credential cache, the failed-attempt
/// throttles and the rate limiter. Thread-safe.
pub struct Authenticator {
    core: Core<Backend>,
}

impl Authenticator {
    pub(crate) fn new(db: Backend, options: &Options) -> crate::Result<Self> {
        Ok(Authenticator {
            core: Core::new(db, options)?,
        })
    }

    /// Whether rate-limit decisions wait on the network (option `rate_limit_url`): an
    /// event-loop host then runs every authentication on a blocking thread.
    pub(crate) fn shared_rate_limits(&self) -> bool {
        self.core.shared_rate_limits()
    }

    /// How many verified credentials are cached.
    pub fn cached_credentials(&self) -> usize {
        self.core.cached_credentials()
    }

    /// How many argon2 verifications this store handle has run (dummy ones included); wrong
    /// secrets and unknown client ids add none.
    pub fn argon2_verifications(&self) -> u64 {
        self.core.argon2_verifications()
    }

    /// How many batches of last uses this handle has written (docs/lifecycle.md#last-use).
    pub fn last_used_writes(&self) -> u64 {
        self.core.usage.writes()
    }

    /// Writes the last uses this handle has pending now rather than in the background; client
    /// reads through [`crate::Store`] do it first, so they see every use (docs/lifecycle.md).
    pub fn flush_last_used(&self) {
        self.core.usage.flush();
    }

    pub fn authenticate(&self, req: &AuthRequest<'_>) -> Result<Principal, AuthError> {
        self.core.authenticate(req)
    }

    /// See `Core::authenticate_for_acting`: for the Manage dispatcher, whose operations
    /// re-check the client inside their own transactions.
    pub(crate) fn authenticate_for_acting(
        &self,
        req: &AuthRequest<'_>,
    ) -> Result<Principal, AuthError> {
        self.core.authenticate_for_acting(req)
    }

    /// Whether authenticating `client_id` with `client_secret` may run an argon2
    /// verification: a well-formed pair that is not in the credential cache. Everything else
    /// (cached, missing or malformed credentials) is decided without one. Hosts with an event
    /// loop use it to run only such requests on a blocking thread.
    pub fn may_verify_secret(&self, client_id: Option<&str>, client_secret: Option<&str>) -> bool {
        self.core.may_verify_secret(client_id, client_secret)
    }

    /// The issuer and authorization endpoint the metadata document publishes.
    pub fn oauth_metadata(&self) -> &Metadata {
        self.core.oauth_metadata()
    }

    /// Issues an authorization code and returns the redirect URL carrying `code` and `state`.
    pub fn authorize(&self, req: &AuthorizeRequest<'_>) -> Result<String, AuthorizeError> {
        self.core.authorize(req)
    }

    /// The token endpoint: authenticates the client, then runs the grant.
    pub fn token(
        &self,
        client: &ClientAuth<'_>,
        grant: &Grant<'_>,
    ) -> Result<IssuedTokens, OAuthError> {
        self.core.token(client, grant)
    }

    /// RFC 7662: what an active access or refresh token proves, or None ("active": false) for
    /// anything else — unknown, expired, revoked, superseded, or a token of a client the
    /// caller may not inspect (its own tokens; a root client: those of its organization).
    pub fn introspect(
        &self,
        caller: &ClientAuth<'_>,
        text: &str,
    ) -> Result<Option<TokenInfo>, OAuthError> {
        self.core.introspect(caller, text)
    }

    /// RFC 7009: revokes an access token (that token only) or a refresh token (its whole
    /// grant). Unknown or already invalid tokens are ignored (RFC 7009 §2.2). A stored token
    /// the caller may not inspect (see [`Authenticator::introspect`]) is refused with
    /// `unauthorized_client` (RFC 7009 §2.1) and stays active.
    pub fn revoke(&self, caller: &ClientAuth<'_>, text: &str) -> Result<(), OAuthError> {
        self.core.revoke(caller, text)
    }

    /// Authenticates and authorizes one request made with a bearer access token. No argon2.
    pub fn authenticate_bearer(&self, req: &BearerRequest<'_>) -> Result<Principal, AuthError> {
        self.core.authenticate_bearer(req)
    }

    /// Checks an access token: `Ok` only for a token opcore issued that is neither revoked nor
    /// expired and whose client still exists. Nothing is counted against any limit.
    pub fn verify_access_token(&self, text: &str) -> Result<TokenInfo, AuthError> {
        self.core.verify_access_token(text)
    }
}

/// What authentication needs from storage: a client's credentials, the access revision that
/// empties the credential cache, OAuth codes, grants and tokens, and reading a project for
/// scope checks (`crate::store::roles`). Any backend with these roles will do; the calls are
/// statically dispatched.
pub(crate) trait AuthBackend:
    Credentials + ChangeNotification + Grants + Resources + Clone + Send + Sync + 'static
{
}

impl<B> AuthBackend for B where
    B: Credentials + ChangeNotification + Grants + Resources + Clone + Send + Sync + 'static
{
}

/// [`Authenticator`]'s state and logic over a storage backend `B`.
pub(crate) struct Core<B> {
    db: B,
    limits: RateLimits,
    cache: CredentialCache,
    by_client: Throttle<String>,
    by_source: Throttle<String>,
    /// The per-family limits and the tiers, in this process or shared (`auth::limiter`).
    limiter: Limiters,
    ttl: tokens::Lifetimes,
    metadata: oauth::Metadata,
    /// Last uses waiting to be written (docs/lifecycle.md#last-use).
    usage: usage::UsageLog,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator").finish_non_exhaustive()
    }
}

/// Where a cached Manage credential's per-call existence check happens.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ExistenceCheck {
    /// One indexed read during authentication.
    Now,
    /// Inside the transaction of every operation the call makes (the caller acts through
    /// [`crate::Store::acting_as`]).
    InOperation,
}

impl<B: AuthBackend> Core<B> {
    pub(crate) fn new(db: B, options: &Options) -> crate::Result<Self> {
        let writer = db.clone();
        Ok(Core {
            usage: usage::UsageLog::new(Box::new(move |uses| writer.record_last_used(uses))),
            db,
            limits: options.rate_limits,
            cache: CredentialCache::new(options.credential_cache_capacity),
            by_client: Throttle::new(FAILURES_PER_CLIENT, FAILURE_WINDOW_MS, 100_000),
            by_source: Throttle::new(FAILURES_PER_SOURCE, FAILURE_WINDOW_MS, 100_000),
            limiter: Limiters::from_options(options)?,
            ttl: tokens::Lifetimes::from_options(options),
            metadata: oauth::Metadata::from_options(options),
        })
    }

    /// How many verified credentials are cached.
    pub fn cached_credentials(&self) -> usize {
        self.cache.len()
    }

    /// How many argon2 verifications this store handle has run (dummy ones included); wrong
    /// secrets and unknown client ids add none.
    pub fn argon2_verifications(&self) -> u64 {
        self.db.hasher().verifications()
    }

    pub fn authenticate(&self, req: &AuthRequest<'_>) -> Result<Principal, AuthError> {
        self.authenticate_checking(req, ExistenceCheck::Now)
    }

    /// [`Core::authenticate`] for the Manage API's own dispatcher, which runs every
    /// operation of the call through [`crate::Store::acting_as`]: a cached Manage credential
    /// then skips its separate existence read, because the operation re-checks the client
    /// inside its own transaction (reads and writes alike), which is both cheaper (one
    /// transaction per call instead of two) and without any window (docs/security.md).
    pub(crate) fn authenticate_for_acting(
        &self,
        req: &AuthRequest<'_>,
    ) -> Result<Principal, AuthError> {
        self.authenticate_checking(req, ExistenceCheck::InOperation)
    }

    fn authenticate_checking(
        &self,
        req: &AuthRequest<'_>,
        existence: ExistenceCheck,
    ) -> Result<Principal, AuthError> {
        // One clock read serves the whole decision; the coarse clock is exact enough for rate
        // limits, throttles and expiry, and cheaper on every request.
        let now = self.db.now_coarse();
        let client = self.identify(req, now, existence)?;
        if !req.family.allows(client.client_type) {
            return Err(AuthError::WrongType(req.family));
        }
        let project_id = self.scope(req, &client)?;
        let rate = self.rate(&client, req.family, now)?;
        self.mark_used(&client, now);
        Ok(Principal {
            client_id: client.client_id,
            organization_id: client.organization_id,
            client_type: client.client_type,
            client_project_id: client.project_id,
            project_id,
            rate,
            subject: None,
        })
    }

    /// Counts one request against the client's limits: its tier's if it has one, else its
    /// family's (docs/security.md).
    fn rate(
        &self,
        client: &CachedClient,
        family: Family,
        now: crate::Timestamp,
    ) -> Result<Decision, AuthError> {
        let rule = match client.tier {
            Some(tier) => Rule::Tier(tier),
            None => Rule::Family(family, self.limits.for_family(family)),
        };
        let rate = self.limiter.decide(&client.client_id, rule, now.millis());
        if rate.allowed {
            Ok(rate)
        } else {
            Err(AuthError::RateLimited(rate))
        }
    }

    /// Whether rate-limit decisions wait on the network (option `rate_limit_url`).
    pub(crate) fn shared_rate_limits(&self) -> bool {
        self.limiter.is_shared()
    }

    /// Marks an admitted request's client used: one atomic load, and at most once a minute a
    /// queued write (docs/lifecycle.md#last-use).
    pub(crate) fn mark_used(&self, client: &CachedClient, now: crate::Timestamp) {
        if client.last_used.claim(now, usage::RECORD_INTERVAL_MS) {
            self.usage.record(&client.client_id, now);
        }
    }

    /// Steps 1–2: who is this? Credentials only; type and scope come after.
    fn identify(
        &self,
        req: &AuthRequest<'_>,
        now: crate::Timestamp,
        existence: ExistenceCheck,
    ) -> Result<CachedClient, AuthError> {
        let id = match req.client_id.map(str::trim) {
            None | Some("") => return Err(AuthError::InvalidCredentials),
            Some(id) => id,
        };
        // Every generated pair has the compact form, whose decoding also proves the id a
        // lowercase UUID and the secret well formed: the checks below are then already made.
        if let Some(secret) = req.client_secret {
            if let Some(key) = self.cache.compact_key(id, secret) {
                let revision = self.db.access_revision().map_err(AuthError::Storage)?;
                return self.identify_keyed(req, id, secret, key, revision, now, existence);
            }
        }
        if !crate::domain::validate::is_hyphenated_uuid(id) {
            return Err(AuthError::MalformedClientId);
        }
        // Ids are stored lowercase; most callers already send them so (no allocation then).
        let id: std::borrow::Cow<'_, str> = if id.bytes().any(|b| b.is_ascii_uppercase()) {
            id.to_ascii_lowercase().into()
        } else {
            id.into()
        };
        let revision = self.db.access_revision().map_err(AuthError::Storage)?;
        let secret = req.client_secret.filter(|s| !s.is_empty());

        let Some(secret) = secret else {
            return self.identify_without_secret(req, &id, now);
        };
        // A string that cannot be a secret is wrong whatever the id: refused without argon2,
        // identically for known and unknown ids.
        if !crate::domain::secret::is_well_formed(secret) {
            return Err(AuthError::InvalidCredentials);
        }
        let key = self.cache.key(&id, secret);
        self.identify_keyed(req, &id, secret, key, revision, now, existence)
    }

    /// [`Core::identify`] once the id is canonical, the secret well formed and its cache key
    /// computed: the credential cache, else a verification.
    #[allow(clippy::too_many_arguments)]
    fn identify_keyed(
        &self,
        req: &AuthRequest<'_>,
        id: &str,
        secret: &str,
        key: cache::CacheKey,
        revision: u64,
        now: crate::Timestamp,
        existence: ExistenceCheck,
    ) -> Result<CachedClient, AuthError> {
        if let Some(hit) = self.cache.get(&key, revision) {
            if deletion::is_gone(hit.project_delete_at, now) {
                return Err(AuthError::InvalidCredentials);
            }
            // Deadlines are kept to the millisecond: judged by the exact clock, read only for
            // entries that have one (docs/lifecycle.md).
            if hit.secret_until.is_some() || hit.expires_at.is_some() {
                let exact = self.db.now();
                if hit.secret_until.is_some_and(|until| exact >= until) {
                    // A previous secret past its grace: judged afresh, and refused, as any
                    // wrong secret is.
                    self.cache.remove(&key);
                    return self.verify_uncached(req, id, secret, key, revision);
                }
                if hit.expires_at.is_some_and(|e| exact >= e) {
                    return Err(AuthError::CredentialsExpired);
                }
            }
            // Manage acts with no revocation window (docs/security.md#revocation-windows): the
            // cache proves the secret, one indexed read proves the client still exists.
            if req.family == Family::Manage
                && existence == ExistenceCheck::Now
                && !self
                    .db
                    .client_is_active(&hit.client_id)
                    .map_err(AuthError::Storage)?
            {
                return Err(AuthError::InvalidCredentials);
            }
            return Ok(hit);
        }
        self.verify_uncached(req, id, secret, key, revision)
    }

    /// A secret not in the credential cache. The check values refuse a wrong secret, and an
    /// unknown id (against the dummy value), after one HMAC, computed once and compared with
    /// the current secret's check value and, during a rotation's grace, the previous one's;
    /// argon2 runs only against the hash whose check value matched (or a hash older than
    /// check values). The failed-attempt throttle turns refusals of wrong secrets into 429s
    /// for a guessing (client id, source) or source, and never refuses a right secret
    /// (docs/security.md#the-failed-attempt-throttle). A right secret of an expired client is
    /// refused with its own message, after the proof (docs/lifecycle.md#expiry).
    fn verify_uncached(
        &self,
        req: &AuthRequest<'_>,
        id: &str,
        secret: &str,
        key: cache::CacheKey,
        revision: u64,
    ) -> Result<CachedClient, AuthError> {
        // This path reads the store anyway: deadlines are judged by the exact clock.
        let now = self.db.now();
        let stored = self.db.secret_checks(id, now).map_err(AuthError::Storage)?;
        let check_key = self.db.check_key();
        let computed = check_key.value(id, secret);
        let (current, previous) = match stored {
            // A hash from before check values (None): only argon2 can tell.
            Some(checks) => (
                checks
                    .current
                    .is_none_or(|c| check_key.matches(computed, Some(c))),
                checks
                    .previous
                    .is_some_and(|(p, _)| p.is_none_or(|p| check_key.matches(computed, Some(p)))),
            ),
            // Unknown id: the same HMAC and comparison, against the dummy value.
            None => (check_key.matches(computed, None), false),
        };
        if !current && !previous {
            return Err(self.refuse_wrong_secret(id, req.source, now));
        }
        let creds = self.db.client_credentials(id).map_err(AuthError::Storage)?;
        let verified = match &creds {
            Some(c) if !deletion::is_gone(c.project_delete_at, now) => {
                let hasher = self.db.hasher();
                let by_current = current
                    .then(|| match hasher.verify(&c.secret_hash, secret) {
                        Verification::Valid { needs_rehash } => Some(Via::Current { needs_rehash }),
                        Verification::Invalid => None,
                    })
                    .flatten();
                by_current.or_else(|| {
                    let p = c
                        .previous
                        .as_ref()
                        .filter(|p| previous && now < p.expires_at)?;
                    match hasher.verify(&p.hash, secret) {
                        Verification::Valid { .. } => Some(Via::Previous(p.expires_at)),
                        Verification::Invalid => None,
                    }
                })
            }
            _ => {
                self.db.hasher().verify_dummy(secret);
                None
            }
        };
        let (Some(via), Some(creds)) = (verified, creds) else {
            return Err(self.refuse_wrong_secret(id, req.source, now));
        };
        self.by_client.clear(&throttle_key(id, req.source));
        let secret_until = match via {
            Via::Current { needs_rehash } => {
                self.record_current(id, secret, &creds, computed, needs_rehash);
                None
            }
            // The previous secret is on its way out: neither rehashed nor given a check value.
            Via::Previous(until) => Some(until),
        };
        if creds.client.expires_at.is_some_and(|e| now >= e) {
            return Err(AuthError::CredentialsExpired);
        }
        let client = CachedClient {
            secret_until,
            ..to_cached(&creds)
        };
        self.cache.insert(key, revision, client.clone());
        Ok(client)
    }

    /// After the current secret verified: stores its check value if it had none, and a hash
    /// with the current argon2 parameters if it needs one.
    fn record_current(
        &self,
        id: &str,
        secret: &str,
        creds: &crate::store::ClientCredentials,
        check: u32,
        needs_rehash: bool,
    ) {
        if needs_rehash || creds.secret_check != Some(check) {
            let new_hash = needs_rehash
                .then(|| {
                    let plain = crate::domain::secret::Secret::from_plaintext(secret.to_owned());
                    self.db.hasher().hash(&plain).ok()
                })
                .flatten();
            // Best effort: the old hash keeps working (at argon2's cost) if this write fails.
            let _ =
                self.db
                    .record_verified_secret(id, &creds.secret_hash, new_hash.as_deref(), check);
        }
    }

    /// Records a refused secret against its (client id, source) and its source, and says how
    /// to refuse it: 429 once either has failed too often, else 401.
    fn refuse_wrong_secret(
        &self,
        id: &str,
        source: Option<&str>,
        now: crate::Timestamp,
    ) -> AuthError {
        let now = now.millis();
        let client_key = throttle_key(id, source);
        let blocked = self
            .by_client
            .blocked_for(&client_key, now)
            .into_iter()
            .chain(source.and_then(|s| self.by_source.blocked_for(&s.to_owned(), now)))
            .max();
        self.by_client.record_failure(&client_key, now);
        if let Some(s) = source {
            self.by_source.record_failure(&s.to_owned(), now);
        }
        match blocked {
            Some(retry_after_seconds) => AuthError::Throttled {
                retry_after_seconds,
            },
            None => AuthError::InvalidCredentials,
        }
    }

    /// Track may omit the secret when the request's Origin matches the project's CORS list,
    /// or when the client is marked `ignoreCorsAndSecret`. Every other family needs it.
    fn identify_without_secret(
        &self,
        req: &AuthRequest<'_>,
        id: &str,
        now: crate::Timestamp,
    ) -> Result<CachedClient, AuthError> {
        if req.family != Family::Track {
            return Err(AuthError::InvalidCredentials);
        }
        let creds = self
            .db
            .client_credentials(id)
            .map_err(AuthError::Storage)?
            .ok_or(AuthError::InvalidCredentials)?;
        if creds.client.project_id.is_none() || deletion::is_gone(creds.project_delete_at, now) {
            return Err(AuthError::InvalidCredentials);
        }
        if !creds.client.ignore_cors_and_secret
            && !cors::origin_allowed(&creds.project_cors, req.origin)
        {
            return Err(AuthError::InvalidCredentials);
        }
        if creds.client.expires_at.is_some_and(|e| self.db.now() >= e) {
            return Err(AuthError::CredentialsExpired);
        }
        Ok(to_cached(&creds))
    }

    /// Steps 3–4: the project this request may act on.
    fn scope(
        &self,
        req: &AuthRequest<'_>,
        client: &CachedClient,
    ) -> Result<Option<Arc<str>>, AuthError> {
        let own = client.project_id.as_ref();
        if req.family == Family::Track && client.client_type != ClientType::Root && own.is_none() {
            // A Track client must belong to a project.
            return Err(AuthError::InvalidCredentials);
        }
        let Some(wanted) = req.project_id.filter(|p| !p.is_empty()) else {
            return Ok(own.cloned());
        };
        match own {
            Some(own) if client.client_type != ClientType::Root => {
                if **own == *wanted {
                    Ok(Some(own.clone()))
                } else {
                    Err(AuthError::ProjectForbidden)
                }
            }
            // Root and organization-level clients reach any live project of their org.
            _ => match self.db.get_project(&client.organization_id, wanted) {
                Ok(p) => Ok(Some(p.id.into())),
                Err(Error::NotFound(_)) => Err(AuthError::ProjectForbidden),
                Err(e) => Err(AuthError::Storage(e)),
            },
        }
    }
}

/// The failed-attempt throttle's key for a client id and a source: length-delimited, so no two
/// pairs share a key.
fn throttle_key(id: &str, source: Option<&str>) -> String {
    format!("{}:{id}{}", id.len(), source.unwrap_or(""))
}

fn to_cached(c: &crate::store::ClientCredentials) -> CachedClient {
    CachedClient {
        client_id: c.client.id.as_str().into(),
        organization_id: c.client.organization_id.as_str().into(),
        client_type: c.client.client_type,
        project_id: c.client.project_id.as_deref().map(Into::into),
        ignore_cors_and_secret: c.client.ignore_cors_and_secret,
        project_delete_at: c.project_delete_at,
        tier: c.client.tier,
        expires_at: c.client.expires_at,
        secret_until: None,
        last_used: LastUse::new(c.client.last_used_at),
    }
}

/// Which of a client's secrets a presented secret proved to be.
#[derive(Clone, Copy)]
enum Via {
    Current {
        needs_rehash: bool,
    },
    /// A rotation's previous secret, valid until the given time.
    Previous(crate::Timestamp),
}

impl<B: AuthBackend> Core<B> {
    /// Whether authenticating `client_id` with `client_secret` may run an argon2
    /// verification: a well-formed pair that is not in the credential cache. Everything else
    /// (cached, missing or malformed credentials) is decided without one. Hosts with an event
    /// loop use it to run only such requests on a blocking thread.
    pub fn may_verify_secret(&self, client_id: Option<&str>, client_secret: Option<&str>) -> bool {
        let (Some(id), Some(secret)) = (client_id.map(str::trim), client_secret) else {
            return false;
        };
        if secret.is_empty()
            || !crate::domain::validate::is_hyphenated_uuid(id)
            || !crate::domain::secret::is_well_formed(secret)
        {
            return false;
        }
        let id = id.to_ascii_lowercase();
        let Ok(revision) = self.db.access_revision() else {
            return true;
        };
        self.cache
            .get(&self.cache.key(&id, secret), revision)
            .is_none()
    }
}
