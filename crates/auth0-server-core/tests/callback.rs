//! The callback's error paths, the authorization request, and client authentication.

mod support;

use auth0_server_core::client::{
    Error, LogoutOptions, LogoutRedirect, StartLoginOptions, TokenEndpointAuth,
};
use auth0_server_core::store::StoreContext;
use serde_json::json;
use support::*;

#[tokio::test]
async fn authorization_request_has_pkce_state_nonce_and_openid() {
    let h = Harness::start_with(|b| b.audience("https://api.example.com").scope("profile")).await;
    let cx = StoreContext::new();
    let mut options = StartLoginOptions::default();
    options
        .authorization_params
        .insert("prompt".into(), "login".into());
    options
        .authorization_params
        .insert("state".into(), "attacker-chosen".into());
    let url = h
        .client
        .start_interactive_login(options, &cx)
        .await
        .unwrap();
    let q: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43);
    assert!(
        q["state"].len() >= 43 && q["state"] != "attacker-chosen",
        "reserved params ignored"
    );
    assert!(q["nonce"].len() >= 43);
    assert_eq!(q["scope"], "openid profile");
    assert_eq!(q["audience"], "https://api.example.com");
    assert_eq!(q["prompt"], "login");
    assert_eq!(q["client_id"], CLIENT_ID);
    assert!(
        url.as_str()
            .starts_with(&format!("{}/authorize?", h.provider.base))
    );
}

