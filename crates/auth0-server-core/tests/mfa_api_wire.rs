//! The MFA API's requests on the wire, against a recording provider (the flows themselves are
//! tested end to end against the dev tenant: `auth0-dev-tenant/tests/mfa.rs`). Each request
//! is compared with what the Python SDK's `tests/test_mfa_client.py` asserts of its own: the
//! raw `mfa_token` as a Bearer token for listing and enrolling, the JSON bodies of
//! `/mfa/associate` (arrays) and `/mfa/challenge` (with the client's credentials), `mfa_token` in the verify grant's form (never a header) with
//! `client_id` and `client_secret`, and the provider's answers and errors read as its tests
//! script them. Every request carries the telemetry header.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use auth0_server_core::Secrets;
use auth0_server_core::client::{
    Error, MFA_OTP_GRANT_TYPE, MFA_TOKEN_IDENTIFIER, MfaChallengeType, MfaEnrollment, MfaOperation,
    MfaToken, MfaVerification, ServerClient, TELEMETRY_HEADER, TokenEndpointAuth,
};
use auth0_server_core::seal::{CookieFormat, CookieSealer};
use auth0_server_core::store::{ServerSideStateStore, StoreContext};
use auth0_store_memory::{MemoryBackend, MemoryTransactionBackend};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use serde_json::{Value, json};
use support::{CLIENT_ID, CLIENT_SECRET, SECRET, now};

/// The provider's raw token, inside the sealed one.
const RAW: &str = "raw-mfa-token";

/// One request as the provider saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: Method,
    path: String,
    headers: HeaderMap,
    body: String,
}

#[derive(Default)]
struct Recorder {
    issuer: Mutex<String>,
    seen: Mutex<Vec<Seen>>,
    /// Answers by path, instead of the success the Python SDK's tests script.
    answers: Mutex<HashMap<String, (u16, String)>>,
}

/// The Python SDK's tests' success answers.
fn scripted(method: &Method, path: &str, issuer: &str) -> (u16, Value) {
    match (method.as_str(), path) {
        ("GET", "/.well-known/openid-configuration") => (
            200,
            json!({"issuer": issuer, "authorization_endpoint": format!("{issuer}/authorize"),
                   "token_endpoint": format!("{issuer}/oauth/token"),
                   "jwks_uri": format!("{issuer}/jwks")}),
        ),
        ("GET", "/mfa/authenticators") => (
            200,
            json!([{"id": "auth|123", "authenticator_type": "otp", "active": true},
                   {"id": "auth|456", "authenticator_type": "oob", "active": true, "oob_channel": "sms"}]),
        ),
        ("POST", "/mfa/associate") => (
            200,
            json!({"authenticator_type": "otp", "secret": "JBSWY3DPEHPK3PXP",
                   "barcode_uri": "otpauth://totp/auth0:user?secret=JBSWY3DPEHPK3PXP",
                   "recovery_codes": ["code1", "code2"]}),
        ),
        ("POST", "/mfa/challenge") => (
            200,
            json!({"challenge_type": "oob", "oob_code": "oob_challenge_123", "binding_method": "prompt"}),
        ),
        ("POST", "/oauth/token") => (
            200,
            json!({"access_token": "new_at", "token_type": "Bearer", "expires_in": 3600,
                   "recovery_code": "NEW-RECOVERY"}),
        ),
        ("DELETE", _) => (204, Value::Null),
        _ => (404, json!({"error": "not_found"})),
    }
}

