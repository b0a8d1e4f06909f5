//! Logout through the quickstart, with each session store this build has (Redis and
//! PostgreSQL when `REDIS_URL` / `DATABASE_URL` are set): another site cannot log a user out
//! (it gets a page that asks, whose own form does log out), a link on the app logs out in
//! one step, and a provider that is down does not keep anyone logged in.

use std::collections::BTreeMap;
use std::time::Duration;

use auth0_server::client::RetryPolicy;
mod support;

use quickstart::{Settings, StoreChoice, TransactionChoice};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use support::skip;

/// What a link or form on another site sends (Fetch Metadata).
const CROSS_SITE: &[(&str, &str)] = &[("sec-fetch-site", "cross-site")];
/// What a link on the app's own pages sends.
const SAME_ORIGIN: &[(&str, &str)] = &[("sec-fetch-site", "same-origin")];

/// A browser: one cookie jar (the app and the dev tenant are both on 127.0.0.1), redirects
/// followed by hand, Fetch Metadata and `Origin` sent as each test says.
struct Browser {
    http: reqwest::Client,
    jar: BTreeMap<String, String>,
}

impl Browser {
    fn new() -> Self {
        // This client is built before the SDK's: install the same TLS provider first.
        auth0_server::tls::ensure_crypto_provider();
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            jar: BTreeMap::new(),
        }
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

    async fn send(
        &mut self,
        request: reqwest::RequestBuilder,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let cookies = self
            .jar
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut request = request.header(COOKIE, cookies);
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

    async fn post_form(
        &mut self,
        url: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let request = self.http.post(url).form(form);
        self.send(request, headers).await
    }

    /// Follows redirects from `response` (a navigation to `url`) to a page: its URL and body.
    async fn follow(
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
            response = self.get(&url, &[]).await;
        }
        panic!("too many redirects");
    }

    /// Logs in through the dev tenant's form, and checks the profile shows the user.
    async fn log_in(&mut self, base: &str) {
        let start = format!("{base}/login");
        let response = self.get(&start, SAME_ORIGIN).await;
        let (url, form) = self.follow(start, response).await;
        let action = reqwest::Url::parse(&url)
            .unwrap()
            .join(&attribute(&form, "action=\""))
            .unwrap()
            .to_string();
        let interaction = attribute(&form, "name=\"interaction\" value=\"");
        let response = self
            .post_form(
                &action,
                &[
                    ("interaction", &interaction),
                    ("email", "ada@example.com"),
                    ("name", "Ada Lovelace"),
                    ("action", "login"),
                ],
                &[],
            )
            .await;
        let (url, _) = self.follow(action, response).await;
        assert_eq!(url, format!("{base}/"), "back home after the login");
        assert!(self.sees_the_profile(base).await, "logged in");
    }

    /// Whether `/profile` shows the logged-in user (rather than sending to the login).
    async fn sees_the_profile(&mut self, base: &str) -> bool {
        let response = self.get(&format!("{base}/profile"), SAME_ORIGIN).await;
        if response.status().is_redirection() {
            return false;
        }
        let page = response.text().await.unwrap();
        assert!(page.contains("Ada Lovelace"), "{page}");
        true
    }
}

/// The value after `marker` up to the next `"` in an HTML page, unescaped.
fn attribute(html: &str, marker: &str) -> String {
    html.split(marker)
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_else(|| panic!("no {marker} in {html}"))
        .replace("&amp;", "&")
}

/// The store named by `name`, or `None` (after a skip notice) when its URL is not set.
fn store(name: &str) -> Option<StoreChoice> {
    let from = |var: &str| match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            skip(var);
            None
        }
    };
    match name {
        "cookie" => Some(StoreChoice::Cookie),
        "memory" => Some(StoreChoice::Memory),
        "redis" => from("REDIS_URL").map(StoreChoice::Redis),
        "postgres" => from("DATABASE_URL").map(StoreChoice::Postgres),
        other => panic!("no store {other}"),
    }
}

/// The quickstart on a free port with `store`, against its own dev tenant. Its client asks
/// the tenant for metadata at every use (no cache), so a tenant stopped after the login is
/// noticed at logout, as a fresh instance of the app would notice it.
/// The app with `store`, its discovery never cached and few retries, so a stopped provider
/// is noticed at once.
async fn started_app(store: StoreChoice) -> (String, Settings) {
    support::started_app_with(store, TransactionChoice::Cookie, |builder| {
        builder.metadata_ttl(Duration::ZERO).retry(RetryPolicy {
            max_retries: 1,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
        })
    })
    .await
}

