//! A scripted provider on loopback for the error paths and the validation matrix: discovery,
//! a key set the test controls, and a token endpoint that answers what the test queues.
//! (The happy path is tested against a real OpenID provider in `oidc_provider.rs`.)
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use auth0_server_core::client::{LoginResult, ServerClient, StartLoginOptions};
use auth0_server_core::store::{ServerSideStateStore, StoreContext};
use auth0_server_core::{Secrets, client::Error};
use auth0_store_memory::{MemoryBackend, MemoryTransactionBackend};
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use josekit::jwk::Jwk;
use josekit::jws::{JwsHeader, RS256};
use josekit::jwt::JwtPayload;
use serde_json::{Map, Value, json};
use url::Url;

pub const CLIENT_ID: &str = "test-client";
pub const CLIENT_SECRET: &str = "test-client-secret";
pub const SECRET: &str = "a-secret-of-at-least-thirty-two-bytes";

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// An RSA signing key with its kid.
#[derive(Clone)]
pub struct TestKey {
    pub kid: String,
    pub private: Jwk,
    pub public: Jwk,
}

impl TestKey {
    pub fn generate(kid: &str) -> Self {
        let pair = RS256.generate_key_pair(2048).unwrap();
        let mut private = pair.to_jwk_private_key();
        let mut public = pair.to_jwk_public_key();
        private.set_key_id(kid);
        public.set_key_id(kid);
        public.set_algorithm("RS256");
        public.set_key_use("sig");
        Self {
            kid: kid.to_owned(),
            private,
            public,
        }
    }

    /// Signs `claims` with RS256, with `header` members added to the header.
    pub fn sign(&self, claims: &Value, header: &Value) -> String {
        let mut h = JwsHeader::new();
        h.set_key_id(&self.kid);
        for (k, v) in header.as_object().unwrap() {
            h.set_claim(k, Some(v.clone())).unwrap();
        }
        let payload = JwtPayload::from_map(claims.as_object().unwrap().clone()).unwrap();
        let signer = RS256.signer_from_jwk(&self.private).unwrap();
        josekit::jwt::encode_with_signer(&payload, &h, &signer).unwrap()
    }
}

/// A queued token-endpoint answer: status, headers, JSON body.
pub type ScriptedAnswer = (u16, Vec<(String, String)>, Value);

#[derive(Default)]
pub struct MockState {
    pub issuer: Mutex<String>,
    pub keys: Mutex<Vec<Jwk>>,
    pub jwks_fetches: AtomicUsize,
    pub token_requests: AtomicUsize,
    pub token_script: Mutex<VecDeque<ScriptedAnswer>>,
    pub forms: Mutex<Vec<HashMap<String, String>>>,
    /// The forms posted to the PAR endpoint, as sent (a name may repeat).
    pub par_forms: Mutex<Vec<Vec<(String, String)>>>,
    pub auth_headers: Mutex<Vec<Option<String>>>,
    pub end_session: Mutex<bool>,
    pub telemetry: Mutex<Vec<String>>,
    /// The `Auth0-Client` header of each token request (`None` when absent).
    pub token_telemetry: Mutex<Vec<Option<String>>>,
    pub iss_parameter: Mutex<bool>,
    /// Whether discovery names a CIBA endpoint (`/bc-authorize`, answering a request that
    /// lives 60 s with an interval of 1 s).
    pub backchannel: Mutex<bool>,
}

pub struct MockProvider {
    pub base: String,
    pub state: Arc<MockState>,
}

async fn discovery(State(s): State<Arc<MockState>>, headers: HeaderMap) -> Json<Value> {
    if let Some(value) = headers.get("auth0-client").and_then(|v| v.to_str().ok()) {
        s.telemetry.lock().unwrap().push(value.to_owned());
    }
    let issuer = s.issuer.lock().unwrap().clone();
    let mut doc = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/oauth/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "pushed_authorization_request_endpoint": format!("{issuer}/oauth/par"),
        "authorization_response_iss_parameter_supported": *s.iss_parameter.lock().unwrap(),
    });
    if *s.backchannel.lock().unwrap() {
        doc["backchannel_authentication_endpoint"] = json!(format!("{issuer}/bc-authorize"));
    }
    if *s.end_session.lock().unwrap() {
        doc["end_session_endpoint"] = json!(format!("{issuer}/session/end"));
    }
    Json(doc)
}

async fn jwks(State(s): State<Arc<MockState>>) -> Json<Value> {
    s.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    let keys: Vec<Value> = s
        .keys
        .lock()
        .unwrap()
        .iter()
        .map(|k| Value::Object(k.as_ref().clone()))
        .collect();
    Json(json!({ "keys": keys }))
}

