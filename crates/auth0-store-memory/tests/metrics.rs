//! What `ServerSideStateStore` records through the `metrics` facade over the memory backend:
//! each operation's latency (`auth0_store_operation_duration_seconds{store, operation}`) and
//! the read cache's hits and misses. A local recorder sees them (the store runs on this
//! thread), so no global recorder is installed for this test binary.

use std::sync::Arc;

use auth0_store_core::Secrets;
use auth0_store_core::model::{StateData, UserClaims};
use auth0_store_core::store::{
    READ_CACHE_HITS, READ_CACHE_MISSES, STORE_OPERATION_SECONDS, ServerSideStateStore, StateStore,
    StoreContext,
};
use auth0_store_memory::MemoryBackend;
use metrics_util::CompositeKey;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};

/// What a recorder saw: each metric's key and value.
type Recorded = Vec<(CompositeKey, DebugValue)>;

const SECRET: &str = "a-secret-of-at-least-thirty-two-bytes";
const ID: &str = "_a0_session";

/// Runs `work` on a current-thread runtime under a local debugging recorder; returns what
/// was recorded (taken once: a snapshot drains histograms).
fn recorded<F: Future<Output = ()>>(work: impl FnOnce() -> F) -> Recorded {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || rt.block_on(work()));
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| (key, value))
        .collect()
}

/// The samples of metric `name` whose labels include every pair of `labels`: a counter's
/// value, or a histogram's number of observations.
fn count(recorded: &Recorded, name: &str, labels: &[(&str, &str)]) -> u64 {
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

fn session() -> StateData {
    StateData {
        user: Some(UserClaims {
            sub: "auth0|ada".into(),
            ..UserClaims::default()
        }),
        ..StateData::default()
    }
}

#[test]
fn store_operations_record_their_latency_and_cache_lookups() {
    let secrets = Secrets::parse(SECRET).unwrap();
    let backend = Arc::new(MemoryBackend::new());
    let writer = ServerSideStateStore::from_shared(backend.clone(), &secrets);
    let reader = ServerSideStateStore::from_shared(backend, &secrets);
    let recorded = recorded(|| async move {
        let cx = StoreContext::new();
        writer.set(ID, &session(), true, &cx).await.unwrap();
        let cookies = cx.cookies();
        // Another instance opens the record once (a miss), then reads it from its cache.
        for _ in 0..2 {
            let cx = StoreContext::from_cookies(cookies.clone());
            assert!(reader.get(ID, &cx).await.unwrap().is_some());
        }
        let cx = StoreContext::from_cookies(cookies);
        writer.delete(ID, &cx).await.unwrap();
    });
    let op = |operation| {
        count(
            &recorded,
            STORE_OPERATION_SECONDS,
            &[("store", "memory"), ("operation", operation)],
        )
    };
    assert_eq!((op("set"), op("get"), op("delete")), (1, 2, 1));
    let memory = [("store", "memory")];
    assert_eq!(count(&recorded, READ_CACHE_MISSES, &memory), 1);
    assert_eq!(count(&recorded, READ_CACHE_HITS, &memory), 1);
}

#[test]
fn nothing_is_recorded_outside_a_recorder() {
    // The same store, used with no recorder installed: it works, and a recorder installed
    // afterwards starts from nothing (handles are looked up per operation, never kept).
    let store = ServerSideStateStore::new(MemoryBackend::new(), &Secrets::parse(SECRET).unwrap());
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let cx = StoreContext::new();
    rt.block_on(store.set(ID, &session(), true, &cx)).unwrap();
    let cookies = cx.cookies();
    let recorded = recorded(|| async move {
        let cx = StoreContext::from_cookies(cookies);
        assert!(store.get(ID, &cx).await.unwrap().is_some());
    });
    let all = count(&recorded, STORE_OPERATION_SECONDS, &[]);
    assert_eq!(all, 1, "only the read made under the recorder is seen");
}
