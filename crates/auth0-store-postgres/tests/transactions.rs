//! The transaction store: sealed at rest (the PKCE verifier is never in the table in clear),
//! bound to its key, expiring by the database's clock, and refusing nothing with an error
//! that a forged callback could trigger.

mod support;

use std::time::Duration;

use auth0_server_core::Secrets;
use auth0_server_core::model::TransactionData;
use auth0_server_core::store::{StoreContext, TransactionStore};
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

async fn raw(backend: &PostgresBackend, key: &str) -> Vec<u8> {
    sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT data FROM \"{}\".auth0_transactions WHERE key = $1",
        backend.schema()
    )))
    .bind(key)
    .fetch_one(backend.pool())
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_is_sealed_at_rest() {
    let Some(backend) = support::backend().await else {
        return;
    };
    let store = backend.transaction_store(&support::secrets());
    let cx = StoreContext::new();
    store.set("_a0_tx:s1", &transaction(), &cx).await.unwrap();
    let stored = raw(&backend, "_a0_tx:s1").await;
    let text = String::from_utf8_lossy(&stored);
    assert!(
        !text.contains(VERIFIER),
        "the PKCE verifier is stored in clear"
    );
    assert!(
        !text.contains("nonce-in-the-clear"),
        "the nonce is stored in clear"
    );
    assert_eq!(stored[0], auth0_server_core::seal::RECORD_VERSION);
    assert_eq!(
        store.get("_a0_tx:s1", &cx).await.unwrap(),
        Some(transaction())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_moved_to_another_key_or_read_with_another_secret_is_absent() {
    let Some(backend) = support::backend().await else {
        return;
    };
    let store = backend.transaction_store(&support::secrets());
    let cx = StoreContext::new();
    store.set("_a0_tx:s1", &transaction(), &cx).await.unwrap();
    store
        .set("_a0_tx:s2", &TransactionData::default(), &cx)
        .await
        .unwrap();
    // Someone with write access copies s1's sealed row under s2.
    sqlx::query(AssertSqlSafe(format!(
        "UPDATE \"{0}\".auth0_transactions SET data = (SELECT data FROM \"{0}\".auth0_transactions \
         WHERE key = '_a0_tx:s1') WHERE key = '_a0_tx:s2'",
        backend.schema()
    )))
    .execute(backend.pool())
    .await
    .unwrap();
    assert_eq!(store.get("_a0_tx:s2", &cx).await.unwrap(), None);

    let other = backend.transaction_store(
        &Secrets::parse("another-secret-that-is-long-enough-0123456789").unwrap(),
    );
    assert_eq!(other.get("_a0_tx:s1", &cx).await.unwrap(), None);
    // Rotation: the new secret first, the old one still opens.
    let rotated = backend.transaction_store(
        &Secrets::new([
            "another-secret-that-is-long-enough-0123456789",
            support::SECRET,
        ])
        .unwrap(),
    );
    assert_eq!(
        rotated.get("_a0_tx:s1", &cx).await.unwrap(),
        Some(transaction())
    );
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
    let err = store.set(&long, &transaction(), &cx).await.unwrap_err();
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
