//! Compare-and-set under many concurrent writers: exactly one wins each round, and with
//! retries no write is lost.

mod support;

use std::sync::Arc;
use std::time::Duration;

use auth0_store_core::store::{SessionBackend, SessionId, SessionRecord, UpdateOutcome};
use tokio::sync::Barrier;

/// Concurrent writers.
const WRITERS: usize = 50;
/// Rounds of the one-winner test.
const ROUNDS: u64 = 5;

fn record_with(data: Vec<u8>) -> SessionRecord {
    SessionRecord {
        data,
        ..support::record("ada", "sid", "tenant.example", Duration::from_secs(600))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_writers_of_one_version_exactly_one_wins_each_round() {
    let Some(backend) = support::backend_with(20).await else {
        return;
    };
    let backend = Arc::new(backend);
    let id = SessionId::generate();
    backend
        .create(&id, &record_with(b"start".to_vec()))
        .await
        .unwrap();

    for round in 1..=ROUNDS {
        let version = backend.load(&id).await.unwrap().unwrap().version;
        assert_eq!(version, round, "each round adds exactly one version");
        let barrier = Arc::new(Barrier::new(WRITERS));
        let tasks: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (backend, id, barrier) = (backend.clone(), id.clone(), barrier.clone());
                tokio::spawn(async move {
                    let record = record_with(format!("round {round} writer {w}").into_bytes());
                    barrier.wait().await;
                    backend.update(&id, &record, version).await
                })
            })
            .collect();
        let mut winners = Vec::new();
        let mut conflicts = 0;
        for (w, task) in tasks.into_iter().enumerate() {
            match task.await.unwrap().unwrap() {
                UpdateOutcome::Updated => winners.push(w),
                UpdateOutcome::Conflict => conflicts += 1,
                UpdateOutcome::Missing => panic!("a live session was reported Missing"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: winners {winners:?}");
        assert_eq!(conflicts, WRITERS - 1);
        let stored = backend.load(&id).await.unwrap().unwrap();
        assert_eq!(stored.version, version + 1);
        assert_eq!(
            stored.record.data,
            format!("round {round} writer {}", winners[0]).into_bytes(),
            "the stored record is not the winner's"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_writers_that_retry_on_conflict_lose_nothing() {
    let Some(backend) = support::backend_with(20).await else {
        return;
    };
    let backend = Arc::new(backend);
    let id = SessionId::generate();
    // The record's data is a list of writer numbers, one byte each.
    backend.create(&id, &record_with(Vec::new())).await.unwrap();

    let barrier = Arc::new(Barrier::new(WRITERS));
    let tasks: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (backend, id, barrier) = (backend.clone(), id.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let mut conflicts = 0u32;
                loop {
                    let loaded = backend
                        .load(&id)
                        .await
                        .unwrap()
                        .expect("the session is live");
                    let mut data = loaded.record.data.clone();
                    data.push(u8::try_from(w).unwrap());
                    match backend
                        .update(&id, &record_with(data), loaded.version)
                        .await
                        .unwrap()
                    {
                        UpdateOutcome::Updated => return conflicts,
                        UpdateOutcome::Conflict => conflicts += 1,
                        UpdateOutcome::Missing => panic!("a live session was reported Missing"),
                    }
                }
            })
        })
        .collect();
    let mut conflicts = 0;
    for task in tasks {
        conflicts += task.await.unwrap();
    }
    let stored = backend.load(&id).await.unwrap().unwrap();
    let mut writers = stored.record.data.clone();
    writers.sort_unstable();
    let expected: Vec<u8> = (0..u8::try_from(WRITERS).unwrap()).collect();
    assert_eq!(writers, expected, "some writes were lost");
    assert_eq!(stored.version, 1 + WRITERS as u64);
    assert!(
        conflicts > 0,
        "the writers never overlapped; the test proves nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_racing_a_delete_never_brings_the_session_back() {
    let Some(backend) = support::backend_with(10).await else {
        return;
    };
    let backend = Arc::new(backend);
    for _ in 0..20 {
        let id = SessionId::generate();
        backend
            .create(&id, &record_with(b"v1".to_vec()))
            .await
            .unwrap();
        let update = {
            let (backend, id) = (backend.clone(), id.clone());
            tokio::spawn(async move { backend.update(&id, &record_with(b"v2".to_vec()), 1).await })
        };
        let delete = {
            let (backend, id) = (backend.clone(), id.clone());
            tokio::spawn(async move { backend.delete(&id).await })
        };
        let outcome = update.await.unwrap().unwrap();
        delete.await.unwrap().unwrap();
        assert_ne!(outcome, UpdateOutcome::Conflict, "nobody else wrote");
        assert!(
            backend.load(&id).await.unwrap().is_none(),
            "the deleted session came back ({outcome:?})"
        );
    }
}
