//! Passwordless at the dev tenant: `ServerClient::start_passwordless` against
//! `/passwordless/start` and `verify_passwordless` with the passwordless OTP grant, the test
//! reading the "sent" code with `DevTenant::passwordless_code`.

use std::sync::Arc;
use std::time::Duration;

use auth0_test_support::dev_tenant as support;

use auth0_server_core::client::{
    Error, PasswordlessRecipient, PasswordlessSend, StartPasswordlessOptions,
    VerifyPasswordlessOptions,
};
use auth0_server_core::clock::ManualClock;
use auth0_server_core::store::StoreContext;
use josekit::jwk::KeyPair as _;
use support::*;

const PHONE: &str = "+14155550100";

fn email() -> PasswordlessRecipient {
    PasswordlessRecipient::Email(EMAIL.to_owned())
}

/// Sends a code to `to` and reads it at the tenant.
async fn send_code(setup: &Setup, to: PasswordlessRecipient, address: &str) -> String {
    let started = setup
        .client
        .start_passwordless(StartPasswordlessOptions::new(to), &StoreContext::new())
        .await
        .unwrap();
    assert!(started.id.is_some(), "Auth0's request id");
    setup
        .tenant
        .tenant()
        .passwordless_code(address)
        .expect("a code waits at the tenant")
}

fn refused_with(result: Result<impl std::fmt::Debug, Error>, expected: &str) {
    match result {
        Err(Error::PasswordlessVerify { error, .. }) => assert_eq!(error, expected),
        other => panic!("expected {expected}, got {other:?}"),
    }
}

#[tokio::test]
async fn an_email_code_starts_a_session_under_a_fresh_id() {
    let setup = Setup::start().await;
    let browser = Browser::new(&setup.tenant);
    // The browser had a session already: the passwordless one replaces it under a new id.
    let (_, before, _) = setup.login(&browser).await;
    let code = send_code(&setup, email(), EMAIL).await;
    let cx = StoreContext::from_cookies(before.cookies());
    let done = setup
        .client
        .verify_passwordless(VerifyPasswordlessOptions::new(email(), code), &cx)
        .await
        .unwrap();
    assert!(done.user.sub.starts_with("email|"), "{}", done.user.sub);
    assert_eq!(done.user.email.as_deref(), Some(EMAIL));
    let after = StoreContext::from_cookies(cx.cookies());
    assert_ne!(after.cookies(), before.cookies(), "a fresh session id");
    let user = setup
        .client
        .get_user(&after)
        .await
        .unwrap()
        .expect("a session");
    assert_eq!(user.sub, done.user.sub);
    assert!(
        setup.client.get_user(&before).await.unwrap().is_none(),
        "the old session id no longer opens a session"
    );
    let token = setup
        .client
        .get_access_token(Default::default(), &after)
        .await
        .unwrap();
    let (_, claims) = verified(&setup.tenant, &token.token).await;
    assert_eq!(claims["aud"][0], API, "the configured audience");
}

#[tokio::test]
async fn an_sms_code_asks_openid_profile_and_the_given_audience() {
    let setup = Setup::start().await;
    let to = PasswordlessRecipient::Sms(PHONE.to_owned());
    let code = send_code(&setup, to.clone(), PHONE).await;
    let options = VerifyPasswordlessOptions {
        scope: Some("profile offline_access".to_owned()),
        ..VerifyPasswordlessOptions::new(to, code)
    };
    let cx = StoreContext::new();
    let done = setup
        .client
        .verify_passwordless(options, &cx)
        .await
        .unwrap();
    assert!(done.user.sub.starts_with("sms|"), "{}", done.user.sub);
    assert_eq!(done.user.name.as_deref(), Some(PHONE));
    assert_eq!(done.user.email, None, "no email scope");
    let session = setup
        .client
        .get_session(&StoreContext::from_cookies(cx.cookies()))
        .await
        .unwrap()
        .unwrap();
    assert!(session.refresh_token.is_some(), "offline_access was asked");
    assert_eq!(
        session.token_sets[0].scope.as_deref(),
        Some("openid profile offline_access")
    );
}

#[tokio::test]
async fn a_code_works_once() {
    let setup = Setup::start().await;
    let code = send_code(&setup, email(), EMAIL).await;
    let verify = || VerifyPasswordlessOptions::new(email(), code.clone());
    let cx = StoreContext::new();
    setup
        .client
        .verify_passwordless(verify(), &cx)
        .await
        .unwrap();
    let again = setup
        .client
        .verify_passwordless(verify(), &StoreContext::new())
        .await;
    refused_with(again, "invalid_grant");
}

