//! "Your sessions" on the profile page, over HTTP, with each server-side store this build has
//! (Redis and PostgreSQL when `REDIS_URL` / `DATABASE_URL` are set): the user's sessions are
//! listed, one is logged out by its button, "log out my other sessions" ends the rest, and a
//! revoked session's cookie gets no profile on its next request. Attacks: another user's
//! handle, a forged handle, an enormous one, a form posted from another site.

mod support;

use quickstart::{StoreChoice, TransactionChoice};
use reqwest::StatusCode;
use support::{Browser, CROSS_SITE, SAME_ORIGIN, submit_tenant_form};

async fn log_in(base: &str, email: &str, name: &str) -> Browser {
    let mut browser = Browser::new();
    let start = format!("{base}/login");
    let response = browser.get_with(&start, SAME_ORIGIN).await;
    let (url, form) = browser.follow(start, response).await;
    let (action, response) = submit_tenant_form(&mut browser, &url, &form, email, name).await;
    let (url, _) = browser.follow(action, response).await;
    assert_eq!(url, format!("{base}/"), "back home after the login");
    browser
}

/// The profile page, or `None` when the browser is sent to log in.
async fn profile(browser: &mut Browser, base: &str) -> Option<String> {
    let response = browser
        .get_with(&format!("{base}/profile"), SAME_ORIGIN)
        .await;
    if response.status().is_redirection() {
        return None;
    }
    Some(response.text().await.unwrap())
}

/// The handles of the page's "Log out" buttons (the user's other sessions).
fn handles(page: &str) -> Vec<String> {
    page.split("name=\"handle\" value=\"")
        .skip(1)
        .filter_map(|r| r.split('"').next())
        .map(support::text)
        .collect()
}

async fn revoke(browser: &mut Browser, base: &str, handle: &str) -> StatusCode {
    let url = format!("{base}/profile/sessions/revoke");
    let headers = [("sec-fetch-site", "same-origin"), ("origin", base)];
    let response = browser
        .post_form_with(&url, &[("handle", handle)], &headers)
        .await;
    response.status()
}

async fn sessions_are_listed_and_revoked(store: StoreChoice) {
    let (base, _settings) = support::started_app(store, TransactionChoice::Cookie).await;
    let mut ada = [
        log_in(&base, "ada@example.com", "Ada Lovelace").await,
        log_in(&base, "ada@example.com", "Ada Lovelace").await,
        log_in(&base, "ada@example.com", "Ada Lovelace").await,
    ];
    let mut bob = [
        log_in(&base, "bob@example.com", "Bob").await,
        log_in(&base, "bob@example.com", "Bob").await,
    ];
    let page = profile(&mut ada[0], &base).await.expect("ada's profile");
    assert!(page.contains("Your sessions"), "{page}");
    assert_eq!(page.matches("class=\"session\"").count(), 3, "{page}");
    assert_eq!(page.matches("(this browser)").count(), 1, "{page}");
    let ada_handles = handles(&page);
    assert_eq!(ada_handles.len(), 2, "{page}");
    let bob_page = profile(&mut bob[0], &base).await.expect("bob's profile");
    let bob_handle = handles(&bob_page).pop().expect("bob's other session");

    refused_revocations_end_nothing(&mut ada, &mut bob, &base, &bob_handle).await;
    one_then_the_others_end(&mut ada, &mut bob, &base, &ada_handles[0]).await;
}

/// Another user's handle, a forged one, an enormous one, another site's form: refused, and
/// nobody logged out.
async fn refused_revocations_end_nothing(
    ada: &mut [Browser; 3],
    bob: &mut [Browser; 2],
    base: &str,
    bob_handle: &str,
) {
    let cases = [
        (bob_handle.to_owned(), StatusCode::NOT_FOUND),
        ("AAAAAAAAAAAAAAAAAAAAAA".to_owned(), StatusCode::NOT_FOUND),
        ("A".repeat(100_000), StatusCode::BAD_REQUEST),
    ];
    for (handle, status) in cases {
        assert_eq!(revoke(&mut ada[0], base, &handle).await, status);
    }
    let url = format!("{base}/profile/sessions/revoke-others");
    let cross = ada[0].post_form_with(&url, &[], CROSS_SITE).await;
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    for b in bob.iter_mut().chain(ada.iter_mut()) {
        assert!(
            profile(b, base).await.is_some(),
            "a refused revoke logged someone out"
        );
    }
}

/// One of Ada's other sessions by its button, then the rest at once: hers end, the asking
/// one and Bob's stay.
async fn one_then_the_others_end(
    ada: &mut [Browser; 3],
    bob: &mut [Browser; 2],
    base: &str,
    first: &str,
) {
    let url = format!("{base}/profile/sessions/revoke-others");
    assert_eq!(
        revoke(&mut ada[0], base, first).await,
        StatusCode::SEE_OTHER
    );
    let live: Vec<bool> = [
        profile(&mut ada[1], base).await,
        profile(&mut ada[2], base).await,
    ]
    .iter()
    .map(Option::is_some)
    .collect();
    assert_eq!(
        live.iter().filter(|l| **l).count(),
        1,
        "one of ada's others ends: {live:?}"
    );
    let others = ada[0]
        .post_form_with(
            &url,
            &[],
            &[("sec-fetch-site", "same-origin"), ("origin", base)],
        )
        .await;
    assert_eq!(others.status(), StatusCode::SEE_OTHER);
    assert!(
        profile(&mut ada[1], base).await.is_none(),
        "ada1 is logged out"
    );
    assert!(
        profile(&mut ada[2], base).await.is_none(),
        "ada2 is logged out"
    );
    let page = profile(&mut ada[0], base)
        .await
        .expect("the asking session stays");
    assert_eq!(page.matches("class=\"session\"").count(), 1, "{page}");
    assert!(
        profile(&mut bob[1], base).await.is_some(),
        "bob's sessions are untouched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn your_sessions_with_memory() {
    sessions_are_listed_and_revoked(StoreChoice::Memory).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn your_sessions_with_redis() {
    if let Some(store) = support::redis() {
        sessions_are_listed_and_revoked(store).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn your_sessions_with_postgres() {
    if let Some(store) = support::postgres() {
        sessions_are_listed_and_revoked(store).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_cookies_the_section_says_why_nothing_is_listed() {
    let (base, _settings) =
        support::started_app(StoreChoice::Cookie, TransactionChoice::Cookie).await;
    let mut ada = log_in(&base, "ada@example.com", "Ada Lovelace").await;
    let page = profile(&mut ada, &base).await.expect("ada's profile");
    assert!(page.contains("id=\"sessions-note\""), "{page}");
    assert!(page.contains("AUTH0_SESSION_STORE=redis"), "{page}");
}
