//! Expired rows: invisible at once, deleted in batches by `delete_expired` and by the
//! cleanup task, which stops cleanly.

mod support;

use std::time::{Duration, Instant};

use auth0_store_core::store::{SessionBackend, SessionId, StoreContext, TransactionStore};
use auth0_store_postgres::PostgresBackend;
use auth0_store_postgres::sqlx::{self, AssertSqlSafe};

/// Expired sessions the big cleanup test starts with.
const EXPIRED: i64 = 10_000;
/// Rows per cleanup statement in these tests.
const BATCH: u32 = 1000;
/// How often the task runs in these tests.
const EVERY: Duration = Duration::from_millis(100);

/// Inserts `n` sessions that expired an hour ago (by the database's clock).
async fn insert_expired(backend: &PostgresBackend, n: i64) {
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO \"{}\".auth0_sessions (id, data, sid, sub, domain, expires_at) \
         SELECT 'expired-' || g || '-' || md5(random()::text), '\\x00'::bytea, 'sid-' || g, 'user', \
                'tenant.example', now() - INTERVAL '1 hour' \
         FROM generate_series(1, $1) g",
        backend.schema()
    )))
    .bind(n)
    .execute(backend.pool())
    .await
    .unwrap();
}

async fn count(backend: &PostgresBackend, table: &str) -> i64 {
    sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT count(*) FROM \"{}\".{table}",
        backend.schema()
    )))
    .fetch_one(backend.pool())
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_expired_rows_are_deleted_in_batches_by_the_cleanup_task() {
    let Some(backend) = support::backend_with(4).await else {
        return;
    };
    let backend = backend.clone().with_cleanup_batch_size(BATCH);
    insert_expired(&backend, EXPIRED).await;
    let mut live = Vec::new();
    for i in 0..5 {
        let id = SessionId::generate();
        backend
            .create(
                &id,
                &support::record(
                    &format!("user-{i}"),
                    "sid",
                    "tenant.example",
                    Duration::from_secs(3600),
                ),
            )
            .await
            .unwrap();
        live.push(id);
    }
    let transactions = backend
        .transaction_store(&support::secrets())
        .with_ttl(Duration::ZERO);
    transactions
        .set(
            "_a0_tx:abandoned",
            &Default::default(),
            &StoreContext::new(),
        )
        .await
        .unwrap();

    let started = Instant::now();
    let task = backend.spawn_cleanup(EVERY);
    while task.stats().sessions_deleted < EXPIRED as u64 || task.stats().transactions_deleted < 1 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the cleanup task has not deleted everything after a minute: {:?}",
            task.stats()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = started.elapsed();
    let stats = task.stats();
    task.shutdown().await;

    assert_eq!(stats.sessions_deleted, EXPIRED as u64);
    assert_eq!(stats.transactions_deleted, 1);
    assert!(
        stats.batches >= (EXPIRED as u64).div_ceil(u64::from(BATCH)),
        "{EXPIRED} rows in batches of {BATCH} took only {} batches",
        stats.batches
    );
    assert!(stats.batches > 1);
    assert_eq!(stats.errors, 0);
    assert_eq!(
        count(&backend, "auth0_sessions").await,
        5,
        "live sessions were deleted"
    );
    assert_eq!(count(&backend, "auth0_transactions").await, 0);
    for id in &live {
        assert!(backend.load(id).await.unwrap().is_some());
    }
    eprintln!(
        "cleanup: {EXPIRED} expired sessions in {} batches, {took:?}",
        stats.batches
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_expired_empties_the_table_of_expired_rows_only() {
    let Some(backend) = support::backend().await else {
        return;
    };
    let backend = backend.clone().with_cleanup_batch_size(7);
    insert_expired(&backend, 50).await;
    let id = SessionId::generate();
    backend
        .create(
            &id,
            &support::record("ada", "sid", "tenant.example", Duration::from_secs(60)),
        )
        .await
        .unwrap();
    assert_eq!(backend.delete_expired().await.unwrap(), 50);
    assert_eq!(backend.delete_expired().await.unwrap(), 0);
    assert_eq!(count(&backend, "auth0_sessions").await, 1);
    assert!(backend.load(&id).await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_the_task_and_waits_for_it() {
    let Some(backend) = support::backend().await else {
        return;
    };
    let task = backend.spawn_cleanup(EVERY);
    tokio::time::sleep(EVERY * 2).await;
    assert!(task.stats().passes >= 1, "{:?}", task.stats());
    let stopping = Instant::now();
    task.shutdown().await;
    assert!(stopping.elapsed() < Duration::from_secs(2));

    insert_expired(&backend, 10).await;
    tokio::time::sleep(EVERY * 4).await;
    assert_eq!(
        count(&backend, "auth0_sessions").await,
        10,
        "a stopped task still deletes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_handle_stops_the_task() {
    let Some(backend) = support::backend().await else {
        return;
    };
    let task = backend.spawn_cleanup(EVERY);
    tokio::time::sleep(EVERY).await;
    drop(task);
    tokio::time::sleep(EVERY).await;

    insert_expired(&backend, 10).await;
    tokio::time::sleep(EVERY * 4).await;
    assert_eq!(
        count(&backend, "auth0_sessions").await,
        10,
        "the task outlived its handle"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_row_is_invisible_before_any_cleanup_and_does_not_block_its_id() {
    let Some(backend) = support::backend().await else {
        return;
    };
    let id = SessionId::generate();
    let short = support::record("ada", "sid-1", "tenant.example", Duration::from_secs(1));
    backend.create(&id, &short).await.unwrap();
    assert!(backend.load(&id).await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(1200)).await;

    assert!(
        backend.load(&id).await.unwrap().is_none(),
        "an expired row was loaded"
    );
    assert_eq!(
        backend.update(&id, &short, 1).await.unwrap(),
        auth0_store_core::store::UpdateOutcome::Missing,
        "an expired row was updated"
    );
    // The expired row is still there (nothing cleaned up), yet the id can be used again.
    assert_eq!(count(&backend, "auth0_sessions").await, 1);
    let fresh = support::record("bob", "sid-2", "tenant.example", Duration::from_secs(60));
    backend.create(&id, &fresh).await.unwrap();
    let loaded = backend.load(&id).await.unwrap().unwrap();
    assert_eq!(loaded.version, 1);
    assert_eq!(loaded.record.sub.as_deref(), Some("bob"));
    assert!(matches!(
        backend.create(&id, &fresh).await,
        Err(auth0_store_core::store::StoreError::Conflict)
    ));
}
