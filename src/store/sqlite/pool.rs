//! The connection pool: up to [`MAX_POOLED`] idle connections, handed out as [`PooledConn`]s
//! that return to the pool when dropped unless left inside a transaction.

use rusqlite::Connection;

use super::open::open_connection;
use super::Db;
use crate::error::Result;

const MAX_POOLED: usize = 16;

impl Db {
    pub(super) fn conn(&self) -> Result<PooledConn<'_>> {
        let existing = self
            .inner
            .pool
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop();
        let conn = match existing {
            Some(c) => c,
            None => open_connection(
                &self.inner.path,
                self.inner.synchronous,
                self.inner.busy_timeout,
            )?,
        };
        Ok(PooledConn {
            db: self,
            conn: Some(conn),
        })
    }
}

pub(super) struct PooledConn<'a> {
    db: &'a Db,
    conn: Option<Connection>,
}

impl PooledConn<'_> {
    pub(super) fn get(&self) -> &Connection {
        self.conn.as_ref().expect("connection present until drop")
    }

    pub(super) fn get_mut(&mut self) -> &mut Connection {
        self.conn.as_mut().expect("connection present until drop")
    }

    /// A connection left inside a transaction by a failure is not returned to the pool.
    pub(super) fn discard_if_broken(&mut self) {
        if self.conn.as_ref().is_some_and(|c| !c.is_autocommit()) {
            self.conn = None;
        }
    }
}

impl Drop for PooledConn<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            if !conn.is_autocommit() {
                return;
            }
            let mut pool = self.db.inner.pool.lock().unwrap_or_else(|p| p.into_inner());
            if pool.len() < MAX_POOLED {
                pool.push(conn);
            }
        }
    }
}
