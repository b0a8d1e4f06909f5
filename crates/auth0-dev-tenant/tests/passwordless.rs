//! Passwordless at the dev tenant: `ServerClient::start_passwordless` against
//! `/passwordless/start` and `verify_passwordless` with the passwordless OTP grant, the test
//! reading the "sent" code with `DevTenant::passwordless_code`.

use std::sync::Arc;
use std::time::Duration;

#[macro_use]
mod stores;

use auth0_test_support::dev_tenant as support;

use auth0_server_core::client::{
    Error, PasswordlessRecipient, PasswordlessSend, StartPasswordlessOptions,
    VerifyPasswordlessOptions,
};
use auth0_server_core::clock::ManualClock;
use auth0_server_core::store::StoreContext;
use josekit::jwk::KeyPair as _;
use stores::Store;
use support::*;

// Each flow end to end with the app's sessions and transactions in memory, Redis and
// PostgreSQL.
on_each_store!(
    the_store_holds_the_logins_in_progress_and_the_sessions,
    an_email_code_starts_a_session_under_a_fresh_id,
    an_sms_code_asks_openid_profile_and_the_given_audience,
    a_code_works_once,
    wrong_codes_are_refused_and_the_third_ends_the_code,
    a_magic_link_completes_at_the_callback_once_and_in_its_browser_only,
    an_attackers_code_posted_from_the_victims_browser_logs_nobody_in,
    a_code_for_another_recipient_than_this_browser_started_is_refused,
    another_links_code_under_this_browsers_state_is_refused,
    a_new_start_does_not_reset_the_attempts,
    a_magic_links_code_is_not_taken_by_the_otp_grant,
    an_expired_code_is_refused,
);

const PHONE: &str = "+14155550100";

/// Each variant really uses its store: what a login, a passwordless start and a session
/// leave is counted in the store itself (its own Redis prefix, PostgreSQL schema, memory).
async fn the_store_holds_the_logins_in_progress_and_the_sessions(store: Store) {
    let Some((setup, probe)) = store.setup_probed().await else {
        return;
    };
    assert_eq!((probe.sessions().await, probe.transactions().await), (0, 0));
    let (_, _cx) = setup.start_login(Default::default()).await;
    assert_eq!(
        probe.transactions().await,
        1,
        "start_interactive_login's, in {store:?}"
    );
    send_code(&setup, email(), EMAIL).await;
    assert_eq!(
        probe.transactions().await,
        2,
        "start_passwordless's, in {store:?}"
    );
    setup.login(&Browser::new(&setup.tenant)).await;
    assert_eq!(
        probe.sessions().await,
        1,
        "the login's session, in {store:?}"
    );
    assert_eq!(
        probe.transactions().await,
        2,
        "the login took its own transaction"
    );
}

fn email() -> PasswordlessRecipient {
    PasswordlessRecipient::Email(EMAIL.to_owned())
}

/// Sends a code to `to` from a new browser and reads it at the tenant; returns the code and
/// that browser's next request.
async fn send_code(
    setup: &Setup,
    to: PasswordlessRecipient,
    address: &str,
) -> (String, StoreContext) {
    send_code_from(setup, to, address, &StoreContext::new()).await
}

/// [`send_code`] from `cx`'s browser.
async fn send_code_from(
    setup: &Setup,
    to: PasswordlessRecipient,
    address: &str,
    cx: &StoreContext,
) -> (String, StoreContext) {
    let started = setup
        .client
        .start_passwordless(StartPasswordlessOptions::new(to), cx)
        .await
        .unwrap();
    assert!(started.id.is_some(), "Auth0's request id");
    let code = setup
        .tenant
        .tenant()
        .passwordless_code(address)
        .expect("a code waits at the tenant");
    (code, StoreContext::from_cookies(cx.cookies()))
}

fn refused_with(result: Result<impl std::fmt::Debug, Error>, expected: &str) {
    match result {
        Err(Error::PasswordlessVerify { error, .. }) => assert_eq!(error, expected),
        other => panic!("expected {expected}, got {other:?}"),
    }
}

