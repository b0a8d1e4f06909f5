//! What the client sends to authenticate at the token endpoint, seen by the scripted provider:
//! with a signing key, a client assertion in the form (and no secret anywhere), fresh for every
//! attempt, retries included; the happy path against a real provider is in
//! `private_key_jwt.rs`.

mod support;

use auth0_server_core::client::{CLIENT_ASSERTION_TYPE, Error};
use auth0_server_core::store::StoreContext;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use josekit::jwk::KeyPair as _;
use josekit::jws::ES256;
use serde_json::{Map, Value, json};
use support::*;

fn claims(assertion: &str) -> Map<String, Value> {
    let payload = assertion.split('.').nth(1).unwrap();
    serde_json::from_slice(&B64.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn a_retried_code_exchange_sends_a_fresh_assertion_each_time() {
    let pair = ES256.generate_key_pair().unwrap();
    let pem = String::from_utf8(pair.to_pem_private_key()).unwrap();
    let h = Harness::start_with(|b| b.client_assertion_signing_key(pem)).await;
    h.provider.push_token(
        503,
        &[("retry-after", "0")],
        json!({"error": "temporarily_unavailable"}),
    );
    let cx = StoreContext::new();
    h.login_with_claims(json!({}), &cx).await.unwrap();

    let forms = h.provider.state.forms.lock().unwrap().clone();
    assert_eq!(forms.len(), 2, "the 503 and the retry");
    let auth_headers = h.provider.state.auth_headers.lock().unwrap().clone();
    assert_eq!(auth_headers, [None, None], "no HTTP Basic");
    let verifier = ES256.verifier_from_jwk(&pair.to_jwk_public_key()).unwrap();
    let mut jtis = Vec::new();
    for form in &forms {
        assert_eq!(form["client_id"], CLIENT_ID);
        assert_eq!(form["client_assertion_type"], CLIENT_ASSERTION_TYPE);
        assert!(!form.contains_key("client_secret"), "{form:?}");
        let assertion = &form["client_assertion"];
        josekit::jwt::decode_with_verifier(assertion, &verifier).expect("signed with the key");
        let claims = claims(assertion);
        assert_eq!(
            (claims["iss"].as_str(), claims["sub"].as_str()),
            (Some(CLIENT_ID), Some(CLIENT_ID))
        );
        assert_eq!(
            claims["aud"], h.provider.base,
            "the issuer as discovery names it"
        );
        let (iat, exp) = (
            claims["iat"].as_u64().unwrap(),
            claims["exp"].as_u64().unwrap(),
        );
        assert_eq!(exp - iat, 60);
        jtis.push(claims["jti"].as_str().unwrap().to_owned());
    }
    assert_ne!(jtis[0], jtis[1], "an assertion is never sent twice");
}

#[tokio::test]
async fn invalid_client_at_the_refresh_is_a_client_authentication_error() {
    let pair = ES256.generate_key_pair().unwrap();
    let pem = String::from_utf8(pair.to_pem_private_key()).unwrap();
    let h = Harness::start_with(|b| b.client_assertion_signing_key(pem)).await;
    let cx = StoreContext::new();
    h.login_with_claims(json!({}), &cx).await.unwrap();
    let cx = StoreContext::from_cookies(cx.cookies());
    h.provider.push_token(
        401,
        &[],
        json!({"error": "invalid_client", "error_description": "client authentication failed"}),
    );
    let err = h.client.get_access_token(forced(), &cx).await.unwrap_err();
    match &err {
        Error::ClientAuthentication {
            method,
            description,
            status,
        } => {
            assert_eq!(
                (*method, description.as_deref(), *status),
                ("private_key_jwt", Some("client authentication failed"), 401)
            );
        }
        other => panic!("not RefreshFailed, which reads as the user's problem: {other:?}"),
    }
}
