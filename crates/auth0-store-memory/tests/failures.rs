//! A backend that fails: typed errors with their cause, and nothing stored is lost.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use auth0_store_core::Secrets;
use auth0_store_core::model::{StateData, UserClaims};
use auth0_store_core::store::{
    LoadedRecord, LogoutFilter, ServerSideStateStore, SessionBackend, SessionId, SessionRecord,
    StateStore, StoreContext, StoreError, UpdateOutcome,
};
use auth0_store_memory::MemoryBackend;

/// A memory backend whose reads and deletes can be made to fail, as a store that is down.
#[derive(Clone, Default)]
struct Flaky {
    inner: MemoryBackend,
    reads_fail: Arc<AtomicBool>,
    deletes_fail: Arc<AtomicBool>,
}

fn down() -> StoreError {
    StoreError::backend(
        "flaky",
        std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused"),
    )
}

#[async_trait]
impl SessionBackend for Flaky {
    fn name(&self) -> &'static str {
        "flaky"
    }
    async fn create(&self, id: &SessionId, record: &SessionRecord) -> Result<(), StoreError> {
        self.inner.create(id, record).await
    }
    async fn load(&self, id: &SessionId) -> Result<Option<LoadedRecord>, StoreError> {
        if self.reads_fail.load(Ordering::SeqCst) {
            return Err(down());
        }
        self.inner.load(id).await
    }
    async fn update(
        &self,
        id: &SessionId,
        record: &SessionRecord,
        expected: u64,
    ) -> Result<UpdateOutcome, StoreError> {
        self.inner.update(id, record, expected).await
    }
    async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
        if self.deletes_fail.load(Ordering::SeqCst) {
            return Err(down());
        }
        self.inner.delete(id).await
    }
    async fn delete_by_logout(&self, filter: &LogoutFilter) -> Result<u64, StoreError> {
        self.inner.delete_by_logout(filter).await
    }
}

fn state(sub: &str) -> StateData {
    StateData {
        user: Some(UserClaims {
            sub: sub.to_owned(),
            ..UserClaims::default()
        }),
        ..StateData::default()
    }
}

fn store(backend: &Flaky) -> ServerSideStateStore<Flaky> {
    let secrets = Secrets::parse("a-secret-of-at-least-thirty-two-bytes").expect("a valid secret");
    ServerSideStateStore::new(backend.clone(), &secrets)
}

#[tokio::test]
async fn a_store_that_is_down_gives_a_typed_error_with_its_cause() {
    let backend = Flaky::default();
    let store = store(&backend);
    let cx = StoreContext::new();
    store
        .set("_a0_session", &state("auth0|1"), true, &cx)
        .await
        .unwrap();
    let next = StoreContext::from_cookies(cx.cookies());

    backend.reads_fail.store(true, Ordering::SeqCst);
    let err = store.get("_a0_session", &next).await.unwrap_err();
    assert_eq!(err.code(), "store_backend_error");
    assert!(err.to_string().contains("reachable"), "{err}");
    let cause = std::error::Error::source(&err).expect("the cause is kept");
    assert!(cause.to_string().contains("connection refused"));

    backend.reads_fail.store(false, Ordering::SeqCst);
    assert_eq!(
        store.get("_a0_session", &next).await.unwrap(),
        Some(state("auth0|1")),
        "the session survived the outage"
    );
}

#[tokio::test]
async fn login_fails_closed_when_the_old_session_cannot_be_deleted() {
    let backend = Flaky::default();
    let store = store(&backend);
    let first = StoreContext::new();
    store
        .set("_a0_session", &state("auth0|old"), true, &first)
        .await
        .unwrap();
    let old_cookie = first.cookie(&store.id_cookie_name("_a0_session")).unwrap();

    backend.deletes_fail.store(true, Ordering::SeqCst);
    let login = StoreContext::from_cookies(first.cookies());
    let err = store
        .set("_a0_session", &state("auth0|new"), true, &login)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "store_backend_error");
    assert_eq!(
        login
            .cookie(&store.id_cookie_name("_a0_session"))
            .as_deref(),
        Some(old_cookie.as_str()),
        "no new session cookie is handed out when rotation failed"
    );
    backend.deletes_fail.store(false, Ordering::SeqCst);
    assert_eq!(
        backend.inner.len(),
        2,
        "the new record is left only if its delete failed too"
    );
}

#[tokio::test]
async fn an_identifier_that_is_not_a_cookie_name_is_refused() {
    let store = store(&Flaky::default());
    let err = store
        .set("bad name;", &state("x"), true, &StoreContext::new())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "store_invalid_identifier");
}
