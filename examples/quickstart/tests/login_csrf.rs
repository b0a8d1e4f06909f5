//! Login CSRF, black box through the quickstart on every store: an attacker signs in at the
//! provider as themselves, stops before following the redirect back to the app, and sends
//! the `/callback?code=…&state=…` URL to a victim. The victim's browser must not end up
//! logged in as the attacker, and the attacker's code must not be redeemed by it. Also:
//! callbacks of garbage never answer 5xx.

mod support;

use quickstart::{StoreChoice, TransactionChoice};
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use support::{Browser, started_app, stores, submit_tenant_form};

/// Logs in at the tenant as `email` from `/login`, and stops at the redirect back to the
/// app: returns the callback URL, not yet opened.
async fn callback_url_of_a_login(browser: &mut Browser, base: &str, email: &str) -> String {
    let login = format!("{base}/login");
    let response = browser.get(&login).await;
    let (url, form) = browser.follow(login, response).await;
    let (action, mut response) = submit_tenant_form(browser, &url, &form, email, email).await;
    let mut url = action;
    for _ in 0..10 {
        assert!(
            response.status().is_redirection(),
            "{url}: {}",
            response.status()
        );
        let next = response.headers()[LOCATION].to_str().unwrap().to_owned();
        url = reqwest::Url::parse(&url)
            .unwrap()
            .join(&next)
            .unwrap()
            .to_string();
        if url.starts_with(&format!("{base}/callback?")) {
            return url;
        }
        response = browser.get(&url).await;
    }
    panic!("the tenant never redirected to the callback");
}

async fn is_logged_in_as(browser: &mut Browser, base: &str, email: &str) -> bool {
    let profile = browser.get(&format!("{base}/profile")).await;
    profile.status().is_success() && profile.text().await.unwrap().contains(email)
}

async fn assert_refused_without_login(victim: &mut Browser, base: &str, callback: &str) {
    let response = victim.get(callback).await;
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "the attacker's callback in the victim's browser"
    );
    let page = response.text().await.unwrap();
    assert!(page.contains("another browser"), "{page}");
    assert!(
        support::text(&page).contains("href=\"/login\""),
        "a link to log in again: {page}"
    );
    assert!(
        !is_logged_in_as(victim, base, "attacker@example.com").await,
        "the victim is logged in as the attacker"
    );
}

/// The whole attack on one store and transaction store.
async fn callback_opened_in_another_browser_logs_nobody_in(
    store: StoreChoice,
    transactions: TransactionChoice,
) {
    let (base, _settings) = started_app(store, transactions).await;
    let mut attacker = Browser::new();
    let callback = callback_url_of_a_login(&mut attacker, &base, "attacker@example.com").await;

    // A victim who never started a login.
    let mut victim = Browser::new();
    assert_refused_without_login(&mut victim, &base, &callback).await;

    // A victim in the middle of a login of their own.
    let mut busy_victim = Browser::new();
    let own = callback_url_of_a_login(&mut busy_victim, &base, "victim@example.com").await;
    assert_refused_without_login(&mut busy_victim, &base, &callback).await;
    // …whose own login still completes, as themselves.
    let response = busy_victim.get(&own).await;
    busy_victim.follow(own, response).await;
    assert!(is_logged_in_as(&mut busy_victim, &base, "victim@example.com").await);

    // No code was redeemed: the attacker's own browser can still complete its login.
    let response = attacker.get(&callback).await;
    attacker.follow(callback, response).await;
    assert!(
        is_logged_in_as(&mut attacker, &base, "attacker@example.com").await,
        "the victims' attempts used up the attacker's login"
    );
}

#[tokio::test]
async fn callback_opened_in_another_browser_logs_nobody_in_with_cookie_transactions() {
    for store in stores() {
        callback_opened_in_another_browser_logs_nobody_in(store, TransactionChoice::Cookie).await;
    }
}

#[tokio::test]
async fn callback_opened_in_another_browser_logs_nobody_in_with_server_transactions() {
    for store in stores() {
        if store != StoreChoice::Cookie {
            callback_opened_in_another_browser_logs_nobody_in(store, TransactionChoice::Server)
                .await;
        }
    }
}

/// Callback URLs no provider sends: each gets a 4xx page or a redirect, never a 5xx.
fn garbage_callbacks(real: &str) -> Vec<String> {
    let query = real.split_once('?').map_or("", |(_, q)| q);
    let long = "s".repeat(20_000);
    let mut out: Vec<String> = [
        "",
        "?",
        "?state=",
        "?code=",
        "?state=%FF%FE%00",
        "?state=%00&code=%00",
        "?state=a&state=b&code=c&code=d",
        "?error=access_denied&error_description=%3Cscript%3E",
        "?error=&state=",
        "?code=x&state=not-a-state-of-ours",
        "?code=x&state=..%2F..%2Fetc%2Fpasswd",
        "?code=x&state=a;b=c",
        "?iss=https%3A%2F%2Fevil.example&code=x&state=y",
        "?%E2%82%AC=%E2%82%AC",
        "?code=x&state=_a0_session",
    ]
    .iter()
    .map(|q| q.to_string())
    .collect();
    out.push(format!("?code=x&state={long}"));
    out.push(format!("?{query}&state=other"));
    out.push(format!("?{query}&iss=https%3A%2F%2Fevil.example"));
    out.push(format!("?{}", query.replace("code=", "code=x")));
    out
}

#[tokio::test]
async fn garbage_callbacks_never_answer_5xx() {
    for store in stores() {
        for transactions in [TransactionChoice::Cookie, TransactionChoice::Server] {
            if store == StoreChoice::Cookie && transactions == TransactionChoice::Server {
                continue;
            }
            let (base, _settings) = started_app(store.clone(), transactions).await;
            let mut browser = Browser::new();
            let real = callback_url_of_a_login(&mut browser, &base, "ada@example.com").await;
            for garbage in garbage_callbacks(&real) {
                for fresh in [false, true] {
                    let url = format!("{base}/callback{garbage}");
                    let status = if fresh {
                        Browser::new().get(&url).await.status()
                    } else {
                        browser.get(&url).await.status()
                    };
                    assert!(
                        status.is_client_error() || status.is_redirection(),
                        "{} / {transactions:?}: {garbage:?} answered {status}",
                        store.name()
                    );
                }
            }
        }
    }
}
