//! Shared by the end-to-end tests against the real OpenID provider (panva's `oidc-provider`,
//! started by `scripts/oidc-provider.sh`, named by `OIDC_PROVIDER_ISSUER`): the provider's
//! discovery and dynamic client registration, and a browser (a cookie jar, redirects
//! followed by hand, the provider's login, consent and logout forms filled like a user).
//!
//! Used by core's `tests/oidc_provider.rs` and the quickstart's. reqwest is built without a
//! TLS crypto provider of its own: [`http_client`] installs the SDK's first.

use std::io::Write as _;
use std::sync::{Mutex, Once};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use josekit::jwk::JwkSet;
use serde_json::{Map, Value, json};
use url::Url;

/// What the browser types into the provider's login form (any login works there). The
/// provider's accounts: login `ada@example.com` gives sub `ada@example.com`, nickname `ada`,
/// name `ada (test user)`, email `ada@example.com`, email_verified true.
pub const LOGIN: &str = "ada@example.com";
/// The `name` claim of [`LOGIN`]'s account.
pub const LOGIN_NAME: &str = "ada (test user)";
/// How many requests the browser follows for one navigation before it calls it a loop.
const MAX_HOPS: usize = 20;
/// Time allowed for each of the browser's and the test's own requests.
const HTTP_TIMEOUT: Duration = Duration::from_secs(15);

/// The provider named by `OIDC_PROVIDER_ISSUER`; `None` (after a loud message) when it is
/// unset outside CI.
pub fn issuer() -> Option<String> {
    match std::env::var("OIDC_PROVIDER_ISSUER") {
        Ok(issuer) if !issuer.trim().is_empty() => {
            Some(issuer.trim().trim_end_matches('/').to_owned())
        }
        _ if std::env::var_os("CI").is_some() => panic!(
            "OIDC_PROVIDER_ISSUER is not set, and CI is, so the end-to-end tests against a real \
             OpenID provider cannot be skipped: run ./scripts/test, or start one with \
             export OIDC_PROVIDER_ISSUER=\"$(scripts/oidc-provider.sh start | tail -n 1)\""
        ),
        _ => {
            // Once per run, and straight to stderr: the test harness captures `eprintln!`
            // of passing tests, which would make the skip silent.
            static SKIP_NOTICE: Once = Once::new();
            SKIP_NOTICE.call_once(|| {
                let _ = std::io::stderr().write_all(
                    b"\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
                      !! SKIPPED: the login flow against a real OpenID provider is NOT tested.\n\
                      !! OIDC_PROVIDER_ISSUER is not set. Run ./scripts/test, or\n\
                      !!   export OIDC_PROVIDER_ISSUER=\"$(scripts/oidc-provider.sh start | tail -n 1)\"\n\
                      !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n",
                );
            });
            None
        }
    }
}

/// The provider's test hooks (tests/e2e/oidc-provider/provider.mjs) and keys.
impl Provider {
    /// How many token requests of `grant_type` the provider received from the client.
    pub async fn token_requests(&self, client_id: &str, grant_type: &str) -> u64 {
        let mut url = Url::parse(&format!("{}/_test/token-requests", self.issuer)).unwrap();
        url.query_pairs_mut().append_pair("client_id", client_id);
        let counts: Value = self
            .http
            .get(url)
            .send()
            .await
            .expect("the provider's test hooks answer")
            .json()
            .await
            .expect("JSON counts");
        counts[grant_type].as_u64().unwrap_or(0)
    }

    /// The next `count` token requests of the client and grant type get `status` (with
    /// `Retry-After: retry_after`) instead of reaching the provider.
    pub async fn inject_token_fault(
        &self,
        client_id: &str,
        grant_type: &str,
        status: u16,
        retry_after: u64,
        count: u32,
    ) {
        self.post_token_fault(json!({"client_id": client_id, "grant_type": grant_type,
            "status": status, "retry_after": retry_after, "count": count}))
            .await;
    }

