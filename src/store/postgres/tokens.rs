//! OAuth storage (docs/oauth.md; src/store/sqlite/tokens.rs has the same rules): codes,
//! grants and tokens stored as SHA-256 digests. Every state change that must happen once
//! (claiming a code, rotating a refresh token) reads its row `FOR UPDATE` and decides inside
//! that one transaction, so two racing requests on any nodes never both succeed.

use super::clients::{client_from_row, CLIENT_COLUMNS, CLIENT_COLUMN_COUNT};
use super::{count, ts, PgDb, Tx};
use crate::domain::time::Timestamp;
use crate::domain::token::{TokenDigest, TokenKind};
use crate::error::Result;
use crate::store::records::{
    CodeClaim, CodeRecord, NewCode, NewGrant, NewToken, Rotation, TokenRecord,
};

/// How long expired codes, tokens and grants are kept before pruning (as on SQLite).
const TOKEN_RETENTION_MS: i64 = 24 * 3600 * 1000;

/// Rows pruned per table by each issuance.
const PRUNE_BATCH: i64 = 100;

impl PgDb {
    pub(crate) fn insert_code(&self, code: &NewCode<'_>) -> Result<()> {
        self.write(|tx| {
            tx.exec(
                "INSERT INTO oauth_codes (digest, client_id, redirect_uri, scope, code_challenge,
                                          subject, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &&code.digest.0[..],
                    &code.client_id,
                    &code.redirect_uri,
                    &code.scope,
                    &code.code_challenge,
                    &code.subject,
                    &code.created_at.millis(),
                    &code.expires_at.millis(),
                ],
            )?;
            Ok(())
        })
    }

    pub(crate) fn claim_code(
        &self,
        digest: TokenDigest,
        client_id: &str,
        now: Timestamp,
    ) -> Result<CodeClaim> {
        self.write(|tx| {
            let Some(r) = tx.opt(
                "SELECT client_id, redirect_uri, scope, code_challenge, subject, created_at,
                        expires_at, used_at
                 FROM oauth_codes WHERE digest = $1 FOR UPDATE",
                &[&&digest.0[..]],
            )?
            else {
                return Ok(CodeClaim::Unknown);
            };
            let record = CodeRecord {
                client_id: r.get(0),
                redirect_uri: r.get(1),
                scope: r.get(2),
                code_challenge: r.get(3),
                subject: r.get(4),
                created_at: ts(r.get(5)),
                expires_at: ts(r.get(6)),
            };
            let used_at: Option<i64> = r.get(7);
            if record.client_id != client_id {
                return Ok(CodeClaim::Unknown);
            }
            if used_at.is_some() {
                tx.exec(
                    "UPDATE oauth_codes SET replayed_at = COALESCE(replayed_at, $2)
                     WHERE digest = $1",
                    &[&&digest.0[..], &now.millis()],
                )?;
                return Ok(CodeClaim::AlreadyUsed);
            }
            tx.exec(
                "UPDATE oauth_codes SET used_at = $2 WHERE digest = $1",
                &[&&digest.0[..], &now.millis()],
            )?;
            Ok(CodeClaim::Claimed(record))
        })
    }

    pub(crate) fn revoke_code_grant(&self, digest: TokenDigest, now: Timestamp) -> Result<bool> {
        self.write(|tx| {
            let n = tx.exec(
                "UPDATE oauth_grants SET revoked_at = $2
                 WHERE revoked_at IS NULL
                   AND id = (SELECT grant_id FROM oauth_codes WHERE digest = $1)",
                &[&&digest.0[..], &now.millis()],
            )?;
            Ok(n > 0)
        })
    }

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
                    .opt(
                        "SELECT 1 FROM oauth_codes
                         WHERE digest = $1 AND replayed_at IS NULL AND grant_id IS NULL
                         FOR UPDATE",
                        &[&&code.0[..]],
                    )?
                    .is_some();
                if !linkable {
                    return Ok(None);
                }
            }
            prune(tx, grant.created_at, Some(PRUNE_BATCH))?;
            tx.exec(
                "INSERT INTO oauth_grants (id, client_id, subject, scope, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &id,
                    &grant.client_id,
                    &grant.subject,
                    &grant.scope,
                    &grant.created_at.millis(),
                    &expires_at.millis(),
                ],
            )?;
            insert_tokens(tx, &id, grant.tokens)?;
            if let Some(code) = grant.code {
                tx.exec(
                    "UPDATE oauth_codes SET grant_id = $2 WHERE digest = $1",
                    &[&&code.0[..], &id],
                )?;
            }
            Ok(Some(id.clone()))
        })
    }

    pub(crate) fn token_record(&self, digest: TokenDigest) -> Result<Option<TokenRecord>> {
        self.read(|tx| {
            Ok(tx
                .opt(
                    &format!(
                        "SELECT {CLIENT_COLUMNS}, p.delete_at, t.kind, t.grant_id, t.scope,
                                t.created_at, t.expires_at,
                                t.revoked_at IS NOT NULL OR g.revoked_at IS NOT NULL,
                                t.rotated_at IS NOT NULL, g.subject
                         FROM oauth_tokens t
                         JOIN oauth_grants g ON g.id = t.grant_id
                         JOIN clients c ON c.id = g.client_id
                         LEFT JOIN projects p ON p.id = c.project_id
                         WHERE t.digest = $1"
                    ),
                    &[&&digest.0[..]],
                )?
                .map(|r| {
                    const N: usize = CLIENT_COLUMN_COUNT;
                    let kind: String = r.get(N + 1);
                    TokenRecord {
                        client: client_from_row(&r),
                        project_delete_at: r.get::<_, Option<i64>>(N).map(ts),
                        kind: TokenKind::parse(&kind).unwrap_or(TokenKind::Access),
                        grant_id: r.get(N + 2),
                        scope: r.get(N + 3),
                        created_at: ts(r.get(N + 4)),
                        expires_at: ts(r.get(N + 5)),
                        revoked: r.get(N + 6),
                        rotated: r.get(N + 7),
                        subject: r.get(N + 8),
                    }
                }))
        })
    }

    /// Exchanges a refresh token in one transaction with its row locked (the outcomes of
    /// `sqlite::Db::rotate_refresh_token`).
    pub(crate) fn rotate_refresh_token(
        &self,
        old: TokenDigest,
        now: Timestamp,
        grace_ms: i64,
        new_tokens: &[NewToken<'_>],
    ) -> Result<Rotation> {
        self.write(|tx| {
            let Some(r) = tx.opt(
                "SELECT t.grant_id, t.revoked_at IS NOT NULL OR g.revoked_at IS NOT NULL,
                        t.rotated_at, t.reused_at
                 FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id
                 WHERE t.digest = $1 AND t.kind = 'refresh'
                 FOR UPDATE OF t",
                &[&&old.0[..]],
            )?
            else {
                return Ok(Rotation::NotCurrent);
            };
            let grant_id: String = r.get(0);
            let revoked: bool = r.get(1);
            let rotated_at: Option<i64> = r.get(2);
            let reused_at: Option<i64> = r.get(3);
            if revoked {
                return Ok(Rotation::NotCurrent);
            }
            let outcome = match rotated_at {
                None => {
                    tx.exec(
                        "UPDATE oauth_tokens SET rotated_at = $2 WHERE digest = $1",
                        &[&&old.0[..], &now.millis()],
                    )?;
                    Rotation::Rotated
                }
                Some(at) if reused_at.is_none() && now.millis().saturating_sub(at) < grace_ms => {
                    tx.exec(
                        "UPDATE oauth_tokens SET reused_at = $2 WHERE digest = $1",
                        &[&&old.0[..], &now.millis()],
                    )?;
                    Rotation::Sibling
                }
                Some(_) => {
                    tx.exec(
                        "UPDATE oauth_grants SET revoked_at = $2
                         WHERE id = $1 AND revoked_at IS NULL",
                        &[&grant_id, &now.millis()],
                    )?;
                    return Ok(Rotation::Replayed);
                }
            };
            insert_tokens(tx, &grant_id, new_tokens)?;
            if let Some(latest) = new_tokens.iter().map(|t| t.expires_at).max() {
                tx.exec(
                    "UPDATE oauth_grants SET expires_at = greatest(expires_at, $2) WHERE id = $1",
                    &[&grant_id, &latest.millis()],
                )?;
            }
            Ok(outcome)
        })
    }

    pub(crate) fn revoke_grant(&self, grant_id: &str, now: Timestamp) -> Result<bool> {
        self.write(|tx| {
            let n = tx.exec(
                "UPDATE oauth_grants SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                &[&grant_id, &now.millis()],
            )?;
            Ok(n > 0)
        })
    }

    pub(crate) fn revoke_token(&self, digest: TokenDigest, now: Timestamp) -> Result<bool> {
        self.write(|tx| {
            let n = tx.exec(
                "UPDATE oauth_tokens SET revoked_at = $2 WHERE digest = $1 AND revoked_at IS NULL",
                &[&&digest.0[..], &now.millis()],
            )?;
            Ok(n > 0)
        })
    }

    /// Deletes every code, token and grant that expired more than the retention ago.
    pub(crate) fn prune_tokens(&self) -> Result<usize> {
        let now = self.now();
        self.write(|tx| prune(tx, now, None))
    }
}

