//! `GET /logout` and `POST /logout`: one step from this app, a page that asks from anywhere
//! else, and the session ended here even when the provider is down. Against the local dev
//! tenant, logged in through its form like a browser.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use auth0_axum::{Auth0, MaybeUser};
use auth0_dev_tenant::{DevTenant, RunningDevTenant};
use auth0_server_core::Secrets;
use auth0_server_core::client::{RetryPolicy, ServerClient};
use auth0_server_core::store::{CookieOptions, ServerSideStateStore, StateStore};
use auth0_store_cookie::{CookieStateStore, CookieTransactionStore};
use auth0_store_memory::MemoryBackend;
use axum::Router;
use axum::routing::get;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

const SECRET: &str = "a-secret-of-at-least-thirty-two-bytes";

/// Which session store the app under test uses.
#[derive(Clone, Copy)]
enum Store {
    Cookie,
    Memory,
}

struct App {
    base: String,
    /// The tenant's issuer, and the tenant while it runs.
    issuer: String,
    tenant: Option<RunningDevTenant>,
    http: reqwest::Client,
    /// The browser's cookies (one host: the app and the tenant are both on 127.0.0.1).
    jar: BTreeMap<String, String>,
}

async fn home(MaybeUser(user): MaybeUser) -> String {
    match user {
        Some(u) => format!("hello {}", u.sub),
        None => "anonymous".to_owned(),
    }
}

/// The app with `store`; with `no_metadata_cache` the client asks the provider for its
/// metadata at every use (so a provider stopped after login is noticed at logout).
async fn start(store: Store, no_metadata_cache: bool) -> App {
    auth0_server_core::tls::ensure_crypto_provider();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let tenant = DevTenant::builder()
        .redirect_uri(format!("{base}/callback"))
        .any_loopback_logout_uri()
        .start()
        .await
        .unwrap();
    let secrets = Secrets::parse(SECRET).unwrap();
    let cookies = CookieOptions {
        secure: false,
        ..CookieOptions::default()
    };
    let state_store: Arc<dyn StateStore> = match store {
        Store::Cookie => {
            Arc::new(CookieStateStore::new(secrets.clone()).with_cookie_options(cookies.clone()))
        }
        Store::Memory => Arc::new(
            ServerSideStateStore::new(MemoryBackend::new(), &secrets)
                .with_cookie_options(cookies.clone()),
        ),
    };
    let mut builder = ServerClient::builder()
        .domain(tenant.issuer().to_string())
        .client_id(tenant.client_id())
        .client_secret(tenant.client_secret())
        .secret(SECRET)
        .redirect_uri(format!("{base}/callback"))
        .retry(RetryPolicy {
            max_retries: 1,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
        })
        .state_store(state_store)
        .transaction_store(Arc::new(
            CookieTransactionStore::new(secrets).with_cookie_options(cookies),
        ));
    if no_metadata_cache {
        builder = builder.metadata_ttl(Duration::ZERO);
    }
    let auth0 = Auth0::new(builder.build().unwrap());
    let app = Router::new()
        .route("/", get(home))
        .merge(auth0.routes())
        .layer(auth0.layer());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    App {
        base,
        issuer: tenant.issuer().to_string(),
        tenant: Some(tenant),
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        jar: BTreeMap::new(),
    }
}

fn location(response: &reqwest::Response) -> String {
    response.headers()[LOCATION].to_str().unwrap().to_owned()
}

/// The value of `name="…"`'s `value="…"`, or the form's action, in an HTML page.
fn attribute_after(html: &str, marker: &str) -> String {
    html.split(marker)
        .nth(1)
        .and_then(|r| r.split('"').next())
        .map(|value| html_escape::decode_html_entities(value).into_owned())
        .unwrap_or_else(|| panic!("no {marker} in {html}"))
}