/// Another site links (or redirects top-level) to `/logout`: the session cookie rides along
/// (SameSite=Lax), but the user gets a page that asks and stays logged in. The page's own
/// form, posted from the app, logs out.
async fn cross_site_logout_logs_nobody_out(name: &str) {
    let Some(store) = store(name) else { return };
    let (base, _settings) = started_app(store).await;
    let mut browser = Browser::new();
    browser.log_in(&base).await;

    let response = browser
        .get(&format!("{base}/logout?returnTo=%2F"), CROSS_SITE)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(page.contains("<title>Log out?</title>"), "{page}");
    assert!(
        browser.sees_the_profile(&base).await,
        "a cross-site logout link logged the user out"
    );

    // A form on another site posting to /logout: refused too.
    let refused = browser
        .post_form(
            &format!("{base}/logout"),
            &[("returnTo", "/")],
            &[
                ("sec-fetch-site", "cross-site"),
                ("origin", "https://evil.example"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(
        browser.sees_the_profile(&base).await,
        "a cross-site logout form logged the user out"
    );

    // The user confirms: the page's form, posted from the app's own origin.
    let action = format!(
        "{base}{}",
        attribute(&page, "<form method=\"post\" action=\"")
    );
    let return_to = attribute(&page, "name=\"returnTo\" value=\"");
    let response = browser
        .post_form(
            &action,
            &[("returnTo", &return_to)],
            &[("sec-fetch-site", "same-origin"), ("origin", &base)],
        )
        .await;
    let (url, home) = browser.follow(action, response).await;
    assert_eq!(url, format!("{base}/"), "through the tenant and back home");
    assert!(home.contains("id=\"login-button\""), "logged out: {home}");
    assert!(!browser.sees_the_profile(&base).await, "logged out");
}

/// The app's own logout link: one step, through the tenant and back home.
async fn same_origin_logout_logs_out_in_one_step(name: &str) {
    let Some(store) = store(name) else { return };
    let (base, _settings) = started_app(store).await;
    let mut browser = Browser::new();
    browser.log_in(&base).await;
    let logout = format!("{base}/logout");
    let response = browser.get(&logout, SAME_ORIGIN).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (url, home) = browser.follow(logout, response).await;
    assert_eq!(url, format!("{base}/"));
    assert!(home.contains("id=\"login-button\""), "logged out: {home}");
    assert!(!browser.sees_the_profile(&base).await, "logged out");
}

/// The provider is stopped after the login: logout still ends the session here, and the
/// browser goes to the app's own `returnTo` rather than to a provider that is not there.
async fn logout_with_the_provider_stopped_ends_the_session(name: &str) {
    let Some(store) = store(name) else { return };
    let (base, mut settings) = started_app(store).await;
    let mut browser = Browser::new();
    browser.log_in(&base).await;
    settings
        .dev_tenant
        .take()
        .expect("the dev tenant")
        .shutdown()
        .await;
    let response = browser
        .get(&format!("{base}/logout?returnTo=%2F"), SAME_ORIGIN)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()[LOCATION],
        "/",
        "back to the app's own page"
    );
    assert!(
        !browser.sees_the_profile(&base).await,
        "the session ended although the provider is down"
    );
}

#[tokio::test]
async fn cross_site_logout_logs_nobody_out_with_cookie_sessions() {
    cross_site_logout_logs_nobody_out("cookie").await;
}

#[tokio::test]
async fn cross_site_logout_logs_nobody_out_with_memory_sessions() {
    cross_site_logout_logs_nobody_out("memory").await;
}

#[tokio::test]
async fn cross_site_logout_logs_nobody_out_with_redis_sessions() {
    cross_site_logout_logs_nobody_out("redis").await;
}

#[tokio::test]
async fn cross_site_logout_logs_nobody_out_with_postgres_sessions() {
    cross_site_logout_logs_nobody_out("postgres").await;
}

#[tokio::test]
async fn same_origin_logout_logs_out_in_one_step_with_cookie_sessions() {
    same_origin_logout_logs_out_in_one_step("cookie").await;
}

#[tokio::test]
async fn same_origin_logout_logs_out_in_one_step_with_memory_sessions() {
    same_origin_logout_logs_out_in_one_step("memory").await;
}

#[tokio::test]
async fn same_origin_logout_logs_out_in_one_step_with_redis_sessions() {
    same_origin_logout_logs_out_in_one_step("redis").await;
}

#[tokio::test]
async fn same_origin_logout_logs_out_in_one_step_with_postgres_sessions() {
    same_origin_logout_logs_out_in_one_step("postgres").await;
}

#[tokio::test]
async fn logout_with_the_provider_stopped_ends_a_cookie_session() {
    logout_with_the_provider_stopped_ends_the_session("cookie").await;
}

#[tokio::test]
async fn logout_with_the_provider_stopped_ends_a_memory_session() {
    logout_with_the_provider_stopped_ends_the_session("memory").await;
}

#[tokio::test]
async fn logout_with_the_provider_stopped_ends_a_redis_session() {
    logout_with_the_provider_stopped_ends_the_session("redis").await;
}

#[tokio::test]
async fn logout_with_the_provider_stopped_ends_a_postgres_session() {
    logout_with_the_provider_stopped_ends_the_session("postgres").await;
}
