//! What the dev tenant's tests and its logins bench share: an app (a real `ServerClient`
//! with memory stores and a back-channel logout endpoint on loopback) in front of a dev
//! tenant, and a browser that follows redirects by hand, keeps the tenant's cookies and
//! fills its login form.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth0_dev_tenant::{DevTenant, DevTenantBuilder, RunningDevTenant};
use auth0_server_core::Secrets;
use auth0_server_core::client::{
    Error, LoginResult, ServerClient, ServerClientBuilder, StartLoginOptions,
};
use auth0_server_core::store::{ServerSideStateStore, StoreContext};
use auth0_store_memory::{MemoryBackend, MemoryTransactionBackend};
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use josekit::jwk::JwkSet;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use url::Url;

/// The secret the app seals sessions with.
pub const SECRET: &str = "a-secret-of-at-least-thirty-two-bytes-for-tests";
/// The API the app asks access tokens for.
pub const API: &str = "https://api.example.com";
/// What the browser types into the login form.
pub const EMAIL: &str = "ada@example.com";
/// The name typed into the login form.
pub const NAME: &str = "Ada Lovelace";
/// The app's scope: the SDK's default plus a refresh token and an API scope.
pub const SCOPE: &str = "openid profile email offline_access read:messages";
/// How many redirects the browser follows for one navigation.
const MAX_HOPS: usize = 10;

/// An HTTP client that does not follow redirects, with the SDK's TLS crypto provider.
pub fn http_client() -> reqwest::Client {
    auth0_server_core::tls::ensure_crypto_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap()
}

/// The value of `name="…"` in a tag, unescaped.
pub fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = start + tag[start..].find('"')?;
    Some(text(&tag[start..end]))
}

/// HTML as a browser reads it: entities decoded.
pub fn text(html: &str) -> String {
    html_escape::decode_html_entities(html).into_owned()
}

/// The login form's action and its interaction id.
pub fn login_form(html: &str) -> (Url, String) {
    let form_start = html
        .find("<form")
        .unwrap_or_else(|| panic!("no form:\n{html}"));
    let form_tag = &html[form_start..form_start + html[form_start..].find('>').unwrap()];
    let action = attribute(form_tag, "action").expect("a form action");
    let input_start = html
        .find("name=\"interaction\"")
        .expect("an interaction field");
    let input_tag = &html[input_start - 1..input_start + html[input_start..].find('>').unwrap()];
    let interaction = attribute(input_tag, "value").expect("an interaction value");
    (Url::parse(&action).unwrap(), interaction)
}

/// Where a navigation ended: a redirect out of the tenant, or a page of the tenant.
#[derive(Debug)]
pub enum Landing {
    /// A redirect to another origin (not followed).
    Left(Url),
    /// A page the tenant showed.
    Page(StatusCode, String),
}

impl Landing {
    /// Where the tenant redirected; panics when it showed a page.
    pub fn left(self) -> Url {
        match self {
            Self::Left(url) => url,
            Self::Page(status, html) => panic!("the tenant showed a page ({status}):\n{html}"),
        }
    }

    /// The page the tenant showed; panics when it redirected.
    pub fn page(self) -> (StatusCode, String) {
        match self {
            Self::Page(status, html) => (status, html),
            Self::Left(url) => panic!("the tenant redirected to {url}"),
        }
    }
}

/// A browser for the tenant's origin: its cookies, redirects followed by hand.
pub struct Browser {
    /// Its HTTP client (no redirects followed, no cookies kept by itself).
    pub http: reqwest::Client,
    origin: url::Origin,
    jar: Mutex<HashMap<String, String>>,
}

impl Browser {
    /// A browser with no cookies yet, for `tenant`.
    pub fn new(tenant: &RunningDevTenant) -> Self {
        Self {
            http: http_client(),
            origin: Url::parse(tenant.issuer()).unwrap().origin(),
            jar: Mutex::new(HashMap::new()),
        }
    }