fn insert_tokens(tx: &mut Tx<'_>, grant_id: &str, tokens: &[NewToken<'_>]) -> Result<()> {
    for t in tokens {
        tx.exec(
            "INSERT INTO oauth_tokens (digest, kind, grant_id, scope, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &&t.digest.0[..],
                &t.kind.as_str(),
                &grant_id,
                &t.scope,
                &t.created_at.millis(),
                &t.expires_at.millis(),
            ],
        )?;
    }
    Ok(())
}

/// Deletes up to `limit` rows per table (None: all) that expired before the retention
/// period, skipping rows another node is deleting.
fn prune(tx: &mut Tx<'_>, now: Timestamp, limit: Option<i64>) -> Result<usize> {
    let cutoff = now.millis().saturating_sub(TOKEN_RETENTION_MS);
    let mut n = 0;
    for sql in [
        "DELETE FROM oauth_grants WHERE id IN
             (SELECT id FROM oauth_grants WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
        "DELETE FROM oauth_tokens WHERE digest IN
             (SELECT digest FROM oauth_tokens WHERE expires_at <= $1 LIMIT $2
              FOR UPDATE SKIP LOCKED)",
        "DELETE FROM oauth_codes WHERE digest IN
             (SELECT digest FROM oauth_codes WHERE grant_id IS NULL AND expires_at <= $1
              LIMIT $2 FOR UPDATE SKIP LOCKED)",
    ] {
        n += count(tx.exec(sql, &[&cutoff, &limit])?);
    }
    Ok(n)
}
