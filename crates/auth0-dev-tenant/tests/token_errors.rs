//! The token endpoint's refusals: client authentication, PKCE, code reuse and expiry,
//! redirect URI mismatch, unknown grant types.

use auth0_test_support::dev_tenant as support;

use std::sync::Arc;
use std::time::Duration;

use auth0_server_core::client::{Error, StartLoginOptions, TokenEndpointAuth};
use auth0_server_core::clock::ManualClock;
use support::*;

fn creds(setup: &Setup) -> Option<(&str, &str)> {
    Some((setup.tenant.client_id(), setup.tenant.client_secret()))
}

#[tokio::test]
async fn a_wrong_client_secret_is_401_invalid_client() {
    let setup = Setup::start_with(|t| t, |c| c.client_secret("not-the-secret")).await;
    let browser = Browser::new(&setup.tenant);
    let (url, cx) = setup.start_login(StartLoginOptions::default()).await;
    let (callback, _) = browser.authorize(url).await;
    let err = setup
        .client
        .complete_interactive_login(callback.as_str(), &cx)
        .await
        .unwrap_err();
    match &err {
        Error::ClientAuthentication { method, status, .. } => {
            assert_eq!((*method, *status), ("client_secret_basic", 401));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.code(), "invalid_client");
    assert!(err.to_string().contains("AUTH0_CLIENT_SECRET"), "{err}");

    let (status, body, headers) = token_request(
        &setup.tenant,
        &[("grant_type", "authorization_code"), ("code", "x")],
        Some((setup.tenant.client_id(), "wrong")),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "invalid_client");
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic"),
        "a Basic challenge"
    );
    let (status, body, _) = token_request(
        &setup.tenant,
        &[("grant_type", "authorization_code"), ("code", "x")],
        None,
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (401, Some("invalid_client"))
    );
}

#[tokio::test]
async fn client_secret_post_logs_in_too() {
    let setup = Setup::start_with(
        |t| t.client_secret("a secret with spaces+plus%percent"),
        |c| c.token_endpoint_auth(TokenEndpointAuth::ClientSecretPost),
    )
    .await;
    let (done, _, _) = setup.login(&Browser::new(&setup.tenant)).await;
    assert_eq!(done.user.email.as_deref(), Some(EMAIL));
}

#[tokio::test]
async fn basic_credentials_are_form_urlencoded() {
    // The SDK url-encodes the id and secret inside HTTP Basic (RFC 6749 §2.3.1).
    let setup = Setup::start_with(
        |t| t.client_secret("a secret with spaces+plus%percent:colon"),
        |c| c,
    )
    .await;
    let (done, _, _) = setup.login(&Browser::new(&setup.tenant)).await;
    assert_eq!(done.user.email.as_deref(), Some(EMAIL));
}

#[tokio::test]
async fn two_authentication_methods_at_once_are_refused() {
    let setup = Setup::start().await;
    let (status, body, _) = token_request(
        &setup.tenant,
        &[
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("client_secret", setup.tenant.client_secret()),
        ],
        creds(&setup),
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_request"))
    );
}

async fn exchange(
    setup: &Setup,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> (u16, serde_json::Value) {
    let (status, body, headers) = token_request(
        &setup.tenant,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ],
        creds(setup),
    )
    .await;
    if status == 200 {
        assert_eq!(headers["cache-control"], "no-store");
    }
    (status.as_u16(), body)
}

#[tokio::test]
async fn a_hand_made_exchange_with_the_right_verifier_works() {
    let setup = Setup::start().await;
    let browser = Browser::new(&setup.tenant);
    let code = code_for(&setup, &browser, &[]).await;
    let (status, body) = exchange(&setup, &code, &setup.callback(), VERIFIER).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_u64().is_some());
    let (_, claims) = verified(&setup.tenant, body["id_token"].as_str().unwrap()).await;
    assert_eq!(claims["nonce"], "nonce-1");
}

#[tokio::test]
async fn a_wrong_pkce_verifier_is_invalid_grant_and_burns_the_code() {
    let setup = Setup::start().await;
    let browser = Browser::new(&setup.tenant);
    let code = code_for(&setup, &browser, &[]).await;
    let wrong = "another-pkce-verifier-of-at-least-forty-three-characters";
    let (status, body) = exchange(&setup, &code, &setup.callback(), wrong).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert!(
        body["error_description"].as_str().unwrap().contains("PKCE"),
        "{body}"
    );
    let (status, body) = exchange(&setup, &code, &setup.callback(), VERIFIER).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
}

#[tokio::test]
async fn a_code_used_twice_is_refused_and_revokes_the_first_tokens() {
    let setup = Setup::start().await;
    let browser = Browser::new(&setup.tenant);
    let code = code_for(&setup, &browser, &[]).await;
    let (status, first) = exchange(&setup, &code, &setup.callback(), VERIFIER).await;
    assert_eq!(status, 200, "{first}");
    let (status, body) = exchange(&setup, &code, &setup.callback(), VERIFIER).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("already used"),
        "{body}"
    );

    let rt = first["refresh_token"].as_str().unwrap();
    let (status, body, _) = token_request(
        &setup.tenant,
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
        creds(&setup),
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn a_redirect_uri_mismatch_is_invalid_grant() {
    let setup = Setup::start().await;
    let browser = Browser::new(&setup.tenant);
    let code = code_for(&setup, &browser, &[]).await;
    let other = setup.app.join("other-callback").unwrap().to_string();
    let (status, body) = exchange(&setup, &code, &other, VERIFIER).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("redirect_uri"),
        "{body}"
    );
}

#[tokio::test]
async fn a_code_expires_after_a_minute() {
    let clock = ManualClock::starting_now();
    let setup = Setup::start_with(|t| t.clock(Arc::new(clock.clone())), |c| c).await;
    let browser = Browser::new(&setup.tenant);
    let code = code_for(&setup, &browser, &[]).await;
    clock.advance(auth0_dev_tenant::CODE_LIFETIME + Duration::from_secs(1));
    let (status, body) = exchange(&setup, &code, &setup.callback(), VERIFIER).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn unknown_grant_types_and_missing_parameters_are_named() {
    let setup = Setup::start().await;
    let (status, body, _) =
        token_request(&setup.tenant, &[("grant_type", "password")], creds(&setup)).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let (status, body, _) = token_request(
        &setup.tenant,
        &[("grant_type", "authorization_code"), ("code", "x")],
        creds(&setup),
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, body, _) = token_request(
        &setup.tenant,
        &[
            ("grant_type", "refresh_token"),
            ("grant_type", "refresh_token"),
        ],
        creds(&setup),
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_request"))
    );
}
