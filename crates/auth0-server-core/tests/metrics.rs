//! The client's metrics move as a user logs in, refreshes, logs out and is logged out by
//! the provider (back-channel), against the real `oidc-provider` (see tests/oidc_provider.rs
//! for how it is started; without `OIDC_PROVIDER_ISSUER` these tests skip loudly, or fail
//! when `CI` is set).
//!
//! A local `DebuggingRecorder` sees them: everything runs on one thread (a current-thread
//! runtime, the app's back-channel endpoint spawned on it), so this file installs no global
//! recorder and its tests cannot see each other's counts.

use auth0_test_support::oidc::{Browser, LOGIN, Provider};

use std::collections::BTreeMap;
use std::sync::Arc;

use auth0_server_core::Secrets;
use auth0_server_core::client::meters::{
    BACKCHANNEL_LOGOUTS, LOGINS_COMPLETED, LOGINS_FAILED, LOGINS_STARTED, LOGOUTS, REFRESHES,
    SESSIONS_REVOKED,
};
use auth0_server_core::client::{
    AccessTokenOptions, LogoutOptions, ServerClient, StartLoginOptions,
};
use auth0_server_core::store::{
    RevokeSessions, STORE_OPERATION_SECONDS, ServerSideStateStore, StoreContext,
};
use auth0_store_memory::{MemoryBackend, MemoryTransactionBackend};
use auth0_test_support::metrics::{count, recorded};
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::routing::post;
use url::Url;

const SECRET: &str = "a-secret-of-at-least-thirty-two-bytes-for-metrics";
const AUDIENCE: &str = "https://api.example.com/metrics";

/// `POST /backchannel-logout`, as an application serves it.
async fn backchannel_logout(
    State(client): State<ServerClient>,
    Form(form): Form<BTreeMap<String, String>>,
) -> StatusCode {
    let token = form.get("logout_token").map(String::as_str).unwrap_or("");
    match client
        .handle_backchannel_logout(token, &StoreContext::new())
        .await
    {
        Ok(_) => StatusCode::OK,
        Err(_) => StatusCode::BAD_REQUEST,
    }
}

