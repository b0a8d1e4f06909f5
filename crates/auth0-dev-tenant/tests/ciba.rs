//! CIBA at the dev tenant: `ServerClient::login_backchannel` against `/bc-authorize` and the
//! CIBA grant, with the test as the user's device (`DevTenant::backchannel_requests` and
//! `answer_backchannel_request`), and the tenant's own `slow_down` and expiry.

use std::time::Duration;

use auth0_test_support::dev_tenant as support;

use auth0_server_core::client::{BackchannelOptions, CIBA_GRANT_TYPE, Error, LoginHint};
use auth0_server_core::store::StoreContext;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::*;

/// The tenant's poll interval in these tests.
const INTERVAL: Duration = Duration::from_secs(1);

async fn setup() -> Setup {
    Setup::start_with(
        |t| t.backchannel_poll_interval(INTERVAL),
        |c| c.audience(API),
    )
    .await
}

fn options(sub: &str, message: &str) -> BackchannelOptions {
    BackchannelOptions {
        binding_message: Some(message.to_owned()),
        ..BackchannelOptions::new(LoginHint::sub(sub))
    }
}

/// Waits for the one pending request and answers it as the user.
async fn device(setup: &Setup, sub: &str, message: &str, approve: bool) {
    let tenant = setup.tenant.tenant();
    let mut pending = tenant.backchannel_requests();
    for _ in 0..100 {
        if !pending.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        pending = tenant.backchannel_requests();
    }
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0].sub, sub);
    assert_eq!(pending[0].binding_message.as_deref(), Some(message));
    assert_eq!(pending[0].audience.as_deref(), Some(API));
    assert!(tenant.answer_backchannel_request(&pending[0].id, approve));
    assert!(
        !tenant.answer_backchannel_request(&pending[0].id, approve),
        "answered once"
    );
}

#[tokio::test]
async fn ciba_approved_at_the_dev_tenant_starts_a_session() {
    let setup = setup().await;
    let sub = setup.tenant.tenant().user_id(EMAIL);
    let cx = StoreContext::new();
    let login = setup
        .client
        .login_backchannel(options(&sub, "Dev login 1"), &cx);
    let (result, ()) = tokio::join!(login, device(&setup, &sub, "Dev login 1", true));
    let result = result.unwrap();
    assert_eq!(result.user.sub, sub);
    assert_eq!(result.user.email.as_deref(), Some(EMAIL));
    let (_, access) = verified(&setup.tenant, &result.tokens.access_token).await;
    assert_eq!(access["aud"][0], API);
    assert!(result.tokens.refresh_token.is_some(), "offline_access");
    let cx = StoreContext::from_cookies(cx.cookies());
    let user = setup
        .client
        .get_user(&cx)
        .await
        .unwrap()
        .expect("a session");
    assert_eq!(user.sub, sub);
}

#[tokio::test]
async fn ciba_denied_at_the_dev_tenant_is_access_denied() {
    let setup = setup().await;
    let sub = setup.tenant.tenant().user_id(EMAIL);
    let login = setup
        .client
        .backchannel_authentication(options(&sub, "Dev deny"));
    let (result, ()) = tokio::join!(login, device(&setup, &sub, "Dev deny", false));
    assert!(
        matches!(result, Err(Error::BackchannelDenied { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn ciba_unanswered_at_the_dev_tenant_expires() {
    let setup = setup().await;
    let sub = setup.tenant.tenant().user_id(EMAIL);
    let result = setup
        .client
        .backchannel_authentication(BackchannelOptions {
            requested_expiry: Some(1),
            ..options(&sub, "Dev expire")
        })
        .await;
    assert!(
        matches!(result, Err(Error::BackchannelExpired { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn an_unknown_user_is_refused_at_the_start() {
    let setup = setup().await;
    let result = setup
        .client
        .backchannel_authentication(options("auth0|nobody", "Who"))
        .await;
    match result {
        Err(Error::Backchannel { error, .. }) => assert_eq!(error, "unknown_user_id"),
        other => panic!("expected unknown_user_id, got {other:?}"),
    }
}

/// A backchannel authentication request made by hand: its `auth_req_id`.
async fn start_by_hand(setup: &Setup, sub: &str) -> String {
    let hint = json!({"format": "iss_sub", "iss": setup.tenant.issuer(), "sub": sub});
    let response = http_client()
        .post(format!("{}bc-authorize", setup.tenant.issuer()))
        .basic_auth(setup.tenant.client_id(), Some(setup.tenant.client_secret()))
        .form(&[("scope", "openid"), ("login_hint", &hint.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["interval"], INTERVAL.as_secs());
    body["auth_req_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_dev_tenant_answers_slow_down_to_a_client_polling_too_fast() {
    let setup = setup().await;
    let sub = setup.tenant.tenant().user_id(EMAIL);
    let id = start_by_hand(&setup, &sub).await;
    let credentials = Some((setup.tenant.client_id(), setup.tenant.client_secret()));
    let poll = [
        ("grant_type", CIBA_GRANT_TYPE),
        ("auth_req_id", id.as_str()),
    ];
    let (status, body, _) = token_request(&setup.tenant, &poll, credentials).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("authorization_pending"))
    );
    let (_, body, _) = token_request(&setup.tenant, &poll, credentials).await;
    assert_eq!(body["error"], "slow_down", "polled again at once");
    // The interval is now 1 + 5 seconds: a poll after 1 s is still too soon.
    tokio::time::sleep(INTERVAL + Duration::from_millis(100)).await;
    let (_, body, _) = token_request(&setup.tenant, &poll, credentials).await;
    assert_eq!(body["error"], "slow_down", "the interval grew");
}

#[tokio::test]
async fn a_ciba_only_client_needs_no_redirect_uri() {
    let setup = setup().await;
    let tenant = &setup.tenant;
    let client = auth0_server_core::client::ServerClient::builder()
        .domain(tenant.domain())
        .client_id(tenant.client_id())
        .client_secret(tenant.client_secret())
        .secret(SECRET)
        .session_backend(auth0_store_memory::MemoryBackend::new())
        .transaction_backend(auth0_store_memory::MemoryTransactionBackend::new())
        .build()
        .expect("no redirect URI is needed to build");
    let sub = tenant.tenant().user_id(EMAIL);
    let login = client.backchannel_authentication(BackchannelOptions {
        audience: Some(API.to_owned()),
        ..options(&sub, "No callback")
    });
    let (result, ()) = tokio::join!(login, device(&setup, &sub, "No callback", true));
    assert_eq!(result.unwrap().user.sub, sub);

    let interactive = client
        .start_interactive_login(Default::default(), &StoreContext::new())
        .await
        .unwrap_err();
    assert_eq!(interactive.code(), "missing_required_argument_error");
    assert!(
        interactive.to_string().contains("AUTH0_REDIRECT_URI"),
        "{interactive}"
    );
}
