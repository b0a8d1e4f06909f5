//! A CIBA login's ID token is checked like an interactive login's, and must be for the user
//! the login hint named: error paths, against a scripted provider (`support::MockProvider`).

mod support;

use auth0_server_core::client::{BackchannelOptions, Error, LoginHint};
use serde_json::json;
use support::Harness;

const SUB: &str = "auth0|user-1";

async fn ciba_harness() -> Harness {
    let h = Harness::start().await;
    *h.provider.state.backchannel.lock().unwrap() = true;
    h
}

/// The provider's tokens for a CIBA login whose ID token has `overrides` (no nonce: CIBA
/// has none).
fn answer(h: &Harness, overrides: serde_json::Value) {
    let claims = h.claims("", overrides);
    let mut claims = claims.as_object().unwrap().clone();
    claims.remove("nonce");
    let id_token = h
        .key
        .sign(&json!(claims), &json!({"alg": "RS256", "kid": "key-1"}));
    h.provider.push_token(
        200,
        &[],
        json!({"access_token": "at", "token_type": "Bearer", "expires_in": 60, "id_token": id_token}),
    );
}

#[tokio::test]
async fn an_id_token_for_another_user_than_the_login_hint_is_refused() {
    let h = ciba_harness().await;
    answer(&h, json!({"sub": "auth0|someone-else"}));
    let error = h
        .client
        .backchannel_authentication(BackchannelOptions::new(LoginHint::sub(SUB)))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::InvalidIdToken(why) if why.contains("another user")),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_id_token_for_another_client_is_refused() {
    let h = ciba_harness().await;
    answer(&h, json!({"aud": "another-client"}));
    let error = h
        .client
        .backchannel_authentication(BackchannelOptions::new(LoginHint::sub(SUB)))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "id_token_validation_error", "{error:?}");
}

#[tokio::test]
async fn the_ciba_grant_is_polled_with_the_auth_req_id_and_client_authentication() {
    let h = ciba_harness().await;
    h.provider
        .push_token(400, &[], json!({"error": "authorization_pending"}));
    answer(&h, json!({}));
    let done = h
        .client
        .backchannel_authentication(BackchannelOptions::new(LoginHint::sub(SUB)))
        .await
        .unwrap();
    assert_eq!(done.user.sub, SUB);
    let forms = h.provider.state.forms.lock().unwrap().clone();
    assert_eq!(forms.len(), 2, "pending, then the tokens");
    for form in &forms {
        assert_eq!(form["grant_type"], "urn:openid:params:grant-type:ciba");
        assert_eq!(form["auth_req_id"], "req-1");
    }
    let auth = h.provider.state.auth_headers.lock().unwrap().clone();
    assert!(
        auth.iter()
            .all(|a| a.as_deref().is_some_and(|a| a.starts_with("Basic ")))
    );
}