impl App {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn take(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all(SET_COOKIE) {
            let header = value.to_str().unwrap();
            let (pair, attrs) = header.split_once(';').unwrap_or((header, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") {
                self.jar.remove(name.trim());
            } else {
                self.jar
                    .insert(name.trim().to_owned(), value.trim().to_owned());
            }
        }
    }

    fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// A request with the browser's cookies and `headers`; its cookies are kept.
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

    async fn get(&mut self, url: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        let request = self.http.get(url);
        self.send(request, headers).await
    }

    /// Logs in through the tenant's form (or its single sign-on, when the tenant's own
    /// session outlived an earlier logout here).
    async fn login(&mut self) {
        let login = self.get(&self.url("/login"), &[]).await;
        let authorize = location(&login);
        let at_tenant = self.get(&authorize, &[]).await;
        let done = if at_tenant.status().is_redirection() {
            at_tenant
        } else {
            let form = at_tenant.text().await.unwrap();
            let action = reqwest::Url::parse(&authorize)
                .unwrap()
                .join(&attribute_after(&form, "action=\""))
                .unwrap();
            let interaction = attribute_after(&form, "name=\"interaction\" value=\"");
            let request = self.http.post(action).form(&[
                ("interaction", interaction.as_str()),
                ("email", "ada@example.com"),
                ("name", "Ada"),
                ("action", "login"),
            ]);
            self.send(request, &[]).await
        };
        let callback = location(&done);
        assert!(callback.starts_with(&self.url("/callback?")), "{callback}");
        let back = self.get(&callback, &[]).await;
        assert!(back.status().is_redirection(), "{}", back.status());
        assert!(self.logged_in().await, "logged in");
    }

    async fn logged_in(&self) -> bool {
        let home = self
            .http
            .get(self.url("/"))
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        home.starts_with("hello ")
    }
}

/// Asserts `response` is the page that asks, with `status`, and returns its HTML.
async fn assert_asks(response: reqwest::Response, status: StatusCode) -> String {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()["x-frame-options"], "DENY");
    assert_eq!(response.headers()["referrer-policy"], "same-origin");
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert!(
        response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .next()
            .is_none(),
        "the page that asks changes no cookie"
    );
    let html = response.text().await.unwrap();
    assert!(html.contains("<title>Log out?</title>"), "{html}");
    assert!(
        html.contains(r#"<form method="post" action="&#x2f;logout">"#),
        "a same-origin POST form: {html}"
    );
    html
}

/// Cross-site `GET /logout` (what a link or a top-level redirect on another site sends):
/// the page that asks, and the user stays logged in.
#[tokio::test]
async fn a_cross_site_get_logout_asks_and_logs_nobody_out() {
    let mut app = start(Store::Cookie, false).await;
    app.login().await;
    let cases: &[&[(&str, &str)]] = &[
        &[("sec-fetch-site", "cross-site")],
        &[
            ("sec-fetch-site", "cross-site"),
            ("referer", "http://127.0.0.1/"),
        ],
        &[("referer", "https://evil.example/page")],
        &[("origin", "null")],
        &[("origin", "https://evil.example")],
        // No evidence at all: an old browser on a page that hides its referrer.
        &[],
    ];
    for headers in cases {
        let response = app.get(&app.url("/logout"), headers).await;
        assert_asks(response, StatusCode::OK).await;
        assert!(app.logged_in().await, "still logged in after {headers:?}");
    }
}

/// Cross-site `POST /logout` (a form on another site): refused, and the user stays logged in.
#[tokio::test]
async fn a_cross_site_post_logout_is_refused() {
    let mut app = start(Store::Cookie, false).await;
    app.login().await;
    let cases: &[&[(&str, &str)]] = &[
        &[
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://evil.example"),
        ],
        &[("origin", "https://evil.example")],
        &[("origin", "null")],
        &[("referer", "https://evil.example/form")],
        &[],
    ];
    for headers in cases {
        let request = app.http.post(app.url("/logout")).form(&[("returnTo", "/")]);
        let response = app.send(request, headers).await;
        assert_asks(response, StatusCode::FORBIDDEN).await;
        assert!(app.logged_in().await, "still logged in after {headers:?}");
    }
}

/// A link on this app, its site, a typed URL, or (without Fetch Metadata) a same-origin
/// Referer: logged out in one step, on to the provider's logout.
#[tokio::test]
async fn a_same_site_get_logout_logs_out_in_one_step() {
    let mut app = start(Store::Memory, false).await;
    let own_page = app.url("/profile");
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![("sec-fetch-site", "same-origin")],
        vec![("sec-fetch-site", "same-site")],
        vec![("sec-fetch-site", "none")],
        vec![("sec-fetch-site", "same-origin"), ("referer", &own_page)],
        vec![("referer", &own_page)],
    ];
    for headers in cases {
        app.login().await;
        let response = app.get(&app.url("/logout"), &headers).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{headers:?}");
        let to = location(&response);
        assert!(
            to.starts_with(&app.issuer),
            "on to the provider's logout: {to}"
        );
        assert!(!app.logged_in().await, "logged out by {headers:?}");
    }
}

