//! Multiple custom domains, back-channel logout: a logout token is verified with the keys of
//! the domain its issuer names, so a token claiming one domain but signed with another
//! domain's key is refused, whichever site's host it is posted to. Two scripted providers on
//! loopback, each with its own signing key under the same `kid`.

mod support;

use std::sync::Arc;

use auth0_server_core::Secrets;
use auth0_server_core::client::{AllowListResolver, BACKCHANNEL_LOGOUT_EVENT, Error, ServerClient};
use auth0_server_core::store::{ServerSideStateStore, StoreContext};
use auth0_store_memory::{MemoryBackend, MemoryTransactionBackend};
use axum::http::{HeaderMap, HeaderValue, header};
use serde_json::{Value, json};
use support::{CLIENT_ID, CLIENT_SECRET, MockProvider, SECRET, TestKey, now};

const HOST_A: &str = "shop-a.example.test";
const HOST_B: &str = "shop-b.example.test";

/// A scripted provider whose key set holds `key`.
async fn provider_with(key: &TestKey) -> MockProvider {
    let provider = MockProvider::start().await;
    provider.state.keys.lock().unwrap().push(key.public.clone());
    provider
}

fn request(host: &str) -> StoreContext {
    let mut headers = HeaderMap::new();
    headers.insert(header::HOST, HeaderValue::from_str(host).unwrap());
    StoreContext::from_headers(&headers)
}

fn logout_claims(issuer: &str, jti: &str) -> Value {
    let now = now();
    json!({
        "iss": issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 120, "jti": jti,
        "sid": "provider-session-1", "sub": "auth0|user-1",
        "events": { BACKCHANNEL_LOGOUT_EVENT: {} },
    })
}

#[tokio::test]
async fn a_token_of_one_domain_signed_with_the_other_domains_key_is_refused() {
    // The same kid at both domains: only the key itself tells them apart.
    let (key_a, key_b) = (TestKey::generate("key-1"), TestKey::generate("key-1"));
    let (a, b) = (provider_with(&key_a).await, provider_with(&key_b).await);
    let client = ServerClient::builder()
        .domain(&a.base)
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .secret(SECRET)
        .redirect_uri("http://127.0.0.1:5000/callback")
        .state_store(Arc::new(ServerSideStateStore::new(
            MemoryBackend::new(),
            &Secrets::parse(SECRET).unwrap(),
        )))
        .transaction_backend(MemoryTransactionBackend::new())
        .domain_resolver(
            AllowListResolver::new()
                .host(HOST_A, a.base.as_str())
                .host(HOST_B, b.base.as_str()),
        )
        .build()
        .unwrap();
    let typ = json!({"typ": "logout+jwt"});
    for (n, (claimed, signer)) in [(&a, &key_b), (&b, &key_a)].into_iter().enumerate() {
        let forged = signer.sign(&logout_claims(&claimed.base, &format!("forged-{n}")), &typ);
        for host in [HOST_A, HOST_B] {
            let refused = client
                .handle_backchannel_logout(&forged, &request(host))
                .await;
            assert!(
                matches!(&refused, Err(Error::InvalidLogoutToken(r)) if r.contains("signature")),
                "{} signed by the other's key, under {host}: {refused:?}",
                claimed.base
            );
        }
    }
    // Signed by the domain it names, the same token is accepted under either host.
    for (n, (issuer, signer)) in [(&a, &key_a), (&b, &key_b)].into_iter().enumerate() {
        let host = [HOST_B, HOST_A][n];
        let genuine = signer.sign(&logout_claims(&issuer.base, &format!("genuine-{n}")), &typ);
        let accepted = client
            .handle_backchannel_logout(&genuine, &request(host))
            .await;
        assert_eq!(accepted.unwrap(), 0, "{} under {host}", issuer.base);
    }
}
