//! OAuth 2.0 (docs/oauth.md): the authorization call hosts make after their consent screen, the
//! token endpoint's grants, revocation (RFC 7009) and introspection (RFC 7662).
//!
//! - **client_credentials**: the client's secret is verified once (argon2, through the same
//!   path, cache and failed-attempt throttle as every other credential check) and exchanged
//!   for an access token; requests carrying the token never run argon2.
//! - **authorization_code** with PKCE S256: codes live at most 10 minutes and are single-use;
//!   presenting a used code again revokes every token issued from it.
//! - **refresh_token**: refresh tokens rotate on every use; presenting a superseded one
//!   revokes its whole grant (RFC 9700 §4.14.2) — except once within
//!   `refresh_reuse_grace_seconds` of its rotation, which issues a sibling pair of the same
//!   grant so concurrent refreshes (two tabs) both succeed (docs/oauth.md).
//!
//! Every client is confidential: each grant authenticates the client with its secret.

use crate::domain::access::Family;
use crate::domain::deletion;
use crate::domain::model::ClientType;
use crate::domain::pkce;
use crate::domain::redirect;
use crate::domain::scope::Scope;
use crate::domain::token::{self, Token, TokenKind};
use crate::error::Error;
use crate::store::{CodeClaim, NewCode, NewGrant, NewToken, Rotation};

use super::cache::CachedClient;
use super::tokens::{intersect, TokenInfo};
use super::{AuthBackend, AuthError, AuthRequest, Core};

/// What the authorization server metadata (RFC 8414) publishes about this store: the
/// `issuer` and `authorization_endpoint` options (docs/oauth.md).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    /// None: no metadata document is served.
    pub issuer: Option<String>,
    pub authorization_endpoint: Option<String>,
}

impl Metadata {
    pub(crate) fn from_options(o: &crate::Options) -> Metadata {
        Metadata {
            issuer: o.issuer.clone(),
            authorization_endpoint: o.authorization_endpoint.clone(),
        }
    }
}

/// How a client authenticates at the token, revocation and introspection endpoints.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientAuth<'a> {
    pub client_id: Option<&'a str>,
    /// Never logged or echoed.
    pub client_secret: Option<&'a str>,
    /// The caller's network address, when known (failed-attempt throttle).
    pub source: Option<&'a str>,
}

/// A token request's grant and its parameters.
#[derive(Debug, Clone, Copy)]
pub enum Grant<'a> {
    ClientCredentials {
        scope: Option<&'a str>,
    },
    AuthorizationCode {
        code: &'a str,
        redirect_uri: &'a str,
        code_verifier: &'a str,
    },
    RefreshToken {
        refresh_token: &'a str,
        scope: Option<&'a str>,
    },
}

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug)]
pub struct IssuedTokens {
    pub access_token: Token,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Issued by the authorization-code and refresh-token grants.
    pub refresh_token: Option<Token>,
    pub scope: Scope,
}

/// A refused token, revocation or introspection request (RFC 6749 §5.2). `code()` is the
/// RFC's error code, the `Display` text its description.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("Client authentication failed")]
    InvalidClient,
    #[error("{0}")]
    InvalidGrant(&'static str),
    #[error("{0}")]
    UnauthorizedClient(&'static str),
    #[error("The grant type is not supported")]
    UnsupportedGrantType,
    #[error("{0}")]
    InvalidScope(String),
    /// Too many failed client authentications for this client id or source; no argon2 ran.
    #[error("Too many failed authentication attempts")]
    Throttled { retry_after_seconds: u64 },
    /// The store failed; details are for logs, never for the caller.
    #[error("storage failure")]
    Storage(#[source] Error),
}

impl OAuthError {
    /// The RFC 6749 §5.2 error code.
    pub fn code(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest(_) => "invalid_request",
            OAuthError::InvalidClient => "invalid_client",
            OAuthError::InvalidGrant(_) => "invalid_grant",
            OAuthError::UnauthorizedClient(_) => "unauthorized_client",
            OAuthError::UnsupportedGrantType => "unsupported_grant_type",
            OAuthError::InvalidScope(_) => "invalid_scope",
            OAuthError::Throttled { .. } => "rate_limit_exceeded",
            OAuthError::Storage(_) => "server_error",
        }
    }
}

impl From<Error> for OAuthError {
    fn from(e: Error) -> Self {
        OAuthError::Storage(e)
    }
}

/// The host's call after its consent screen: which client, for whom, sent where.
#[derive(Debug, Clone, Copy)]
pub struct AuthorizeRequest<'a> {
    pub client_id: &'a str,
    /// Must be exactly one of the client's registered redirect URIs.
    pub redirect_uri: &'a str,
    /// Space-separated families (`track export insights manage`); None or blank: every family
    /// the client's type allows.
    pub scope: Option<&'a str>,
    pub code_challenge: &'a str,
    /// Must be `S256`.
    pub code_challenge_method: &'a str,
    /// Returned unchanged in the redirect.
    pub state: Option<&'a str>,
    /// The user the host authenticated and who consented (1–255 characters).
    pub subject: &'a str,
}