#[tokio::test]
async fn wrong_codes_are_refused_and_the_third_ends_the_code() {
    let setup = Setup::start().await;
    let code = send_code(&setup, email(), EMAIL).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for attempt in 1..=auth0_dev_tenant::MAX_OTP_ATTEMPTS {
        let result = setup
            .client
            .verify_passwordless(
                VerifyPasswordlessOptions::new(email(), wrong),
                &StoreContext::new(),
            )
            .await;
        let error = result.unwrap_err();
        assert!(
            !format!("{error:?} {error}").contains(wrong),
            "attempt {attempt}: {error:?}"
        );
        assert!(
            matches!(error, Error::PasswordlessVerify { .. }),
            "{error:?}"
        );
    }
    // The right code, too late: the attempts are used up.
    let late = setup
        .client
        .verify_passwordless(
            VerifyPasswordlessOptions::new(email(), code),
            &StoreContext::new(),
        )
        .await;
    refused_with(late, "invalid_grant");
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let clock = ManualClock::starting_now();
    let setup = Setup::start_with(|t| t.clock(Arc::new(clock.clone())), |c| c.audience(API)).await;
    let code = send_code(&setup, email(), EMAIL).await;
    clock.advance(auth0_dev_tenant::PASSWORDLESS_CODE_LIFETIME + Duration::from_secs(1));
    let late = setup
        .client
        .verify_passwordless(
            VerifyPasswordlessOptions::new(email(), code),
            &StoreContext::new(),
        )
        .await;
    refused_with(late, "invalid_grant");
}

#[tokio::test]
async fn the_providers_refusal_at_the_start_is_a_typed_error() {
    let setup = Setup::start_with(|t| t, |c| c.client_secret("not-the-secret")).await;
    let result = setup
        .client
        .start_passwordless(StartPasswordlessOptions::new(email()), &StoreContext::new())
        .await;
    assert!(
        matches!(result, Err(Error::ClientAuthentication { .. })),
        "{result:?}"
    );
    // An audience the tenant does not know, in a magic link's authParams.
    let setup = Setup::start().await;
    let mut link = StartPasswordlessOptions {
        send: PasswordlessSend::Link,
        ..StartPasswordlessOptions::new(email())
    };
    link.auth_params
        .insert("audience".into(), "https://unknown.example.com".into());
    let cx = StoreContext::new();
    match setup.client.start_passwordless(link, &cx).await {
        Err(Error::PasswordlessStart { error, status, .. }) => {
            assert_eq!((error.as_str(), status), ("bad.authParams", 400));
        }
        other => panic!("expected bad.authParams, got {other:?}"),
    }
    assert_eq!(setup.tenant.tenant().passwordless_link(EMAIL), None);
    assert!(
        cx.take_changes().is_empty(),
        "no transaction for a link never sent"
    );
}

/// Sends a magic link (with `app_state`) from `cx`'s browser; returns the link.
async fn send_link(setup: &Setup, cx: &StoreContext) -> url::Url {
    let options = StartPasswordlessOptions {
        send: PasswordlessSend::Link,
        app_state: Some(serde_json::json!({"returnTo": "/inbox"})),
        ..StartPasswordlessOptions::new(email())
    };
    setup.client.start_passwordless(options, cx).await.unwrap();
    let link = setup
        .tenant
        .tenant()
        .passwordless_link(EMAIL)
        .expect("a link was e-mailed");
    url::Url::parse(&link).unwrap()
}

#[tokio::test]
async fn a_magic_link_completes_at_the_callback_once_and_in_its_browser_only() {
    let setup = Setup::start().await;
    let cx = StoreContext::new();
    let link = send_link(&setup, &cx).await;
    let browser = Browser::new(&setup.tenant);
    let callback = browser.go(link.clone(), None).await.left();
    assert!(
        callback.as_str().starts_with(&setup.callback()),
        "{callback}"
    );
    let cx = StoreContext::from_cookies(cx.cookies());
    let done = setup
        .client
        .complete_interactive_login(callback.as_str(), &cx)
        .await
        .unwrap();
    assert!(done.user.sub.starts_with("email|"), "{}", done.user.sub);
    assert_eq!(
        done.app_state,
        Some(serde_json::json!({"returnTo": "/inbox"}))
    );
    // The link again: used up.
    let (status, _) = browser.go(link, None).await.page();
    assert_eq!(status, 400);
    // A link sent from one browser and completed in another: no transaction there.
    let first = StoreContext::new();
    let link = send_link(&setup, &first).await;
    let callback = browser.go(link, None).await.left();
    let elsewhere = setup
        .client
        .complete_interactive_login(callback.as_str(), &StoreContext::new())
        .await;
    assert!(
        matches!(elsewhere, Err(Error::MissingTransaction)),
        "{elsewhere:?}"
    );
}

#[tokio::test]
async fn a_private_key_jwt_application_signs_both_requests() {
    let mut pair = josekit::jws::RS256.generate_key_pair(2048).unwrap();
    pair.set_algorithm(None);
    let private = String::from_utf8(pair.to_pem_private_key()).unwrap();
    let public = String::from_utf8(pair.to_pem_public_key()).unwrap();
    let setup = Setup::start_with(
        |t| t.client_public_key(public),
        |c| c.client_assertion_signing_key(private).audience(API),
    )
    .await;
    assert_eq!(
        setup.client.config().client_authentication_method(),
        "private_key_jwt"
    );
    // A client assertion in /passwordless/start's JSON body, then at the token endpoint.
    let code = send_code(&setup, email(), EMAIL).await;
    let done = setup
        .client
        .verify_passwordless(
            VerifyPasswordlessOptions::new(email(), code),
            &StoreContext::new(),
        )
        .await
        .unwrap();
    assert_eq!(done.user.email.as_deref(), Some(EMAIL));
}
