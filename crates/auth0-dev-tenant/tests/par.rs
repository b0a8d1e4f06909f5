//! Pushed authorization requests (RFC 9126) at the dev tenant: a client with
//! `pushed_authorization_requests(true)` pushes its login to `/oauth/par` (authenticated, with
//! a secret or `private_key_jwt`) and sends the browser with only `client_id` and the
//! `request_uri`, which works once.

use auth0_test_support::dev_tenant as support;

use auth0_server_core::client::StartLoginOptions;
use support::*;

/// A login through PAR in a new browser: its authorization URL's parameters, and the login.
async fn pushed_login(setup: &Setup) -> url::Url {
    let (url, cx) = setup.start_login(StartLoginOptions::default()).await;
    let q = query(&url);
    assert!(
        q["request_uri"].starts_with("urn:ietf:params:oauth:request_uri:"),
        "{q:?}"
    );
    assert_eq!(q["client_id"], setup.tenant.client_id());
    for pushed in ["scope", "redirect_uri", "state", "nonce", "code_challenge"] {
        assert!(
            !q.contains_key(pushed),
            "{pushed} in the browser's URL: {q:?}"
        );
    }
    let browser = Browser::new(&setup.tenant);
    let (callback, _) = browser.authorize(url.clone()).await;
    let done = setup
        .client
        .complete_interactive_login(callback.as_str(), &cx)
        .await
        .unwrap();
    assert_eq!(done.user.email.as_deref(), Some(EMAIL));
    url
}

#[tokio::test]
async fn a_login_through_par_works_and_its_request_uri_only_once() {
    let setup = Setup::start_with(
        |t| t,
        |c| c.audience(API).pushed_authorization_requests(true),
    )
    .await;
    let url = pushed_login(&setup).await;
    // The same authorization URL again: its request_uri was used, so no code is issued.
    let again = Browser::new(&setup.tenant).go(url, None).await;
    let (status, _) = again.page();
    assert_eq!(status.as_u16(), 400);
}

#[tokio::test]
async fn a_private_key_jwt_client_pushes_its_login_with_an_assertion() {
    let (private, public) = es256_jwk_pair("par-key");
    let setup = Setup::start_with(
        |t| t.client_public_key(public),
        |c| {
            c.audience(API)
                .pushed_authorization_requests(true)
                .client_assertion_signing_key(private)
        },
    )
    .await;
    pushed_login(&setup).await;
}