/// Why no code was issued. The first three must be shown to the user, **never** redirected
/// to the client (its redirect URI is not trusted); `Refused` carries the redirect that tells
/// the client app (RFC 6749 §4.1.2.1).
#[derive(Debug, thiserror::Error)]
pub enum AuthorizeError {
    #[error("subject must be 1 to 255 characters")]
    InvalidSubject,
    #[error("unknown client")]
    UnknownClient,
    #[error("redirect_uri is not registered for this client")]
    RedirectUriMismatch,
    #[error("{error}: {description}")]
    Refused {
        /// `invalid_request` or `invalid_scope`.
        error: &'static str,
        description: String,
        /// The registered redirect URI with `error`, `error_description` and `state`.
        redirect_url: String,
    },
    #[error("storage failure")]
    Storage(#[source] Error),
}

impl<B: AuthBackend> Core<B> {
    /// The issuer and authorization endpoint the metadata document publishes.
    pub fn oauth_metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// Issues an authorization code and returns the redirect URL carrying `code` and `state`.
    pub fn authorize(&self, req: &AuthorizeRequest<'_>) -> Result<String, AuthorizeError> {
        let subject_len = req.subject.chars().count();
        if req.subject.trim().is_empty() || subject_len > 255 {
            return Err(AuthorizeError::InvalidSubject);
        }
        let now = self.db.now();
        let creds = self
            .db
            .client_credentials(req.client_id)
            .map_err(AuthorizeError::Storage)?
            .filter(|c| !deletion::is_gone(c.project_delete_at, now))
            .ok_or(AuthorizeError::UnknownClient)?;
        if !redirect::is_registered(&creds.client.redirect_uris, req.redirect_uri) {
            return Err(AuthorizeError::RedirectUriMismatch);
        }
        let refuse = |error: &'static str, description: String| {
            let mut params = vec![
                ("error", error),
                ("error_description", description.as_str()),
            ];
            if let Some(state) = req.state {
                params.push(("state", state));
            }
            AuthorizeError::Refused {
                error,
                redirect_url: redirect::with_query(req.redirect_uri, &params),
                description,
            }
        };
        if req.code_challenge_method != pkce::S256 {
            return Err(refuse(
                "invalid_request",
                "code_challenge_method must be S256".into(),
            ));
        }
        if !pkce::challenge_well_formed(req.code_challenge) {
            return Err(refuse(
                "invalid_request",
                "code_challenge must be 43 base64url characters (S256)".into(),
            ));
        }
        let scope = requested_scope(req.scope, Scope::allowed_for(creds.client.client_type))
            .map_err(|e| refuse("invalid_scope", e.to_string()))?;
        let code = Token::generate(TokenKind::Code);
        let scope_text = scope.to_string();
        self.db
            .insert_code(&NewCode {
                digest: code.digest(),
                client_id: &creds.client.id,
                redirect_uri: req.redirect_uri,
                scope: &scope_text,
                code_challenge: req.code_challenge,
                subject: req.subject,
                created_at: now,
                expires_at: now.plus_seconds(self.ttl.code_seconds),
            })
            .map_err(AuthorizeError::Storage)?;
        let mut params = vec![("code", code.expose())];
        if let Some(state) = req.state {
            params.push(("state", state));
        }
        Ok(redirect::with_query(req.redirect_uri, &params))
    }

