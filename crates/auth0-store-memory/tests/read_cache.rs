//! `ServerSideStateStore`'s read cache over a real backend: it saves opening records, and
//! never changes what a read returns — several app instances share one backend here, as
//! they share Redis or PostgreSQL.

use std::sync::Arc;

use auth0_store_core::Secrets;
use auth0_store_core::model::{StateData, UserClaims};
use auth0_store_core::store::{ServerSideStateStore, StateStore, StoreContext};
use auth0_store_memory::MemoryBackend;

const SECRET: &str = "a-secret-of-at-least-thirty-two-bytes";
const ID: &str = "_a0_session";

fn session(name: &str) -> StateData {
    StateData {
        user: Some(UserClaims {
            sub: "auth0|ada".into(),
            name: Some(name.into()),
            ..UserClaims::default()
        }),
        ..StateData::default()
    }
}

/// Two app instances over one backend.
fn instances() -> (
    ServerSideStateStore<MemoryBackend>,
    ServerSideStateStore<MemoryBackend>,
) {
    let backend = Arc::new(MemoryBackend::new());
    let secrets = Secrets::parse(SECRET).unwrap();
    (
        ServerSideStateStore::from_shared(backend.clone(), &secrets),
        ServerSideStateStore::from_shared(backend, &secrets),
    )
}

/// Logs in on `store`; returns the browser's cookies.
async fn login(store: &impl StateStore, name: &str) -> Vec<(String, String)> {
    let cx = StoreContext::new();
    store.set(ID, &session(name), true, &cx).await.unwrap();
    cx.cookies()
}

async fn read(store: &impl StateStore, cookies: &[(String, String)]) -> Option<StateData> {
    store
        .get(ID, &StoreContext::from_cookies(cookies.to_vec()))
        .await
        .unwrap()
}

fn name(state: Option<StateData>) -> Option<String> {
    state.and_then(|s| s.user).and_then(|u| u.name)
}

#[tokio::test]
async fn a_record_is_opened_once_per_version_and_instance() {
    let (a, b) = instances();
    let cookies = login(&a, "Ada").await;
    // The instance that wrote it knows it already.
    assert_eq!(name(read(&a, &cookies).await).as_deref(), Some("Ada"));
    assert_eq!(a.read_cache_stats().hits, 1);
    assert_eq!(a.read_cache_stats().misses, 0);
    // Another instance opens it once, then reads it from its cache.
    assert_eq!(name(read(&b, &cookies).await).as_deref(), Some("Ada"));
    assert_eq!(name(read(&b, &cookies).await).as_deref(), Some("Ada"));
    let stats = b.read_cache_stats();
    assert_eq!((stats.misses, stats.hits, stats.entries), (1, 1, 1));
}

#[tokio::test]
async fn an_update_on_another_instance_is_seen_at_once() {
    let (a, b) = instances();
    let cookies = login(&a, "Ada").await;
    assert_eq!(name(read(&b, &cookies).await).as_deref(), Some("Ada"));
    // Instance A changes the session (a refreshed token, say).
    let cx = StoreContext::from_cookies(cookies.clone());
    let mut state = a.get(ID, &cx).await.unwrap().unwrap();
    state.user.as_mut().unwrap().name = Some("Ada Lovelace".into());
    a.set(ID, &state, false, &cx).await.unwrap();
    // B held version 1; the backend now has version 2, which B opens.
    assert_eq!(
        name(read(&b, &cookies).await).as_deref(),
        Some("Ada Lovelace")
    );
}

#[tokio::test]
async fn a_session_ended_on_another_instance_is_ended_here() {
    let (a, b) = instances();
    let cookies = login(&a, "Ada").await;
    assert!(read(&b, &cookies).await.is_some());
    a.delete(ID, &StoreContext::from_cookies(cookies.clone()))
        .await
        .unwrap();
    assert!(
        read(&b, &cookies).await.is_none(),
        "B's cached copy must not outlive the record"
    );
    assert!(read(&a, &cookies).await.is_none());
}

#[tokio::test]
async fn a_session_id_under_another_cookie_name_stays_closed() {
    let (a, _) = instances();
    let cookies = login(&a, "Ada").await;
    assert!(read(&a, &cookies).await.is_some(), "now cached under {ID}");
    // The same session id presented under another cookie name: the record is sealed to
    // `{ID}:{id}`, and the cache must not open it either.
    let moved = StoreContext::from_cookies(vec![("other_session", cookies[0].1.clone())]);
    assert!(a.get("other_session", &moved).await.unwrap().is_none());
}

#[tokio::test]
async fn without_the_cache_every_read_opens_the_record() {
    let backend = MemoryBackend::new();
    let store =
        ServerSideStateStore::new(backend, &Secrets::parse(SECRET).unwrap()).with_read_cache(0);
    let cookies = login(&store, "Ada").await;
    for _ in 0..3 {
        assert_eq!(name(read(&store, &cookies).await).as_deref(), Some("Ada"));
    }
    let stats = store.read_cache_stats();
    assert_eq!((stats.hits, stats.entries), (0, 0));
}