/// The page's own form: a same-origin POST (the browser sends `Origin`, or Fetch Metadata)
/// logs out and keeps the `returnTo` the page carried.
#[tokio::test]
async fn the_confirmation_page_posted_from_this_app_logs_out() {
    let mut app = start(Store::Memory, false).await;
    app.login().await;
    let url =
        reqwest::Url::parse_with_params(&app.url("/logout"), [("returnTo", "/after")]).unwrap();
    let page = app
        .get(url.as_str(), &[("sec-fetch-site", "cross-site")])
        .await;
    let html = assert_asks(page, StatusCode::OK).await;
    let return_to = attribute_after(&html, "name=\"returnTo\" value=\"");
    assert_eq!(return_to, "/after");
    assert!(app.logged_in().await);
    let base = app.base.clone();
    for headers in [
        vec![("sec-fetch-site", "same-origin"), ("origin", base.as_str())],
        vec![("origin", base.as_str())],
    ] {
        app.login().await;
        let request = app
            .http
            .post(app.url("/logout"))
            .form(&[("returnTo", return_to.as_str())]);
        let response = app.send(request, &headers).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{headers:?}");
        let to = reqwest::Url::parse(&location(&response)).unwrap();
        let back: BTreeMap<String, String> = to.query_pairs().into_owned().collect();
        assert_eq!(
            back.get("post_logout_redirect_uri")
                .or(back.get("returnTo"))
                .map(String::as_str),
            Some(app.url("/after").as_str()),
            "the provider sends the browser back to the returnTo: {to}"
        );
        assert!(!app.logged_in().await, "logged out by {headers:?}");
    }
}

/// What the request carried is escaped on the page, and an unsafe `returnTo` is dropped
/// (never an open redirect, not even through the confirmation form).
#[tokio::test]
async fn the_confirmation_page_escapes_and_checks_return_to() {
    let mut app = start(Store::Cookie, false).await;
    let hostile = "/x?a=\"><script>alert(1)</script>";
    let url =
        reqwest::Url::parse_with_params(&app.url("/logout"), [("returnTo", hostile)]).unwrap();
    let html = assert_asks(app.get(url.as_str(), &[]).await, StatusCode::OK).await;
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        html.contains("value=\"&#x2f;x?a=&quot;&gt;&lt;script&gt;alert(1)&lt;&#x2f;script&gt;\""),
        "{html}"
    );
    for evil in ["https://evil.example/", "//evil.example", "/\\evil.example"] {
        let url =
            reqwest::Url::parse_with_params(&app.url("/logout"), [("returnTo", evil)]).unwrap();
        let html = assert_asks(
            app.get(url.as_str(), &[("sec-fetch-site", "cross-site")])
                .await,
            StatusCode::OK,
        )
        .await;
        assert!(!html.contains("evil.example"), "{evil}: {html}");
        // And from this app: the provider is told to come back home, not there.
        let response = app
            .get(url.as_str(), &[("sec-fetch-site", "same-origin")])
            .await;
        let to = location(&response);
        assert!(!to.contains("evil.example"), "{evil}: {to}");
    }
}

/// The provider is down at logout (and its metadata is not cached): the session ends here
/// all the same, and the browser goes back to the app's own `returnTo`.
async fn logout_with_the_provider_down_ends_the_session(store: Store) {
    let mut app = start(store, true).await;
    app.login().await;
    app.tenant.take().unwrap().shutdown().await;
    // The client above still points at the stopped tenant's issuer.
    let url = reqwest::Url::parse_with_params(&app.url("/logout"), [("returnTo", "/bye")]).unwrap();
    let response = app
        .get(url.as_str(), &[("sec-fetch-site", "same-origin")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/bye", "back to the app's own page");
    assert!(!app.logged_in().await, "the session ended here");
}

#[tokio::test]
async fn logout_with_the_provider_down_ends_a_cookie_session() {
    logout_with_the_provider_down_ends_the_session(Store::Cookie).await;
}

#[tokio::test]
async fn logout_with_the_provider_down_ends_a_memory_session() {
    logout_with_the_provider_down_ends_the_session(Store::Memory).await;
}