/// A client with memory stores, registered at the provider, its back-channel logout
/// endpoint listening on loopback; its base URL and client id.
async fn app(provider: &Provider) -> (ServerClient, Url, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    let (client_id, client_secret) = provider.register(&base, "metrics", "logged-out").await;
    let secrets = Secrets::parse(SECRET).unwrap();
    let client = ServerClient::builder()
        .domain(provider.issuer.clone())
        .client_id(client_id.clone())
        .client_secret(client_secret)
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
    let router = axum::Router::new()
        .route("/backchannel-logout", post(backchannel_logout))
        .with_state(client.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (client, base, client_id)
}

/// A forced refresh of the session's token for [`AUDIENCE`].
fn forced() -> AccessTokenOptions {
    AccessTokenOptions {
        audience: Some(AUDIENCE.to_owned()),
        force_refresh: true,
        ..AccessTokenOptions::default()
    }
}

/// A whole login in `browser`; returns the next request's context.
async fn login(client: &ServerClient, browser: &Browser) -> StoreContext {
    let cx = StoreContext::new();
    let options = StartLoginOptions {
        audience: Some(AUDIENCE.to_owned()),
        scope: Some("offline_access read:messages".to_owned()),
        authorization_params: [("prompt".to_owned(), "consent".into())].into(),
        ..StartLoginOptions::default()
    };
    let url = client.start_interactive_login(options, &cx).await.unwrap();
    let callback = browser.navigate(url).await.left_at;
    client
        .complete_interactive_login(callback.as_str(), &cx)
        .await
        .unwrap();
    // The callback again: a login that fails (the transaction was used).
    let replayed = client
        .complete_interactive_login(callback.as_str(), &cx)
        .await;
    assert!(replayed.is_err());
    StoreContext::from_cookies(cx.cookies())
}

#[test]
fn counters_move_as_a_user_logs_in_refreshes_and_logs_out() {
    let Some(provider) = Provider::from_env() else {
        return;
    };
    let recorded = recorded(|| async move {
        let (client, base, _) = app(&provider).await;
        let browser = Browser::new(&provider);
        let cx = login(&client, &browser).await;

        // Two forced refreshes at once: one token request, the other takes its result.
        let (a, b) = tokio::join!(
            client.get_access_token(forced(), &cx),
            client.get_access_token(forced(), &cx),
        );
        assert_eq!(a.unwrap().token, b.unwrap().token);

        // Logout here, then at the provider, which tells the app by back-channel logout.
        let cx = StoreContext::from_cookies(cx.cookies());
        let return_to = base.join("logged-out").unwrap().to_string();
        let options = LogoutOptions {
            return_to: Some(return_to),
        };
        let redirect = client.logout(options, &cx).await.unwrap();
        let at_provider = redirect.provider_url().cloned().expect("a logout URL");
        browser.navigate(at_provider).await;
        // A forged logout token is refused.
        let refused = client
            .handle_backchannel_logout("not.a.token", &StoreContext::new())
            .await;
        assert!(refused.is_err());

        // Another login, whose session an operator revokes.
        login(&client, &Browser::new(&provider)).await;
        let ended = client
            .revoke_user_sessions(LOGIN, RevokeSessions::All)
            .await
            .unwrap();
        assert_eq!(ended, 1);
    });
    let c = |name, labels: &[(&str, &str)]| count(&recorded, name, labels);
    let interactive = [("flow", "interactive")];
    assert_eq!(c(LOGINS_STARTED, &interactive), 2);
    assert_eq!(c(LOGINS_COMPLETED, &interactive), 2);
    let replayed = [
        ("flow", "interactive"),
        ("step", "complete"),
        ("code", "missing_transaction_error"),
    ];
    assert_eq!(c(LOGINS_FAILED, &replayed), 2);
    assert_eq!(c(REFRESHES, &[("outcome", "done")]), 1);
    assert_eq!(c(REFRESHES, &[("outcome", "coalesced")]), 1);
    assert_eq!(c(REFRESHES, &[("outcome", "failed")]), 0);
    assert_eq!(c(LOGOUTS, &[("outcome", "done")]), 1);
    assert_eq!(c(BACKCHANNEL_LOGOUTS, &[("outcome", "done")]), 1);
    assert_eq!(c(BACKCHANNEL_LOGOUTS, &[("outcome", "refused")]), 1);
    assert_eq!(c(SESSIONS_REVOKED, &[("via", "revoke")]), 1);
    // The session ended here before the provider's back-channel logout came: none by it.
    assert_eq!(c(SESSIONS_REVOKED, &[("via", "backchannel_logout")]), 0);
    // And the stores' latency, under the same recorder.
    let memory_get = [("store", "memory"), ("operation", "get")];
    assert!(c(STORE_OPERATION_SECONDS, &memory_get) > 0);
}

#[test]
fn a_session_the_provider_ends_is_counted_as_revoked_by_backchannel_logout() {
    let Some(provider) = Provider::from_env() else {
        return;
    };
    let recorded = recorded(|| async move {
        let (client, base, _) = app(&provider).await;
        let browser = Browser::new(&provider);
        let cx = login(&client, &browser).await;
        // The user logs out at the provider without this app's session (another app's
        // logout, say): the app hears of it by back-channel logout only.
        let options = LogoutOptions {
            return_to: Some(base.join("logged-out").unwrap().to_string()),
        };
        let redirect = client.logout(options, &StoreContext::new()).await.unwrap();
        let at_provider = redirect.provider_url().cloned().expect("a logout URL");
        browser.navigate(at_provider).await;
        let user = client.get_user(&cx).await.unwrap();
        assert!(user.is_none(), "the back-channel logout ended the session");
    });
    let via_provider = [("via", "backchannel_logout")];
    assert_eq!(count(&recorded, SESSIONS_REVOKED, &via_provider), 1);
    let done = [("outcome", "done")];
    assert_eq!(count(&recorded, BACKCHANNEL_LOGOUTS, &done), 1);
}

#[test]
fn a_refresh_the_provider_refuses_is_counted_as_failed() {
    let Some(provider) = Provider::from_env() else {
        return;
    };
    let recorded = recorded(|| async move {
        let (client, _, client_id) = app(&provider).await;
        let cx = login(&client, &Browser::new(&provider)).await;
        provider
            .inject_token_error(&client_id, "refresh_token", 400, "invalid_grant", 1)
            .await;
        assert!(client.get_access_token(forced(), &cx).await.is_err());
    });
    assert_eq!(count(&recorded, REFRESHES, &[("outcome", "failed")]), 1);
    assert_eq!(count(&recorded, REFRESHES, &[("outcome", "done")]), 0);
}

#[test]
fn a_login_that_cannot_start_is_counted_as_failed_with_its_code() {
    // No provider at all: discovery fails at the first step, and nothing else is counted.
    let code = std::cell::Cell::new("");
    let recorded = recorded(|| async {
        let client = ServerClient::builder()
            .domain("http://127.0.0.1:9".to_owned())
            .client_id("metrics".to_owned())
            .client_secret("metrics-secret".to_owned())
            .secret(SECRET)
            .redirect_uri("http://127.0.0.1:1/callback".to_owned())
            .state_store(Arc::new(ServerSideStateStore::new(
                MemoryBackend::new(),
                &Secrets::parse(SECRET).unwrap(),
            )))
            .transaction_store(Arc::new(
                MemoryTransactionBackend::new().transaction_store(),
            ))
            .build()
            .unwrap();
        let started = client
            .start_interactive_login(StartLoginOptions::default(), &StoreContext::new())
            .await;
        code.set(started.unwrap_err().code());
    });
    assert_eq!(code.get(), "network_error");
    let failed = [("step", "start"), ("code", code.get())];
    assert_eq!(count(&recorded, LOGINS_FAILED, &failed), 1);
    assert_eq!(count(&recorded, LOGINS_STARTED, &[]), 0);
}
