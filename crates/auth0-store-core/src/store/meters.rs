//! What every store records through the [`metrics`] facade: how long each operation took
//! and how its read cache did. The application installs a recorder (an exporter) if it
//! wants them; with none installed, a store's operations pay a few thread-local and atomic
//! loads, no clock read and no allocation (the `metrics_overhead` bench of
//! `auth0-store-memory` measures it).
//!
//! The keys are built once per store (its name is a label), so recording never allocates,
//! and a recorder installed after the store was built still sees every operation: the
//! recorder is looked up at each operation, not when the store is built.

use std::cell::Cell;
use std::sync::Arc;
use std::time::Instant;

use metrics::{Histogram, IntoF64, Key, Label, Level, Metadata};

/// Histogram of store operation latency, in seconds; labels `store` (`memory`, `redis`,
/// `postgres`, `cookie`, or a custom backend's name) and `operation` ([`StoreOperation`]).
pub const STORE_OPERATION_SECONDS: &str = "auth0_store_operation_duration_seconds";
/// Counter of session reads the read cache answered (no decryption); label `store`.
pub const READ_CACHE_HITS: &str = "auth0_store_read_cache_hits_total";
/// Counter of session reads the read cache did not hold (the record was opened); label `store`.
pub const READ_CACHE_MISSES: &str = "auth0_store_read_cache_misses_total";

/// Where these metrics come from, as recorders see it.
static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// One store operation, the `operation` label of [`STORE_OPERATION_SECONDS`]; the names are
/// the `store.*` span names (`store.transaction.get` is `transaction_get`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreOperation {
    /// A session read ([`StateStore::get`](super::StateStore::get)).
    Get,
    /// A session write.
    Set,
    /// A session deleted (logout).
    Delete,
    /// Sessions ended by a back-channel logout token.
    DeleteByLogoutToken,
    /// A logout token's use recorded (replay protection).
    RecordLogoutToken,
    /// A logout token's use forgotten.
    ForgetLogoutToken,
    /// A user's sessions listed.
    ListSessions,
    /// A user's sessions revoked.
    RevokeSessions,
    /// A login transaction written.
    TransactionSet,
    /// A login transaction read.
    TransactionGet,
    /// A login transaction read and removed.
    TransactionTake,
    /// A login transaction removed.
    TransactionDelete,
    /// A browser's login transactions removed.
    TransactionClear,
}

impl StoreOperation {
    /// Every operation, in label order.
    pub const ALL: [Self; 13] = [
        Self::Get,
        Self::Set,
        Self::Delete,
        Self::DeleteByLogoutToken,
        Self::RecordLogoutToken,
        Self::ForgetLogoutToken,
        Self::ListSessions,
        Self::RevokeSessions,
        Self::TransactionSet,
        Self::TransactionGet,
        Self::TransactionTake,
        Self::TransactionDelete,
        Self::TransactionClear,
    ];

    /// The `operation` label's value.
    ///
    /// ```
    /// use auth0_store_core::store::StoreOperation;
    /// assert_eq!(StoreOperation::TransactionGet.as_str(), "transaction_get");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Set => "set",
            Self::Delete => "delete",
            Self::DeleteByLogoutToken => "delete_by_logout_token",
            Self::RecordLogoutToken => "record_logout_token",
            Self::ForgetLogoutToken => "forget_logout_token",
            Self::ListSessions => "list_sessions",
            Self::RevokeSessions => "revoke_sessions",
            Self::TransactionSet => "transaction_set",
            Self::TransactionGet => "transaction_get",
            Self::TransactionTake => "transaction_take",
            Self::TransactionDelete => "transaction_delete",
            Self::TransactionClear => "transaction_clear",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The metrics of one store, keyed by its name: what a store built on this crate records
/// for each operation and each read-cache lookup. Cheap to clone (one `Arc`).
///
/// ```
/// use auth0_store_core::store::{StoreMeters, StoreOperation};
///
/// let meters = StoreMeters::new("my-backend");
/// {
///     let _timer = meters.time(StoreOperation::Get);
///     meters.read_cache(true);
///     // … the read; the latency is recorded when `_timer` drops …
/// }
/// ```
#[derive(Clone)]
pub struct StoreMeters {
    keys: Arc<Keys>,
}

struct Keys {
    store: &'static str,
    operations: [Key; StoreOperation::ALL.len()],
    hits: Key,
    misses: Key,
}

impl std::fmt::Debug for StoreMeters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreMeters")
            .field("store", &self.keys.store)
            .finish()
    }
}