async fn an_email_code_starts_a_session_under_a_fresh_id(store: Store) {
    let Some(setup) = store.setup().await else {
        return;
    };
    let browser = Browser::new(&setup.tenant);
    // The browser had a session already: the passwordless one replaces it under a new id.
    let (_, before, _) = setup.login(&browser).await;
    let (code, cx) = send_code_from(&setup, email(), EMAIL, &before).await;
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

async fn an_sms_code_asks_openid_profile_and_the_given_audience(store: Store) {
    let Some(setup) = store.setup().await else {
        return;
    };
    let to = PasswordlessRecipient::Sms(PHONE.to_owned());
    let (code, cx) = send_code(&setup, to.clone(), PHONE).await;
    let options = VerifyPasswordlessOptions {
        scope: Some("profile offline_access".to_owned()),
        ..VerifyPasswordlessOptions::new(to, code)
    };
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

async fn a_code_works_once(store: Store) {
    let Some(setup) = store.setup().await else {
        return;
    };
    let (code, cx) = send_code(&setup, email(), EMAIL).await;
    let verify = || VerifyPasswordlessOptions::new(email(), code.clone());
    // Two tabs of one browser post the same code: the second finds its transaction used.
    let tab = StoreContext::from_cookies(cx.cookies());
    setup
        .client
        .verify_passwordless(verify(), &cx)
        .await
        .unwrap();
    let again = setup.client.verify_passwordless(verify(), &tab).await;
    assert!(matches!(again, Err(Error::MissingTransaction)), "{again:?}");
    // A new start for someone else in that browser: the provider refuses the used code.
    let (_, cx) = send_code_from(&setup, email(), EMAIL, &tab).await;
    let replay = setup.client.verify_passwordless(verify(), &cx).await;
    refused_with(replay, "invalid_grant");
}

async fn wrong_codes_are_refused_and_the_third_ends_the_code(store: Store) {
    let Some(setup) = store.setup().await else {
        return;
    };
    let (code, mut cx) = send_code(&setup, email(), EMAIL).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for attempt in 1..=auth0_dev_tenant::MAX_OTP_ATTEMPTS {
        let result = setup
            .client
            .verify_passwordless(VerifyPasswordlessOptions::new(email(), wrong), &cx)
            .await;
        // The transaction stays for the next try in this browser.
        cx = StoreContext::from_cookies(cx.cookies());
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
        .verify_passwordless(VerifyPasswordlessOptions::new(email(), code), &cx)
        .await;
    refused_with(late, "invalid_grant");
}

async fn an_expired_code_is_refused(store: Store) {
    let clock = ManualClock::starting_now();
    let tenant = |t: auth0_dev_tenant::DevTenantBuilder| t.clock(Arc::new(clock.clone()));
    let Some(setup) = store.setup_with(tenant, |c| c.audience(API)).await else {
        return;
    };
    let (code, cx) = send_code(&setup, email(), EMAIL).await;
    clock.advance(auth0_dev_tenant::PASSWORDLESS_CODE_LIFETIME + Duration::from_secs(1));
    let late = setup
        .client
        .verify_passwordless(VerifyPasswordlessOptions::new(email(), code), &cx)
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

async fn a_magic_link_completes_at_the_callback_once_and_in_its_browser_only(store: Store) {
    let Some(setup) = store.setup().await else {
        return;
    };
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
    let (code, cx) = send_code(&setup, email(), EMAIL).await;
    let done = setup
        .client
        .verify_passwordless(VerifyPasswordlessOptions::new(email(), code), &cx)
        .await
        .unwrap();
    assert_eq!(done.user.email.as_deref(), Some(EMAIL));
}

async fn an_attackers_code_posted_from_the_victims_browser_logs_nobody_in(store: Store) {
    let Some(setup) = store.setup().await else {
        return;
    };
    // The attacker starts a login for their own address in their browser, and gets a code.
    let attacker = PasswordlessRecipient::Email("mallory@example.com".to_owned());
    let (code, _) = send_code(&setup, attacker.clone(), "mallory@example.com").await;
    // A cross-site form posts it to the app's verify route from the victim's browser.
    let victim = StoreContext::new();
    let result = setup
        .client
        .verify_passwordless(VerifyPasswordlessOptions::new(attacker, code), &victim)
        .await;
    assert!(
        matches!(result, Err(Error::MissingTransaction)),
        "{result:?}"
    );
    let victim = StoreContext::from_cookies(victim.cookies());
    assert!(setup.client.get_user(&victim).await.unwrap().is_none());
}

async fn a_code_for_another_recipient_than_this_browser_started_is_refused(store: Store) {
    let Some(setup) = store.setup().await else {
        return;
    };
    // The victim started a login for themselves; the attacker's code for the attacker's
    // address is posted in the victim's browser.
    let (_, victim) = send_code(&setup, email(), EMAIL).await;
    let attacker = PasswordlessRecipient::Email("mallory@example.com".to_owned());
    let (code, _) = send_code(&setup, attacker.clone(), "mallory@example.com").await;
    let result = setup
        .client
        .verify_passwordless(VerifyPasswordlessOptions::new(attacker, code), &victim)
        .await;
    assert!(
        matches!(result, Err(Error::MissingTransaction)),
        "{result:?}"
    );
}

async fn another_links_code_under_this_browsers_state_is_refused(store: Store) {
    let Some(setup) = store.setup().await else {
        return;
    };
    let browser = Browser::new(&setup.tenant);
    // The victim's browser started a magic link; its callback's `state` is known.
    let victim = StoreContext::new();
    let link = send_link(&setup, &victim).await;
    let victims = browser.go(link, None).await.left();
    // The attacker's own magic link, for the attacker's address, followed by the attacker.
    let mallory = "mallory@example.com";
    let options = StartPasswordlessOptions {
        send: PasswordlessSend::Link,
        ..StartPasswordlessOptions::new(PasswordlessRecipient::Email(mallory.to_owned()))
    };
    let attacker = StoreContext::new();
    setup
        .client
        .start_passwordless(options, &attacker)
        .await
        .unwrap();
    let link = setup.tenant.tenant().passwordless_link(mallory).unwrap();
    let attackers = browser
        .go(url::Url::parse(&link).unwrap(), None)
        .await
        .left();
    // The attacker's code under the victim's `state`, opened in the victim's browser.
    let mut forged = victims.clone();
    let q = query(&attackers);
    forged
        .query_pairs_mut()
        .clear()
        .append_pair("code", &q["code"])
        .append_pair("state", &query(&victims)["state"])
        .append_pair("iss", &q["iss"]);
    let victim = StoreContext::from_cookies(victim.cookies());
    let result = setup
        .client
        .complete_interactive_login(forged.as_str(), &victim)
        .await;
    assert!(
        matches!(result, Err(Error::InvalidIdToken(_))),
        "{result:?}"
    );
    let victim = StoreContext::from_cookies(victim.cookies());
    assert!(setup.client.get_user(&victim).await.unwrap().is_none());
}

async fn a_new_start_does_not_reset_the_attempts(store: Store) {
    let Some(setup) = store.setup().await else {
        return;
    };
    let (code, mut cx) = send_code(&setup, email(), EMAIL).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 1..auth0_dev_tenant::MAX_OTP_ATTEMPTS {
        let result = setup
            .client
            .verify_passwordless(VerifyPasswordlessOptions::new(email(), wrong), &cx)
            .await;
        refused_with(result, "invalid_grant");
        cx = StoreContext::from_cookies(cx.cookies());
    }
    // A new start: a new code, but the tries already spent still count.
    let (code, cx) = send_code_from(&setup, email(), EMAIL, &cx).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let last = setup
        .client
        .verify_passwordless(VerifyPasswordlessOptions::new(email(), wrong), &cx)
        .await;
    match last {
        Err(Error::PasswordlessVerify { description, .. }) => assert!(
            description
                .as_deref()
                .unwrap_or_default()
                .contains("maximum"),
            "{description:?}"
        ),
        other => panic!("{other:?}"),
    }
    // Locked: neither the right code nor yet another start unlocks it.
    let cx = StoreContext::from_cookies(cx.cookies());
    let (code, cx) = send_code_from(&setup, email(), EMAIL, &cx).await;
    let late = setup
        .client
        .verify_passwordless(VerifyPasswordlessOptions::new(email(), code), &cx)
        .await;
    refused_with(late, "invalid_grant");
}

async fn a_magic_links_code_is_not_taken_by_the_otp_grant(store: Store) {
    let Some(setup) = store.setup().await else {
        return;
    };
    let (_, cx) = send_code(&setup, email(), EMAIL).await;
    // A link for the same address replaces the code; its verification code is typed.
    send_link(&setup, &StoreContext::new()).await;
    let clicked = setup.tenant.tenant().passwordless_code(EMAIL).unwrap();
    let typed = setup
        .client
        .verify_passwordless(VerifyPasswordlessOptions::new(email(), clicked), &cx)
        .await;
    refused_with(typed, "invalid_grant");
}
