//! Back-channel logout tokens (OIDC Back-Channel Logout 1.0): what is refused, and what a
//! valid token ends.

mod support;

use auth0_server_core::client::{BACKCHANNEL_LOGOUT_EVENT, Error};
use auth0_server_core::store::StoreContext;
use serde_json::{Value, json};
use support::*;

fn logout_claims(h: &Harness, overrides: Value) -> Value {
    let now = now();
    let mut claims = json!({
        "iss": h.provider.base,
        "aud": CLIENT_ID,
        "iat": now,
        "exp": now + 120,
        "jti": "logout-1",
        "sid": "provider-session-1",
        "sub": "auth0|user-1",
        "events": { BACKCHANNEL_LOGOUT_EVENT: {} },
    });
    for (k, v) in overrides.as_object().unwrap() {
        if v.is_null() {
            claims.as_object_mut().unwrap().remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    claims
}

async fn logged_in() -> (Harness, StoreContext) {
    let h = Harness::start().await;
    let cx = StoreContext::new();
    h.login_with_claims(json!({}), &cx).await.unwrap();
    (h, cx)
}

async fn assert_refused(h: &Harness, token: &str, contains: &str) {
    match h
        .client
        .handle_backchannel_logout(token, &StoreContext::new())
        .await
    {
        Err(Error::InvalidLogoutToken(reason)) => {
            assert!(
                reason.contains(contains),
                "refused for {reason:?}, not {contains:?}"
            )
        }
        other => panic!("expected the logout token to be refused ({contains}), got {other:?}"),
    }
    assert_eq!(h.backend.len(), 1, "a refused logout token ended a session");
}

#[tokio::test]
async fn a_valid_logout_token_ends_the_session_by_sid() {
    let (h, cx) = logged_in().await;
    let token = h
        .key
        .sign(&logout_claims(&h, json!({})), &json!({"typ": "logout+jwt"}));
    let ended = h
        .client
        .handle_backchannel_logout(&token, &StoreContext::new())
        .await
        .unwrap();
    assert_eq!(ended, 1);
    assert!(h.client.get_user(&cx).await.unwrap().is_none());
}

#[tokio::test]
async fn a_logout_token_with_only_a_sub_ends_the_users_sessions() {
    let (h, _) = logged_in().await;
    let token = h
        .key
        .sign(&logout_claims(&h, json!({"sid": null})), &json!({}));
    assert_eq!(
        h.client
            .handle_backchannel_logout(&token, &StoreContext::new())
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn logout_token_with_a_nonce_is_refused() {
    let (h, _) = logged_in().await;
    let token = h
        .key
        .sign(&logout_claims(&h, json!({"nonce": "n"})), &json!({}));
    assert_refused(&h, &token, "nonce").await;
}

#[tokio::test]
async fn logout_token_without_events_is_refused() {
    let (h, _) = logged_in().await;
    let token = h
        .key
        .sign(&logout_claims(&h, json!({"events": null})), &json!({}));
    assert_refused(&h, &token, "event").await;
    let wrong = h.key.sign(
        &logout_claims(&h, json!({"events": {"http://example.com/other": {}}})),
        &json!({}),
    );
    assert_refused(&h, &wrong, "event").await;
}

#[tokio::test]
async fn logout_token_without_sid_and_sub_is_refused() {
    let (h, _) = logged_in().await;
    let token = h.key.sign(
        &logout_claims(&h, json!({"sid": null, "sub": null})),
        &json!({}),
    );
    assert_refused(&h, &token, "neither sid nor sub").await;
}

#[tokio::test]
async fn logout_token_with_another_typ_is_refused() {
    let (h, _) = logged_in().await;
    let token = h
        .key
        .sign(&logout_claims(&h, json!({})), &json!({"typ": "JWT"}));
    assert_refused(&h, &token, "typ").await;
}

#[tokio::test]
async fn logout_token_for_another_audience_or_issuer_is_refused() {
    let (h, _) = logged_in().await;
    let token = h.key.sign(
        &logout_claims(&h, json!({"aud": "someone-else"})),
        &json!({}),
    );
    assert_refused(&h, &token, "audience").await;
    let token = h.key.sign(
        &logout_claims(&h, json!({"iss": "https://evil.example/"})),
        &json!({}),
    );
    assert_refused(&h, &token, "issuer").await;
}

#[tokio::test]
async fn expired_or_unsigned_logout_tokens_are_refused() {
    let (h, _) = logged_in().await;
    let token = h.key.sign(
        &logout_claims(&h, json!({"exp": now() - 600, "iat": now() - 900})),
        &json!({}),
    );
    assert_refused(&h, &token, "expired").await;
    let none = raw_jwt(&json!({"alg": "none"}), &logout_claims(&h, json!({})), b"");
    assert_refused(&h, &none, "none").await;
    let forged = TestKey::generate("key-1").sign(&logout_claims(&h, json!({})), &json!({}));
    assert_refused(&h, &forged, "signature").await;
    assert_refused(&h, "not-a-jwt", "JWT").await;
}

#[tokio::test]
async fn logout_token_without_jti_iat_or_exp_is_refused() {
    let (h, _) = logged_in().await;
    let token = h
        .key
        .sign(&logout_claims(&h, json!({"jti": null})), &json!({}));
    assert_refused(&h, &token, "jti").await;
    let token = h
        .key
        .sign(&logout_claims(&h, json!({"iat": null})), &json!({}));
    assert_refused(&h, &token, "iat").await;
    let token = h
        .key
        .sign(&logout_claims(&h, json!({"exp": null})), &json!({}));
    assert_refused(&h, &token, "exp").await;
}

#[tokio::test]
async fn a_replayed_logout_token_is_refused_and_ends_nothing() {
    let (h, _) = logged_in().await;
    let token = h
        .key
        .sign(&logout_claims(&h, json!({})), &json!({"typ": "logout+jwt"}));
    let ended = h
        .client
        .handle_backchannel_logout(&token, &StoreContext::new())
        .await
        .unwrap();
    assert_eq!(ended, 1);
    // The user logs in again (same provider session); the captured token is sent again.
    h.login_with_claims(json!({}), &StoreContext::new())
        .await
        .unwrap();
    assert_refused(&h, &token, "replay").await;
    // Another token (another jti) for the same session still works.
    let fresh = h.key.sign(
        &logout_claims(&h, json!({"jti": "logout-2"})),
        &json!({"typ": "logout+jwt"}),
    );
    let ended = h
        .client
        .handle_backchannel_logout(&fresh, &StoreContext::new())
        .await
        .unwrap();
    assert_eq!(ended, 1);
}

#[tokio::test]
async fn a_logout_token_replayed_to_the_cookie_store_is_refused() {
    let secrets = auth0_server_core::Secrets::parse(SECRET).unwrap();
    let h = Harness::start_with(|b| {
        b.state_store(std::sync::Arc::new(
            auth0_store_cookie::CookieStateStore::new(secrets),
        ))
    })
    .await;
    let token = h
        .key
        .sign(&logout_claims(&h, json!({})), &json!({"typ": "logout+jwt"}));
    let first = h
        .client
        .handle_backchannel_logout(&token, &StoreContext::new())
        .await
        .unwrap_err();
    assert_eq!(first.code(), "store_unsupported", "{first}");
    let again = h
        .client
        .handle_backchannel_logout(&token, &StoreContext::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&again, Error::InvalidLogoutToken(reason) if reason.contains("replay")),
        "{again:?}"
    );
}
