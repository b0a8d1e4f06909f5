//! `private_key_jwt` end to end against the real `oidc-provider` (see `oidc_provider.rs` for
//! how it is started): a client registered with its public key and no secret logs in and
//! refreshes with client assertions signed RS256, PS256 and ES256 (at the PAR endpoint too),
//! and a client signing with another key is refused with a typed error.
//!
//! The keys are made by each test (josekit), so none is committed.

use auth0_test_support::oidc;

use std::sync::Arc;

use auth0_server_core::Secrets;
use auth0_server_core::client::{
    AccessTokenOptions, Error, RefreshTokenOptions, ServerClient, ServerClientBuilder,
    StartLoginOptions,
};
use auth0_server_core::store::{ServerSideStateStore, StoreContext};
use auth0_store_memory::{MemoryBackend, MemoryTransactionBackend};
use josekit::jwk::{Jwk, KeyPair as _};
use josekit::jws::{ES256, RS256};
use serde_json::Value;
use url::Url;

use oidc::{Browser, LOGIN, Provider};

/// The secret sessions are sealed with.
const SECRET: &str = "a-secret-of-at-least-thirty-two-bytes-for-e2e";

/// A private key as the app is given it, and its public JWK as the provider registers it.
struct TestKey {
    private: String,
    public: Jwk,
}

/// An RSA key (its JWKs name no algorithm: it fits RS256 and PS256); the private key as a
/// PKCS#8 PEM, or a PKCS#1 one when `traditional`.
fn rsa_key(traditional: bool) -> TestKey {
    let mut pair = RS256.generate_key_pair(2048).unwrap();
    pair.set_algorithm(None);
    let pem = if traditional {
        pair.to_traditional_pem_private_key()
    } else {
        pair.to_pem_private_key()
    };
    TestKey {
        private: String::from_utf8(pem).unwrap(),
        public: pair.to_jwk_public_key(),
    }
}

/// An EC P-256 key, the private key as a JWK with a `kid`.
fn ec_key() -> TestKey {
    let pair = ES256.generate_key_pair().unwrap();
    let mut private = pair.to_jwk_private_key();
    private.set_key_id("ec-key-1");
    let mut public = pair.to_jwk_public_key();
    public.set_key_id("ec-key-1");
    TestKey {
        private: private.to_string(),
        public,
    }
}

/// An app registered at the provider with `registered`'s public key, signing with `signing`'s
/// private key (and `alg`, when given), with no client secret.
async fn app(
    provider: &Provider,
    name: &str,
    registered: &TestKey,
    signing: &TestKey,
    alg: &str,
    configure: impl FnOnce(ServerClientBuilder) -> ServerClientBuilder,
) -> (ServerClient, String) {
    let base = Url::parse("http://127.0.0.1:9/").unwrap();
    let public = Value::Object(registered.public.as_ref().clone());
    let client_id = provider
        .register_private_key_jwt(&base, name, &public, alg)
        .await;
    let secrets = Secrets::parse(SECRET).unwrap();
    let builder = ServerClient::builder()
        .domain(provider.issuer.clone())
        .client_id(client_id.clone())
        .client_assertion_signing_key(signing.private.clone())
        .secret(SECRET)
        .redirect_uri(base.join("callback").unwrap().to_string())
        .state_store(Arc::new(ServerSideStateStore::new(
            MemoryBackend::new(),
            &secrets,
        )))
        .transaction_store(Arc::new(
            MemoryTransactionBackend::new().transaction_store(),
        ));
    let client = configure(builder).build().unwrap();
    assert_eq!(
        client.config().client_authentication_method(),
        "private_key_jwt"
    );
    (client, client_id)
}

fn login_options(audience: &str) -> StartLoginOptions {
    StartLoginOptions {
        audience: Some(audience.to_owned()),
        scope: Some("offline_access read:messages".to_owned()),
        authorization_params: [("prompt".to_owned(), "consent".into())].into(),
        ..StartLoginOptions::default()
    }
}