    /// How many of the tenant's cookies it holds.
    pub fn cookie_count(&self) -> usize {
        self.jar.lock().unwrap().len()
    }

    async fn send(&self, url: &Url, form: Option<&[(&str, &str)]>) -> reqwest::Response {
        assert_eq!(
            url.origin(),
            self.origin,
            "the browser only visits the tenant"
        );
        let mut request = match form {
            Some(form) => self.http.post(url.clone()).form(form),
            None => self.http.get(url.clone()),
        };
        let cookies: Vec<String> = self
            .jar
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if !cookies.is_empty() {
            request = request.header(reqwest::header::COOKIE, cookies.join("; "));
        }
        let response = request.send().await.expect("the tenant answers");
        let mut jar = self.jar.lock().unwrap();
        for header in response.headers().get_all(reqwest::header::SET_COOKIE) {
            let header = header.to_str().unwrap();
            let (pair, attributes) = header.split_once(';').unwrap_or((header, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || attributes.contains("Max-Age=0") {
                jar.remove(name);
            } else {
                jar.insert(name.to_owned(), value.to_owned());
            }
        }
        response
    }

    /// Sends a request and follows the tenant's redirects until one leaves it or a page
    /// shows.
    pub async fn go(&self, url: Url, form: Option<&[(&str, &str)]>) -> Landing {
        let mut next = url;
        let mut response = self.send(&next, form).await;
        for _ in 0..MAX_HOPS {
            if response.status().is_redirection() {
                let location = response.headers()[reqwest::header::LOCATION]
                    .to_str()
                    .unwrap()
                    .to_owned();
                let target = next.join(&location).unwrap();
                if target.origin() != self.origin {
                    return Landing::Left(target);
                }
                next = target;
                response = self.send(&next, None).await;
                continue;
            }
            let status = response.status();
            return Landing::Page(status, response.text().await.unwrap());
        }
        panic!("more than {MAX_HOPS} redirects");
    }

    /// Submits the login form shown at `html` with `fields` (besides the interaction id).
    pub async fn submit(&self, html: &str, fields: &[(&str, &str)]) -> Landing {
        let (action, interaction) = login_form(html);
        let mut form = vec![("interaction", interaction.as_str())];
        form.extend_from_slice(fields);
        self.go(action, Some(&form)).await
    }

    /// Goes to an authorization URL and logs in through the form if it shows (as `EMAIL`
    /// and `NAME`); returns the callback URL and whether the form showed.
    pub async fn authorize(&self, url: Url) -> (Url, bool) {
        match self.go(url, None).await {
            Landing::Left(callback) => (callback, false),
            Landing::Page(status, html) => {
                assert_eq!(status, 200, "{html}");
                assert!(html.contains(auth0_dev_tenant::BANNER), "{html}");
                let callback = self
                    .submit(
                        &html,
                        &[("email", EMAIL), ("name", NAME), ("action", "login")],
                    )
                    .await
                    .left();
                (callback, true)
            }
        }
    }
}

/// What the app's back-channel logout endpoint received and did: the token and the outcome.
pub type BackchannelLog = Arc<Mutex<Vec<(String, Result<u64, &'static str>)>>>;

/// `POST /backchannel-logout`: what an app does with the tenant's logout token.
async fn backchannel_logout(
    State((client, log)): State<(ServerClient, BackchannelLog)>,
    Form(form): Form<BTreeMap<String, String>>,
) -> StatusCode {
    let Some(token) = form.get("logout_token") else {
        return StatusCode::BAD_REQUEST;
    };
    let outcome = client
        .handle_backchannel_logout(token, &StoreContext::new())
        .await;
    let status = match &outcome {
        Ok(_) => StatusCode::OK,
        Err(Error::InvalidLogoutToken(_)) => StatusCode::BAD_REQUEST,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    log.lock()
        .unwrap()
        .push((token.clone(), outcome.map_err(|e| e.code())));
    status
}

/// A dev tenant and an app that logs in against it.
pub struct Setup {
    /// The tenant.
    pub tenant: RunningDevTenant,
    /// The app's client of the tenant.
    pub client: ServerClient,
    /// The app's base URL, `http://127.0.0.1:PORT/`.
    pub app: Url,
    /// What the app's back-channel logout endpoint received.
    pub backchannel: BackchannelLog,
}

impl Setup {
    /// A tenant and an app that asks for [`SCOPE`] and tokens for [`API`].
    pub async fn start() -> Self {
        Self::start_with(|t| t, |c| c.audience(API)).await
    }

    /// The tenant allows the app's callback and logout URLs, knows [`API`], and POSTs
    /// back-channel logouts to the app; the app asks for [`SCOPE`] (and no audience) and
    /// authenticates with the tenant's client secret (unless the tenant has the client's
    /// public key: then `client` gives the private key); `tenant` and `client` change that.
    pub async fn start_with(
        tenant: impl FnOnce(DevTenantBuilder) -> DevTenantBuilder,
        client: impl FnOnce(ServerClientBuilder) -> ServerClientBuilder,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let app = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let running = tenant(
            DevTenant::builder()
                .redirect_uri(app.join("callback").unwrap().as_str())
                .logout_uri(app.join("logged-out").unwrap().as_str())
                .audience(API)
                .backchannel_logout_uri(app.join("backchannel-logout").unwrap().as_str()),
        )
        .start()
        .await
        .unwrap();
        let secrets = Secrets::parse(SECRET).unwrap();
        let mut builder = ServerClient::builder()
            .domain(running.domain())
            .client_id(running.client_id());
        // A client with a public key at the tenant signs client assertions instead (`client`
        // gives it its private key), and needs no secret.
        if running.tenant().config().client_authentication_method() != "private_key_jwt" {
            builder = builder.client_secret(running.client_secret());
        }
        let builder = builder
            .secret(SECRET)
            .redirect_uri(app.join("callback").unwrap().as_str())
            .scope(SCOPE)
            .state_store(Arc::new(ServerSideStateStore::new(
                MemoryBackend::new(),
                &secrets,
            )))
            .transaction_store(Arc::new(
                MemoryTransactionBackend::new().transaction_store(),
            ));
        let client = client(builder).build().unwrap();
        let backchannel = BackchannelLog::default();
        let router = axum::Router::new()
            .route("/backchannel-logout", post(backchannel_logout))
            .with_state((client.clone(), backchannel.clone()));
        tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Self {
            tenant: running,
            client,
            app,
            backchannel,
        }
    }

    /// The app's callback URL.
    pub fn callback(&self) -> String {
        self.app.join("callback").unwrap().to_string()
    }

    /// Starts a login at the app; returns the authorization URL and the request's context.
    pub async fn start_login(&self, options: StartLoginOptions) -> (Url, StoreContext) {
        let cx = StoreContext::new();
        let url = self
            .client
            .start_interactive_login(options, &cx)
            .await
            .unwrap();
        (url, cx)
    }

    /// A whole login in `browser`: the app's login, the tenant's form (if it shows), the
    /// callback. Returns the outcome, the next request's context, and whether the form
    /// showed.
    pub async fn login(&self, browser: &Browser) -> (LoginResult, StoreContext, bool) {
        let (url, cx) = self.start_login(StartLoginOptions::default()).await;
        let (callback, form_shown) = browser.authorize(url).await;
        assert!(
            callback.as_str().starts_with(&self.callback()),
            "back to the app's callback, not {callback}"
        );
        let done = self
            .client
            .complete_interactive_login(callback.as_str(), &cx)
            .await
            .unwrap();
        (done, StoreContext::from_cookies(cx.cookies()), form_shown)
    }

    /// A copy of the back-channel log so far.
    pub fn backchannel_log(&self) -> Vec<(String, Result<u64, &'static str>)> {
        self.backchannel.lock().unwrap().clone()
    }
}

/// A token-endpoint request made by hand: the status and the JSON answer.
pub async fn token_request(
    tenant: &RunningDevTenant,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> (StatusCode, Value, reqwest::header::HeaderMap) {
    let mut request = http_client()
        .post(format!("{}oauth/token", tenant.issuer()))
        .form(form);
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.send().await.unwrap();
    let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
    let headers = response.headers().clone();
    (status, response.json().await.unwrap(), headers)
}

/// An ES256 key pair for a `private_key_jwt` application, with `kid`: the private JWK the
/// app signs with and the public JWK the tenant registers.
///
/// ```
/// let (private, public) = auth0_test_support::dev_tenant::es256_jwk_pair("k1");
/// assert!(private.contains("\"d\"") && !public.contains("\"d\""));
/// ```
pub fn es256_jwk_pair(kid: &str) -> (String, String) {
    use josekit::jwk::KeyPair as _;
    let pair = josekit::jws::ES256
        .generate_key_pair()
        .expect("an ES256 key pair");
    let (mut private, mut public) = (pair.to_jwk_private_key(), pair.to_jwk_public_key());
    private.set_key_id(kid);
    public.set_key_id(kid);
    (private.to_string(), public.to_string())
}

/// A PKCE pair: (verifier, S256 challenge).
pub fn pkce(verifier: &str) -> (String, String) {
    (
        verifier.to_owned(),
        B64.encode(Sha256::digest(verifier.as_bytes())),
    )
}

/// The verifier the hand-made authorization requests use.
pub const VERIFIER: &str = "a-pkce-verifier-of-at-least-forty-three-characters-long";

/// A hand-made authorization URL for `redirect_uri` with the PKCE challenge of [`VERIFIER`],
/// with `extra` parameters added (or, with an empty value, removed).
pub fn authorize_url(tenant: &RunningDevTenant, redirect_uri: &str, extra: &[(&str, &str)]) -> Url {
    let (_, challenge) = pkce(VERIFIER);
    let mut params: BTreeMap<&str, String> = [
        ("client_id", tenant.client_id().to_owned()),
        ("redirect_uri", redirect_uri.to_owned()),
        ("response_type", "code".to_owned()),
        ("scope", SCOPE.to_owned()),
        ("state", "state-1".to_owned()),
        ("nonce", "nonce-1".to_owned()),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256".to_owned()),
    ]
    .into_iter()
    .collect();
    for (k, v) in extra {
        if v.is_empty() {
            params.remove(k);
        } else {
            params.insert(k, (*v).to_owned());
        }
    }
    let mut url = Url::parse(&format!("{}authorize", tenant.issuer())).unwrap();
    url.query_pairs_mut().extend_pairs(params.iter());
    url
}

/// The query of a URL as a map.
pub fn query(url: &Url) -> BTreeMap<String, String> {
    url.query_pairs().into_owned().collect()
}

/// A code from a hand-made authorization request (logging in through the form).
pub async fn code_for(setup: &Setup, browser: &Browser, extra: &[(&str, &str)]) -> String {
    let url = authorize_url(&setup.tenant, &setup.callback(), extra);
    let (callback, _) = browser.authorize(url).await;
    let q = query(&callback);
    assert_eq!(q["state"], "state-1");
    q["code"].clone()
}

/// The header and claims of a JWT, after checking its signature against the tenant's JWKS.
pub async fn verified(
    tenant: &RunningDevTenant,
    jwt: &str,
) -> (Map<String, Value>, Map<String, Value>) {
    let jwks: Map<String, Value> = http_client()
        .get(format!("{}.well-known/jwks.json", tenant.issuer()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwks = JwkSet::from_map(jwks).unwrap();
    let header: Map<String, Value> =
        serde_json::from_slice(&B64.decode(jwt.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!(header["alg"], "RS256");
    let kid = header["kid"].as_str().expect("a kid");
    let key = jwks
        .get(kid)
        .into_iter()
        .next()
        .expect("the key named by kid");
    let verifier = josekit::jws::RS256.verifier_from_jwk(key).unwrap();
    let (payload, _) =
        josekit::jwt::decode_with_verifier(jwt, &verifier).expect("a valid signature");
    (header, payload.into())
}
