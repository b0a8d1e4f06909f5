//! What the quickstart's end-to-end tests share: a browser that keeps cookies and follows
//! redirects by hand, the app started on a free port against an in-process dev tenant, and a
//! login through the tenant's form.
#![allow(dead_code)] // each test file uses its own part

use std::collections::BTreeMap;
use std::io::Write as _;

use auth0_server::client::ServerClientBuilder;
use quickstart::{DEV_AUDIENCE, Settings, StoreChoice, TransactionChoice, app, dev_tenant_client};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

/// What a link or form on another site sends (Fetch Metadata).
pub const CROSS_SITE: &[(&str, &str)] = &[("sec-fetch-site", "cross-site")];
/// What a link on the app's own pages sends.
pub const SAME_ORIGIN: &[(&str, &str)] = &[("sec-fetch-site", "same-origin")];

/// A browser: one cookie jar (everything runs on 127.0.0.1), redirects followed by hand.
pub struct Browser {
    pub http: reqwest::Client,
    pub jar: BTreeMap<String, String>,
    pub set_cookies: Vec<String>,
    pub visited: Vec<String>,
}

impl Browser {
    pub fn new() -> Self {
        // This client is built before the SDK's: install the same TLS provider first.
        auth0_server::tls::ensure_crypto_provider();
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            jar: BTreeMap::new(),
            set_cookies: Vec::new(),
            visited: Vec::new(),
        }
    }

    fn take(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all(SET_COOKIE) {
            let header = value.to_str().unwrap().to_owned();
            let (pair, attrs) = header.split_once(';').unwrap_or((&header, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") {
                self.jar.remove(name.trim());
            } else {
                self.jar
                    .insert(name.trim().to_owned(), value.trim().to_owned());
            }
            self.set_cookies.push(header.clone());
        }
    }

    pub fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// A navigation to `url` (a typed URL or a redirect).
    pub async fn get(&mut self, url: &str) -> reqwest::Response {
        self.get_with(url, &[]).await
    }

    /// A link on the app's own page: what [`Browser::get`] sends, with the `Sec-Fetch-Site`
    /// header a browser adds.
    pub async fn get_from_app(&mut self, url: &str) -> reqwest::Response {
        self.get_with(url, SAME_ORIGIN).await
    }

    /// A navigation to `url` with these headers too (Fetch Metadata, `Origin`, …).
    pub async fn get_with(&mut self, url: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        self.visited.push(url.to_owned());
        let request = self.http.get(url);
        self.send(request, headers).await
    }

    /// A form posted to `url`.
    pub async fn post_form(&mut self, url: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.post_form_with(url, form, &[]).await
    }

    /// A form posted to `url` with these headers too.
    pub async fn post_form_with(
        &mut self,
        url: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let request = self.http.post(url).form(form);
        self.send(request, headers).await
    }

    async fn send(
        &mut self,
        request: reqwest::RequestBuilder,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = request.header(COOKIE, self.cookie_header());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        self.take(&response);
        response
    }

    /// Follows redirects from `response` until a page; returns its final URL and body.
    pub async fn follow(
        &mut self,
        mut url: String,
        mut response: reqwest::Response,
    ) -> (String, String) {
        for _ in 0..10 {
            if !response.status().is_redirection() {
                let status = response.status();
                let body = response.text().await.unwrap();
                assert!(status.is_success(), "{url} answered {status}: {body}");
                return (url, body);
            }
            let next = response.headers()[LOCATION].to_str().unwrap().to_owned();
            url = reqwest::Url::parse(&url)
                .unwrap()
                .join(&next)
                .unwrap()
                .to_string();
            response = self.get(&url).await;
        }
        panic!("too many redirects");
    }
}

