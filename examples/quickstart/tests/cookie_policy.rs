//! The client hands every store it sets up its own cookie policy, derived from the redirect
//! URI: the app gives a store only its URL. On plain `http` on this machine the cookies
//! cannot be `Secure` (a browser would drop them and login would silently fail); on `https`
//! they are `Secure` with the `__Host-` prefix. On every store, with the login cookies in the
//! browser or on the server.

mod support;

use quickstart::{StoreChoice, TransactionChoice};
use reqwest::header::LOCATION;
use support::{
    Browser, finish_login, started_app, started_app_behind_tls, stores, submit_tenant_form,
};

fn choices() -> Vec<(StoreChoice, TransactionChoice)> {
    let mut choices = Vec::new();
    for store in stores() {
        if store != StoreChoice::Cookie {
            choices.push((store.clone(), TransactionChoice::Server));
        }
        choices.push((store, TransactionChoice::Cookie));
    }
    choices
}

#[tokio::test]
async fn http_on_loopback_gives_cookies_without_secure_on_every_store() {
    for (store, transactions) in choices() {
        let what = format!("{} sessions, {transactions:?} logins", store.name());
        let (base, _tenant) = started_app(store, transactions).await;
        let mut browser = Browser::new();
        let login = format!("{base}/login");
        let response = browser.get(&login).await;
        let (end, page) = finish_login(&mut browser, login, response).await;
        assert!(page.contains("Ada Lovelace"), "{what}: logged in at {end}");
        assert!(
            browser.set_cookies.len() >= 2,
            "{what}: {:?}",
            browser.set_cookies
        );
        for cookie in &browser.set_cookies {
            assert!(!cookie.contains("Secure"), "{what}: {cookie}");
            assert!(!cookie.starts_with("__Host-"), "{what}: {cookie}");
            assert!(cookie.contains("HttpOnly"), "{what}: {cookie}");
        }
    }
}

/// Follows redirects, reaching the app's `https` origin on the plain `http` one it listens
/// on (as a TLS-terminating proxy would), and signs in at the tenant's form on the way.
async fn login_behind_tls(browser: &mut Browser, base: &str, public: &str) -> String {
    let mut url = format!("{base}/login");
    let mut response = browser.get(&url).await;
    for _ in 0..12 {
        if response.status().is_redirection() {
            let next = response.headers()[LOCATION].to_str().unwrap().to_owned();
            let next = reqwest::Url::parse(&url).unwrap().join(&next).unwrap();
            url = next.as_str().replace(public, base);
            response = browser.get(&url).await;
        } else if url.starts_with(base) {
            return response.text().await.unwrap();
        } else {
            let form = response.text().await.unwrap();
            let (action, next) =
                submit_tenant_form(browser, &url, &form, "ada@example.com", "Ada Lovelace").await;
            (url, response) = (action, next);
        }
    }
    panic!("the login never came back to the app");
}

#[tokio::test]
async fn https_gives_secure_host_prefixed_cookies_on_every_store() {
    for store in stores() {
        let what = format!("{} sessions", store.name());
        let (base, public, _tenant) = started_app_behind_tls(store).await;
        let mut browser = Browser::new();
        let page = login_behind_tls(&mut browser, &base, &public).await;
        assert!(page.contains("Ada Lovelace"), "{what}: {page}");
        let app_cookies: Vec<_> = browser
            .set_cookies
            .iter()
            .filter(|c| c.contains("_a0_"))
            .collect();
        assert!(app_cookies.len() >= 2, "{what}: {:?}", browser.set_cookies);
        for cookie in app_cookies {
            assert!(cookie.contains("; Secure"), "{what}: {cookie}");
            assert!(cookie.starts_with("__Host-"), "{what}: {cookie}");
        }
    }
}
