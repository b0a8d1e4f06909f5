//! The feature pages of `src/features/`, driven over HTTP as a browser would, against the
//! app's own dev tenant: each page shows its feature working, and refuses what it must.

mod support;

use quickstart::{StoreChoice, TransactionChoice};
use support::{Browser, finish_login, started_app, text};

/// A browser logged in to a freshly started app (memory sessions); returns it with the app's
/// base URL and settings.
async fn logged_in() -> (Browser, String, quickstart::Settings) {
    let (base, settings) = started_app(StoreChoice::Memory, TransactionChoice::Cookie).await;
    let mut browser = Browser::new();
    let response = browser.get(&format!("{base}/login")).await;
    finish_login(&mut browser, format!("{base}/login"), response).await;
    (browser, base, settings)
}

/// The text of the element with `id` in `html`.
fn element(html: &str, id: &str) -> String {
    let after = html
        .split(&format!("id=\"{id}\">"))
        .nth(1)
        .unwrap_or_else(|| panic!("no #{id} in {html}"));
    text(after.split('<').next().unwrap_or_default())
}

/// Every run of token characters at least 16 long in `html`: what a leaked token would be.
fn token_like_words(html: &str) -> Vec<&str> {
    html.split(|c: char| !(c.is_ascii_alphanumeric() || "-_.~+/=".contains(c)))
        .filter(|w| w.len() >= 16)
        .collect()
}

#[tokio::test]
async fn the_token_vault_page_shows_a_connection_token_without_showing_it() {
    let (mut browser, base, settings) = logged_in().await;
    let tenant = settings.dev_tenant.as_ref().unwrap().tenant();
    let url = format!("{base}/token-vault");
    let response = browser.get(&url).await;
    let (_, page) = browser.follow(url.clone(), response).await;
    assert_eq!(element(&page, "connection"), "dev-connection", "{page}");
    let fingerprint = element(&page, "fingerprint");
    assert!(
        fingerprint.len() == 8 && fingerprint.chars().all(|c| c.is_ascii_hexdigit()),
        "{page}"
    );
    let expires: u64 = element(&page, "expires").parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(expires > now, "a live token: {expires} vs {now}");
    for word in token_like_words(&page) {
        assert!(
            tenant.connection_token_owner(word).is_none(),
            "the page shows the connection token itself: {word}"
        );
    }
    // The token is kept in the session: a reload shows the same one.
    let response = browser.get(&url).await;
    let (_, again) = browser.follow(url, response).await;
    assert_eq!(element(&again, "fingerprint"), fingerprint);
}

#[tokio::test]
async fn the_token_vault_page_sends_an_anonymous_visitor_to_log_in() {
    let (base, _settings) = started_app(StoreChoice::Memory, TransactionChoice::Cookie).await;
    let mut browser = Browser::new();
    let response = browser.get(&format!("{base}/token-vault")).await;
    assert!(response.status().is_redirection());
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("/login?returnTo=%2Ftoken-vault"),
        "{location}"
    );
}
