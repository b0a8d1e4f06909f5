//! The quickstart end to end, as a browser would use it: home, a protected page, the login
//! form of the local dev tenant, the profile, an API call with an access token, and logout,
//! with each session store this build has (Redis and PostgreSQL when their URLs are set).

mod support;

use quickstart::{DEV_AUDIENCE, StoreChoice, TransactionChoice};
use reqwest::header::LOCATION;
use support::{Browser, finish_login, skip, started_app, submit_tenant_form, url_encode};

async fn run_flow(store: StoreChoice) {
    let (base, _settings) = started_app(store.clone(), TransactionChoice::Cookie).await;
    let mut browser = Browser::new();
    let home = browser.get(&format!("{base}/")).await.text().await.unwrap();
    assert!(home.contains("id=\"login-button\""), "{home}");
    assert!(home.contains(store.name()), "the footer names the store");

    // A protected page sends us through the login and back to it.
    let response = browser.get(&format!("{base}/profile")).await;
    assert!(response.status().is_redirection());
    let (url, form) = browser.follow(format!("{base}/profile"), response).await;
    assert!(
        url.contains("/authorize"),
        "at the tenant's login form: {url}"
    );
    assert!(form.contains("Local development tenant"), "{form}");
    let (action, response) =
        submit_tenant_form(&mut browser, &url, &form, "ada@example.com", "Ada Lovelace").await;
    let (url, profile) = browser.follow(action, response).await;
    assert!(
        url.ends_with("/profile"),
        "back on the page asked for: {url}"
    );
    assert!(
        profile.contains("Ada Lovelace") && profile.contains("ada@example.com"),
        "{profile}"
    );
    assert!(
        !profile.contains(": null"),
        "claims the provider did not give are not shown as null: {profile}"
    );

    let session_cookies: Vec<&String> = browser
        .set_cookies
        .iter()
        .filter(|c| c.starts_with("_a0_session") && !c.contains("Max-Age=0"))
        .collect();
    assert!(!session_cookies.is_empty());
    for c in session_cookies {
        assert!(
            c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.contains("Path=/"),
            "{c}"
        );
        assert!(
            !c.contains("Secure"),
            "http on loopback: no Secure flag, or the browser drops it"
        );
    }
    assert!(
        browser.jar.keys().all(|n| !n.starts_with("_a0_tx_")),
        "the transaction cookies are gone after login: {:?}",
        browser.jar.keys()
    );

    // The callback replayed: a 4xx page, and the session stays as it was.
    let callback = browser
        .visited
        .iter()
        .find(|u| u.contains("/callback?"))
        .cloned()
        .expect("the callback was visited");
    let replay = browser.http.get(&callback).send().await.unwrap();
    assert_eq!(
        replay.status(),
        reqwest::StatusCode::BAD_REQUEST,
        "a replayed callback (no cookies)"
    );
    let replay = browser.get(&callback).await;
    assert!(
        replay.status().is_redirection() || replay.status().is_client_error(),
        "a replayed callback in the logged-in browser: {}",
        replay.status()
    );

    // A tampered session cookie is no session; the real one still works.
    let saved = browser.jar.clone();
    for (name, value) in browser.jar.iter_mut() {
        if name.starts_with("_a0_session") {
            let mut bytes = value.clone().into_bytes();
            let i = bytes.len() / 2;
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            *value = String::from_utf8(bytes).unwrap();
        }
    }
    let home = browser.get(&format!("{base}/")).await.text().await.unwrap();
    assert!(
        home.contains("id=\"login-button\""),
        "a tampered cookie is no session"
    );
    browser.jar = saved;
    let home = browser.get(&format!("{base}/")).await.text().await.unwrap();
    assert!(
        home.contains("Welcome, Ada Lovelace"),
        "the untouched cookie still works: {home}"
    );

    // An API call with an access token for the audience.
    let (_, api) = {
        let r = browser.get(&format!("{base}/api-call")).await;
        browser.follow(format!("{base}/api-call"), r).await
    };
    assert!(support::text(&api).contains(DEV_AUDIENCE), "{api}");
    assert!(
        api.contains("Access token retrieved: <code>ey"),
        "a JWT's first characters: {api}"
    );
    assert!(
        api.contains("&quot;aud&quot;"),
        "the JWT's claims are shown: {api}"
    );

    // Logout from the app's own link (a browser says so with Sec-Fetch-Site), through the
    // tenant and back home.
    let response = browser.get_from_app(&format!("{base}/logout")).await;
    let (url, home) = browser.follow(format!("{base}/logout"), response).await;
    assert_eq!(url, format!("{base}/"));
    assert!(home.contains("id=\"login-button\""), "logged out: {home}");
    let response = browser.get(&format!("{base}/profile")).await;
    assert!(
        response.status().is_redirection(),
        "the profile is protected again"
    );
}

