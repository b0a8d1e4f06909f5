//! The client's API for a user's sessions: for the request's user and for an operator by
//! `sub`, on a server-side store; the cookie store says why it cannot. (Over HTTP, with
//! logins through the dev tenant on every store: examples/quickstart/tests/sessions.rs.)

mod support;

use auth0_server_core::Secrets;
use auth0_server_core::client::{Error, ServerClient};
use auth0_server_core::model::{StateData, UserClaims};
use auth0_server_core::store::{
    RevokeSessions, ServerSideStateStore, SessionMetadata, StateStore, StoreContext, StoreError,
};
use std::sync::Arc;

use auth0_store_cookie::CookieStateStore;
use auth0_store_memory::{MemoryBackend, MemoryTransactionBackend};
use support::{SECRET, now};

const DOMAIN: &str = "tenant.sessions.example";

fn client(backend: Option<MemoryBackend>) -> ServerClient {
    let builder = ServerClient::builder()
        .domain(DOMAIN)
        .client_id("client")
        .client_secret("client-secret")
        .secret(SECRET)
        .redirect_uri("https://app.example.com/callback")
        .transaction_backend(MemoryTransactionBackend::new());
    match backend {
        Some(backend) => builder.session_backend(backend).build().unwrap(),
        None => {
            let cookies = CookieStateStore::new(Secrets::parse(SECRET).unwrap());
            builder.state_store(Arc::new(cookies)).build().unwrap()
        }
    }
}

/// A login of `sub` straight into the backend; the browser's cookies.
async fn login(backend: &MemoryBackend, sub: &str) -> Vec<(String, String)> {
    let store = ServerSideStateStore::new(backend.clone(), &Secrets::parse(SECRET).unwrap());
    let mut state = StateData {
        user: Some(UserClaims {
            sub: sub.into(),
            ..UserClaims::default()
        }),
        domain: Some(DOMAIN.into()),
        ..StateData::default()
    };
    state.internal.sid = format!("sid-{}", backend.len());
    state.internal.created_at = now();
    let cx = StoreContext::new();
    store.set("_a0_session", &state, true, &cx).await.unwrap();
    cx.cookies()
}

#[tokio::test]
async fn the_user_lists_and_revokes_their_own_sessions_only() {
    let backend = MemoryBackend::new();
    let client = client(Some(backend.clone()));
    let ada = [
        login(&backend, "auth0|ada").await,
        login(&backend, "auth0|ada").await,
    ];
    let bob = login(&backend, "auth0|bob").await;
    let cx = StoreContext::from_cookies(ada[0].clone());
    let mine = client.list_my_sessions(&cx).await.unwrap();
    assert_eq!(mine.len(), 2);
    assert_eq!(mine.iter().filter(|s| s.current).count(), 1);

    let meta = SessionMetadata::new().with("user_agent", "Firefox/140");
    client.set_session_metadata(&meta, &cx).await.unwrap();
    let mine = client.list_my_sessions(&cx).await.unwrap();
    let current = mine.iter().find(|s| s.current).unwrap();
    assert_eq!(current.metadata.get("user_agent"), Some("Firefox/140"));

    let bob_cx = StoreContext::from_cookies(bob.clone());
    let bobs = client.list_my_sessions(&bob_cx).await.unwrap();
    let attacks = [
        bobs[0].handle.to_string(),
        "A".repeat(22),
        "A".repeat(100_000),
    ];
    for handle in &attacks {
        let err = client.revoke_my_session(handle, &cx).await.unwrap_err();
        assert!(
            matches!(err, Error::SessionNotFound | Error::InvalidArgument(_)),
            "{err:?}"
        );
    }
    assert!(
        client.get_user(&bob_cx).await.unwrap().is_some(),
        "bob is untouched"
    );

    assert_eq!(client.revoke_my_other_sessions(&cx).await.unwrap(), 1);
    let other = StoreContext::from_cookies(ada[1].clone());
    assert!(
        client.get_user(&other).await.unwrap().is_none(),
        "ada's other session ended"
    );
    assert!(
        client.get_user(&cx).await.unwrap().is_some(),
        "the asking session stays"
    );
}

#[tokio::test]
async fn an_operator_lists_and_revokes_by_sub() {
    let backend = MemoryBackend::new();
    let client = client(Some(backend.clone()));
    let ada = login(&backend, "auth0|ada").await;
    login(&backend, "auth0|ada").await;
    let bob = login(&backend, "auth0|bob").await;
    assert_eq!(
        client.list_user_sessions("auth0|ada").await.unwrap().len(),
        2
    );
    let first = client.list_user_sessions("auth0|ada").await.unwrap()[0]
        .handle
        .clone();
    let ended = client
        .revoke_user_sessions("auth0|ada", RevokeSessions::One(first))
        .await
        .unwrap();
    assert_eq!(ended, 1);
    assert_eq!(
        client
            .revoke_user_sessions("auth0|ada", RevokeSessions::All)
            .await
            .unwrap(),
        1
    );
    let ada_cx = StoreContext::from_cookies(ada);
    assert!(client.get_user(&ada_cx).await.unwrap().is_none());
    let bob_cx = StoreContext::from_cookies(bob);
    assert!(client.get_user(&bob_cx).await.unwrap().is_some());
}

#[tokio::test]
async fn the_cookie_store_says_why_it_cannot_list_sessions() {
    let client = client(None);
    let err = client.list_user_sessions("auth0|ada").await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Store(StoreError::Unsupported {
                store: "cookie",
                ..
            })
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("lives sealed in its own browser"),
        "{err}"
    );
}

#[tokio::test]
async fn session_metadata_is_not_kept_on_the_cookie_store() {
    let client = client(None);
    let cookies = CookieStateStore::new(Secrets::parse(SECRET).unwrap());
    let state = StateData {
        user: Some(UserClaims {
            sub: "auth0|ada".into(),
            ..UserClaims::default()
        }),
        domain: Some(DOMAIN.into()),
        ..StateData::default()
    };
    let login = StoreContext::new();
    cookies
        .set("_a0_session", &state, true, &login)
        .await
        .unwrap();
    let cx = StoreContext::from_cookies(login.cookies());
    let meta = SessionMetadata::new().with("user_agent", "Firefox/140");
    client.set_session_metadata(&meta, &cx).await.unwrap();
    let read = cookies.get("_a0_session", &cx).await.unwrap().unwrap();
    assert!(
        !read.internal.extra.contains_key("session_metadata"),
        "the cookie store must not grow every cookie with metadata it never lists"
    );
    let none = StoreContext::new();
    let err = client.set_session_metadata(&meta, &none).await.unwrap_err();
    assert!(matches!(err, Error::MissingSession), "{err:?}");
}