    /// The token endpoint: authenticates the client, then runs the grant.
    pub fn token(
        &self,
        client: &ClientAuth<'_>,
        grant: &Grant<'_>,
    ) -> Result<IssuedTokens, OAuthError> {
        let client = self.authenticate_client(client)?;
        match *grant {
            Grant::ClientCredentials { scope } => self.client_credentials(&client, scope),
            Grant::AuthorizationCode {
                code,
                redirect_uri,
                code_verifier,
            } => self.authorization_code(&client, code, redirect_uri, code_verifier),
            Grant::RefreshToken {
                refresh_token,
                scope,
            } => self.refresh(&client, refresh_token, scope),
        }
    }

    /// RFC 7662: what an active access or refresh token proves, or None ("active": false) for
    /// anything else — unknown, expired, revoked, superseded, or a token of a client the
    /// caller may not inspect (its own tokens; a root client: those of its organization).
    pub fn introspect(
        &self,
        caller: &ClientAuth<'_>,
        text: &str,
    ) -> Result<Option<TokenInfo>, OAuthError> {
        let caller = self.authenticate_client(caller)?;
        let Some(record) = self.live_record(text)? else {
            return Ok(None);
        };
        let info = TokenInfo::from_record(&record);
        Ok(may_see(&caller, &info).then_some(info))
    }

    /// RFC 7009: revokes an access token (that token only) or a refresh token (its whole
    /// grant). Unknown or already invalid tokens are ignored (RFC 7009 §2.2). A stored token
    /// the caller may not inspect (see [`Authenticator::introspect`]) is refused with
    /// `unauthorized_client` (RFC 7009 §2.1) and stays active.
    pub fn revoke(&self, caller: &ClientAuth<'_>, text: &str) -> Result<(), OAuthError> {
        let caller = self.authenticate_client(caller)?;
        let Some((kind, digest)) = token::parse(text) else {
            return Ok(());
        };
        let Some(record) = self.db.token_record(digest)? else {
            return Ok(());
        };
        if !may_see(&caller, &TokenInfo::from_record(&record)) {
            return Err(OAuthError::UnauthorizedClient(
                "The token was issued to another client",
            ));
        }
        let now = self.db.now();
        match kind {
            TokenKind::Refresh => self.db.revoke_grant(&record.grant_id, now)?,
            _ => self.db.revoke_token(digest, now)?,
        };
        Ok(())
    }

    fn live_record(&self, text: &str) -> Result<Option<crate::store::TokenRecord>, OAuthError> {
        let kind = match token::parse(text) {
            Some((k @ (TokenKind::Access | TokenKind::Refresh), _)) => k,
            _ => return Ok(None),
        };
        match self.active_record(text, kind) {
            Ok(r) => Ok(Some(r)),
            Err(AuthError::Storage(e)) => Err(OAuthError::Storage(e)),
            Err(_) => Ok(None),
        }
    }

    /// Client authentication for the OAuth endpoints: the same verification, cache and
    /// failed-attempt throttle as every credential check; a secret is always required.
    fn authenticate_client(&self, c: &ClientAuth<'_>) -> Result<CachedClient, OAuthError> {
        if c.client_secret.is_none_or(str::is_empty) {
            return Err(OAuthError::InvalidClient);
        }
        let request = AuthRequest {
            client_id: c.client_id,
            client_secret: c.client_secret,
            source: c.source,
            // Any family but Track: with a secret present, identification does not depend
            // on the family.
            ..AuthRequest::new(Family::Manage)
        };
        let now = self.db.now();
        match self.identify(&request, now, super::ExistenceCheck::Now) {
            Ok(client) => {
                self.mark_used(&client, now);
                Ok(client)
            }
            Err(AuthError::Throttled {
                retry_after_seconds,
            }) => Err(OAuthError::Throttled {
                retry_after_seconds,
            }),
            Err(AuthError::Storage(e)) => Err(OAuthError::Storage(e)),
            Err(_) => Err(OAuthError::InvalidClient),
        }
    }

