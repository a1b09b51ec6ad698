//! What `auth` exchanges with storage about credentials, codes, grants and tokens. Crate-private:
//! no host sees these (ARCHITECTURE.md, "The public API of the Rust crate").

use crate::domain::model::Client;
use crate::domain::time::Timestamp;
use crate::domain::token::{TokenDigest, TokenKind};

/// What authentication needs to know about a client id.
#[derive(Debug, Clone)]
pub(crate) struct ClientCredentials {
    pub client: Client,
    pub secret_hash: String,
    /// The secret's check value (docs/security.md); None for a hash made before check values
    /// existed, until its next successful verification.
    pub secret_check: Option<u32>,
    /// The client's project's `deleteAt` (None when it has no project or is not scheduled).
    pub project_delete_at: Option<Timestamp>,
    /// The client's project's normalized CORS entries (empty without a project).
    pub project_cors: Vec<String>,
    /// The secret a rotation replaced, while its grace lasts (docs/lifecycle.md#rotation).
    pub previous: Option<PreviousSecret>,
}

/// The secret a rotation replaced: valid until `expires_at` (exclusive), never after.
#[derive(Debug, Clone)]
pub(crate) struct PreviousSecret {
    pub hash: String,
    pub expires_at: Timestamp,
}

/// The first step of authenticating a client id: the check values of its valid secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SecretChecks {
    /// The current secret's check value; None for a hash from before check values.
    pub current: Option<u32>,
    /// The previous secret's check value (None: from before check values) and the end of its
    /// grace, when a rotation left one.
    pub previous: Option<(Option<u32>, Timestamp)>,
}

/// An authorization code to store.
#[derive(Debug)]
pub(crate) struct NewCode<'a> {
    pub digest: TokenDigest,
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub scope: &'a str,
    pub code_challenge: &'a str,
    pub subject: &'a str,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// A stored authorization code, as claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CodeRecord {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub code_challenge: String,
    pub subject: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// The outcome of presenting a code for redemption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CodeClaim {
    /// No such code for this client.
    Unknown,
    /// First presentation: the code is now used and can never be claimed again.
    Claimed(CodeRecord),
    /// The code had been presented before; this presentation is recorded as a replay.
    AlreadyUsed,
}

/// What presenting a refresh token did (see [`crate::store::roles::Grants::rotate_refresh_token`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rotation {
    /// It was current; it is now rotated and the new tokens are stored.
    Rotated,
    /// It had been rotated within the grace period and not presented since: the new tokens
    /// are stored as a sibling pair of the same grant; it may not be presented again.
    Sibling,
    /// It had been rotated before (past the grace, or presented within it already): its
    /// grant is now revoked.
    Replayed,
    /// Revoked or unknown: nothing changed.
    NotCurrent,
}

/// A token to store in a grant.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NewToken<'a> {
    pub digest: TokenDigest,
    pub kind: TokenKind,
    pub scope: &'a str,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// A grant (token family) to create with its first tokens.
#[derive(Debug)]
pub(crate) struct NewGrant<'a> {
    pub client_id: &'a str,
    pub subject: Option<&'a str>,
    pub scope: &'a str,
    pub created_at: Timestamp,
    /// The authorization code redeemed for this grant, linked so a replay can revoke it.
    pub code: Option<TokenDigest>,
    pub tokens: &'a [NewToken<'a>],
}

/// Everything known about a stored access or refresh token.
#[derive(Debug, Clone)]
pub(crate) struct TokenRecord {
    pub kind: TokenKind,
    pub grant_id: String,
    /// The client the token was issued to, as it is now.
    pub client: Client,
    /// The client's project's `deleteAt`.
    pub project_delete_at: Option<Timestamp>,
    pub scope: String,
    pub subject: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// The token itself, or its whole grant, was revoked.
    pub revoked: bool,
    /// A refresh token that was already exchanged for a newer one.
    pub rotated: bool,
}
