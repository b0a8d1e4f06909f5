//! The wire shape of passwordless requests, against the Python SDK's tests
//! (`test_passwordless_client.py`): a provider on loopback records each request and refuses
//! it (an error path: the flows' successes are tested against the dev tenant, in
//! `auth0-dev-tenant/tests/passwordless.rs`).

use std::sync::{Arc, Mutex};

use auth0_server_core::client::{
    Error, PASSWORDLESS_OTP_GRANT_TYPE, PasswordlessRecipient, PasswordlessSend, RetryPolicy,
    ServerClient, StartPasswordlessOptions, TokenEndpointAuth, VerifyPasswordlessOptions,
};
use auth0_server_core::store::StoreContext;
use auth0_store_memory::{MemoryBackend, MemoryTransactionBackend};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

const CLIENT_ID: &str = "test_client";
const CLIENT_SECRET: &str = "test_secret";
const EMAIL: &str = "user@example.com";
const CODE: &str = "654321";

/// One request as it arrived: its headers and body.
type Seen = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

#[derive(Clone)]
struct Recorder {
    issuer: String,
    seen: Seen,
    /// The status and JSON every POST is answered with.
    answer: (u16, Value),
}

async fn discovery(State(r): State<Recorder>) -> Json<Value> {
    Json(json!({
        "issuer": r.issuer,
        "authorization_endpoint": format!("{}authorize", r.issuer),
        "token_endpoint": format!("{}oauth/token", r.issuer),
        "jwks_uri": format!("{}jwks", r.issuer),
    }))
}

async fn record(State(r): State<Recorder>, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    r.seen.lock().unwrap().push((headers, body));
    let mut response = (
        StatusCode::from_u16(r.answer.0).unwrap(),
        Json(r.answer.1.clone()),
    )
        .into_response();
    response
        .headers_mut()
        .insert("retry-after", "42".parse().unwrap());
    response
}

/// A provider answering every POST with `answer`, and a client of it.
async fn provider(answer: (u16, Value)) -> (ServerClient, Seen) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}/", listener.local_addr().unwrap());
    let seen = Seen::default();
    let recorder = Recorder {
        issuer: issuer.clone(),
        seen: seen.clone(),
        answer,
    };
    let router = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/passwordless/start", post(record))
        .route("/oauth/token", post(record))
        .with_state(recorder);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let client = ServerClient::builder()
        .domain(issuer)
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .secret("a-secret-of-at-least-thirty-two-bytes")
        .redirect_uri("https://app.example.com/auth/callback")
        .token_endpoint_auth(TokenEndpointAuth::ClientSecretPost)
        .retry(RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        })
        .session_backend(MemoryBackend::new())
        .transaction_store(Arc::new(
            MemoryTransactionBackend::new().transaction_store(),
        ))
        .build()
        .unwrap();
    (client, seen)
}