/// A whole login and a forced refresh; checks the provider counted one code exchange and
/// one refresh for the client.
async fn login_and_refresh(provider: &Provider, client: &ServerClient, client_id: &str) {
    let audience = format!("https://api.example.com/pkjwt-{client_id}");
    let cx = StoreContext::new();
    let url = client
        .start_interactive_login(login_options(&audience), &cx)
        .await
        .unwrap();
    let navigation = Browser::new(provider).navigate(url).await;
    client
        .complete_interactive_login(navigation.left_at.as_str(), &cx)
        .await
        .unwrap();
    let cx = StoreContext::from_cookies(cx.cookies());
    assert_eq!(client.get_user(&cx).await.unwrap().unwrap().sub, LOGIN);
    let options = AccessTokenOptions {
        audience: Some(audience.clone()),
        force_refresh: true,
        ..AccessTokenOptions::default()
    };
    let token = client.get_access_token(options, &cx).await.unwrap();
    let (_, claims) = provider.verified_claims(&token.token).await;
    assert_eq!(claims["client_id"], client_id);
    assert_eq!(claims["aud"], audience);
    for grant in ["authorization_code", "refresh_token"] {
        assert_eq!(
            provider.token_requests(client_id, grant).await,
            1,
            "{grant}"
        );
    }
    revoked_with_an_assertion(client, &cx).await;
}

/// The revocation endpoint takes the client's assertion too; the token is refused after.
async fn revoked_with_an_assertion(client: &ServerClient, cx: &StoreContext) {
    let session = client.get_session(cx).await.unwrap().unwrap();
    let token = session.refresh_token.expect("offline_access gave one");
    assert!(client.revoke_refresh_token(cx).await.unwrap());
    let again = client
        .get_token_by_refresh_token(&token, RefreshTokenOptions::default())
        .await;
    assert!(
        matches!(&again, Err(Error::RefreshFailed { error, .. }) if error == "invalid_grant"),
        "{again:?}"
    );
}

#[tokio::test]
async fn rs256_pkcs8_pem_logs_in_and_refreshes_through_par() {
    let Some(provider) = Provider::from_env() else {
        return;
    };
    let key = rsa_key(false);
    let (client, id) = app(&provider, "pkjwt RS256", &key, &key, "RS256", |b| {
        b.pushed_authorization_requests(true)
    })
    .await;
    login_and_refresh(&provider, &client, &id).await;
}

#[tokio::test]
async fn ps256_pkcs1_pem_logs_in_and_refreshes() {
    let Some(provider) = Provider::from_env() else {
        return;
    };
    let key = rsa_key(true);
    let (client, id) = app(&provider, "pkjwt PS256", &key, &key, "PS256", |b| {
        b.client_assertion_signing_alg("PS256")
    })
    .await;
    login_and_refresh(&provider, &client, &id).await;
}

#[tokio::test]
async fn es256_jwk_logs_in_and_refreshes() {
    let Some(provider) = Provider::from_env() else {
        return;
    };
    let key = ec_key();
    let (client, id) = app(&provider, "pkjwt ES256", &key, &key, "ES256", |b| b).await;
    login_and_refresh(&provider, &client, &id).await;
}

#[tokio::test]
async fn a_key_the_provider_does_not_know_is_refused_as_invalid_client() {
    let Some(provider) = Provider::from_env() else {
        return;
    };
    let (registered, other) = (rsa_key(false), rsa_key(false));
    let (client, id) = app(
        &provider,
        "pkjwt wrong key",
        &registered,
        &other,
        "RS256",
        |b| b,
    )
    .await;
    let cx = StoreContext::new();
    let url = client
        .start_interactive_login(login_options("https://api.example.com/wrong"), &cx)
        .await
        .unwrap();
    let navigation = Browser::new(&provider).navigate(url).await;
    let err = client
        .complete_interactive_login(navigation.left_at.as_str(), &cx)
        .await
        .unwrap_err();
    match &err {
        Error::ClientAuthentication { method, status, .. } => {
            assert_eq!((*method, *status), ("private_key_jwt", 401));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.code(), "invalid_client");
    let message = err.to_string();
    assert!(
        message.contains("private_key_jwt")
            && message.contains("AUTH0_CLIENT_ASSERTION_SIGNING_KEY"),
        "{message}"
    );
    assert_eq!(provider.token_requests(&id, "authorization_code").await, 1);

    // At the PAR endpoint too: the login does not even start.
    let (client, _) = app(
        &provider,
        "pkjwt wrong key PAR",
        &registered,
        &other,
        "RS256",
        |b| b.pushed_authorization_requests(true),
    )
    .await;
    let err = client
        .start_interactive_login(login_options("https://api.example.com/wrong"), &cx)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::ClientAuthentication {
                method: "private_key_jwt",
                ..
            }
        ),
        "{err:?}"
    );
}
