//! The background task that deletes expired rows.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use auth0_store_core::store::StoreError;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::PostgresBackend;
use crate::error::BACKEND;

/// Which table a cleanup batch works on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Table {
    Sessions,
    Transactions,
    LogoutTokens,
}

/// What a [`CleanupTask`] has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CleanupStats {
    /// Passes finished (each pass empties both tables of expired rows, batch by batch).
    pub passes: u64,
    /// Statements that deleted at least one row.
    pub batches: u64,
    /// Expired sessions deleted.
    pub sessions_deleted: u64,
    /// Expired transactions deleted.
    pub transactions_deleted: u64,
    /// Expired back-channel logout token ids deleted.
    pub logout_tokens_deleted: u64,
    /// Passes cut short by an error (logged as a warning; the next pass tries again).
    pub errors: u64,
}

#[derive(Debug, Default)]
struct Counters {
    passes: AtomicU64,
    batches: AtomicU64,
    sessions_deleted: AtomicU64,
    transactions_deleted: AtomicU64,
    logout_tokens_deleted: AtomicU64,
    errors: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> CleanupStats {
        CleanupStats {
            passes: self.passes.load(Ordering::Relaxed),
            batches: self.batches.load(Ordering::Relaxed),
            sessions_deleted: self.sessions_deleted.load(Ordering::Relaxed),
            transactions_deleted: self.transactions_deleted.load(Ordering::Relaxed),
            logout_tokens_deleted: self.logout_tokens_deleted.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
        }
    }
}

/// The handle of the cleanup task started by [`PostgresBackend::spawn_cleanup`].
///
/// The task runs a pass at once and then every interval: it deletes expired sessions, then
/// expired transactions, each in batches of [`PostgresBackend::with_cleanup_batch_size`]
/// rows, until a batch comes back short. An error (PostgreSQL down) is logged and counted,
/// and the next pass tries again.
///
/// [`shutdown`](Self::shutdown) stops it and waits until it has stopped; dropping the handle
/// stops it too (at its next batch or tick, without waiting).
///
/// ```no_run
/// # async fn demo(backend: auth0_store_postgres::PostgresBackend) {
/// use std::time::Duration;
/// let cleanup = backend.spawn_cleanup(Duration::from_secs(300));
/// // ... serve requests ...
/// println!("{:?}", cleanup.stats());
/// cleanup.shutdown().await;
/// # }
/// ```
pub struct CleanupTask {
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<()>>,
    counters: Arc<Counters>,
}

impl fmt::Debug for CleanupTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CleanupTask")
            .field("stats", &self.stats())
            .field("finished", &self.is_finished())
            .finish()
    }
}

impl CleanupTask {
    pub(crate) fn spawn(backend: PostgresBackend, every: Duration) -> Self {
        let (stop_tx, stop_rx) = oneshot::channel();
        let counters = Arc::new(Counters::default());
        // A zero period would make tokio's interval panic.
        let every = every.max(Duration::from_millis(1));
        let handle = tokio::spawn(run(backend, every, stop_rx, counters.clone()));
        Self {
            stop: Some(stop_tx),
            handle: Some(handle),
            counters,
        }
    }

    /// What the task has done so far.
    pub fn stats(&self) -> CleanupStats {
        self.counters.snapshot()
    }

    /// Whether the task has stopped.
    pub fn is_finished(&self) -> bool {
        self.handle.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Stops the task and waits until it has stopped. A batch under way is abandoned (its
    /// statement is rolled back by PostgreSQL, or completes; either is harmless).
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.handle.take()
            && let Err(e) = handle.await
            && e.is_panic()
        {
            tracing::error!(backend = BACKEND, "the cleanup task panicked");
        }
    }
}

impl Drop for CleanupTask {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The task: a pass now, then one per tick, until told to stop (or the handle is dropped,
/// which closes the channel).
async fn run(
    backend: PostgresBackend,
    every: Duration,
    mut stop: oneshot::Receiver<()>,
    counters: Arc<Counters>,
) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            _ = &mut stop => return,
            _ = ticker.tick() => {}
        }
        let pass = tokio::select! {
            biased;
            _ = &mut stop => return,
            pass = pass(&backend, &counters) => pass,
        };
        match pass {
            Ok(()) => {
                counters.passes.fetch_add(1, Ordering::Relaxed);
            }
            Err(error) => {
                counters.errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(backend = BACKEND, %error, "cleanup of expired rows failed; trying again at the next pass");
            }
        }
    }
}

/// One pass: every expired session, then every expired transaction, then every expired
/// logout-token id, batch by batch.
async fn pass(backend: &PostgresBackend, counters: &Counters) -> Result<(), StoreError> {
    for table in [Table::Sessions, Table::Transactions, Table::LogoutTokens] {
        loop {
            let deleted = backend.delete_expired_batch(table).await?;
            if deleted == 0 {
                break;
            }
            counters.batches.fetch_add(1, Ordering::Relaxed);
            let total = match table {
                Table::Sessions => &counters.sessions_deleted,
                Table::Transactions => &counters.transactions_deleted,
                Table::LogoutTokens => &counters.logout_tokens_deleted,
            };
            total.fetch_add(deleted, Ordering::Relaxed);
            tracing::debug!(backend = BACKEND, ?table, deleted, "expired rows deleted");
            if deleted < u64::from(backend.cleanup_batch) {
                break;
            }
        }
    }
    Ok(())
}