fn json_body(seen: &Seen) -> (HeaderMap, Value) {
    let (headers, body) = seen.lock().unwrap().last().cloned().unwrap();
    (headers, serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn email_code_start_is_the_python_sdks_json_with_its_headers() {
    let refusal = json!({"error": "bad.connection", "error_description": "Connection disabled"});
    let (client, seen) = provider((400, refusal)).await;
    let options = StartPasswordlessOptions {
        language: Some("fr".into()),
        client_ip: Some("203.0.113.7".into()),
        ..StartPasswordlessOptions::new(PasswordlessRecipient::Email(EMAIL.into()))
    };
    let error = client
        .start_passwordless(options, &StoreContext::new())
        .await
        .unwrap_err();
    match &error {
        Error::PasswordlessStart {
            error, description, ..
        } => {
            assert_eq!(error, "bad.connection");
            assert_eq!(description.as_deref(), Some("Connection disabled"));
        }
        other => panic!("{other:?}"),
    }
    assert!(!format!("{error:?} {error}").contains(EMAIL));
    let (headers, body) = json_body(&seen);
    assert_eq!(body["connection"], "email");
    assert_eq!(body["email"], EMAIL);
    assert_eq!(body["send"], "code");
    assert_eq!(body["client_id"], CLIENT_ID);
    assert_eq!(body["client_secret"], CLIENT_SECRET);
    assert!(body.get("authParams").is_none());
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(headers["x-request-language"], "fr");
    assert_eq!(headers["auth0-forwarded-for"], "203.0.113.7");
    assert!(headers.contains_key("auth0-client"), "telemetry");
}

#[tokio::test]
async fn sms_start_has_no_send_and_a_rate_limit_keeps_retry_after() {
    let (client, seen) = provider((429, json!({}))).await;
    let options = StartPasswordlessOptions::new(PasswordlessRecipient::Sms("+14155550100".into()));
    match client
        .start_passwordless(options, &StoreContext::new())
        .await
    {
        Err(Error::PasswordlessStart {
            error, retry_after, ..
        }) => {
            assert_eq!(error, "too_many_requests");
            assert_eq!(retry_after, Some(42));
        }
        other => panic!("{other:?}"),
    }
    let (_, body) = json_body(&seen);
    assert_eq!(body["connection"], "sms");
    assert_eq!(body["phone_number"], "+14155550100");
    assert!(body.get("send").is_none());
}

#[tokio::test]
async fn a_magic_link_carries_the_sdks_auth_params_and_no_transaction_when_refused() {
    let (client, seen) = provider((400, json!({"error": "bad.email"}))).await;
    let mut options = StartPasswordlessOptions {
        send: PasswordlessSend::Link,
        ..StartPasswordlessOptions::new(PasswordlessRecipient::Email(EMAIL.into()))
    };
    options
        .auth_params
        .insert("login_hint".into(), EMAIL.into());
    let cx = StoreContext::new();
    assert!(client.start_passwordless(options, &cx).await.is_err());
    assert!(
        cx.take_changes().is_empty(),
        "no transaction for a refused link"
    );
    let (_, body) = json_body(&seen);
    let params = &body["authParams"];
    assert_eq!(body["send"], "link");
    assert_eq!(
        params["redirect_uri"],
        "https://app.example.com/auth/callback"
    );
    assert_eq!(params["response_type"], "code");
    assert_eq!(params["scope"], "openid profile email");
    assert_eq!(params["login_hint"], EMAIL);
    assert!(params["state"].as_str().unwrap().len() >= 16);
}

#[tokio::test]
async fn verify_sends_the_otp_grant_and_a_refusal_never_shows_the_code() {
    let refusal =
        json!({"error": "invalid_grant", "error_description": "Wrong email or verification code."});
    let (client, seen) = provider((403, refusal)).await;
    let options = VerifyPasswordlessOptions {
        audience: Some("https://api.example.com".into()),
        client_ip: Some("203.0.113.7".into()),
        ..VerifyPasswordlessOptions::new(PasswordlessRecipient::Email(EMAIL.into()), CODE)
    };
    let error = client
        .verify_passwordless(options, &StoreContext::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::PasswordlessVerify { error, .. } if error == "invalid_grant"),
        "{error:?}"
    );
    let shown = format!("{error:?} {error}");
    assert!(!shown.contains(CODE) && !shown.contains(EMAIL), "{shown}");
    let (headers, body) = seen.lock().unwrap().last().cloned().unwrap();
    let form: std::collections::BTreeMap<String, String> =
        url::form_urlencoded::parse(&body).into_owned().collect();
    assert_eq!(form["grant_type"], PASSWORDLESS_OTP_GRANT_TYPE);
    assert_eq!(form["realm"], "email");
    assert_eq!(form["username"], EMAIL);
    assert_eq!(form["otp"], CODE);
    assert_eq!(form["scope"], "openid profile email");
    assert_eq!(form["audience"], "https://api.example.com");
    assert_eq!(form["client_id"], CLIENT_ID);
    assert_eq!(form["client_secret"], CLIENT_SECRET);
    assert_eq!(headers["auth0-forwarded-for"], "203.0.113.7");
    assert!(headers.contains_key("auth0-client"), "telemetry");
}
