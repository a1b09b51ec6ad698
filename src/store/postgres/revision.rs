//! The access revision across nodes (docs/scale-out.md#postgresql-backend): every change that
//! can revoke access bumps `meta.auth_revision` and sends `NOTIFY opcore_access` in its own
//! transaction. Each handle family keeps a listener thread with a dedicated connection that
//! `LISTEN`s on that channel and counts notifications in an atomic, so a cached
//! authentication reads the revision without touching the network. While the listener is not
//! connected (at start, or after losing its connection, until it reconnects), the revision is
//! read from the database at most every staleness period (at most 1 s) instead.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use postgres::fallible_iterator::FallibleIterator;

use super::{PgDb, Tx};
use crate::domain::time::Timestamp;
use crate::error::{Error, Result};

/// The channel revoking changes notify.
const CHANNEL: &str = "opcore_access";

/// How long the listener waits for a notification before checking its connection.
const HEARTBEAT: Duration = Duration::from_millis(500);

/// What the listener thread and the handles share.
#[derive(Default)]
struct State {
    /// The listener is connected and listening: notifications arrive.
    connected: AtomicBool,
    /// Notifications received, plus the database revision read at each (re)connection.
    heard: AtomicU64,
    /// Bumped by this handle family on every revoking change it commits.
    local: AtomicU64,
    /// The database revision last polled while the listener was not connected, and when
    /// (microseconds since [`epoch`], 0: never).
    polled: AtomicU64,
    polled_at_us: AtomicU64,
    stop: AtomicBool,
}

pub(super) struct Listener {
    state: Arc<State>,
    staleness: Duration,
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn micros() -> u64 {
    u64::try_from(epoch().elapsed().as_micros())
        .unwrap_or(u64::MAX)
        .max(1)
}

impl Listener {
    /// Starts the listener thread on its own connection made from `config`.
    pub(super) fn start(config: postgres::Config, staleness: Duration) -> Listener {
        let state = Arc::new(State::default());
        let thread_state = state.clone();
        let spawned = std::thread::Builder::new()
            .name("opcore-pg-listen".into())
            .spawn(move || listen(&config, &thread_state));
        // Without a thread the revision is polled on every call past the staleness bound.
        drop(spawned);
        Listener { state, staleness }
    }