async fn record(
    State(r): State<Arc<Recorder>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let path = uri.path().to_owned();
    r.seen.lock().unwrap().push(Seen {
        method: method.clone(),
        path: path.clone(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let issuer = r.issuer.lock().unwrap().clone();
    let (status, body) = match r.answers.lock().unwrap().get(&path) {
        Some((status, body)) => (*status, body.clone()),
        None => {
            let (status, body) = scripted(&method, &path, &issuer);
            let text = if body.is_null() {
                String::new()
            } else {
                body.to_string()
            };
            (status, text)
        }
    };
    let status = StatusCode::from_u16(status).unwrap();
    (status, [("content-type", "application/json")], body)
}

struct Wire {
    recorder: Arc<Recorder>,
    client: ServerClient,
    token: MfaToken,
}

impl Wire {
    async fn start() -> Self {
        let recorder = Arc::new(Recorder::default());
        let app = Router::new().fallback(record).with_state(recorder.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        *recorder.issuer.lock().unwrap() = base.clone();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let secrets = Secrets::parse(SECRET).unwrap();
        let client = ServerClient::builder()
            .domain(base)
            .client_id(CLIENT_ID)
            .client_secret(CLIENT_SECRET)
            .secret(SECRET)
            .redirect_uri("http://localhost:5000/callback")
            // The Python SDK puts the client secret in the body.
            .token_endpoint_auth(TokenEndpointAuth::ClientSecretPost)
            .state_store(Arc::new(ServerSideStateStore::new(
                MemoryBackend::new(),
                &secrets,
            )))
            .transaction_store(Arc::new(
                MemoryTransactionBackend::new().transaction_store(),
            ))
            .build()
            .unwrap();
        let context = json!({"mfa_token": RAW, "audience": "https://api.example.com",
                             "scope": "openid", "mfa_requirements": null, "created_at": now()});
        let sealed = CookieSealer::new(secrets)
            .with_format(CookieFormat::Python)
            .seal(MFA_TOKEN_IDENTIFIER, &context, 0)
            .unwrap();
        Self {
            recorder,
            client,
            token: MfaToken::from_sealed(sealed),
        }
    }

    /// The last request to `path`.
    fn last(&self, path: &str) -> Seen {
        let seen = self.recorder.seen.lock().unwrap();
        seen.iter().rev().find(|s| s.path == path).cloned().unwrap()
    }

    fn answer(&self, path: &str, status: u16, body: &str) {
        let mut answers = self.recorder.answers.lock().unwrap();
        answers.insert(path.to_owned(), (status, body.to_owned()));
    }
}

fn header<'a>(seen: &'a Seen, name: &str) -> Option<&'a str> {
    seen.headers.get(name).and_then(|v| v.to_str().ok())
}

fn form(seen: &Seen) -> HashMap<String, String> {
    url::form_urlencoded::parse(seen.body.as_bytes())
        .into_owned()
        .collect()
}

#[tokio::test]
async fn listing_and_enrolling_send_the_raw_token_as_bearer_and_arrays_as_json() {
    let w = Wire::start().await;
    let cx = StoreContext::new();
    let mfa = w.client.mfa();
    let listed = mfa.list_authenticators(&w.token, &cx).await.unwrap();
    assert_eq!(listed[0].id, "auth|123");
    assert_eq!(listed[1].oob_channel.as_deref(), Some("sms"));
    let seen = w.last("/mfa/authenticators");
    assert_eq!(seen.method, Method::GET);
    assert_eq!(header(&seen, "authorization"), Some("Bearer raw-mfa-token"));

    let enrolled = mfa
        .enroll_authenticator(&w.token, MfaEnrollment::Otp, &cx)
        .await
        .unwrap();
    assert_eq!(enrolled.secret.as_deref(), Some("JBSWY3DPEHPK3PXP"));
    assert_eq!(
        enrolled.recovery_codes.as_deref().unwrap(),
        ["code1", "code2"]
    );
    let seen = w.last("/mfa/associate");
    assert_eq!(header(&seen, "authorization"), Some("Bearer raw-mfa-token"));
    assert_eq!(header(&seen, "content-type"), Some("application/json"));
    let body: Value = serde_json::from_str(&seen.body).unwrap();
    assert_eq!(body, json!({"authenticator_types": ["otp"]}));

    let email = MfaEnrollment::Email {
        email: "user@example.com".into(),
    };
    mfa.enroll_authenticator(&w.token, email, &cx)
        .await
        .unwrap();
    let body: Value = serde_json::from_str(&w.last("/mfa/associate").body).unwrap();
    assert_eq!(
        body,
        json!({"authenticator_types": ["oob"], "oob_channels": ["email"], "email": "user@example.com"})
    );
}

#[tokio::test]
async fn challenge_and_verify_send_the_python_sdks_fields() {
    let w = Wire::start().await;
    let cx = StoreContext::new();
    let mfa = w.client.mfa();
    let challenge = mfa
        .challenge_authenticator(&w.token, MfaChallengeType::Oob, Some("sms|dev_1"), &cx)
        .await
        .unwrap();
    assert_eq!(challenge.oob_code.as_deref(), Some("oob_challenge_123"));
    assert_eq!(challenge.binding_method.as_deref(), Some("prompt"));
    let seen = w.last("/mfa/challenge");
    assert_eq!(header(&seen, "content-type"), Some("application/json"));
    let sent: HashMap<String, String> = serde_json::from_str(&seen.body).unwrap();
    let expected: HashMap<String, String> = [
        ("mfa_token", RAW),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("challenge_type", "oob"),
        ("authenticator_id", "sms|dev_1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(sent, expected);

    let verified = mfa
        .verify(&w.token, MfaVerification::Otp("123456".into()), &cx)
        .await
        .unwrap();
    assert_eq!(verified.tokens.access_token, "new_at");
    assert_eq!(verified.recovery_code.as_deref(), Some("NEW-RECOVERY"));
    assert!(!verified.tokens.extra.contains_key("recovery_code"));
    let seen = w.last("/oauth/token");
    assert_eq!(
        header(&seen, "content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        header(&seen, "authorization"),
        None,
        "mfa_token in the form only"
    );
    let sent = form(&seen);
    assert_eq!(sent["grant_type"], MFA_OTP_GRANT_TYPE);
    assert_eq!(sent["mfa_token"], RAW);
    assert_eq!(sent["otp"], "123456");
    assert_eq!(sent["client_id"], CLIENT_ID);
    assert_eq!(sent["client_secret"], CLIENT_SECRET);
    assert_eq!(sent.len(), 5, "{sent:?}");
}

#[tokio::test]
async fn delete_sends_the_access_token_and_every_request_has_telemetry() {
    let w = Wire::start().await;
    let cx = StoreContext::new();
    let mfa = w.client.mfa();
    mfa.list_authenticators(&w.token, &cx).await.unwrap();
    mfa.delete_authenticator("an-access-token", "sms|dev_1-a", &cx)
        .await
        .unwrap();
    // The id as one path segment, `|` escaped as the JS SDK's encodeURIComponent does.
    let seen = w.last("/mfa/authenticators/sms%7Cdev_1-a");
    assert_eq!(seen.method, Method::DELETE);
    assert_eq!(
        header(&seen, "authorization"),
        Some("Bearer an-access-token")
    );

    let seen = w.recorder.seen.lock().unwrap().clone();
    assert!(seen.len() >= 3, "{seen:?}");
    for s in &seen {
        assert!(
            s.headers.contains_key(TELEMETRY_HEADER),
            "no telemetry on {} {}",
            s.method,
            s.path
        );
    }
}

#[tokio::test]
async fn an_authenticator_id_that_is_not_auth0s_is_refused_before_sending() {
    let w = Wire::start().await;
    let cx = StoreContext::new();
    let mfa = w.client.mfa();
    for id in [
        "",
        ".",
        "..",
        "../../userinfo",
        "a/b",
        "sms|dev%2F..",
        "sms|dev 1",
        "é",
    ] {
        let err = mfa
            .delete_authenticator("an-access-token", id, &cx)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{id:?}: {err:?}");
    }
    let seen = w.recorder.seen.lock().unwrap();
    assert!(!seen.iter().any(|s| s.method == Method::DELETE), "{seen:?}");
}

#[tokio::test]
async fn a_success_that_is_not_json_is_the_calls_own_error() {
    let w = Wire::start().await;
    let cx = StoreContext::new();
    w.answer("/mfa/authenticators", 200, "<html>ok</html>");
    let err = w
        .client
        .mfa()
        .list_authenticators(&w.token, &cx)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Mfa {
                operation: MfaOperation::ListAuthenticators,
                status: 200,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_unreadable_answer_never_quotes_its_values() {
    let w = Wire::start().await;
    let cx = StoreContext::new();
    let mfa = w.client.mfa();
    // A recovery code where an array belongs (serde would quote the string).
    w.answer(
        "/mfa/associate",
        200,
        r#"{"authenticator_type":"otp","recovery_codes":"RC-QUOTED-SECRET"}"#,
    );
    let err = mfa
        .enroll_authenticator(&w.token, MfaEnrollment::Otp, &cx)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "mfa_enrollment_error", "{err}");
    assert!(
        !format!("{err} {err:?}").contains("RC-QUOTED-SECRET"),
        "{err}"
    );
    w.answer("/oauth/token", 200, r#"{"access_token":31415926535}"#);
    let err = mfa
        .verify(&w.token, MfaVerification::Otp("1".into()), &cx)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "mfa_verify_error", "{err}");
    assert!(!format!("{err} {err:?}").contains("31415926535"), "{err}");
}

#[tokio::test]
async fn an_empty_access_token_is_refused_and_a_huge_lifetime_clamped() {
    let w = Wire::start().await;
    let cx = StoreContext::new();
    let mfa = w.client.mfa();
    w.answer(
        "/oauth/token",
        200,
        r#"{"access_token":"","token_type":"Bearer"}"#,
    );
    let err = mfa
        .verify(&w.token, MfaVerification::Otp("1".into()), &cx)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Mfa {
                operation: MfaOperation::Verify,
                ..
            }
        ),
        "{err:?}"
    );
    w.answer(
        "/oauth/token",
        200,
        r#"{"access_token":"at","expires_in":99999999999}"#,
    );
    let verified = mfa
        .verify(&w.token, MfaVerification::Otp("1".into()), &cx)
        .await
        .unwrap();
    let limit = now() + auth0_server_core::client::MAX_MFA_EXPIRES_IN + 5;
    assert!(verified.tokens.expires_at <= limit, "{verified:?}");
}

#[tokio::test]
async fn the_providers_refusals_are_typed_and_keep_its_description() {
    let w = Wire::start().await;
    let cx = StoreContext::new();
    let mfa = w.client.mfa();
    // The Python SDK's test_verify_expired_mfa_token.
    w.answer(
        "/oauth/token",
        401,
        r#"{"error":"expired_token","error_description":"mfa_token is expired"}"#,
    );
    let err = mfa
        .verify(&w.token, MfaVerification::Otp("123456".into()), &cx)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MfaExpired { .. }), "{err:?}");
    assert!(err.to_string().contains("mfa_token is expired"), "{err}");
    // test_list_authenticators_api_error.
    w.answer(
        "/mfa/authenticators",
        401,
        r#"{"error":"invalid_token","error_description":"Invalid MFA token"}"#,
    );
    let err = mfa.list_authenticators(&w.token, &cx).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Mfa {
                operation: MfaOperation::ListAuthenticators,
                status: 401,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.code(), "mfa_list_authenticators_error");
    assert!(err.to_string().contains("Invalid MFA token"), "{err}");
    // test_list_authenticators_non_json_error_body: the status, not a parser's complaint.
    w.answer("/mfa/authenticators", 502, "<html>bad gateway</html>");
    let err = mfa.list_authenticators(&w.token, &cx).await.unwrap_err();
    assert!(err.to_string().contains("502"), "{err}");
}

#[tokio::test]
async fn a_wrong_code_and_too_many_are_their_own_errors() {
    let w = Wire::start().await;
    let cx = StoreContext::new();
    let mfa = w.client.mfa();
    // A wrong code, and too many.
    w.answer(
        "/oauth/token",
        403,
        r#"{"error":"invalid_grant","error_description":"Invalid otp_code."}"#,
    );
    let err = mfa
        .verify(&w.token, MfaVerification::Otp("1".into()), &cx)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "mfa_invalid_code");
    w.answer("/oauth/token", 429, r#"{"error":"too_many_attempts"}"#);
    let err = mfa
        .verify(&w.token, MfaVerification::Otp("1".into()), &cx)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "too_many_attempts");
}

#[tokio::test]
async fn chained_mfa_seals_the_next_token_for_the_first_ones_audience() {
    let w = Wire::start().await;
    let cx = StoreContext::new();
    let mfa = w.client.mfa();
    // Chained MFA: the new token is sealed again, for the first one's audience.
    w.answer(
        "/oauth/token",
        403,
        r#"{"error":"mfa_required","mfa_token":"second-raw","mfa_requirements":{"challenge":[{"type":"otp"}]}}"#,
    );
    let err = mfa
        .verify(&w.token, MfaVerification::Otp("1".into()), &cx)
        .await
        .unwrap_err();
    let Error::MfaRequired {
        mfa_token: Some(next),
        ..
    } = &err
    else {
        panic!("{err:?}");
    };
    let opened: Value = CookieSealer::new(Secrets::parse(SECRET).unwrap())
        .open(MFA_TOKEN_IDENTIFIER, next.expose())
        .unwrap();
    assert_eq!(opened["mfa_token"], "second-raw");
    assert_eq!(opened["audience"], "https://api.example.com");
    assert!(!format!("{err:?} {err}").contains("second-raw"));
}

#[tokio::test]
async fn a_token_sealed_under_another_domain_is_refused_before_sending() {
    let w = Wire::start().await;
    let cx = StoreContext::new();
    let context = json!({"mfa_token": RAW, "audience": "https://api.example.com",
                         "scope": "openid", "created_at": now(),
                         "domain": "other-tenant.example.com"});
    let sealed = CookieSealer::new(Secrets::parse(SECRET).unwrap())
        .with_format(CookieFormat::Python)
        .seal(MFA_TOKEN_IDENTIFIER, &context, 0)
        .unwrap();
    let token = MfaToken::from_sealed(sealed);
    let mfa = w.client.mfa();
    let err = mfa.list_authenticators(&token, &cx).await.unwrap_err();
    assert!(matches!(err, Error::MfaTokenMismatch), "{err:?}");
    let err = mfa
        .verify(&token, MfaVerification::Otp("123456".into()), &cx)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MfaTokenMismatch), "{err:?}");
    let seen = w.recorder.seen.lock().unwrap();
    assert!(
        !seen
            .iter()
            .any(|s| s.path.starts_with("/mfa") || s.path == "/oauth/token"),
        "{seen:?}"
    );
}

