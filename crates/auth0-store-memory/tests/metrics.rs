//! What the stores record through the `metrics` facade over the memory backend: each
//! operation's latency (`auth0_store_operation_duration_seconds{store, operation}`) and the
//! read cache's hits and misses. A local recorder sees them (the store runs on the test's
//! thread), so no global recorder is installed for this test binary.

use std::sync::Arc;

use auth0_store_core::Secrets;
use auth0_store_core::model::{StateData, UserClaims};
use auth0_store_core::store::{
    READ_CACHE_HITS, READ_CACHE_MISSES, STORE_OPERATION_SECONDS, ServerSideStateStore,
    ServerSideTransactionStore, StateStore, StoreContext,
};
use auth0_store_memory::{MemoryBackend, MemoryTransactionBackend};
use auth0_test_support::metrics::{assert_round_trip_recorded, count, recorded, store_round_trip};

const SECRET: &str = "a-secret-of-at-least-thirty-two-bytes";
const ID: &str = "_a0_session";

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
    let sessions = ServerSideStateStore::new(MemoryBackend::new(), &secrets);
    let transactions = ServerSideTransactionStore::new(MemoryTransactionBackend::new(), &secrets);
    let recorded = recorded(|| async move { store_round_trip(&sessions, &transactions).await });
    assert_round_trip_recorded(&recorded, "memory");
}

#[test]
fn a_record_another_instance_wrote_is_a_cache_miss_once() {
    let secrets = Secrets::parse(SECRET).unwrap();
    let backend = Arc::new(MemoryBackend::new());
    let writer = ServerSideStateStore::from_shared(backend.clone(), &secrets);
    let reader = ServerSideStateStore::from_shared(backend, &secrets);
    let recorded = recorded(|| async move {
        let cx = StoreContext::new();
        writer.set(ID, &session(), true, &cx).await.unwrap();
        for _ in 0..2 {
            let cx = StoreContext::from_cookies(cx.cookies());
            assert!(reader.get(ID, &cx).await.unwrap().is_some());
        }
    });
    let memory = [("store", "memory")];
    assert_eq!(count(&recorded, READ_CACHE_MISSES, &memory), 1);
    assert_eq!(count(&recorded, READ_CACHE_HITS, &memory), 1);
}

#[test]
fn a_recorder_installed_after_the_store_was_built_sees_its_operations() {
    // Used with no recorder first: it works, and a recorder installed afterwards sees the
    // operations made under it, and only those (handles are looked up per operation).
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
    assert_eq!(count(&recorded, STORE_OPERATION_SECONDS, &[]), 1);
}

#[test]
fn without_a_recorder_an_operation_is_not_timed_and_with_one_it_is() {
    use auth0_store_core::store::{StoreMeters, StoreOperation};
    let meters = StoreMeters::new("memory");
    // No recorder: the timer holds no start time (the clock was not read).
    let timer = meters.time(StoreOperation::Get);
    assert!(format!("{timer:?}").contains("timing: false"), "{timer:?}");
    let seen = recorded(|| async move {
        let timer = meters.time(StoreOperation::Get);
        assert!(format!("{timer:?}").contains("timing: true"), "{timer:?}");
    });
    let labels = [("store", "memory"), ("operation", "get")];
    assert_eq!(
        count(&seen, STORE_OPERATION_SECONDS, &labels),
        1,
        "{seen:?}"
    );
}

#[test]
fn prometheus_records_one_sample_per_operation_and_none_for_the_timers_probe() {
    // The timer hands its histogram a value recorded zero times to learn whether anything
    // records (see `OperationTimer`): the exporter the quickstart uses must keep nothing of it.
    let store = ServerSideStateStore::new(MemoryBackend::new(), &Secrets::parse(SECRET).unwrap());
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        rt.block_on(async {
            let cx = StoreContext::new();
            store.set(ID, &session(), true, &cx).await.unwrap();
            let cx = StoreContext::from_cookies(cx.cookies());
            for _ in 0..3 {
                assert!(store.get(ID, &cx).await.unwrap().is_some());
            }
        });
    });
    let text = handle.render();
    let series = |operation: &str| {
        format!("{STORE_OPERATION_SECONDS}_count{{store=\"memory\",operation=\"{operation}\"}}")
    };
    let value = |operation: &str| {
        let name = series(operation);
        text.lines()
            .find_map(|line| line.strip_prefix(&name))
            .map(str::trim)
            .map(str::to_owned)
    };
    assert_eq!(value("get").as_deref(), Some("3"), "{text}");
    assert_eq!(value("set").as_deref(), Some("1"), "{text}");
}
