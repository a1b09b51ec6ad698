//! OAuth storage (docs/oauth.md): authorization codes, grants (token families) and tokens, each
//! stored only as the SHA-256 digest of its text. Every state change that must happen once
//! (claiming a code, rotating a refresh token) is a single conditional write, so two racing
//! requests can never both succeed. The rules deciding what to do live in `auth`.

use rusqlite::{OptionalExtension, Transaction};

use super::clients::{client_from_row, CLIENT_COLUMNS, CLIENT_COLUMN_COUNT};
use super::SqlResult;
use super::{ts, Db};
use crate::domain::time::Timestamp;
use crate::domain::token::{TokenDigest, TokenKind};
use crate::error::Result;
use crate::store::records::{
    CodeClaim, CodeRecord, NewCode, NewGrant, NewToken, Rotation, TokenRecord,
};

/// How long expired codes, tokens and grants are kept before pruning: long enough that an
/// access token presented shortly after expiry is told `token_expired` (not `invalid_api_key`),
/// and that a refresh token or code replayed after expiry still revokes what it issued.
pub(crate) const TOKEN_RETENTION_MS: i64 = 24 * 3600 * 1000;

/// Rows pruned per table by each issuance (pruning is amortized over writes).
const PRUNE_BATCH: i64 = 100;