    /// The next `count` token requests of the client and grant type get the OAuth `error`
    /// with `status` instead of reaching the provider (e.g. CIBA's `slow_down`).
    pub async fn inject_token_error(
        &self,
        client_id: &str,
        grant_type: &str,
        status: u16,
        error: &str,
        count: u32,
    ) {
        self.post_token_fault(json!({"client_id": client_id, "grant_type": grant_type,
            "status": status, "error": error, "count": count}))
            .await;
    }

    /// Registers a token-endpoint fault with the provider's test hook.
    async fn post_token_fault(&self, fault: serde_json::Value) {
        let response = self
            .http
            .post(format!("{}/_test/token-faults", self.issuer))
            .json(&fault)
            .send()
            .await
            .expect("the provider's test hooks answer");
        assert_eq!(response.status(), 201, "fault not accepted");
    }

    /// The client's CIBA requests no one answered yet, as `(auth_req_id, sub,
    /// binding_message)`; waits up to `HTTP_TIMEOUT` for at least one.
    pub async fn ciba_pending(&self, client_id: &str) -> Vec<(String, String, Option<String>)> {
        let mut url = Url::parse(&format!("{}/_test/ciba/pending", self.issuer)).unwrap();
        url.query_pairs_mut().append_pair("client_id", client_id);
        let started = std::time::Instant::now();
        loop {
            let pending: Vec<Value> = self
                .http
                .get(url.clone())
                .send()
                .await
                .expect("the provider's test hooks answer")
                .json()
                .await
                .expect("JSON pending requests");
            if !pending.is_empty() || started.elapsed() > HTTP_TIMEOUT {
                return pending
                    .iter()
                    .map(|p| {
                        (
                            p["auth_req_id"].as_str().unwrap_or_default().to_owned(),
                            p["sub"].as_str().unwrap_or_default().to_owned(),
                            p["binding_message"].as_str().map(str::to_owned),
                        )
                    })
                    .collect();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The user approves (`true`) or denies the CIBA request on their device.
    pub async fn ciba_answer(&self, auth_req_id: &str, approve: bool) {
        let response = self
            .http
            .post(format!("{}/_test/ciba/answer", self.issuer))
            .json(&json!({"auth_req_id": auth_req_id, "approve": approve}))
            .send()
            .await
            .expect("the provider's test hooks answer");
        assert_eq!(response.status(), 204, "CIBA answer not accepted");
    }

    /// The claims of a JWT the provider signed, after checking the signature with its keys.
    pub async fn verified_claims(&self, jwt: &str) -> (Map<String, Value>, Map<String, Value>) {
        let jwks: Map<String, Value> = self
            .http
            .get(format!("{}/jwks", self.issuer))
            .send()
            .await
            .expect("the provider's key set")
            .json()
            .await
            .expect("a JSON key set");
        let jwks = JwkSet::from_map(jwks).expect("a key set");
        let header: Map<String, Value> =
            serde_json::from_slice(&B64.decode(jwt.split('.').next().unwrap()).unwrap())
                .expect("a JWT header");
        let kid = header["kid"].as_str().expect("a kid");
        let key = jwks.get(kid).into_iter().next().expect("the signing key");
        assert_eq!(header["alg"], "RS256");
        let verifier = josekit::jws::RS256.verifier_from_jwk(key).unwrap();
        let (payload, _) = josekit::jwt::decode_with_verifier(jwt, &verifier)
            .expect("a JWT signed by the provider");
        (header, payload.into())
    }
}

/// An HTTP client that does not follow redirects.
pub fn http_client() -> reqwest::Client {
    // These clients may be built before the SDK's: install its TLS crypto provider first.
    auth0_store_core::tls::ensure_crypto_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(HTTP_TIMEOUT)
        .build()
        .expect("an HTTP client")
}

/// The provider, and the parts of it that are not the SDK's business.
pub struct Provider {
    /// Its issuer URL, without a trailing `/`.
    pub issuer: String,
    /// The test's HTTP client for it (no redirects followed).
    pub http: reqwest::Client,
}

impl Provider {
    /// The provider `OIDC_PROVIDER_ISSUER` names; `None` as [`issuer`] says.
    pub fn from_env() -> Option<Self> {
        Some(Self {
            issuer: issuer()?,
            http: http_client(),
        })
    }

    /// Registers a client (dynamic client registration) whose callback is `app`'s
    /// `callback`, its post-logout redirect `app`'s `post_logout` and its back-channel
    /// logout URI `app`'s `backchannel-logout`; returns its id and secret.
    pub async fn register(&self, app: &Url, name: &str, post_logout: &str) -> (String, String) {
        self.register_with(app, name, post_logout, json!({})).await
    }

    /// [`Provider::register`] with more (or other) client metadata: `extra`'s fields
    /// replace the defaults (e.g. `grant_types` with CIBA's,
    /// `backchannel_token_delivery_mode`).
    pub async fn register_with(
        &self,
        app: &Url,
        name: &str,
        post_logout: &str,
        extra: Value,
    ) -> (String, String) {
        let mut metadata = json!({
            "client_name": name,
            "redirect_uris": [app.join("callback").unwrap().as_str()],
            "post_logout_redirect_uris": [app.join(post_logout).unwrap().as_str()],
            "backchannel_logout_uri": app.join("backchannel-logout").unwrap().as_str(),
            "backchannel_logout_session_required": true,
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_basic",
            "id_token_signed_response_alg": "RS256",
        });
        if let (Some(metadata), Value::Object(extra)) = (metadata.as_object_mut(), extra) {
            metadata.extend(extra);
        }
        let response = self
            .http
            .post(format!("{}/reg", self.issuer))
            .json(&metadata)
            .send()
            .await
            .expect("the provider's registration endpoint answers");
        let status = response.status();
        let body: Value = response.json().await.expect("a JSON registration response");
        assert_eq!(status, 201, "client registration failed: {body}");
        (
            body["client_id"].as_str().unwrap().to_owned(),
            body["client_secret"].as_str().unwrap().to_owned(),
        )
    }

    /// Registers a client like [`Provider::register`] that authenticates with
    /// `private_key_jwt`: client assertions signed with `alg` by the private key of
    /// `public_jwk`; returns its id (it has no secret).
    pub async fn register_private_key_jwt(
        &self,
        app: &Url,
        name: &str,
        public_jwk: &Value,
        alg: &str,
    ) -> String {
        let metadata = json!({
            "client_name": name,
            "redirect_uris": [app.join("callback").unwrap().as_str()],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "private_key_jwt",
            "token_endpoint_auth_signing_alg": alg,
            "jwks": {"keys": [public_jwk]},
            "id_token_signed_response_alg": "RS256",
        });
        let response = self
            .http
            .post(format!("{}/reg", self.issuer))
            .json(&metadata)
            .send()
            .await
            .expect("the provider's registration endpoint answers");
        let status = response.status();
        let body: Value = response.json().await.expect("a JSON registration response");
        assert_eq!(status, 201, "client registration failed: {body}");
        assert!(
            body.get("client_secret").is_none(),
            "a secret was issued: {body}"
        );
        body["client_id"].as_str().unwrap().to_owned()
    }

    /// The provider's discovery document.
    pub async fn discovery(&self) -> Value {
        self.http
            .get(format!("{}/.well-known/openid-configuration", self.issuer))
            .send()
            .await
            .expect("the provider's discovery document")
            .json()
            .await
            .expect("a JSON discovery document")
    }
}

/// A cookie the browser keeps.
struct Cookie {
    host: String,
    name: String,
    value: String,
    path: String,
}

/// What a navigation showed the user on the way (the provider's forms filled, every URL
/// requested), and where it ended.
pub struct Navigation {
    /// The provider's forms filled, in order.
    pub forms: Vec<&'static str>,
    /// Every URL requested.
    pub visited: Vec<Url>,
    /// [`Browser::navigate`]: the first redirect off the provider, not followed.
    /// [`Browser::browse`]: the page shown at the end.
    pub left_at: Url,
    /// [`Browser::browse`]: the page's HTML (empty for [`Browser::navigate`]).
    pub html: String,
}

/// The user's browser: one cookie jar (by host, whatever the port, as browsers do),
/// redirects followed by hand, the provider's forms filled like a user would.
pub struct Browser {
    /// Its HTTP client (no redirects followed, no cookies kept by itself).
    pub http: reqwest::Client,
    provider: url::Origin,
    jar: Mutex<Vec<Cookie>>,
}

/// The value of an attribute in an HTML tag (`name="value"`), unescaped.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = start + tag[start..].find('"')?;
    Some(
        tag[start..end]
            .replace("&#x2F;", "/")
            .replace("&#47;", "/")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// The tags named `name` in a page.
fn tags<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name}");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find(&open) {
        let Some(len) = rest[start..].find('>') else {
            break;
        };
        out.push(&rest[start..start + len + 1]);
        rest = &rest[start + len + 1..];
    }
    out
}

/// A page's first form: where it posts to, and its hidden fields.
fn form(page: &str, html: &str) -> (Url, Vec<(String, String)>) {
    let form = tags(html, "form")
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no form on the page {page}:\n{html}"));
    let action = attribute(form, "action").expect("a form action");
    let hidden = tags(html, "input")
        .into_iter()
        .filter(|t| attribute(t, "type").as_deref() == Some("hidden"))
        .filter_map(|t| {
            Some((
                attribute(t, "name")?,
                attribute(t, "value").unwrap_or_default(),
            ))
        })
        .collect();
    (Url::parse(page).unwrap().join(&action).unwrap(), hidden)
}

impl Browser {
    /// A browser with an empty cookie jar, for `provider`.
    pub fn new(provider: &Provider) -> Self {
        Self {
            http: http_client(),
            provider: Url::parse(&provider.issuer).unwrap().origin(),
            jar: Mutex::new(Vec::new()),
        }
    }

