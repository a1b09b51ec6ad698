//! One page of a list, the same way for every resource (docs/behaviour.md#lists): keyset
//! pagination on `(created_at, id)`, newest first.

use rusqlite::{Connection, Row, ToSql};

use super::SqlResult;
use crate::error::Result;
use crate::store::lists::Window;

/// Runs `query` — a `SELECT … WHERE …` whose rows come from table alias `alias`, with its own
/// named `params` — for the rows of `window`: those after the window's cursor, in list order,
/// at most one more than the page holds (so `Window::page` can tell whether more remain).
///
/// The limit is written into the SQL, not bound: SQLite plans with a bound LIMIT's value, so
/// binding it expired the statement and made every execution parse and plan it again (the
/// largest cost of a cached `GET /manage/projects`, BENCHMARKS.md). It is a number checked by
/// `Window`, never text from the request.
pub(super) fn query_page<'a, T>(
    c: &Connection,
    window: &'a Window,
    query: &str,
    alias: &str,
    mut params: Vec<(&'a str, &'a dyn ToSql)>,
    mut row: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>> {
    let after = match window.after {
        None => String::new(),
        Some(_) => format!("AND ({alias}.created_at, {alias}.id) < (:after_t, :after_id)"),
    };
    let limit = window.sql_limit();
    let mut stmt = c
        .prepare_cached(&format!(
            "{query} {after} ORDER BY {alias}.created_at DESC, {alias}.id DESC LIMIT {limit}"
        ))
        .sql()?;
    if let Some(after) = &window.after {
        params.push((":after_t", &after.created_at));
        params.push((":after_id", &after.id));
    }
    let mut items = Vec::with_capacity(window.limit.map_or(64, |l| l as usize + 1));
    let mut rows = stmt.query(params.as_slice()).sql()?;
    while let Some(r) = rows.next().sql()? {
        items.push(row(r).sql()?);
    }
    Ok(items)
}
