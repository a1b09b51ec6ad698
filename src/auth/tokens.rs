//! Bearer access tokens (docs/oauth.md): verification and authorization of requests that carry
//! `Authorization: Bearer <token>`.
//!
//! Verifying a token costs one SHA-256 and one indexed lookup — never argon2. Order of checks:
//! token present (`missing_api_key`) → well-formed with a valid checksum, known, not revoked,
//! its client and project still there (`invalid_api_key`) → not expired (`token_expired`) →
//! scope includes the family → project scope → rate limit (the client's tier, or its family's
//! limit).

use crate::domain::access::Family;
use crate::domain::deletion;
use crate::domain::model::ClientType;
use crate::domain::scope::Scope;
use crate::domain::time::Timestamp;
use crate::domain::token::{self, TokenKind};
use crate::options::Options;
use crate::store::TokenRecord;

use super::cache::CachedClient;
use super::{AuthBackend, AuthError, AuthRequest, Core, Principal};

/// Token and code lifetimes, from [`Options`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lifetimes {
    pub access_seconds: i64,
    pub refresh_seconds: i64,
    pub code_seconds: i64,
    /// How long a rotated refresh token may be presented once more (milliseconds).
    pub refresh_reuse_grace_ms: i64,
}

impl Lifetimes {
    pub fn from_options(o: &Options) -> Lifetimes {
        Lifetimes {
            access_seconds: i64::from(o.access_token_ttl_seconds),
            refresh_seconds: i64::from(o.refresh_token_ttl_seconds),
            code_seconds: i64::from(o.authorization_code_ttl_seconds),
            refresh_reuse_grace_ms: i64::from(o.refresh_reuse_grace_seconds) * 1000,
        }
    }
}

/// One request authenticated with a bearer token.
#[derive(Debug, Clone, Copy)]
pub struct BearerRequest<'a> {
    pub family: Family,
    /// The token: the `Authorization` header's value after `Bearer` (empty: none given).
    pub token: &'a str,
    /// The project the request is about, when it names one.
    pub project_id: Option<&'a str>,
}

/// What an active token proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub kind: TokenKind,
    pub client_id: String,
    pub organization_id: String,
    pub client_type: ClientType,
    pub client_project_id: Option<String>,
    pub scope: Scope,
    /// The user the token acts for (authorization-code grants only).
    pub subject: Option<String>,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
}

impl TokenInfo {
    pub(crate) fn from_record(r: &TokenRecord) -> TokenInfo {
        TokenInfo {
            kind: r.kind,
            client_id: r.client.id.clone(),
            organization_id: r.client.organization_id.clone(),
            client_type: r.client.client_type,
            client_project_id: r.client.project_id.clone(),
            // Never more than the client's type allows, whatever the stored text says.
            scope: Scope::parse(&r.scope)
                .map(|s| intersect(s, Scope::allowed_for(r.client.client_type)))
                .unwrap_or(Scope::EMPTY),
            subject: r.subject.clone(),
            issued_at: r.created_at,
            expires_at: r.expires_at,
        }
    }
}

pub(crate) fn intersect(a: Scope, b: Scope) -> Scope {
    let families: Vec<Family> = Family::ALL
        .into_iter()
        .filter(|&f| a.contains(f) && b.contains(f))
        .collect();
    Scope::of(&families)
}

impl<B: AuthBackend> Core<B> {
    /// Authenticates and authorizes one request made with a bearer access token. No argon2.
    pub fn authenticate_bearer(&self, req: &BearerRequest<'_>) -> Result<Principal, AuthError> {
        let record = self.active_record(req.token, TokenKind::Access)?;
        let info = TokenInfo::from_record(&record);
        if !info.scope.contains(req.family) || !req.family.allows(info.client_type) {
            return Err(AuthError::InsufficientScope(req.family));
        }
        let client = CachedClient {
            client_id: info.client_id.into(),
            organization_id: info.organization_id.into(),
            client_type: info.client_type,
            project_id: info.client_project_id.map(Into::into),
            ignore_cors_and_secret: false,
            project_delete_at: None,
            tier: record.client.tier,
            expires_at: record.client.expires_at,
            secret_until: None,
            last_used: super::cache::LastUse::default(),
        };
        let scope_request = AuthRequest {
            project_id: req.project_id,
            ..AuthRequest::new(req.family)
        };
        let project_id = self.scope(&scope_request, &client)?;
        let rate = self.rate(&client, req.family, self.db.now_coarse())?;
        Ok(Principal {
            client_id: client.client_id,
            organization_id: client.organization_id,
            client_type: client.client_type,
            client_project_id: client.project_id,
            project_id,
            rate,
            subject: info.subject,
        })
    }

    /// Checks an access token: `Ok` only for a token opcore issued that is neither revoked nor
    /// expired and whose client still exists. Nothing is counted against any limit.
    pub fn verify_access_token(&self, text: &str) -> Result<TokenInfo, AuthError> {
        let record = self.active_record(text, TokenKind::Access)?;
        Ok(TokenInfo::from_record(&record))
    }

    /// The stored record of a live token of `kind`, or the bearer error a caller sees.
    pub(super) fn active_record(
        &self,
        text: &str,
        kind: TokenKind,
    ) -> Result<TokenRecord, AuthError> {
        if text.is_empty() {
            return Err(AuthError::MissingToken);
        }
        let digest = match token::parse(text) {
            Some((k, digest)) if k == kind => digest,
            _ => return Err(AuthError::InvalidToken),
        };
        let record = self
            .db
            .token_record(digest)
            .map_err(AuthError::Storage)?
            .ok_or(AuthError::InvalidToken)?;
        let now = self.db.now();
        if record.kind != kind
            || record.revoked
            || record.rotated
            || deletion::is_gone(record.project_delete_at, now)
            // A token of an expired client stops working with it (docs/lifecycle.md#expiry).
            || record.client.expires_at.is_some_and(|e| now >= e)
        {
            return Err(AuthError::InvalidToken);
        }
        if now >= record.expires_at {
            return Err(AuthError::TokenExpired);
        }
        Ok(record)
    }
}