    fn client_credentials(
        &self,
        client: &CachedClient,
        scope: Option<&str>,
    ) -> Result<IssuedTokens, OAuthError> {
        let scope = requested_scope(scope, Scope::allowed_for(client.client_type))?;
        let now = self.db.now();
        let access = Token::generate(TokenKind::Access);
        let scope_text = scope.to_string();
        let tokens = [self.new_token(&access, &scope_text, now)];
        self.db.create_grant(&NewGrant {
            client_id: &client.client_id,
            subject: None,
            scope: &scope_text,
            created_at: now,
            code: None,
            tokens: &tokens,
        })?;
        Ok(IssuedTokens {
            access_token: access,
            expires_in: self.ttl.access_seconds,
            refresh_token: None,
            scope,
        })
    }

    fn authorization_code(
        &self,
        client: &CachedClient,
        code: &str,
        redirect_uri: &str,
        code_verifier: &str,
    ) -> Result<IssuedTokens, OAuthError> {
        const INVALID: &str = "The authorization code is invalid";
        if !pkce::verifier_well_formed(code_verifier) {
            return Err(OAuthError::InvalidRequest(
                "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~".into(),
            ));
        }
        let registered = self
            .db
            .client_credentials(&client.client_id)?
            .map(|c| c.client.redirect_uris)
            .unwrap_or_default();
        if registered.is_empty() {
            return Err(OAuthError::UnauthorizedClient(
                "The client has no registered redirect URIs, so it may not use the \
                 authorization_code grant",
            ));
        }
        let digest = match token::parse(code) {
            Some((TokenKind::Code, digest)) => digest,
            _ => return Err(OAuthError::InvalidGrant(INVALID)),
        };
        let now = self.db.now();
        let record = match self.db.claim_code(digest, &client.client_id, now)? {
            CodeClaim::Unknown => return Err(OAuthError::InvalidGrant(INVALID)),
            CodeClaim::AlreadyUsed => {
                self.db.revoke_code_grant(digest, now)?;
                return Err(OAuthError::InvalidGrant(REPLAYED_CODE));
            }
            CodeClaim::Claimed(record) => record,
        };
        if now >= record.expires_at {
            return Err(OAuthError::InvalidGrant(
                "The authorization code has expired",
            ));
        }
        if record.redirect_uri != redirect_uri {
            return Err(OAuthError::InvalidGrant(
                "redirect_uri does not match the authorization request",
            ));
        }
        if !pkce::verify_s256(code_verifier, &record.code_challenge) {
            return Err(OAuthError::InvalidGrant(
                "code_verifier does not match the code_challenge",
            ));
        }
        let scope = intersect(
            Scope::parse(&record.scope).unwrap_or(Scope::EMPTY),
            Scope::allowed_for(client.client_type),
        );
        let scope_text = scope.to_string();
        let access = Token::generate(TokenKind::Access);
        let refresh = Token::generate(TokenKind::Refresh);
        let tokens = [
            self.new_token(&access, &scope_text, now),
            self.new_token(&refresh, &scope_text, now),
        ];
        let created = self.db.create_grant(&NewGrant {
            client_id: &client.client_id,
            subject: Some(&record.subject),
            scope: &scope_text,
            created_at: now,
            code: Some(digest),
            tokens: &tokens,
        })?;
        if created.is_none() {
            // The code was replayed while this exchange was running.
            return Err(OAuthError::InvalidGrant(REPLAYED_CODE));
        }
        Ok(IssuedTokens {
            access_token: access,
            expires_in: self.ttl.access_seconds,
            refresh_token: Some(refresh),
            scope,
        })
    }

