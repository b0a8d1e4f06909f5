//! Every way to log in moves the login counters under its own `flow` label
//! (`auth0_logins_{started,completed,failed}_total`): a passwordless code, a magic link (an
//! interactive login: it completes at the callback), CIBA and custom token exchange, at the
//! dev tenant. A local recorder sees them (everything runs on the test's thread).

use std::time::Duration;

use auth0_test_support::dev_tenant as support;

use auth0_server_core::client::meters::{LOGINS_COMPLETED, LOGINS_FAILED, LOGINS_STARTED};
use auth0_server_core::client::{
    BackchannelOptions, CustomTokenExchangeOptions, LoginHint, PasswordlessRecipient,
    PasswordlessSend, StartPasswordlessOptions, VerifyPasswordlessOptions,
};
use auth0_server_core::store::StoreContext;
use auth0_test_support::metrics::{count, recorded};
use support::*;

const LEGACY: &str = "urn:acme:legacy-token";

async fn setup() -> Setup {
    Setup::start_with(
        |t| {
            t.custom_token_type(LEGACY)
                .backchannel_poll_interval(Duration::from_secs(1))
        },
        |c| c.audience(API),
    )
    .await
}

/// A passwordless code sent and verified, and a magic link sent.
async fn passwordless(setup: &Setup) {
    let email = || PasswordlessRecipient::Email(EMAIL.to_owned());
    let cx = StoreContext::new();
    let start = StartPasswordlessOptions::new(email());
    setup.client.start_passwordless(start, &cx).await.unwrap();
    let code = setup.tenant.tenant().passwordless_code(EMAIL).unwrap();
    let cx = StoreContext::from_cookies(cx.cookies());
    let verify = VerifyPasswordlessOptions::new(email(), code);
    setup.client.verify_passwordless(verify, &cx).await.unwrap();
    let link = StartPasswordlessOptions {
        send: PasswordlessSend::Link,
        ..StartPasswordlessOptions::new(email())
    };
    let cx = StoreContext::new();
    setup.client.start_passwordless(link, &cx).await.unwrap();
}

/// A CIBA login the user approves on their device (the test).
async fn ciba(setup: &Setup) {
    let tenant = setup.tenant.tenant();
    let sub = tenant.user_id(EMAIL);
    let options = BackchannelOptions::new(LoginHint::sub(&sub));
    let cx = StoreContext::new();
    let device = async {
        loop {
            if let Some(pending) = tenant.backchannel_requests().first() {
                assert!(tenant.answer_backchannel_request(&pending.id, true));
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let (login, ()) = tokio::join!(setup.client.login_backchannel(options, &cx), device);
    login.unwrap();
}

/// A login by custom token exchange, and its token replayed (refused).
async fn token_exchange(setup: &Setup) {
    let token = setup
        .tenant
        .tenant()
        .issue_subject_token(LEGACY, EMAIL)
        .unwrap();
    let options = CustomTokenExchangeOptions::new(token, LEGACY);
    let (first, replay) = (StoreContext::new(), StoreContext::new());
    let client = &setup.client;
    let login = |cx| client.login_with_custom_token_exchange(options.clone(), cx);
    login(&first).await.unwrap();
    assert!(login(&replay).await.is_err(), "a replay");
}

#[test]
fn every_login_flow_is_counted_under_its_own_label() {
    let seen = recorded(|| async {
        let setup = setup().await;
        passwordless(&setup).await;
        ciba(&setup).await;
        token_exchange(&setup).await;
    });
    let c = |name, flow| count(&seen, name, &[("flow", flow)]);
    assert_eq!(c(LOGINS_STARTED, "passwordless"), 1);
    assert_eq!(c(LOGINS_COMPLETED, "passwordless"), 1);
    assert_eq!(c(LOGINS_STARTED, "interactive"), 1, "the magic link");
    assert_eq!(c(LOGINS_COMPLETED, "interactive"), 0);
    assert_eq!(c(LOGINS_STARTED, "ciba"), 1);
    assert_eq!(c(LOGINS_COMPLETED, "ciba"), 1);
    assert_eq!(c(LOGINS_STARTED, "token_exchange"), 2);
    assert_eq!(c(LOGINS_COMPLETED, "token_exchange"), 1);
    let replay = [("flow", "token_exchange"), ("step", "complete")];
    assert_eq!(count(&seen, LOGINS_FAILED, &replay), 1);
}
