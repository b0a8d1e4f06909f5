//! Custom token exchange at the dev tenant: `ServerClient::custom_token_exchange` and
//! `login_with_custom_token_exchange` against the RFC 8693 grant, with subject tokens the
//! tenant issued (`DevTenant::issue_subject_token`), its refusals, expiry and replays.

use std::sync::Arc;
use std::time::Duration;

use auth0_test_support::dev_tenant as support;

use auth0_dev_tenant::{DevOrganization, SUBJECT_TOKEN_LIFETIME};
use auth0_server_core::client::{AccessTokenOptions, CustomTokenExchangeOptions, Error};
use auth0_server_core::clock::ManualClock;
use auth0_server_core::store::StoreContext;
use support::*;

/// The tenant's Custom Token Exchange Profile's type.
const LEGACY: &str = "urn:acme:legacy-token";
/// The RFC 8693 type of an access token.
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

async fn setup() -> Setup {
    Setup::start_with(|t| t.custom_token_type(LEGACY), |c| c.audience(API)).await
}

fn subject_token(setup: &Setup, email: &str) -> String {
    setup
        .tenant
        .tenant()
        .issue_subject_token(LEGACY, email)
        .unwrap()
}

/// The provider's refusal of an exchange: its error code and HTTP status.
fn refusal(error: &Error) -> (&str, u16) {
    match error {
        Error::CustomTokenExchange { error, status, .. } => (error.as_str(), *status),
        other => panic!("expected CustomTokenExchange, got {other:?}"),
    }
}

#[tokio::test]
async fn a_login_by_custom_token_exchange_starts_a_session() {
    let setup = setup().await;
    let cx = StoreContext::new();
    let token = subject_token(&setup, EMAIL);
    let login = setup
        .client
        .login_with_custom_token_exchange(CustomTokenExchangeOptions::new(token, LEGACY), &cx)
        .await
        .unwrap();
    assert_eq!(login.user.sub, setup.tenant.tenant().user_id(EMAIL));
    assert_eq!(
        login.user.email.as_deref(),
        Some(EMAIL),
        "the configured scope"
    );
    let next = StoreContext::from_cookies(cx.cookies());
    let session = setup.client.get_session(&next).await.unwrap().unwrap();
    assert!(session.id_token.is_some() && session.refresh_token.is_some());
    assert_eq!(session.token_sets[0].audience, API);
    // The session works as an interactive login's: its refresh token refreshes.
    let forced = AccessTokenOptions {
        force_refresh: true,
        ..AccessTokenOptions::default()
    };
    let refreshed = setup.client.get_access_token(forced, &next).await.unwrap();
    assert_ne!(refreshed.token, session.token_sets[0].access_token);
}

#[tokio::test]
async fn a_replayed_subject_token_is_refused_and_starts_no_session() {
    let setup = setup().await;
    let token = subject_token(&setup, EMAIL);
    let options = CustomTokenExchangeOptions::new(token.clone(), LEGACY);
    let first = StoreContext::new();
    setup
        .client
        .login_with_custom_token_exchange(options.clone(), &first)
        .await
        .unwrap();
    let replay = StoreContext::new();
    let error = setup
        .client
        .login_with_custom_token_exchange(options, &replay)
        .await
        .unwrap_err();
    assert_eq!(refusal(&error), ("invalid_request", 400));
    assert_eq!(error.code(), "token_exchange_failed");
    for shown in [error.to_string(), format!("{error:?}")] {
        assert!(!shown.contains(&token), "{shown}");
    }
    assert!(setup.client.get_session(&replay).await.unwrap().is_none());
}

