//! Slug ids unique across the store and never issued twice, on any node
//! (src/store/sqlite/ids.rs has the same rules). `issued_ids` remembers every id ever issued;
//! `id_counters` the next suffix per base. A creator that needs a suffix locks its base's
//! counter row (an upsert), so concurrent creators of one name on any number of nodes take
//! suffixes one after the other, each with one or two probes however many share the base.

use super::{PgDb, Tx};
use crate::domain::slug;
use crate::error::Result;

pub(crate) const PROJECT_NS: &str = "project";
pub(crate) const ORGANIZATION_NS: &str = "organization";

impl PgDb {
    /// Must run inside the transaction that inserts the resource.
    pub(super) fn issue_id(&self, tx: &mut Tx<'_>, namespace: &str, base: &str) -> Result<String> {
        if self.try_claim(tx, namespace, base)? {
            return Ok(base.to_owned());
        }
        // Locks the counter row until this transaction ends; a concurrent creator of the
        // same base waits here and then reads the counter this one wrote.
        let row = tx.one(
            "INSERT INTO id_counters (namespace, base, next) VALUES ($1, $2, 1)
             ON CONFLICT (namespace, base) DO UPDATE SET next = id_counters.next
             RETURNING next",
            &[&namespace, &base],
        )?;
        let mut next = u64::try_from(row.get::<_, i64>(0)).unwrap_or(1).max(1);
        loop {
            let candidate = slug::with_suffix(base, next);
            next += 1;
            if self.try_claim(tx, namespace, &candidate)? {
                tx.exec(
                    "UPDATE id_counters SET next = $3 WHERE namespace = $1 AND base = $2",
                    &[&namespace, &base, &i64::try_from(next).unwrap_or(i64::MAX)],
                )?;
                return Ok(candidate);
            }
        }
    }

    fn try_claim(&self, tx: &mut Tx<'_>, namespace: &str, id: &str) -> Result<bool> {
        self.count_probe();
        let inserted = tx.exec(
            "INSERT INTO issued_ids (namespace, id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&namespace, &id],
        )?;
        Ok(inserted == 1)
    }
}