#[tokio::test]
async fn error_parameter_is_a_typed_error_with_its_description() {
    let h = Harness::start().await;
    let cx = StoreContext::new();
    let q = h.start_login(&cx).await;
    let callback = format!(
        "http://localhost:5000/callback?error=access_denied&error_description=User%20said%20no&state={}",
        q["state"]
    );
    let err = h.complete(&callback, &cx).await.unwrap_err();
    match &err {
        Error::Authorization { error, description } => {
            assert_eq!(error, "access_denied");
            assert_eq!(description.as_deref(), Some("User said no"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.code(), "authorization_error");
    assert!(err.to_string().contains("User said no"));
    assert_eq!(h.provider.token_requests(), 0);
}

#[tokio::test]
async fn unknown_or_missing_state_is_a_missing_transaction() {
    let h = Harness::start().await;
    let cx = StoreContext::new();
    h.start_login(&cx).await;
    for callback in [
        "http://localhost:5000/callback?code=x&state=not-a-state-we-made",
        "http://localhost:5000/callback?code=x",
        "http://localhost:5000/callback?code=x&state=",
    ] {
        let err = h.complete(callback, &cx).await.unwrap_err();
        assert_eq!(err.code(), "missing_transaction_error", "{callback}");
    }
    assert_eq!(
        h.provider.token_requests(),
        0,
        "no code exchange without a transaction"
    );
}

#[tokio::test]
async fn a_replayed_callback_is_a_missing_transaction() {
    let h = Harness::start().await;
    let cx = StoreContext::new();
    let q = h.start_login(&cx).await;
    let callback = format!("http://localhost:5000/callback?code=x&state={}", q["state"]);
    let first = h.complete(&callback, &cx).await;
    assert!(
        first.is_err(),
        "nothing was scripted, so the exchange fails"
    );
    let second = h.complete(&callback, &cx).await.unwrap_err();
    assert_eq!(second.code(), "missing_transaction_error");
}

#[tokio::test]
async fn a_callback_from_another_issuer_is_refused() {
    let h = Harness::start().await;
    let cx = StoreContext::new();
    let q = h.start_login(&cx).await;
    let callback = format!(
        "http://localhost:5000/callback?code=x&state={}&iss=https%3A%2F%2Fevil.example",
        q["state"]
    );
    let err = h.complete(&callback, &cx).await.unwrap_err();
    assert_eq!(err.code(), "issuer_validation_error");
    assert_eq!(h.provider.token_requests(), 0);
}

#[tokio::test]
async fn a_missing_iss_is_refused_when_the_provider_always_sends_it() {
    let h = Harness::start().await;
    *h.provider.state.iss_parameter.lock().unwrap() = true;
    let cx = StoreContext::new();
    let q = h.start_login(&cx).await;
    let callback = format!("http://localhost:5000/callback?code=x&state={}", q["state"]);
    let err = h.complete(&callback, &cx).await.unwrap_err();
    assert_eq!(err.code(), "invalid_callback");
}

#[tokio::test]
async fn garbage_callback_urls_are_typed_errors() {
    let h = Harness::start().await;
    let cx = StoreContext::new();
    for garbage in [
        "",
        "::::",
        "http://[::1",
        "\u{0}",
        "%%%",
        "/callback?state=%ZZ",
    ] {
        let err = h.complete(garbage, &cx).await.unwrap_err();
        assert!(
            matches!(err.code(), "invalid_callback" | "missing_transaction_error"),
            "{garbage:?}: {err:?}"
        );
    }
}

#[tokio::test]
async fn a_callback_without_a_code_is_refused() {
    let h = Harness::start().await;
    let cx = StoreContext::new();
    let q = h.start_login(&cx).await;
    let callback = format!("http://localhost:5000/callback?state={}", q["state"]);
    let err = h.complete(&callback, &cx).await.unwrap_err();
    assert_eq!(err.code(), "invalid_callback");
}

#[tokio::test]
async fn a_refused_code_exchange_carries_the_oauth_error() {
    let h = Harness::start().await;
    let cx = StoreContext::new();
    let q = h.start_login(&cx).await;
    h.provider.push_token(
        400,
        &[],
        json!({"error": "invalid_grant", "error_description": "code expired"}),
    );
    let callback = format!("http://localhost:5000/callback?code=x&state={}", q["state"]);
    let err = h.complete(&callback, &cx).await.unwrap_err();
    match err {
        Error::TokenEndpoint {
            error,
            description,
            status,
        } => {
            assert_eq!(
                (error.as_str(), description.as_deref(), status),
                ("invalid_grant", Some("code expired"), 400)
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn code_exchange_sends_the_verifier_and_basic_auth_by_default() {
    let h = Harness::start().await;
    let cx = StoreContext::new();
    h.login_with_claims(json!({}), &cx).await.unwrap();
    let form = h.provider.state.forms.lock().unwrap()[0].clone();
    assert_eq!(form["grant_type"], "authorization_code");
    assert_eq!(form["code_verifier"].len(), 43);
    assert_eq!(form["redirect_uri"], "http://localhost:5000/callback");
    assert!(!form.contains_key("client_secret"));
    let auth = h.provider.state.auth_headers.lock().unwrap()[0]
        .clone()
        .unwrap();
    assert!(auth.starts_with("Basic "), "{auth}");
}

#[tokio::test]
async fn client_secret_post_puts_the_credentials_in_the_body() {
    let h =
        Harness::start_with(|b| b.token_endpoint_auth(TokenEndpointAuth::ClientSecretPost)).await;
    h.login_with_claims(json!({}), &StoreContext::new())
        .await
        .unwrap();
    let form = h.provider.state.forms.lock().unwrap()[0].clone();
    assert_eq!(form["client_id"], CLIENT_ID);
    assert_eq!(form["client_secret"], CLIENT_SECRET);
    assert!(h.provider.state.auth_headers.lock().unwrap()[0].is_none());
}

#[tokio::test]
async fn login_gives_a_fresh_session_id_and_returns_the_app_state() {
    let h = Harness::start().await;
    let cx = StoreContext::new();
    h.login_with_claims(json!({}), &cx).await.unwrap();
    // The default cookie options: the session-id cookie carries the `__Host-` prefix.
    let first_id = cx.cookie("__Host-_a0_session").unwrap();
    let cx2 = StoreContext::from_cookies(cx.cookies());
    let options = StartLoginOptions {
        app_state: Some(json!({"returnTo": "/profile"})),
        ..StartLoginOptions::default()
    };
    let url = h
        .client
        .start_interactive_login(options, &cx2)
        .await
        .unwrap();
    let q: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    let key = h.key.clone();
    h.provider.push_token(
        200,
        &[],
        json!({"access_token": "at", "id_token": key.sign(&h.claims(&q["nonce"], json!({})), &json!({})), "expires_in": 60}),
    );
    let done = h
        .complete(
            &format!("http://localhost:5000/callback?code=c&state={}", q["state"]),
            &cx2,
        )
        .await
        .unwrap();
    assert_eq!(done.app_state, Some(json!({"returnTo": "/profile"})));
    assert_ne!(
        cx2.cookie("__Host-_a0_session").unwrap(),
        first_id,
        "a login rotates the session id"
    );
    assert_eq!(h.backend.len(), 1, "the old session was deleted");
}

#[tokio::test]
async fn logout_uses_v2_logout_without_an_end_session_endpoint() {
    let h = Harness::start().await;
    let cx = StoreContext::new();
    h.login_with_claims(json!({}), &cx).await.unwrap();
    let url = h
        .client
        .logout(
            LogoutOptions {
                return_to: Some("http://localhost:5000/".into()),
            },
            &cx,
        )
        .await
        .unwrap()
        .provider_url()
        .cloned()
        .expect("the provider's logout URL");
    assert_eq!(url.path(), "/v2/logout");
    let q: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["returnTo"], "http://localhost:5000/");
    assert!(h.client.get_user(&cx).await.unwrap().is_none());
    assert!(h.backend.is_empty());
}

#[tokio::test]
async fn logout_uses_the_end_session_endpoint_when_discovered() {
    let h = Harness::start().await;
    *h.provider.state.end_session.lock().unwrap() = true;
    let cx = StoreContext::new();
    h.login_with_claims(json!({}), &cx).await.unwrap();
    let url = h
        .client
        .logout(
            LogoutOptions {
                return_to: Some("http://localhost:5000/".into()),
            },
            &cx,
        )
        .await
        .unwrap()
        .provider_url()
        .cloned()
        .expect("the provider's logout URL");
    assert_eq!(url.path(), "/session/end");
    let q: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(q["post_logout_redirect_uri"], "http://localhost:5000/");
    assert!(q.contains_key("id_token_hint"));
}

#[tokio::test]
async fn logout_with_the_provider_down_still_ends_the_session() {
    let h = Harness::start().await;
    let cx = StoreContext::new();
    h.login_with_claims(json!({}), &cx).await.unwrap();
    assert_eq!(h.backend.len(), 1);
    // Another instance of the app, on the same sessions, whose provider is down (nothing
    // listens on its port, and it has no metadata cached).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let client = auth0_server_core::client::ServerClient::builder()
        .domain(format!("http://127.0.0.1:{port}"))
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .secret(SECRET)
        .redirect_uri("http://localhost:5000/callback")
        .retry(auth0_server_core::client::RetryPolicy {
            max_retries: 1,
            base_delay: std::time::Duration::from_millis(1),
            max_delay: std::time::Duration::from_millis(5),
        })
        .state_store(std::sync::Arc::new(
            auth0_server_core::store::ServerSideStateStore::new(
                h.backend.clone(),
                &auth0_server_core::Secrets::parse(SECRET).unwrap(),
            ),
        ))
        .transaction_store(std::sync::Arc::new(
            auth0_store_memory::MemoryTransactionBackend::new().transaction_store(),
        ))
        .build()
        .unwrap();
    assert!(client.get_user(&cx).await.unwrap().is_some());
    let redirect = client
        .logout(
            LogoutOptions {
                return_to: Some("http://localhost:5000/".into()),
            },
            &cx,
        )
        .await
        .expect("the session ends even though the provider is down");
    match &redirect {
        LogoutRedirect::ProviderUnavailable { reason } => {
            assert_eq!(reason.code(), "network_error", "{reason}")
        }
        other => panic!("no provider to send the browser to, yet: {other:?}"),
    }
    assert!(client.get_user(&cx).await.unwrap().is_none());
    assert!(h.backend.is_empty(), "the stored session is gone");
}

#[tokio::test]
async fn a_provider_that_is_down_is_a_network_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let client = auth0_server_core::client::ServerClient::builder()
        .domain(format!("http://127.0.0.1:{port}"))
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .secret(SECRET)
        .redirect_uri("http://localhost:5000/callback")
        .retry(auth0_server_core::client::RetryPolicy {
            max_retries: 1,
            base_delay: std::time::Duration::from_millis(1),
            max_delay: std::time::Duration::from_millis(5),
        })
        .state_store(std::sync::Arc::new(
            auth0_server_core::store::ServerSideStateStore::new(
                auth0_store_memory::MemoryBackend::new(),
                &auth0_server_core::Secrets::parse(SECRET).unwrap(),
            ),
        ))
        .transaction_store(std::sync::Arc::new(
            auth0_store_memory::MemoryTransactionBackend::new().transaction_store(),
        ))
        .build()
        .unwrap();
    let err = client
        .start_interactive_login(StartLoginOptions::default(), &StoreContext::new())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "network_error");
    assert!(std::error::Error::source(&err).is_some());
}

#[tokio::test]
async fn requests_carry_the_auth0_client_telemetry_header() {
    use base64::Engine as _;
    let h = Harness::start().await;
    h.start_login(&StoreContext::new()).await;
    let sent = h.provider.state.telemetry.lock().unwrap().clone();
    assert_eq!(sent.len(), 1, "discovery was fetched once, with the header");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(&sent[0])
        .unwrap();
    let value: serde_json::Value = serde_json::from_slice(&decoded).unwrap();
    assert_eq!(value["name"], "auth0-server-rust");
    assert!(value["version"].is_string());
}

#[tokio::test]
async fn the_id_tokens_session_expiry_caps_the_session() {
    let h = Harness::start().await;
    let cx = StoreContext::new();
    let ceiling = now() + 120;
    h.login_with_claims(json!({"session_expiry": ceiling}), &cx)
        .await
        .unwrap();
    let cookie = cx
        .changes()
        .into_iter()
        .find(|c| c.name == "__Host-_a0_session")
        .expect("a session cookie");
    let max_age = cookie.max_age.unwrap().as_secs();
    assert!(
        (110..=120).contains(&max_age),
        "Max-Age {max_age} is capped by session_expiry"
    );
    let session = h.client.get_session(&cx).await.unwrap().unwrap();
    assert_eq!(session.user.unwrap().session_expiry, Some(ceiling as i64));
}

/// A login started with `options`, whose ID token has the login's nonce and `overrides`.
async fn login_asking(
    h: &Harness,
    options: StartLoginOptions,
    overrides: serde_json::Value,
    cx: &StoreContext,
) -> Result<auth0_server_core::client::LoginResult, Error> {
    let url = h.client.start_interactive_login(options, cx).await.unwrap();
    let q: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    let id_token = h.key.sign(&h.claims(&q["nonce"], overrides), &json!({}));
    h.provider.push_token(
        200,
        &[],
        json!({"access_token": "at-1", "id_token": id_token, "expires_in": 3600}),
    );
    let callback = format!(
        "http://localhost:5000/callback?code=code-1&state={}",
        q["state"]
    );
    h.complete(&callback, cx).await
}

fn asking(name: &str, value: &str) -> StartLoginOptions {
    let mut options = StartLoginOptions::default();
    options
        .authorization_params
        .insert(name.into(), value.into());
    options
}

fn refused_as_id_token(
    result: Result<auth0_server_core::client::LoginResult, Error>,
    contains: &str,
) {
    match result {
        Err(Error::InvalidIdToken(reason)) => {
            assert!(reason.contains(contains), "refused for {reason:?}")
        }
        other => panic!("expected the ID token to be refused ({contains}), got {other:?}"),
    }
}

#[tokio::test]
async fn with_max_age_a_missing_or_too_old_auth_time_is_refused() {
    let h = Harness::start_with(|b| b.authorization_param("max_age", "300")).await;
    let cx = StoreContext::new();
    let result = login_asking(&h, StartLoginOptions::default(), json!({}), &cx).await;
    refused_as_id_token(result, "no auth_time");
    // 300 s of max_age and 60 s of leeway: 400 s ago is too old.
    let result = login_asking(
        &h,
        StartLoginOptions::default(),
        json!({"auth_time": now() - 400}),
        &cx,
    )
    .await;
    refused_as_id_token(result, "max_age");
    assert!(
        h.client.get_user(&cx).await.unwrap().is_none(),
        "nobody logged in"
    );

    // Inside max_age plus the leeway: accepted.
    let done = login_asking(
        &h,
        StartLoginOptions::default(),
        json!({"auth_time": now() - 330}),
        &cx,
    )
    .await
    .unwrap();
    assert_eq!(done.user.sub, "auth0|user-1");
}

#[tokio::test]
async fn max_age_asked_for_one_login_is_checked_and_sent() {
    let h = Harness::start().await;
    let cx = StoreContext::new();
    let url = h
        .client
        .start_interactive_login(asking("max_age", "0"), &cx)
        .await
        .unwrap();
    assert!(url.query_pairs().any(|(k, v)| k == "max_age" && v == "0"));
    let result = login_asking(&h, asking("max_age", "0"), json!({}), &cx).await;
    refused_as_id_token(result, "no auth_time");
    // Without max_age, auth_time is not required.
    login_asking(&h, StartLoginOptions::default(), json!({}), &cx)
        .await
        .unwrap();
    let err = h
        .client
        .start_interactive_login(asking("max_age", "soon"), &cx)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid_argument");
    // In the configuration, the same mistake is found by build().
    let err = auth0_server_core::client::ServerClient::builder()
        .domain(h.provider.base.clone())
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .secret(SECRET)
        .redirect_uri("http://localhost:5000/callback")
        .authorization_param("max_age", "soon")
        .build()
        .unwrap_err();
    assert_eq!(err.code(), "configuration_error", "{err}");
}

#[tokio::test]
async fn an_organization_mismatch_is_refused_for_ids_and_names() {
    let h = Harness::start().await;
    let cx = StoreContext::new();
    for (asked, claims) in [
        ("org_abc", json!({"org_id": "org_other"})),
        ("org_abc", json!({})),
        ("org_abc", json!({"org_id": "ORG_ABC"})),
        ("org_abc", json!({"org_name": "org_abc"})),
        ("acme", json!({"org_name": "Umbrella"})),
        ("acme", json!({})),
        ("acme", json!({"org_id": "acme"})),
        ("acme", json!({"org_name": 5})),
    ] {
        let err = login_asking(&h, asking("organization", asked), claims.clone(), &cx)
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::OrganizationMismatch(_)),
            "{asked} with {claims}: {err:?}"
        );
        assert_eq!(err.code(), "organization_token_validation_error");
    }
    assert!(
        h.client.get_user(&cx).await.unwrap().is_none(),
        "nobody logged in"
    );
}

#[tokio::test]
async fn a_matching_organization_logs_in() {
    let h = Harness::start().await;
    let cx = StoreContext::new();
    let done = login_asking(
        &h,
        asking("organization", "org_abc"),
        json!({"org_id": "org_abc"}),
        &cx,
    )
    .await
    .unwrap();
    assert_eq!(done.user.org_id.as_deref(), Some("org_abc"));
    // Names compare ignoring case, and the two Unicode spellings of "é" are one.
    let done = login_asking(
        &h,
        asking("organization", "ACME Café"),
        json!({"org_name": "acme cafe\u{301}"}),
        &cx,
    )
    .await
    .unwrap();
    assert_eq!(done.user.org_name.as_deref(), Some("acme cafe\u{301}"));
    // Asked in the configuration, for every login.
    let h = Harness::start_with(|b| b.authorization_param("organization", "org_abc")).await;
    let err = login_asking(&h, StartLoginOptions::default(), json!({}), &cx)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "organization_token_validation_error");
}

#[tokio::test]
async fn a_login_cannot_leave_the_configured_organization() {
    let h = Harness::start_with(|b| b.authorization_param("organization", "org_abc")).await;
    let cx = StoreContext::new();
    // Another organization asked for by the browser (`/login?organization=org_other`).
    let err = h
        .client
        .start_interactive_login(asking("organization", "org_other"), &cx)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid_argument", "{err}");
    // An empty one does not drop the check: the login still needs org_abc.
    let err = login_asking(
        &h,
        asking("organization", ""),
        json!({"org_id": "org_other"}),
        &cx,
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "organization_token_validation_error");
    let done = login_asking(
        &h,
        asking("organization", ""),
        json!({"org_id": "org_abc"}),
        &cx,
    )
    .await
    .unwrap();
    assert_eq!(done.user.sub, "auth0|user-1");
}