/// Everything logged while a test runs.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_token_code_or_secret_is_logged_or_shown_in_a_whole_flow() {
    let logs = Logs::default();
    let writer = logs.clone();
    let _guard = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .finish(),
    );
    let w = Wire::start().await;
    let cx = StoreContext::new();
    let mfa = w.client.mfa();
    let mut shown = Vec::new();
    shown.push(format!(
        "{:?}",
        mfa.list_authenticators(&w.token, &cx).await
    ));
    shown.push(format!(
        "{:?}",
        mfa.enroll_authenticator(&w.token, MfaEnrollment::Otp, &cx)
            .await
    ));
    shown.push(format!(
        "{:?}",
        mfa.challenge_authenticator(&w.token, MfaChallengeType::Oob, None, &cx)
            .await
    ));
    let oob = MfaVerification::Oob {
        oob_code: "oob_challenge_123".into(),
        binding_code: Some("246810".into()),
    };
    shown.push(format!("{oob:?}"));
    shown.push(format!("{:?}", mfa.verify(&w.token, oob, &cx).await));
    w.answer(
        "/oauth/token",
        403,
        r#"{"error":"invalid_grant","error_description":"Invalid binding_code."}"#,
    );
    let err = mfa
        .verify(
            &w.token,
            MfaVerification::RecoveryCode("RC-135790".into()),
            &cx,
        )
        .await
        .unwrap_err();
    shown.push(format!("{err:?} {err}"));
    shown.push(String::from_utf8(logs.0.lock().unwrap().clone()).unwrap());
    assert!(
        shown.last().unwrap().contains("mfa.verify"),
        "the logs were captured"
    );
    for text in &shown {
        for secret in SECRETS.iter().chain([&w.token.expose()]) {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }
}