async fn token(
    State(s): State<Arc<MockState>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> impl IntoResponse {
    s.token_requests.fetch_add(1, Ordering::SeqCst);
    s.forms.lock().unwrap().push(form);
    s.token_telemetry.lock().unwrap().push(
        headers
            .get("auth0-client")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    );
    s.auth_headers.lock().unwrap().push(
        headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    );
    let next = s.token_script.lock().unwrap().pop_front();
    let (status, extra_headers, body) = next.unwrap_or((
        500,
        vec![],
        json!({"error": "server_error", "error_description": "nothing scripted"}),
    ));
    let mut out = HeaderMap::new();
    for (k, v) in extra_headers {
        out.insert(
            axum::http::HeaderName::try_from(k).unwrap(),
            v.parse().unwrap(),
        );
    }
    (StatusCode::from_u16(status).unwrap(), out, Json(body))
}

/// The PAR endpoint: records the form and answers with a `request_uri`.
async fn par(
    State(s): State<Arc<MockState>>,
    Form(form): Form<Vec<(String, String)>>,
) -> impl IntoResponse {
    s.par_forms.lock().unwrap().push(form);
    (
        StatusCode::CREATED,
        Json(json!({"request_uri": "urn:ietf:params:oauth:request_uri:mock", "expires_in": 60})),
    )
}

impl MockProvider {
    pub async fn start() -> Self {
        let state = Arc::new(MockState::default());
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/oauth/token", post(token))
            .route(
                "/bc-authorize",
                post(|| async {
                    Json(json!({"auth_req_id": "req-1", "expires_in": 60, "interval": 1}))
                }),
            )
            .route("/oauth/par", post(par))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        *state.issuer.lock().unwrap() = base.clone();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { base, state }
    }

    pub fn push_token(&self, status: u16, headers: &[(&str, &str)], body: Value) {
        self.state.token_script.lock().unwrap().push_back((
            status,
            headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body,
        ));
    }

    pub fn token_requests(&self) -> usize {
        self.state.token_requests.load(Ordering::SeqCst)
    }

    pub fn jwks_fetches(&self) -> usize {
        self.state.jwks_fetches.load(Ordering::SeqCst)
    }
}

/// A client on a scripted provider with one signing key and memory stores.
pub struct Harness {
    pub provider: MockProvider,
    pub key: TestKey,
    pub client: ServerClient,
    pub backend: MemoryBackend,
}

impl Harness {
    pub async fn start() -> Self {
        Self::start_with(|b| b).await
    }

    pub async fn start_with(
        configure: impl FnOnce(
            auth0_server_core::client::ServerClientBuilder,
        ) -> auth0_server_core::client::ServerClientBuilder,
    ) -> Self {
        let provider = MockProvider::start().await;
        let key = TestKey::generate("key-1");
        provider.state.keys.lock().unwrap().push(key.public.clone());
        let backend = MemoryBackend::new();
        let secrets = Secrets::parse(SECRET).unwrap();
        let state_store = ServerSideStateStore::new(backend.clone(), &secrets);
        let builder = ServerClient::builder()
            .domain(provider.base.clone())
            .client_id(CLIENT_ID)
            .client_secret(CLIENT_SECRET)
            .secret(SECRET)
            .redirect_uri("http://localhost:5000/callback")
            .retry(auth0_server_core::client::RetryPolicy {
                max_retries: 3,
                base_delay: std::time::Duration::from_millis(10),
                max_delay: std::time::Duration::from_secs(2),
            })
            .state_store(Arc::new(state_store))
            .transaction_store(Arc::new(
                MemoryTransactionBackend::new().transaction_store(),
            ));
        let client = configure(builder).build().unwrap();
        Self {
            provider,
            key,
            client,
            backend,
        }
    }

    /// Valid ID-token claims for this client and nonce, with `overrides` merged in (a
    /// `null` removes the claim).
    pub fn claims(&self, nonce: &str, overrides: Value) -> Value {
        let now = now();
        let mut claims = json!({
            "iss": self.provider.base,
            "aud": CLIENT_ID,
            "sub": "auth0|user-1",
            "name": "Ada",
            "email": "ada@example.com",
            "sid": "provider-session-1",
            "iat": now,
            "exp": now + 3600,
            "nonce": nonce,
        });
        for (k, v) in overrides.as_object().unwrap() {
            if v.is_null() {
                claims.as_object_mut().unwrap().remove(k);
            } else {
                claims[k] = v.clone();
            }
        }
        claims
    }

    /// Starts a login; returns the authorize URL's query and the context.
    pub async fn start_login(&self, cx: &StoreContext) -> HashMap<String, String> {
        let url = self
            .client
            .start_interactive_login(StartLoginOptions::default(), cx)
            .await
            .unwrap();
        url.query_pairs().into_owned().collect()
    }

    /// A whole login whose token endpoint returns `id_token` (made from the login's nonce).
    pub async fn login_with(
        &self,
        make_id_token: impl FnOnce(&str) -> String,
        cx: &StoreContext,
    ) -> Result<LoginResult, Error> {
        let query = self.start_login(cx).await;
        let id_token = make_id_token(&query["nonce"]);
        self.provider.push_token(
            200,
            &[],
            json!({"access_token": "at-1", "id_token": id_token, "refresh_token": "rt-1",
                   "expires_in": 3600, "token_type": "Bearer", "scope": "openid profile email"}),
        );
        let callback = format!(
            "http://localhost:5000/callback?code=code-1&state={}",
            query["state"]
        );
        self.client.complete_interactive_login(&callback, cx).await
    }

    /// Completes the login whose callback is `callback_url`.
    pub async fn complete(
        &self,
        callback_url: &str,
        cx: &StoreContext,
    ) -> Result<LoginResult, Error> {
        self.client
            .complete_interactive_login(callback_url, cx)
            .await
    }

    /// A login with a valid ID token whose claims are changed by `overrides`.
    pub async fn login_with_claims(
        &self,
        overrides: Value,
        cx: &StoreContext,
    ) -> Result<LoginResult, Error> {
        let key = self.key.clone();
        let claims_for = |nonce: &str| self.claims(nonce, overrides.clone());
        self.login_with(|nonce| key.sign(&claims_for(nonce), &json!({})), cx)
            .await
    }
}

/// Options for a refresh even when the stored token is still valid.
pub fn forced() -> auth0_server_core::client::AccessTokenOptions {
    auth0_server_core::client::AccessTokenOptions {
        force_refresh: true,
        ..Default::default()
    }
}

pub fn b64(value: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value)
}

/// A JWT with any header and claims and the given signature bytes.
pub fn raw_jwt(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes()),
        b64(signature)
    )
}

pub fn as_map(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

pub fn parse(url: &str) -> Url {
    Url::parse(url).unwrap()
}
