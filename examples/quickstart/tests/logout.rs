//! Logout through the quickstart, with each session store this build has (Redis and
//! PostgreSQL when `REDIS_URL` / `DATABASE_URL` are set): another site cannot log a user out
//! (it gets a page that asks, whose own form does log out), a link on the app logs out in
//! one step, and a provider that is down does not keep anyone logged in.

use std::time::Duration;

use auth0_server::client::RetryPolicy;
mod support;

use quickstart::{Settings, StoreChoice, TransactionChoice};
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use support::{Browser, CROSS_SITE, SAME_ORIGIN, submit_tenant_form};

/// Logs in through the dev tenant's form, and checks the profile shows the user.
async fn log_in(browser: &mut Browser, base: &str) {
    let start = format!("{base}/login");
    let response = browser.get_with(&start, SAME_ORIGIN).await;
    let (url, form) = browser.follow(start, response).await;
    let (action, response) =
        submit_tenant_form(browser, &url, &form, "ada@example.com", "Ada Lovelace").await;
    let (url, _) = browser.follow(action, response).await;
    assert_eq!(url, format!("{base}/"), "back home after the login");
    assert!(sees_the_profile(browser, base).await, "logged in");
}

/// Whether `/profile` shows the logged-in user (rather than sending to the login).
async fn sees_the_profile(browser: &mut Browser, base: &str) -> bool {
    let response = browser
        .get_with(&format!("{base}/profile"), SAME_ORIGIN)
        .await;
    if response.status().is_redirection() {
        return false;
    }
    let page = response.text().await.unwrap();
    assert!(page.contains("Ada Lovelace"), "{page}");
    true
}

/// The value after `marker` up to the next `"` in an HTML page, unescaped.
fn attribute(html: &str, marker: &str) -> String {
    html.split(marker)
        .nth(1)
        .and_then(|r| r.split('"').next())
        .map(support::text)
        .unwrap_or_else(|| panic!("no {marker} in {html}"))
}

/// The store named by `name`, or `None` (after a skip notice) when its URL is not set.
fn store(name: &str) -> Option<StoreChoice> {
    match name {
        "cookie" => Some(StoreChoice::Cookie),
        "memory" => Some(StoreChoice::Memory),
        "redis" => support::redis(),
        "postgres" => support::postgres(),
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
    log_in(&mut browser, &base).await;

    let response = browser
        .get_with(&format!("{base}/logout?returnTo=%2F"), CROSS_SITE)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(page.contains("<title>Log out?</title>"), "{page}");
    assert!(
        sees_the_profile(&mut browser, &base).await,
        "a cross-site logout link logged the user out"
    );

    // A form on another site posting to /logout: refused too.
    let refused = browser
        .post_form_with(
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
        sees_the_profile(&mut browser, &base).await,
        "a cross-site logout form logged the user out"
    );

    // The user confirms: the page's form, posted from the app's own origin.
    let action = format!(
        "{base}{}",
        attribute(&page, "<form method=\"post\" action=\"")
    );
    let return_to = attribute(&page, "name=\"returnTo\" value=\"");
    let response = browser
        .post_form_with(
            &action,
            &[("returnTo", &return_to)],
            &[("sec-fetch-site", "same-origin"), ("origin", &base)],
        )
        .await;
    let (url, home) = browser.follow(action, response).await;
    assert_eq!(url, format!("{base}/"), "through the tenant and back home");
    assert!(home.contains("id=\"login-button\""), "logged out: {home}");
    assert!(!sees_the_profile(&mut browser, &base).await, "logged out");
}

/// The app's own logout link: one step, through the tenant and back home.
async fn same_origin_logout_logs_out_in_one_step(name: &str) {
    let Some(store) = store(name) else { return };
    let (base, _settings) = started_app(store).await;
    let mut browser = Browser::new();
    log_in(&mut browser, &base).await;
    let logout = format!("{base}/logout");
    let response = browser.get_with(&logout, SAME_ORIGIN).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (url, home) = browser.follow(logout, response).await;
    assert_eq!(url, format!("{base}/"));
    assert!(home.contains("id=\"login-button\""), "logged out: {home}");
    assert!(!sees_the_profile(&mut browser, &base).await, "logged out");
}

/// The provider is stopped after the login: logout still ends the session here, and the
/// browser goes to the app's own `returnTo` rather than to a provider that is not there.
async fn logout_with_the_provider_stopped_ends_the_session(name: &str) {
    let Some(store) = store(name) else { return };
    let (base, mut settings) = started_app(store).await;
    let mut browser = Browser::new();
    log_in(&mut browser, &base).await;
    settings
        .dev_tenant
        .take()
        .expect("the dev tenant")
        .shutdown()
        .await;
    let response = browser
        .get_with(&format!("{base}/logout?returnTo=%2F"), SAME_ORIGIN)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()[LOCATION],
        "/",
        "back to the app's own page"
    );
    assert!(
        !sees_the_profile(&mut browser, &base).await,
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
