//! Choosing stores from the environment's names, in whatever build the app has: the errors say
//! what to set, a URL's password never reaches a log, and a build without the cookie store
//! still starts with a server-side one. `scripts/test` runs this file in a memory-only build
//! too (`--no-default-features --features memory`).

use auth0_server::ServerClient;
use auth0_server::client::ServerClientBuilder;
use auth0_server::stores::{StoreChoice, StoreChoiceError, TransactionChoice};

fn builder() -> ServerClientBuilder {
    ServerClient::builder()
        .domain("tenant.example.com")
        .client_id("id")
        .client_secret("secret")
        .secret("a-secret-of-at-least-thirty-two-bytes")
        .redirect_uri("http://localhost:5000/callback")
}

#[test]
fn debug_names_the_store_and_never_prints_its_url() {
    for choice in [
        StoreChoice::Redis("redis://:hunter2@cache.internal:6379".into()),
        StoreChoice::Postgres("postgres://app:hunter2@db.internal/app".into()),
    ] {
        let debug = format!("{choice:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains(choice.name()), "{debug}");
    }
}

#[tokio::test]
async fn logins_on_the_server_need_a_server_side_store() {
    let error = StoreChoice::Cookie
        .configure(builder(), TransactionChoice::Server)
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreChoiceError::NoServer("cookie")),
        "{error}"
    );
    assert!(error.to_string().contains("AUTH0_SESSION_STORE"), "{error}");
}

#[cfg(feature = "cookie")]
#[tokio::test]
async fn the_cookie_store_needs_nothing_but_the_client() {
    let builder = StoreChoice::Cookie
        .configure(builder(), TransactionChoice::Cookie)
        .await
        .unwrap();
    assert!(builder.build().is_ok());
}

#[cfg(not(feature = "cookie"))]
#[tokio::test]
async fn a_build_without_the_cookie_store_says_which_variable_to_set() {
    let error = StoreChoice::Cookie
        .configure(builder(), TransactionChoice::Cookie)
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreChoiceError::NotBuilt("cookie")),
        "{error}"
    );
    assert!(error.to_string().contains("AUTH0_SESSION_STORE"), "{error}");
}

#[cfg(feature = "memory")]
#[tokio::test]
async fn the_memory_store_builds_whatever_the_transaction_choice() {
    for transactions in [TransactionChoice::Cookie, TransactionChoice::Server] {
        let builder = StoreChoice::Memory
            .configure(builder(), transactions)
            .await
            .unwrap();
        if let Err(e) = builder.build() {
            panic!("memory sessions, {transactions:?} logins: {e}");
        }
    }
}
