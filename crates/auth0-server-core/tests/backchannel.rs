//! CIBA (`login_backchannel`) and `get_token_by_refresh_token` end to end against the real
//! OpenID provider (`oidc-provider`, started by `scripts/oidc-provider.sh`; see
//! `tests/oidc_provider.rs` for how it is found). The provider's test hooks play the user's
//! authentication device: they list the pending requests and approve or deny them through the
//! provider's own `backchannelResult`; its backchannel endpoint names an `interval` of 1 s.

use std::sync::Arc;
use std::time::{Duration, Instant};

use auth0_server_core::Secrets;
use auth0_server_core::client::{
    AccessTokenOptions, BackchannelOptions, CIBA_GRANT_TYPE, Error, LoginHint, RefreshTokenOptions,
    SLOW_DOWN_STEP, ServerClient,
};
use auth0_server_core::store::{ServerSideStateStore, StoreContext};
use auth0_store_memory::{MemoryBackend, MemoryTransactionBackend};
use auth0_test_support::oidc::{LOGIN, LOGIN_NAME, Provider};
use serde_json::json;
use url::Url;

const SECRET: &str = "a-secret-of-at-least-thirty-two-bytes-for-e2e";
/// The provider's CIBA `interval` (provider.mjs's CIBA_INTERVAL).
const PROVIDER_INTERVAL: Duration = Duration::from_secs(1);

fn api(test: &str) -> String {
    format!("https://api.example.com/ciba/{test}")
}

/// A CIBA client registered at the provider, and the app's `ServerClient` for it.
struct App {
    client: ServerClient,
    client_id: String,
}

async fn app(provider: &Provider, name: &str) -> App {
    // The app never serves a callback: CIBA needs none.
    let base = Url::parse("http://127.0.0.1:9/").unwrap();
    let grants = json!({
        "grant_types": ["authorization_code", "refresh_token", CIBA_GRANT_TYPE],
        "backchannel_token_delivery_mode": "poll",
    });
    let (client_id, secret) = provider
        .register_with(&base, name, "logged-out", grants)
        .await;
    let secrets = Secrets::parse(SECRET).unwrap();
    let client = ServerClient::builder()
        .domain(provider.issuer.clone())
        .client_id(client_id.clone())
        .client_secret(secret)
        .secret(SECRET)
        .redirect_uri(base.join("callback").unwrap().to_string())
        .state_store(Arc::new(ServerSideStateStore::new(
            MemoryBackend::new(),
            &secrets,
        )))
        .transaction_store(Arc::new(
            MemoryTransactionBackend::new().transaction_store(),
        ))
        .build()
        .unwrap();
    App { client, client_id }
}

fn options(audience: &str, message: &str) -> BackchannelOptions {
    BackchannelOptions {
        binding_message: Some(message.to_owned()),
        audience: Some(audience.to_owned()),
        scope: Some("offline_access read:messages".to_owned()),
        ..BackchannelOptions::new(LoginHint::sub(LOGIN))
    }
}

/// The one pending request of the app's client: its id, after checking it names the user
/// and the binding message.
async fn pending(provider: &Provider, app: &App, message: &str) -> String {
    let pending = provider.ciba_pending(&app.client_id).await;
    assert_eq!(pending.len(), 1, "one request on the device: {pending:?}");
    let (id, sub, binding) = &pending[0];
    assert_eq!(sub, LOGIN, "the login_hint named the user");
    assert_eq!(binding.as_deref(), Some(message));
    id.clone()
}

#[tokio::test]
async fn ciba_approved_on_the_device_logs_the_user_in_with_a_validated_id_token() {
    let Some(provider) = Provider::from_env() else {
        return;
    };
    let app = app(&provider, "CIBA approved").await;
    let audience = api("approved");
    let cx = StoreContext::new();
    let login = app
        .client
        .login_backchannel(options(&audience, "Login 42"), &cx);
    let device = async {
        let id = pending(&provider, &app, "Login 42").await;
        provider.ciba_answer(&id, true).await;
    };
    let (result, ()) = tokio::join!(login, device);
    let result = result.unwrap();
    assert_eq!(result.user.sub, LOGIN);
    assert_eq!(result.user.name.as_deref(), Some(LOGIN_NAME));
    let (_, id_claims) = provider
        .verified_claims(result.tokens.id_token.as_deref().unwrap())
        .await;
    assert_eq!(id_claims["aud"], app.client_id.as_str());
    let (_, access) = provider.verified_claims(&result.tokens.access_token).await;
    assert_eq!(access["aud"], audience.as_str());
    assert!(result.tokens.refresh_token.is_some(), "offline_access");
    assert!(!format!("{result:?}").contains(&result.tokens.access_token));

    // Like the Python SDK's login_backchannel, a session now holds the user and tokens.
    let cx = StoreContext::from_cookies(cx.cookies());
    let user = app.client.get_user(&cx).await.unwrap().expect("a session");
    assert_eq!(user.sub, LOGIN);
    let stored = app
        .client
        .get_access_token(
            AccessTokenOptions {
                audience: Some(audience.clone()),
                ..AccessTokenOptions::default()
            },
            &cx,
        )
        .await
        .unwrap();
    assert_eq!(
        stored.token, result.tokens.access_token,
        "filed under the audience"
    );
}

#[tokio::test]
async fn ciba_denied_on_the_device_is_access_denied() {
    let Some(provider) = Provider::from_env() else {
        return;
    };
    let app = app(&provider, "CIBA denied").await;
    let login = app
        .client
        .backchannel_authentication(options(&api("denied"), "Deny me"));
    let device = async {
        let id = pending(&provider, &app, "Deny me").await;
        provider.ciba_answer(&id, false).await;
    };
    let (result, ()) = tokio::join!(login, device);
    let error = result.unwrap_err();
    assert!(
        matches!(error, Error::BackchannelDenied { .. }),
        "{error:?}"
    );
    assert_eq!(error.code(), "access_denied");
}

