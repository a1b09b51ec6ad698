//! Recording clients' last use off the hot path (docs/lifecycle.md#last-use).
//!
//! An authentication marks its client used through the entry's [`super::cache::LastUse`]: one
//! atomic load, and at most once a minute per client a compare-and-swap and a push onto the
//! pending batch here. A background thread (started at the first push) writes each batch in
//! one transaction; reads of clients through `Store` write what is pending first, so they
//! see it at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use crate::domain::time::Timestamp;
use crate::error::Result;

/// A use is recorded at most this often per client (and per handle), so `lastUsedAt` is
/// within this of the truth.
pub const RECORD_INTERVAL_MS: i64 = 60_000;

/// Writes one batch of (client id, time of use).
pub(crate) type Writer = dyn Fn(&[(&str, Timestamp)]) -> Result<()> + Send + Sync;

pub(crate) struct UsageLog {
    shared: Arc<Shared>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    /// Held while a batch is taken and written, so [`UsageLog::flush`] returns only once
    /// every use pending when it was called is written.
    writing: Mutex<()>,
    writes: AtomicU64,
    writer: Box<Writer>,
}

#[derive(Default)]
struct State {
    pending: HashMap<Arc<str>, Timestamp>,
    closed: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl UsageLog {
    pub(crate) fn new(writer: Box<Writer>) -> Self {
        UsageLog {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                wake: Condvar::new(),
                writing: Mutex::new(()),
                writes: AtomicU64::new(0),
                writer,
            }),
            worker: Mutex::new(None),
        }
    }

    /// Queues a use of `client_id` at `at` for the background writer.
    pub(crate) fn record(&self, client_id: &Arc<str>, at: Timestamp) {
        {
            let mut state = lock(&self.shared.state);
            let slot = state.pending.entry(client_id.clone()).or_insert(at);
            *slot = (*slot).max(at);
        }
        self.shared.wake.notify_one();
        let mut worker = lock(&self.worker);
        if worker.is_none() {
            let shared = self.shared.clone();
            // If no thread can be started, pending uses are written by the next client read
            // (`flush`) instead.
            *worker = std::thread::Builder::new()
                .name("opcore-last-use".into())
                .spawn(move || run(&shared))
                .ok();
        }
    }

    /// Writes every pending use now, on the caller's thread; returns once uses pending when
    /// it was called are written (by it or by the background writer).
    pub(crate) fn flush(&self) {
        if lock(&self.shared.state).pending.is_empty() {
            // Maybe the background writer holds the batch: wait for it to finish writing.
            drop(lock(&self.shared.writing));
            return;
        }
        self.shared.write_pending();
    }

    /// How many batches have been written.
    pub(crate) fn writes(&self) -> u64 {
        self.shared.writes.load(Ordering::Relaxed)
    }
}

impl Shared {
    fn write_pending(&self) {
        let _writing = lock(&self.writing);
        let batch = std::mem::take(&mut lock(&self.state).pending);
        if batch.is_empty() {
            return;
        }
        let uses: Vec<(&str, Timestamp)> = batch.iter().map(|(id, at)| (&**id, *at)).collect();
        // Best effort: a failed write loses one minute's record of these uses, nothing more.
        if (self.writer)(&uses).is_ok() {
            self.writes.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn run(shared: &Shared) {
    loop {
        {
            let mut state = lock(&shared.state);
            while state.pending.is_empty() && !state.closed {
                state = shared.wake.wait(state).unwrap_or_else(|p| p.into_inner());
            }
            if state.pending.is_empty() {
                return;
            }
        }
        shared.write_pending();
    }
}

impl Drop for UsageLog {
    /// Writes what is pending and stops the background writer.
    fn drop(&mut self) {
        lock(&self.shared.state).closed = true;
        self.shared.wake.notify_all();
        if let Some(worker) = lock(&self.worker).take() {
            let _ = worker.join();
        }
        self.shared.write_pending();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every (client id, time) written, in order.
    type Seen = Arc<Mutex<Vec<(String, i64)>>>;

    fn counting() -> (UsageLog, Seen) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let log = UsageLog::new(Box::new(move |uses| {
            let mut s = lock(&sink);
            s.extend(uses.iter().map(|(id, at)| (id.to_string(), at.0)));
            Ok(())
        }));
        (log, seen)
    }

    #[test]
    fn uses_of_one_client_are_written_with_the_latest_time() {
        let (log, seen) = counting();
        let id: Arc<str> = "c".into();
        log.record(&id, Timestamp(5));
        log.record(&id, Timestamp(9));
        log.record(&id, Timestamp(7));
        log.flush();
        drop(log);
        let seen = lock(&seen).clone();
        assert!(seen.iter().all(|(id, _)| id == "c"));
        // Batches may come in any order (the store keeps the later time); the latest is there.
        assert_eq!(seen.iter().map(|s| s.1).max(), Some(9));
        assert!(seen.len() <= 3, "{seen:?}");
    }

    #[test]
    fn drop_writes_what_is_pending() {
        let (log, seen) = counting();
        log.record(&"a".into(), Timestamp(1));
        log.record(&"b".into(), Timestamp(2));
        drop(log);
        let mut seen = lock(&seen).clone();
        seen.sort();
        assert_eq!(seen, vec![("a".into(), 1), ("b".into(), 2)]);
    }
}