/// The value of `name="…" value="…"` and the form's action in an HTML page.
pub fn form_parts(html: &str) -> (String, String) {
    let action = html
        .split("action=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .map(text)
        .expect("a form action");
    let interaction = html
        .split("name=\"interaction\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .map(text)
        .expect("an interaction field");
    (action, interaction)
}

/// HTML as a browser reads it: entities decoded.
pub fn text(html: &str) -> String {
    html_escape::decode_html_entities(html).into_owned()
}

pub fn skip(what: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{what} is not set and CI is: run ./scripts/test");
    }
    let _ = std::io::stderr().write_all(
        format!(
            "\n!! SKIPPED: the quickstart with this store is NOT tested: {what} is not set\n\n"
        )
        .as_bytes(),
    );
}

/// The app on a free port of 127.0.0.1 with `store` and `transactions`, against a dev tenant
/// of its own; returns its base URL and settings.
pub async fn started_app(
    store: StoreChoice,
    transactions: TransactionChoice,
) -> (String, Settings) {
    started_app_with(store, transactions, |builder| builder).await
}

/// [`started_app`] with the client's builder changed by `configure` first.
pub async fn started_app_with(
    store: StoreChoice,
    transactions: TransactionChoice,
    configure: impl FnOnce(ServerClientBuilder) -> ServerClientBuilder,
) -> (String, Settings) {
    let (base, _, settings) = start(store, transactions, "http", configure).await;
    (base, settings)
}

/// The app as in production behind a TLS-terminating proxy: configured for
/// `https://127.0.0.1:{port}` (so its cookies are `Secure` with the `__Host-` prefix) while
/// it listens on plain http. Returns the http origin, the https one, and the settings.
pub async fn started_app_behind_tls(store: StoreChoice) -> (String, String, Settings) {
    start(store, TransactionChoice::Cookie, "https", |builder| builder).await
}

async fn start(
    store: StoreChoice,
    transactions: TransactionChoice,
    public_scheme: &str,
    configure: impl FnOnce(ServerClientBuilder) -> ServerClientBuilder,
) -> (String, String, Settings) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let public = format!("{public_scheme}://127.0.0.1:{port}");
    let redirect_uri = format!("{public}/callback");
    let (builder, tenant) = dev_tenant_client(port, &redirect_uri).await.unwrap();
    let secret = auth0_server::generate_secret();
    let settings = Settings {
        builder: configure(builder.secret(secret.clone())),
        store,
        transactions,
        audience: Some(DEV_AUDIENCE.to_owned()),
        dev_tenant: Some(tenant),
    };
    let router = app(&settings).await.unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (base, public, settings)
}

/// The Redis store at `REDIS_URL`, or `None` after a loud skip (a failure under CI).
pub fn redis() -> Option<StoreChoice> {
    env_url("REDIS_URL").map(StoreChoice::Redis)
}

/// The PostgreSQL store at `DATABASE_URL`, or `None` after a loud skip (a failure under CI).
pub fn postgres() -> Option<StoreChoice> {
    env_url("DATABASE_URL").map(StoreChoice::Postgres)
}

fn env_url(var: &str) -> Option<String> {
    let url = std::env::var(var).ok().filter(|url| !url.is_empty());
    if url.is_none() {
        skip(var);
    }
    url
}

/// Every store to test with: cookie and memory always, Redis and PostgreSQL when their URLs
/// are set (skipped loudly otherwise, which fails under CI).
pub fn stores() -> Vec<StoreChoice> {
    let mut stores = vec![StoreChoice::Cookie, StoreChoice::Memory];
    stores.extend(redis());
    stores.extend(postgres());
    stores
}

/// Signs in as `email` on the tenant's login form `form` (a page at `url`); returns where
/// the form posted and the tenant's answer (a redirect towards the app's callback).
pub async fn submit_tenant_form(
    browser: &mut Browser,
    url: &str,
    form: &str,
    email: &str,
    name: &str,
) -> (String, reqwest::Response) {
    let (action, interaction) = form_parts(form);
    let action = reqwest::Url::parse(url)
        .unwrap()
        .join(&action)
        .unwrap()
        .to_string();
    let response = browser
        .post_form(
            &action,
            &[
                ("interaction", &interaction),
                ("email", email),
                ("name", name),
                ("action", "login"),
            ],
        )
        .await;
    (action, response)
}

/// Logs in through the tenant's form from a login already started (`response` is the
/// app's redirect to the tenant); returns where the browser ends.
pub async fn finish_login(
    browser: &mut Browser,
    start: String,
    response: reqwest::Response,
) -> (String, String) {
    let (url, form) = browser.follow(start, response).await;
    let (action, response) =
        submit_tenant_form(browser, &url, &form, "ada@example.com", "Ada Lovelace").await;
    browser.follow(action, response).await
}

pub fn url_encode(s: &str) -> String {
    reqwest::Url::parse_with_params("http://x/", [("v", s)])
        .unwrap()
        .query()
        .unwrap()[2..]
        .to_owned()
}