#[tokio::test]
async fn ciba_unanswered_until_requested_expiry_is_expired_token() {
    let Some(provider) = Provider::from_env() else {
        return;
    };
    let app = app(&provider, "CIBA expired").await;
    let started = Instant::now();
    let error = app
        .client
        .backchannel_authentication(BackchannelOptions {
            requested_expiry: Some(1),
            ..options(&api("expired"), "Too late")
        })
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::BackchannelExpired { .. }),
        "{error:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "it gave up in time"
    );
}

#[tokio::test]
async fn ciba_slow_down_makes_the_client_poll_less_often() {
    let Some(provider) = Provider::from_env() else {
        return;
    };
    let app = app(&provider, "CIBA slow_down").await;
    provider
        .inject_token_error(&app.client_id, CIBA_GRANT_TYPE, 400, "slow_down", 1)
        .await;
    let started = Instant::now();
    let login = app
        .client
        .backchannel_authentication(options(&api("slow"), "Slow"));
    let device = async {
        let id = pending(&provider, &app, "Slow").await;
        // Approved at once: the first poll is told to slow down, the second gets the tokens.
        provider.ciba_answer(&id, true).await;
    };
    let (result, ()) = tokio::join!(login, device);
    result.unwrap();
    let polls = provider
        .token_requests(&app.client_id, CIBA_GRANT_TYPE)
        .await;
    assert_eq!(polls, 2);
    let waited = started.elapsed();
    let least = PROVIDER_INTERVAL + PROVIDER_INTERVAL + SLOW_DOWN_STEP;
    assert!(
        waited >= least,
        "after slow_down the second poll waits the longer interval: {waited:?}"
    );
}

#[tokio::test]
async fn a_dropped_ciba_login_stops_polling() {
    let Some(provider) = Provider::from_env() else {
        return;
    };
    let app = app(&provider, "CIBA cancelled").await;
    let login = app
        .client
        .backchannel_authentication(options(&api("cancel"), "Cancel"));
    let cut = tokio::time::timeout(Duration::from_millis(2500), login).await;
    assert!(cut.is_err(), "still pending when cut off");
    let polls = provider
        .token_requests(&app.client_id, CIBA_GRANT_TYPE)
        .await;
    assert!((1..=3).contains(&polls), "it polled while alive: {polls}");
    tokio::time::sleep(PROVIDER_INTERVAL * 3).await;
    let after = provider
        .token_requests(&app.client_id, CIBA_GRANT_TYPE)
        .await;
    assert_eq!(after, polls, "no poll after the future was dropped");
}

#[tokio::test]
async fn refresh_token_grant_gives_typed_tokens_and_invalid_grant_is_refresh_failed() {
    let Some(provider) = Provider::from_env() else {
        return;
    };
    let app = app(&provider, "refresh grant").await;
    let audience = api("refresh");
    let login = app
        .client
        .backchannel_authentication(options(&audience, "Refresh"));
    let device = async {
        let id = pending(&provider, &app, "Refresh").await;
        provider.ciba_answer(&id, true).await;
    };
    let (result, ()) = tokio::join!(login, device);
    let refresh_token = result.unwrap().tokens.refresh_token.unwrap();
    let refreshed = app
        .client
        .get_token_by_refresh_token(
            &refresh_token,
            RefreshTokenOptions {
                audience: Some(audience.clone()),
                ..RefreshTokenOptions::default()
            },
        )
        .await
        .unwrap();
    let (_, access) = provider.verified_claims(&refreshed.access_token).await;
    assert_eq!(access["aud"], audience.as_str());
    assert_eq!(access["sub"], LOGIN);
    assert!(refreshed.expires_at > 0 && refreshed.token_type.is_some());

    let error = app
        .client
        .get_token_by_refresh_token("not-a-refresh-token", RefreshTokenOptions::default())
        .await
        .unwrap_err();
    match &error {
        Error::RefreshFailed { error, .. } => assert_eq!(error, "invalid_grant"),
        other => panic!("expected invalid_grant, got {other:?}"),
    }
}

#[tokio::test]
async fn a_provider_without_a_backchannel_endpoint_gives_a_typed_error() {
    // An error path: a discovery document without CIBA, on loopback.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let document = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
    });
    let router = axum::Router::new().route(
        "/.well-known/openid-configuration",
        axum::routing::get(move || async move { axum::Json(document) }),
    );
    tokio::spawn(async move { axum::serve(listener, router).await });
    let client = ServerClient::builder()
        .domain(issuer)
        .client_id("cid")
        .client_secret("csecret")
        .secret(SECRET)
        .redirect_uri("http://127.0.0.1:9/callback")
        .state_store(Arc::new(ServerSideStateStore::new(
            MemoryBackend::new(),
            &Secrets::parse(SECRET).unwrap(),
        )))
        .transaction_store(Arc::new(
            MemoryTransactionBackend::new().transaction_store(),
        ))
        .build()
        .unwrap();
    let error = client
        .backchannel_authentication(BackchannelOptions::new(LoginHint::sub("auth0|x")))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::BackchannelUnsupported), "{error:?}");
    assert!(error.to_string().contains("enable CIBA"), "{error}");
    let empty = client
        .backchannel_authentication(BackchannelOptions::new(LoginHint::sub(" ")))
        .await
        .unwrap_err();
    assert_eq!(empty.code(), "invalid_argument");
}