    fn cookie_header(&self, url: &Url) -> Option<String> {
        let jar = self.jar.lock().unwrap();
        let host = url.host_str().unwrap_or_default();
        let pairs: Vec<String> = jar
            .iter()
            .filter(|c| {
                let path = url.path();
                c.host == host
                    && (path == c.path
                        || path.starts_with(&format!("{}/", c.path.trim_end_matches('/'))))
            })
            .map(|c| format!("{}={}", c.name, c.value))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    /// The names of the cookies the browser keeps for `url`.
    pub fn cookie_names(&self, url: &Url) -> Vec<String> {
        self.cookie_header(url)
            .unwrap_or_default()
            .split("; ")
            .filter_map(|pair| Some(pair.split_once('=')?.0.to_owned()))
            .collect()
    }

    /// Keeps the response's cookies (name, value and path; a cookie set empty or already
    /// expired is removed, which is how the provider clears them).
    fn keep_cookies(&self, url: &Url, response: &reqwest::Response) {
        let mut jar = self.jar.lock().unwrap();
        let host = url.host_str().unwrap_or_default().to_owned();
        for header in response.headers().get_all(reqwest::header::SET_COOKIE) {
            let header = header.to_str().expect("an ASCII Set-Cookie");
            let mut parts = header.split(';').map(str::trim);
            let (name, value) = parts.next().unwrap().split_once('=').unwrap();
            // RFC 6265's default path: the request path up to its last `/`.
            let request_path = url.path();
            let mut path = match request_path.rfind('/') {
                Some(0) | None => "/".to_owned(),
                Some(i) => request_path[..i].to_owned(),
            };
            let mut removal = value.is_empty();
            for attribute in parts {
                let (key, val) = attribute.split_once('=').unwrap_or((attribute, ""));
                match key.to_ascii_lowercase().as_str() {
                    "path" => path = val.to_owned(),
                    "max-age" => removal |= val.parse::<i64>().is_ok_and(|s| s <= 0),
                    "expires" => removal |= val.contains("1970"),
                    _ => {}
                }
            }
            jar.retain(|c| !(c.host == host && c.name == name && c.path == path));
            if !removal {
                jar.push(Cookie {
                    host: host.clone(),
                    name: name.to_owned(),
                    value: value.to_owned(),
                    path,
                });
            }
        }
    }

    /// One request with the jar's cookies; the response's cookies are kept.
    pub async fn send(&self, url: &Url, form: Option<&[(String, String)]>) -> reqwest::Response {
        self.send_with(url, form, &[]).await
    }

    /// [`Browser::send`] with more request headers (e.g. the `Sec-Fetch-Site` a real
    /// browser sends for a link on the app's own page).
    pub async fn send_with(
        &self,
        url: &Url,
        form: Option<&[(String, String)]>,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = match form {
            Some(form) => self.http.post(url.clone()).form(form),
            None => self.http.get(url.clone()),
        };
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(cookies) = self.cookie_header(url) {
            request = request.header(reqwest::header::COOKIE, cookies);
        }
        let response = request
            .send()
            .await
            .expect("the browser's request answered");
        self.keep_cookies(url, &response);
        response
    }

    /// Goes to `url` and on through the provider's pages (filling its login form with
    /// [`LOGIN`] and accepting its consent and logout forms) until a redirect leaves the
    /// provider; returns where it leads, without going there.
    pub async fn navigate(&self, url: Url) -> Navigation {
        assert_eq!(url.origin(), self.provider, "a navigation at the provider");
        self.walk(url, true).await
    }

    /// Goes to `url` and follows every redirect, through the provider's pages (filled as
    /// [`Browser::navigate`] does), until a page that is not the provider's; it must
    /// answer 200.
    pub async fn browse(&self, url: Url) -> Navigation {
        self.walk(url, false).await
    }

    async fn walk(&self, url: Url, stop_off_provider: bool) -> Navigation {
        let mut forms = Vec::new();
        let mut visited = Vec::new();
        let mut next = url;
        let mut form_data: Option<Vec<(String, String)>> = None;
        for _ in 0..MAX_HOPS {
            visited.push(next.clone());
            let response = self.send(&next, form_data.as_deref()).await;
            let status = response.status();
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .expect("a redirect with a Location");
                let target = next.join(location).expect("a Location URL");
                if stop_off_provider && target.origin() != self.provider {
                    return Navigation {
                        forms,
                        visited,
                        left_at: target,
                        html: String::new(),
                    };
                }
                next = target;
                form_data = None;
                continue;
            }
            let page = next.to_string();
            let html = response.text().await.unwrap_or_default();
            assert_eq!(status, 200, "{page} answered {status}:\n{html}");
            if next.origin() != self.provider {
                return Navigation {
                    forms,
                    visited,
                    left_at: next,
                    html,
                };
            }
            let (action, mut fields) = form(&page, &html);
            let prompt = fields
                .iter()
                .find(|(name, _)| name == "prompt")
                .map(|(_, value)| value.clone());
            match prompt.as_deref() {
                Some("login") => {
                    forms.push("login");
                    fields.push(("login".into(), LOGIN.into()));
                    fields.push(("password".into(), "any password will do".into()));
                }
                Some("consent") => forms.push("consent"),
                _ if html.contains("op.logoutForm") => {
                    forms.push("logout");
                    fields.push(("logout".into(), "yes".into()));
                }
                _ => panic!("an unexpected page at {page}:\n{html}"),
            }
            next = action;
            form_data = Some(fields);
        }
        panic!("more than {MAX_HOPS} requests without reaching a page");
    }
}