impl StoreMeters {
    /// The metrics of the store named `store` (its `store` label): a backend's
    /// `name()`, a fixed word, never anything a request chose.
    ///
    /// ```
    /// let meters = auth0_store_core::store::StoreMeters::new("my-backend");
    /// # let _ = meters;
    /// ```
    pub fn new(store: &'static str) -> Self {
        let operations = StoreOperation::ALL.map(|op| {
            Key::from_parts(
                STORE_OPERATION_SECONDS,
                vec![
                    Label::new("store", store),
                    Label::new("operation", op.as_str()),
                ],
            )
        });
        let store_only = |name| Key::from_parts(name, vec![Label::new("store", store)]);
        Self {
            keys: Arc::new(Keys {
                store,
                operations,
                hits: store_only(READ_CACHE_HITS),
                misses: store_only(READ_CACHE_MISSES),
            }),
        }
    }

    /// Times `operation` from now until the returned guard drops (whichever way the
    /// operation ends: success, error or a dropped future). With no recorder installed the
    /// clock is never read (see [`OperationTimer`]).
    ///
    /// ```
    /// use auth0_store_core::store::{StoreMeters, StoreOperation};
    ///
    /// let meters = StoreMeters::new("my-backend");
    /// let timer = meters.time(StoreOperation::Set);
    /// // … write the session …
    /// drop(timer); // recorded here (or wherever the operation's future is dropped)
    /// ```
    pub fn time(&self, operation: StoreOperation) -> OperationTimer {
        let key = &self.keys.operations[operation.index()];
        let histogram = metrics::with_recorder(|r| r.register_histogram(key, &METADATA));
        // A histogram converts the value it is given only when it records somewhere: a
        // no-op one (no recorder) never calls `into_f64`, so the clock stays unread.
        let started = Cell::new(None);
        histogram.record_many(StartClock(&started), 0);
        OperationTimer {
            histogram,
            started: started.get(),
        }
    }

    /// Counts one read-cache lookup: a hit, or a miss.
    ///
    /// ```
    /// let meters = auth0_store_core::store::StoreMeters::new("my-backend");
    /// let cached: Option<&str> = None;
    /// meters.read_cache(cached.is_some()); // a miss
    /// ```
    pub fn read_cache(&self, hit: bool) {
        let key = if hit {
            &self.keys.hits
        } else {
            &self.keys.misses
        };
        metrics::with_recorder(|r| r.register_counter(key, &METADATA)).increment(1);
    }
}

/// Records its operation's latency when dropped (see [`StoreMeters::time`]). It holds the
/// histogram of the recorder that was current when the operation started, and the start
/// time only if that recorder records: with none, timing costs a thread-local and an atomic
/// load, no clock read.
#[must_use = "the latency is recorded when the timer drops"]
pub struct OperationTimer {
    histogram: Histogram,
    started: Option<Instant>,
}

impl std::fmt::Debug for OperationTimer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperationTimer")
            .field("timing", &self.started.is_some())
            .finish()
    }
}

impl Drop for OperationTimer {
    fn drop(&mut self) {
        if let Some(started) = self.started {
            self.histogram.record(started.elapsed().as_secs_f64());
        }
    }
}

/// A value for a histogram that, when converted, reads the clock into its cell: recorded
/// zero times, it is a probe that tells whether the histogram records anywhere.
///
/// This relies on what `metrics` 0.24's handles do (a no-op handle never converts a value)
/// and on a recorder keeping nothing of `record_many(value, 0)`, as the trait's default
/// and every recorder of `metrics-util` and `metrics-exporter-prometheus` do (the memory
/// store's `prometheus_records_one_sample_per_operation_and_none_for_the_timers_probe`
/// checks the latter). A recorder that kept such a sample would show one 0 s sample more
/// per operation; it would not break the store.
struct StartClock<'a>(&'a Cell<Option<Instant>>);

impl IntoF64 for StartClock<'_> {
    fn into_f64(self) -> f64 {
        self.0.set(Some(Instant::now()));
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_indexed_in_label_order() {
        for (i, op) in StoreOperation::ALL.into_iter().enumerate() {
            assert_eq!(op.index(), i, "{op:?}");
        }
        let meters = StoreMeters::new("memory");
        let key = &meters.keys.operations[StoreOperation::TransactionTake.index()];
        let labels: Vec<_> = key.labels().map(|l| (l.key(), l.value())).collect();
        assert_eq!(
            labels,
            [("store", "memory"), ("operation", "transaction_take")]
        );
    }
}