/// What the flow above handles that must never be logged or shown: the raw token, the
/// client secret, the OTP secret, recovery codes, the OOB and binding codes, the tokens.
const SECRETS: [&str; 9] = [
    RAW,
    CLIENT_SECRET,
    "JBSWY3DPEHPK3PXP",
    "code1",
    "oob_challenge_123",
    "246810",
    "RC-135790",
    "new_at",
    "NEW-RECOVERY",
];

#[tokio::test]
async fn an_enrollment_whose_barcode_uri_is_not_otpauth_is_refused() {
    let w = Wire::start().await;
    let cx = StoreContext::new();
    let hostile = json!({"authenticator_type": "otp", "secret": "JBSWY3DPEHPK3PXP",
                         "barcode_uri": "javascript:alert(document.cookie)"});
    w.answer("/mfa/associate", 200, &hostile.to_string());
    let err = w
        .client
        .mfa()
        .enroll_authenticator(&w.token, MfaEnrollment::Otp, &cx)
        .await
        .unwrap_err();
    match &err {
        Error::Mfa {
            operation: MfaOperation::Enroll,
            error,
            ..
        } => assert_eq!(error, "invalid_response"),
        other => panic!("{other:?}"),
    }
    assert!(!err.to_string().contains("javascript"), "{err}");
}