    pub(super) fn stop(&self) {
        self.state.stop.store(true, Ordering::SeqCst);
    }
}

/// The listener thread: connect, `LISTEN`, read the revision, count notifications; on any
/// failure mark itself disconnected and reconnect, until the handles are gone.
fn listen(config: &postgres::Config, state: &State) {
    let mut pause = Duration::from_millis(50);
    while !state.stop.load(Ordering::SeqCst) {
        let result = (|| -> std::result::Result<(), postgres::Error> {
            let mut client = config.connect(postgres::NoTls)?;
            client.batch_execute(&format!("LISTEN {CHANNEL}"))?;
            // Changes made before LISTEN took effect are in the revision read now; later
            // ones arrive as notifications.
            let rev: i64 = client
                .query_one("SELECT value FROM meta WHERE key = 'auth_revision'", &[])?
                .get(0);
            state.heard.fetch_add(rev as u64, Ordering::SeqCst);
            state.connected.store(true, Ordering::SeqCst);
            pause = Duration::from_millis(50);
            while !state.stop.load(Ordering::SeqCst) {
                let mut heard_any = false;
                {
                    let mut notifications = client.notifications();
                    let mut iter = notifications.timeout_iter(HEARTBEAT);
                    // Each notification counts at once, also during a steady stream of them.
                    while let Some(_note) = iter.next()? {
                        state.heard.fetch_add(1, Ordering::SeqCst);
                        heard_any = true;
                        if state.stop.load(Ordering::SeqCst) {
                            break;
                        }
                    }
                }
                if !heard_any {
                    // Quiet: make sure the connection is still alive.
                    client.simple_query("")?;
                }
            }
            Ok(())
        })();
        state.connected.store(false, Ordering::SeqCst);
        if result.is_err() && !state.stop.load(Ordering::SeqCst) {
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }
}

/// Records, inside `tx`, that access may have been revoked: the revision row and a
/// notification, both delivered only if `tx` commits.
pub(super) fn bump(tx: &mut Tx<'_>) -> Result<()> {
    tx.exec(
        "UPDATE meta SET value = value + 1 WHERE key = 'auth_revision'",
        &[],
    )?;
    tx.exec("SELECT pg_notify('opcore_access', '')", &[])?;
    Ok(())
}

impl PgDb {
    /// A number that changes whenever access may have been revoked: at once for this handle
    /// family's changes, within milliseconds for other nodes' (a notification), and within
    /// the staleness bound (at most 1 s) while the listener is reconnecting.
    pub(crate) fn access_revision(&self) -> Result<u64> {
        let listener = &self.inner.listener;
        let state = &listener.state;
        let mut value = state
            .local
            .load(Ordering::SeqCst)
            .wrapping_add(state.heard.load(Ordering::SeqCst));
        if !state.connected.load(Ordering::SeqCst) {
            let now = micros();
            let at = state.polled_at_us.load(Ordering::Acquire);
            if at == 0 || u128::from(now.saturating_sub(at)) >= listener.staleness.as_micros() {
                let rev = self.read(|tx| {
                    Ok(tx
                        .opt("SELECT value FROM meta WHERE key = 'auth_revision'", &[])?
                        .map_or(0, |r| r.get::<_, i64>(0)))
                })?;
                state.polled.store(rev as u64, Ordering::SeqCst);
                state.polled_at_us.store(now, Ordering::Release);
            }
            value = value.wrapping_add(state.polled.load(Ordering::SeqCst));
            // Mark the switch between polled and heard values as a change, too.
            value = value.wrapping_add(1 << 63);
        }
        Ok(value)
    }

    /// After a revoking change of this handle family committed.
    pub(super) fn revision_committed(&self) {
        self.inner
            .listener
            .state
            .local
            .fetch_add(1, Ordering::SeqCst);
    }
}

/// Two columns: the `xmax` of the snapshot the statement sees (as `bigint`) and the number of
/// transactions in progress in it, for [`encode_revision`].
macro_rules! snapshot_revision {
    () => {
        "pg_snapshot_xmax(pg_current_snapshot())::text::bigint, \
         (SELECT count(*) FROM pg_snapshot_xip(pg_current_snapshot()))"
    };
}

/// The data revision on PostgreSQL (docs/scale-out.md#what-is-shared): no counter row that every
/// write updates (that row was ~45 µs of every write and the one row every write of every node
/// waited for), but the server's own transaction snapshot. A snapshot sees exactly the
/// transactions that completed before its `xmax` and are not in its in-progress list; while
/// `xmax` stays the same, that list can only shrink (a transaction below `xmax` that is still
/// running was already running before), so `xmax` and the list's length identify what a
/// snapshot sees. Every committed write moves it (its transaction id is at least the `xmax` of
/// any snapshot taken before it began), reads never do (they take no transaction id). Commits
/// of anything else on the server move it too, which only costs a page-cache miss.
///
/// Packed as `xmax · 2^16 + count`; a snapshot outside that range (`xmax` ≥ 2^47, or 65,535
/// transactions in progress) gets a value never returned before, so nothing is cached on it.
fn encode_revision(xmax: i64, count: i64) -> u64 {
    static UNIQUE: AtomicU64 = AtomicU64::new(0);
    match (u64::try_from(xmax), u64::try_from(count)) {
        (Ok(x), Ok(c)) if x < (1 << 47) && c < 0xFFFF => (x << 16) | c,
        _ => (1 << 63) | UNIQUE.fetch_add(1, Ordering::Relaxed),
    }
}

impl PgDb {
    /// The data revision (docs/server.md#the-page-cache), in one statement: for a handle
    /// acting for a client the same statement makes the acting check, and a client that no
    /// longer exists (or whose project is past its deletion time) gets
    /// [`crate::Error::Unauthenticated`]; as `sqlite::Db::data_revision`. The revision is the
    /// statement's snapshot ([`encode_revision`]).
    pub(crate) fn data_revision(&self) -> Result<u64> {
        let now = self.now().millis();
        let row = self.read_autocommit(|tx| match self.actor() {
            None => tx.one(concat!("SELECT ", snapshot_revision!(), ", true"), &[]),
            Some(actor) => tx.one(
                concat!(
                    "SELECT ",
                    snapshot_revision!(),
                    ", EXISTS (SELECT 1 FROM clients c WHERE c.id = $1
                         AND (c.project_id IS NULL OR NOT EXISTS (
                             SELECT 1 FROM projects p WHERE p.id = c.project_id
                                 AND p.delete_at IS NOT NULL AND p.delete_at <= $2)))"
                ),
                &[&actor, &now],
            ),
        })?;
        if !row.get::<_, bool>(2) {
            return Err(Error::Unauthenticated);
        }
        Ok(encode_revision(row.get(0), row.get(1)))
    }

    /// The data revision and the first deletion time after `now` among the organization's
    /// projects, in one statement: until then (and while the revision stays), a list of the
    /// organization's resources read now stays what it is.
    pub(crate) fn page_validity(
        &self,
        organization_id: &str,
        now: Timestamp,
    ) -> Result<(u64, Option<Timestamp>)> {
        let row = self.read_autocommit(|tx| {
            tx.one(
                concat!(
                    "SELECT ",
                    snapshot_revision!(),
                    ", (SELECT MIN(delete_at) FROM projects
                        WHERE organization_id = $1 AND delete_at > $2)"
                ),
                &[&organization_id, &now.millis()],
            )
        })?;
        let until: Option<i64> = row.get(2);
        Ok((
            encode_revision(row.get(0), row.get(1)),
            until.map(Timestamp),
        ))
    }
}

#[cfg(test)]
mod encoding_tests {
    use super::encode_revision;

    #[test]
    fn a_revision_packs_xmax_and_the_in_progress_count_and_orders_by_xmax() {
        assert_eq!(encode_revision(1_000, 3), (1_000 << 16) | 3);
        // A later xmax is a larger revision whatever the counts.
        assert!(encode_revision(1_001, 0) > encode_revision(1_000, 65_534));
        // Out of range: never the same value twice, so nothing is cached on it.
        let a = encode_revision(1 << 47, 0);
        let b = encode_revision(1 << 47, 0);
        assert_ne!(a, b);
        assert_ne!(encode_revision(5, 0xFFFF), encode_revision(5, 0xFFFF));
        assert_ne!(encode_revision(-1, 0), encode_revision(-1, 0));
    }
}
