//! Token Vault and custom token exchange beyond the memory store and the client secret
//! (those are in `token_vault.rs`, `custom_token_exchange.rs`, and the cookie store in core's
//! `token_exchanges.rs`): sessions in Redis and PostgreSQL — a login by custom token
//! exchange, a connection token saved into the session with compare-and-set, served from it
//! by the next request, 32 concurrent calls sharing one exchange and none failing for the
//! compare-and-set of their saves (memory too) — and an application that
//! authenticates with `private_key_jwt`. Each store's server comes from
//! `auth0_test_support::services` (a loud skip without one, a failure under CI).

use auth0_test_support::dev_tenant as support;
use auth0_test_support::services::{self, POSTGRES, REDIS};

use auth0_server_core::client::{ConnectionTokenOptions, CustomTokenExchangeOptions};
use auth0_server_core::store::StoreContext;
use auth0_store_postgres::PostgresBackend;
use auth0_store_redis::RedisBackend;
use support::*;

const LEGACY: &str = "urn:acme:legacy-token";
const GOOGLE: &str = "google-oauth2";
/// How many requests ask for the connection's token at once.
const CONCURRENT_CALLS: usize = 32;

/// The flows against a client whose sessions `backend` keeps.
async fn both_flows(
    backend: impl FnOnce(
        auth0_server_core::client::ServerClientBuilder,
    ) -> auth0_server_core::client::ServerClientBuilder,
) {
    let setup = Setup::start_with(
        |t| t.custom_token_type(LEGACY).federated_connection(GOOGLE),
        |c| backend(c.audience(API)),
    )
    .await;
    let token = setup
        .tenant
        .tenant()
        .issue_subject_token(LEGACY, EMAIL)
        .unwrap();
    let cx = StoreContext::new();
    let options = CustomTokenExchangeOptions::new(token, LEGACY);
    let login = setup
        .client
        .login_with_custom_token_exchange(options, &cx)
        .await
        .unwrap();
    assert_eq!(login.user.sub, setup.tenant.tenant().user_id(EMAIL));
    let cookies = cx.cookies();
    let calls = (0..CONCURRENT_CALLS).map(|_| {
        let client = setup.client.clone();
        let cx = StoreContext::from_cookies(cookies.clone());
        tokio::spawn(async move {
            client
                .get_access_token_for_connection(ConnectionTokenOptions::new(GOOGLE), &cx)
                .await
        })
    });
    let mut tokens = Vec::new();
    for call in calls.collect::<Vec<_>>() {
        match call.await.unwrap() {
            Ok(token) => tokens.push(token),
            Err(e) => panic!("a concurrent call failed: {e:?}"),
        }
    }
    assert!(tokens.iter().all(|t| t == &tokens[0]), "one exchange");
    let next = StoreContext::from_cookies(cookies);
    let session = setup.client.get_session(&next).await.unwrap().unwrap();
    assert_eq!(session.connection_token_sets.len(), 1, "{session:?}");
    assert_eq!(
        session.connection_token_sets[0].access_token,
        tokens[0].token
    );
    assert_eq!(session.user.map(|u| u.sub), Some(login.user.sub));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_exchanges_keep_their_tokens_in_a_memory_session() {
    both_flows(|c| c.session_backend(auth0_store_memory::MemoryBackend::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_exchanges_keep_their_tokens_in_a_redis_session() {
    let Some(server) = services::find(&REDIS).await else {
        return;
    };
    let backend = RedisBackend::from_url(server.url()).await.unwrap();
    both_flows(|c| c.session_backend(backend)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_exchanges_keep_their_tokens_in_a_postgres_session() {
    let Some(server) = services::find(&POSTGRES).await else {
        return;
    };
    let backend = PostgresBackend::connect(server.url()).await.unwrap();
    both_flows(|c| c.session_backend(backend)).await;
}

/// Both exchanges by an application that authenticates with a client assertion
/// (`private_key_jwt`), which the tenant verifies against its public key.
#[tokio::test]
async fn both_exchanges_work_with_private_key_jwt() {
    use josekit::jwk::KeyPair as _;
    let pair = josekit::jws::ES256.generate_key_pair().unwrap();
    let private = String::from_utf8(pair.to_pem_private_key()).unwrap();
    let public = String::from_utf8(pair.to_pem_public_key()).unwrap();
    let setup = Setup::start_with(
        |t| t.client_public_key(public).custom_token_type(LEGACY),
        |c| c.audience(API).client_assertion_signing_key(private),
    )
    .await;
    assert_eq!(
        setup.client.config().client_authentication_method(),
        "private_key_jwt"
    );
    let token = setup
        .tenant
        .tenant()
        .issue_subject_token(LEGACY, EMAIL)
        .unwrap();
    let cx = StoreContext::new();
    let options = CustomTokenExchangeOptions::new(token, LEGACY);
    setup
        .client
        .login_with_custom_token_exchange(options, &cx)
        .await
        .unwrap();
    let next = StoreContext::from_cookies(cx.cookies());
    let options = ConnectionTokenOptions::new(auth0_dev_tenant::DEV_CONNECTION);
    let token = setup
        .client
        .get_access_token_for_connection(options, &next)
        .await
        .unwrap();
    assert!(
        setup
            .tenant
            .tenant()
            .connection_token_owner(&token.token)
            .is_some()
    );
}