#[tokio::test]
async fn two_logins_started_in_two_tabs_both_end_logged_in() {
    let (base, _settings) = started_app(StoreChoice::Cookie, TransactionChoice::Cookie).await;
    let mut browser = Browser::new();
    let tab1 = browser
        .get(&format!("{base}/login?returnTo=/profile"))
        .await;
    let tab2 = browser
        .get(&format!("{base}/login?returnTo=/api-call"))
        .await;
    assert_eq!(
        browser
            .jar
            .keys()
            .filter(|n| n.starts_with("_a0_tx_"))
            .count(),
        2
    );
    let tab1_start = tab1.headers()[LOCATION].to_str().unwrap().to_owned();
    let (url, _) = finish_login(&mut browser, format!("{base}/login"), tab2).await;
    assert!(url.ends_with("/api-call"), "{url}");
    // The first tab's login is still open at the provider; finishing it brings this
    // browser back to the app, logged in.
    let response = browser.get(&tab1_start).await;
    let (url, page) = browser.follow(tab1_start, response).await;
    assert!(
        url.starts_with(&base) && !page.contains("id=\"login-button\""),
        "the other tab ends logged in too: {url}"
    );
}

async fn backchannel_logout_ends_the_session(store: StoreChoice) {
    let (base, settings) = started_app(store, TransactionChoice::Cookie).await;
    let tenant = settings.dev_tenant.as_ref().unwrap();
    let mut browser = Browser::new();
    let response = browser.get(&format!("{base}/login")).await;
    finish_login(&mut browser, format!("{base}/login"), response).await;
    assert!(
        browser
            .get(&format!("{base}/profile"))
            .await
            .status()
            .is_success()
    );
    // The user logs out at the provider, not through the app: the provider tells the app.
    let logout = format!(
        "{}v2/logout?client_id={}&returnTo={}",
        tenant.issuer(),
        tenant.client_id(),
        url_encode(&format!("{base}/"))
    );
    let response = browser.get(&logout).await;
    browser.follow(logout, response).await;
    let profile = browser.get(&format!("{base}/profile")).await;
    assert!(
        profile.status().is_redirection(),
        "the back-channel logout ended the app's session"
    );
}

#[tokio::test]
async fn backchannel_logout_ends_a_memory_session() {
    backchannel_logout_ends_the_session(StoreChoice::Memory).await;
}

#[tokio::test]
async fn backchannel_logout_ends_a_redis_session() {
    match std::env::var("REDIS_URL") {
        Ok(url) if !url.is_empty() => {
            backchannel_logout_ends_the_session(StoreChoice::Redis(url)).await
        }
        _ => skip("REDIS_URL"),
    }
}

#[tokio::test]
async fn backchannel_logout_ends_a_postgres_session() {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            backchannel_logout_ends_the_session(StoreChoice::Postgres(url)).await
        }
        _ => skip("DATABASE_URL"),
    }
}

#[tokio::test]
async fn quickstart_with_cookie_sessions() {
    run_flow(StoreChoice::Cookie).await;
}

#[tokio::test]
async fn quickstart_with_memory_sessions() {
    run_flow(StoreChoice::Memory).await;
}

#[tokio::test]
async fn quickstart_with_redis_sessions() {
    match std::env::var("REDIS_URL") {
        Ok(url) if !url.is_empty() => run_flow(StoreChoice::Redis(url)).await,
        _ => skip("REDIS_URL"),
    }
}

#[tokio::test]
async fn quickstart_with_postgres_sessions() {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => run_flow(StoreChoice::Postgres(url)).await,
        _ => skip("DATABASE_URL"),
    }
}
