//! The PostgreSQL transaction store: sealed at rest (the PKCE verifier is never in the table
//! in clear), under keys that need the starting browser's cookie, taken once, expiring by the
//! database's clock, and refusing nothing with an error that a forged callback could trigger.
//! (Sealing, binding and bounds are core's, tested there for every backend.)

mod support;

use std::time::Duration;

use auth0_store_core::model::TransactionData;
use auth0_store_core::store::{StoreContext, TransactionBackend, TransactionStore};
use auth0_store_postgres::sqlx::{self, AssertSqlSafe};
use auth0_store_postgres::{MAX_TRANSACTION_KEY_LEN, PostgresBackend};

const VERIFIER: &str = "pkce-verifier-that-must-never-be-stored-in-clear-0123456789";

fn transaction() -> TransactionData {
    TransactionData {
        code_verifier: Some(VERIFIER.to_owned()),
        nonce: Some("nonce-in-the-clear-would-be-bad".to_owned()),
        redirect_uri: Some("https://app.example.com/callback".to_owned()),
        ..TransactionData::default()
    }
}

/// Every row of the transactions table: (key, data).
async fn rows(backend: &PostgresBackend) -> Vec<(String, Vec<u8>)> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT key, data FROM \"{}\".auth0_transactions",
        backend.schema()
    )))
    .fetch_all(backend.pool())
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_is_sealed_at_rest_under_a_key_that_names_neither_state_nor_browser() {
    let Some(backend) = support::backend().await else {
        return;
    };
    let store = backend.transaction_store(&support::secrets());
    let cx = StoreContext::new();
    store.set("_a0_tx:s1", &transaction(), &cx).await.unwrap();
    let rows = rows(&backend).await;
    assert_eq!(rows.len(), 1);
    let (key, stored) = &rows[0];
    assert!(!key.contains("s1"), "the state is in the key: {key}");
    let text = String::from_utf8_lossy(stored);
    assert!(
        !text.contains(VERIFIER),
        "the PKCE verifier is stored in clear"
    );
    assert!(
        !text.contains("nonce-in-the-clear"),
        "the nonce is stored in clear"
    );
    assert_eq!(stored[0], auth0_store_core::seal::RECORD_VERSION);
    assert_eq!(
        store.get("_a0_tx:s1", &cx).await.unwrap(),
        Some(transaction())
    );
    assert_eq!(
        store.get("_a0_tx:s1", &StoreContext::new()).await.unwrap(),
        None,
        "another browser read the transaction"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_is_taken_once() {
    let Some(backend) = support::backend().await else {
        return;
    };
    let store = backend.transaction_store(&support::secrets());
    let cx = StoreContext::new();
    store.set("_a0_tx:s1", &transaction(), &cx).await.unwrap();
    let callback = StoreContext::from_cookies(cx.cookies());
    let again = StoreContext::from_cookies(cx.cookies());
    let (first, second) = tokio::join!(
        store.take("_a0_tx:s1", &callback),
        store.take("_a0_tx:s1", &again)
    );
    let taken = [first.unwrap(), second.unwrap()];
    assert_eq!(
        taken.iter().filter(|t| t.is_some()).count(),
        1,
        "two concurrent callbacks both got the transaction"
    );
    assert!(rows(&backend).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_expires_after_its_lifetime() {
    let Some(backend) = support::backend().await else {
        return;
    };
    let store = backend
        .transaction_store(&support::secrets())
        .with_ttl(Duration::from_secs(1));
    let cx = StoreContext::new();
    store
        .set("_a0_tx:short", &transaction(), &cx)
        .await
        .unwrap();
    assert!(store.get("_a0_tx:short", &cx).await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert!(store.get("_a0_tx:short", &cx).await.unwrap().is_none());
    assert_eq!(backend.delete_expired_transactions().await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_key_reads_as_absent_without_an_error() {
    let Some(backend) = support::backend().await else {
        return;
    };
    let store = backend.transaction_store(&support::secrets());
    let cx = StoreContext::new();
    let long = format!("_a0_tx:{}", "x".repeat(MAX_TRANSACTION_KEY_LEN));
    for key in [
        long.as_str(),
        "_a0_tx:nul\0byte",
        "_a0_tx:'; DROP TABLE x; --",
    ] {
        assert_eq!(store.get(key, &cx).await.unwrap(), None, "{key:?}");
        store.delete(key, &cx).await.unwrap();
    }
    // The backend itself, called with keys core never makes.
    let raw = backend.transaction_backend();
    for key in [long.as_str(), "nul\0byte"] {
        assert_eq!(raw.get(key).await.unwrap(), None, "{key:?}");
        assert_eq!(raw.take(key).await.unwrap(), None, "{key:?}");
    }
    let err = raw
        .put(&long, b"x", Duration::from_secs(60))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "store_backend_error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_transaction_is_refused() {
    let Some(backend) = support::backend().await else {
        return;
    };
    let store = backend
        .transaction_store(&support::secrets())
        .with_max_size(1024);
    let mut big = transaction();
    big.app_state = Some(serde_json::json!({ "blob": "x".repeat(2048) }));
    let err = store
        .set("_a0_tx:big", &big, &StoreContext::new())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "store_too_large");
}
