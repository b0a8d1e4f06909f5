//! Core's server-side transaction store, over the memory backend: what every backend gets
//! from it (binding to the browser, sealing, limits, one use), tested once here.

use std::sync::Arc;
use std::time::Duration;

use auth0_server_core::Secrets;
use auth0_server_core::clock::ManualClock;
use auth0_server_core::model::TransactionData;
use auth0_server_core::store::{
    CookieOptions, ServerSideTransactionStore, StoreContext, TransactionBackend, TransactionStore,
};
use auth0_store_memory::MemoryTransactionBackend;

const SECRET: &str = "a-secret-of-at-least-thirty-two-bytes";
const KEY: &str = "_a0_tx:state-1";

fn transaction(verifier: &str) -> TransactionData {
    TransactionData {
        code_verifier: Some(verifier.to_owned()),
        nonce: Some("nonce".to_owned()),
        ..TransactionData::default()
    }
}

fn store(
    backend: &MemoryTransactionBackend,
    secrets: &str,
) -> ServerSideTransactionStore<MemoryTransactionBackend> {
    ServerSideTransactionStore::new(backend.clone(), &Secrets::parse(secrets).unwrap())
}

/// What the browser sends back after `cx`'s response.
fn next_request(cx: &StoreContext) -> StoreContext {
    StoreContext::from_cookies(cx.cookies())
}

#[tokio::test]
async fn the_binding_cookie_is_httponly_host_prefixed_and_lives_as_long_as_the_login() {
    let backend = MemoryTransactionBackend::new();
    let store = store(&backend, SECRET).with_ttl(Duration::from_secs(600));
    let cx = StoreContext::new();
    store.set(KEY, &transaction("v"), &cx).await.unwrap();
    let changes = cx.take_changes();
    assert_eq!(changes.len(), 1);
    let header = changes[0].to_header_value();
    assert!(
        header.starts_with("__Host-_a0_tx_state-1="),
        "the cookie name: {header}"
    );
    assert!(
        header.contains("Max-Age=600")
            && header.contains("HttpOnly")
            && header.contains("Secure")
            && header.contains("SameSite=Lax")
            && header.contains("Path=/"),
        "{header}"
    );
    assert_eq!(backend.len(), 1);
}

#[tokio::test]
async fn a_record_copied_under_another_login_or_opened_with_another_secret_is_absent() {
    let backend = MemoryTransactionBackend::new();
    let store = store(&backend, SECRET);
    let cx = StoreContext::new();
    store.set(KEY, &transaction("first"), &cx).await.unwrap();
    store
        .set("_a0_tx:state-2", &transaction("second"), &cx)
        .await
        .unwrap();
    let browser = next_request(&cx);

    // Someone with write access to the backend copies one login's record over the other's:
    // each record is sealed to its own key, so neither opens where it does not belong.
    let keys = backend_keys(&backend, &browser).await;
    let first = backend.get(&keys[0]).await.unwrap().unwrap();
    backend
        .put(&keys[1], &first, Duration::from_secs(60))
        .await
        .unwrap();
    let read: Vec<Option<TransactionData>> = vec![
        store.get(KEY, &browser).await.unwrap(),
        store.get("_a0_tx:state-2", &browser).await.unwrap(),
    ];
    assert_eq!(
        read.iter().filter(|t| t.is_some()).count(),
        1,
        "a record moved under another login opened: {read:?}"
    );

    let other = self::store(&backend, "another-secret-that-is-long-enough-0123");
    let first_key = read
        .iter()
        .position(Option::is_some)
        .map(|i| [KEY, "_a0_tx:state-2"][i])
        .unwrap();
    assert_eq!(other.get(first_key, &browser).await.unwrap(), None);
    let rotated = self::store(
        &backend,
        &format!("another-secret-that-is-long-enough-0123,{SECRET}"),
    );
    assert!(
        rotated.get(first_key, &browser).await.unwrap().is_some(),
        "an older secret still opens during rotation"
    );
}

/// The backend keys of the browser's two logins, in the order they were made.
async fn backend_keys(backend: &MemoryTransactionBackend, browser: &StoreContext) -> Vec<String> {
    // The memory backend does not list its keys; take each login (which removes its
    // record), note which key vanished, and put the bytes back.
    let mut keys = Vec::new();
    for key in [KEY, "_a0_tx:state-2"] {
        let spy = Spy::new(backend.clone());
        let spying = ServerSideTransactionStore::new(spy.clone(), &Secrets::parse(SECRET).unwrap());
        let cx = next_request(browser);
        let taken = spying.take(key, &cx).await.unwrap();
        assert!(taken.is_some());
        let (k, bytes) = spy.last_taken();
        backend
            .put(&k, &bytes, Duration::from_secs(60))
            .await
            .unwrap();
        keys.push(k);
    }
    keys
}

/// A key taken and what it held.
type Taken = (String, Vec<u8>);

/// A backend that remembers the last key taken and what it held.
#[derive(Clone)]
struct Spy {
    inner: MemoryTransactionBackend,
    last: Arc<std::sync::Mutex<Option<Taken>>>,
    calls: Arc<std::sync::atomic::AtomicUsize>,
}

