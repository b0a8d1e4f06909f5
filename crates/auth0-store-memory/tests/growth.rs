//! The memory store does not grow without bound: expired entries are dropped as it is used.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use auth0_store_core::clock::{Clock, ManualClock};
use auth0_store_core::model::TransactionData;
use auth0_store_core::store::{
    SessionBackend, SessionId, SessionRecord, StoreContext, TransactionStore,
};
use auth0_store_memory::{MemoryBackend, MemoryTransactionBackend, SWEEP_INTERVAL};

fn record(clock: &ManualClock, ttl: u64, sub: &str) -> SessionRecord {
    SessionRecord {
        data: vec![1, 2, 3],
        sid: Some(format!("sid-{sub}")),
        sub: Some(sub.to_owned()),
        domain: Some("tenant.example".to_owned()),
        expires_at: UNIX_EPOCH + Duration::from_secs(clock.unix_seconds() + ttl),
    }
}

#[tokio::test]
async fn expired_sessions_and_their_index_entries_are_swept() {
    let clock = ManualClock::starting_now();
    let backend = MemoryBackend::new().with_clock(Arc::new(clock.clone()));
    for i in 0..100 {
        backend
            .create(
                &SessionId::generate(),
                &record(&clock, 10, &format!("user{i}")),
            )
            .await
            .unwrap();
    }
    assert_eq!(backend.len(), 100);
    assert_eq!(backend.index_len(), 200);
    clock.advance(SWEEP_INTERVAL + Duration::from_secs(1));
    backend
        .create(&SessionId::generate(), &record(&clock, 10, "fresh"))
        .await
        .unwrap();
    assert_eq!(backend.len(), 1, "expired sessions were not dropped");
    assert_eq!(
        backend.index_len(),
        2,
        "index entries of expired sessions were not dropped"
    );
}

#[tokio::test]
async fn delete_expired_reports_what_it_dropped_and_load_never_returns_expired() {
    let clock = ManualClock::starting_now();
    let backend = MemoryBackend::new().with_clock(Arc::new(clock.clone()));
    let short = SessionId::generate();
    backend
        .create(&short, &record(&clock, 5, "a"))
        .await
        .unwrap();
    backend
        .create(&SessionId::generate(), &record(&clock, 500, "b"))
        .await
        .unwrap();
    clock.advance(Duration::from_secs(6));
    assert!(backend.load(&short).await.unwrap().is_none());
    assert_eq!(
        backend.delete_expired().await.unwrap(),
        0,
        "load already dropped it"
    );
    clock.advance(Duration::from_secs(600));
    assert_eq!(backend.delete_expired().await.unwrap(), 1);
    assert!(backend.is_empty());
}

#[tokio::test]
async fn transactions_expire_and_are_bounded() {
    let clock = ManualClock::starting_now();
    let backend = MemoryTransactionBackend::new()
        .with_clock(Arc::new(clock.clone()))
        .with_max_entries(10);
    let store = backend
        .clone()
        .transaction_store()
        .with_clock(Arc::new(clock.clone()))
        .with_ttl(Duration::from_secs(3600));
    // 50 browsers, one login each: the backend keeps at most 10.
    let mut browsers = Vec::new();
    for i in 0..50 {
        let cx = StoreContext::new();
        store
            .set(&format!("_a0_tx:{i}"), &TransactionData::default(), &cx)
            .await
            .unwrap();
        browsers.push(cx);
        clock.advance(Duration::from_millis(10));
    }
    assert!(
        backend.len() <= 10,
        "{} transactions kept, limit 10",
        backend.len()
    );
    assert!(
        store
            .get("_a0_tx:49", &browsers[49])
            .await
            .unwrap()
            .is_some(),
        "the newest was dropped"
    );
    assert!(
        store.get("_a0_tx:0", &browsers[0]).await.unwrap().is_none(),
        "the oldest was kept"
    );

    clock.advance(Duration::from_secs(3601));
    assert!(
        store
            .get("_a0_tx:49", &browsers[49])
            .await
            .unwrap()
            .is_none(),
        "an expired transaction read"
    );
    store
        .set(
            "_a0_tx:new",
            &TransactionData::default(),
            &StoreContext::new(),
        )
        .await
        .unwrap();
    assert_eq!(backend.len(), 1, "expired transactions were not swept");
}

#[tokio::test]
async fn logout_deletes_expired_matches_but_counts_only_live_sessions() {
    let clock = ManualClock::starting_now();
    let backend = MemoryBackend::new().with_clock(Arc::new(clock.clone()));
    backend
        .create(&SessionId::generate(), &record(&clock, 5, "user-x"))
        .await
        .unwrap();
    backend
        .create(&SessionId::generate(), &record(&clock, 500, "user-x"))
        .await
        .unwrap();
    clock.advance(Duration::from_secs(10));
    let filter = auth0_store_core::store::LogoutFilter {
        sid: None,
        sub: Some("user-x".into()),
        domain: "tenant.example".into(),
    };
    assert_eq!(
        backend.delete_by_logout(&filter).await.unwrap(),
        1,
        "one live session ended"
    );
    assert!(backend.is_empty(), "the expired match went too");
}