impl Db {
    /// Stores a new authorization code.
    pub(crate) fn insert_code(&self, code: &NewCode<'_>) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT INTO oauth_codes (digest, client_id, redirect_uri, scope, code_challenge,
                                          subject, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .sql()?
            .execute((
                &code.digest.0[..],
                code.client_id,
                code.redirect_uri,
                code.scope,
                code.code_challenge,
                code.subject,
                code.created_at.millis(),
                code.expires_at.millis(),
            ))
            .sql()?;
            Ok(())
        })
    }

    /// Marks `client_id`'s code as used, atomically: only the first presentation ever gets
    /// [`CodeClaim::Claimed`]. A code of another client is [`CodeClaim::Unknown`] and is left
    /// untouched.
    pub(crate) fn claim_code(
        &self,
        digest: TokenDigest,
        client_id: &str,
        now: Timestamp,
    ) -> Result<CodeClaim> {
        self.write(|tx| {
            let row = tx
                .prepare_cached(
                    "SELECT client_id, redirect_uri, scope, code_challenge, subject, created_at,
                            expires_at, used_at
                     FROM oauth_codes WHERE digest = ?1",
                ).sql()?
                .query_row([&digest.0[..]], |r| {
                    Ok((
                        CodeRecord {
                            client_id: r.get(0)?,
                            redirect_uri: r.get(1)?,
                            scope: r.get(2)?,
                            code_challenge: r.get(3)?,
                            subject: r.get(4)?,
                            created_at: ts(r.get(5)?),
                            expires_at: ts(r.get(6)?),
                        },
                        r.get::<_, Option<i64>>(7)?,
                    ))
                })
                .optional().sql()?;
            let Some((record, used_at)) = row else {
                return Ok(CodeClaim::Unknown);
            };
            if record.client_id != client_id {
                return Ok(CodeClaim::Unknown);
            }
            if used_at.is_some() {
                tx.prepare_cached(
                    "UPDATE oauth_codes SET replayed_at = COALESCE(replayed_at, ?2) WHERE digest = ?1",
                ).sql()?
                .execute((&digest.0[..], now.millis())).sql()?;
                return Ok(CodeClaim::AlreadyUsed);
            }
            tx.prepare_cached("UPDATE oauth_codes SET used_at = ?2 WHERE digest = ?1").sql()?
                .execute((&digest.0[..], now.millis())).sql()?;
            Ok(CodeClaim::Claimed(record))
        })
    }

    /// Revokes the grant a code was redeemed for (if it was). Returns whether one was revoked.
    pub(crate) fn revoke_code_grant(&self, digest: TokenDigest, now: Timestamp) -> Result<bool> {
        self.write(|tx| {
            let n = tx
                .prepare_cached(
                    "UPDATE oauth_grants SET revoked_at = ?2
                     WHERE revoked_at IS NULL
                       AND id = (SELECT grant_id FROM oauth_codes WHERE digest = ?1)",
                )
                .sql()?
                .execute((&digest.0[..], now.millis()))
                .sql()?;
            Ok(n > 0)
        })
    }

    /// Creates a grant with its tokens (and prunes a batch of long-expired rows). When
    /// `grant.code` is set, the code is linked to the grant in the same transaction; if that
    /// code was replayed meanwhile (or already linked), nothing is stored and the result is
    /// None. Otherwise the new grant's id.
    pub(crate) fn create_grant(&self, grant: &NewGrant<'_>) -> Result<Option<String>> {
        let id = uuid::Uuid::new_v4().hyphenated().to_string();
        let expires_at = grant
            .tokens
            .iter()
            .map(|t| t.expires_at)
            .max()
            .unwrap_or(grant.created_at);
        self.write(|tx| {
            if let Some(code) = grant.code {
                let linkable = tx
                    .prepare_cached(
                        "SELECT 1 FROM oauth_codes
                         WHERE digest = ?1 AND replayed_at IS NULL AND grant_id IS NULL",
                    )
                    .sql()?
                    .query_row([&code.0[..]], |_| Ok(()))
                    .optional()
                    .sql()?
                    .is_some();
                if !linkable {
                    return Ok(None);
                }
            }
            prune(tx, grant.created_at, PRUNE_BATCH)?;
            tx.prepare_cached(
                "INSERT INTO oauth_grants (id, client_id, subject, scope, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .sql()?
            .execute((
                &id,
                grant.client_id,
                grant.subject,
                grant.scope,
                grant.created_at.millis(),
                expires_at.millis(),
            ))
            .sql()?;
            insert_tokens(tx, &id, grant.tokens)?;
            if let Some(code) = grant.code {
                tx.prepare_cached("UPDATE oauth_codes SET grant_id = ?2 WHERE digest = ?1")
                    .sql()?
                    .execute((&code.0[..], &id))
                    .sql()?;
            }
            Ok(Some(id.clone()))
        })
    }

    /// The stored token with this digest, with its client, or None.
    pub(crate) fn token_record(&self, digest: TokenDigest) -> Result<Option<TokenRecord>> {
        self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {CLIENT_COLUMNS}, p.delete_at, t.kind, t.grant_id, t.scope, t.created_at,
                        t.expires_at, t.revoked_at IS NOT NULL OR g.revoked_at IS NOT NULL,
                        t.rotated_at IS NOT NULL, g.subject
                 FROM oauth_tokens t
                 JOIN oauth_grants g ON g.id = t.grant_id
                 JOIN clients c ON c.id = g.client_id
                 LEFT JOIN projects p ON p.id = c.project_id
                 WHERE t.digest = ?1"
            ))
            .sql()?
            .query_row([&digest.0[..]], |r| {
                const N: usize = CLIENT_COLUMN_COUNT;
                let kind: String = r.get(N + 1)?;
                Ok(TokenRecord {
                    client: client_from_row(r)?,
                    project_delete_at: r.get::<_, Option<i64>>(N)?.map(ts),
                    kind: TokenKind::parse(&kind).unwrap_or(TokenKind::Access),
                    grant_id: r.get(N + 2)?,
                    scope: r.get(N + 3)?,
                    created_at: ts(r.get(N + 4)?),
                    expires_at: ts(r.get(N + 5)?),
                    revoked: r.get(N + 6)?,
                    rotated: r.get(N + 7)?,
                    subject: r.get(N + 8)?,
                })
            })
            .optional()
            .sql()
        })
    }

    /// Exchanges a refresh token, atomically (one write transaction, so two requests — in one
    /// process or in two processes on one file — are decided one after the other):
    /// - still current (not rotated, not revoked, its grant not revoked): marks it rotated and
    ///   adds `new_tokens` to its grant ([`Rotation::Rotated`]);
    /// - rotated less than `grace_ms` ago and not presented again since: records this second
    ///   presentation and adds `new_tokens` to its grant as a sibling pair
    ///   ([`Rotation::Sibling`]);
    /// - rotated otherwise: revokes its whole grant ([`Rotation::Replayed`]);
    /// - revoked, or not a stored refresh token: changes nothing ([`Rotation::NotCurrent`]).
    pub(crate) fn rotate_refresh_token(
        &self,
        old: TokenDigest,
        now: Timestamp,
        grace_ms: i64,
        new_tokens: &[NewToken<'_>],
    ) -> Result<Rotation> {
        self.write(|tx| {
            type Row = (String, bool, Option<i64>, Option<i64>);
            let row: Option<Row> = tx
                .prepare_cached(
                    "SELECT t.grant_id, t.revoked_at IS NOT NULL OR g.revoked_at IS NOT NULL,
                            t.rotated_at, t.reused_at
                     FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id
                     WHERE t.digest = ?1 AND t.kind = 'refresh'",
                ).sql()?
                .query_row([&old.0[..]], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })
                .optional().sql()?;
            let Some((grant_id, revoked, rotated_at, reused_at)) = row else {
                return Ok(Rotation::NotCurrent);
            };
            if revoked {
                return Ok(Rotation::NotCurrent);
            }
            let outcome = match rotated_at {
                None => {
                    tx.prepare_cached("UPDATE oauth_tokens SET rotated_at = ?2 WHERE digest = ?1").sql()?
                        .execute((&old.0[..], now.millis())).sql()?;
                    Rotation::Rotated
                }
                Some(at) if reused_at.is_none() && now.millis().saturating_sub(at) < grace_ms => {
                    tx.prepare_cached("UPDATE oauth_tokens SET reused_at = ?2 WHERE digest = ?1").sql()?
                        .execute((&old.0[..], now.millis())).sql()?;
                    Rotation::Sibling
                }
                Some(_) => {
                    tx.prepare_cached(
                        "UPDATE oauth_grants SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                    ).sql()?
                    .execute((&grant_id, now.millis())).sql()?;
                    return Ok(Rotation::Replayed);
                }
            };
            insert_tokens(tx, &grant_id, new_tokens)?;
            if let Some(latest) = new_tokens.iter().map(|t| t.expires_at).max() {
                tx.prepare_cached(
                    "UPDATE oauth_grants SET expires_at = max(expires_at, ?2) WHERE id = ?1",
                ).sql()?
                .execute((&grant_id, latest.millis())).sql()?;
            }
            Ok(outcome)
        })
    }

    /// Revokes a whole grant: every token issued in it. Returns whether it was live.
    pub(crate) fn revoke_grant(&self, grant_id: &str, now: Timestamp) -> Result<bool> {
        self.write(|tx| {
            let n = tx
                .prepare_cached(
                    "UPDATE oauth_grants SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                )
                .sql()?
                .execute((grant_id, now.millis()))
                .sql()?;
            Ok(n > 0)
        })
    }

    /// Revokes one token. Returns whether it was live.
    pub(crate) fn revoke_token(&self, digest: TokenDigest, now: Timestamp) -> Result<bool> {
        self.write(|tx| {
            let n = tx
                .prepare_cached(
                    "UPDATE oauth_tokens SET revoked_at = ?2 WHERE digest = ?1 AND revoked_at IS NULL",
                ).sql()?
                .execute((&digest.0[..], now.millis())).sql()?;
            Ok(n > 0)
        })
    }

    /// Deletes every code, token and grant that expired more than [`TOKEN_RETENTION_MS`] ago
    /// (run by [`Db::purge`]). Returns how many rows were deleted.
    pub(crate) fn prune_tokens(&self) -> Result<usize> {
        let now = self.now();
        self.write(|tx| prune(tx, now, -1))
    }
}

fn insert_tokens(tx: &Transaction<'_>, grant_id: &str, tokens: &[NewToken<'_>]) -> Result<()> {
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO oauth_tokens (digest, kind, grant_id, scope, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .sql()?;
    for t in tokens {
        stmt.execute((
            &t.digest.0[..],
            t.kind.as_str(),
            grant_id,
            t.scope,
            t.created_at.millis(),
            t.expires_at.millis(),
        ))
        .sql()?;
    }
    Ok(())
}

/// Deletes up to `limit` rows per table (-1: all) that expired before the retention period.
/// Deleting a grant deletes its tokens and codes.
fn prune(tx: &Transaction<'_>, now: Timestamp, limit: i64) -> Result<usize> {
    let cutoff = now.millis().saturating_sub(TOKEN_RETENTION_MS);
    let mut n = 0;
    for sql in [
        "DELETE FROM oauth_grants WHERE id IN
             (SELECT id FROM oauth_grants WHERE expires_at <= ?1 LIMIT ?2)",
        "DELETE FROM oauth_tokens WHERE digest IN
             (SELECT digest FROM oauth_tokens WHERE expires_at <= ?1 LIMIT ?2)",
        "DELETE FROM oauth_codes WHERE digest IN
             (SELECT digest FROM oauth_codes WHERE grant_id IS NULL AND expires_at <= ?1 LIMIT ?2)",
    ] {
        n += tx
            .prepare_cached(sql)
            .sql()?
            .execute((cutoff, limit))
            .sql()?;
    }
    Ok(n)
}
