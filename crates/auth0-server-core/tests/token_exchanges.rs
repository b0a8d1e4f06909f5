//! Token Vault and custom token exchange on the wire, seen by the scripted provider: the
//! form fields and client authentication of auth0-server-python's tests
//! (`test_get_token_for_connection_success`, `…_uses_private_key_jwt_assertion`,
//! `test_custom_token_exchange_success`, `…_with_actor_token`, `…_with_organization`), and
//! the error paths (`…_exchange_failed`, `…_api_error_400`, an ID token for another client).
//! The flows themselves run against the dev tenant (`auth0-dev-tenant/tests/token_vault.rs`
//! and `custom_token_exchange.rs`).

mod support;

use std::collections::{BTreeSet, HashMap};

use auth0_server_core::client::{
    CLIENT_ASSERTION_TYPE, ConnectionTokenOptions, CustomTokenExchangeOptions, Error,
    FEDERATED_CONNECTION_GRANT_TYPE, FEDERATED_CONNECTION_TOKEN_TYPE, REFRESH_TOKEN_TYPE,
    TOKEN_EXCHANGE_GRANT_TYPE,
};
use auth0_server_core::model::{LogoutTokenClaims, StateData};
use auth0_server_core::store::{ServerSideStateStore, StateStore, StoreContext, StoreError};
use josekit::jwk::KeyPair as _;
use josekit::jws::ES256;
use serde_json::json;
use support::*;

async fn logged_in(h: &Harness) -> StoreContext {
    let cx = StoreContext::new();
    h.login_with_claims(json!({}), &cx).await.unwrap();
    StoreContext::from_cookies(cx.cookies())
}

fn last_form(h: &Harness) -> HashMap<String, String> {
    h.provider
        .state
        .forms
        .lock()
        .unwrap()
        .last()
        .cloned()
        .unwrap()
}

/// The error of a login by custom token exchange, which must have started no session.
async fn login_refused(h: &Harness, options: CustomTokenExchangeOptions) -> Error {
    let cx = StoreContext::new();
    let error = h
        .client
        .login_with_custom_token_exchange(options, &cx)
        .await
        .unwrap_err();
    let session = h.client.get_session(&cx).await.unwrap();
    assert!(session.is_none(), "a refused login started a session");
    error
}

fn keys(form: &HashMap<String, String>) -> BTreeSet<&str> {
    form.keys().map(String::as_str).collect()
}

fn last_auth_header(h: &Harness) -> Option<String> {
    h.provider
        .state
        .auth_headers
        .lock()
        .unwrap()
        .last()
        .cloned()
        .unwrap()
}

#[tokio::test]
async fn the_connection_exchange_sends_the_python_sdks_form() {
    let h = Harness::start().await;
    let cx = logged_in(&h).await;
    h.provider.push_token(
        200,
        &[],
        json!({"access_token": "federated_access_token_value", "expires_in": 3600,
               "scope": "openid profile"}),
    );
    let options = ConnectionTokenOptions::new("<connection>").login_hint("<sub>");
    let token = h
        .client
        .get_access_token_for_connection(options, &cx)
        .await
        .unwrap();
    assert_eq!(token.token, "federated_access_token_value");
    assert_eq!(token.scope.as_deref(), Some("openid profile"));
    let form = last_form(&h);
    // The Python SDK's fields; its client_id is in HTTP Basic here (client_secret_basic).
    assert_eq!(
        keys(&form),
        BTreeSet::from([
            "grant_type",
            "subject_token_type",
            "subject_token",
            "requested_token_type",
            "connection",
            "login_hint",
        ])
    );
    assert_eq!(form["grant_type"], FEDERATED_CONNECTION_GRANT_TYPE);
    assert_eq!(form["subject_token_type"], REFRESH_TOKEN_TYPE);
    assert_eq!(form["subject_token"], "rt-1", "the session's refresh token");
    assert_eq!(
        form["requested_token_type"],
        FEDERATED_CONNECTION_TOKEN_TYPE
    );
    assert_eq!(form["connection"], "<connection>");
    assert_eq!(form["login_hint"], "<sub>");
    assert!(last_auth_header(&h).unwrap().starts_with("Basic "));
    assert_telemetry(&h);
}

