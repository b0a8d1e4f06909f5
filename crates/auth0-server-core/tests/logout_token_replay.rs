//! A back-channel logout token is accepted once: across instances when the store keeps token
//! ids, and again after a failure that ended nothing.

mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use async_trait::async_trait;
use auth0_server_core::client::{BACKCHANNEL_LOGOUT_EVENT, Error, ServerClient};
use auth0_server_core::store::{
    LoadedRecord, LogoutFilter, ServerSideStateStore, SessionBackend, SessionId, SessionRecord,
    StoreContext, StoreError, TokenUse, UpdateOutcome,
};
use auth0_store_memory::{MemoryBackend, MemoryTransactionBackend};
use serde_json::json;
use support::*;

/// A memory backend that keeps logout-token ids in a map shared by every clone (as Redis or
/// PostgreSQL share them between instances), and can be told to fail back-channel logouts.
#[derive(Clone, Default)]
struct KeepingBackend {
    sessions: MemoryBackend,
    tokens: Arc<Mutex<HashMap<String, SystemTime>>>,
    failures: Arc<AtomicUsize>,
}

#[async_trait]
impl SessionBackend for KeepingBackend {
    fn name(&self) -> &'static str {
        "keeping"
    }
    async fn create(&self, id: &SessionId, record: &SessionRecord) -> Result<(), StoreError> {
        self.sessions.create(id, record).await
    }
    async fn load(&self, id: &SessionId) -> Result<Option<LoadedRecord>, StoreError> {
        self.sessions.load(id).await
    }
    async fn update(
        &self,
        id: &SessionId,
        record: &SessionRecord,
        expected_version: u64,
    ) -> Result<UpdateOutcome, StoreError> {
        self.sessions.update(id, record, expected_version).await
    }
    async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
        self.sessions.delete(id).await
    }
    async fn delete_by_logout(&self, filter: &LogoutFilter) -> Result<u64, StoreError> {
        if self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(StoreError::backend(
                "keeping",
                std::io::Error::other("down"),
            ));
        }
        self.sessions.delete_by_logout(filter).await
    }
    async fn record_logout_token(
        &self,
        key: &str,
        expires_at: SystemTime,
    ) -> Result<TokenUse, StoreError> {
        let mut tokens = self.tokens.lock().unwrap();
        let now = SystemTime::now();
        if tokens.get(key).is_some_and(|until| *until > now) {
            return Ok(TokenUse::Replayed);
        }
        tokens.insert(key.to_owned(), expires_at);
        Ok(TokenUse::First)
    }
    async fn forget_logout_token(&self, key: &str) -> Result<(), StoreError> {
        self.tokens.lock().unwrap().remove(key);
        Ok(())
    }
}

/// Another application instance: its own client (so its own process memory), on the same
/// provider and the same backend.
fn instance(h: &Harness, backend: &KeepingBackend) -> ServerClient {
    let secrets = auth0_server_core::Secrets::parse(SECRET).unwrap();
    ServerClient::builder()
        .domain(h.provider.base.clone())
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .secret(SECRET)
        .redirect_uri("http://localhost:5000/callback")
        .state_store(Arc::new(ServerSideStateStore::new(
            backend.clone(),
            &secrets,
        )))
        .transaction_store(Arc::new(
            MemoryTransactionBackend::new().transaction_store(),
        ))
        .build()
        .unwrap()
}

fn logout_token(h: &Harness, jti: &str) -> String {
    let now = now();
    h.key.sign(
        &json!({
            "iss": h.provider.base, "aud": CLIENT_ID, "iat": now, "exp": now + 120,
            "jti": jti, "sub": "auth0|user-1",
            "events": { BACKCHANNEL_LOGOUT_EVENT: {} },
        }),
        &json!({"typ": "logout+jwt"}),
    )
}

#[tokio::test]
async fn a_logout_token_replayed_to_another_instance_is_refused() {
    let h = Harness::start().await;
    let backend = KeepingBackend::default();
    let (a, b) = (instance(&h, &backend), instance(&h, &backend));
    let token = logout_token(&h, "across-1");
    assert_eq!(
        a.handle_backchannel_logout(&token, &StoreContext::new())
            .await
            .unwrap(),
        0
    );
    let err = b
        .handle_backchannel_logout(&token, &StoreContext::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidLogoutToken(reason) if reason.contains("replay")),
        "{err:?}"
    );
    assert_eq!(err.code(), "backchannel_logout_error");
    assert_eq!(backend.tokens.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_logout_token_whose_sessions_could_not_be_ended_may_be_sent_again() {
    let h = Harness::start().await;
    let backend = KeepingBackend::default();
    let client = instance(&h, &backend);
    let token = logout_token(&h, "retry-1");
    backend.failures.store(1, Ordering::SeqCst);
    let err = client
        .handle_backchannel_logout(&token, &StoreContext::new())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "store_backend_error", "{err}");
    assert!(
        backend.tokens.lock().unwrap().is_empty(),
        "the id is forgotten when nothing ended"
    );
    client
        .handle_backchannel_logout(&token, &StoreContext::new())
        .await
        .expect("the provider's retry is accepted");
}
