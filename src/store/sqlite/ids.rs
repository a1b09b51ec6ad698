//! Choosing slug ids that are unique across the store and never issued twice.
//!
//! `issued_ids` remembers every id ever handed out (rows are never deleted, so a purged
//! project's id stays taken) and `id_counters` remembers the next suffix per base, so the
//! 10,000th "Same" costs the same one or two lookups as the 2nd.

use rusqlite::{OptionalExtension, Transaction};

use super::Db;
use super::SqlResult;
use crate::domain::slug;
use crate::error::Result;

pub(crate) const PROJECT_NS: &str = "project";
pub(crate) const ORGANIZATION_NS: &str = "organization";

impl Db {
    /// Must run inside the write transaction that inserts the resource, so concurrent
    /// creators (threads or processes) are serialized by SQLite's write lock.
    pub(crate) fn issue_id(
        &self,
        tx: &Transaction<'_>,
        namespace: &str,
        base: &str,
    ) -> Result<String> {
        if self.try_claim(tx, namespace, base)? {
            return Ok(base.to_owned());
        }
        let mut next: u64 = tx
            .prepare_cached("SELECT next FROM id_counters WHERE namespace = ?1 AND base = ?2")
            .sql()?
            .query_row((namespace, base), |r| r.get::<_, i64>(0))
            .optional()
            .sql()?
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(1);
        // Suffixed ids of this base are only ever issued here, in order, so the loop runs
        // again only when another base's id happens to collide (rare) .
        loop {
            let candidate = slug::with_suffix(base, next);
            next += 1;
            if self.try_claim(tx, namespace, &candidate)? {
                tx.prepare_cached(
                    "INSERT INTO id_counters (namespace, base, next) VALUES (?1, ?2, ?3)
                     ON CONFLICT (namespace, base) DO UPDATE SET next = excluded.next",
                )
                .sql()?
                .execute((namespace, base, i64::try_from(next).unwrap_or(i64::MAX)))
                .sql()?;
                return Ok(candidate);
            }
        }
    }

    fn try_claim(&self, tx: &Transaction<'_>, namespace: &str, id: &str) -> Result<bool> {
        self.count_probe();
        let inserted = tx
            .prepare_cached("INSERT OR IGNORE INTO issued_ids (namespace, id) VALUES (?1, ?2)")
            .sql()?
            .execute((namespace, id))
            .sql()?;
        Ok(inserted == 1)
    }
}