impl Spy {
    fn new(inner: MemoryTransactionBackend) -> Self {
        Self {
            inner,
            last: Arc::default(),
            calls: Arc::default(),
        }
    }
    fn calls(&self) -> usize {
        self.calls.load(std::sync::atomic::Ordering::SeqCst)
    }
    fn count(&self) {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
    fn last_taken(&self) -> (String, Vec<u8>) {
        self.last.lock().unwrap().clone().unwrap()
    }
}

#[async_trait::async_trait]
impl TransactionBackend for Spy {
    fn name(&self) -> &'static str {
        "spy"
    }
    async fn put(
        &self,
        key: &str,
        sealed: &[u8],
        ttl: Duration,
    ) -> Result<(), auth0_server_core::store::StoreError> {
        self.count();
        self.inner.put(key, sealed, ttl).await
    }
    async fn get(
        &self,
        key: &str,
    ) -> Result<Option<Vec<u8>>, auth0_server_core::store::StoreError> {
        self.count();
        self.inner.get(key).await
    }
    async fn take(
        &self,
        key: &str,
    ) -> Result<Option<Vec<u8>>, auth0_server_core::store::StoreError> {
        self.count();
        let taken = self.inner.take(key).await?;
        if let Some(bytes) = &taken {
            *self.last.lock().unwrap() = Some((key.to_owned(), bytes.clone()));
        }
        Ok(taken)
    }
}

#[tokio::test]
async fn an_oversized_transaction_is_refused_and_nothing_is_stored() {
    let backend = MemoryTransactionBackend::new();
    let store = store(&backend, SECRET).with_max_size(1024);
    let mut big = transaction("v");
    big.app_state = Some(serde_json::json!({ "blob": "x".repeat(2048) }));
    let cx = StoreContext::new();
    let err = store.set(KEY, &big, &cx).await.unwrap_err();
    assert_eq!(err.code(), "store_too_large");
    assert!(backend.is_empty());
    assert!(cx.changes().is_empty(), "no cookie for a login not stored");
}

#[tokio::test]
async fn a_login_expires_after_its_lifetime() {
    let clock = ManualClock::starting_now();
    let backend = MemoryTransactionBackend::new().with_clock(Arc::new(clock.clone()));
    let store = store(&backend, SECRET)
        .with_clock(Arc::new(clock.clone()))
        .with_ttl(Duration::from_secs(300));
    let cx = StoreContext::new();
    store.set(KEY, &transaction("v"), &cx).await.unwrap();
    clock.advance(Duration::from_secs(299));
    assert!(store.get(KEY, &next_request(&cx)).await.unwrap().is_some());
    clock.advance(Duration::from_secs(2));
    assert!(store.get(KEY, &next_request(&cx)).await.unwrap().is_none());
}

#[tokio::test]
async fn a_successful_login_clears_the_browsers_other_logins() {
    let backend = MemoryTransactionBackend::new();
    let store = store(&backend, SECRET).with_cookie_options(CookieOptions {
        secure: false,
        ..CookieOptions::default()
    });
    let cx = StoreContext::new();
    for state in ["a", "b", "c"] {
        store
            .set(&format!("_a0_tx:{state}"), &transaction(state), &cx)
            .await
            .unwrap();
    }
    // Another browser's login is not this browser's to clear.
    let other = StoreContext::new();
    store.set(KEY, &transaction("other"), &other).await.unwrap();

    let cx = next_request(&cx);
    assert!(store.take("_a0_tx:b", &cx).await.unwrap().is_some());
    store.clear("_a0_tx", &cx).await.unwrap();
    let removed: Vec<String> = cx
        .changes()
        .iter()
        .filter(|c| c.is_removal())
        .map(|c| c.name.clone())
        .collect();
    assert_eq!(removed.len(), 3, "{removed:?}");
    let after = next_request(&cx);
    for state in ["a", "c"] {
        let key = format!("_a0_tx:{state}");
        assert!(store.get(&key, &after).await.unwrap().is_none(), "{key}");
    }
    assert!(
        store
            .get(KEY, &next_request(&other))
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn forged_login_cookies_cost_no_backend_calls() {
    let spy = Spy::new(MemoryTransactionBackend::new());
    let store = ServerSideTransactionStore::new(spy.clone(), &Secrets::parse(SECRET).unwrap());
    // An anonymous /login carrying 32 forged login cookies (the most the web layer keeps).
    let forged: Vec<(String, String)> = (0..32)
        .map(|i| (format!("__Host-_a0_tx_forged{i}"), format!("0.x{i}")))
        .collect();
    let cx = StoreContext::from_cookies(forged);
    store.set(KEY, &transaction("v"), &cx).await.unwrap();
    store.clear("_a0_tx", &cx).await.unwrap();
    assert_eq!(spy.calls(), 1, "one put, and nothing per forged cookie");
    let dropped = cx.changes().iter().filter(|c| c.is_removal()).count();
    assert!(dropped >= 28, "the forged cookies are dropped: {dropped}");
}

#[tokio::test]
async fn forged_states_and_planted_binding_cookies_read_as_absent() {
    let backend = MemoryTransactionBackend::new();
    let store = store(&backend, SECRET);
    let cx = StoreContext::new();
    store.set(KEY, &transaction("v"), &cx).await.unwrap();
    for key in [
        "_a0_tx:",
        "_a0_tx:a;b",
        "_a0_tx:é",
        "no-colon",
        "_a0_tx:../x",
    ] {
        assert_eq!(store.get(key, &cx).await.unwrap(), None, "{key:?}");
        store.delete(key, &cx).await.unwrap();
    }
    // A binding cookie planted with a guessed value finds nothing.
    let planted = StoreContext::from_cookies([("__Host-_a0_tx_state-1", "0.guess")]);
    assert_eq!(store.take(KEY, &planted).await.unwrap(), None);
    assert_eq!(backend.len(), 1, "the real login is untouched");
    assert!(
        store
            .set("_a0_tx:a;b", &transaction("v"), &cx)
            .await
            .is_err()
    );
}
