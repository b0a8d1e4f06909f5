//! What the metrics tests share: running async code under a local `DebuggingRecorder`, and
//! reading what it recorded.
//!
//! The recorder is local to the test's thread (`metrics::with_local_recorder`) and the work
//! runs on a current-thread runtime inside it, so every task the work spawns records there
//! too, and tests of one binary never see each other's counts (a global recorder is one per
//! process).
//!
//! ```
//! use auth0_test_support::metrics::{count, recorded};
//!
//! let seen = recorded(|| async { metrics::counter!("demo_total", "kind" => "a").increment(2) });
//! assert_eq!(count(&seen, "demo_total", &[("kind", "a")]), 2);
//! ```

use auth0_store_core::model::{StateData, TransactionData, UserClaims};
use auth0_store_core::store::{
    READ_CACHE_HITS, READ_CACHE_MISSES, STORE_OPERATION_SECONDS, StateStore, StoreContext,
    TransactionStore,
};
use metrics_util::CompositeKey;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};

/// What a recorder saw: each series' key and value.
pub type Recorded = Vec<(CompositeKey, DebugValue)>;

/// Runs `work` on a current-thread runtime (I/O and time enabled) under a local debugging
/// recorder; returns what was recorded (taken once: a snapshot drains histograms).
pub fn recorded<F: Future<Output = ()>>(work: impl FnOnce() -> F) -> Recorded {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime");
    metrics::with_local_recorder(&recorder, || rt.block_on(work()));
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| (key, value))
        .collect()
}

/// The sum of metric `name` over the series whose labels include all of `labels`: a
/// counter's value, a histogram's number of observations (gauges count 0).
pub fn count(recorded: &Recorded, name: &str, labels: &[(&str, &str)]) -> u64 {
    recorded
        .iter()
        .filter(|(key, _)| key.key().name() == name)
        .filter(|(key, _)| {
            labels
                .iter()
                .all(|(k, v)| key.key().labels().any(|l| l.key() == *k && l.value() == *v))
        })
        .map(|(_, value)| match value {
            DebugValue::Counter(n) => *n,
            DebugValue::Histogram(samples) => samples.len() as u64,
            DebugValue::Gauge(_) => 0,
        })
        .sum()
}

/// A session written, read twice and deleted through `sessions`, and a login transaction
/// written, read and taken, another written and deleted, then the browser's cleared, through
/// `transactions`, as one browser would: what every store's
/// metrics test runs (see [`assert_round_trip_recorded`]).
///
/// # Panics
///
/// When a store operation fails.
pub async fn store_round_trip(sessions: &impl StateStore, transactions: &impl TransactionStore) {
    const SESSION: &str = "_a0_session";
    const TRANSACTION: &str = "_a0_tx:metrics-round-trip";
    let cx = StoreContext::new();
    let state = StateData {
        user: Some(UserClaims {
            sub: "auth0|metrics".into(),
            ..UserClaims::default()
        }),
        ..StateData::default()
    };
    sessions.set(SESSION, &state, true, &cx).await.unwrap();
    for _ in 0..2 {
        let cx = StoreContext::from_cookies(cx.cookies());
        assert!(sessions.get(SESSION, &cx).await.unwrap().is_some());
    }
    let cx = StoreContext::from_cookies(cx.cookies());
    sessions.delete(SESSION, &cx).await.unwrap();

    let cx = StoreContext::new();
    let login = TransactionData {
        code_verifier: Some("verifier".into()),
        ..TransactionData::default()
    };
    transactions.set(TRANSACTION, &login, &cx).await.unwrap();
    let cx = StoreContext::from_cookies(cx.cookies());
    assert!(transactions.get(TRANSACTION, &cx).await.unwrap().is_some());
    assert!(transactions.take(TRANSACTION, &cx).await.unwrap().is_some());
    // Another login, abandoned: deleted, then the browser's logins cleared.
    let cx = StoreContext::new();
    transactions.set(TRANSACTION, &login, &cx).await.unwrap();
    let cx = StoreContext::from_cookies(cx.cookies());
    transactions.delete(TRANSACTION, &cx).await.unwrap();
    transactions.clear("_a0_tx", &cx).await.unwrap();
}

/// Checks `recorded` holds [`store_round_trip`]'s operations under `store` (the backend's
/// name): their latency by operation, and the two session reads answered by the read cache
/// (the write put the session there).
///
/// # Panics
///
/// When a count differs.
pub fn assert_round_trip_recorded(recorded: &Recorded, store: &str) {
    let op = |operation| {
        count(
            recorded,
            STORE_OPERATION_SECONDS,
            &[("store", store), ("operation", operation)],
        )
    };
    let sessions = (op("set"), op("get"), op("delete"));
    assert_eq!(sessions, (1, 2, 1), "session set, get, delete on {store}");
    let logins = (
        op("transaction_set"),
        op("transaction_get"),
        op("transaction_take"),
        op("transaction_delete"),
        op("transaction_clear"),
    );
    assert_eq!(
        logins,
        (2, 1, 1, 1, 1),
        "transaction set, get, take, delete, clear on {store} (each counted once)"
    );
    let cache = (
        count(recorded, READ_CACHE_HITS, &[("store", store)]),
        count(recorded, READ_CACHE_MISSES, &[("store", store)]),
    );
    assert_eq!(cache, (2, 0), "read cache hits, misses on {store}");
}