    fn refresh(
        &self,
        client: &CachedClient,
        text: &str,
        scope: Option<&str>,
    ) -> Result<IssuedTokens, OAuthError> {
        const INVALID: &str = "The refresh token is invalid";
        let digest = match token::parse(text) {
            Some((TokenKind::Refresh, digest)) => digest,
            _ => return Err(OAuthError::InvalidGrant(INVALID)),
        };
        let record = match self.db.token_record(digest)? {
            Some(r) if r.kind == TokenKind::Refresh && *r.client.id == *client.client_id => r,
            _ => return Err(OAuthError::InvalidGrant(INVALID)),
        };
        let now = self.db.now();
        if record.revoked {
            return Err(OAuthError::InvalidGrant(REVOKED_REFRESH));
        }
        // A rotated token is judged inside the store's transaction (grace or replay); one
        // that was current must not have expired.
        if !record.rotated && now >= record.expires_at {
            return Err(OAuthError::InvalidGrant("The refresh token has expired"));
        }
        let granted = intersect(
            Scope::parse(&record.scope).unwrap_or(Scope::EMPTY),
            Scope::allowed_for(client.client_type),
        );
        let scope = requested_scope(scope, granted)?;
        let access = Token::generate(TokenKind::Access);
        let refresh = Token::generate(TokenKind::Refresh);
        let scope_text = scope.to_string();
        let granted_text = granted.to_string();
        let tokens = [
            self.new_token(&access, &scope_text, now),
            // The new refresh token keeps the grant's scope (RFC 6749 §6).
            self.new_token(&refresh, &granted_text, now),
        ];
        match self
            .db
            .rotate_refresh_token(digest, now, self.ttl.refresh_reuse_grace_ms, &tokens)?
        {
            Rotation::Rotated | Rotation::Sibling => {}
            Rotation::Replayed => return Err(OAuthError::InvalidGrant(REPLAYED_REFRESH)),
            Rotation::NotCurrent => return Err(OAuthError::InvalidGrant(REVOKED_REFRESH)),
        }
        Ok(IssuedTokens {
            access_token: access,
            expires_in: self.ttl.access_seconds,
            refresh_token: Some(refresh),
            scope,
        })
    }

    fn new_token<'a>(&self, token: &Token, scope: &'a str, now: crate::Timestamp) -> NewToken<'a> {
        let ttl = match token.kind() {
            TokenKind::Refresh => self.ttl.refresh_seconds,
            _ => self.ttl.access_seconds,
        };
        NewToken {
            digest: token.digest(),
            kind: token.kind(),
            scope,
            created_at: now,
            expires_at: now.plus_seconds(ttl),
        }
    }
}

const REPLAYED_CODE: &str =
    "The authorization code was already used; the tokens issued from it are revoked";
const REVOKED_REFRESH: &str = "The refresh token was revoked";
const REPLAYED_REFRESH: &str =
    "The refresh token was already used; every token of its grant is revoked";

/// The scope asked for (None or blank: all of `allowed`), which must be within `allowed`.
fn requested_scope(requested: Option<&str>, allowed: Scope) -> Result<Scope, OAuthError> {
    let Some(text) = requested.filter(|s| !s.trim().is_empty()) else {
        if allowed.is_empty() {
            return Err(OAuthError::InvalidScope("No scope is available".into()));
        }
        return Ok(allowed);
    };
    let scope = Scope::parse(text).map_err(|e| OAuthError::InvalidScope(capitalize(&e)))?;
    if scope.is_empty() {
        return Err(OAuthError::InvalidScope("The scope is empty".into()));
    }
    if !scope.is_subset_of(allowed) {
        return Err(OAuthError::InvalidScope(format!(
            "The scope may include only: {allowed}"
        )));
    }
    Ok(scope)
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A client sees its own tokens; a root client also those of its organization's clients.
fn may_see(caller: &CachedClient, token: &TokenInfo) -> bool {
    *caller.client_id == *token.client_id
        || (caller.client_type == ClientType::Root
            && *caller.organization_id == *token.organization_id)
}