/// The last token request carried the SDK's `Auth0-Client` header.
fn assert_telemetry(h: &Harness) {
    use base64::Engine as _;
    let sent = h.provider.state.token_telemetry.lock().unwrap().clone();
    let last = sent
        .last()
        .cloned()
        .flatten()
        .expect("an Auth0-Client header");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(last)
        .unwrap();
    let value: serde_json::Value = serde_json::from_slice(&decoded).unwrap();
    assert_eq!(value["name"], "auth0-server-rust");
}

#[tokio::test]
async fn private_key_jwt_signs_both_exchanges() {
    let pair = ES256.generate_key_pair().unwrap();
    let pem = String::from_utf8(pair.to_pem_private_key()).unwrap();
    let h = Harness::start_with(|b| b.client_assertion_signing_key(pem)).await;
    let cx = logged_in(&h).await;
    h.provider.push_token(
        200,
        &[],
        json!({"access_token": "conn_at", "expires_in": 3600}),
    );
    h.client
        .get_access_token_for_connection(ConnectionTokenOptions::new("google-oauth2"), &cx)
        .await
        .unwrap();
    h.provider
        .push_token(200, &[], json!({"access_token": "x", "expires_in": 60}));
    h.client
        .custom_token_exchange(
            CustomTokenExchangeOptions::new("t", "urn:acme:mcp-token"),
            &cx,
        )
        .await
        .unwrap();
    let forms = h.provider.state.forms.lock().unwrap().clone();
    let headers = h.provider.state.auth_headers.lock().unwrap().clone();
    for (form, header) in forms.iter().zip(&headers).skip(1) {
        assert_eq!(header, &None, "no HTTP Basic");
        assert_eq!(form["client_assertion_type"], CLIENT_ASSERTION_TYPE);
        assert_eq!(form["client_assertion"].split('.').count(), 3);
        assert_eq!(form["client_id"], CLIENT_ID);
        assert!(!form.contains_key("client_secret"));
    }
    assert_eq!(
        forms.len(),
        3,
        "the login's, the connection's and the exchange's"
    );
}

#[tokio::test]
async fn a_refused_connection_exchange_is_typed_and_shows_no_token() {
    let h = Harness::start().await;
    let cx = logged_in(&h).await;
    h.provider.push_token(
        400,
        &[],
        json!({"error": "token_for_connection_error", "error_description": "<error_description>"}),
    );
    let error = h
        .client
        .get_access_token_for_connection(ConnectionTokenOptions::new("<connection>"), &cx)
        .await
        .unwrap_err();
    let Error::ConnectionToken {
        error: code,
        description,
        status,
        ..
    } = &error
    else {
        panic!("expected ConnectionToken, got {error:?}");
    };
    assert_eq!(
        (code.as_str(), description.as_deref(), *status),
        (
            "token_for_connection_error",
            Some("<error_description>"),
            400
        )
    );
    assert!(!error.to_string().contains("rt-1") && !format!("{error:?}").contains("rt-1"));
    let session = h.client.get_session(&cx).await.unwrap().unwrap();
    assert!(session.connection_token_sets.is_empty(), "nothing saved");
}

