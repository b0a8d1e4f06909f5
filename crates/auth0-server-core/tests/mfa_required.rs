//! `mfa_required` token answers (a scripted provider: an error path): the sealed
//! `mfa_token` and the `mfa_requirements` in `Error::MfaRequired`, for a refresh and for a
//! code exchange, and the token never in `Debug`, `Display` or the logs. (Against the dev
//! tenant: `auth0-dev-tenant/tests/extras.rs`.)

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use auth0_server_core::Secrets;
use auth0_server_core::client::{Error, MFA_TOKEN_IDENTIFIER, MfaToken};
use auth0_server_core::seal::CookieSealer;
use auth0_server_core::store::StoreContext;
use serde_json::{Value, json};
use support::*;

/// The provider's raw MFA token: it must never be seen outside the sealed one.
const RAW: &str = "Fe26.2**raw-mfa-token-from-the-provider";

fn mfa_required() -> Value {
    json!({
        "error": "mfa_required",
        "error_description": "Multifactor authentication required",
        "mfa_token": RAW,
        "mfa_requirements": {"challenge": [{"type": "otp"}, {"type": "push-notification"}]},
    })
}

/// Everything logged at any level while the test runs.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn opened(token: &MfaToken) -> Value {
    CookieSealer::new(Secrets::parse(SECRET).unwrap())
        .open(MFA_TOKEN_IDENTIFIER, token.expose())
        .expect("sealed with the client's secret, under the Python SDK's identifier")
}

fn parts(err: &Error) -> (&MfaToken, Vec<&str>) {
    match err {
        Error::MfaRequired {
            mfa_token: Some(token),
            mfa_requirements: Some(requirements),
            ..
        } => {
            let kinds = requirements
                .challenge
                .iter()
                .flatten()
                .map(|r| r.kind.as_str())
                .collect();
            (token, kinds)
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_refresh_answered_mfa_required_gives_the_sealed_token_and_never_logs_it() {
    let logs = Logs::default();
    let writer = logs.clone();
    let _guard = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .finish(),
    );
    let h = Harness::start().await;
    let cx = StoreContext::new();
    h.login_with_claims(json!({}), &cx).await.unwrap();
    let cx = StoreContext::from_cookies(cx.cookies());
    h.provider.push_token(403, &[], mfa_required());
    let err = h.client.get_access_token(forced(), &cx).await.unwrap_err();
    tracing::error!(error = ?err, "what an app logs");
    tracing::error!(error = %err, "what an app logs");

    let (token, kinds) = parts(&err);
    assert_eq!(kinds, ["otp", "push-notification"]);
    let context = opened(token);
    assert_eq!(context["mfa_token"], RAW);
    assert_eq!(context["audience"], "default");
    assert_eq!(context["mfa_requirements"]["challenge"][0]["type"], "otp");
    assert!(context["created_at"].as_u64().unwrap() > 0);

    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logged.contains("what an app logs"),
        "the logs were captured"
    );
    for (seen, what) in [
        (format!("{err:?}"), "Debug"),
        (err.to_string(), "Display"),
        (logged, "the logs"),
    ] {
        assert!(!seen.contains(RAW), "the raw mfa_token in {what}: {seen}");
        assert!(
            !seen.contains(token.expose()),
            "the sealed mfa_token in {what}: {seen}"
        );
    }
}

#[tokio::test]
async fn a_code_exchange_answered_mfa_required_is_the_same_error() {
    let h = Harness::start_with(|b| b.audience("https://api.example.com")).await;
    let cx = StoreContext::new();
    let q = h.start_login(&cx).await;
    h.provider.push_token(403, &[], mfa_required());
    let callback = format!("http://localhost:5000/callback?code=x&state={}", q["state"]);
    let err = h.complete(&callback, &cx).await.unwrap_err();
    assert_eq!(err.code(), "mfa_required");
    let (token, _) = parts(&err);
    assert_eq!(opened(token)["audience"], "https://api.example.com");
}

#[tokio::test]
async fn mfa_required_without_a_token_or_with_odd_requirements_still_says_mfa() {
    let h = Harness::start().await;
    let cx = StoreContext::new();
    h.login_with_claims(json!({}), &cx).await.unwrap();
    let cx = StoreContext::from_cookies(cx.cookies());
    h.provider.push_token(
        403,
        &[],
        json!({"error": "mfa_required", "mfa_requirements": "not an object"}),
    );
    let err = h.client.get_access_token(forced(), &cx).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::MfaRequired {
                mfa_token: None,
                mfa_requirements: None,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_mfa_token_that_is_not_a_string_still_says_mfa_required() {
    let h = Harness::start().await;
    let cx = StoreContext::new();
    h.login_with_claims(json!({}), &cx).await.unwrap();
    let cx = StoreContext::from_cookies(cx.cookies());
    for odd in [json!(123), json!({"t": RAW}), json!([RAW]), Value::Null] {
        h.provider.push_token(
            403,
            &[],
            json!({"error": "mfa_required", "mfa_token": odd, "error_description": 7}),
        );
        let err = h.client.get_access_token(forced(), &cx).await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::MfaRequired {
                    mfa_token: None,
                    ..
                }
            ),
            "{odd}: {err:?}"
        );
    }
}