#[tokio::test]
async fn an_expired_subject_token_is_refused() {
    let clock = ManualClock::starting_now();
    let setup = Setup::start_with(
        |t| t.custom_token_type(LEGACY).clock(Arc::new(clock.clone())),
        |c| c.clock(Arc::new(clock.clone())),
    )
    .await;
    let token = subject_token(&setup, EMAIL);
    clock.advance(SUBJECT_TOKEN_LIFETIME + Duration::from_secs(1));
    let error = setup
        .client
        .custom_token_exchange(
            CustomTokenExchangeOptions::new(token, LEGACY),
            &StoreContext::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(refusal(&error), ("invalid_request", 400));
}

#[tokio::test]
async fn a_type_without_a_profile_or_a_made_up_token_is_refused() {
    let setup = setup().await;
    let token = subject_token(&setup, EMAIL);
    let cx = StoreContext::new();
    let other_type = CustomTokenExchangeOptions::new(token.clone(), "urn:acme:other-token");
    let error = setup
        .client
        .custom_token_exchange(other_type, &cx)
        .await
        .unwrap_err();
    assert_eq!(refusal(&error), ("invalid_request", 400));
    let made_up = CustomTokenExchangeOptions::new("not-issued-by-the-tenant", LEGACY);
    let error = setup
        .client
        .custom_token_exchange(made_up, &cx)
        .await
        .unwrap_err();
    assert_eq!(refusal(&error), ("invalid_request", 400));
    // The one refused for its type was not spent.
    let ok = CustomTokenExchangeOptions::new(token, LEGACY);
    assert!(setup.client.custom_token_exchange(ok, &cx).await.is_ok());
}

#[tokio::test]
async fn an_exchange_without_login_gives_tokens_for_the_api_and_no_session() {
    let setup = setup().await;
    let cx = StoreContext::new();
    let options = CustomTokenExchangeOptions::new(subject_token(&setup, EMAIL), LEGACY)
        .audience(API)
        .scope("openid read:messages");
    let tokens = setup
        .client
        .custom_token_exchange(options, &cx)
        .await
        .unwrap();
    assert_eq!(tokens.extra["issued_token_type"], ACCESS_TOKEN_TYPE);
    assert_eq!(tokens.scope.as_deref(), Some("openid read:messages"));
    assert!(
        tokens.id_token.is_some(),
        "openid asked: an ID token, validated"
    );
    assert!(tokens.refresh_token.is_none(), "no offline_access asked");
    assert!(setup.client.get_session(&cx).await.unwrap().is_none());
    let unknown_api = CustomTokenExchangeOptions::new(subject_token(&setup, EMAIL), LEGACY)
        .audience("https://unknown.example.com");
    let error = setup
        .client
        .custom_token_exchange(unknown_api, &cx)
        .await
        .unwrap_err();
    assert_eq!(refusal(&error), ("access_denied", 403));
}

#[tokio::test]
async fn an_actor_token_must_be_one_of_the_tenant() {
    let setup = setup().await;
    let browser = Browser::new(&setup.tenant);
    let (_, cx, _) = setup.login(&browser).await;
    let actor = setup
        .client
        .get_access_token(AccessTokenOptions::default(), &cx)
        .await
        .unwrap()
        .token;
    let fresh = StoreContext::new();
    let with_actor =
        CustomTokenExchangeOptions::new(subject_token(&setup, "bob@example.com"), LEGACY)
            .actor(actor, ACCESS_TOKEN_TYPE);
    assert!(
        setup
            .client
            .custom_token_exchange(with_actor, &fresh)
            .await
            .is_ok()
    );
    let forged = CustomTokenExchangeOptions::new(subject_token(&setup, "bob@example.com"), LEGACY)
        .actor("forged", ACCESS_TOKEN_TYPE);
    let error = setup
        .client
        .custom_token_exchange(forged, &fresh)
        .await
        .unwrap_err();
    assert_eq!(refusal(&error), ("invalid_request", 400));
}

#[tokio::test]
async fn an_organization_login_needs_a_member_and_is_checked_in_the_id_token() {
    let setup = Setup::start_with(
        |t| {
            t.custom_token_type(LEGACY)
                .organization(DevOrganization::new("org_acme123", "acme").member(EMAIL))
        },
        |c| c,
    )
    .await;
    let cx = StoreContext::new();
    let member = CustomTokenExchangeOptions::new(subject_token(&setup, EMAIL), LEGACY)
        .organization("org_acme123");
    let login = setup
        .client
        .login_with_custom_token_exchange(member, &cx)
        .await
        .unwrap();
    assert_eq!(
        login.organization.map(|o| o.id).as_deref(),
        Some("org_acme123")
    );
    let outsider =
        CustomTokenExchangeOptions::new(subject_token(&setup, "eve@example.com"), LEGACY)
            .organization("acme");
    let error = setup
        .client
        .login_with_custom_token_exchange(outsider, &StoreContext::new())
        .await
        .unwrap_err();
    assert_eq!(refusal(&error), ("access_denied", 403));
}