#[tokio::test]
async fn the_custom_exchange_sends_the_python_sdks_form() {
    let h = Harness::start().await;
    h.provider.push_token(
        200,
        &[],
        json!({"access_token": "exchanged_access_token", "token_type": "Bearer",
               "expires_in": 3600, "scope": "read:data",
               "issued_token_type": "urn:ietf:params:oauth:token-type:access_token"}),
    );
    let options = CustomTokenExchangeOptions::new("custom-token-123", "urn:acme:mcp-token")
        .audience("https://api.example.com")
        .scope("read:data")
        .actor(
            "service-token",
            "urn:ietf:params:oauth:token-type:access_token",
        )
        .organization("org_abc1234");
    let cx = StoreContext::new();
    let result = h.client.custom_token_exchange(options, &cx).await.unwrap();
    assert_eq!(result.access_token, "exchanged_access_token");
    assert_eq!(result.token_type.as_deref(), Some("Bearer"));
    assert_eq!(result.expires_in, Some(3600));
    assert_eq!(
        result.extra["issued_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
    let form = last_form(&h);
    assert_eq!(form["grant_type"], TOKEN_EXCHANGE_GRANT_TYPE);
    assert_eq!(form["subject_token"], "custom-token-123");
    assert_eq!(form["subject_token_type"], "urn:acme:mcp-token");
    assert_eq!(form["audience"], "https://api.example.com");
    assert_eq!(form["scope"], "read:data");
    assert_eq!(form["actor_token"], "service-token");
    assert_eq!(
        form["actor_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
    assert_eq!(form["organization"], "org_abc1234");
    assert_eq!(keys(&form).len(), 8, "nothing else: {form:?}");
    assert_telemetry(&h);
    assert!(
        h.client.get_session(&cx).await.unwrap().is_none(),
        "no session"
    );
}

#[tokio::test]
async fn a_refused_custom_exchange_is_typed_and_sends_nothing_when_malformed() {
    let h = Harness::start().await;
    h.provider.push_token(
        400,
        &[],
        json!({"error": "invalid_request", "error_description": "Invalid subject token"}),
    );
    let options = CustomTokenExchangeOptions::new("secret-subject", "urn:acme:mcp-token");
    let error = h
        .client
        .custom_token_exchange(options, &StoreContext::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::CustomTokenExchange { error, status: 400, description }
            if error == "invalid_request" && description.as_deref() == Some("Invalid subject token")),
        "{error:?}"
    );
    assert!(!error.to_string().contains("secret-subject"));
    let before = h.provider.token_requests();
    let bearer = CustomTokenExchangeOptions::new("Bearer abc", "urn:acme:mcp-token");
    let error = h
        .client
        .custom_token_exchange(bearer, &StoreContext::new())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidArgument(_)), "{error:?}");
    assert_eq!(h.provider.token_requests(), before, "nothing sent");
}

#[tokio::test]
async fn a_login_whose_id_token_is_for_another_client_starts_no_session() {
    let h = Harness::start().await;
    let mut claims = h.claims("unused", json!({"aud": "another-client", "nonce": null}));
    claims["sid"] = json!("s-1");
    let id_token = h.key.sign(&claims, &json!({}));
    h.provider.push_token(
        200,
        &[],
        json!({"access_token": "at", "id_token": id_token, "expires_in": 3600}),
    );
    let options = CustomTokenExchangeOptions::new("custom-token", "urn:acme:mcp-token");
    let error = login_refused(&h, options).await;
    assert!(matches!(error, Error::InvalidIdToken(_)), "{error:?}");
    let form = last_form(&h);
    assert_eq!(
        form["scope"], "openid profile email",
        "openid and the configured scope"
    );
}

/// The Python SDK's configuration keeps the scope and audience in `authorization_params`: a
/// login by exchange asks for them (`offline_access`, so the session gets a refresh token),
/// as `/login` does.
#[tokio::test]
async fn a_login_by_exchange_asks_for_the_configured_authorization_params() {
    let h = Harness::start_with(|b| {
        b.authorization_param("scope", "openid profile offline_access")
            .authorization_param("audience", "https://api.example.com")
    })
    .await;
    h.provider
        .push_token(200, &[], json!({"access_token": "at", "expires_in": 3600}));
    let options = CustomTokenExchangeOptions::new("t", "urn:acme:mcp-token").scope("read:data");
    let _refused_without_id_token = h
        .client
        .login_with_custom_token_exchange(options, &StoreContext::new())
        .await;
    let form = last_form(&h);
    let scopes: BTreeSet<&str> = form["scope"].split_whitespace().collect();
    for wanted in ["openid", "profile", "offline_access", "read:data"] {
        assert!(scopes.contains(wanted), "{wanted} missing: {scopes:?}");
    }
    assert_eq!(form["audience"], "https://api.example.com");
}

#[tokio::test]
async fn a_login_without_an_id_token_is_refused() {
    let h = Harness::start().await;
    h.provider
        .push_token(200, &[], json!({"access_token": "at", "expires_in": 3600}));
    let options = CustomTokenExchangeOptions::new("custom-token", "urn:acme:mcp-token");
    let error = login_refused(&h, options).await;
    assert!(matches!(error, Error::InvalidIdToken(_)), "{error:?}");
}

#[tokio::test]
async fn an_id_token_without_the_organization_asked_for_is_refused() {
    let h = Harness::start().await;
    let claims = h.claims("unused", json!({"nonce": null}));
    let id_token = h.key.sign(&claims, &json!({}));
    h.provider.push_token(
        200,
        &[],
        json!({"access_token": "at", "id_token": id_token, "expires_in": 3600}),
    );
    let options = CustomTokenExchangeOptions::new("custom-token", "urn:acme:mcp-token")
        .organization("org_abc1234");
    let error = login_refused(&h, options).await;
    assert!(matches!(error, Error::OrganizationMismatch(_)), "{error:?}");
}

#[tokio::test]
async fn on_the_cookie_store_both_ride_in_the_session_cookie() {
    use auth0_store_cookie::{CookieStateStore, CookieTransactionStore};
    use std::sync::Arc;
    let secrets = auth0_server_core::Secrets::parse(SECRET).unwrap();
    let h = Harness::start_with(|b| {
        b.state_store(Arc::new(CookieStateStore::new(secrets.clone())))
            .transaction_store(Arc::new(CookieTransactionStore::new(secrets.clone())))
    })
    .await;
    let cx = logged_in(&h).await;
    h.provider.push_token(
        200,
        &[],
        json!({"access_token": "conn-at", "expires_in": 3600}),
    );
    let first = h
        .client
        .get_access_token_for_connection(ConnectionTokenOptions::new("google-oauth2"), &cx)
        .await
        .unwrap();
    let before = h.provider.token_requests();
    let next = StoreContext::from_cookies(cx.cookies());
    let again = h
        .client
        .get_access_token_for_connection(ConnectionTokenOptions::new("google-oauth2"), &next)
        .await
        .unwrap();
    assert_eq!(
        (again.token.as_str(), first.token.as_str()),
        ("conn-at", "conn-at")
    );
    assert_eq!(h.provider.token_requests(), before, "read from the cookie");

    let claims = h.claims("unused", json!({"nonce": null, "sub": "auth0|legacy-1"}));
    h.provider.push_token(
        200,
        &[],
        json!({"access_token": "at-x", "id_token": h.key.sign(&claims, &json!({})),
               "refresh_token": "rt-x", "expires_in": 3600}),
    );
    let fresh = StoreContext::new();
    let options = CustomTokenExchangeOptions::new("custom-token", "urn:acme:mcp-token");
    h.client
        .login_with_custom_token_exchange(options, &fresh)
        .await
        .unwrap();
    let next = StoreContext::from_cookies(fresh.cookies());
    let user = h.client.get_user(&next).await.unwrap().unwrap();
    assert_eq!(user.sub, "auth0|legacy-1");
}

/// A session store that keeps no `internal` part (a session written before it existed, or
/// by a store of the app's own): every session then has the same empty `sid` and a
/// `created_at` of 0.
struct WithoutInternal(ServerSideStateStore<auth0_store_memory::MemoryBackend>);

#[async_trait::async_trait]
impl StateStore for WithoutInternal {
    async fn set(
        &self,
        identifier: &str,
        state: &StateData,
        rotate: bool,
        cx: &StoreContext,
    ) -> Result<(), StoreError> {
        let mut state = state.clone();
        state.internal = Default::default();
        self.0.set(identifier, &state, rotate, cx).await
    }

    async fn get(
        &self,
        identifier: &str,
        cx: &StoreContext,
    ) -> Result<Option<StateData>, StoreError> {
        self.0.get(identifier, cx).await
    }

    async fn delete(&self, identifier: &str, cx: &StoreContext) -> Result<(), StoreError> {
        self.0.delete(identifier, cx).await
    }

    async fn delete_by_logout_token(
        &self,
        claims: &LogoutTokenClaims,
        cx: &StoreContext,
    ) -> Result<u64, StoreError> {
        self.0.delete_by_logout_token(claims, cx).await
    }
}

/// Two users' sessions without an `internal` part: the exchange one makes must never be
/// handed to the other.
#[tokio::test]
async fn sessions_without_internal_data_never_share_a_connection_token() {
    let secrets = auth0_server_core::Secrets::parse(SECRET).unwrap();
    let store = WithoutInternal(ServerSideStateStore::new(
        auth0_store_memory::MemoryBackend::new(),
        &secrets,
    ));
    let h = Harness::start_with(|b| b.state_store(std::sync::Arc::new(store))).await;
    let mut sessions = Vec::new();
    for sub in ["auth0|user-a", "auth0|user-b"] {
        let cx = StoreContext::new();
        h.login_with_claims(json!({"sub": sub}), &cx).await.unwrap();
        sessions.push(StoreContext::from_cookies(cx.cookies()));
    }
    for (cx, token) in sessions.iter().zip(["token-of-a", "token-of-b"]) {
        h.provider.push_token(
            200,
            &[],
            json!({"access_token": token, "expires_in": 3600, "token_type": "Bearer"}),
        );
        let got = h
            .client
            .get_access_token_for_connection(ConnectionTokenOptions::new("google-oauth2"), cx)
            .await
            .unwrap();
        assert_eq!(
            got.token, token,
            "each user gets their own connection token"
        );
    }
}

/// 200 answers no exchange may take: empty or missing access token, a token type that is not
/// Bearer, the wrong `issued_token_type`, JSON that is not an object, and a body past the
/// size cap.
fn hostile_answers(issued_token_type: &str) -> Vec<(&'static str, serde_json::Value)> {
    vec![
        (
            "empty access token",
            json!({"access_token": "", "expires_in": 60}),
        ),
        (
            "no access token",
            json!({"expires_in": 60, "token_type": "Bearer"}),
        ),
        (
            "not Bearer",
            json!({"access_token": "t", "token_type": "MAC"}),
        ),
        (
            "another issued token type",
            json!({"access_token": "t", "token_type": "Bearer",
                   "issued_token_type": format!("{issued_token_type}-not")}),
        ),
        ("not an object", json!("access_token")),
        (
            "too large",
            json!({"access_token": "x".repeat(2 << 20), "token_type": "Bearer"}),
        ),
    ]
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn hostile_connection_answers_are_the_flows_error_and_nothing_is_stored() {
    let h = Harness::start().await;
    let cx = logged_in(&h).await;
    for (what, body) in hostile_answers(FEDERATED_CONNECTION_TOKEN_TYPE) {
        h.provider.push_token(200, &[], body);
        let error = h
            .client
            .get_access_token_for_connection(ConnectionTokenOptions::new("github"), &cx)
            .await
            .unwrap_err();
        assert!(
            matches!(&error, Error::ConnectionToken { error, status: 200, .. }
                if error == "invalid_response"),
            "{what}: {error:?}"
        );
        assert!(
            error.to_string().contains("no usable token"),
            "{what}: {error}"
        );
        let session = h.client.get_session(&cx).await.unwrap().unwrap();
        assert!(session.connection_token_sets.is_empty(), "{what}: stored");
    }
}

#[tokio::test]
async fn connection_answers_bearer_in_any_case_and_odd_lifetimes_are_taken_sanely() {
    let h = Harness::start().await;
    let cx = logged_in(&h).await;
    h.provider.push_token(
        200,
        &[],
        json!({"access_token": "t-1", "token_type": "bEaReR", "expires_in": 0,
               "issued_token_type": FEDERATED_CONNECTION_TOKEN_TYPE}),
    );
    let github = || ConnectionTokenOptions::new("github");
    let token = h
        .client
        .get_access_token_for_connection(github(), &cx)
        .await
        .unwrap();
    assert!(token.expires_at <= now(), "expires_in 0: expired at once");
    h.provider.push_token(
        200,
        &[],
        json!({"access_token": "t-2", "expires_in": u64::MAX}),
    );
    let before = h.provider.token_requests();
    let token = h
        .client
        .get_access_token_for_connection(github(), &cx)
        .await
        .unwrap();
    assert_eq!(
        h.provider.token_requests(),
        before + 1,
        "one exchange, no loop"
    );
    assert_eq!(token.token, "t-2");
    assert!(token.expires_at <= now() + 30 * 24 * 3600, "capped");
}

#[tokio::test]
async fn hostile_custom_exchange_answers_are_the_flows_error_and_start_no_session() {
    let h = Harness::start().await;
    let issued = "urn:ietf:params:oauth:token-type:access_token";
    for (what, body) in hostile_answers(issued) {
        for login in [false, true] {
            h.provider.push_token(200, &[], body.clone());
            let options = CustomTokenExchangeOptions::new("t", "urn:acme:mcp-token");
            let error = if login {
                login_refused(&h, options).await
            } else {
                let cx = StoreContext::new();
                h.client
                    .custom_token_exchange(options, &cx)
                    .await
                    .unwrap_err()
            };
            assert!(
                matches!(&error, Error::CustomTokenExchange { error, status: 200, .. }
                    if error == "invalid_response"),
                "{what} (login {login}): {error:?}"
            );
        }
    }
}

/// A provider that echoes the subject token in its `error_description`: the message shows
/// it nowhere.
#[tokio::test]
async fn a_subject_token_echoed_in_a_refusal_is_not_shown() {
    let h = Harness::start().await;
    h.provider.push_token(
        400,
        &[],
        json!({"error": "invalid_request",
               "error_description": "subject token secret-subject-123 is unknown"}),
    );
    let options = CustomTokenExchangeOptions::new("secret-subject-123", "urn:acme:mcp-token");
    let error = h
        .client
        .custom_token_exchange(options, &StoreContext::new())
        .await
        .unwrap_err();
    for shown in [error.to_string(), format!("{error:?}")] {
        assert!(!shown.contains("secret-subject-123"), "{shown}");
        assert!(shown.contains("is unknown"), "the rest is kept: {shown}");
    }
}

/// A subject token may be good for one exchange: a 503 (or any 5xx) is not retried, since
/// the provider may have used it before failing.
#[tokio::test]
async fn a_custom_exchange_answered_503_is_not_retried() {
    let h = Harness::start().await;
    h.provider
        .push_token(503, &[], json!({"error": "temporarily_unavailable"}));
    h.provider.push_token(
        200,
        &[],
        json!({"access_token": "second", "expires_in": 60}),
    );
    let before = h.provider.token_requests();
    let options = CustomTokenExchangeOptions::new("once", "urn:acme:mcp-token");
    let error = h
        .client
        .custom_token_exchange(options, &StoreContext::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::CustomTokenExchange { status: 503, .. }),
        "{error:?}"
    );
    assert_eq!(h.provider.token_requests(), before + 1, "sent once");
}
